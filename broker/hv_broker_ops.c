/* The broker's operators' sockets: one job, talking to operators. It owns
 * the operators' ROUTER socket (requests: stats and dead letters,
 * proto/PROTOCOL.md §5.4), their XPUB socket of events (`haven monitor`)
 * and the HTTP thread's start and stop (hv_http.h; what it serves comes
 * from hv_broker_metrics.c).
 *
 * Events are for watching, never the record: what happened, to which type
 * of message, between which countries, how big, how long it took — never
 * a node id, never content — and dropped rather than queued when no
 * operator keeps up. An operator's requeue or purge is custody's to do
 * (hv_broker_custody_dead_action); this file only reads the request and
 * words the answer. */
#include "hv_broker_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "hv_ctl.h"
#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_keys.h"
#include "hv_log.h"
#include "hv_zap.h"
#include "hv_lograte.h"

static void s_events_rebind(hv_broker *b);

/* ---------------------------------------------------------------- events */

void hv_broker_event(hv_broker *b, const char *event, unsigned type, const char *from_cc,
                     const char *to_cc, size_t bytes, int64_t latency_ms, unsigned code)
{
    if (b->ops.events == NULL)
        return;
    const hv_msg_rule *rule = hv_msg_rule_get(type);
    char line[320];
    int n = snprintf(line, sizeof line,
                     "{\"at_ms\":%lld,\"broker\":\"%s\",\"event\":\"%s\",\"type\":\"%s\","
                     "\"from\":\"%s\",\"to\":\"%s\",\"bytes\":%zu,\"latency_ms\":%lld,"
                     "\"code\":\"%s\"}",
                     (long long)hv_now_ms(), b->cfg.id, event, rule ? rule->name : "",
                     from_cc ? from_cc : "", to_cc ? to_cc : "", bytes, (long long)latency_ms,
                     code ? hv_errname(code) : "");
    if (n > 0 && (size_t)n < sizeof line)
        (void)zmq_send(b->ops.events, line, (size_t)n, ZMQ_DONTWAIT);
}

void hv_broker_event_envelope(hv_broker *b, const char *event, const uint8_t *env_bytes,
                              size_t len)
{
    if (b->ops.events == NULL)
        return;
    /* The countries of the envelope's sender and recipient, from the
     * registry. */
    hv_envelope env;
    char from_cc[3] = "", to_cc[3] = "";
    unsigned type = 0;
    if (hv_envelope_decode(env_bytes, len, &env) == HV_OK) {
        const hv_node *f = hv_registry_find(b->reg, env.from);
        const hv_node *t = hv_registry_find(b->reg, env.to);
        type = env.type;
        snprintf(from_cc, 3, "%s", f ? f->country : "");
        snprintf(to_cc, 3, "%s", t ? t->country : "");
    }
    hv_broker_event(b, event, type, from_cc, to_cc, len, -1, 0);
}

/* Remembers an events watcher's node and key, for hv_broker_ops_recheck. */
static void s_watcher_seen(hv_broker *b, const char *node, const uint8_t key[32])
{
    hv_broker_ops *o = &b->ops;
    for (size_t i = 0; i < o->n_watchers; i++)
        if (memcmp(o->watchers[i].key, key, 32) == 0 && strcmp(o->watchers[i].node, node) == 0)
            return;
    if (o->n_watchers == HV_OPS_CONNS_MAX) {
        o->watchers_lost = true;
        return;
    }
    hv_ops_conn *w = &o->watchers[o->n_watchers++];
    memset(w, 0, sizeof *w);
    snprintf(w->node, sizeof w->node, "%s", node);
    memcpy(w->key, key, 32);
}

/* Logs which operators start and stop watching the events: the XPUB hands
 * up each subscription, and ZAP named the connection's node and key. A
 * watcher that disconnects is unsubscribed by ZeroMQ itself, with no node
 * to name. */
static void s_events_watchers(hv_broker *b)
{
    for (int i = 0; i < 64; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, b->ops.events, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        const uint8_t *data = zmq_msg_data(&msg);
        const char *node = zmq_msg_gets(&msg, "User-Id");
        uint8_t key[32];
        if (zmq_msg_size(&msg) >= 1 && data[0] == 1 && node != NULL &&
            hv_node_id_valid_cstr(node) &&
            hv_trust_key_parse(zmq_msg_gets(&msg, HV_ZAP_KEY_PROPERTY), key) == HV_OK)
            s_watcher_seen(b, node, key);
        if (zmq_msg_size(&msg) >= 1 && data[0] <= 1)
            hv_log(HV_LOG_INFO, data[0] == 1 ? "events_watcher_in" : "events_watcher_out",
                   "node=%s", node != NULL && hv_node_id_valid_cstr(node) ? node : "unnamed");
        zmq_msg_close(&msg);
    }
}

