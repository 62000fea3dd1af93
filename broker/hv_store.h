/* The broker's durable store: the queue of envelopes awaiting delivery, the
 * window of message ids already taken into custody, dead letters, notices
 * owed to senders, and the replay window of envelopes already delivered.
 * One SQLite file in WAL mode, synchronous=FULL, written by one thread in
 * group transactions (hv_store_begin/commit); what it deletes it erases
 * (hv_store_set_erase). */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_db.h"
#include "hv_err.h"
#include "hv_ids.h"

typedef struct hv_store hv_store;

/* An envelope taken into custody. Strings and bytes are borrowed. */
typedef struct hv_stored {
    const uint8_t *id;        /* 16-byte message id */
    const char *sender;       /* node id of the sender */
    const char *recipient;    /* node id it is delivered to */
    unsigned type;            /* application message type */
    const uint8_t *envelope;  /* the envelope's bytes */
    size_t envelope_len;      /* their length */
    int64_t expires_ms;       /* created_at + ttl, Unix ms */
    const uint8_t *referral;  /* 16-byte referral id from the header, or NULL */
} hv_stored;

/* Opens or creates the store at `path`, with erasure on (below) and the
 * WAL a crash may have left truncated. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_store_open(hv_store **out, const char *path, hv_errmsg *e);

/* Commits anything pending, truncates the WAL (erasure on) and closes;
 * safe on NULL and twice. */
void hv_store_close(hv_store **s);

/* Erasure (docs/DECISIONS.md, "A broker forgets what it deletes"): on,
 * every delete overwrites what it deletes in the database file
 * (secure_delete=ON) and hv_store_erase_tick truncates the WAL, so that
 * nothing deleted stays readable in either. Off (only to measure what
 * erasure costs): secure_delete=FAST, a freed page keeps what it held,
 * and the WAL keeps old frames until they are overwritten. */
HV_MUST_CHECK hv_err hv_store_set_erase(hv_store *s, bool on);

/* Call often, outside a transaction (`now_ms` from hv_mono_ms): once no
 * commit came for 250 ms (and at least a second after the first one seen),
 * or under a steady load at the latest 10 s after the first commit not yet
 * erased, copies the WAL into the database and truncates it to zero bytes
 * (hv_db_erase_tick; waits at most 20 ms for a reader such as a backup,
 * else tries again a second later). `*truncated` says whether
 * it did now. HV_OK, HV_ETIMEOUT (deferred), HV_ESTORE. */
HV_MUST_CHECK hv_err hv_store_erase_tick(hv_store *s, int64_t now_ms, bool *truncated);

/* Truncations done and deferred since open, and the time they took, for
 * operators and the benchmark (borrowed; valid until the store closes). */
const hv_db_erase *hv_store_erase_stats(const hv_store *s);

/* Opens the group transaction if none is open. */
HV_MUST_CHECK hv_err hv_store_begin(hv_store *s);

/* Whether a group transaction is open. */
bool hv_store_in_transaction(const hv_store *s);

/* Commits the open transaction (one fsync), if any; a failed commit
 * rolls the whole transaction back. */
HV_MUST_CHECK hv_err hv_store_commit(hv_store *s);

/* Abandons the open transaction, if any: nothing of it commits. */
void hv_store_rollback(hv_store *s);

/* Why the last store call failed, in SQLite's words ("database or disk is
 * full", ...), for the log. Borrowed until the next store call. */
const char *hv_store_error(const hv_store *s);

/* SQLite's extended result code of the last failure (as hv_store_error),
 * for hv_db_fault_of. */
int hv_store_errcode(const hv_store *s);

/* Whether the store takes writes again after a failure (the disk was
 * full): rolls back any transaction left open, then commits one write of
 * the file's header, which needs room in the WAL. HV_OK or HV_ESTORE
 * (hv_store_error says why). Outside the group's use: the caller has no
 * STORED owed. */
HV_MUST_CHECK hv_err hv_store_probe(hv_store *s);

/* Takes `m` into custody. When its id is already known from the same
 * sender, sets `*duplicate` and stores nothing. A known id from another
 * sender is HV_EEXIST. Must be inside a transaction. */
HV_MUST_CHECK hv_err hv_store_put(hv_store *s, const hv_stored *m, int64_t now_ms,
                                  bool *duplicate);

/* Removes a delivered message, only if it is queued for `recipient`.
 * Sets `*found`. Must be inside a transaction. */
HV_MUST_CHECK hv_err hv_store_remove(hv_store *s, const uint8_t id[16], const char *recipient,
                                     bool *found);

/* The recipient's ACK: removes message `id` from `recipient`'s queue, as
 * hv_store_remove, and when `retain` first keeps it in the replay window
 * with `now_ms` as the time of the ACK; in the same transaction, so both
 * or neither commit. WITHDRAW and WITHDRAWN are never kept: once consent
 * is withdrawn, nothing of the referral is to be delivered again. Like
 * every delete of the store, what it deletes is overwritten (see
 * hv_store_erase_tick). */
