/* The broker's sessions: one job, the life of a client's connection. It
 * owns the session table of struct hv_broker (creating, finding and
 * dropping sessions), sends control messages and refusals, reads the
 * ROUTER sockets frame by frame, answers HELLO, and keeps each session's
 * timers: heartbeats, silence and leases. A SEND, ACK or NACK it hands to
 * custody (hv_broker_custody.h); our links to peers are sessions whose
 * frames and timers hv_broker_links.c handles. */
#include "hv_broker_internal.h"
#include "hv_broker_witness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_lograte.h"

/* --------------------------------------------------------------- sending */

/* One frame to a routing id (none: our own link's DEALER). */
static hv_err s_send_bytes(void *sock, const uint8_t *rid, size_t rid_len, const uint8_t *buf,
                           size_t len)
{
    if ((rid_len > 0 && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
        zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN ? HV_ERATE : HV_EUNROUTABLE;
    return HV_OK;
}

hv_err hv_session_send_to(void *sock, const uint8_t *rid, size_t rid_len, const hv_control *m)
{
    uint8_t *buf;
    size_t len;
    hv_err err = hv_control_encode(m, &buf, &len);
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "encode_failed", "cmd=%s", hv_cmd_name(m->cmd));
        return err;
    }
    /* A session without a routing id is our own link to a peer (DEALER). */
    err = s_send_bytes(sock, rid, rid_len, buf, len);
    free(buf);
    return err;
}

hv_err hv_session_flush(hv_session *s)
{
    if (hv_control_batch_empty(&s->out))
        return HV_OK;
    if (s->sock == NULL) { /* our link, between connections: sent again once READY */
        hv_control_batch_clear(&s->out);
        return HV_EUNROUTABLE;
    }
    const uint8_t *frame;
    size_t len;
    hv_control_batch_frame(&s->out, &frame, &len);
    hv_err err = s_send_bytes(s->sock, s->rid, s->rid_len, frame, len);
    if (err != HV_ERATE)
        hv_control_batch_clear(&s->out);
    if (err == HV_OK)
        s->last_send = hv_mono_ms();
    return err;
}

bool hv_session_flush_all(hv_broker *b)
{
    bool left = false;
    for (size_t i = 0; i < b->n_sessions; i++)
        if (hv_session_flush(&b->sessions[i]) == HV_ERATE)
            left = true;
    return left;
}

hv_err hv_session_send(hv_session *s, const hv_control *m)
{
    hv_err err;
    if (s->batch && hv_control_batchable(m->cmd)) {
        err = hv_control_batch_add(&s->out, m, s->batch_max);
        if (err == HV_ETOOBIG && !hv_control_batch_empty(&s->out) &&
            (err = hv_session_flush(s)) == HV_OK)
            err = hv_control_batch_add(&s->out, m, s->batch_max);
        if (err != HV_ETOOBIG)
            return err; /* added, or the socket is full, or the peer gone */
        /* Too large for any batch: alone, after what is batched. */
    }
    if ((err = hv_session_flush(s)) != HV_OK && err != HV_EUNROUTABLE)
        return err;
    err = hv_session_send_to(s->sock, s->rid, s->rid_len, m);
    if (err == HV_OK)
        s->last_send = hv_mono_ms();
    return err;
}

void hv_session_refuse(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len, hv_err code,
                       const uint8_t *id, const char *text)
{
    hv_control m;
    memset(&m, 0, sizeof m);
    m.cmd = HV_CMD_ERROR;
    m.code = (uint16_t)code;
    if (id != NULL) {
        memcpy(m.msg_id, id, 16);
        m.has_msg_id = true;
    }
    snprintf(m.text, sizeof m.text, "%s", text);
    (void)hv_session_send_to(sock, rid, rid_len, &m);
    b->n_refused++;
    hv_broker_event(b, "refused", 0, NULL, NULL, 0, -1, code);
}

/* ----------------------------------------------------------------- table */

