/* The daemons' command line; see hv_daemon_args.h. */
#include "hv_daemon_args.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "hv_db.h"
#include "hv_version.h"

static void s_usage(FILE *f, const char *name, const char *what, const char *hint)
{
    fprintf(f,
            "usage: %s -c %s [-n]\n"
            "       %s -c %s --check-store\n"
            "       %s -h | -V\n"
            "%s\n"
            "  -c, --config=FILE  the configuration (INI; relative paths in it are taken\n"
            "                     from its directory)\n"
            "  -n, --check        check the configuration, keys and registry, then exit\n"
            "                     (0 valid, 1 not); binds and writes nothing\n"
            "      --check-store  check the store fully, read-only (stop the daemon\n"
            "                     first), print what was found, then exit (0 sound,\n"
            "                     1 damaged)\n"
            "  -h, --help         this help\n"
            "  -V, --version      the version\n"
            "Runs in the foreground and logs to standard error, one event a line.\n"
            "SIGTERM or SIGINT: finish the work under way and stop; SIGHUP: reload the\n"
            "registry. Exit codes: 0 stopped cleanly, 1 refused to start, 2 usage.\n",
            name, hint, name, hint, name, what);
}

int hv_daemon_args_parse(int argc, char **argv, const char *name, const char *what,
                         const char *config_hint, hv_daemon_args *out)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'n'},
        {"check-store", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(out, 0, sizeof *out);
    opterr = 0; /* our own messages, with the program's name */
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":c:nhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            out->config = optarg;
            break;
        case 'n':
            out->check_only = true;
            break;
        case 'S':
            out->check_store = true;
            break;
        case 'h':
            s_usage(stdout, name, what, config_hint);
            return 0;
        case 'V':
            printf("%s %s\n", name, HV_VERSION);
            return 0;
        case ':':
            fprintf(stderr, "%s: option '%s' needs a value\n", name, argv[optind - 1]);
            s_usage(stderr, name, what, config_hint);
            return HV_DAEMON_EXIT_USAGE;
        default:
            if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) == 0)
                fprintf(stderr, "%s: option '%s' takes no value\n", name, argv[optind - 1]);
            else if (optopt != 0)
                fprintf(stderr, "%s: unknown option '-%c'\n", name, optopt);
            else
                fprintf(stderr, "%s: unknown option '%s'\n", name, argv[optind - 1]);
            s_usage(stderr, name, what, config_hint);
            return HV_DAEMON_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
        s_usage(stderr, name, what, config_hint);
        return HV_DAEMON_EXIT_USAGE;
    }
    if (out->config == NULL) {
        fprintf(stderr, "%s: the configuration is required: -c %s\n", name, config_hint);
        s_usage(stderr, name, what, config_hint);
        return HV_DAEMON_EXIT_USAGE;
    }
    return -1;
}

static void s_print_problem(void *arg, const char *text)
{
    printf("%s: problem: %s\n", (const char *)arg, text);
}

int hv_daemon_check_store(const char *name, const char *path)
{
    hv_db_checked found;
    hv_errmsg e = {""};
    hv_err err = hv_db_check_path(path, HV_DB_FULL, &found, s_print_problem, (void *)path, &e);
    if (err != HV_OK) {
        fprintf(stderr, "%s: %s (%s)\n", name, e.text, hv_errname(err));
        return HV_DAEMON_EXIT_FAIL;
    }
    printf("%s: sound: integrity_check found nothing wrong in %lld pages of %lld bytes "
           "(%.1f ms)\n",
           path, (long long)found.pages, (long long)found.page_size,
           (double)found.took_us / 1000.0);
    return 0;
}
