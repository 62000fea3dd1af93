/* Values as text: referral ids, times for people, growing strings; see
 * hv_text.h. No state, nothing owned beyond the strings handed back. */
#include "hv_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_crypto.h"

void hv_ref_hex(const uint8_t id[16], char out[33]) { hv_hex(id, 16, out); }

hv_err hv_ref_parse(const char *hex, uint8_t out[16])
{
    return hv_unhex(hex, out, 16) == HV_OK ? HV_OK : HV_EINVAL;
}

void hv_time_human(uint64_t t, char out[24])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 24, "%Y-%m-%d %H:%M UTC", &tm);
}

void hv_strcat(char **s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *add = NULL;
    int n = vasprintf(&add, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t old = *s ? strlen(*s) : 0;
    char *grown = realloc(*s, old + (size_t)n + 1);
    if (grown != NULL) {
        memcpy(grown + old, add, (size_t)n + 1);
        *s = grown;
    }
    free(add);
}