hv_session *hv_session_find_rid(hv_broker *b, void *sock, const uint8_t *rid, size_t len)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].sock == sock && b->sessions[i].rid_len == len &&
            memcmp(b->sessions[i].rid, rid, len) == 0)
            return &b->sessions[i];
    return NULL;
}

hv_session *hv_session_find_node(hv_broker *b, const char *node)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].ready && !b->sessions[i].outgoing &&
            strcmp(b->sessions[i].node, node) == 0)
            return &b->sessions[i];
    return NULL;
}

hv_session *hv_session_find_queue(hv_broker *b, const char *key)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].ready && strcmp(b->sessions[i].queue, key) == 0)
            return &b->sessions[i];
    return NULL;
}

void hv_session_drop(hv_broker *b, hv_session *s, const char *why)
{
    if (s->ready)
        hv_log(HV_LOG_INFO, "session_closed", "node=%s reason=\"%s\" in_flight=%zu", s->node,
               why, s->n_flight);
    if (s->ready && !s->peer && !s->outgoing)
        hv_broker_dash_seen(b, s->node, hv_now_ms()); /* "last seen" on the dashboard */
    hv_broker_custody_attempted(b, s);
    (void)hv_session_flush(s); /* what it was owed still goes, in order */
    hv_control_batch_free(&s->out);
    free(s->flight);
    size_t index = (size_t)(s - b->sessions);
    b->sessions[index] = b->sessions[--b->n_sessions];
}

hv_session *hv_session_new(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len,
                           const char *node)
{
    if (b->n_sessions == b->cap_sessions) {
        size_t cap = b->cap_sessions ? b->cap_sessions * 2 : 16;
        hv_session *grown = realloc(b->sessions, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        b->sessions = grown;
        b->cap_sessions = cap;
    }
    hv_session *s = &b->sessions[b->n_sessions++];
    memset(s, 0, sizeof *s);
    s->sock = sock;
    s->peer = sock != NULL && sock == b->links.router;
    if (rid_len > 0)
        memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    snprintf(s->node, sizeof s->node, "%s", node);
    snprintf(s->queue, sizeof s->queue, "%s", node);
    s->last_recv = s->last_send = s->tokens_at = hv_mono_ms();
    s->tokens = (double)b->cfg.rate_burst;
    s->backoff_ms = 100;
    return s;
}

bool hv_session_rate_ok(hv_broker *b, hv_session *s, int64_t now)
{
    s->tokens += (double)(now - s->tokens_at) * (double)b->cfg.rate_per_second / 1000.0;
    s->tokens_at = now;
    if (s->tokens > (double)b->cfg.rate_burst)
        s->tokens = (double)b->cfg.rate_burst;
    if (s->tokens < 1.0)
        return false;
    s->tokens -= 1.0;
    return true;
}

/* ---------------------------------------------------------------- frames */

static void s_on_hello(hv_broker *b, hv_session *s, const hv_control *m)
{
    const hv_node *node = hv_registry_find(b->reg, s->node);
    /* Workers on the workers' socket; on the peers' socket, only brokers
     * this one is configured to peer with (ZAP checked the key already). */
    bool role_ok = node != NULL && (s->peer ? node->role == HV_ROLE_BROKER &&
                                                  hv_broker_links_is_peer(b, node->id)
                                            : node->role != HV_ROLE_BROKER);
    if (strcmp(m->node_id, s->node) != 0 || node == NULL ||
        !hv_node_active(node, (uint64_t)time(NULL)) || !role_ok) {
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_EAUTH, NULL,
                          "HELLO names another node, or this node is not active");
        hv_session_drop(b, s, "bad HELLO");
        return;
    }
    /* A node has one session: a reconnecting worker replaces its old one. */
    hv_session *old = hv_session_find_node(b, s->node);
    if (old != NULL && old != s) {
        size_t mine = (size_t)(s - b->sessions);
        bool moved = mine == b->n_sessions - 1;
        hv_session_drop(b, old, "replaced by a new connection");
        if (moved) /* hv_session_drop moved the last session into the freed slot */
            s = old;
    }
    /* Replay is for workers: a peer broker's link has no such history. */
    if (m->replay_since != 0 &&
        (s->peer || !hv_broker_custody_replay(b, s, m->replay_since))) {
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, s->peer ? HV_EPROTO : HV_ESTORE, NULL,
                          s->peer ? "a broker may not ask for replay"
                                  : "replay failed; say HELLO again");
        hv_session_drop(b, s, "replay refused");
        return;
    }
    /* A HELLO again on the same connection starts delivery afresh. */
    if (s->ready) {
        hv_broker_custody_attempted(b, s);
        s->n_flight = 0;
    }
    s->ready = true;
    s->up_since = hv_now_ms();
    s->role = node->role;
    s->window = m->credit > 0 ? m->credit : 1;
    s->maybe_more = true;
    s->cursor = 0;
    hv_control r;
    memset(&r, 0, sizeof r);
    r.cmd = HV_CMD_READY;
    snprintf(r.node_id, sizeof r.node_id, "%s", b->cfg.id);
    r.heartbeat_ms = (uint32_t)b->cfg.heartbeat_ms;
    r.max_message = (uint32_t)b->cfg.max_message;
    /* Features only to a HELLO that asked: an older client reads READY
     * of five elements and nothing else (PROTOCOL.md §10). A worker takes
     * frames up to HV_CONTROL_MAX; a peer's link asks only when its own
     * limit holds a whole BATCH (hv_broker_links.c). */
    (void)hv_session_flush(s); /* a HELLO again: what the old one was owed first */
    r.has_features = m->has_features;
    r.features = m->features & HV_FEATURE_BATCH;
    s->batch = (r.features & HV_FEATURE_BATCH) != 0;
    s->batch_max = HV_CONTROL_BATCH_BYTES;
    (void)hv_session_send(s, &r);
    if (!s->peer)
        hv_broker_prekeys_welcome(b, s);
    hv_log(HV_LOG_INFO, s->peer ? "peer_up" : "session_ready", "node=%s role=%s window=%u%s",
           s->node, hv_role_name(s->role), s->window, s->peer ? " direction=in" : "");
    hv_broker_custody_notices(b, s->node);
}

