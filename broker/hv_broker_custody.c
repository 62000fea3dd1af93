/* The broker's custody: one job, taking envelopes into custody and keeping
 * them (../shared/DESIGN.md §4). It owns hv_broker_custody: the store, the
 * audit log, the group transaction and the STOREDs owed at its commit, the
 * notices owed after it, and the counters.
 *
 * A SEND is validated, deduplicated by message id and committed before
 * STORED goes back; one commit covers every message read in one pass over
 * the socket (group commit), and carries the audit records of its changes.
 * This file also expires, prunes the replay window and forgets what a
 * withdrawal or a revocation says must go, serves a restored worker's
 * replay and an operator's requeue or purge. Handing envelopes out is
 * hv_broker_delivery.c's. */
#include "hv_broker_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_log.h"
#include "hv_lograte.h"

#define S_CLOCK_SKEW_MS (10 * 60 * 1000)
#define S_EXPIRE_EVERY_MS 1000
#define S_AUDIT_SYNC_MS HV_BROKER_AUDIT_SYNC_MS /* the audit file's fdatasync, see s_audit_sync */
/* The replay window is pruned in batches of S_PRUNE_BATCH every
 * S_PRUNE_EVERY_MS, sooner (S_PRUNE_AGAIN_MS) while batches come back full:
 * up to 250,000 envelopes a second when behind, ten times the broker's
 * peak ACK rate, and never more than one batch of work in a loop pass. */
#define S_PRUNE_BATCH 2500
#define S_PRUNE_EVERY_MS 100
#define S_PRUNE_AGAIN_MS 10
#define S_HOUR_MS (3600LL * 1000)

struct hv_pending {
    void *sock;             /* socket of the sender */
    uint8_t rid[HV_RID_MAX]; /* routing id */
    size_t rid_len;  /* its length */
    uint8_t id[16];  /* message id */
    char recipient[HV_NODE_ID_MAX + 2]; /* whose queue grew */
    uint8_t type;            /* message type, for the stored event (0: none) */
    char from_cc[3], to_cc[3]; /* sender's and recipient's countries */
    uint32_t bytes;          /* envelope size */
};

/* ----------------------------------------------------------------- audit */

void hv_broker_custody_audit(hv_broker *b, const uint8_t id[16], const char *event,
                             const char *by)
{
    if (b->custody.audit != NULL &&
        hv_audit_add(b->custody.audit, b->cfg.id, id, event, by) != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "event=%s", event);
}

/* Learns how far the audit file is durable, so that a commit can drop
 * the store's copies of those records. A thread of the audit log
 * syncs it every S_AUDIT_SYNC_MS (hv_audit_sync_every), so that the loop
 * never waits for that fdatasync; `now_please` syncs here and now (at
 * start and on the way out). Often and small: a second's worth of records
 * synced at once (megabytes at full load) stalled the store's next
 * commits behind it (p99 at half load 19-21 ms with 1 s, 8-13 ms with
 * 20-100 ms). */
static void s_audit_sync(hv_broker *b, bool now_please)
{
    hv_broker_custody *c = &b->custody;
    if (c->audit == NULL)
        return;
    uint64_t synced = 0;
    hv_err err = now_please ? hv_audit_sync(c->audit, &synced)
                            : hv_audit_synced(c->audit, &synced);
    if (err != HV_OK && !c->audit_sync_failed)
        hv_log(HV_LOG_ERROR, "audit_failed", "op=sync");
    if (err != HV_OK)
        c->count.audit_sync_failures++;
    c->audit_sync_failed = err != HV_OK;
    c->audit_synced = synced;
}

/* Commits the group transaction with the audit records of its changes in
 * it (one fsync covers both), then appends those records to the audit
 * file without waiting for the disk: until s_audit_sync has made the file
 * durable the store keeps a copy, which a restart after a crash replays
 * into the file. A failed commit forgets its records with its changes. */
