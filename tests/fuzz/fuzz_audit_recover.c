/* Fuzz target: replaying the audit records a broker's store kept
 * (hv_audit_recover) into a log of two records. Records that continue the
 * chain are appended and the whole file still verifies; anything else is
 * refused and leaves the file exactly as it was. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_base.h"
#include "hv_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char s_dir[64], s_path[96];

static void s_cleanup(void)
{
    unlink(s_path);
    rmdir(s_dir);
}

static void s_write_base(void)
{
    if (s_dir[0] == '\0') {
        snprintf(s_dir, sizeof s_dir, "%s", "/tmp/hv-fuzz-recover.XXXXXX");
        if (mkdtemp(s_dir) == NULL)
            abort();
        snprintf(s_path, sizeof s_path, "%s/broker.audit", s_dir);
        atexit(s_cleanup);
    }
    int fd = open(s_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, HV_AUDIT_BASE, sizeof HV_AUDIT_BASE - 1) !=
                      (ssize_t)(sizeof HV_AUDIT_BASE - 1))
        abort();
    close(fd);
}

static char *s_read(size_t *len)
{
    FILE *f = fopen(s_path, "rb");
    if (f == NULL)
        abort();
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_write_base();
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    if (hv_audit_open(&a, s_path, NULL, &e) != HV_OK)
        abort();
    hv_err err = hv_audit_recover(a, (const char *)data, size);
    hv_audit_close(&a);
    size_t len, base_len = sizeof HV_AUDIT_BASE - 1;
    char *file = s_read(&len);
    if (len < base_len || memcmp(file, HV_AUDIT_BASE, base_len) != 0)
        abort(); /* the records already there are never touched */
    if (err != HV_OK && len != base_len)
        abort(); /* a refusal writes nothing */
    hv_audit_result r;
    if (hv_audit_verify(file, len, &r) != HV_OK || r.records < 2)
        abort();
    free(file);
    return 0;
}
