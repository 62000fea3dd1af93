/* The broker's custody and delivery (internal to broker/): the only code
 * of the broker that touches the store and the audit log.
 *
 * hv_broker_custody.c takes envelopes into custody and keeps them: it
 * validates a SEND, stores it in the group transaction and owes STORED
 * until the commit (with the audit records of the commit's changes), serves
 * a restored worker's replay, relays a peer's notices, expires, prunes the
 * replay window, forgets withdrawn referrals and revoked nodes, and carries
 * out an operator's requeue or purge. hv_broker_delivery.c hands them out:
 * DELIVERs within each session's window, notices owed, ACK and NACK, leases
 * run out, and the peer's STORED or refusal on our links.
 *
 * Operators' code (hv_broker_ops.h) reads custody only through the
 * functions under "For operators" below; custody tells operators what
 * happened through hv_broker_ops.h's observation calls. */
#ifndef HV_BROKER_CUSTODY_H
#define HV_BROKER_CUSTODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_audit.h"
#include "hv_broker.h"
#include "hv_broker_fault.h"
#include "hv_broker_session.h"
#include "hv_control.h"
#include "hv_store.h"

/* What happened to envelopes at this broker since it started. Written by
 * custody only; operators read a copy (hv_broker_custody_counters). */
typedef struct hv_broker_counters {
    uint64_t stored;      /* taken into custody (not duplicates) */
    uint64_t delivered;   /* DELIVERs (and SENDs to peers) made */
    uint64_t acked;       /* acknowledged by their recipient */
    uint64_t redelivered; /* in flight when a lease ran out */
    uint64_t expired;     /* time to live passed before delivery */
    uint64_t commits;     /* group commits that carried SENDs */
    uint64_t forwarded;   /* taken into custody by a peer broker */
    uint64_t replayed;    /* put back in a queue from the replay window */
    uint64_t pruned;      /* left the replay window when it passed */
    uint64_t forgotten;   /* deleted from it: withdrawn referral, revoked node */
    uint64_t audit_sync_failures; /* checks of the audit file's fdatasync that failed */
} hv_broker_counters;

/* A STORED owed once the group transaction commits (hv_broker_custody.c). */
typedef struct hv_pending hv_pending;

/* How often the audit log's sync thread makes the file durable. */
#define HV_BROKER_AUDIT_SYNC_MS 50

/* Custody's part of the broker. */
typedef struct hv_broker_custody {
    hv_store *store;               /* durable store */
    hv_audit *audit;               /* hash-chained record of every transition */
    uint64_t audit_synced;         /* last audit record durable in the file */
    uint64_t audit_released;       /* ...and no longer kept in the store */
    bool audit_sync_failed;        /* an audit fdatasync failed: copies stay kept (logged once) */
    hv_pending *pending;           /* STOREDs awaiting the commit, cfg.batch of them */
    size_t n_pending;              /* how many */
    char (*notify)[HV_NODE_ID_MAX + 1]; /* senders owed a notice after the commit */
    size_t n_notify;               /* how many */
    int64_t next_expire;           /* monotonic ms of the next expiry sweep */
    int64_t next_prune;            /* monotonic ms of the next replay-window prune */
    int64_t erase_deferred_since;  /* monotonic ms the WAL truncation has been deferred since, 0 = not */
    bool erase_stuck;              /* ...for a minute: warned */
    int64_t group_start_us;        /* when the open group transaction began, 0 = none */
    hv_broker_counters count;      /* what happened, for operators */
    hv_broker_fault fault;         /* the store's health (hv_broker_fault.h) */
} hv_broker_custody;

/* ------------------------------------------------ lifecycle (custody.c) */

/* Opens the store and the audit log beside it (replaying into the log what
 * a crash left only in the store), starts the log's sync thread and
 * allocates the batch's buffers. On error the caller closes. */
HV_MUST_CHECK hv_err hv_broker_custody_open(hv_broker *b, hv_errmsg *e);

/* Commits what is owed and makes the audit log durable, on the way out.
 * Returns HV_OK or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_broker_custody_finish(hv_broker *b);

/* Frees buffers, closes the audit log and the store; safe twice. */
void hv_broker_custody_close(hv_broker *b);

/* ------------------------------------------------ taking in (custody.c) */

/* Records a transition of message `id` in the audit log. The record
 * commits with the store's next transaction, which must be the one holding
 * the change it records. */
void hv_broker_custody_audit(hv_broker *b, const uint8_t id[16], const char *event,
                             const char *by);

/* Validates a SEND and stores it; a STORED is owed after the commit. */
void hv_broker_custody_on_send(hv_broker *b, hv_session *s, const hv_control *m, int64_t now);

/* A restored worker's HELLO asks for what it acknowledged since `since`:
 * back into its queue and committed. Returns false when the store failed. */
bool hv_broker_custody_replay(hv_broker *b, hv_session *s, uint64_t since);

/* A peer broker reports what became of a message we forwarded to it: the
 * notice is kept for its sender here, and STORED is owed to the peer. */