HV_MUST_CHECK hv_err hv_store_ack(hv_store *s, const uint8_t id[16], const char *recipient,
                                  int64_t now_ms, bool retain, bool *found);

/* Forgets up to `max` kept envelopes acknowledged before `before_ms`,
 * oldest first; how many in `*pruned`. In a transaction. */
HV_MUST_CHECK hv_err hv_store_prune(hv_store *s, int64_t before_ms, size_t max, size_t *pruned);

/* Puts back in `recipient`'s queue every kept envelope it acknowledged at
 * or after `since_ms` whose time to live has not passed at `now_ms`, under
 * its old sequence number: in the original order, ahead of anything queued
 * since. They leave the window (an ACK keeps them again). How many in
 * `*requeued`. In a transaction. */
HV_MUST_CHECK hv_err hv_store_replay(hv_store *s, const char *recipient, int64_t since_ms,
                                     int64_t now_ms, size_t *requeued);

/* Deletes, and overwrites with zeros, the kept envelopes of `referral`
 * (after its WITHDRAW or WITHDRAWN), or those kept for `recipient` (a node
 * revoked). How many in `*deleted`. In a transaction. */
HV_MUST_CHECK hv_err hv_store_forget_referral(hv_store *s, const uint8_t referral[16],
                                              size_t *deleted);
HV_MUST_CHECK hv_err hv_store_forget_node(hv_store *s, const char *recipient, size_t *deleted);

/* Calls `fn` with each node that has envelopes in the window; `fn`
 * returns false to stop. The string is valid only during the call. */
typedef bool (*hv_store_node_visit)(void *arg, const char *recipient);
HV_MUST_CHECK hv_err hv_store_retained_nodes(hv_store *s, hv_store_node_visit fn, void *arg);

/* Calls `fn` for up to `max` queued messages for `recipient` with a
 * sequence number above `after_seq`, in sequence order. `fn` returns false
 * to stop early. The envelope bytes are valid only during the call. */
typedef bool (*hv_store_visit)(void *arg, int64_t seq, const uint8_t id[16],
                               const uint8_t *envelope, size_t len, unsigned attempts);
HV_MUST_CHECK hv_err hv_store_next(hv_store *s, const char *recipient, int64_t after_seq,
                                   size_t max, hv_store_visit fn, void *arg);

/* Counts one more delivery attempt of message `id`. */
HV_MUST_CHECK hv_err hv_store_attempted(hv_store *s, const uint8_t id[16]);

/* Moves message `id` (queued for `recipient`) to the dead letters with a
 * reason code and text, and records a notice for its sender, whose id goes
 * to `sender` (capacity 65) when not NULL. Sets `*found`. Must be inside a
 * transaction. */
HV_MUST_CHECK hv_err hv_store_bury(hv_store *s, const uint8_t id[16], const char *recipient,
                                   unsigned code, const char *reason, int64_t now_ms,
                                   bool *found, char *sender);

/* Moves up to `max` messages past their expiry to the dead letters, each
 * with an EXPIRED notice for its sender; returns how many in `*moved` and
 * calls `fn(arg, id)` for each when `fn` is not NULL. Also forgets dedup
 * ids past their expiry. Must be inside a transaction. */
typedef void (*hv_store_id_visit)(void *arg, const uint8_t id[16]);
HV_MUST_CHECK hv_err hv_store_expire(hv_store *s, int64_t now_ms, size_t max, size_t *moved,
                                     hv_store_id_visit fn, void *arg);

/* Notices owed to `node` (EXPIRED or dead-lettered messages it sent). */
typedef bool (*hv_store_notice_visit)(void *arg, const uint8_t id[16], unsigned code,
                                      const char *reason);
HV_MUST_CHECK hv_err hv_store_notices(hv_store *s, const char *node, size_t max,
                                      hv_store_notice_visit fn, void *arg);

/* Drops the notice about `id` owed to `node` (the sender acknowledged it).
 * Must be inside a transaction. */
HV_MUST_CHECK hv_err hv_store_notice_done(hv_store *s, const char *node, const uint8_t id[16],
                                          bool *found);

/* A peer broker reports what became of message `id`, which this broker
 * forwarded to it: records the notice for the message's sender, found
 * through the dedup window (its id goes to `sender`, capacity 65). Sets
 * `*found` (false when the id is no longer known). In a transaction. */
HV_MUST_CHECK hv_err hv_store_notice_relay(hv_store *s, const uint8_t id[16], unsigned code,
                                           const char *reason, bool *found, char *sender);

/* Drops the notice about `id`, whoever it was owed to (a peer broker took
 * it over). Message ids are unique, so the id alone names it. */
HV_MUST_CHECK hv_err hv_store_notice_done_id(hv_store *s, const uint8_t id[16], bool *found);

