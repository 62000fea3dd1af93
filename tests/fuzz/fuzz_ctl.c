/* Fuzz target: control requests from the CLI to a worker. A refusal is
 * explained; an acceptance has a command and an arguments object. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char cmd[HV_CTL_CMD_MAX + 1];
    json_t *args = NULL;
    hv_errmsg e = {""};
    hv_err rc = hv_ctl_parse(data, size, cmd, &args, &e);
    if (rc == HV_OK && (cmd[0] == '\0' || !json_is_object(args)))
        abort();
    if (rc != HV_OK && (e.text[0] == '\0' || args != NULL))
        abort();
    json_decref(args);
    return 0;
}