void hv_broker_custody_peer_notice(hv_broker *b, hv_session *s, const hv_control *m);

/* A peer's NOTICE whose proof checked (hv_broker_notice.c): the notice
 * about `id` is kept for `sender`, told to it after the commit, and the
 * peer hears STORED then. */
void hv_broker_custody_peer_notice_for(hv_broker *b, hv_session *s, const uint8_t id[16],
                                       const char *sender, unsigned code, const char *reason);

/* Commits the group transaction when it is due (or `now_please`), then
 * tells each sender its messages are stored and each dead letter's sender
 * its notice. */
void hv_broker_custody_commit_and_reply(hv_broker *b, bool now_please);

/* How long the loop may sleep, at most `timeout` ms, before the open group
 * transaction is due. */
long hv_broker_custody_group_wait(const hv_broker *b, long timeout);

/* True while the batch of owed STOREDs has room for another SEND. */
bool hv_broker_custody_has_room(const hv_broker *b);

/* Prunes one bounded batch of what has left the replay window, when due. */
void hv_broker_custody_prune(hv_broker *b, int64_t now);

/* Moves what has expired to dead letters once a second, and tells the
 * senders that are connected. */
void hv_broker_custody_expire(hv_broker *b, int64_t now);

/* Erasure: when due (the store quiet, or after ten seconds of steady
 * load), truncates the store's WAL between two group transactions
 * (hv_store_erase_tick); a truncation that a reader defers is logged
 * (info), and warned of once it has been deferred for a minute. */
void hv_broker_custody_erase(hv_broker *b, int64_t now);

/* Deletes what the replay window keeps for nodes no longer active in the
 * registry (after a registry load, and at start). */
void hv_broker_custody_forget_inactive(hv_broker *b);

/* ------------------------------------------------ handing out (delivery.c) */

/* Counts an attempt for each of the session's deliveries in flight, which
 * stay queued for its next session. */
void hv_broker_custody_attempted(hv_broker *b, const hv_session *s);

/* Restarts delivery to `s` from the oldest unacknowledged message, after a
 * backoff: a lease ran out, or a peer asked for patience. */
void hv_broker_custody_restart(hv_broker *b, hv_session *s, int64_t now);

/* Delivers to every ready session with room in its window. */
void hv_broker_custody_deliver(hv_broker *b, int64_t now);

/* Sends `node` the notices it is owed, if it is connected here or through
 * our link to the broker where it is homed. */
void hv_broker_custody_notices(hv_broker *b, const char *node);

/* A recipient's ACK (the envelope is delivered, kept for the replay
 * window) or NACK (it becomes a dead letter). */
void hv_broker_custody_on_ack(hv_broker *b, hv_session *s, const hv_control *m, bool nack);

/* The peer on link `s` took custody of `id` (its STORED): ours to forget. */
void hv_broker_custody_forwarded(hv_broker *b, hv_session *s, const uint8_t id[16]);

/* The peer on link `s` refused an envelope for good: it becomes a dead
 * letter here and its sender is told after the commit. */
void hv_broker_custody_refused(hv_broker *b, hv_session *s, const hv_control *m);

/* ------------------------------------------------ for operators */

/* The store's health (borrowed, valid while the broker runs). */
const hv_broker_fault *hv_broker_custody_fault(const hv_broker *b);

/* The counters (a copy). */
hv_broker_counters hv_broker_custody_counters(const hv_broker *b);

/* The store's totals. */
HV_MUST_CHECK hv_err hv_broker_custody_stats(hv_broker *b, hv_store_stats *st);

/* Each queue's depth, through `fn` (see hv_store_depths). */
HV_MUST_CHECK hv_err hv_broker_custody_depths(hv_broker *b, hv_store_depth_visit fn,
                                              void *arg);

/* Each queue's depth and the store time of its oldest envelope, through
 * `fn` (see hv_store_queue_ages). */
HV_MUST_CHECK hv_err hv_broker_custody_queue_ages(hv_broker *b, hv_store_age_visit fn,
                                                  void *arg);

/* The dead letters held for each reason code, through `fn` (see
 * hv_store_dead_reasons). */
HV_MUST_CHECK hv_err hv_broker_custody_dead_reasons(hv_broker *b, hv_store_reason_visit fn,
                                                    void *arg);

/* Up to `limit` dead letters, through `fn` (see hv_store_dead_list). */
HV_MUST_CHECK hv_err hv_broker_custody_dead_list(hv_broker *b, size_t limit,
                                                 hv_store_dead_visit fn, void *arg);

/* An operator requeues (`requeue`) or purges dead letter `id`, recorded in
 * the admin log, the audit log and the broker's log, and committed.
 * Returns HV_ESTORE when nothing could be recorded (nothing changed);
 * otherwise HV_OK with the action's own result in `*result` (HV_OK,
 * HV_ENOTFOUND, HV_EEXPIRED, ...). */
HV_MUST_CHECK hv_err hv_broker_custody_dead_action(hv_broker *b, const char *operator_id,
                                                   bool requeue, const uint8_t id[16],
                                                   const char *hex, hv_err *result);

#endif
