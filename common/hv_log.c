#include "hv_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};
static hv_log_level s_min_level = HV_LOG_INFO;
static bool s_env_read;



void hv_log_set_level(hv_log_level level)
{
    s_min_level = level;
    s_env_read = true;
}

/* HAVEN_LOG_LEVEL=debug|info|warn|error overrides the default (but not an
 * explicit hv_log_set_level) so that any program can be made verbose. */
static void s_read_env(void)
{
    s_env_read = true;
    const char *v = getenv("HAVEN_LOG_LEVEL");
    for (int i = 0; v != NULL && i <= HV_LOG_ERROR; i++)
        if (strcmp(v, s_level_names[i]) == 0)
            s_min_level = (hv_log_level)i;
}

void hv_log(hv_log_level level, const char *event, const char *fmt, ...)
{
    if (!s_env_read)
        s_read_env();
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

int hv_log_level_from_name(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}