/* -------------------------------------------------------------- requests */

static bool s_dead_one(void *arg, const hv_dead *d)
{
    char id[33], stored[21], died[21];
    hv_hex(d->id, 16, id);
    hv_time_format((uint64_t)(d->stored_ms / 1000), stored);
    hv_time_format((uint64_t)(d->died_ms / 1000), died);
    const hv_msg_rule *rule = hv_msg_rule_get(d->type);
    json_array_append_new((json_t *)arg,
                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "id",
                                    id, "type", rule ? rule->name : "", "sender",
                                    d->sender ? d->sender : "", "recipient",
                                    d->recipient ? d->recipient : "", "code",
                                    hv_errname(d->code), "reason", d->reason ? d->reason : "",
                                    "attempts", (json_int_t)d->attempts, "stored", stored,
                                    "died", died, "bytes", (json_int_t)d->bytes));
    return true;
}

/* An operator's request refused: the explanation and its error's name, so
 * that `haven` can name the code as it does for every refusal. */
static json_t *s_ops_error(hv_err code, const char *text)
{
    return json_pack("{s:s, s:s}", "error", text, "code", hv_errname(code));
}

/* An operator requeues or purges a dead letter; custody records the
 * action in the store's admin log and in the broker's log. */
static json_t *s_dead_action(hv_broker *b, const char *operator_id, bool requeue, json_t *args)
{
    uint8_t id[16];
    const char *hex = json_string_value(json_object_get(args, "id"));
    if (hex == NULL || hv_unhex(hex, id, 16) != HV_OK)
        return s_ops_error(HV_EINVAL, "\"id\" must be a message id of 32 hex digits");
    hv_err err = HV_OK;
    if (hv_broker_custody_dead_action(b, operator_id, requeue, id, hex, &err) != HV_OK)
        return s_ops_error(HV_ESTORE, "the store failed; nothing was changed");
    if (err == HV_ENOTFOUND)
        return s_ops_error(HV_ENOTFOUND, "no dead letter with that id");
    if (err == HV_EEXPIRED)
        return s_ops_error(HV_EEXPIRED, "its time to live has passed: it cannot be delivered");
    if (err != HV_OK)
        return s_ops_error(err, hv_strerror(err));
    return json_pack("{s:s, s:s}", "id", hex, "result", requeue ? "requeued" : "purged");
}

/* Records one operator's request in the broker's audit log and its log:
 * the event names the command and the result ("op_dead_purge_ok",
 * "op_stats_ok", "op_dead_requeue_enotfound", "op_unknown_etype"), the
 * subject the dead letter acted on (or none), `by` the operator. */
static void s_ops_audit(hv_broker *b, const char *operator_id, const char *cmd,
                        const json_t *args, const json_t *reply)
{
    static const char *const known[] = {"stats", "dead.list", "dead.requeue", "dead.purge"};
    const char *what = "unknown";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (cmd != NULL && strcmp(cmd, known[i]) == 0)
            what = known[i];
    if (cmd == NULL)
        what = "unreadable";
    const char *code = json_string_value(json_object_get(reply, "code"));
    char result[32] = "ok";
    if (code != NULL || reply == NULL) {
        const char *c = code != NULL ? code : "HV_ENOMEM";
        if (strncmp(c, "HV_", 3) == 0)
            c += 3;
        snprintf(result, sizeof result, "%s", c);
    }
    /* An audit event is 1..31 of [a-z_]: "dead.purge" + "ENOTFOUND" ->
     * op_dead_purge_enotfound. */
    char event[64];
    int n = snprintf(event, sizeof event, "op_%s_%s", what, result);
    if (n < 0 || n > 31)
        snprintf(event, sizeof event, "op_%.12s_refused", what);
    for (char *p = event; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p >= 'a' && *p <= 'z' ? *p : '_');
    uint8_t id[16];
    const char *hex = json_string_value(json_object_get(args, "id"));
    bool subject = strncmp(what, "dead.", 5) == 0 && strcmp(what, "dead.list") != 0 &&
                   hex != NULL && hv_unhex(hex, id, 16) == HV_OK;
    hv_log(HV_LOG_INFO, "operator_request", "node=%s cmd=%s result=%s%s%s", operator_id, what,
           code != NULL ? code : "ok", subject ? " id=" : "", subject ? hex : "");
    if (hv_node_id_valid_cstr(operator_id))
        hv_broker_custody_audit(b, subject ? id : NULL, event, operator_id);
}

