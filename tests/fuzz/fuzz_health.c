/* Fuzz target: the broker's health summary decoder (proto/hv_health.h),
 * alone and inside a HEALTH control command. Anything accepted must
 * re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_control.h"
#include "hv_health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_summary(const uint8_t *data, size_t size)
{
    hv_health h;
    if (hv_health_decode(data, size, &h) != HV_OK)
        return;
    uint8_t *again = NULL;
    size_t len = 0;
    if (hv_health_encode(&h, &again, &len) != HV_OK || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_summary(data, size);
    hv_control m;
    if (hv_control_decode(data, size, &m) == HV_OK && m.cmd == HV_CMD_HEALTH)
        s_summary(m.summary, m.summary_len);
    return 0;
}