/* Garbage from a peer closes that peer's session (`s` may be NULL). */
static void s_garbage(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len, hv_session *s,
                      const char *user, hv_err err, size_t bytes)
{
    if (hv_lograte_pass("garbage", user))
        hv_log(HV_LOG_WARN, "garbage", "node=%s reason=%s bytes=%zu", user, hv_errname(err),
               bytes);
    hv_session_refuse(b, sock, rid, rid_len, err, NULL, "undecodable frame; closing the session");
    hv_control bye = {.cmd = HV_CMD_BYE};
    (void)hv_session_send_to(sock, rid, rid_len, &bye);
    if (s != NULL)
        hv_session_drop(b, s, "garbage");
}

static void s_dispatch(hv_broker *b, hv_session *s, const hv_control *m, int64_t now);

/* A BATCH from a ready session: each command in turn, as if each had come
 * alone (PROTOCOL.md §5.7). One that does not decode, or may not be
 * batched, is garbage: what came before it stands, the session closes. */
static void s_on_batch(hv_broker *b, hv_session *s, const char *user, const hv_control *m,
                       int64_t now)
{
    hv_control_parts it;
    const uint8_t *part;
    size_t len;
    hv_control_parts_init(&it, m);
    while (hv_control_parts_next(&it, &part, &len)) {
        hv_control one;
        hv_err err = hv_control_decode(part, len, &one);
        if (err == HV_OK && !hv_control_batchable(one.cmd))
            err = HV_EDECODE;
        if (err != HV_OK) {
            s_garbage(b, s->sock, s->rid, s->rid_len, s, user, err, len);
            return;
        }
        /* A batch may hold more SENDs than the group has room for: the
         * group commits first, as a full drain would have it do. */
        if (one.cmd == HV_CMD_SEND && !hv_broker_custody_has_room(b))
            hv_broker_custody_commit_and_reply(b, true);
        s_dispatch(b, s, &one, now);
    }
}

