/* The broker's prekey directory (internal to broker/; proto/PROTOCOL.md
 * §5.5): the signed prekey bundles of the nodes homed here, uploaded by
 * the nodes themselves, and of the nodes homed at peers, pushed by those
 * peers over our links. It answers a worker's PREKEY_GET, pushes each new
 * bundle to the connected workers and (for its own nodes) to every peer
 * link, and sends all of its own nodes' bundles when a link comes up.
 *
 * The directory is in memory: a restarted broker has it back as soon as
 * its nodes say HELLO again (they upload after every READY) and its peers'
 * links come up. Brokers route bundles and cannot forge them (each is
 * signed by its node's registered signing key); they check the signature
 * anyway, so that a garbage bundle is refused at the edge. */
#ifndef HV_BROKER_PREKEYS_H
#define HV_BROKER_PREKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "hv_broker.h"
#include "hv_broker_session.h"
#include "hv_control.h"

#define HV_PREKEYS_PER_NODE 4 /* bundles kept per node: the newest */

typedef struct hv_broker_prekey hv_broker_prekey; /* one bundle (hv_broker_prekeys.c) */

/* The directory's part of the broker. */
typedef struct hv_broker_prekeys {
    hv_broker_prekey *entries; /* the bundles held */
    size_t n;                  /* how many */
    size_t cap;                /* allocated */
    uint64_t accepted;         /* PREKEY_PUTs taken (new bundles) since start */
    uint64_t refused;          /* PREKEY_PUTs refused since start */
} hv_broker_prekeys;

/* A PREKEY_PUT from session `s` (a worker for itself, or a peer broker for
 * a node homed there): checks, keeps, confirms with PREKEY, or answers
 * PREKEY_REFUSED with the code of the first check that failed. */
void hv_broker_prekeys_on_put(hv_broker *b, hv_session *s, const hv_control *m);

/* A worker's PREKEY_GET: one PREKEY per usable bundle of the node (or of
 * every node, for ""), or PREKEY_REFUSED(HV_ENOTFOUND). */
void hv_broker_prekeys_on_get(hv_broker *b, hv_session *s, const hv_control *m);

/* A worker's session became ready: sends it every bundle held (but its
 * own) right after READY, so that they reach it before any DELIVER: a
 * worker that just started seals its first answers to prekeys too. */
void hv_broker_prekeys_welcome(hv_broker *b, hv_session *s);

/* Our link to a peer came up: sends it the bundles of our own nodes. */
void hv_broker_prekeys_link_up(hv_broker *b, hv_session *link);

/* Frees the directory; safe twice. */
void hv_broker_prekeys_close(hv_broker *b);

#endif
