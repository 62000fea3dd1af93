/* Values as text, for people and for control answers: one job, the small
 * conversions every worker, the CLI and haven-web print with. It owns no
 * state. A referral id as 32 hex digits and back, a Unix time as a person
 * reads it, and a growing malloc'd string for `*text` answers.
 *
 * These lived in the worker shell (services/common/hv_worker.c), which
 * is about running a worker, not about text; their names are kept, and
 * hv_worker.h still includes this header for the worker daemons. Machine
 * time stamps ("YYYY-MM-DDTHH:MM:SSZ") stay with the registry's
 * hv_time_format, which parses them too. */
#ifndef HV_TEXT_H
#define HV_TEXT_H

#include <stdint.h>

#include "hv_err.h"

/* Referral ids as text: 32 lower-case hex digits and a NUL in `out`. */
void hv_ref_hex(const uint8_t id[16], char out[33]);

/* Parses exactly 32 hex digits (either case) into `out`. Returns HV_OK or
 * HV_EINVAL (another length, or not hex); `out` is undefined on error. */
HV_MUST_CHECK hv_err hv_ref_parse(const char *hex, uint8_t out[16]);

/* Formats Unix seconds as "YYYY-MM-DD HH:MM UTC" for people (capacity 24). */
void hv_time_human(uint64_t t, char out[24]);

/* Appends printf-formatted text to the malloc'd string `*s` (NULL: a new
 * one); the caller owns `*s` and frees it. On allocation failure the
 * string is left as it was. */
void hv_strcat(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
