#include "hv_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

hv_err hv_file_read_stream(FILE *f, size_t max, uint8_t **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return HV_ENOMEM;
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f)) {
            free(buf);
            return HV_EIO;
        }
        if (n > max) {
            free(buf);
            return HV_ETOOBIG;
        }
        if (feof(f))
            break;
        /* Grow only while the limit allows one more byte to be seen. */
        size_t grown_cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
        uint8_t *grown = grown_cap > cap ? realloc(buf, grown_cap) : NULL;
        if (grown == NULL) {
            free(buf);
            return grown_cap > cap ? HV_ENOMEM : HV_ETOOBIG;
        }
        buf = grown;
        cap = grown_cap;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return HV_OK;
}

hv_err hv_file_read(const char *path, size_t max, uint8_t **out, size_t *len, hv_errmsg *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hv_fail(e, errno == ENOENT ? HV_ENOTFOUND : HV_EIO, "cannot open %s: %s", path,
                       strerror(errno));
    hv_err err = hv_file_read_stream(f, max, out, len);
    fclose(f);
    if (err == HV_ETOOBIG)
        return hv_fail(e, err, "%s is larger than %zu bytes", path, max);
    if (err != HV_OK)
        return hv_fail(e, err, "cannot read %s", path);
    return HV_OK;
}

void hv_file_dir(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, cap, ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
}

hv_err hv_file_can_create(const char *path, const char *what, hv_errmsg *e)
{
    char dir[PATH_MAX];
    hv_file_dir(path, dir, sizeof dir);
    if (access(dir, W_OK | X_OK) != 0)
        return hv_fail(e, HV_EIO, "%s: cannot create files in %s: %s", what, dir,
                       strerror(errno));
    return HV_OK;
}