/* Answers one operator's request (proto/PROTOCOL.md §5.4). */
static json_t *s_ops_request(hv_broker *b, const char *operator_id, const void *buf,
                             size_t len)
{
    char cmd[HV_CTL_CMD_MAX + 1];
    json_t *args = NULL, *reply = NULL;
    hv_errmsg e = {""};
    hv_err perr = hv_ctl_parse(buf, len, cmd, &args, &e);
    if (perr != HV_OK) {
        reply = s_ops_error(perr, e.text);
        s_ops_audit(b, operator_id, NULL, NULL, reply);
        return reply;
    }
    if (strcmp(cmd, "stats") == 0) {
        reply = hv_broker_ops_stats_json(b);
    } else if (strcmp(cmd, "dead.list") == 0) {
        json_t *list = json_array();
        if (hv_broker_custody_dead_list(b, 1000, s_dead_one, list) != HV_OK)
            hv_broker_store_failed(b, "op=dead_list");
        reply = json_pack("{s:o}", "dead_letters", list);
    } else if (strcmp(cmd, "dead.requeue") == 0) {
        reply = s_dead_action(b, operator_id, true, args);
    } else if (strcmp(cmd, "dead.purge") == 0) {
        reply = s_dead_action(b, operator_id, false, args);
    } else {
        reply = s_ops_error(HV_ETYPE, "unknown command; try stats, dead.list, dead.requeue "
                                      "or dead.purge");
    }
    s_ops_audit(b, operator_id, cmd, args, reply);
    json_decref(args);
    return reply;
}

/* True when the request's connection is still admitted under the
 * registry in use (its key, judged as at a handshake): the connection
 * is remembered for hv_broker_ops_recheck. */
static bool s_ops_admitted(hv_broker *b, const char *operator_id, zmq_msg_t *rid,
                           zmq_msg_t *body)
{
    uint8_t key[32];
    hv_trust_self self;
    char why[HV_TRUST_WHY_MAX];
    if (operator_id == NULL || !hv_node_id_valid_cstr(operator_id) ||
        hv_trust_key_parse(zmq_msg_gets(body, HV_ZAP_KEY_PROPERTY), key) != HV_OK ||
        zmq_msg_size(rid) > sizeof b->ops.conns[0].rid)
        return false;
    hv_broker_trust_self(b, &self);
    if (hv_trust_admit(b->reg, &self, HV_DOOR_OPS, operator_id, key, (uint64_t)time(NULL), NULL,
                       why) != HV_OK)
        return false;
    hv_broker_ops *o = &b->ops;
    for (size_t i = 0; i < o->n_conns; i++)
        if (o->conns[i].rid_len == zmq_msg_size(rid) &&
            memcmp(o->conns[i].rid, zmq_msg_data(rid), o->conns[i].rid_len) == 0)
            return true;
    hv_ops_conn *c = o->n_conns < HV_OPS_CONNS_MAX ? &o->conns[o->n_conns++]
                                                   : &o->conns[o->next_conn++ % HV_OPS_CONNS_MAX];
    memset(c, 0, sizeof *c);
    c->rid_len = zmq_msg_size(rid);
    memcpy(c->rid, zmq_msg_data(rid), c->rid_len);
    snprintf(c->node, sizeof c->node, "%s", operator_id);
    memcpy(c->key, key, 32);
    return true;
}

/* The answer to a request on a connection no longer admitted: an error
 * naming why, never the request's result; logged and audited. */
