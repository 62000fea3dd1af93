/* The broker loop: one job, running the broker (hv_broker.h). It reads
 * broker.ini, checks and opens everything at start, polls every socket,
 * reloads the registry on SIGHUP, and closes in order. It owns the fields
 * of struct hv_broker itself (hv_broker_internal.h): the ZeroMQ context,
 * the ZAP handler, the workers' socket, keys, registry and the session
 * table; each pass of the loop hands the work to the modules that own the
 * rest, in a fixed order:
 *
 *   frames from workers and peers   hv_broker_session.c
 *   what peers sent on our links    hv_broker_links.c
 *   operators' requests, snapshots  hv_broker_ops.c, hv_broker_metrics.c
 *   the group commit, deliveries    hv_broker_custody.c, hv_broker_delivery.c
 *   the store's health (a fault)    hv_broker_fault.c
 *   timers (prune, sessions, expiry)
 */
#include "hv_broker_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_config.h"
#include "hv_control.h"
#include "hv_db.h"
#include "hv_file.h"
#include "hv_http.h"
#include "hv_keys.h"
#include "hv_log.h"
#include "hv_registry.h"
#include "hv_registry_held.h"
#include "hv_zap.h"
#include "hv_lograte.h"

/* ---------------------------------------------------------------- config */

hv_err hv_broker_config_load(const char *path, hv_broker_config *cfg, hv_errmsg *e)
{
#define F(sec, key, type, req, min, max, field, expect)                                        \
    {sec, key, type, req, min, max, offsetof(hv_broker_config, field),                        \
     sizeof(((hv_broker_config *)0)->field), expect}
    static const hv_cfg_field fields[] = {
        F("broker", "id", HV_CFG_STRING, true, 0, 0, id, "this broker's node id"),
        F("broker", "keys", HV_CFG_STRING, true, 0, 0, keys, "the path of its .key file"),
        F("broker", "authority", HV_CFG_STRING, true, 0, 0, authority,
          "the path of the network authority's .pub file"),
        F("broker", "registry", HV_CFG_STRING, true, 0, 0, registry,
          "the path of the signed registry"),
        F("broker", "store", HV_CFG_STRING, true, 0, 0, store, "the path of the store file"),
        F("broker", "bind", HV_CFG_STRING, false, 0, 0, bind,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7301"),
        F("broker", "log_level", HV_CFG_STRING, false, 0, 0, log_level,
          "debug, info, warn or error"),
        F("limits", "max_message_bytes", HV_CFG_UINT, false, 1024, HV_CONTROL_MAX, max_message,
          "a size in bytes from 1024 to the protocol maximum (1049224)"),
        F("limits", "rate_per_second", HV_CFG_UINT, false, 1, 1000000, rate_per_second,
          "messages per second from 1 to 1000000"),
        F("limits", "rate_burst", HV_CFG_UINT, false, 1, 1000000, rate_burst,
          "messages from 1 to 1000000"),
        F("limits", "high_water_mark", HV_CFG_UINT, false, 10, 1000000, hwm,
          "messages from 10 to 1000000"),
        F("timing", "heartbeat_ms", HV_CFG_UINT, false, HV_HEARTBEAT_MS_MIN, HV_HEARTBEAT_MS_MAX,
          heartbeat_ms, "milliseconds from 100 to 60000"),
        F("timing", "dead_after_ms", HV_CFG_UINT, false, 300, 600000, dead_after_ms,
          "milliseconds from 300 to 600000"),
        F("timing", "lease_ms", HV_CFG_UINT, false, 100, 3600000, lease_ms,
          "milliseconds from 100 to 3600000"),
        F("timing", "retry_max_ms", HV_CFG_UINT, false, 100, 3600000, retry_max_ms,
          "milliseconds from 100 to 3600000"),
        F("store", "batch", HV_CFG_UINT, false, 1, 100000, batch,
          "messages per commit from 1 to 100000"),
        F("store", "group_ms", HV_CFG_UINT, false, 0, 100, group_ms,
          "milliseconds from 0 to 100"),
        F("store", "erase", HV_CFG_BOOL, false, 0, 0, erase,
          "on (deleted envelopes are overwritten, the WAL truncated) or off (only to measure "
          "what that costs)"),
        F("custody", "replay_hours", HV_CFG_UINT, false, 0, 8760, replay_hours,
          "hours from 0 (no replay) to 8760"),
        F("federation", "peers", HV_CFG_STRING, false, 0, 0, peers,
          "broker node ids separated by commas"),
        F("federation", "bind", HV_CFG_STRING, false, 0, 0, bind_peers,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7302"),
        F("federation", "window", HV_CFG_UINT, false, 1, HV_CREDIT_MAX, peer_window,
          "envelopes from 1 to 65535"),
        F("operators", "bind", HV_CFG_STRING, false, 0, 0, bind_ops,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7303"),
        F("operators", "events", HV_CFG_STRING, false, 0, 0, bind_events,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7304"),
        F("http", "bind", HV_CFG_STRING, false, 0, 0, http_bind,
          "an IPv4 address and port such as 127.0.0.1:7380"),
        F("http", "token", HV_CFG_STRING, false, 0, 0, http_token,
          "a secret of 16 to 128 characters"),
        F("http", "connections", HV_CFG_UINT, false, 1, 4096, http_limits.connections,
          "connections from 1 to 4096"),
        F("http", "connections_per_address", HV_CFG_UINT, false, 1, 4096,
          http_limits.per_address, "connections from 1 to 4096"),
        F("http", "connection_timeout_s", HV_CFG_UINT, false, 1, 3600, http_limits.idle_s,
          "seconds from 1 to 3600"),
        F("http", "head_timeout_s", HV_CFG_UINT, false, 1, 3600, http_limits.head_s,
          "seconds from 1 to 3600"),
        F("http", "body_timeout_s", HV_CFG_UINT, false, 1, 3600, http_limits.body_s,
          "seconds from 1 to 3600"),
    };
#undef F
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->log_level, "info");
    cfg->max_message = HV_CONTROL_MAX;
    cfg->rate_per_second = 5000;
    cfg->rate_burst = 10000;
    cfg->hwm = 10000;
    cfg->heartbeat_ms = 1000;
    cfg->dead_after_ms = 3000;
    cfg->lease_ms = 10000;
    cfg->retry_max_ms = 30000;
    cfg->batch = 512;
    cfg->group_ms = 0;
    cfg->replay_hours = 72;
    cfg->erase = true;
    cfg->peer_window = 256;
    cfg->http_limits = hv_http_limits_ops();
    hv_err err = hv_config_load(path, fields, sizeof fields / sizeof fields[0], cfg, e);
    if (err != HV_OK)
        return err;
    if (!hv_node_id_valid_cstr(cfg->id))
        return hv_fail(e, HV_ECONFIG, "%s: key 'id' in [broker]: '%s' is not a node id", path,
                       cfg->id);
    if (hv_log_level_from_name(cfg->log_level) < 0)
        return hv_fail(e, HV_ECONFIG, "%s: key 'log_level' in [broker]: expected debug, info, "
                       "warn or error", path);
    if (cfg->dead_after_ms <= cfg->heartbeat_ms)
        return hv_fail(e, HV_ECONFIG, "%s: key 'dead_after_ms' in [timing]: expected more than "
                       "heartbeat_ms (%llu)", path, (unsigned long long)cfg->heartbeat_ms);
    /* Relative paths are relative to the configuration file. */
    char *paths[] = {cfg->keys, cfg->authority, cfg->registry, cfg->store};
    return hv_config_resolve_paths(path, paths, sizeof paths / sizeof paths[0], PATH_MAX, e);
}


/* ------------------------------------------------------------ lifecycle */

/* Everything the broker refuses at start that can be known without
 * opening the store or binding a socket: the keys, the registry and this
 * broker's place in it, [federation], [http] and the store's directory.
 * hv_broker_check (the daemon's -n) and hv_broker_open share it, so that a
 * configuration -n accepts is one the daemon starts with. Fills b->keys,
 * b->reg, b->authority_pk, the peers and the endpoints left to the
 * registry. */
static hv_err s_validate(hv_broker *b, bool check_only, hv_errmsg *e)
{
    const hv_broker_config *cfg = &b->cfg;
    hv_err err;
    char key_owner[HV_NODE_ID_MAX + 1];
    hv_pubkeys auth;
    if ((err = hv_keys_load_secret(cfg->keys, &b->keys, key_owner, e)) != HV_OK ||
        (err = hv_keys_load_public(cfg->authority, &auth, NULL, e)) != HV_OK)
        return err;
    memcpy(b->authority_pk, auth.sign, 32);
    /* The store is made (or opened) in its directory, with its -wal, -shm,
     * .audit and .registry-held files beside it. */
    if ((err = hv_file_can_create(cfg->store, "[broker] store", e)) != HV_OK)
        return err;
    if (access(cfg->store, F_OK) == 0 && access(cfg->store, R_OK | W_OK) != 0)
        return hv_fail(e, HV_EIO, "[broker] store: %s: %s", cfg->store, strerror(errno));
    /* Never older than the registry held, recorded (not at -n) before use. */
    if ((err = hv_registry_held_load(cfg->registry, cfg->store, b->authority_pk,
                                     (uint64_t)time(NULL), 0, !check_only, &b->reg, e)) != HV_OK)
        return err;
    const hv_node *self = hv_registry_find(b->reg, cfg->id);
    if (strcmp(key_owner, cfg->id) != 0 || self == NULL || self->role != HV_ROLE_BROKER ||
        memcmp(self->keys.key_id, hv_keypair_public(b->keys)->key_id, 8) != 0)
        return hv_fail(e, HV_EAUTH, "%s is not a broker of the registry with these keys",
                       cfg->id);
    if (b->cfg.bind[0] == '\0')
        snprintf(b->cfg.bind, sizeof b->cfg.bind, "%s", self->endpoint_workers);
    if ((err = hv_broker_links_parse(b, self, e)) != HV_OK)
        return err;
    if (cfg->http_bind[0] != '\0' &&
        (err = hv_http_check(cfg->http_bind, cfg->http_token, &cfg->http_limits, e)) != HV_OK)
        return err;
    return HV_OK;
}

hv_err hv_broker_check(const hv_broker_config *cfg, hv_errmsg *e)
{
    hv_broker *b = calloc(1, sizeof *b);
    if (b == NULL)
        return HV_ENOMEM;
    b->cfg = *cfg;
    hv_err err = s_validate(b, true, e);
    hv_broker_close(&b);
    return err;
}

hv_err hv_broker_open(hv_broker **out, const hv_broker_config *cfg, hv_errmsg *e)
{
    hv_broker *b = calloc(1, sizeof *b);
    if (b == NULL)
        return HV_ENOMEM;
    b->cfg = *cfg;
    hv_err err;
    if ((err = s_validate(b, false, e)) != HV_OK)
        goto fail;
    if ((err = hv_broker_custody_open(b, e)) != HV_OK ||
        (err = hv_broker_heads_open(b, e)) != HV_OK)
        goto fail;

    b->ctx = zmq_ctx_new();
    if (b->ctx == NULL) {
        err = hv_fail(e, HV_EIO, "zmq: %s", zmq_strerror(errno));
        goto fail;
    }
    /* The ZAP handler exists before any CURVE socket binds. */
    if ((err = hv_zap_start(b->ctx, &b->zap, e)) != HV_OK)
        goto fail;
    b->router = zmq_socket(b->ctx, ZMQ_ROUTER);
    char secret[HV_Z85_KEY_LEN + 1];
    hv_keypair_transport_secret_z85(b->keys, secret);
    err = hv_zap_secure(b->router, secret, HV_ZAP_DOMAIN, e);
    if (err == HV_OK)
        err = hv_broker_links_socket(b, secret, e);
    if (err == HV_OK)
        err = hv_broker_ops_sockets(b, secret, e);
    hv_memzero(secret, sizeof secret);
    if (err != HV_OK)
        goto fail;
    int one = 1, zero = 0, hwm = (int)cfg->hwm;
    int64_t maxmsg = (int64_t)cfg->max_message;
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(b->router, b->cfg.bind) != 0) {
        err = hv_fail(e, HV_EIO, "cannot bind %s: %s", b->cfg.bind, zmq_strerror(errno));
        goto fail;
    }
    if ((err = hv_broker_links_bind(b, e)) != HV_OK ||
        (err = hv_broker_ops_bind(b, e)) != HV_OK)
        goto fail;
    b->ops.started_ms = hv_now_ms();
    *out = b;
    return HV_OK;
fail:
    hv_broker_close(&b);
    return err;
}

void hv_broker_stop(hv_broker *b) { b->stopping = 1; }

void hv_broker_reload(hv_broker *b) { b->reloading = 1; }

void hv_broker_rotate_audit(hv_broker *b) { b->rotating = 1; }

/* SIGHUP: loads the registry again (one older than the one held, or
 * another of the same version, is refused and the one in use kept; a newer
 * one is recorded first), forgets what the replay window keeps for nodes
 * no longer active and checks every session against it
 * (hv_broker_trust.h). */
static void s_reload(hv_broker *b)
{
    hv_errmsg e = {""};
    hv_registry *fresh = NULL;
    hv_err err = hv_registry_held_load(b->cfg.registry, b->cfg.store, b->authority_pk,
                                       (uint64_t)time(NULL), hv_registry_version(b->reg), true,
                                       &fresh, &e);
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "registry_reload_refused", "reason=%s detail=\"%s\"",
               hv_errname(err), e.text);
        return;
    }
    hv_registry_free(&b->reg);
    b->reg = fresh;
    hv_log(HV_LOG_INFO, "registry_loaded", "version=%llu nodes=%zu",
           (unsigned long long)hv_registry_version(b->reg), hv_registry_count(b->reg));
    hv_broker_custody_forget_inactive(b);
    hv_broker_trust_recheck(b); /* every session against the new registry */
}