static hv_err s_commit(hv_broker *b)
{
    hv_broker_custody *c = &b->custody;
    hv_err err = HV_OK;
    uint64_t release = c->audit_released;
    if (!hv_broker_store_ok(b)) {
        /* A store in fault commits nothing more, not even what this group
         * gathered before the fault was found: no STORED for it. */
        hv_store_rollback(c->store);
        if (c->audit != NULL)
            hv_audit_discard(c->audit);
        return HV_ESTORE;
    }
    if (c->audit != NULL) {
        s_audit_sync(b, false);
        const char *lines;
        size_t len;
        uint64_t last;
        hv_audit_pending(c->audit, &lines, &len, &last);
        if (len > 0)
            err = hv_store_audit_put(c->store, last, lines, len);
        if (err == HV_OK && c->audit_synced > c->audit_released &&
            (err = hv_store_audit_release(c->store, c->audit_synced)) == HV_OK)
            release = c->audit_synced;
    }
    if (err == HV_OK)
        err = hv_store_commit(c->store);
    if (c->audit == NULL)
        return err;
    if (err != HV_OK) {
        hv_audit_discard(c->audit);
        return err;
    }
    c->audit_released = release;
    if (hv_audit_write(c->audit) != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "op=write"); /* kept: written again next time */
    return HV_OK;
}

static hv_err s_audit_replay_one(void *arg, const char *lines, size_t len)
{
    return hv_audit_recover(arg, lines, len);
}

/* ------------------------------------------------------------- lifecycle */

hv_err hv_broker_custody_open(hv_broker *b, hv_errmsg *e)
{
    hv_broker_custody *c = &b->custody;
    hv_err err;
    if ((err = hv_store_open(&c->store, b->cfg.store, e)) != HV_OK)
        return err;
    if (!b->cfg.erase) {
        if ((err = hv_store_set_erase(c->store, false)) != HV_OK)
            return hv_fail(e, err, "%s: cannot turn erasure off", b->cfg.store);
        hv_log(HV_LOG_WARN, "store_erase_off",
               "store=%s detail=\"deleted envelopes stay in the store's files until overwritten\"",
               b->cfg.store);
    }
    char audit_path[PATH_MAX + 8];
    int repaired = 0;
    snprintf(audit_path, sizeof audit_path, "%s.audit", b->cfg.store);
    if ((err = hv_audit_open(&c->audit, audit_path, &repaired, e)) != HV_OK)
        return err;
    if (repaired)
        hv_log(HV_LOG_WARN, "audit_tail_repaired", "path=%s", audit_path);
    /* Records committed before a crash that the file had not got. */
    if ((err = hv_store_audit_replay(c->store, s_audit_replay_one, c->audit)) != HV_OK)
        return hv_fail(e, err, "%s: the audit records kept in the store do not continue "
                       "the audit log", audit_path);
    s_audit_sync(b, true);
    if ((err = hv_audit_sync_every(c->audit, S_AUDIT_SYNC_MS)) != HV_OK)
        return hv_fail(e, err, "cannot start the audit log's sync thread");
    c->pending = calloc(b->cfg.batch, sizeof *c->pending);
    c->notify = calloc(b->cfg.batch, sizeof *c->notify);
    if (c->pending == NULL || c->notify == NULL)
        return HV_ENOMEM;
    return HV_OK;
}

hv_err hv_broker_custody_finish(hv_broker *b)
{
    hv_broker_custody_commit_and_reply(b, true);
    const hv_db_erase *er = hv_store_erase_stats(b->custody.store);
    hv_log(HV_LOG_INFO, "store_erase", "truncated=%llu deferred=%llu spent_ms=%.1f longest_ms=%.2f",
           (unsigned long long)er->truncated, (unsigned long long)er->deferred,
           (double)er->spent_us / 1000, (double)er->longest_us / 1000);
    s_audit_sync(b, true);
    if (b->custody.audit_synced > b->custody.audit_released && (s_commit(b) != HV_OK))
        return HV_ESTORE;
    return HV_OK;
}

void hv_broker_custody_close(hv_broker *b)
{
    hv_broker_custody *c = &b->custody;
    free(c->pending);
    c->pending = NULL;
    free(c->notify);
    c->notify = NULL;
    hv_audit_close(&c->audit);
    hv_store_close(&c->store);
}

/* ------------------------------------------------------------ taking in */

