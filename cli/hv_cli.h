/* Pieces of the `haven` command-line tool shared between its files. */
#ifndef HV_CLI_H
#define HV_CLI_H

#include <stdbool.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_SYSTEM 3

/* Parsed "--name value" options and at most one positional argument. */
typedef struct opts {
    const char *names[12];  /* option names without "--" */
    const char *values[12]; /* their values ("" for flags) */
    int count;              /* number of options */
    const char *positional; /* the one positional argument, or NULL */
} opts;

/* Parses argv; `flags` lists options that take no value. Returns false and
 * prints why on a usage error. */
bool hv_cli_parse(int argc, char **argv, const char *const *allowed, const char *const *flags,
                  opts *o);

/* The value of option `name`, or NULL. */
const char *hv_cli_opt(const opts *o, const char *name);

/* The commands that talk to a worker over its control socket
 * (cli/hv_cli_work.c): `cmd` is "referral", "inbox", "pathway" or "status". */
int hv_cli_work(const char *cmd, int argc, char **argv);

/* haven-web's accounts and certificates (cli/hv_cli_staff.c). */
int hv_cli_staff(int argc, char **argv);
int hv_cli_web(int argc, char **argv);

#define HV_CLI_STAFF_USAGE                                                                     \
    "  haven staff add --config WEB.ini --name NAME --role ROLE   (password on stdin/TTY)\n"  \
    "  haven staff list [--json] --config WEB.ini\n"                                           \
    "  haven staff disable|enable|reset-password|enrol-totp --config WEB.ini --name NAME\n"   \
    "  haven staff unlock --config WEB.ini --name NAME | --address ADDR\n"                    \
    "  haven staff role --config WEB.ini --name NAME --role ROLE\n"                           \
    "  haven web self-signed --out DIR [--host NAME]\n"

#define HV_CLI_WORK_USAGE                                                                      \
    "  haven referral check [--json] CASE.json\n"                                              \
    "  haven referral submit [--json] --config INTAKE.ini CASE.json\n"                         \
    "  haven referral list|show|withdraw [--json] --config INTAKE.ini [ID] [--reason TEXT]\n"  \
    "  haven inbox list|show|accept [--json] --config PROVIDER.ini [ID]\n"                     \
    "  haven inbox decline --config PROVIDER.ini ID --reason CODE [--note TEXT]\n"             \
    "  haven inbox status --config PROVIDER.ini ID --state STATE [--note TEXT]\n"              \
    "  haven inbox export --config PROVIDER.ini ID --out FILE.json\n"                          \
    "  haven pathway show [--json] --config ROUTER.ini\n"                                      \
    "  haven status [--json] --config WORKER.ini\n"                                            \
    "    (--socket PATH may replace --config: the worker's control socket)\n"

#endif