/* Handles one frame from a routing id. */
static void s_on_frame(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len,
                       zmq_msg_t *body, bool extra_frames, int64_t now)
{
    const char *user = zmq_msg_gets(body, "User-Id");
    uint8_t key[32];
    if (user == NULL || !hv_node_id_valid_cstr(user) ||
        hv_trust_key_parse(zmq_msg_gets(body, HV_ZAP_KEY_PROPERTY), key) != HV_OK)
        return; /* cannot happen with ZAP enforced; never serve an unnamed peer */
    hv_session *s = hv_session_find_rid(b, sock, rid, rid_len);
    if (s != NULL && (!s->has_key || memcmp(s->key, key, 32) != 0)) {
        /* Cannot happen (a routing id is one connection); never serve a
         * key under another key's session. */
        hv_session_drop(b, s, "key changed under its routing id");
        s = NULL;
    }
    hv_control m;
    hv_err err = extra_frames ? HV_EDECODE
                              : hv_control_decode(zmq_msg_data(body), zmq_msg_size(body), &m);
    if (err != HV_OK) {
        s_garbage(b, sock, rid, rid_len, s, user, err, zmq_msg_size(body));
        return;
    }
    if (s == NULL) {
        /* No session: a new connection, or one that was cut. Its key is
         * judged by the registry now, whatever the frame. */
        hv_trust_self self;
        char why[HV_TRUST_WHY_MAX];
        hv_broker_trust_self(b, &self);
        hv_door door = sock == b->links.router ? HV_DOOR_PEERS : HV_DOOR_WORKERS;
        if (hv_trust_admit(b->reg, &self, door, user, key, (uint64_t)time(NULL), NULL, why) !=
            HV_OK) {
            /* A cut client's heartbeats and BYE are dropped unanswered: one
             * ERROR per heartbeat would only fill both sides' logs. */
            if (m.cmd == HV_CMD_HEARTBEAT || m.cmd == HV_CMD_BYE)
                return;
            char text[HV_TRUST_WHY_MAX + 16];
            snprintf(text, sizeof text, "not admitted: %s", why);
            if (hv_lograte_pass("session_refused", user))
                hv_log(HV_LOG_WARN, "session_refused", "node=%s cmd=%s reason=\"%s\"", user,
                       hv_cmd_name(m.cmd), why);
            hv_session_refuse(b, sock, rid, rid_len, HV_EAUTH, NULL, text);
            return;
        }
        if (m.cmd != HV_CMD_HELLO) {
            hv_session_refuse(b, sock, rid, rid_len, HV_EPROTO, NULL, "send HELLO first");
            return;
        }
        if ((s = hv_session_new(b, sock, rid, rid_len, user)) == NULL)
            return;
        memcpy(s->key, key, 32);
        s->has_key = true;
    }
    s->last_recv = now;
    if (!s->ready && m.cmd != HV_CMD_HELLO) {
        hv_session_refuse(b, sock, rid, rid_len, HV_EPROTO, NULL, "send HELLO first");
        return;
    }
    if (m.cmd == HV_CMD_BATCH) {
        s_on_batch(b, s, user, &m, now);
        return;
    }
    s_dispatch(b, s, &m, now);
}

/* One command from a session, alone or out of a BATCH. `s` may be dropped
 * (HELLO, BYE): the caller uses it no more. */
