/* What the test tools that speak the broker's protocol by hand share
 * (peer_probe, health_probe, prekey_put, send_flood): a DEALER socket that
 * connects over CURVE with a node's transport key, as a worker or a peer
 * broker does, and one control message sent on it. */
#ifndef HV_PROBE_H
#define HV_PROBE_H

#include <stdbool.h>

#include "hv_control.h"
#include "hv_keys.h"

/* A DEALER in `ctx`, LINGER 0, authenticated as `kp` to the broker whose
 * public keys are `server`, connected to `endpoint`; with `unbounded`, no
 * high-water marks (a flood must not be held back by the socket). The
 * transport secret is wiped from the stack once handed to libzmq. Returns
 * the socket, or NULL (closed) when it cannot connect. */
void *hv_probe_connect(void *ctx, const hv_keypair *kp, const hv_pubkeys *server,
                       const char *endpoint, bool unbounded);

/* Encodes and sends `m` with zmq_send `flags`: zmq_send's result (-1 when
 * it fails), or -2 when `m` does not encode. */
int hv_probe_send(void *s, const hv_control *m, int flags);

#endif
