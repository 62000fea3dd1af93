/* The route view's data (internal to broker/; issue 23): each broker tells
 * its peers how it is, in content-free summaries (proto/hv_health.h), and
 * keeps the latest summary of every other broker it hears of, from its
 * peers and relayed by them, so that each country's dashboard shows the
 * whole route and which link on it is down (PROTOCOL.md §5.3, "Health").
 *
 * hv_broker_health.c owns hv_broker_health: it makes this broker's summary
 * from the operators' numbers (hv_broker_ops.h) and custody's "For
 * operators" calls, sends it and the summaries it holds over our links
 * every HV_HEALTH_INTERVAL_MS, and keeps what peers send. Not for use
 * outside broker/. */
#ifndef HV_BROKER_HEALTH_H
#define HV_BROKER_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hv_broker.h"
#include "hv_broker_session.h"
#include "hv_control.h"
#include "hv_health.h"

#define HV_HEALTH_INTERVAL_MS 2000 /* a summary to each peer this often */
#define HV_HEALTH_STALE_MS 8000    /* a summary not renewed this long: "unknown" */
#define HV_HEALTH_HELD_MAX 64      /* summaries kept: one per broker of the registry */

/* The health part of the broker. */
typedef struct hv_broker_health {
    int64_t next_send;             /* monotonic ms of the next round of summaries */
    struct hv_health_held {
        hv_health h;               /* the newest summary of that broker */
        int64_t received_ms;       /* wall clock ms when it came (not its maker's clock) */
        char via[HV_NODE_ID_MAX + 1]; /* the peer that handed it to us */
    } held[HV_HEALTH_HELD_MAX];    /* by broker, in the order first heard of */
    size_t n_held;                 /* how many */
    uint64_t refused;              /* summaries dropped (undecodable, about us, unknown) */
} hv_broker_health;

/* Sends this broker's summary, and each one it holds that is not stale
 * and not the peer's own, on every ready link, when a round is due. */
void hv_broker_health_tick(hv_broker *b, int64_t now);

/* A HEALTH from peer session `s` (a peer broker on our peers' socket):
 * keeps its summary if it is newer than the one held for that broker.
 * One that does not decode, names this broker or a broker the registry
 * does not list is dropped and logged; the session stays up. */
void hv_broker_health_on(hv_broker *b, hv_session *s, const hv_control *m);

/* The route for operators: this broker's summary now, then each held one
 * with its state ("up", or "unknown" once stale), age and the peer it came
 * through. Caller owns the result (NULL when out of memory). */
json_t *hv_broker_health_route_json(hv_broker *b);

#endif
