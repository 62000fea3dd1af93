/* The broker's delivery: one job, handing envelopes out of custody
 * (../shared/DESIGN.md §4). It writes the custody state of
 * hv_broker_custody.h (the store, the notices owed, the counters) and each
 * session's window of deliveries in flight.
 *
 * A DELIVER stays in flight until the recipient's ACK, which it sends
 * after its own commit; an unacknowledged delivery is redelivered when its
 * lease runs out or the recipient's heartbeats stop. Memory holds at most
 * one window of deliveries per connected node: the backlog waits on disk.
 * On a link to a peer broker the same window carries SENDs, and the peer's
 * STORED is what lets this broker forget an envelope. */
#include "hv_broker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_lograte.h"

#define S_NOTICES_PER_HELLO 1000

/* ------------------------------------------------------------- attempts */

void hv_broker_custody_attempted(hv_broker *b, const hv_session *s)
{
    hv_store *store = b->custody.store;
    hv_err err = s->n_flight > 0 && hv_broker_store_ok(b) ? hv_store_begin(store) : HV_OK;
    for (size_t i = 0; err == HV_OK && hv_broker_store_ok(b) && i < s->n_flight; i++)
        err = hv_store_attempted(store, s->flight[i].id);
    if (err != HV_OK)
        hv_broker_store_failed(b, "op=attempted node=%s", s->node);
}

void hv_broker_custody_restart(hv_broker *b, hv_session *s, int64_t now)
{
    hv_broker_custody_attempted(b, s);
    b->custody.count.redelivered += s->n_flight;
    hv_log(HV_LOG_WARN, "lease_expired", "node=%s in_flight=%zu retry_in_ms=%lld", s->node,
           s->n_flight, (long long)s->backoff_ms);
    s->n_flight = 0;
    s->cursor = 0;
    s->maybe_more = true;
    s->paused_until = now + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > (int64_t)b->cfg.retry_max_ms ? (int64_t)b->cfg.retry_max_ms
                                                                       : s->backoff_ms * 2;
}

/* ------------------------------------------------------------- delivery */

typedef struct s_deliver_ctx {
    hv_broker *b;     /* broker */
    hv_session *s;    /* recipient's session */
    bool blocked;     /* the socket refused more */
    bool gone;        /* the peer disappeared */
    size_t sent;      /* deliveries made */
} s_deliver_ctx;

static bool s_deliver_one(void *arg, int64_t seq, const uint8_t id[16], const uint8_t *env,
                          size_t len, unsigned attempts)
{
    s_deliver_ctx *d = arg;
    hv_session *s = d->s;
    hv_control m;
    memset(&m, 0, sizeof m);
    /* To a peer broker we are a client: it takes custody with SEND/STORED. */
    m.cmd = s->outgoing ? HV_CMD_SEND : HV_CMD_DELIVER;
    m.attempt = s->outgoing ? 0 : attempts + 1;
    m.envelope = env;
    m.envelope_len = len;
    hv_err err = hv_session_send(s, &m);
    if (err != HV_OK) {
        d->blocked = err == HV_ERATE;
        d->gone = err == HV_EUNROUTABLE;
        return false;
    }
    if (s->n_flight == s->cap_flight) {
        size_t cap = s->cap_flight ? s->cap_flight * 2 : 16;
        hv_flight *grown = realloc(s->flight, cap * sizeof *grown);
        if (grown == NULL)
            return false; /* delivered but untracked: the lease check resends it */
        s->flight = grown;
        s->cap_flight = cap;
    }
    hv_flight *f = &s->flight[s->n_flight++];
    f->seq = seq;
    memcpy(f->id, id, 16);
    f->sent_ms = hv_mono_ms();
    s->cursor = seq;
    d->sent++;
    d->b->custody.count.delivered++;
    hv_broker_event_envelope(d->b, s->outgoing ? "forwarding"
                                               : (attempts > 0 ? "redelivered" : "delivered"),
                             env, len);
    return true;
}

