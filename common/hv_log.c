#include "hv_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static hv_log_level s_min_level = HV_LOG_INFO;

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void hv_log_set_level(hv_log_level level) { s_min_level = level; }

void hv_log(hv_log_level level, const char *event, const char *fmt, ...)
{
    if (level < s_min_level || level > HV_LOG_ERROR)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Build the line in one buffer so that concurrent writers do not
     * interleave within a line. */
    char line[1024];
    int n = snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s event=%s", ts,
                     now.tv_nsec / 1000000L, s_level_names[level], event);
    if (fmt != NULL && n > 0 && (size_t)n < sizeof line - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