/* Consent withdrawn, or the erasure confirmed: what the replay window
 * keeps of the referral goes, in the transaction that stores the message
 * (docs/DECISIONS.md, "A replay window at the home broker"). */
static void s_forget_referral(hv_broker *b, const uint8_t referral[16], const char *why)
{
    size_t n = 0;
    char hex[33];
    hv_hex(referral, 16, hex);
    if (hv_store_forget_referral(b->custody.store, referral, &n) != HV_OK) {
        hv_broker_store_failed(b, "op=forget_referral referral=%s", hex);
        return;
    }
    b->custody.count.forgotten += n;
    if (n > 0)
        hv_log(HV_LOG_INFO, "replay_forgotten", "referral=%s reason=%s count=%zu", hex, why, n);
}

void hv_broker_custody_on_send(hv_broker *b, hv_session *s, const hv_control *m, int64_t now)
{
    hv_broker_custody *c = &b->custody;
    hv_envelope env;
    hv_err err = hv_envelope_decode(m->envelope, m->envelope_len, &env);
    char text[HV_CONTROL_TEXT_MAX + 1];
    if (err != HV_OK) {
        if (hv_lograte_pass("refused", s->node))
            hv_log(HV_LOG_WARN, "refused", "node=%s reason=%s", s->node, hv_errname(err));
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, err, NULL,
                          "envelope refused: undecodable");
        return;
    }
    const hv_msg_rule *rule = hv_msg_rule_get(env.type);
    const hv_node *sender = hv_registry_find(b->reg, s->peer ? env.from : s->node);
    const hv_node *rcpt = hv_registry_find(b->reg, env.to);
    int64_t now_ms = hv_now_ms();
    int64_t expires = (int64_t)env.created_at_ms + (int64_t)env.ttl_s * 1000;
    err = HV_OK;
    /* Where it goes: a local queue, or the queue of the peer broker where
     * the recipient is homed. */
    char queue[HV_NODE_ID_MAX + 2] = "";
    if (s->peer) {
        /* From a peer broker: the sender must be one of that broker's own
         * nodes, and the recipient one of ours (no transit through a third
         * broker; the hop limit guards against loops regardless). */
        if (sender == NULL || strcmp(sender->home, s->node) != 0) {
            err = HV_EAUTH;
            snprintf(text, sizeof text, "from '%s' is not homed at peer '%s'", env.from,
                     s->node);
        } else if (env.hops >= HV_HOPS_MAX) {
            err = HV_EUNROUTABLE;
            snprintf(text, sizeof text, "crossed %u brokers already", env.hops);
        }
    } else if (strcmp(env.from, s->node) != 0) {
        err = HV_EAUTH;
        snprintf(text, sizeof text, "from '%s' is not the authenticated node '%s'", env.from,
                 s->node);
    }
    if (err != HV_OK) {
        /* already explained */
    } else if (sender == NULL ||
               hv_node_keys_by_id(sender, env.from_kid, (uint64_t)(now_ms / 1000), NULL) == NULL) {
        /* Issue 19: current, next or previous (in its grace) all pass, so that what was
         * signed before a rotation's switch still travels; a compromised key is dropped
         * from the registry at once and stops here. */
        err = HV_EAUTH;
        snprintf(text, sizeof text, "from_kid is not a key id the registry lists for the sender");
    } else if (!(rule->sender_roles & HV_ROLE_BIT(sender->role))) {
        err = HV_EFORBIDDEN;
        snprintf(text, sizeof text, "role %s may not send %s", hv_role_name(sender->role),
                 rule->name);
    } else if (rcpt == NULL || !hv_node_active(rcpt, (uint64_t)(now_ms / 1000))) {
        err = HV_EUNROUTABLE;
        snprintf(text, sizeof text, "recipient '%s' is not an active node", env.to);
    } else if (!(rule->rcpt_roles & HV_ROLE_BIT(rcpt->role))) {
        err = HV_EFORBIDDEN;
        snprintf(text, sizeof text, "%s may not be sent to role %s", rule->name,
                 hv_role_name(rcpt->role));
    } else if (hv_node_keys_by_id(rcpt, env.to_kid, (uint64_t)(now_ms / 1000), NULL) == NULL) {
        err = HV_EADDRESS;
        snprintf(text, sizeof text, "to_kid is not a key id the registry lists for the recipient");
    } else if (strcmp(rcpt->home, b->cfg.id) == 0) {
        snprintf(queue, sizeof queue, "%s", env.to);
    } else if (!s->peer && hv_broker_links_is_peer(b, rcpt->home)) {
        snprintf(queue, sizeof queue, "@%s", rcpt->home);
    } else {
        err = HV_EUNROUTABLE;
        snprintf(text, sizeof text, "recipient '%s' is homed at '%s', which this broker does "
                 "not peer with", env.to, rcpt->home);
    }
    if (err != HV_OK) {
        /* already explained */
    } else if (expires <= now_ms) {
        err = HV_EEXPIRED;
        snprintf(text, sizeof text, "time to live already passed");
    } else if ((int64_t)env.created_at_ms > now_ms + S_CLOCK_SKEW_MS) {
        err = HV_EINVAL;
        snprintf(text, sizeof text, "created_at is more than 10 minutes in the future");
    } else if (!hv_session_rate_ok(b, s, now)) {
        err = HV_ERATE;
        snprintf(text, sizeof text, "rate limit of %llu messages per second exceeded",
                 (unsigned long long)b->cfg.rate_per_second);
    }
    char idhex[33];
    hv_hex(env.id, 16, idhex);
    if (err != HV_OK) {
        if (hv_lograte_pass("refused", s->node)) /* one peer's flood: a few lines, a count */
            hv_log(HV_LOG_WARN, "refused", "node=%s id=%s type=%s reason=%s", s->node, idhex,
                   rule->name, hv_errname(err));
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, err, env.id, text);
        return;
    }
    /* Bound for a peer: it crosses one more broker. The hop count is not
     * signed (DECISIONS.md), so raising it leaves the signature intact. */
    uint8_t *forward = NULL;
    size_t forward_len = 0;
    if (queue[0] == '@') {
        if (env.hops >= HV_HOPS_MAX) { /* one more broker would cross the limit */
            hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_EUNROUTABLE, env.id,
                              "crossed the most brokers an envelope may cross");
            return;
        }
        env.hops++;
        if (hv_envelope_encode(&env, &forward, &forward_len) != HV_OK) {
            hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_ENOMEM, env.id,
                              "try again later");
            return;
        }
    }
    /* A store in fault takes nothing: the sender keeps the message. */
    if (!hv_broker_store_ok(b)) {
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_ESTORE, env.id,
                          "store failed; keep the message and send it again later");
        return;
    }
    hv_stored rec = {.id = env.id,
                     .sender = env.from,
                     .recipient = queue,
                     .type = env.type,
                     .envelope = forward ? forward : m->envelope,
                     .envelope_len = forward ? forward_len : m->envelope_len,
                     .expires_ms = expires,
                     .referral = env.referral};
    bool dup = false;
    if ((err = hv_store_begin(c->store)) == HV_OK)
        err = hv_store_put(c->store, &rec, now_ms, &dup);
    free(forward);
    if (err == HV_EEXIST) {
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_EEXIST, env.id,
                          "message id already in use");
        return;
    }
    if (err != HV_OK) {
        hv_broker_store_failed(b, "op=put id=%s", idhex);
        hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_ESTORE, env.id,
                          "store failed; send again later");
        return;
    }
    hv_pending *p = &c->pending[c->n_pending++];
    p->sock = s->sock;
    memcpy(p->rid, s->rid, s->rid_len);
    p->rid_len = s->rid_len;
    memcpy(p->id, env.id, 16);
    snprintf(p->recipient, sizeof p->recipient, "%s", dup ? "" : queue);
    p->type = dup ? 0 : env.type;
    snprintf(p->from_cc, sizeof p->from_cc, "%s", sender->country);
    snprintf(p->to_cc, sizeof p->to_cc, "%s", rcpt->country);
    p->bytes = (uint32_t)m->envelope_len;
    if (!dup)
        hv_broker_custody_audit(b, env.id, "stored", env.from); /* commits with the row */
    if (!dup && (env.type == HV_MSG_WITHDRAW || env.type == HV_MSG_WITHDRAWN))
        s_forget_referral(b, env.referral, rule->name);
    hv_log(HV_LOG_DEBUG, dup ? "duplicate" : "stored", "id=%s type=%s from=%s to=%s bytes=%zu",
           idhex, rule->name, env.from, env.to, m->envelope_len);
}

