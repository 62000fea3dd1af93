/* Fuzz target: the held-registry record's parser (common/hv_registry_held.h).
 * What it accepts must come back byte for byte from what the writer would
 * write for the same values, minus the comment lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_registry_held.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_registry_held h;
    if (hv_registry_held_parse(data, size, &h) != HV_OK)
        return 0;
    if (h.version == 0)
        abort(); /* 0 means "none held" and is never accepted */
    char hex[65], tail[128];
    hv_hex(h.hash, sizeof h.hash, hex);
    int n = snprintf(tail, sizeof tail, "version %llu\nhash %s\n", (unsigned long long)h.version,
                     hex);
    if (n < 0 || (size_t)n > size || memcmp(data + size - (size_t)n, tail, (size_t)n) != 0)
        abort();
    return 0;
}
