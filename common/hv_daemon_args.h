/* The command line every Haven daemon takes (getopt_long, the same for the
 * broker and the three workers):
 *
 *   NAME -c FILE [-n]      NAME --config=FILE [--check]
 *   NAME -c FILE --check-store
 *   NAME -h | --help       NAME -V | --version
 *
 * -n/--check checks the configuration, keys and registry and exits without
 * binding or opening anything for writing. --check-store checks the
 * daemon's store offline (PRAGMA integrity_check, read-only) and prints what
 * it found, exit 0 sound or 1 damaged. Help and version go to standard
 * output with exit 0; a usage error prints a message and the usage to
 * standard error with exit 2. */
#ifndef HV_DAEMON_ARGS_H
#define HV_DAEMON_ARGS_H

#include <stdbool.h>

/* What the command line asked for. Strings are borrowed from argv. */
typedef struct hv_daemon_args {
    const char *config; /* -c/--config FILE */
    bool check_only;    /* -n/--check */
    bool check_store;   /* --check-store */
} hv_daemon_args;

/* Exit codes of the daemons: 0 done, 1 refused to start (or a check that
 * failed), 2 usage error. */
#define HV_DAEMON_EXIT_FAIL 1
#define HV_DAEMON_EXIT_USAGE 2

/* Parses argv for program `name`; `what` says in one line what the daemon
 * is, `config_hint` names its configuration (e.g. "broker.ini"). Returns -1
 * when the daemon is to go on with `*out` filled, else the exit code to
 * return at once (help or version printed: 0; usage error: 2). */
int hv_daemon_args_parse(int argc, char **argv, const char *name, const char *what,
                         const char *config_hint, hv_daemon_args *out);

/* Runs --check-store for program `name` on the store at `path`: each
 * problem on standard output ("PATH: problem: ..."), then the verdict
 * (sound: on standard output with the pages and the time taken; damaged:
 * on standard error with the way to restore). Returns the exit code, 0 or
 * HV_DAEMON_EXIT_FAIL. */
int hv_daemon_check_store(const char *name, const char *path);

#endif
