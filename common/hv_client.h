/* The client side of the broker protocol (proto/PROTOCOL.md §5), used by
 * every worker and by the CLI.
 *
 * - Sending goes through a durable outbox (SQLite): hv_client_send returns
 *   once the envelope is committed locally; it is then sent, and sent again
 *   until the broker answers STORED, across broker outages and across this
 *   process's own restarts.
 * - Receiving deduplicates by message id; the ACK leaves only after the id
 *   is committed as seen. Commits are grouped: an ACK waits at most 5 ms
 *   (or for 256 others) in hv_client_poll/_recv; hv_client_flush forces it.
 * - Credit: at most `window` deliveries are in flight.
 * - Heartbeats both ways; silence for dead_after_ms means reconnect.
 * - A store that `haven restore` wrote asks, in its HELLOs until READY,
 *   for the broker's replay of what was delivered since the backup
 *   (replay_since, proto/PROTOCOL.md §5.2); the seen ids drop what the
 *   backup already had, so the application gets each message once.
 *
 * Single-threaded: one thread uses a client. */
#ifndef HV_CLIENT_H
#define HV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_err.h"

typedef struct hv_client_config {
    const char *node_id;            /* this node's id */
    const hv_keypair *keys;         /* this node's keys (borrowed) */
    const char *endpoint;           /* the broker's workers endpoint */
    uint8_t broker_transport_pk[HV_PK_BYTES]; /* the broker's CurveZMQ key */
    const char *store_path;         /* SQLite file for outbox and seen ids */
    uint32_t window;                /* deliveries in flight (0: 64) */
    uint32_t heartbeat_ms;          /* 0: 1000 */
    uint32_t dead_after_ms;         /* 0: 3000 */
    uint32_t resend_ms;             /* resend a SEND not STORED after this (0: 3000) */
} hv_client_config;

typedef struct hv_client hv_client;

/* A message delivered to this node. Fields are public; `env` borrows from
 * `bytes`. Owned by the caller until hv_client_ack or hv_client_nack. */
typedef struct hv_delivery {
    uint8_t *bytes;    /* the envelope's bytes */
    size_t len;        /* their length */
    hv_envelope env;   /* decoded header (body borrowed from bytes) */
    uint32_t attempt;  /* 1 on first delivery */
} hv_delivery;

/* Something the broker reported about a message this node sent. */
typedef struct hv_notice {
    uint8_t id[16];       /* message id */
    uint16_t code;        /* hv_err: HV_EEXPIRED, HV_EFORBIDDEN, ... */
    char text[257];       /* explanation */
} hv_notice;

/* Opens the store and connects. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_client_open(hv_client **out, const hv_client_config *cfg,
                                    hv_errmsg *e);

/* Makes `keys` (borrowed; it must outlive its use here, as the config's)
 * this client's keys from now on. When its transport key differs from the
 * one in use, the client commits what it can, says BYE and reconnects with
 * the new key (a rotation, proto/PROTOCOL.md §7.1); the outbox is sent again
 * on the new connection. Returns HV_OK or HV_EIO. */
HV_MUST_CHECK hv_err hv_client_set_keys(hv_client *c, const hv_keypair *keys);

/* Commits what is pending, says BYE and closes; safe on NULL and twice. */
void hv_client_close(hv_client **c);

/* Puts envelopes in the durable outbox; returns after the commit. An
 * envelope whose id is already in the outbox is accepted once. */
HV_MUST_CHECK hv_err hv_client_send(hv_client *c, const uint8_t *env, size_t len);
HV_MUST_CHECK hv_err hv_client_send_many(hv_client *c, const uint8_t *const *envs,
                                         const size_t *lens, size_t n);

/* Application transactions. A worker keeps its own tables in the client's
 * store (hv_client_db) so that handling a delivery is one transaction:
 * its own changes, the envelopes it sends in answer (hv_client_queue) and
 * the delivery's acknowledgement (hv_client_ack, last) commit together or
 * not at all. A crash at any point therefore leaves either nothing done,
 * and the delivery comes again, or everything done and answered.
 *
 * hv_client_begin opens the transaction (joining one already open);
 * hv_client_commit commits it, then sends what was queued and the
 * acknowledgements; hv_client_rollback abandons the application's changes
 * since hv_client_begin (call it only before hv_client_ack), while what the
 * client itself had pending in the same SQLite transaction stays.
 * hv_client_queue outside hv_client_begin fails with HV_EINVAL, and
 * hv_client_rollback there does nothing. While the transaction is open,
 * hv_client_poll and _recv commit nothing: only hv_client_commit (or
 * hv_client_flush) does. */
