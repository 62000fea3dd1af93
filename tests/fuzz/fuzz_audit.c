/* Fuzz target: audit log verification. An intact verdict counts every
 * line; a broken one names a line inside the text and says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_audit_result r;
    hv_err err = hv_audit_verify((const char *)data, size, &r);
    uint64_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (err == HV_OK && (r.broken_line != 0 || r.records != lines))
        abort();
    if (err != HV_OK && (r.broken_line == 0 || r.broken_line > lines + 1 || r.why[0] == '\0' ||
                         r.records != r.broken_line - 1))
        abort();
    return 0;
}