/* A restored worker asks for what it acknowledged since its backup: back
 * into its queue, committed before READY goes out, so that a client that
 * forgets its request on READY has it durably. Asking for more than the
 * window gives the window. */
bool hv_broker_custody_replay(hv_broker *b, hv_session *s, uint64_t since)
{
    hv_broker_custody *c = &b->custody;
    int64_t now_ms = hv_now_ms();
    int64_t from = (int64_t)since;
    int64_t window_start = now_ms - (int64_t)b->cfg.replay_hours * S_HOUR_MS;
    if (from < window_start)
        from = window_start;
    size_t n = 0;
    hv_err err = hv_broker_store_ok(b) ? hv_store_begin(c->store) : HV_ESTORE;
    if (err == HV_OK)
        err = hv_store_replay(c->store, s->node, from, now_ms, &n);
    if (err == HV_OK)
        err = hv_store_in_transaction(c->store) ? HV_OK : HV_ESTORE;
    if (err == HV_OK) {
        hv_broker_custody_commit_and_reply(b, true);
        err = hv_store_in_transaction(c->store) ? HV_ESTORE : HV_OK;
    }
    if (err != HV_OK) {
        hv_broker_store_failed(b, "op=replay node=%s", s->node);
        return false;
    }
    c->count.replayed += n;
    hv_log(HV_LOG_INFO, "replay", "node=%s since_ms=%llu from_ms=%lld count=%zu", s->node,
           (unsigned long long)since, (long long)from, n);
    return true;
}

