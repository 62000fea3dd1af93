/* Whom the broker trusts, and why not: one job, the decision whether a
 * node with a given CurveZMQ transport key may use one of the broker's
 * doors under a given registry. The ZAP handler asks it at every
 * handshake (hv_zap.h), the sessions at every HELLO from a connection
 * without one, and the broker asks it again for every open session on
 * every registry change (hv_broker_trust.h), so that the three never
 * disagree. Pure: reads the registry, keeps nothing, links into the fuzz
 * target without the broker.
 *
 * The connection's key reaches the broker's sockets as ZAP metadata: the
 * handler's 200 reply carries the property HV_ZAP_KEY_PROPERTY, the key
 * in 64 lowercase hex digits, which libzmq hands back with every message
 * of that connection (zmq_msg_gets). */
#ifndef HV_TRUST_H
#define HV_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_registry.h"

#define HV_ZAP_KEY_PROPERTY "X-Key" /* ZAP metadata: the transport key, hex */
#define HV_TRUST_PEERS_MAX 32
#define HV_TRUST_WHY_MAX 160        /* a refusal's reason, with its NUL */

/* The broker's doors: its sockets, as ZAP domains tell them apart. */
typedef enum hv_door {
    HV_DOOR_WORKERS = 0, /* workers' ROUTER (intake, router, provider) */
    HV_DOOR_PEERS = 1,   /* peer brokers' ROUTER, and our links to them */
    HV_DOOR_OPS = 2,     /* operators' requests and events */
} hv_door;

/* What a broker is, for the decision: its id and country, the roles its
 * workers' door serves, the brokers it peers with. Plain data; the
 * caller fills it (hv_broker_trust_self) and owns it. */
typedef struct hv_trust_self {
    char id[HV_NODE_ID_MAX + 1];                    /* this broker's node id */
    char country[3];                                /* its country */
    unsigned roles;                                 /* workers' door: HV_ROLE_BIT mask */
    char peers[HV_TRUST_PEERS_MAX][HV_NODE_ID_MAX + 1]; /* brokers it peers with */
    size_t n_peers;                                 /* how many */
} hv_trust_self;

/* Whether the node with transport key `pk` may use `door` of `self`
 * under `reg` at `now` (Unix seconds). `node_id` is the node the
 * connection was admitted as (a session's), or NULL to find the node by
 * its key (the ZAP handshake). The key must be the node's current or next
 * transport key; the node active; of a role that door serves; a worker
 * homed at this broker; a peer listed by this broker; an operator whose
 * scope covers this broker's country. Returns HV_OK; HV_EAUTH when the key
 * or the node is not (or no longer) good; HV_EFORBIDDEN when the node is,
 * but not at this door (role, home, peering, scope). The reason is in `why`
 * ("key rotated", "revoked", "homed at broker.xa, not here", ...). `*node`
 * (may be NULL) gets the node found, or NULL. */
hv_err hv_trust_admit(const hv_registry *reg, const hv_trust_self *self, hv_door door,
                    const char *node_id, const uint8_t pk[32], uint64_t now,
                    const hv_node **node, char why[HV_TRUST_WHY_MAX]);

/* Formats a transport key as the metadata value: 64 lowercase hex digits. */
void hv_trust_key_format(const uint8_t pk[32], char out[65]);

/* Parses the metadata value back: exactly 64 hex digits, NUL-terminated
 * (NULL is refused). Returns HV_OK or HV_EINVAL. */
HV_MUST_CHECK hv_err hv_trust_key_parse(const char *text, uint8_t pk[32]);

#endif
