/* The command line every Haven daemon takes (getopt_long, the same for the
 * broker and the three workers):
 *
 *   NAME -c FILE [-n]      NAME --config=FILE [--check]
 *   NAME -h | --help       NAME -V | --version
 *
 * -n/--check checks the configuration, keys and registry and exits without
 * binding or opening anything for writing. Help and version go to standard
 * output with exit 0; a usage error prints a message and the usage to
 * standard error with exit 2. */
#ifndef HV_DAEMON_ARGS_H
#define HV_DAEMON_ARGS_H

#include <stdbool.h>

/* What the command line asked for. Strings are borrowed from argv. */
typedef struct hv_daemon_args {
    const char *config; /* -c/--config FILE */
    bool check_only;    /* -n/--check */
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

#endif
