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

#define HV_ZAP_DOMAIN "haven"

/* Binds the ZAP REP socket in `ctx`. Must run before any CURVE server
 * socket of that context binds. Caller owns `*out` (zmq_close). */
HV_MUST_CHECK hv_err hv_zap_start(void *ctx, void **out, hv_errmsg *e);

/* Makes `socket` a CURVE server with `secret_z85`, in the Haven domain,
 * with domain enforcement on. */
HV_MUST_CHECK hv_err hv_zap_secure(void *socket, const char *secret_z85, hv_errmsg *e);

/* Answers every pending ZAP request on `zap`: a node admitted when it is
 * in `reg`, active at `now` (Unix seconds) and of a role in `roles`
 * (HV_ROLE_BIT mask). Returns how many requests were answered. */
int hv_zap_serve(void *zap, const hv_registry *reg, uint64_t now, unsigned roles);

#endif