void hv_broker_custody_deliver(hv_broker *b, int64_t now)
{
    if (!hv_broker_store_ok(b))
        return; /* nothing is handed out of a store in fault */
    for (size_t i = 0; i < b->n_sessions; i++) {
        hv_session *s = &b->sessions[i];
        if (!s->ready || !s->maybe_more || now < s->paused_until || s->n_flight >= s->window)
            continue;
        size_t room = s->window - s->n_flight;
        s_deliver_ctx d = {.b = b, .s = s};
        if (hv_store_next(b->custody.store, s->queue, s->cursor, room, s_deliver_one, &d) !=
            HV_OK) {
            hv_broker_store_failed(b, "op=next node=%s", s->node);
            continue;
        }
        if (d.gone && !s->outgoing) {
            hv_session_drop(b, s, "peer unreachable");
            i--;
            continue;
        }
        /* Fewer rows than asked and no refusal: this node's queue is empty. */
        if (!d.blocked && d.sent < room)
            s->maybe_more = false;
    }
}

/* -------------------------------------------------------------- notices */

static bool s_notice_one(void *arg, const uint8_t id[16], unsigned code, const char *reason)
{
    s_deliver_ctx *d = arg;
    /* Over a link, the notice proves whose message it is about, so that
     * the sender's home broker routes it whatever it has pruned
     * (hv_broker_notice.h); a purged dead letter gets the plain one. */
    if (d->s->outgoing) {
        hv_err err = hv_broker_notice_send(d->b, d->s, id, code, reason);
        if (err == HV_OK)
            return true;
        if (err != HV_ENOTFOUND)
            return false;
    }
    hv_control m;
    memset(&m, 0, sizeof m);
    memcpy(m.msg_id, id, 16);
    m.has_msg_id = true;
    /* An expiry abroad says where (hv_broker_notice_on's "at broker.xb:
     * ..."), which EXPIRED cannot: ERROR carries it with the same code. */
    if (code == HV_EEXPIRED && (reason == NULL || strncmp(reason, "at ", 3) != 0)) {
        m.cmd = HV_CMD_EXPIRED;
    } else {
        m.cmd = HV_CMD_ERROR;
        m.code = (uint16_t)code;
        snprintf(m.text, sizeof m.text, "%s", reason ? reason : "");
    }
    return hv_session_send(d->s, &m) == HV_OK;
}

/* A node homed at a peer broker hears through that broker, over our link
 * to it. */
void hv_broker_custody_notices(hv_broker *b, const char *node)
{
    hv_session *s = hv_session_find_node(b, node);
    if (s == NULL) {
        const hv_node *n = hv_registry_find(b->reg, node);
        char key[HV_NODE_ID_MAX + 2];
        if (n == NULL || !hv_broker_links_is_peer(b, n->home))
            return;
        snprintf(key, sizeof key, "@%s", n->home);
        if ((s = hv_session_find_queue(b, key)) == NULL)
            return;
    }
    s_deliver_ctx d = {.b = b, .s = s};
    if (hv_broker_store_ok(b) &&
        hv_store_notices(b->custody.store, node, S_NOTICES_PER_HELLO, s_notice_one, &d) != HV_OK)
        hv_broker_store_failed(b, "op=notices node=%s", node);
}

/* ---------------------------------------------------------- ACK and NACK */

