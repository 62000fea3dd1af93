/* The broker's sessions (internal to broker/): one connected client per
 * hv_session, in the table the loop owns (hv_broker_internal.h). This
 * module sends control messages to sessions, creates and drops them, reads
 * and dispatches their frames, handles HELLO and keeps their timers
 * (heartbeats, silence, leases). What a frame asks of custody it hands to
 * hv_broker_custody.h; our own links to peer brokers are sessions too,
 * driven by hv_broker_links.h. Not for use outside broker/. */
#ifndef HV_BROKER_SESSION_H
#define HV_BROKER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_broker.h"
#include "hv_control.h"
#include "hv_control_batch.h"
#include "hv_registry.h"

#define HV_RID_MAX 256 /* ZeroMQ routing ids are at most 255 bytes */

/* One delivery awaiting its ACK (or, on a link, the peer's STORED). */
typedef struct hv_flight {
    int64_t seq;      /* queue sequence number */
    uint8_t id[16];   /* message id */
    int64_t sent_ms;  /* when it was delivered (monotonic) */
} hv_flight;

/* A connected client, known by its ZeroMQ routing id. Fields are read by
 * every broker module; this one creates and drops sessions. */
typedef struct hv_session {
    void *sock;                  /* the socket it lives on */
    uint8_t rid[HV_RID_MAX];     /* routing id (none on our own link to a peer) */
    size_t rid_len;              /* its length */
    char node[HV_NODE_ID_MAX + 1]; /* authenticated node id (ZAP User-Id) */
    uint8_t key[32];             /* the transport key it authenticated with (ZAP
                                    metadata); on our link, the peer's key we pinned */
    bool has_key;                /* key is set */
    char queue[HV_NODE_ID_MAX + 2]; /* queue it is served from: the node id, or
                                       "@broker" for our link to that peer */
    bool peer;                   /* a peer broker connected to our peers' socket */
    bool outgoing;               /* our link to a peer broker (we are its client) */
    int64_t hello_at;            /* outgoing: when HELLO was last sent */
    int64_t up_since;            /* wall clock ms when it became ready */
    uint8_t role;                /* the node's role */
    bool ready;                  /* HELLO accepted */
    uint32_t window;             /* deliveries allowed in flight */
    hv_flight *flight;           /* in-flight deliveries, in delivery order */
    size_t n_flight;             /* how many */
    size_t cap_flight;           /* allocated */
    int64_t cursor;              /* highest sequence number delivered */
    bool maybe_more;             /* the queue may hold more for this node */
    int64_t paused_until;        /* no delivery before this (backoff), monotonic */
    int64_t backoff_ms;          /* next backoff */
    int64_t last_recv;           /* monotonic ms of the last frame received */
    int64_t last_send;           /* monotonic ms of the last frame sent */
    double tokens;               /* rate limit bucket */
    int64_t tokens_at;           /* when the bucket was last filled */
    bool batch;                  /* the other side speaks BATCH (HELLO's or, on our
                                    link, READY's features) */
    size_t batch_max;            /* the largest BATCH it takes, in bytes */
    bool old_peer;               /* our link: the peer refused HELLO's features (a
                                    broker from before BATCH); the old HELLO from now */
    hv_control_batch out;        /* STOREDs, DELIVERs (SENDs on our link) not yet sent */
} hv_session;

/* Sends one control message to a routing id (none: our own link's
 * DEALER). Returns HV_OK, HV_EUNROUTABLE when the peer is gone, HV_ERATE
 * when its queue is full, or the encoder's error. `m` stays the caller's. */
hv_err hv_session_send_to(void *sock, const uint8_t *rid, size_t rid_len, const hv_control *m);

/* hv_session_send_to for a session, noting when it last heard from us.
 * To a session that speaks BATCH, a batchable command is added to the
 * session's batch, which hv_session_flush sends; any other command sends
 * the batch first, so that frames keep their order. HV_ERATE when the
 * batch is full and its socket will not take it. */
hv_err hv_session_send(hv_session *s, const hv_control *m);

/* Sends what the session's batch holds. HV_OK (also when empty); HV_ERATE
 * when the socket is full (the batch is kept, to be sent later);
 * HV_EUNROUTABLE when the peer is gone (the batch is given up). */
hv_err hv_session_flush(hv_session *s);

/* hv_session_flush for every session, as the loop's pass ends and before
 * it sleeps. Returns true when a batch is left for a full socket, so that
 * the loop comes back soon. */
bool hv_session_flush_all(hv_broker *b);

/* Sends an ERROR (`id` may be NULL), counts the refusal and publishes a
 * "refused" event. */
void hv_session_refuse(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len, hv_err code,
                       const uint8_t *id, const char *text);

/* The session of routing id `rid` on `sock`, or NULL. Borrowed: valid
 * until the next session is created or dropped. */
hv_session *hv_session_find_rid(hv_broker *b, void *sock, const uint8_t *rid, size_t len);

/* The ready session of a node connected to us (never our own links to
 * peers), or NULL. Borrowed, as above. */
hv_session *hv_session_find_node(hv_broker *b, const char *node);

/* The ready session served from queue `key` (a node id, or "@peer"), or
 * NULL. Borrowed, as above. */
hv_session *hv_session_find_queue(hv_broker *b, const char *key);

/* Adds a session for `node` (not ready yet); NULL when out of memory.
 * Borrowed, as above. */
hv_session *hv_session_new(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len,
                           const char *node);

/* Forgets a session; its in-flight deliveries stay queued (their attempts
 * counted) and are sent again on its next session. The last session moves
 * into its slot. */
void hv_session_drop(hv_broker *b, hv_session *s, const char *why);

/* Takes one token from the session's rate limit bucket; false when empty. */
bool hv_session_rate_ok(hv_broker *b, hv_session *s, int64_t now);

/* Reads up to one batch of frames from a ROUTER (workers' or peers') and
 * handles each. Returns how many were read. */
size_t hv_session_drain(hv_broker *b, void *sock, int64_t now);

/* Heartbeats, silence and leases of every session (our links through
 * hv_broker_links_timers). */
void hv_session_timers(hv_broker *b, int64_t now);

#endif
