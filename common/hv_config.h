/* INI configuration files (inih), read against a table of fields that each
 * daemon declares. Every error names the file, the line, the key and what
 * was expected; unknown sections and keys are errors, so that a misspelt
 * setting is never silently ignored. */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"

typedef enum hv_cfg_type {
    HV_CFG_STRING = 1, /* copied into a char array of `size` bytes */
    HV_CFG_UINT = 2,   /* a uint64_t, decimal, within [min, max] */
    HV_CFG_BOOL = 3,   /* a bool: yes/no, true/false, on/off, 1/0 */
} hv_cfg_type;

/* One setting. Tables are static const data of the daemon that reads them. */
typedef struct hv_cfg_field {
    const char *section; /* "[section]" name */
    const char *key;     /* key within the section */
    hv_cfg_type type;    /* how the value is read */
    bool required;       /* missing is an error */
    uint64_t min, max;   /* HV_CFG_UINT: allowed range */
    size_t offset;       /* offsetof() in the caller's struct */
    size_t size;         /* HV_CFG_STRING: capacity of the char array */
    const char *expect;  /* what a valid value is, for error messages */
} hv_cfg_field;

/* Reads the INI file at `path` into `out` according to `fields` (n entries).
 * Fields that are absent keep the value `out` had. Returns HV_OK,
 * HV_ENOTFOUND if the file cannot be opened, or HV_ECONFIG with the first
 * error in `e` ("FILE:LINE: ..."). */
HV_MUST_CHECK hv_err hv_config_load(const char *path, const hv_cfg_field *fields, size_t n,
                                    void *out, hv_errmsg *e);

/* As hv_config_load, from text; `name` stands for the file in messages. */
HV_MUST_CHECK hv_err hv_config_parse(const char *text, const char *name,
                                     const hv_cfg_field *fields, size_t n, void *out,
                                     hv_errmsg *e);

/* Makes each relative path in `paths` (n char arrays of capacity `cap`)
 * relative to the directory of the configuration file `config_path`, so
 * that a daemon finds its keys and stores wherever it is started from.
 * Returns HV_OK or HV_ECONFIG when a joined path would not fit. */
HV_MUST_CHECK hv_err hv_config_resolve_paths(const char *config_path, char *const *paths,
                                             size_t n, size_t cap, hv_errmsg *e);

#endif
