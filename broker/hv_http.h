/* The broker's HTTP endpoint for operators (libmicrohttpd, its own thread):
 * /metrics (Prometheus text), /healthz, /api/stats (JSON). It serves
 * snapshots that the broker's loop publishes twice a second, so the HTTP
 * thread never touches the broker's state. Bound to loopback by default;
 * when a token is set, every request must carry it ("Authorization:
 * Bearer TOKEN"), and a token is required for any other address. */
#ifndef HV_HTTP_H
#define HV_HTTP_H

#include <stdint.h>

#include "hv_err.h"
#include "hv_httpguard.h"

typedef struct hv_http hv_http;

/* Checks `bind`, `token` and `limits` as hv_http_start does, without
 * binding: the daemon's -n uses it. Returns HV_OK or HV_ECONFIG. */
HV_MUST_CHECK hv_err hv_http_check(const char *bind, const char *token,
                                   const hv_http_limits *limits, hv_errmsg *e);

/* Starts serving on `host:port` within `limits` (borrowed for the call).
 * `token` may be "" only for a loopback host. Caller owns `*out`. Returns
 * HV_OK, HV_ECONFIG, HV_EIO. */
HV_MUST_CHECK hv_err hv_http_start(hv_http **out, const char *bind, const char *token,
                                   const hv_http_limits *limits, hv_errmsg *e);

/* Replaces the snapshot (copies both texts). */
void hv_http_publish(hv_http *h, const char *metrics, const char *stats_json);

/* Tells /healthz the registry in use: its version and expiry (Unix
 * seconds). From HV_REGISTRY_DEGRADED_DAYS before the expiry /healthz says
 * "degraded: ..." with 200, and "expired: ..." with 503 after it. */
void hv_http_set_registry(hv_http *h, uint64_t version, uint64_t expires_at);

/* Tells /healthz the store's fault ("" or NULL: none); see hv_httpd_set_fault. */
void hv_http_set_fault(hv_http *h, const char *text);

/* Stops the thread and frees; safe on NULL and twice. */
void hv_http_stop(hv_http **h);

#endif
