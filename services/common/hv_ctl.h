/* The local control protocol between the `haven` CLI and a worker daemon
 * (docs/CONTROL.md): one JSON request, one JSON reply, over a ZeroMQ
 * REQ/REP pair on a Unix socket that only the worker's user may open
 * (mode 0600, in a directory of its own).
 *
 *   request: {"cmd": "referral.list", "args": {...}}
 *   reply:   {"ok": true, "text": "for people", "result": {...}}
 *            {"ok": false, "error": "HV_EJSON", "code": 14, "message": "...",
 *             "result": {...}}      (result optional: e.g. located errors) */
#ifndef HV_CTL_H
#define HV_CTL_H

#include <jansson.h>
#include <stddef.h>

#include "hv_err.h"

#define HV_CTL_CMD_MAX 32
#define HV_CTL_REQUEST_MAX (4u * 1024 * 1024)

/* Parses a request. On HV_OK, `cmd` holds the command and `*args` a new
 * reference to its arguments object (an empty one when absent). Returns
 * HV_OK, HV_ETOOBIG or HV_EJSON with the reason in `e`. */
HV_MUST_CHECK hv_err hv_ctl_parse(const void *buf, size_t len, char cmd[HV_CTL_CMD_MAX + 1],
                                  json_t **args, hv_errmsg *e);

/* Sends `cmd` with `args` (borrowed, may be NULL) to the worker listening
 * at `socket_path` and waits up to `timeout_ms` for the reply. Caller owns
 * `*reply`. Returns HV_OK (whatever the reply says), HV_ETIMEOUT when the
 * worker does not answer, HV_EIO, HV_EJSON for an unreadable reply. */
HV_MUST_CHECK hv_err hv_ctl_call(const char *socket_path, const char *cmd, json_t *args,
                                 int timeout_ms, json_t **reply, hv_errmsg *e);

#endif