/* The peer on session `s` hears STORED about `id` once the group
 * transaction commits (the caller made sure there is room). */
static void s_owe_stored(hv_broker *b, hv_session *s, const uint8_t id[16])
{
    hv_pending *p = &b->custody.pending[b->custody.n_pending++];
    p->sock = s->sock;
    memcpy(p->rid, s->rid, s->rid_len);
    p->rid_len = s->rid_len;
    memcpy(p->id, id, 16);
    p->recipient[0] = '\0';
    p->type = 0;
}

/* The notice is kept for the message's sender here, and the peer hears
 * STORED once it is committed. */
void hv_broker_custody_peer_notice(hv_broker *b, hv_session *s, const hv_control *m)
{
    hv_broker_custody *c = &b->custody;
    unsigned code = m->cmd == HV_CMD_EXPIRED ? HV_EEXPIRED : m->code;
    char reason[HV_CONTROL_TEXT_MAX + 1];
    snprintf(reason, sizeof reason, "%s",
             m->cmd == HV_CMD_EXPIRED ? "time to live passed before delivery" : m->text);
    bool found = false;
    char sender[HV_NODE_ID_MAX + 1] = "";
    if (!hv_broker_store_ok(b))
        return; /* no STORED: the peer reports it again */
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = hv_store_notice_relay(c->store, m->msg_id, code, reason, &found, sender);
    if (err != HV_OK) {
        hv_broker_store_failed(b, "op=relay_notice peer=%s", s->node);
        return; /* no STORED: the peer reports it again */
    }
    if (found && c->n_notify < b->cfg.batch)
        memcpy(c->notify[c->n_notify++], sender, sizeof sender);
    s_owe_stored(b, s, m->msg_id);
}

void hv_broker_custody_peer_notice_for(hv_broker *b, hv_session *s, const uint8_t id[16],
                                       const char *sender, unsigned code, const char *reason)
{
    hv_broker_custody *c = &b->custody;
    if (!hv_broker_store_ok(b))
        return; /* no STORED: the peer reports it again */
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = hv_store_notice_keep(c->store, sender, id, code, reason);
    if (err != HV_OK) {
        hv_broker_store_failed(b, "op=keep_notice peer=%s", s->node);
        return;
    }
    hv_broker_custody_audit(b, id, "notice_relayed", s->node);
    if (c->n_notify < b->cfg.batch)
        snprintf(c->notify[c->n_notify++], HV_NODE_ID_MAX + 1, "%s", sender);
    s_owe_stored(b, s, id);
}

