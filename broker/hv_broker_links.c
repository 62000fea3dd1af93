/* The broker's links to peer brokers (../shared/DESIGN.md §4,
 * Federation): one job, keeping a link up to each broker of [federation]
 * peers. It owns hv_broker_links (the peers' list and their ROUTER socket)
 * and the DEALER socket of each outgoing link's session.
 *
 * A link is a client session of the ordinary protocol: HELLO, READY, then
 * the delivery window carries SENDs whose STORED comes back after the
 * peer's own commit. What those answers mean for the envelopes is
 * custody's (hv_broker_custody_forwarded, hv_broker_custody_refused); this
 * module connects, reads, times and takes links down. */
#include "hv_broker_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_lograte.h"

/* ---------------------------------------------------------------- config */

bool hv_broker_links_is_peer(const hv_broker *b, const char *id)
{
    for (size_t i = 0; i < b->links.n; i++)
        if (strcmp(b->links.ids[i], id) == 0)
            return true;
    return false;
}

hv_err hv_broker_links_parse(hv_broker *b, const hv_node *self, hv_errmsg *e)
{
    hv_broker_links *l = &b->links;
    const char *p = b->cfg.peers;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        if (l->n == HV_PEERS_MAX)
            return hv_fail(e, HV_ECONFIG, "[federation] peers: more than %d brokers",
                           HV_PEERS_MAX);
        char id[HV_NODE_ID_MAX + 1];
        snprintf(id, sizeof id, "%.*s", (int)len, p);
        p += len;
        const hv_node *peer = hv_registry_find(b->reg, id);
        if (peer == NULL || peer->role != HV_ROLE_BROKER || strcmp(id, b->cfg.id) == 0)
            return hv_fail(e, HV_ECONFIG, "[federation] peers: '%s' is not another broker of "
                           "the registry", id);
        if (peer->endpoint_peers[0] == '\0')
            return hv_fail(e, HV_ECONFIG, "[federation] peers: broker '%s' has no peers "
                           "endpoint in the registry", id);
        if (!hv_broker_links_is_peer(b, id))
            snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", id);
    }
    if (l->n > 0 && b->cfg.bind_peers[0] == '\0') {
        if (self->endpoint_peers[0] == '\0')
            return hv_fail(e, HV_ECONFIG, "[federation]: %s has no peers endpoint in the "
                           "registry and no bind is set", b->cfg.id);
        snprintf(b->cfg.bind_peers, sizeof b->cfg.bind_peers, "%s", self->endpoint_peers);
    }
    return HV_OK;
}

/* ------------------------------------------------------------ one link */

/* (Re)connects our link to the peer broker `s->node`: a DEALER that is a
 * CurveZMQ client pinned to the peer's registered transport key, so that
 * nobody else can pose as that broker; then HELLO. What was in flight
 * stays queued here and is sent again once the peer is READY. */
static void s_link_connect(hv_broker *b, hv_session *s, int64_t now)
{
    if (s->sock != NULL)
        zmq_close(s->sock);
    s->sock = NULL;
    hv_broker_custody_attempted(b, s);
    hv_control_batch_free(&s->out); /* SENDs not sent: sent again once READY */
    s->batch = false;
    s->ready = false;
    s->n_flight = 0;
    s->cursor = 0;
    s->hello_at = now;
    s->last_recv = now;
    const hv_node *peer = hv_registry_find(b->reg, s->node);
    if (peer == NULL || !hv_node_active(peer, (uint64_t)time(NULL)) ||
        peer->endpoint_peers[0] == '\0')
        return; /* tried again after dead_after_ms */
    void *sock = zmq_socket(b->ctx, ZMQ_DEALER);
    if (sock == NULL)
        return;
    char server[HV_Z85_KEY_LEN + 1], public[HV_Z85_KEY_LEN + 1], secret[HV_Z85_KEY_LEN + 1];
    hv_z85_key(peer->keys.transport, server);
    hv_z85_key(hv_keypair_public(b->keys)->transport, public);
    hv_keypair_transport_secret_z85(b->keys, secret);
    int zero = 0, hwm = (int)b->cfg.hwm, ivl = 100;
    int64_t maxmsg = (int64_t)b->cfg.max_message;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, HV_Z85_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, HV_Z85_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, HV_Z85_KEY_LEN);
    hv_memzero(secret, sizeof secret);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_connect(sock, peer->endpoint_peers) != 0) {
        hv_log(HV_LOG_ERROR, "peer_connect_failed", "peer=%s endpoint=%s", s->node,
               peer->endpoint_peers);
        zmq_close(sock);
        return;
    }
    s->sock = sock;
    memcpy(s->key, peer->keys.transport, 32); /* re-checked at every registry change */
    s->has_key = true;
    /* BATCH is asked for only when this broker takes a whole one: the
     * peer's STOREDs come back in BATCHes of up to HV_CONTROL_BATCH_BYTES. */
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 1,
                        .heartbeat_ms = (uint32_t)b->cfg.heartbeat_ms,
                        .has_features = !s->old_peer &&
                                        b->cfg.max_message >= HV_CONTROL_BATCH_BYTES,
                        .features = HV_FEATURE_BATCH};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", b->cfg.id);
    (void)hv_session_send(s, &hello); /* waits in the socket until the link is up */
}

