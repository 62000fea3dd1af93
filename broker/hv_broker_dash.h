/* What the broker's dashboard shows beyond the stats snapshot (internal
 * to broker/; issue 23): the last hour of rates, latency percentiles and
 * depths as one point every HV_DASH_STEP_MS, kept in memory in a bounded
 * ring; the nodes homed here, connected or not, with when each was last
 * seen; each queue's oldest message's age; the latest dead letters with
 * their reasons; and the route (hv_broker_health.h).
 *
 * hv_broker_dash.c owns hv_broker_dash. It reads custody only through the
 * "For operators" calls and the latency histogram through hv_broker_ops;
 * its JSON goes only into the HTTP snapshot (/api/stats), which carries no
 * content: node ids, roles, counts, codes, reasons and times. Not for use
 * outside broker/. */
#ifndef HV_BROKER_DASH_H
#define HV_BROKER_DASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hv_broker.h"
#include "hv_ids.h"

#define HV_DASH_STEP_MS 10000  /* one history point this often */
#define HV_DASH_POINTS 360     /* an hour of them */
#define HV_DASH_NODES_MAX 256  /* nodes homed here whose last sighting is kept */
#define HV_DASH_DEAD_SHOWN 20  /* latest dead letters on the page */
#define HV_DASH_BUCKETS 12     /* = HV_OPS_LAT_BUCKETS + 1 (+Inf) */

/* One point of the history: what happened over the step before `at_ms`. */
struct hv_dash_point {
    int64_t at_ms;             /* wall clock ms at its end */
    float stored, delivered, acked; /* per second over the step */
    float p50, p90, p99;       /* ack latency at most, ms; < 0: no ack in the step */
    uint32_t queued;           /* envelopes waiting at its end */
    uint32_t dead;             /* dead letters held at its end */
};

/* The dashboard's part of the broker. */
typedef struct hv_broker_dash {
    int64_t next_point;        /* monotonic ms of the next history point */
    struct hv_dash_point points[HV_DASH_POINTS]; /* the ring */
    size_t n_points;           /* how many are filled */
    size_t next;               /* the slot written next */
    uint64_t last_stored, last_delivered, last_acked; /* counters at the last point */
    uint64_t last_buckets[HV_DASH_BUCKETS]; /* latency histogram at the last point */
    int64_t last_at;           /* monotonic ms of the last point (0: none yet) */
    struct hv_dash_seen {
        char node[HV_NODE_ID_MAX + 1]; /* a node homed here */
        int64_t last_seen_ms;  /* wall clock ms it was last seen connected (at a snapshot) */
    } seen[HV_DASH_NODES_MAX]; /* last sightings */
    size_t n_seen;             /* how many */
} hv_broker_dash;

/* Takes a history point when one is due (called every pass of the loop:
 * a comparison, but for the point's store totals once a step). */
void hv_broker_dash_sample(hv_broker *b, int64_t now);

/* Notes that `node`'s session is ending at `wall` (ms): its "last seen"
 * (hv_session_drop calls it, so that a short session is seen too). */
void hv_broker_dash_seen(hv_broker *b, const char *node, int64_t wall);

/* Notes which nodes are connected now (their "last seen", so within one
 * snapshot's time), then adds the dashboard's members to the HTTP
 * snapshot `st`: history, nodes, queue_ages, dead_recent, route
 * (docs/API.md). */
void hv_broker_dash_json(hv_broker *b, json_t *st);

#endif