static json_t *s_ops_refused(hv_broker *b, const char *operator_id, zmq_msg_t *body)
{
    uint8_t key[32];
    hv_trust_self self;
    char why[HV_TRUST_WHY_MAX] = "unnamed connection";
    bool named = operator_id != NULL && hv_node_id_valid_cstr(operator_id);
    if (named && hv_trust_key_parse(zmq_msg_gets(body, HV_ZAP_KEY_PROPERTY), key) == HV_OK) {
        hv_broker_trust_self(b, &self);
        (void)hv_trust_admit(b->reg, &self, HV_DOOR_OPS, operator_id, key, (uint64_t)time(NULL),
                             NULL, why);
    }
    if (hv_lograte_pass("operator_refused", named ? operator_id : "unnamed"))
        hv_log(HV_LOG_WARN, "operator_refused", "node=%s reason=\"%s\"",
               named ? operator_id : "unnamed", why);
    if (named)
        hv_broker_custody_audit(b, NULL, "op_refused_eauth", operator_id);
    char text[HV_TRUST_WHY_MAX + 48];
    snprintf(text, sizeof text, "this connection is no longer admitted: %s", why);
    return s_ops_error(HV_EAUTH, text);
}

/* Answers operators' requests on their socket. */
static void s_ops_answer(hv_broker *b)
{
    void *sock = b->ops.sock;
    for (int n = 0; n < 16; n++) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&rid, sock, ZMQ_DONTWAIT) < 0 || !zmq_msg_more(&rid) ||
            zmq_msg_recv(&body, sock, 0) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            return;
        }
        while (zmq_msg_more(&body)) { /* one frame only; discard the rest */
            zmq_msg_close(&body);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, sock, 0) < 0)
                break;
        }
        const char *operator_id = zmq_msg_gets(&body, "User-Id");
        json_t *reply = s_ops_admitted(b, operator_id, &rid, &body)
                            ? s_ops_request(b, operator_id, zmq_msg_data(&body),
                                            zmq_msg_size(&body))
                            : s_ops_refused(b, operator_id, &body);
        /* Its audit record is durable before the operator hears the result. */
        hv_broker_custody_commit_and_reply(b, true);
        char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
        if (text != NULL) {
            zmq_send(sock, zmq_msg_data(&rid), zmq_msg_size(&rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT);
        }
        free(text);
        json_decref(reply);
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
    }
}

void hv_broker_ops_serve(hv_broker *b, int64_t now)
{
    if (b->ops.sock != NULL)
        s_ops_answer(b);
    if (b->ops.events_rebind)
        s_events_rebind(b);
    if (b->ops.events != NULL)
        s_events_watchers(b);
    hv_broker_ops_rate_sample(b, now);
    hv_broker_ops_publish(b, now);
}

/* ------------------------------------------------------------- lifecycle */

/* Makes the events socket (XPUB), secured with `secret_z85`. */
static hv_err s_events_socket(hv_broker *b, const char *secret_z85, hv_errmsg *e)
{
    b->ops.events = zmq_socket(b->ctx, ZMQ_XPUB);
    if (b->ops.events == NULL)
        return hv_fail(e, HV_EIO, "events: %s", zmq_strerror(errno));
    return hv_zap_secure(b->ops.events, secret_z85, HV_ZAP_DOMAIN_OPS, e);
}

hv_err hv_broker_ops_sockets(hv_broker *b, const char *secret_z85, hv_errmsg *e)
{
    hv_err err = HV_OK;
    if (b->cfg.bind_ops[0] != '\0') {
        b->ops.sock = zmq_socket(b->ctx, ZMQ_ROUTER);
        err = hv_zap_secure(b->ops.sock, secret_z85, HV_ZAP_DOMAIN_OPS, e);
    }
    if (err == HV_OK && b->cfg.bind_events[0] != '\0')
        err = s_events_socket(b, secret_z85, e);
    return err;
}

/* Sets the events socket's options and binds it. */
static hv_err s_events_bind(hv_broker *b, hv_errmsg *e)
{
    int one = 1, zero = 0, hwm_events = 10000;
    zmq_setsockopt(b->ops.events, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b->ops.events, ZMQ_SNDHWM, &hwm_events, sizeof hwm_events);
    /* Every subscription comes up to the loop (s_events_watchers), and
     * every new connection first gets a welcome, so that an operator
     * learns it is connected (a PUB says nothing). */
    zmq_setsockopt(b->ops.events, ZMQ_XPUB_VERBOSE, &one, sizeof one);
    char welcome[96];
    int wn = snprintf(welcome, sizeof welcome, "{\"event\":\"welcome\",\"broker\":\"%s\"}",
                      b->cfg.id);
    zmq_setsockopt(b->ops.events, ZMQ_XPUB_WELCOME_MSG, welcome, (size_t)wn);
    if (zmq_bind(b->ops.events, b->cfg.bind_events) != 0)
        return hv_fail(e, HV_EIO, "cannot bind the events endpoint %s: %s", b->cfg.bind_events,
                       zmq_strerror(errno));
    return HV_OK;
}

