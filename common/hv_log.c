#include "hv_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};
static hv_log_level s_min_level = HV_LOG_INFO;
static bool s_env_read;
/* Whether stderr is the journal: -1 not looked at yet, else 0 or 1. Threads
 * that race to look compute the same answer. */
static int s_journal = -1;

bool hv_log_stderr_is_journal(void)
{
    const char *v = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char end;
    if (v == NULL || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2)
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

const char *hv_log_journal_prefix(hv_log_level level)
{
    static const char *const prefixes[] = {"<7>", "<6>", "<4>", "<3>"};
    int journal = __atomic_load_n(&s_journal, __ATOMIC_RELAXED);
    if (journal < 0) {
        journal = hv_log_stderr_is_journal();
        __atomic_store_n(&s_journal, journal, __ATOMIC_RELAXED);
    }
    return journal && (unsigned)level <= HV_LOG_ERROR ? prefixes[level] : "";
}

void hv_log_reset_sink(void)
{
    __atomic_store_n(&s_journal, -1, __ATOMIC_RELAXED);
}

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
    int n = snprintf(line, sizeof line, "%sts=%s.%03ldZ level=%s event=%s",
                     hv_log_journal_prefix(level), ts, now.tv_nsec / 1000000L,
                     s_level_names[level], event);
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
