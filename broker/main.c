/* haven-broker: the broker daemon.
 * usage: haven-broker -c broker.ini [-n]
 *   -n  check the configuration, keys and registry, then exit 0 or 1.
 * Runs in the foreground and logs to stderr, one event per line.
 * SIGTERM or SIGINT: finish the commit under way and stop. SIGHUP: reload
 * the registry (a revoked node is cut off at once). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hv_broker.h"
#include "hv_crypto.h"
#include "hv_log.h"

static hv_broker *s_broker;

static void s_on_signal(int sig)
{
    if (s_broker == NULL)
        return;
    if (sig == SIGHUP)
        hv_broker_reload(s_broker);
    else
        hv_broker_stop(s_broker);
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    bool check_only = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:n")) != -1) {
        if (opt == 'c')
            config = optarg;
        else if (opt == 'n')
            check_only = true;
        else
            config = NULL, optind = argc + 1;
    }
    if (config == NULL || optind != argc) {
        fprintf(stderr, "usage: haven-broker -c broker.ini [-n]\n");
        return 2;
    }
    if (hv_crypto_init() != HV_OK) {
        fprintf(stderr, "haven-broker: cannot initialise libsodium\n");
        return 1;
    }
    hv_broker_config cfg;
    hv_errmsg e = {""};
    hv_err err = hv_broker_config_load(config, &cfg, &e);
    if (err != HV_OK) {
        fprintf(stderr, "haven-broker: %s (%s)\n", e.text, hv_errname(err));
        return 1;
    }
    hv_log_set_level((hv_log_level)hv_log_level_from_name(cfg.log_level));
    if (check_only)
        cfg.bind[0] = '\0';
    hv_broker *b = NULL;
    if (check_only) {
        /* Open everything but do not keep the socket: -n must not take the port. */
        snprintf(cfg.bind, sizeof cfg.bind, "inproc://check");
    }
    err = hv_broker_open(&b, &cfg, &e);
    if (err != HV_OK) {
        fprintf(stderr, "haven-broker: %s (%s)\n", e.text, hv_errname(err));
        return 1;
    }
    if (check_only) {
        printf("%s: configuration, keys and registry are valid\n", config);
        hv_broker_close(&b);
        return 0;
    }
    s_broker = b;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    err = hv_broker_run(b);
    s_broker = NULL;
    hv_broker_close(&b);
    return err == HV_OK ? 0 : 1;
}