void hv_broker_links_down(hv_broker *b, hv_session *s, int64_t now, const char *why)
{
    if (s->ready) {
        hv_log(HV_LOG_WARN, "peer_down", "node=%s direction=out reason=\"%s\" in_flight=%zu",
               s->node, why, s->n_flight);
        const hv_node *peer = hv_registry_find(b->reg, s->node);
        hv_broker_event(b, "peer_down", 0, NULL, peer ? peer->country : "", 0, -1, 0);
    }
    s_link_connect(b, s, now);
}

/* The peer took custody of `id`: only now is it ours to forget. */
static void s_link_stored(hv_broker *b, hv_session *s, const uint8_t id[16])
{
    size_t i = 0;
    while (i < s->n_flight && memcmp(s->flight[i].id, id, 16) != 0)
        i++;
    const hv_node *peer = hv_registry_find(b->reg, s->node);
    if (i < s->n_flight)
        hv_broker_event(b, "forwarded", 0, NULL, peer ? peer->country : "", 0,
                        hv_mono_ms() - s->flight[i].sent_ms, 0);
    if (i < s->n_flight) {
        memmove(&s->flight[i], &s->flight[i + 1], (s->n_flight - i - 1) * sizeof *s->flight);
        s->n_flight--;
        s->backoff_ms = 100;
    }
    hv_broker_custody_forwarded(b, s, id);
}

void hv_broker_links_notices(hv_broker *b, const hv_session *s)
{
    for (size_t i = 0; i < hv_registry_count(b->reg); i++) {
        const hv_node *n = hv_registry_node(b->reg, i);
        if (strcmp(n->home, s->node) == 0)
            hv_broker_custody_notices(b, n->id);
    }
}

/* The peer refused an envelope. A passing condition (its store, its rate
 * limit) means sending again later; anything else is final: the envelope
 * becomes a dead letter here and its sender is told. */
static void s_link_refused(hv_broker *b, hv_session *s, const hv_control *m, int64_t now)
{
    if (m->code == HV_ESTORE || m->code == HV_ERATE) {
        hv_broker_custody_restart(b, s, now);
        return;
    }
    size_t i = 0;
    while (i < s->n_flight && memcmp(s->flight[i].id, m->msg_id, 16) != 0)
        i++;
    if (i < s->n_flight) {
        memmove(&s->flight[i], &s->flight[i + 1], (s->n_flight - i - 1) * sizeof *s->flight);
        s->n_flight--;
    }
    hv_broker_custody_refused(b, s, m);
}

/* One command from the peer on our link, alone or out of a BATCH.
 * Returns false when the link went down (and its socket was replaced). */
static bool s_link_on(hv_broker *b, hv_session *s, const hv_control *m, int64_t now)
{
    switch (m->cmd) {
    case HV_CMD_READY:
        s->ready = true;
        s->up_since = hv_now_ms();
        s->window = (uint32_t)b->cfg.peer_window;
        s->maybe_more = true;
        s->cursor = 0;
        s->n_flight = 0;
        /* A peer from before BATCH answers the five-element READY. */
        s->batch = m->has_features && (m->features & HV_FEATURE_BATCH) != 0;
        s->batch_max = m->max_message < HV_CONTROL_BATCH_BYTES ? m->max_message
                                                               : HV_CONTROL_BATCH_BYTES;
        hv_log(HV_LOG_INFO, "peer_up", "node=%s direction=out window=%u batch=%s", s->node,
               s->window, s->batch ? "yes" : "no");
        {
            const hv_node *peer = hv_registry_find(b->reg, s->node);
            hv_broker_event(b, "peer_up", 0, NULL, peer ? peer->country : "", 0, -1, 0);
        }
        hv_broker_links_notices(b, s);
        hv_broker_prekeys_link_up(b, s);
        hv_broker_heads_link_up(b, s);
        break;
    case HV_CMD_AUDIT_WITNESSED:
        hv_broker_heads_on_witnessed(b, s, m);
        break;
    case HV_CMD_PREKEY_REFUSED:
        hv_log(HV_LOG_WARN, "peer_refused_prekey", "node=%s code=%s text=\"%s\"", s->node,
               hv_errname(m->code), m->text);
        break;
    case HV_CMD_STORED:
        s_link_stored(b, s, m->msg_id);
        break;
    case HV_CMD_ERROR:
        if (m->has_msg_id) {
            s_link_refused(b, s, m, now);
        } else if (!s->ready && !s->old_peer && m->code == HV_EDECODE) {
            /* A broker from before BATCH cannot read HELLO's features: it
             * answers ERROR(HV_EDECODE) and BYE, and the link comes back
             * with the old HELLO (PROTOCOL.md §10). */
            hv_log(HV_LOG_INFO, "peer_old_protocol", "node=%s detail=\"no BATCH on this link\"",
                   s->node);
            s->old_peer = true;
        } else {
            /* The peer does not (or no longer) accept this link. */
            hv_log(HV_LOG_WARN, "peer_refused_link", "node=%s code=%s text=\"%s\"",
                   s->node, hv_errname(m->code), m->text);
            s->ready = false;
        }
        break;
    case HV_CMD_BYE:
        hv_broker_links_down(b, s, now, "peer said BYE");
        return false;
    default:
        break; /* HEARTBEAT; a peer never DELIVERs on this link */
    }
    return true;
}