/* ---------------------------------------------------------- group commit */

/* Whether the group transaction should commit now: it is full, or its
 * first change has waited group_ms. By default (0) every pass of the loop
 * commits what it gathered, which batches as many changes as arrive during
 * one fsync; waiting longer lets one commit (and the pages every commit
 * rewrites: each b-tree's newest leaf, its parents, the file header) serve
 * more messages, at the price of that wait in every message's latency
 * (docs/DECISIONS.md). */
static bool s_group_due(hv_broker *b, int64_t now_us)
{
    hv_broker_custody *c = &b->custody;
    if (c->n_pending == 0 && !hv_store_in_transaction(c->store)) {
        c->group_start_us = 0;
        return false;
    }
    if (c->group_start_us == 0)
        c->group_start_us = now_us;
    return c->n_pending >= b->cfg.batch ||
           now_us - c->group_start_us >= (int64_t)b->cfg.group_ms * 1000;
}

void hv_broker_custody_commit_and_reply(hv_broker *b, bool now_please)
{
    hv_broker_custody *c = &b->custody;
    if (!s_group_due(b, hv_mono_us()) && !now_please)
        return;
    c->group_start_us = 0;
    hv_err err = s_commit(b);
    if (c->n_pending > 0)
        c->count.commits++;
    for (size_t i = 0; i < c->n_pending; i++) {
        hv_pending *p = &c->pending[i];
        if (err != HV_OK) {
            hv_session_refuse(b, p->sock, p->rid, p->rid_len, HV_ESTORE, p->id,
                              "store failed; send again later");
            continue;
        }
        hv_control m = {.cmd = HV_CMD_STORED};
        memcpy(m.msg_id, p->id, 16);
        hv_session *s = hv_session_find_rid(b, p->sock, p->rid, p->rid_len);
        if (s != NULL)
            (void)hv_session_send(s, &m);
        else
            (void)hv_session_send_to(p->sock, p->rid, p->rid_len, &m);
        if (p->type != 0)
            hv_broker_ops_stored(b, p->type, p->from_cc, p->to_cc, p->bytes);
        if (p->recipient[0] != '\0') {
            c->count.stored++;
            hv_session *r = hv_session_find_queue(b, p->recipient);
            if (r != NULL)
                r->maybe_more = true;
        }
    }
    if (err != HV_OK && hv_broker_store_ok(b))
        hv_broker_store_failed(b, "op=commit batch=%zu", c->n_pending);
    c->n_pending = 0;
    /* Dead letters made in this batch: tell their senders now. */
    for (size_t i = 0; err == HV_OK && i < c->n_notify; i++)
        hv_broker_custody_notices(b, c->notify[i]);
    c->n_notify = 0;
}

long hv_broker_custody_group_wait(const hv_broker *b, long timeout)
{
    if (b->custody.group_start_us == 0)
        return timeout;
    int64_t left_us =
        b->custody.group_start_us + (int64_t)b->cfg.group_ms * 1000 - hv_mono_us();
    long left = left_us <= 0 ? 0 : (long)((left_us + 999) / 1000);
    return left < timeout ? left : timeout;
}

bool hv_broker_custody_has_room(const hv_broker *b)
{
    return b->custody.n_pending < b->cfg.batch;
}

/* ------------------------------------------------------ expiry, forgetting */

static void s_audit_expired(void *arg, const uint8_t id[16])
{
    hv_broker *b = arg;
    hv_broker_custody_audit(b, id, "expired", b->cfg.id);
}

