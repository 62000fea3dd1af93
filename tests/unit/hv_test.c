#include "hv_test.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_crypto.h"
#include "hv_keyring.h"

hv_keypair *hvt_keys(uint8_t base)
{
    uint8_t s[3][32];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 32; i++)
            s[k][i] = (uint8_t)(base + 16 * k + i);
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_from_seeds(&kp, s[0], s[1], s[2]), HV_OK);
    return kp;
}

hv_keyring *hvt_ring(uint8_t base)
{
    hv_keypair *kp = hvt_keys(base);
    hv_keyring *ring = NULL;
    assert_int_equal(hv_keyring_from_keypair(&ring, &kp), HV_OK);
    return ring;
}

static int s_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint8_t *hvt_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    assert_int_equal(n % 2, 0);
    uint8_t *out = malloc(n / 2 + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = s_nibble(hex[2 * i]), lo = s_nibble(hex[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

char *hvt_hex(const uint8_t *bin, size_t len)
{
    char *out = malloc(2 * len + 1);
    assert_non_null(out);
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", bin[i]);
    out[2 * len] = '\0';
    return out;
}

char *hvt_tmpdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(base) + 32);
    assert_non_null(path);
    sprintf(path, "%s/hvtest.XXXXXX", base);
    assert_non_null(mkdtemp(path));
    return path;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void hvt_rmdir(const char *dir) { nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS); }

void hvt_write_file(const char *path, const void *buf, size_t len, unsigned mode)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static char s_vec_path[4096];
static int s_vec_dirty;

void hvt_vectors_load(hvt_vectors *v, const char *name)
{
    memset(v, 0, sizeof *v);
    const char *dir = getenv("HV_VECTOR_DIR") ? getenv("HV_VECTOR_DIR") : HV_VECTOR_DIR;
    snprintf(s_vec_path, sizeof s_vec_path, "%s/%s", dir, name);
    v->path = s_vec_path;
    s_vec_dirty = 0;
    FILE *f = fopen(s_vec_path, "r");
    if (f == NULL) {
        /* Only an update run may start from nothing. */
        assert_non_null(getenv("HV_UPDATE_VECTORS"));
        return;
    }
    char line[1 << 16];
    while (fgets(line, sizeof line, f) != NULL) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || eq == NULL)
            continue;
        char *end = eq;
        while (end > line && end[-1] == ' ')
            end--;
        *end = '\0';
        char *val = eq + 1;
        while (*val == ' ')
            val++;
        val[strcspn(val, "\r\n")] = '\0';
        assert_true(v->count < 64);
        snprintf(v->names[v->count], sizeof v->names[0], "%.47s", line);
        v->values[v->count] = strdup(val);
        v->count++;
    }
    fclose(f);
}

static char *s_find(const hvt_vectors *v, const char *name)
{
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->names[i], name) == 0)
            return v->values[i];
    return NULL;
}

uint8_t *hvt_vectors_get(const hvt_vectors *v, const char *name, size_t *len)
{
    char *hex = s_find(v, name);
    if (hex == NULL)
        fail_msg("vector %s has no value '%s'", v->path, name);
    return hvt_unhex(hex, len);
}

void hvt_vectors_check(hvt_vectors *v, const char *name, const uint8_t *got, size_t len)
{
    char *hex = hvt_hex(got, len);
    char *want = s_find(v, name);
    if (getenv("HV_UPDATE_VECTORS") != NULL) {
        if (want == NULL || strcmp(want, hex) != 0) {
            s_vec_dirty = 1;
            if (want == NULL) {
                snprintf(v->names[v->count], sizeof v->names[0], "%.47s", name);
                v->values[v->count++] = hex;
                return;
            }
            for (size_t i = 0; i < v->count; i++)
                if (v->values[i] == want) {
                    free(v->values[i]);
                    v->values[i] = hex;
                    return;
                }
        }
        free(hex);
        return;
    }
    if (want == NULL)
        fail_msg("vector %s has no value '%s'", v->path, name);
    if (strcmp(want, hex) != 0)
        fail_msg("%s: '%s' differs from the golden vector:\n want %s\n  got %s", v->path, name,
                 want, hex);
    free(hex);
}

void hvt_vectors_finish(hvt_vectors *v)
{
    if (s_vec_dirty) {
        FILE *f = fopen(v->path, "w");
        assert_non_null(f);
        fprintf(f, "# Golden vectors; regenerate only for a deliberate format change:\n"
                   "# HV_UPDATE_VECTORS=1 ctest -R <test>, then review the diff.\n");
        for (size_t i = 0; i < v->count; i++)
            fprintf(f, "%s = %s\n", v->names[i], v->values[i]);
        fclose(f);
    }
    for (size_t i = 0; i < v->count; i++)
        free(v->values[i]);
    v->count = 0;
}