HV_MUST_CHECK hv_err hv_client_begin(hv_client *c);
HV_MUST_CHECK hv_err hv_client_queue(hv_client *c, const uint8_t *env, size_t len);
HV_MUST_CHECK hv_err hv_client_commit(hv_client *c);
void hv_client_rollback(hv_client *c);

/* The client's SQLite handle (borrowed), for the application's own tables
 * inside its transactions. */
struct sqlite3 *hv_client_db(hv_client *c);

/* Does I/O for up to `timeout_ms`: sends, receives, heartbeats, reconnects.
 * Returns HV_OK or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_client_poll(hv_client *c, int timeout_ms);

/* Returns the next new delivery, or HV_ETIMEOUT after `timeout_ms`. */
HV_MUST_CHECK hv_err hv_client_recv(hv_client *c, int timeout_ms, hv_delivery **out);

/* Records the delivery as processed; the ACK follows its commit. Frees
 * `*d` and sets it to NULL. */
HV_MUST_CHECK hv_err hv_client_ack(hv_client *c, hv_delivery **d);

/* Refuses the delivery for good (it goes to the broker's dead letters with
 * `code`). Frees `*d` and sets it to NULL. */
HV_MUST_CHECK hv_err hv_client_nack(hv_client *c, hv_delivery **d, hv_err code,
                                    const char *text);

/* Commits pending acknowledgements and sends them. */
HV_MUST_CHECK hv_err hv_client_flush(hv_client *c);

/* Frees a delivery without answering it (it will be delivered again). */
void hv_delivery_free(hv_delivery **d);

/* True once the broker answered HELLO with READY on this connection. */
bool hv_client_ready(const hv_client *c);

/* Polls until ready or `timeout_ms` passes: HV_OK or HV_ETIMEOUT. */
HV_MUST_CHECK hv_err hv_client_wait_ready(hv_client *c, int timeout_ms);

/* Envelopes in the outbox that the broker has not yet STORED. */
size_t hv_client_outbox_size(const hv_client *c);

/* True while envelope `id` is in the outbox: queued (committed or in the
 * open transaction) and not yet STORED by the broker. */
bool hv_client_outbox_has(const hv_client *c, const uint8_t id[16]);

/* Calls `fn(arg, id)` whenever the broker confirms custody (STORED) of an
 * envelope from the outbox; for benchmarks and progress displays. */
typedef void (*hv_client_stored_fn)(void *arg, const uint8_t id[16]);
void hv_client_on_stored(hv_client *c, hv_client_stored_fn fn, void *arg);

/* Pops the oldest notice; false when there is none. */
bool hv_client_notice(hv_client *c, hv_notice *out);

/* Calls `fn(arg, m)` for each READY (after the client's own handling)
 * and for every PREKEY, PREKEY_REFUSED and AUDIT_WITNESSED the broker
 * sends: the worker's prekeys (services/common/hv_prekeys.h) publish and
 * learn bundles so, and its witness (hv_witness.h) hears of its heads.
 * `m` and what it points to are borrowed for the call. */
struct hv_control;
typedef void (*hv_client_control_fn)(void *arg, const struct hv_control *m);
void hv_client_on_control(hv_client *c, hv_client_control_fn fn, void *arg);

/* Sends one control message that is not about envelopes (PREKEY_PUT,
 * PREKEY_GET, AUDIT_HEAD, AUDIT_HEAD_GET) on the current connection. Returns HV_OK, HV_EPROTO when no
 * session is ready (the caller tries again after the next READY), HV_ERATE
 * when the socket's queue is full, or the encoder's error. `m` stays the
 * caller's. */
HV_MUST_CHECK hv_err hv_client_send_control(hv_client *c, const struct hv_control *m);

#endif
