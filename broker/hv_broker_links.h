/* The broker's links to peer brokers (internal to broker/): [federation]
 * peers, the peers' ROUTER socket, and our outgoing link to each peer, a
 * session (hv_broker_session.h) on a DEALER that is a CurveZMQ client
 * pinned to the peer's registered key. This module connects, says HELLO,
 * reads what the peer answers, keeps the link's timers and takes it down;
 * what the peer's answers mean for the envelopes (STORED, a refusal) it
 * hands to custody (hv_broker_custody.h). Not for use outside broker/. */
#ifndef HV_BROKER_LINKS_H
#define HV_BROKER_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_broker.h"
#include "hv_broker_session.h"
#include "hv_registry.h"
#include "hv_zap.h"

/* The links' part of the broker. */
typedef struct hv_broker_links {
    void *router;                  /* peer brokers' ROUTER socket, or NULL */
    char ids[HV_PEERS_MAX][HV_NODE_ID_MAX + 1]; /* brokers we peer with */
    size_t n;                      /* how many */
} hv_broker_links;

/* Reads [federation] peers: each must be another broker of the registry
 * with a peers' endpoint; fills the peers' bind from the registry when the
 * configuration leaves it empty. Returns HV_OK or HV_ECONFIG. */
HV_MUST_CHECK hv_err hv_broker_links_parse(hv_broker *b, const hv_node *self, hv_errmsg *e);

/* True when `id` is a broker this one peers with. */
bool hv_broker_links_is_peer(const hv_broker *b, const char *id);

/* Makes the peers' ROUTER socket and secures it with the transport
 * secret `secret_z85`, when there are peers. */
HV_MUST_CHECK hv_err hv_broker_links_socket(hv_broker *b, const char *secret_z85, hv_errmsg *e);

/* Binds the peers' socket and opens a link to every peer. */
HV_MUST_CHECK hv_err hv_broker_links_bind(hv_broker *b, hv_errmsg *e);

/* Reads what each peer sent on our links. */
void hv_broker_links_drain(hv_broker *b, int64_t now);

/* Times on our link `s`: HELLO again, heartbeats, silence, leases. */
void hv_broker_links_timers(hv_broker *b, hv_session *s, int64_t now);

/* Takes link `s` down (logged and published when it was up) and
 * connects again. */
void hv_broker_links_down(hv_broker *b, hv_session *s, int64_t now, const char *why);

/* Sends the peer on link `s` the notices owed to the nodes homed there. */
void hv_broker_links_notices(hv_broker *b, const hv_session *s);

/* Closes the peers' socket (the links' own sockets close with their
 * sessions). */
void hv_broker_links_close(hv_broker *b);

#endif