/* Garbage from the peer takes the link down. */
static void s_link_garbage(hv_broker *b, hv_session *s, hv_err err, int64_t now)
{
    if (hv_lograte_pass("garbage", s->node))
        hv_log(HV_LOG_WARN, "garbage", "peer=%s reason=%s", s->node, hv_errname(err));
    hv_broker_links_down(b, s, now, "undecodable frame");
}

/* Reads what the peer sent on our link. */
static void s_link_drain(hv_broker *b, hv_session *s, int64_t now)
{
    for (size_t n = 0; s->sock != NULL && n < b->cfg.batch; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        hv_control m;
        hv_err err = zmq_msg_more(&msg) ? HV_EDECODE
                                         : hv_control_decode(zmq_msg_data(&msg),
                                                             zmq_msg_size(&msg), &m);
        /* m points into msg (an AUDIT_WITNESSED's head): closed once it is handled. */
        if (err != HV_OK) {
            zmq_msg_close(&msg);
            s_link_garbage(b, s, err, now);
            return;
        }
        s->last_recv = now;
        bool up = true;
        if (m.cmd != HV_CMD_BATCH) {
            up = s_link_on(b, s, &m, now);
        } else {
            /* Each command in turn, as if alone (PROTOCOL.md §5.7). */
            hv_control_parts it;
            const uint8_t *part;
            size_t len;
            hv_control_parts_init(&it, &m);
            while (up && hv_control_parts_next(&it, &part, &len)) {
                hv_control one;
                err = hv_control_decode(part, len, &one);
                if (err == HV_OK && !hv_control_batchable(one.cmd))
                    err = HV_EDECODE;
                if (err != HV_OK) {
                    s_link_garbage(b, s, err, now);
                    up = false;
                    break;
                }
                up = s_link_on(b, s, &one, now);
            }
        }
        zmq_msg_close(&msg);
        if (!up)
            return;
    }
}

void hv_broker_links_drain(hv_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].outgoing)
            s_link_drain(b, &b->sessions[i], now);
}

void hv_broker_links_timers(hv_broker *b, hv_session *s, int64_t now)
{
    if (!s->ready) {
        if (now - s->hello_at > (int64_t)b->cfg.dead_after_ms)
            s_link_connect(b, s, now); /* no READY: try afresh */
        return;
    }
    if (!b->behind && now - s->last_recv > (int64_t)b->cfg.dead_after_ms) {
        hv_broker_links_down(b, s, now, "heartbeats stopped");
        return;
    }
    if (!b->behind && s->n_flight > 0 && now - s->flight[0].sent_ms > (int64_t)b->cfg.lease_ms)
        hv_broker_custody_restart(b, s, now);
    if (now - s->last_send >= (int64_t)b->cfg.heartbeat_ms) {
        hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
        (void)hv_session_send(s, &hb);
    }
}

/* ------------------------------------------------------------ lifecycle */

hv_err hv_broker_links_socket(hv_broker *b, const char *secret_z85, hv_errmsg *e)
{
    if (b->links.n == 0)
        return HV_OK;
    b->links.router = zmq_socket(b->ctx, ZMQ_ROUTER);
    return hv_zap_secure(b->links.router, secret_z85, HV_ZAP_DOMAIN_PEERS, e);
}

/* Creates the links to every configured peer. */
static void s_links_open(hv_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->links.n; i++) {
        hv_session *s = hv_session_new(b, NULL, NULL, 0, b->links.ids[i]);
        if (s == NULL)
            continue;
        s->outgoing = true;
        snprintf(s->queue, sizeof s->queue, "@%s", b->links.ids[i]);
        s_link_connect(b, s, now);
    }
}

hv_err hv_broker_links_bind(hv_broker *b, hv_errmsg *e)
{
    void *r = b->links.router;
    if (r == NULL)
        return HV_OK;
    int one = 1, zero = 0, hwm = (int)b->cfg.hwm;
    int64_t maxmsg = (int64_t)b->cfg.max_message;
    zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(r, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(r, b->cfg.bind_peers) != 0)
        return hv_fail(e, HV_EIO, "cannot bind the peers' endpoint %s: %s", b->cfg.bind_peers,
                       zmq_strerror(errno));
    s_links_open(b, hv_mono_ms());
    return HV_OK;
}

void hv_broker_links_close(hv_broker *b)
{
    if (b->links.router != NULL)
        zmq_close(b->links.router);
    b->links.router = NULL;
}
