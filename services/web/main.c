/* haven-web: the one door through which an organisation's staff and its
 * own systems reach their worker (issue 17; docs/API.md). It holds no
 * node key and no case key: it signs people in, keeps their sessions, and
 * forwards each request to the worker's staff control socket as that
 * person; the worker decides what they may see.
 *
 *   haven-web -c web.ini        serve (foreground, logs on stderr)
 *   haven-web -c web.ini -n     check the configuration and exit
 * SIGTERM or SIGINT: stop accepting, end event streams, stop. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_crypto.h"
#include "hv_daemon_args.h"
#include "hv_file.h"
#include "hv_log.h"
#include "hv_lograte.h"
#include "hv_web_api.h"
#include "hv_web_audit.h"
#include "hv_web_cert.h"
#include "hv_web_config.h"
#include "hv_web_http.h"
#include "hv_web_notify.h"
#include "hv_web_store.h"
#include "hv_web_worker.h"

static volatile sig_atomic_t s_stop;
static volatile int s_stopping;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    hv_daemon_args args;
    int rc = hv_daemon_args_parse(argc, argv, "haven-web",
                                  "Haven's door for an organisation's staff and its own systems: "
                                  "sign-in and the API, beside one worker.",
                                  "WEB.ini", &args);
    if (rc >= 0)
        return rc;
    const char *config = args.config;
    bool check = args.check_only;
    if (hv_crypto_init() != HV_OK) {
        fprintf(stderr, "haven-web: cannot initialise libsodium\n");
        return 1;
    }
    hv_web_config cfg;
    hv_errmsg e = {{0}};
    hv_err err = hv_web_config_load(config, &cfg, &e);
    if (err != HV_OK) {
        fprintf(stderr, "haven-web: %s\n", e.text[0] ? e.text : hv_strerror(err));
        return 1;
    }
    if (args.check_store)
        return hv_daemon_check_store("haven-web", cfg.store);
    if (check) {
        /* Like the other daemons' -n: binds nothing and writes nothing.
         * The TLS pair is loaded as serving would load it; the store and
         * the audit log need only a directory they can be made in. */
        if (cfg.tls)
            err = hv_web_cert_check(cfg.tls_cert, cfg.tls_key, &e);
        if (err == HV_OK)
            err = hv_file_can_create(cfg.store, "[store] path", &e);
        if (err == HV_OK)
            err = hv_file_can_create(cfg.audit, "[store] audit", &e);
        if (err != HV_OK) {
            fprintf(stderr, "haven-web: %s\n", e.text);
            return 1;
        }
        printf("%s: configuration valid (%s for %s, %s)\n", config, cfg.kind_name, cfg.node,
               cfg.tls ? "HTTPS" : "plain HTTP on loopback");
        return 0;
    }
    hv_web_store *store = NULL;
    if ((err = hv_web_store_open(&store, cfg.store, &e)) != HV_OK) {
        fprintf(stderr, "haven-web: %s (%s)\n", e.text, hv_errname(err));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* The stop signals stay blocked (also in every thread started from
     * here) except inside sigsuspend, so that none is lost between the
     * test of s_stop and the wait. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    hv_web_api api = {&cfg, store, &s_stopping};
    hv_web_http *http = NULL;
    if ((err = hv_web_http_start(&http, &cfg, hv_web_api_handle, hv_web_uploads_part, &api,
                                   &e)) != HV_OK) {
        hv_log(HV_LOG_ERROR, "start_failed", "err=%s why=\"%s\"", hv_errname(err), e.text);
        hv_web_store_close(&store);
        return 1;
    }
    if (!cfg.tls)
        hv_log(HV_LOG_WARN, "plain_http",
               "listen=%s why=\"no tls_cert: plain HTTP, allowed on loopback only; put a "
               "TLS-terminating proxy or a certificate in front before anyone else uses it\"",
               cfg.listen);
    hv_web_notify *notify = NULL;
    if (cfg.notify_command[0] != '\0' &&
        (err = hv_web_notify_start(&notify, &cfg, store, &s_stopping, &e)) != HV_OK) {
        hv_log(HV_LOG_ERROR, "start_failed", "err=%s why=\"%s\"", hv_errname(err), e.text);
        hv_web_http_stop(&http);
        hv_web_store_close(&store);
        return 1;
    }
    hv_log(HV_LOG_INFO, "ready", "node=%s kind=%s listen=%s tls=%s", cfg.node, cfg.kind_name,
           cfg.listen, cfg.tls ? "yes" : "no");
    while (!s_stop)
        sigsuspend(&old);
    s_stopping = 1;
    hv_log(HV_LOG_INFO, "stopping", "node=%s", cfg.node);
    hv_web_notify_stop(&notify);
    hv_web_http_stop(&http);
    hv_lograte_flush(true); /* the counts of cut connections not yet told */
    hv_web_store_close(&store);
    hv_web_worker_shutdown();
    hv_web_audit_close();
    hv_log(HV_LOG_INFO, "stopped", "node=%s", cfg.node);
    return 0;
}
