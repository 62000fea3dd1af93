/* A daemon's HTTP endpoint for operators and monitoring (libmicrohttpd,
 * its own thread): /metrics (Prometheus text) and /healthz, and where the
 * daemon asks for them /api/stats (JSON) and an HTML page at /. It serves
 * snapshots that the daemon's loop publishes, so the HTTP thread never
 * touches the daemon's state; /healthz fails when the loop has not
 * published for five seconds. Bound to loopback by default; when a token
 * is set, every request must carry it ("Authorization: Bearer TOKEN", or
 * ?token= for a browser), and a token is required for any other address.
 *
 * Connections are limited in all and per client address, and every
 * request's head and body have a deadline (hv_httpguard.h), so that slow
 * clients cannot keep /healthz from answering (issue 20).
 *
 * The broker's [http] (broker/hv_http.h) and the workers' [metrics]
 * (services/common/hv_worker_metrics.h) are both this. */
#ifndef HV_HTTPD_H
#define HV_HTTPD_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_httpguard.h"

typedef struct hv_httpd hv_httpd;

/* What to serve, and where. */
typedef struct hv_httpd_opts {
    const char *section; /* the configuration section, for messages: "http", "metrics" */
    const char *bind;    /* "HOST:PORT", IPv4 */
    const char *token;   /* "" for none (loopback only), else 16 to 128 characters */
    const char *page;    /* HTML served at / and /dashboard (static, borrowed), or NULL */
    bool stats;          /* serve the published JSON at /api/stats */
    const hv_http_limits *limits; /* connections and deadlines; NULL for hv_http_limits_ops() */
} hv_httpd_opts;

/* Checks `bind`, `token` and `limits` (NULL: the defaults) as
 * hv_httpd_start does, without binding (a daemon's -n). Returns HV_OK or
 * HV_ECONFIG ("[SECTION] bind: ..."). */
HV_MUST_CHECK hv_err hv_httpd_check(const char *section, const char *bind, const char *token,
                                    const hv_http_limits *limits, hv_errmsg *e);

/* Starts serving as `o` says; `o`'s strings are copied but `o->page`,
 * which must outlive the server. Caller owns `*out`. Returns HV_OK,
 * HV_ECONFIG, HV_ENOMEM, HV_EIO. */
HV_MUST_CHECK hv_err hv_httpd_start(hv_httpd **out, const hv_httpd_opts *o, hv_errmsg *e);

/* Replaces the snapshot (copies both texts; `stats_json` may be NULL). */
void hv_httpd_publish(hv_httpd *h, const char *metrics, const char *stats_json);

/* Tells /healthz the registry in use: its version and expiry (Unix
 * seconds). From HV_REGISTRY_DEGRADED_DAYS before the expiry /healthz says
 * "degraded: ..." with 200, and "expired: ..." with 503 after it. */
void hv_httpd_set_registry(hv_httpd *h, uint64_t version, uint64_t expires_at);

/* Tells /healthz that the daemon's store is in fault: `text` (copied; NULL
 * or "" when it works again) says why. While it is, /healthz answers 503
 * "store failed: TEXT", whatever the registry. */
void hv_httpd_set_fault(hv_httpd *h, const char *text);

/* Stops the thread and frees; safe on NULL and twice. */
void hv_httpd_stop(hv_httpd **h);

#endif