/* --- Notices across borders (hv_store_notice.c) */

/* The envelope of dead letter `id`, as it was stored: caller owns `*out`
 * (free()). HV_OK, HV_ENOTFOUND (purged, or never here), HV_ESTORE,
 * HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_store_dead_envelope(hv_store *s, const uint8_t id[16], uint8_t **out,
                                            size_t *len);

/* The sender the dedup window still names for `id` (`*found` false once
 * it is pruned, or for an id never taken in here). */
HV_MUST_CHECK hv_err hv_store_dedup_sender(hv_store *s, const uint8_t id[16],
                                           char sender[HV_NODE_ID_MAX + 1], bool *found);

/* Keeps a notice about `id` for `node` (a NOTICE from a peer whose proof
 * checked). In a transaction. */
HV_MUST_CHECK hv_err hv_store_notice_keep(hv_store *s, const char *node, const uint8_t id[16],
                                          unsigned code, const char *reason);

/* Calls `fn` with each queue key (a recipient, or "@broker" for a peer)
 * and how many envelopes wait on it. */
typedef void (*hv_store_depth_visit)(void *arg, const char *queue, int64_t count);
HV_MUST_CHECK hv_err hv_store_depths(hv_store *s, hv_store_depth_visit fn, void *arg);

/* A dead letter's metadata, for operators: never the envelope's bytes. */
typedef struct hv_dead {
    uint8_t id[16];                   /* message id */
    const char *sender;               /* node ids (borrowed during the visit) */
    const char *recipient;            /* queue it died on */
    unsigned type;                    /* message type */
    unsigned code;                    /* why (hv_err) */
    const char *reason;               /* and in words */
    unsigned attempts;                /* deliveries tried */
    int64_t stored_ms, died_ms;       /* Unix ms */
    size_t bytes;                     /* envelope size */
} hv_dead;
typedef bool (*hv_store_dead_visit)(void *arg, const hv_dead *d);

/* Lists up to `max` dead letters, newest first. */
HV_MUST_CHECK hv_err hv_store_dead_list(hv_store *s, size_t max, hv_store_dead_visit fn,
                                        void *arg);

/* Puts dead letter `id` back in its queue (after the others), if its time
 * to live has not passed; its queue key goes to `queue` (capacity 66).
 * Returns HV_OK, HV_ENOTFOUND, HV_EEXPIRED. In a transaction. */
HV_MUST_CHECK hv_err hv_store_dead_requeue(hv_store *s, const uint8_t id[16], int64_t now_ms,
                                           char *queue);

/* Deletes dead letter `id` for good. HV_OK or HV_ENOTFOUND. In a transaction. */
HV_MUST_CHECK hv_err hv_store_dead_purge(hv_store *s, const uint8_t id[16]);

/* Records an operator's action on the store (who, what, on which id, result). */
HV_MUST_CHECK hv_err hv_store_admin_record(hv_store *s, int64_t now_ms, const char *operator_id,
                                           const char *action, const uint8_t id[16],
                                           const char *result);

/* Totals for operators and tests. */
typedef struct hv_store_stats {
    int64_t queued;  /* messages awaiting delivery */
    int64_t dead;    /* dead letters */
    int64_t notices; /* notices awaiting their sender */
    int64_t retained; /* delivered envelopes in the replay window */
} hv_store_stats;
HV_MUST_CHECK hv_err hv_store_stats_get(hv_store *s, hv_store_stats *out);

/* Audit records that ride in the group transaction (hv_audit_pending):
 * `lines` ending with record `last_seq` are stored with the changes they
 * record (opens the transaction if none is); released once the audit file
 * holding them is synced; replayed, oldest first, into the file after a
 * crash (hv_audit_recover). */
HV_MUST_CHECK hv_err hv_store_audit_put(hv_store *s, uint64_t last_seq, const char *lines,
                                        size_t len);
HV_MUST_CHECK hv_err hv_store_audit_release(hv_store *s, uint64_t upto_seq);
typedef hv_err (*hv_store_audit_visit)(void *arg, const char *lines, size_t len);
HV_MUST_CHECK hv_err hv_store_audit_replay(hv_store *s, hv_store_audit_visit fn, void *arg);

/* For metrics (hv_store_metrics.c): each queue key with how many envelopes
 * wait on it and when the one stored longest ago was stored (Unix ms). */
typedef void (*hv_store_age_visit)(void *arg, const char *queue, int64_t count,
                                   int64_t oldest_ms);
HV_MUST_CHECK hv_err hv_store_queue_ages(hv_store *s, hv_store_age_visit fn, void *arg);

/* For metrics: how many dead letters are held for each reason code. */
typedef void (*hv_store_reason_visit)(void *arg, unsigned code, int64_t count);
HV_MUST_CHECK hv_err hv_store_dead_reasons(hv_store *s, hv_store_reason_visit fn, void *arg);

#endif