hv_err hv_broker_run(hv_broker *b)
{
    hv_store_stats st = {0, 0, 0, 0};
    if (hv_broker_custody_stats(b, &st) != HV_OK)
        return HV_ESTORE;
    hv_log(HV_LOG_INFO, "ready", "id=%s bind=%s registry_version=%llu queued=%lld dead=%lld "
           "retained=%lld replay_hours=%llu", b->cfg.id, b->cfg.bind,
           (unsigned long long)hv_registry_version(b->reg), (long long)st.queued,
           (long long)st.dead, (long long)st.retained, (unsigned long long)b->cfg.replay_hours);
    hv_broker_custody_forget_inactive(b); /* revoked while this broker was down */
    zmq_pollitem_t items[5 + HV_PEERS_MAX];
    bool unsent = false; /* a batch waits for a full socket */
    while (!b->stopping) {
        size_t n_items = 0;
        items[n_items++] = (zmq_pollitem_t){b->zap, 0, ZMQ_POLLIN, 0};
        items[n_items++] = (zmq_pollitem_t){b->router, 0, ZMQ_POLLIN, 0};
        if (b->links.router != NULL)
            items[n_items++] = (zmq_pollitem_t){b->links.router, 0, ZMQ_POLLIN, 0};
        if (b->ops.sock != NULL)
            items[n_items++] = (zmq_pollitem_t){b->ops.sock, 0, ZMQ_POLLIN, 0};
        if (b->ops.events != NULL)
            items[n_items++] = (zmq_pollitem_t){b->ops.events, 0, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < b->n_sessions && n_items < sizeof items / sizeof items[0]; i++)
            if (b->sessions[i].outgoing && b->sessions[i].sock != NULL)
                items[n_items++] = (zmq_pollitem_t){b->sessions[i].sock, 0, ZMQ_POLLIN, 0};
        long timeout = b->behind ? 0 : unsent ? 1 : (long)(b->cfg.heartbeat_ms / 4);
        for (size_t i = 0; i < b->n_sessions; i++)
            if (b->sessions[i].ready && b->sessions[i].maybe_more &&
                b->sessions[i].n_flight < b->sessions[i].window)
                timeout = 10; /* a delivery is waiting for room or its backoff */
        timeout = hv_broker_custody_group_wait(b, timeout);
        if (zmq_poll(items, (int)n_items, timeout) < 0 && errno != EINTR) {
            hv_log(HV_LOG_ERROR, "poll_failed", "error=\"%s\"", zmq_strerror(errno));
            return HV_EIO;
        }
        int64_t now = hv_mono_ms();
        if (b->reloading) {
            b->reloading = 0;
            s_reload(b);
        }
        if (b->rotating) {
            b->rotating = 0;
            hv_broker_heads_rotate(b);
        }
        hv_registry_expiry_watch(&b->expiry, b->reg, (uint64_t)time(NULL));
        if (items[0].revents & ZMQ_POLLIN)
            hv_broker_trust_serve_zap(b);
        b->behind = hv_session_drain(b, b->router, now) >= b->cfg.batch;
        if (b->links.router != NULL && hv_session_drain(b, b->links.router, now) >= b->cfg.batch)
            b->behind = true;
        hv_broker_links_drain(b, now);
        hv_broker_health_tick(b, now);
        hv_broker_ops_serve(b, now);
        hv_broker_custody_commit_and_reply(b, false);
        /* The STOREDs of this commit leave now, one frame per sender that
         * speaks BATCH; the DELIVERs made below leave as the pass ends. */
        (void)hv_session_flush_all(b);
        hv_broker_fault_tick(b, now);
        hv_broker_custody_erase(b, now);
        hv_broker_custody_deliver(b, now);
        hv_broker_custody_prune(b, now);
        hv_session_timers(b, now);
        hv_broker_custody_expire(b, now);
        hv_lograte_flush(false); /* the counts of lines left out (issue 20) */
        hv_broker_heads_tick(b, now);
        unsent = hv_session_flush_all(b); /* nothing batched waits while the loop sleeps */
    }
    hv_lograte_flush(true);
    hv_err finished = hv_broker_custody_finish(b);
    (void)hv_session_flush_all(b); /* the last STOREDs */
    if (finished != HV_OK)
        return HV_ESTORE;
    if (b->heads.failed) /* a peer's head says the log was cut or changed */
        return HV_ECRYPTO;
    hv_broker_heads_finish(b);
    hv_broker_counters c = hv_broker_custody_counters(b);
    hv_log(HV_LOG_INFO, "stopped", "stored=%llu commits=%llu delivered=%llu acked=%llu "
           "forwarded=%llu refused=%llu redelivered=%llu expired=%llu",
           (unsigned long long)c.stored, (unsigned long long)c.commits,
           (unsigned long long)c.delivered,
           (unsigned long long)c.acked, (unsigned long long)c.forwarded,
           (unsigned long long)b->n_refused,
           (unsigned long long)c.redelivered, (unsigned long long)c.expired);
    return HV_OK;
}

void hv_broker_close(hv_broker **bp)
{
    if (bp == NULL || *bp == NULL)
        return;
    hv_broker *b = *bp;
    for (size_t i = 0; i < b->n_sessions; i++) {
        free(b->sessions[i].flight);
        hv_control_batch_free(&b->sessions[i].out);
        if (b->sessions[i].outgoing && b->sessions[i].sock != NULL)
            zmq_close(b->sessions[i].sock);
    }
    free(b->sessions);
    if (b->router != NULL)
        zmq_close(b->router);
    hv_broker_links_close(b);
    hv_broker_ops_close(b);
    if (b->zap != NULL)
        zmq_close(b->zap);
    if (b->ctx != NULL)
        zmq_ctx_term(b->ctx);
    hv_broker_custody_close(b);
    hv_broker_prekeys_close(b);
    hv_registry_free(&b->reg);
    hv_keypair_free(&b->keys);
    free(b);
    *bp = NULL;
}