void hv_broker_custody_prune(hv_broker *b, int64_t now)
{
    hv_broker_custody *c = &b->custody;
    if (now < c->next_prune || !hv_broker_store_ok(b))
        return;
    int64_t before = hv_now_ms() - (int64_t)b->cfg.replay_hours * S_HOUR_MS;
    size_t n = 0;
    /* In the group transaction: committed with the next group (at once
     * when the broker is idle), never an fsync of its own. */
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = hv_store_prune(c->store, before, S_PRUNE_BATCH, &n);
    if (err != HV_OK)
        hv_broker_store_failed(b, "op=prune");
    c->count.pruned += n;
    c->next_prune = now + (n == S_PRUNE_BATCH ? S_PRUNE_AGAIN_MS : S_PRUNE_EVERY_MS);
    if (n > 0)
        hv_log(HV_LOG_DEBUG, "replay_pruned", "count=%zu", n);
}

void hv_broker_custody_expire(hv_broker *b, int64_t now)
{
    hv_broker_custody *c = &b->custody;
    if (now < c->next_expire || !hv_broker_store_ok(b))
        return;
    c->next_expire = now + S_EXPIRE_EVERY_MS;
    size_t moved = 0;
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = hv_store_expire(c->store, hv_now_ms(), 1000, &moved, s_audit_expired, b);
    if (err == HV_OK)
        err = s_commit(b);
    if (err != HV_OK)
        hv_broker_store_failed(b, "op=expire");
    if (moved > 0) {
        c->count.expired += moved;
        hv_log(HV_LOG_INFO, "expired", "count=%zu", moved);
        for (size_t k = 0; k < moved; k++)
            hv_broker_event(b, "expired", 0, NULL, NULL, 0, -1, HV_EEXPIRED);
        for (size_t i = 0; i < b->n_sessions; i++) {
            if (b->sessions[i].ready && b->sessions[i].outgoing)
                hv_broker_links_notices(b, &b->sessions[i]);
            else if (b->sessions[i].ready && !b->sessions[i].peer)
                hv_broker_custody_notices(b, b->sessions[i].node);
        }
    }
}

/* A truncation deferred by a reader is ordinary while a backup runs
 * (info, once); deferred for S_ERASE_STUCK_MS on end, something holds the
 * WAL for good and deleted envelopes stay in it: a warning, once. */
#define S_ERASE_STUCK_MS 60000

void hv_broker_custody_erase(hv_broker *b, int64_t now)
{
    hv_broker_custody *c = &b->custody;
    bool done = false;
    if (!hv_broker_store_ok(b))
        return;
    hv_err err = hv_store_erase_tick(c->store, now, &done);
    if (err == HV_OK) {
        if (done && c->erase_deferred_since != 0)
            hv_log(HV_LOG_INFO, "store_erased", "deferred_ms=%lld",
                   (long long)(now - c->erase_deferred_since));
        if (done)
            c->erase_deferred_since = 0;
        return;
    }
    if (err != HV_ETIMEOUT) {
        hv_broker_store_failed(b, "op=truncate_wal");
        return;
    }
    if (c->erase_deferred_since == 0) {
        c->erase_deferred_since = now;
        c->erase_stuck = false;
        hv_log(HV_LOG_INFO, "store_erase_deferred",
               "detail=\"another connection (a backup?) holds the WAL; trying every second\"");
    } else if (!c->erase_stuck && now - c->erase_deferred_since >= S_ERASE_STUCK_MS) {
        c->erase_stuck = true;
        hv_log(HV_LOG_WARN, "store_erase_stuck",
               "deferred_ms=%lld detail=\"another connection has held the WAL for a minute: "
               "deleted envelopes stay in it until it lets go\"",
               (long long)(now - c->erase_deferred_since));
    }
}

typedef struct s_gone_ctx {
    hv_broker *b;                         /* broker */
    char (*ids)[HV_NODE_ID_MAX + 1];      /* nodes no longer active */
    size_t n, cap;                        /* how many, allocated */
} s_gone_ctx;

static bool s_gone_one(void *arg, const char *node)
{
    s_gone_ctx *g = arg;
    const hv_node *n = hv_registry_find(g->b->reg, node);
    if (n != NULL && hv_node_active(n, (uint64_t)time(NULL)))
        return true;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        void *grown = realloc(g->ids, cap * sizeof *g->ids);
        if (grown == NULL)
            return false;
        g->ids = grown;
        g->cap = cap;
    }
    snprintf(g->ids[g->n++], sizeof g->ids[0], "%s", node);
    return true;
}