hv_err hv_broker_ops_bind(hv_broker *b, hv_errmsg *e)
{
    int zero = 0;
    if (b->ops.sock != NULL) {
        int small = 100;
        zmq_setsockopt(b->ops.sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(b->ops.sock, ZMQ_SNDHWM, &small, sizeof small);
        zmq_setsockopt(b->ops.sock, ZMQ_RCVHWM, &small, sizeof small);
        int64_t small_msg = 65536;
        zmq_setsockopt(b->ops.sock, ZMQ_MAXMSGSIZE, &small_msg, sizeof small_msg);
        if (zmq_bind(b->ops.sock, b->cfg.bind_ops) != 0)
            return hv_fail(e, HV_EIO, "cannot bind the operators' endpoint %s: %s",
                           b->cfg.bind_ops, zmq_strerror(errno));
    }
    hv_err err;
    if (b->ops.events != NULL && (err = s_events_bind(b, e)) != HV_OK)
        return err;
    if (b->cfg.http_bind[0] != '\0')
        return hv_http_start(&b->ops.http, b->cfg.http_bind, b->cfg.http_token,
                             &b->cfg.http_limits, e);
    return HV_OK;
}

/* The events socket again, after a cut closed it: every watcher's
 * connection went with it, and each must pass the handshake again. The
 * old listener closes in ZeroMQ's own thread, so a bind that finds the
 * port still taken is tried again on the next passes of the loop. */
static void s_events_rebind(hv_broker *b)
{
    hv_errmsg e = {""};
    char secret[HV_Z85_KEY_LEN + 1];
    if (b->ops.events == NULL) {
        hv_keypair_transport_secret_z85(b->keys, secret);
        hv_err err = s_events_socket(b, secret, &e);
        hv_memzero(secret, sizeof secret);
        if (err != HV_OK) {
            hv_log(HV_LOG_ERROR, "events_rebind_failed", "detail=\"%s\"", e.text);
            if (b->ops.events != NULL)
                zmq_close(b->ops.events);
            b->ops.events = NULL;
            return;
        }
    }
    if (s_events_bind(b, &e) != HV_OK) {
        zmq_close(b->ops.events); /* a fresh socket on the next pass */
        b->ops.events = NULL;
        return;
    }
    b->ops.events_rebind = false;
    hv_log(HV_LOG_INFO, "events_rebound", "endpoint=%s", b->cfg.bind_events);
}

void hv_broker_ops_recheck(hv_broker *b, const hv_trust_self *self, uint64_t now)
{
    hv_broker_ops *o = &b->ops;
    char why[HV_TRUST_WHY_MAX];
    for (size_t i = 0; i < o->n_conns; i++) {
        if (hv_trust_admit(b->reg, self, HV_DOOR_OPS, o->conns[i].node, o->conns[i].key, now,
                           NULL, why) == HV_OK)
            continue;
        hv_broker_trust_note_cut(b, o->conns[i].node, "operators", why);
        o->conns[i--] = o->conns[--o->n_conns];
        o->next_conn = 0;
    }
    bool cut = o->watchers_lost;
    for (size_t i = 0; i < o->n_watchers; i++)
        if (hv_trust_admit(b->reg, self, HV_DOOR_OPS, o->watchers[i].node, o->watchers[i].key,
                           now, NULL, why) != HV_OK) {
            hv_broker_trust_note_cut(b, o->watchers[i].node, "events", why);
            cut = true;
        }
    if (!cut || o->events == NULL)
        return;
    /* A PUB cannot drop one subscriber: close them all; the admitted ones
     * reconnect by themselves and pass the handshake again. */
    zmq_close(o->events);
    o->events = NULL;
    o->n_watchers = 0;
    o->watchers_lost = false;
    o->events_rebind = true;
    hv_log(HV_LOG_INFO, "events_closed", "reason=\"a watcher was cut\"");
    s_events_rebind(b);
}

void hv_broker_ops_close(hv_broker *b)
{
    if (b->ops.sock != NULL)
        zmq_close(b->ops.sock);
    b->ops.sock = NULL;
    if (b->ops.events != NULL)
        zmq_close(b->ops.events);
    b->ops.events = NULL;
    hv_http_stop(&b->ops.http);
}
