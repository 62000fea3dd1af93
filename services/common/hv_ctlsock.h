/* One control endpoint of a worker (docs/CONTROL.md in hv_ctl.h): a
 * ZeroMQ ROUTER socket on a Unix path that REQ clients (the `haven` CLI,
 * haven-web) talk to, one JSON request and one JSON reply each. A ROUTER
 * rather than a REP socket, so that the worker may hold a request (an
 * `events.wait`) and answer others meanwhile.
 *
 * The administrators' socket (`control`) is mode 0600 and owned by the
 * worker's user. The staff socket (`staff_control`) is mode 0660, in a
 * directory the worker makes (0750) when it is missing, and with a group
 * both are given to that group, so that only haven-web's user can connect. */
#ifndef HV_CTLSOCK_H
#define HV_CTLSOCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"

typedef struct hv_ctlsock hv_ctlsock;

/* The client a request came from, to answer it later. Plain data. */
typedef struct hv_ctl_peer {
    uint8_t id[256]; /* the ROUTER's routing id of the client */
    size_t len;      /* its length */
} hv_ctl_peer;

/* Binds the endpoint at `path` on the ZeroMQ context `zctx` (borrowed).
 * `staff` selects the staff socket's modes; `group` (staff only; NULL or
 * "" for none) is a Unix group name. The administrators' socket is 0600,
 * or 0660 for the worker's own group when `group_readable` (the
 * [worker] control_group setting); the staff socket is always 0660. A
 * socket file left by a killed instance is removed first (the caller holds
 * the store's lock). Caller owns `*out`. Returns HV_OK, HV_ECONFIG (no
 * such group), HV_EIO. */
HV_MUST_CHECK hv_err hv_ctlsock_open(hv_ctlsock **out, void *zctx, const char *path, bool staff,
                                     bool group_readable, const char *group, hv_errmsg *e);

/* Closes the socket and removes its file; safe on NULL and twice. */
void hv_ctlsock_close(hv_ctlsock **s);

/* The ZeroMQ socket, for zmq_poll (borrowed). */
void *hv_ctlsock_zmq(hv_ctlsock *s);

/* True for the staff socket. */
bool hv_ctlsock_is_staff(const hv_ctlsock *s);

/* Takes one request without waiting: true with `peer` and the request's
 * bytes in `*body` (caller frees with free(), `*len` long); false when
 * none is waiting. A message without the REQ delimiter is dropped. */
bool hv_ctlsock_recv(hv_ctlsock *s, hv_ctl_peer *peer, char **body, size_t *len);

/* Sends `reply` (takes ownership; NULL stands for out of memory) to
 * `peer`. A client that is gone is not an error: the reply is dropped. */
void hv_ctlsock_reply(hv_ctlsock *s, const hv_ctl_peer *peer, json_t *reply);

#endif
