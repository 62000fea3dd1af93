/* The ZAP handler (ZeroMQ RFC 27) that decides who may connect to the
 * broker: only the CurveZMQ keys that hv_trust_admit (hv_trust.h) admits at
 * that socket's door, each connection tagged with its node id as the ZAP
 * User-Id and with its transport key as the metadata property
 * HV_ZAP_KEY_PROPERTY, which the broker reads on every message.
 *
 * libzmq 4.3.4 lets every client in when no handler answers, unless
 * ZMQ_ZAP_DOMAIN is set and ZMQ_ZAP_ENFORCE_DOMAIN is 1; hv_zap_secure()
 * sets both and checks that they took. */
#ifndef HV_ZAP_H
#define HV_ZAP_H

#include <stdint.h>

#include "hv_err.h"
#include "hv_registry.h"
#include "hv_trust.h"

#define HV_ZAP_DOMAIN "haven"             /* the workers' socket */
#define HV_ZAP_DOMAIN_PEERS "haven-peers" /* the peer brokers' socket */
#define HV_ZAP_DOMAIN_OPS "haven-ops"     /* the operators' socket: operators only */
#define HV_PEERS_MAX HV_TRUST_PEERS_MAX

/* Binds the ZAP REP socket in `ctx`. Must run before any CURVE server
 * socket of that context binds. Caller owns `*out` (zmq_close). */
HV_MUST_CHECK hv_err hv_zap_start(void *ctx, void **out, hv_errmsg *e);

/* Makes `socket` a CURVE server with `secret_z85`, in ZAP domain `domain`,
 * with domain enforcement on. */
HV_MUST_CHECK hv_err hv_zap_secure(void *socket, const char *secret_z85, const char *domain,
                                   hv_errmsg *e);

/* Answers every pending ZAP request on `zap`: a key is admitted when
 * hv_trust_admit admits it under `reg` at `now` (Unix seconds) at the door
 * of the request's domain (workers, peers, operators) of broker `self`.
 * Every refusal is logged with its reason. Returns how many requests were
 * answered. */
int hv_zap_serve(void *zap, const hv_registry *reg, uint64_t now, const hv_trust_self *self);

#endif
