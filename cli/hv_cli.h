/* Pieces of the `haven` command-line tool shared between its files:
 *   hv_cli_args.c  the command line of one command (getopt_long) and the
 *                  configuration profile (flag > HAVEN_NAME > profile.ini)
 *   hv_cli_cmds.c  the catalogue of commands, their help, and dispatch
 *   hv_cli_out.c   output for people: terminal width, tables, colour, JSON
 *   haven.c        keys, the registry, envelopes, send/recv
 *   hv_cli_audit.c audit verify: the chain, rotated files, witnessed heads
 *   hv_cli_ops.c   the operators' commands: stats, deadletters, monitor
 *   hv_cli_work.c  the commands that talk to a worker's control socket
 *                  (audit heads and audit rotate among them)
 *   hv_cli_evidence.c  evidence of a referral: show and export (at the
 *                  worker), verify (offline, anywhere)
 *   hv_cli_case.c  case messages between the intake and the provider
 *
 * Exit codes, for every command: 0 done; 1 refused (the message names the
 * HV_ code); 2 usage error (an unknown option, a missing required option
 * or argument); 3 system error (I/O, memory, permission, a daemon that
 * does not answer). */
#ifndef HV_CLI_H
#define HV_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hv_err.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_SYSTEM 3

#define HV_CLI_OPTS_MAX 24  /* options on one command line */
#define HV_CLI_ARGS_MAX 256 /* positional arguments on one command line */

typedef struct hv_cli_cmd hv_cli_cmd;

/* One command line, parsed. Every string is borrowed: from argv, the
 * environment or the profile (which lives until the program exits). */
typedef struct opts {
    const hv_cli_cmd *cmd;                 /* the command being run */
    const char *names[HV_CLI_OPTS_MAX];    /* option names without "--" */
    const char *values[HV_CLI_OPTS_MAX];   /* their values ("" for flags) */
    int count;                             /* number of options */
    const char *args[HV_CLI_ARGS_MAX];     /* positional arguments */
    int n_args;                            /* their number */
    const char *positional;                /* args[0], or NULL */
} opts;

/* A command or sub-command of the catalogue (hv_cli_cmds.c). */
struct hv_cli_cmd {
    const char *cmd;      /* "referral" */
    const char *sub;      /* "list", or NULL for a command without sub-commands */
    const char *synopsis; /* what follows "haven referral list" in the usage */
    const char *summary;  /* what it does, one sentence */
    const char *options;  /* the options it takes, space-separated, "=" after a name
                           * that takes a value: "config= socket= json" */
    int min_args;         /* positional arguments, at least */
    int max_args;         /* and at most */
    const char *details;  /* its options explained, one "  --name  text" per line */
    int (*run)(const opts *o); /* runs it; returns the exit code */
};

/* ------------------------------------------------------- hv_cli_args.c */

/* Parses the command line of `cmd` with getopt_long: `argv[0]` is the
 * command's word, then options (`--name value` or `--name=value`, in any
 * order with the positional arguments; `--` ends them). Then fills each
 * profile option the command takes and the line lacks (hv_cli_profile).
 * Returns -1 to go on, 0 after printing the command's help (--help, -h),
 * EXIT_USAGE after printing a usage error, or the exit code of a profile
 * that cannot be read. */
int hv_cli_parse(const hv_cli_cmd *cmd, int argc, char **argv, opts *o);

/* The value of option `name` (the last one given), or NULL. */
const char *hv_cli_opt(const opts *o, const char *name);

/* The value of a required option, or NULL after printing the usage error
 * (the caller returns EXIT_USAGE). */
const char *hv_cli_need(const opts *o, const char *name);

/* Reads option `name` as a whole number from 0 to `max` into `*out`
 * (`fallback` when absent). Returns 0, or EXIT_REFUSED after printing why
 * (HV_EINVAL). */
int hv_cli_uint(const opts *o, const char *name, unsigned long long fallback,
                unsigned long long max, unsigned long long *out);

/* Prints a usage error for the command of `o` (message, its usage, a hint
 * at --help) to standard error and returns EXIT_USAGE. */