static void s_dispatch(hv_broker *b, hv_session *s, const hv_control *m, int64_t now)
{
    void *sock = s->sock;
    const uint8_t *rid = s->rid;
    size_t rid_len = s->rid_len;
    switch (m->cmd) {
    case HV_CMD_HELLO:
        s_on_hello(b, s, m);
        break;
    case HV_CMD_SEND:
        hv_broker_custody_on_send(b, s, m, now);
        break;
    case HV_CMD_ACK:
        hv_broker_custody_on_ack(b, s, m, false);
        break;
    case HV_CMD_NACK:
        hv_broker_custody_on_ack(b, s, m, true);
        break;
    case HV_CMD_CREDIT:
        s->window = s->window + m->credit > HV_CREDIT_MAX ? HV_CREDIT_MAX : s->window + m->credit;
        break;
    case HV_CMD_HEARTBEAT:
        break;
    case HV_CMD_BYE:
        hv_session_drop(b, s, "client said BYE");
        break;
    case HV_CMD_PREKEY_PUT:
        hv_broker_prekeys_on_put(b, s, m);
        break;
    case HV_CMD_PREKEY_GET:
        hv_broker_prekeys_on_get(b, s, m);
        break;
    case HV_CMD_HEALTH:
        if (s->peer) {
            hv_broker_health_on(b, s, m);
            break;
        }
        hv_session_refuse(b, sock, rid, rid_len, HV_EPROTO, NULL,
                          "a client may not send this command");
        break;
    case HV_CMD_AUDIT_HEAD:
        hv_broker_witness_on_head(b, s, m);
        break;
    case HV_CMD_AUDIT_HEAD_GET:
        hv_broker_witness_on_get(b, s);
        break;
    case HV_CMD_NOTICE:
        if (s->peer) {
            hv_broker_notice_on(b, s, m);
            break;
        }
        hv_session_refuse(b, sock, rid, rid_len, HV_EPROTO, NULL,
                          "a client may not send this command");
        break;
    case HV_CMD_EXPIRED:
    case HV_CMD_ERROR:
        if (s->peer && (m->cmd == HV_CMD_EXPIRED || m->has_msg_id)) {
            hv_broker_custody_peer_notice(b, s, m);
            break;
        }
        hv_session_refuse(b, sock, rid, rid_len, HV_EPROTO, NULL,
                          "a client may not send this command");
        break;
    default:
        hv_session_refuse(b, sock, rid, rid_len, HV_EPROTO, NULL,
                          "a client may not send this command");
        break;
    }
}

size_t hv_session_drain(hv_broker *b, void *sock, int64_t now)
{
    size_t n = 0;
    while (n < b->cfg.batch && hv_broker_custody_has_room(b)) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            break;
        }
        zmq_msg_init(&body);
        if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, sock, 0) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            continue;
        }
        /* Haven frames are single-part: read and refuse anything more. */
        bool extra = false;
        int more = zmq_msg_more(&body);
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            more = zmq_msg_recv(&part, sock, 0) >= 0 && zmq_msg_more(&part);
            zmq_msg_close(&part);
            extra = true;
        }
        if (zmq_msg_size(&rid) <= HV_RID_MAX)
            s_on_frame(b, sock, zmq_msg_data(&rid), zmq_msg_size(&rid), &body, extra, now);
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------- timers */

void hv_session_timers(hv_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->n_sessions; i++) {
        hv_session *s = &b->sessions[i];
        if (s->outgoing) {
            hv_broker_links_timers(b, s, now);
            continue;
        }
        /* A broker that has not read all its input cannot tell a silent
         * peer from one whose frames wait in the socket: liveness and
         * leases are judged only once it has caught up. */
        if (!b->behind && now - s->last_recv > (int64_t)b->cfg.dead_after_ms) {
            hv_session_drop(b, s, "heartbeats stopped");
            i--;
            continue;
        }
        if (!s->ready)
            continue;
        if (!b->behind && s->n_flight > 0 &&
            now - s->flight[0].sent_ms > (int64_t)b->cfg.lease_ms)
            hv_broker_custody_restart(b, s, now);
        if (now - s->last_send >= (int64_t)b->cfg.heartbeat_ms) {
            hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
            if (hv_session_send(s, &hb) == HV_EUNROUTABLE) {
                hv_session_drop(b, s, "peer unreachable");
                i--;
            }
        }
    }
}
