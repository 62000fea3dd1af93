/* A broker's health summary (issue 23): what one broker tells its peers of
 * itself so that every country's dashboard can show the whole route. It
 * travels inside the HEALTH control command (proto/PROTOCOL.md §5.3,
 * "Health"), peer to peer, and is passed on from broker to broker.
 *
 * Content-free by construction: broker ids, counts, rates, link states and
 * times only; never a worker's id, never anything of a message. */
#ifndef HV_HEALTH_H
#define HV_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_ids.h"

#define HV_HEALTH_VERSION 1     /* the summary's own format version */
#define HV_HEALTH_LINKS_MAX 32  /* = HV_TRUST_PEERS_MAX: a broker's [federation] peers */
#define HV_HEALTH_RATE_MAX 1000000000u /* thousandths per second: a million a second */
#define HV_HEALTH_TIME_MAX 9007199254740991ull /* 2^53 - 1 ms: exact in any JSON number */
#define HV_HEALTH_MAX 4096      /* the largest encoded summary, bytes */

/* One of the broker's links, as that broker sees it. */
typedef struct hv_health_link {
    char peer[HV_NODE_ID_MAX + 1]; /* the peer broker's id */
    bool out_up;                   /* its link to the peer is up */
    bool in_up;                    /* the peer's link to it is up */
    uint64_t out_since_ms;         /* Unix ms of out_up's last change */
    uint64_t in_since_ms;          /* Unix ms of in_up's last change */
    uint64_t queued;               /* envelopes waiting there for that peer */
} hv_health_link;

/* A decoded summary. Plain data: fields are public. */
typedef struct hv_health {
    char broker[HV_NODE_ID_MAX + 1]; /* the broker that made it */
    uint64_t made_ms;                /* when, Unix ms (its clock) */
    uint64_t registry_version;       /* the registry it uses */
    uint32_t stored_mps;             /* envelopes stored, thousandths per second */
    uint32_t delivered_mps;          /* delivered */
    uint32_t acked_mps;              /* acknowledged */
    uint64_t queued;                 /* envelopes waiting there in all */
    uint64_t dead;                   /* dead letters held there */
    uint32_t n_links;                /* how many links follow */
    hv_health_link links[HV_HEALTH_LINKS_MAX]; /* its links, one per peer */
} hv_health;

/* Encodes `h`. Caller owns `*out` (free()). Returns HV_OK, HV_EINVAL for a
 * field outside its limits (an invalid id, too many links, a time or rate
 * above its maximum), HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_health_encode(const hv_health *h, uint8_t **out, size_t *len);

/* Decodes `buf` strictly (PROTOCOL.md §5.3): the version first, every
 * field in its limits, link peers distinct and not the broker itself,
 * nothing left over. Errors: HV_ETOOBIG, HV_ETRUNCATED, HV_EVERSION,
 * HV_EDECODE, HV_ETRAILING. */
HV_MUST_CHECK hv_err hv_health_decode(const uint8_t *buf, size_t len, hv_health *out);

#endif
