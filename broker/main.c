/* haven-broker: the broker daemon.
 * usage: haven-broker -c broker.ini [-n]   (common/hv_daemon_args.h)
 *   -n  check the configuration, keys and registry, binding nothing, then
 *       exit 0 or 1.
 *   --check-store  check the store (broker.db) fully offline, exit 0 or 1.
 * Runs in the foreground and logs to stderr, one event per line.
 * SIGTERM or SIGINT: finish the commit under way and stop. SIGHUP: reload
 * the registry (a revoked node is cut off at once). SIGUSR1: rotate the
 * audit log (broker.db.audit to broker.db.audit.SEQ, a new file going on
 * with the chain), with a signed head of each file. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "hv_broker.h"
#include "hv_crypto.h"
#include "hv_daemon_args.h"
#include "hv_log.h"

static hv_broker *s_broker;

static void s_on_signal(int sig)
{
    if (s_broker == NULL)
        return;
    if (sig == SIGHUP)
        hv_broker_reload(s_broker);
    else if (sig == SIGUSR1)
        hv_broker_rotate_audit(s_broker);
    else
        hv_broker_stop(s_broker);
}

int main(int argc, char **argv)
{
    hv_daemon_args args;
    int rc = hv_daemon_args_parse(argc, argv, "haven-broker",
                                  "The broker of one country: store-and-forward between its "
                                  "workers and its peers.",
                                  "broker.ini", &args);
    if (rc >= 0)
        return rc;
    if (hv_crypto_init() != HV_OK) {
        fprintf(stderr, "haven-broker: cannot initialise libsodium\n");
        return HV_DAEMON_EXIT_FAIL;
    }
    hv_broker_config cfg;
    hv_errmsg e = {""};
    hv_err err = hv_broker_config_load(args.config, &cfg, &e);
    if (err == HV_OK && args.check_store)
        return hv_daemon_check_store("haven-broker", cfg.store);
    if (err == HV_OK && args.check_only)
        err = hv_broker_check(&cfg, &e);
    if (err != HV_OK) {
        fprintf(stderr, "haven-broker: %s (%s)\n", e.text, hv_errname(err));
        return HV_DAEMON_EXIT_FAIL;
    }
    if (args.check_only) {
        printf("%s: configuration, keys and registry are valid\n", args.config);
        return 0;
    }
    hv_log_set_level((hv_log_level)hv_log_level_from_name(cfg.log_level));
    hv_broker *b = NULL;
    err = hv_broker_open(&b, &cfg, &e);
    if (err != HV_OK) {
        fprintf(stderr, "haven-broker: %s (%s)\n", e.text, hv_errname(err));
        return HV_DAEMON_EXIT_FAIL;
    }
    s_broker = b;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    err = hv_broker_run(b);
    s_broker = NULL;
    hv_broker_close(&b);
    return err == HV_OK ? 0 : HV_DAEMON_EXIT_FAIL;
}
