/* The held registry version, durable beside the store; see
 * hv_registry_held.h. */
#include "hv_registry_held.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_crypto.h"
#include "hv_file.h"
#include "hv_log.h"

#define S_COMMENT                                                                              \
    "# Haven: the registry this node has accepted (version and BLAKE2b-256 of the signed\n"   \
    "# file). The node refuses an older registry and another one of the same version.\n"      \
    "# Written by the node; see OPERATIONS.md before removing it.\n"

hv_err hv_registry_held_path(const char *store, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", store, HV_REGISTRY_HELD_SUFFIX);
    return n < 0 || (size_t)n >= cap ? HV_EINVAL : HV_OK;
}

/* Reads one line from `*p` (up to `end`) into [*line, *line_len), moving
 * `*p` past its '\n'. Returns false at the end or on a line without '\n'. */
static bool s_line(const char **p, const char *end, const char **line, size_t *line_len)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL)
        return false;
    *line = *p;
    *line_len = (size_t)(nl - *p);
    *p = nl + 1;
    return true;
}

hv_err hv_registry_held_parse(const uint8_t *buf, size_t len, hv_registry_held *out)
{
    if (len > HV_REGISTRY_HELD_FILE_MAX)
        return HV_ETOOBIG;
    const char *p = (const char *)buf, *end = p + len, *line;
    size_t n;
    /* Comment lines first. */
    for (;;) {
        const char *at = p;
        if (!s_line(&p, end, &line, &n))
            return HV_EDECODE;
        if (n == 0 || line[0] != '#') {
            p = at;
            break;
        }
    }
    hv_registry_held h;
    memset(&h, 0, sizeof h);
    /* "version N": decimal, 1 or more, no sign, no leading zero. */
    if (!s_line(&p, end, &line, &n) || n < 9 || n > 8 + 20 || memcmp(line, "version ", 8) != 0 ||
        line[8] == '0')
        return HV_EDECODE;
    for (size_t i = 8; i < n; i++) {
        if (line[i] < '0' || line[i] > '9')
            return HV_EDECODE;
        unsigned d = (unsigned)(line[i] - '0');
        if (h.version > (UINT64_MAX - d) / 10)
            return HV_EDECODE;
        h.version = h.version * 10 + d;
    }
    /* "hash HEX": 64 lower-case hex digits. */
    char hex[65];
    if (!s_line(&p, end, &line, &n) || n != 5 + 64 || memcmp(line, "hash ", 5) != 0)
        return HV_EDECODE;
    for (size_t i = 5; i < n; i++)
        if (!((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f')))
            return HV_EDECODE;
    memcpy(hex, line + 5, 64);
    hex[64] = '\0';
    if (hv_unhex(hex, h.hash, sizeof h.hash) != HV_OK)
        return HV_EDECODE;
    if (p != end)
        return HV_ETRAILING;
    *out = h;
    return HV_OK;
}

hv_err hv_registry_held_read(const char *path, hv_registry_held *out, hv_errmsg *e)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_err err = hv_file_read(path, HV_REGISTRY_HELD_FILE_MAX, &buf, &len, e);
    if (err == HV_ENOTFOUND)
        return HV_OK;
    if (err != HV_OK) {
        char why[sizeof e->text];
        snprintf(why, sizeof why, "%s", e != NULL ? e->text : path);
        return hv_fail(e, HV_EIO, "%s (the record of the registry this node holds)", why);
    }
    err = hv_registry_held_parse(buf, len, out);
    free(buf);
    if (err != HV_OK) {
        memset(out, 0, sizeof *out);
        return hv_fail(e, HV_EDECODE,
                       "%s is damaged (not what this node writes): it records the registry "
                       "this node has accepted; restore it from a backup, or remove it once "
                       "your network authority has confirmed which registry is current",
                       path);
    }
    return HV_OK;
}

/* write(2) all of `buf`, retrying on EINTR. */
static bool s_write_all(int fd, const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        off += (size_t)n;
    }
    return true;
}

hv_err hv_registry_held_write(const char *path, const hv_registry_held *h, hv_errmsg *e)
{
    char tmp[PATH_MAX], dir[PATH_MAX], hex[65];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
        return hv_fail(e, HV_EIO, "%s: path too long", path);
    hv_hex(h->hash, sizeof h->hash, hex);
    char text[512];
    int len = snprintf(text, sizeof text, S_COMMENT "version %" PRIu64 "\nhash %s\n", h->version,
                       hex);
    /* The record is not secret (a version and a public file's hash); the
     * state directory's mode decides who may read it. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return hv_fail(e, HV_EIO, "cannot record the registry held in %s: %s", tmp,
                       strerror(errno));
    if (!s_write_all(fd, text, (size_t)len) || fsync(fd) != 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return hv_fail(e, HV_EIO, "cannot record the registry held in %s: %s", tmp,
                       strerror(saved));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return hv_fail(e, HV_EIO, "cannot record the registry held in %s: %s", path,
                       strerror(saved));
    }
    /* The rename itself is durable only once the directory is. */
    hv_file_dir(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        int saved = errno;
        if (dfd >= 0)
            close(dfd);
        return hv_fail(e, HV_EIO, "cannot make the record in %s durable: %s", dir,
                       strerror(saved));
    }
    close(dfd);
    return HV_OK;
}

hv_err hv_registry_held_check(const char *reg_path, uint64_t version, const uint8_t hash[32],
                              const char *held_path, const hv_registry_held *held,
                              hv_errmsg *e)
{
    if (held->version == 0 || version > held->version)
        return HV_OK;
    if (version < held->version)
        return hv_fail(e, HV_EREG_ROLLBACK,
                       "%s is registry version %" PRIu64 ", older than version %" PRIu64
                       " that this node has already accepted (recorded in %s); a node never "
                       "goes back to an older registry, which could bring back a revoked "
                       "node: get the current registry from your network authority and put "
                       "it at %s",
                       reg_path, version, held->version, held_path, reg_path);
    if (hv_memcmp_ct(hash, held->hash, 32) == 0)
        return HV_OK;
    char mine[65], theirs[65];
    hv_hex(hash, 32, mine);
    hv_hex(held->hash, 32, theirs);
    return hv_fail(e, HV_EREG_ROLLBACK,
                   "%s is registry version %" PRIu64 " with hash %.16s, but this node has "
                   "accepted another registry of version %" PRIu64 ", hash %.16s (recorded in "
                   "%s); two registries with one version are an authority's error or a "
                   "forgery: get the current registry from your network authority; if the "
                   "authority really reissued version %" PRIu64 ", ask it to sign the new one "
                   "as version %" PRIu64,
                   reg_path, version, mine, held->version, theirs, held_path, version,
                   version + 1);
}

hv_err hv_registry_held_load(const char *reg_path, const char *store,
                             const uint8_t authority_pk[32], uint64_t now, uint64_t in_use,
                             bool record, hv_registry **out, hv_errmsg *e)
{
    char held_path[PATH_MAX];
    if (hv_registry_held_path(store, held_path, sizeof held_path) != HV_OK)
        return hv_fail(e, HV_EINVAL, "%s: path too long", store);
    hv_registry_held held;
    hv_err err = hv_registry_held_read(held_path, &held, e);
    if (err != HV_OK)
        return err;
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_registry *reg = NULL;
    if ((err = hv_file_read(reg_path, HV_REGISTRY_FILE_MAX, &buf, &len, e)) != HV_OK)
        return err;
    hv_registry_held fresh = {0, {0}};
    hv_hash256(buf, len, fresh.hash);
    /* Signature and dates first: nothing of an unsigned file is compared. */
    err = hv_registry_load(buf, len, authority_pk, now, 0, &reg, e);
    free(buf);
    if (err != HV_OK) /* which file, for the operator (issue 20) */
        return hv_fail_prefix(e, err, reg_path);
    fresh.version = hv_registry_version(reg);
    /* The version in use is a floor too, should the file have gone while
     * the daemon ran. */
    hv_registry_held floor = held;
    if (in_use > floor.version) {
        floor.version = in_use;
        memcpy(floor.hash, fresh.hash, 32); /* no hash known: the version decides */
    }
    if ((err = hv_registry_held_check(reg_path, fresh.version, fresh.hash, held_path, &floor,
                                      e)) != HV_OK)
        goto fail;
    /* Past the check, the same version is the same registry: only a newer
     * one is written. */
    if (record && fresh.version > held.version) {
        if ((err = hv_registry_held_write(held_path, &fresh, e)) != HV_OK)
            goto fail;
        hv_log(HV_LOG_INFO, "registry_held", "version=%" PRIu64 " previous=%" PRIu64
               " record=%s", fresh.version, held.version, held_path);
    }
    *out = reg;
    return HV_OK;
fail:
    hv_registry_free(&reg);
    return err;
}
