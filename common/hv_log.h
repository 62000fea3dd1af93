/* Logging: one event per line on stderr, `ts= level= event= key=value...`.
 * When stderr is the journal (systemd.exec(5): JOURNAL_STREAM names the
 * device and inode of the stream it gave the service), each line starts
 * with its sd-daemon(3) priority, `<3>` error, `<4>` warn, `<6>` info,
 * `<7>` debug, which journald strips and stores, so that
 * `journalctl -p warning` shows warnings and errors.
 *
 * Never pass a secret or a case field to these functions: log lines end up
 * with operators, who must not see case content (../shared/DESIGN.md §1). */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stdbool.h>

typedef enum hv_log_level {
    HV_LOG_DEBUG = 0,
    HV_LOG_INFO = 1,
    HV_LOG_WARN = 2,
    HV_LOG_ERROR = 3,
} hv_log_level;

/* Sets the lowest level that is written (default HV_LOG_INFO). */
void hv_log_set_level(hv_log_level level);

/* The level named "debug", "info", "warn" or "error"; -1 for anything else. */
int hv_log_level_from_name(const char *name);

/* Writes one line: a UTC timestamp, the level, `event`, then `fmt` expanded
 * (expected to be space-separated key=value pairs; may be NULL). Values that
 * may hold spaces must be quoted by the caller, e.g. `path="%s"`. */
void hv_log(hv_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when stderr is the stream JOURNAL_STREAM names. */
bool hv_log_stderr_is_journal(void);

/* The sd-daemon(3) prefix of `level` ("<3>" error, "<4>" warn, "<6>" info,
 * "<7>" debug) when stderr is the journal, else "": for a program's own
 * messages on stderr that do not go through hv_log (a usage or start-up
 * error). Constant; never NULL. */
const char *hv_log_journal_prefix(hv_log_level level);

/* Forgets whether stderr is the journal, so that the next line looks again
 * (after stderr was redirected; used by the tests). */
void hv_log_reset_sink(void);

#endif
