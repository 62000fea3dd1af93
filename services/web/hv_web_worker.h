/* haven-web's client of its worker's staff control socket (issue 17's
 * contract, /work/briefs/web-contract.md, and docs/API.md): every request
 * carries the person it acts for, {"staff", "role", "via"}; the worker
 * decides what that person may see and do. */
#ifndef HV_WEB_WORKER_H
#define HV_WEB_WORKER_H

#include <jansson.h>

#include "hv_err.h"
#include "hv_web_auth.h"

/* Sends `cmd` with `args` (borrowed, may be NULL) as `who` to the worker
 * at `socket_path` and waits up to `timeout_ms`. Caller owns `*reply`
 * ({"ok": ...}). Returns HV_OK whatever the worker answered, HV_ETIMEOUT
 * when it does not answer, HV_EIO, HV_EJSON for an unreadable reply. Safe
 * from many threads at once (one REQ socket per call). */
HV_MUST_CHECK hv_err hv_web_worker_call(const char *socket_path, const char *cmd, json_t *args,
                                        const hv_web_who *who, int timeout_ms, json_t **reply,
                                        hv_errmsg *e);

/* Ends the ZeroMQ context the calls share (at exit). */
void hv_web_worker_shutdown(void);

#endif
