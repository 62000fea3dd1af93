/* Fuzz target: INI configuration reading against a daemon-like schema. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_cfg {
    char id[65];       /* string */
    char bind[256];    /* string */
    uint64_t interval; /* number */
    bool fsync;        /* flag */
} fuzz_cfg;

static const hv_cfg_field s_fields[] = {
    {"broker", "id", HV_CFG_STRING, true, 0, 0, offsetof(fuzz_cfg, id), 65, "a node id"},
    {"broker", "bind", HV_CFG_STRING, false, 0, 0, offsetof(fuzz_cfg, bind), 256, "an endpoint"},
    {"store", "interval_ms", HV_CFG_UINT, false, 1, 1000, offsetof(fuzz_cfg, interval), 0,
     "1 to 1000"},
    {"store", "fsync", HV_CFG_BOOL, false, 0, 0, offsetof(fuzz_cfg, fsync), 0, "yes or no"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || memchr(data, '\0', size) != NULL)
        return 0; /* hv_config_load refuses these before parsing */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    hv_errmsg e = {""};
    hv_err err = hv_config_parse(text, "fuzz.ini", s_fields, sizeof s_fields / sizeof s_fields[0],
                                 &cfg, &e);
    /* Every refusal is explained, and a success has its required key. */
    if ((err != HV_OK && e.text[0] == '\0') || (err == HV_OK && cfg.id[0] == '\0'))
        abort();
    free(text);
    return 0;
}