/* A node revoked, or gone from the registry, or past its validity, will
 * never ask for replay: what the window keeps for it is deleted. */
void hv_broker_custody_forget_inactive(hv_broker *b)
{
    hv_broker_custody *c = &b->custody;
    s_gone_ctx g = {.b = b};
    if (!hv_broker_store_ok(b))
        return;
    hv_err err = hv_store_retained_nodes(c->store, s_gone_one, &g);
    size_t *counts = g.n > 0 ? calloc(g.n, sizeof *counts) : NULL;
    if (err == HV_OK && g.n > 0)
        err = counts != NULL ? hv_store_begin(c->store) : HV_ENOMEM;
    for (size_t i = 0; err == HV_OK && i < g.n; i++) {
        err = hv_store_forget_node(c->store, g.ids[i], &counts[i]);
        c->count.forgotten += counts[i];
    }
    if (err == HV_OK && g.n > 0)
        err = s_commit(b);
    /* Said once it is committed: what the log says is gone is gone. */
    for (size_t i = 0; err == HV_OK && i < g.n; i++)
        hv_log(HV_LOG_INFO, "replay_forgotten", "node=%s reason=inactive count=%zu", g.ids[i],
               counts[i]);
    if (err != HV_OK)
        hv_broker_store_failed(b, "op=forget_inactive");
    free(counts);
    free(g.ids);
}

/* ---------------------------------------------------------- for operators */

hv_broker_counters hv_broker_custody_counters(const hv_broker *b) { return b->custody.count; }

const hv_broker_fault *hv_broker_custody_fault(const hv_broker *b) { return &b->custody.fault; }

hv_err hv_broker_custody_stats(hv_broker *b, hv_store_stats *st)
{
    return hv_store_stats_get(b->custody.store, st);
}

hv_err hv_broker_custody_depths(hv_broker *b, hv_store_depth_visit fn, void *arg)
{
    return hv_store_depths(b->custody.store, fn, arg);
}

hv_err hv_broker_custody_queue_ages(hv_broker *b, hv_store_age_visit fn, void *arg)
{
    return hv_store_queue_ages(b->custody.store, fn, arg);
}

hv_err hv_broker_custody_dead_reasons(hv_broker *b, hv_store_reason_visit fn, void *arg)
{
    return hv_store_dead_reasons(b->custody.store, fn, arg);
}

hv_err hv_broker_custody_dead_list(hv_broker *b, size_t limit, hv_store_dead_visit fn, void *arg)
{
    return hv_store_dead_list(b->custody.store, limit, fn, arg);
}

hv_err hv_broker_custody_dead_action(hv_broker *b, const char *operator_id, bool requeue,
                                     const uint8_t id[16], const char *hex, hv_err *result)
{
    hv_broker_custody *c = &b->custody;
    const char *action = requeue ? "requeue" : "purge";
    char queue[HV_NODE_ID_MAX + 2] = "";
    hv_err err = hv_store_begin(c->store);
    if (err == HV_OK)
        err = requeue ? hv_store_dead_requeue(c->store, id, hv_now_ms(), queue)
                      : hv_store_dead_purge(c->store, id);
    const char *done = err == HV_OK ? "done" : hv_errname(err);
    if (err == HV_OK && hv_node_id_valid_cstr(operator_id))
        hv_broker_custody_audit(b, id, requeue ? "requeued" : "purged", operator_id);
    if (hv_store_admin_record(c->store, hv_now_ms(), operator_id, action, id, done) != HV_OK ||
        s_commit(b) != HV_OK)
        return HV_ESTORE;
    hv_log(HV_LOG_INFO, "admin_action", "operator=%s action=%s id=%s result=%s", operator_id,
           action, hex, done);
    if (err == HV_OK && queue[0] != '\0') {
        hv_session *r = hv_session_find_queue(b, queue);
        if (r != NULL)
            r->maybe_more = true;
    }
    *result = err;
    return HV_OK;
}
