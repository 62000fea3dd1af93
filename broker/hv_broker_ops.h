/* The broker's operators' side (internal to broker/): everything an
 * operator sees, none of which decides what becomes of an envelope.
 *
 * hv_broker_ops.c owns the operators' sockets: requests on [operators]
 * bind (`haven stats`, dead letters; proto/PROTOCOL.md §5.4) and the events
 * on [operators] events (`haven monitor`). hv_broker_metrics.c keeps the
 * numbers custody does not (ack latency histogram, flows between
 * countries, per-second samples for rates), makes the stats snapshot and
 * its Prometheus text, and hands both to the HTTP thread (hv_http.h).
 *
 * Custody reads nothing here: it reports through the observation calls
 * below. Operators read custody only through the "For operators" part of
 * hv_broker_custody.h. Not for use outside broker/. */
#ifndef HV_BROKER_OPS_H
#define HV_BROKER_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hv_broker.h"
#include "hv_http.h"
#include "hv_ids.h"
#include "hv_trust.h"
#include "hv_zap.h" /* HV_PEERS_MAX */

#define HV_OPS_LAT_BUCKETS 11   /* ack latency histogram buckets (hv_broker_metrics.c) */
#define HV_OPS_FLOWS_MAX 256    /* country pairs counted */
#define HV_OPS_RATE_SAMPLES 11  /* rates over the last ten seconds */
#define HV_OPS_CONNS_MAX 64     /* operators' connections remembered (requests, events) */

/* An operator's connection as the broker last saw it admitted: its node
 * and the transport key it authenticated with (ZAP metadata). */
typedef struct hv_ops_conn {
    uint8_t rid[256];              /* requests: routing id; events: unused */
    size_t rid_len;                /* its length */
    char node[HV_NODE_ID_MAX + 1]; /* operator's node id */
    uint8_t key[32];               /* its transport key */
} hv_ops_conn;

/* The operators' part of the broker. */
typedef struct hv_broker_ops {
    void *sock;                    /* operators' ROUTER socket, or NULL */
    void *events;                  /* operators' PUB socket for events, or NULL */
    hv_http *http;                 /* /metrics and friends, or NULL */
    int64_t next_publish;          /* monotonic ms of the next HTTP snapshot */
    uint64_t latency_buckets[HV_OPS_LAT_BUCKETS + 1]; /* ack latency histogram (+Inf last) */
    double latency_sum_s;          /* its sum, seconds */
    uint64_t latency_count;        /* its count */
    struct hv_ops_flow {
        char from[3], to[3];       /* countries */
        uint64_t count;            /* messages stored between them */
    } flows[HV_OPS_FLOWS_MAX];     /* stored messages by country pair */
    size_t n_flows;                /* how many pairs */
    struct hv_ops_rate_sample {
        int64_t at;                /* monotonic ms */
        uint64_t stored, delivered, acked; /* counters then */
    } rate_ring[HV_OPS_RATE_SAMPLES]; /* one per second, for recent rates */
    size_t rate_next;              /* next slot */
    int64_t next_rate_sample;      /* monotonic ms */
    int64_t started_ms;            /* wall clock at start, for uptime */
    struct hv_ops_peer_state {
        bool out_up, in_up;        /* our link to it up; its link to us up */
        int64_t out_since_ms, in_since_ms; /* wall clock ms of each one's last change */
    } peer_state[HV_PEERS_MAX];    /* by index in links.ids (hv_broker_ops_rate_sample) */
    hv_ops_conn conns[HV_OPS_CONNS_MAX]; /* request connections seen (oldest replaced) */
    size_t n_conns;                /* how many */
    size_t next_conn;              /* the slot replaced next when full */
    hv_ops_conn watchers[HV_OPS_CONNS_MAX]; /* events subscribers seen since the bind */
    size_t n_watchers;             /* how many */
    bool watchers_lost;            /* more than fit: any cut rebinds the events socket */
    bool events_rebind;            /* the events socket is to be bound again */
} hv_broker_ops;

/* ------------------------------------------------ lifecycle (ops.c) */

/* Makes the operators' sockets that broker.ini asks for and secures them
 * with the transport secret `secret_z85`. */
HV_MUST_CHECK hv_err hv_broker_ops_sockets(hv_broker *b, const char *secret_z85, hv_errmsg *e);

/* Binds the operators' sockets and starts the HTTP thread, if asked for. */
HV_MUST_CHECK hv_err hv_broker_ops_bind(hv_broker *b, hv_errmsg *e);

/* One pass of the loop: answers requests, notes events watchers, samples
 * the counters and publishes the HTTP snapshot when due. */
void hv_broker_ops_serve(hv_broker *b, int64_t now);

/* Checks every operator's connection remembered against the registry (as
 * `self` under it, at `now`, Unix seconds): a request connection no
 * longer admitted is noted as cut (its next request is refused by its key
 * anyway); when any events watcher is no longer admitted, the events
 * socket is closed and bound again, so that every watcher must pass the
 * handshake again (a PUB cannot drop one subscriber). */
void hv_broker_ops_recheck(hv_broker *b, const hv_trust_self *self, uint64_t now);

/* Closes the sockets and stops the HTTP thread; safe twice. */
void hv_broker_ops_close(hv_broker *b);

/* ------------------------------------------------ observation (ops.c) */

/* Publishes one event for operators: what happened, to which type of
 * message, between which countries, how big, how long it took. Never a
 * node id, never content. */
void hv_broker_event(hv_broker *b, const char *event, unsigned type, const char *from_cc,
                     const char *to_cc, size_t bytes, int64_t latency_ms, unsigned code);

/* Publishes `event` for envelope `env` (its type and countries from the
 * registry), when anyone may be watching. */
void hv_broker_event_envelope(hv_broker *b, const char *event, const uint8_t *env,
                              size_t len);

/* ------------------------------------------------ observation (metrics.c) */

/* A delivery was acknowledged (or refused, `nack`) `ms` after it went
 * out: its event, and the latency histogram. */
void hv_broker_ops_acked(hv_broker *b, bool nack, unsigned code, const char *to_cc, int64_t ms);

/* A message of `type` was committed: its event, and its country pair. */
void hv_broker_ops_stored(hv_broker *b, unsigned type, const char *from_cc, const char *to_cc,
                          uint32_t bytes);

/* ------------------------------------------------ snapshot (metrics.c) */

/* A snapshot for operators: counts, sessions, peers, queue depths, rates
 * and latency percentiles. Node ids, roles, countries and numbers only,
 * never content. Caller owns the result (NULL when out of memory). */
json_t *hv_broker_ops_stats_json(hv_broker *b);

/* Notes when each peer link went up or down (every pass of the loop) and
 * samples the counters once a second for the recent rates. */
void hv_broker_ops_rate_sample(hv_broker *b, int64_t now);

/* The recent rates per second (stored, delivered, acked, in that order)
 * over the per-second samples of the last ten seconds, and the span they
 * cover (0 before two samples: every rate 0 then). */
void hv_broker_ops_rates(const hv_broker *b, double rates[3], double *span_s);

/* The ack latency at most, ms, below which a share `q` of the `count`
 * acks counted in `buckets` (HV_OPS_LAT_BUCKETS + 1, +Inf last) fell: the
 * upper bound of the bucket that holds it; -1 when there are none or it is
 * in +Inf. */
double hv_broker_ops_percentile(const uint64_t *buckets, uint64_t count, double q);

/* Hands the HTTP thread a fresh snapshot, when one is due. */
void hv_broker_ops_publish(hv_broker *b, int64_t now);

#endif