int hv_cli_usage_error(const opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The options the profile supplies: each has an environment variable
 * HAVEN_<NAME> and a key <name> in the [haven] section of the profile file
 * ${HAVEN_PROFILE:-${XDG_CONFIG_HOME:-$HOME/.config}/haven/profile.ini}. */
extern const char *const hv_cli_profile_names[];

/* The value of profile option `name` from the environment or the profile
 * file (relative paths there taken from the file's directory), or NULL.
 * `*rc` is set to an exit code (EXIT_REFUSED) when the profile file exists
 * but is invalid, after printing why; else left alone. */
const char *hv_cli_profile(const char *name, int *rc);

/* ------------------------------------------------------- hv_cli_cmds.c */

/* Prints the general usage (every command's synopsis) to `f`. */
void hv_cli_print_usage(FILE *f);

/* Prints the help of `cmd` (usage, summary, options) to `f`. */
void hv_cli_print_help(FILE *f, const hv_cli_cmd *cmd);

/* "haven referral list", for messages (a static buffer). */
const char *hv_cli_cmd_name(const hv_cli_cmd *cmd);

/* -------------------------------------------------------- hv_cli_out.c */

/* Whether standard output gets colour: it is a terminal and NO_COLOR is
 * unset or empty (https://no-color.org). */
bool hv_cli_colour(void);

/* The width tables must fit in: COLUMNS when set, else the terminal's
 * (TIOCGWINSZ) when standard output is one, else 0 (no limit). */
int hv_cli_width(void);

/* A table of text cells for people; columns shrink to fit the width,
 * long cells are cut with an ellipsis. Fields are private. */
typedef struct hv_cli_table hv_cli_table;

/* A table with `n_cols` columns headed by `headers` (copied; NULL: no
 * header row). Returns NULL
 * when out of memory. Caller frees with hv_cli_table_free. */
hv_cli_table *hv_cli_table_new(int n_cols, const char *const *headers);

/* Adds a row of `n_cols` cells (copied; NULL stands for "-"). */
void hv_cli_table_add(hv_cli_table *t, const char *const *cells);

/* Prints the table to standard output within hv_cli_width(), the header in
 * bold when hv_cli_colour(). */
void hv_cli_table_print(const hv_cli_table *t);

/* Frees; safe on NULL and twice. */
void hv_cli_table_free(hv_cli_table **t);

/* Prints `v` as indented JSON, keys in order, and a newline. */
void hv_cli_print_json(const json_t *v);

/* Prints `s` to standard output as a JSON string: quoted, with the
 * characters JSON requires escaped (quote, backslash, control characters);
 * other bytes as they are. */
void hv_cli_print_json_string(const char *s);

/* Writes ", expires in N days" for a registry expiring at `expires_at`
 * (Unix seconds) into `out`, with a request to get the next one from 14
 * days before; "" for 0 (a daemon that does not say). */
void hv_cli_registry_expiry(int64_t expires_at, char *out, size_t cap);

/* Prints "haven: WHAT: STRERROR (HV_NAME): TEXT" to standard error and
 * returns the exit code of `err` (hv_cli_exit_code). */
int hv_cli_report(const char *what, hv_err err, const hv_errmsg *e);

/* The exit code of an error: 3 for the system's (HV_EIO, HV_ENOMEM,
 * HV_EPERM, HV_ESTORE, HV_ETIMEOUT), 1 for every other refusal, 0 for HV_OK. */
int hv_cli_exit_code(hv_err err);

/* ------------------------------------------------------ the commands */

int hv_cli_keygen(const opts *o);
int hv_cli_registry(const opts *o);
int hv_cli_seal(const opts *o);
int hv_cli_open(const opts *o);
int hv_cli_send(const opts *o);
int hv_cli_recv(const opts *o);
int hv_cli_audit(const opts *o);
int hv_cli_audit_heads_any(const opts *o);
int hv_cli_audit_heads(const opts *o);
int hv_cli_audit_rotate(const opts *o);
int hv_cli_stats(const opts *o);
int hv_cli_deadletters(const opts *o);
int hv_cli_monitor(const opts *o);
int hv_cli_referral(const opts *o);
int hv_cli_inbox(const opts *o);
/* haven case show CASE: case.show at the intake (issue 21). */
int hv_cli_case_show(const opts *o);

int hv_cli_hold(const opts *o);
int hv_cli_pathway(const opts *o);
int hv_cli_status(const opts *o);

/* The control socket of the worker of --socket, or of --config: written to
 * `out`. Returns 0, or an exit code after printing why (hv_cli_work.c). */
int hv_cli_worker_socket(const opts *o, char *out, size_t cap);

/* Runs control command `cmd` with `args` (taken; NULL for none) at the
 * worker's control socket `sock`, waiting up to `timeout_ms`. Returns 0
 * with `*reply` (the caller's), or, after printing why (a refusal as
 * "haven: [WHAT: ]MESSAGE (HV_NAME)"), the exit code of the worker's
 * error (hv_cli_exit_code; 1 for a refusal without a code)
 * (hv_cli_work.c). */
int hv_cli_ask_at(const char *sock, const char *cmd, json_t *args, int timeout_ms,
                  const char *what, json_t **reply);

/* hv_cli_ask_at at the worker of --socket or --config. */
int hv_cli_ask(const opts *o, const char *cmd, json_t *args, int timeout_ms, const char *what,
               json_t **reply);

/* Documents of a case (cli/hv_cli_attach.c): `haven attachment list` and
 * `save`; and the upload of the files a referral file names (paths
 * relative to `case_path`) to the intake at `sock` before its submission:
 * `*uploads` gets [{"upload"}] in the file's order (NULL when it names
 * none; caller frees). Returns 0 or an exit code after printing why. */
int hv_cli_attachment(const opts *o);
int hv_cli_attach_upload(const char *sock, const char *case_path, const char *text, size_t len,
                         json_t **uploads);

/* Evidence of a referral (cli/hv_cli_evidence.c): show, export, verify. */
int hv_cli_evidence(const opts *o);

/* The timeout of --timeout SECONDS in milliseconds, `fallback_s` when absent. */
int hv_cli_timeout_ms(const opts *o, int fallback_s);

/* Loads the registry of --registry, verified with --authority. Returns an
 * exit code; on 0 the caller frees `*reg`. */
struct hv_registry;
int hv_cli_load_registry(const opts *o, struct hv_registry **reg);

/* Case messages with the other party of a case (cli/hv_cli_case.c):
 * send, list, read. */
int hv_cli_message(const opts *o);

/* haven-web's accounts and certificates (cli/hv_cli_staff.c). */
int hv_cli_staff(const opts *o);
int hv_cli_web(const opts *o);

#endif
