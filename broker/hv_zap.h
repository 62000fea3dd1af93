/* The ZAP handler (ZeroMQ RFC 27) that decides who may connect to the
 * broker: only the CurveZMQ keys of registered, unrevoked, currently valid
 * nodes, each tagged with its node id as the ZAP User-Id.
 *
 * libzmq 4.3.4 lets every client in when no handler answers, unless
 * ZMQ_ZAP_DOMAIN is set and ZMQ_ZAP_ENFORCE_DOMAIN is 1; hv_zap_secure()
 * sets both and checks that they took. */
#ifndef HV_ZAP_H
#define HV_ZAP_H

#include <stdint.h>

#include "hv_err.h"
#include "hv_registry.h"

#define HV_ZAP_DOMAIN "haven"             /* the workers' socket */
#define HV_ZAP_DOMAIN_PEERS "haven-peers" /* the peer brokers' socket */
#define HV_ZAP_DOMAIN_OPS "haven-ops"     /* the operators' socket: operators only */
#define HV_PEERS_MAX 32

/* Who is admitted on each socket. */
typedef struct hv_zap_policy {
    unsigned roles;                                 /* HV_ZAP_DOMAIN: HV_ROLE_BIT mask */
    char (*peers)[HV_NODE_ID_MAX + 1];              /* HV_ZAP_DOMAIN_PEERS: broker ids */
    size_t n_peers;                                 /* how many */
} hv_zap_policy;

/* Binds the ZAP REP socket in `ctx`. Must run before any CURVE server
 * socket of that context binds. Caller owns `*out` (zmq_close). */
HV_MUST_CHECK hv_err hv_zap_start(void *ctx, void **out, hv_errmsg *e);

/* Makes `socket` a CURVE server with `secret_z85`, in ZAP domain `domain`,
 * with domain enforcement on. */
HV_MUST_CHECK hv_err hv_zap_secure(void *socket, const char *secret_z85, const char *domain,
                                   hv_errmsg *e);

/* Answers every pending ZAP request on `zap`: a node is admitted when it is
 * in `reg` and active at `now` (Unix seconds), and, on the workers' domain,
 * of a role in `policy->roles`; on the peers' domain, a broker listed in
 * `policy->peers`; on the operators' domain, an operator. Returns how many requests were answered. */
int hv_zap_serve(void *zap, const hv_registry *reg, uint64_t now, const hv_zap_policy *policy);

#endif