void hv_broker_custody_on_ack(hv_broker *b, hv_session *s, const hv_control *m, bool nack)
{
    hv_broker_custody *c = &b->custody;
    size_t i = 0;
    while (i < s->n_flight && memcmp(s->flight[i].id, m->msg_id, 16) != 0)
        i++;
    const hv_node *me = hv_registry_find(b->reg, s->node);
    if (i < s->n_flight)
        hv_broker_ops_acked(b, nack, nack ? m->code : 0, me ? me->country : "",
                            hv_mono_ms() - s->flight[i].sent_ms);
    if (i < s->n_flight) {
        memmove(&s->flight[i], &s->flight[i + 1], (s->n_flight - i - 1) * sizeof *s->flight);
        s->n_flight--;
        s->backoff_ms = 100;
    }
    bool found = false;
    if (!hv_broker_store_ok(b))
        return; /* still queued: delivered again once the store works */
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK && nack) {
        char reason[HV_CONTROL_TEXT_MAX + HV_NODE_ID_MAX + 16];
        snprintf(reason, sizeof reason, "refused by %s: %s", s->node, m->text);
        char sender[HV_NODE_ID_MAX + 1];
        err = hv_store_bury(c->store, m->msg_id, s->node, m->code, reason, hv_now_ms(), &found,
                            sender);
        if (err == HV_OK && found && c->n_notify < b->cfg.batch)
            memcpy(c->notify[c->n_notify++], sender, sizeof sender);
        if (err == HV_OK && found) {
            char idhex[33];
            hv_hex(m->msg_id, 16, idhex);
            if (hv_lograte_pass("dead_letter", s->node)) /* each one is in the audit log */
                hv_log(HV_LOG_WARN, "dead_letter", "id=%s recipient=%s code=%u", idhex,
                       s->node, m->code);
            hv_broker_custody_audit(b, m->msg_id, "dead_letter", s->node);
        }
    } else if (err == HV_OK) {
        /* A worker's ACK keeps the envelope for the replay window; a peer
         * broker never ACKs deliveries (it answers STORED to our SEND). */
        bool retain = b->cfg.replay_hours > 0 && !s->peer && !s->outgoing;
        err = hv_store_ack(c->store, m->msg_id, s->node, hv_now_ms(), retain, &found);
        if (err == HV_OK && found) {
            c->count.acked++;
            hv_broker_custody_audit(b, m->msg_id, "delivered", s->node);
        }
        /* Otherwise it may be a notice this node acknowledges. */
        if (err == HV_OK && !found)
            err = hv_store_notice_done(c->store, s->node, m->msg_id, &found);
    }
    if (err != HV_OK)
        hv_broker_store_failed(b, "op=%s node=%s", nack ? "nack" : "ack", s->node);
}

/* ------------------------------------------------------- a peer's answer */

void hv_broker_custody_forwarded(hv_broker *b, hv_session *s, const uint8_t id[16])
{
    hv_broker_custody *c = &b->custody;
    bool found = false;
    if (!hv_broker_store_ok(b))
        return; /* forwarded again once the store works; the peer drops it */
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = hv_store_remove(c->store, id, s->queue, &found);
    /* Not a forwarded envelope: a notice the peer took over for its node. */
    if (err == HV_OK && !found)
        err = hv_store_notice_done_id(c->store, id, &found);
    else if (err == HV_OK) {
        c->count.forwarded++;
        hv_broker_custody_audit(b, id, "forwarded", s->node);
    }
    if (err != HV_OK)
        hv_broker_store_failed(b, "op=forwarded peer=%s", s->node);
}

void hv_broker_custody_refused(hv_broker *b, hv_session *s, const hv_control *m)
{
    hv_broker_custody *c = &b->custody;
    char reason[HV_CONTROL_TEXT_MAX + HV_NODE_ID_MAX + 32];
    snprintf(reason, sizeof reason, "refused by broker %s: %s", s->node, m->text);
    char sender[HV_NODE_ID_MAX + 1];
    bool found = false;
    if (!hv_broker_store_ok(b))
        return; /* forwarded again once the store works, and refused again */
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = hv_store_bury(c->store, m->msg_id, s->queue, m->code, reason, hv_now_ms(), &found,
                            sender);
    if (err == HV_OK && found && c->n_notify < b->cfg.batch)
        memcpy(c->notify[c->n_notify++], sender, sizeof sender);
    char idhex[33];
    hv_hex(m->msg_id, 16, idhex);
    /* Not an envelope of ours: a notice the peer refused for good
     * (hv_broker_notice_on says why). Kept, it would be sent again at
     * every reconnection. */
    bool dropped = false;
    if (err == HV_OK && !found)
        err = hv_broker_notice_refused(b, s, m->msg_id, &dropped);
    if (err != HV_OK) {
        hv_broker_store_failed(b, "op=refused peer=%s", s->node);
        return;
    }
    if (dropped) {
        hv_log(HV_LOG_WARN, "notice_refused_by_peer", "id=%s peer=%s code=%s text=\"%s\"",
               idhex, s->node, hv_errname(m->code), m->text);
        hv_broker_custody_audit(b, m->msg_id, "notice_refused", s->node);
        return;
    }
    if (hv_lograte_pass("dead_letter", s->node))
        hv_log(HV_LOG_WARN, "dead_letter", "id=%s peer=%s code=%u", idhex, s->node, m->code);
    if (found)
        hv_broker_custody_audit(b, m->msg_id, "dead_letter", s->node);
}
