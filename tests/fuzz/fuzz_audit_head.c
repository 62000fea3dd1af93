/* Fuzz target: signed audit heads (hv_audit_head.h). The input is a heads
 * file, a line "--", and an audit log. A head that decodes encodes back to
 * the same bytes; a heads file that parses is checked against the log:
 * an intact verdict matches every head, a failed one names a record and
 * says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_audit.h"
#include "hv_audit_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The whole input as one encoded head. */
    hv_audit_head h;
    if (hv_audit_head_decode(data, size, &h) == HV_OK) {
        uint8_t again[HV_AUDIT_HEAD_MAX];
        size_t len = 0;
        if (hv_audit_head_encode(&h, again, &len) != HV_OK || len != size ||
            memcmp(again, data, size) != 0)
            abort();
        uint8_t zero[32] = {0};
        if (hv_audit_head_verify(&h, zero) == HV_OK) /* no key verifies as zeros */
            abort();
    }
    /* Heads file "--\n" log. */
    const char *text = (const char *)data;
    const char *sep = size >= 3 ? memmem(text, size, "--\n", 3) : NULL;
    size_t heads_len = sep ? (size_t)(sep - text) : size;
    const char *log = sep ? sep + 3 : text + size;
    size_t log_len = size - (size_t)(log - text);
    hv_audit_head *heads = NULL;
    size_t n = 0;
    hv_errmsg e = {""};
    if (hv_audit_heads_parse(text, heads_len, &heads, &n, &e) != HV_OK) {
        if (heads != NULL || n != 0 || e.text[0] == '\0')
            abort();
        return 0;
    }
    hv_audit_result r;
    if (hv_audit_verify(log, log_len, &r) == HV_OK) {
        hv_audit_heads_result hr;
        hv_err err = hv_audit_check_heads(log, log_len, r.last_seq, heads, n, &hr);
        if (err == HV_OK && (hr.matched + hr.skipped != n || hr.first_bad != 0))
            abort();
        if (err != HV_OK && (hr.first_bad == 0 || hr.first_bad > r.last_seq + 1 ||
                             hr.why[0] == '\0'))
            abort();
    }
    free(heads);
    return 0;
}
