/* Limits and deadlines for a libmicrohttpd server (issue 20): how many
 * connections in all and per client address, how long a connection may
 * stay idle, and how long a client may take over a whole request head and
 * a whole request body. libmicrohttpd's own timeout is an idle timeout
 * (MHD_OPTION_CONNECTION_TIMEOUT): a client that sends one byte every few
 * seconds resets it and holds its connection for ever. The guard gives
 * every request a deadline instead: it learns of each connection
 * (MHD_OPTION_NOTIFY_CONNECTION), of the head's end (the access handler's
 * first call) and of the body's end (its last call), and a thread of its
 * own shuts down the socket of a connection past its deadline, which
 * libmicrohttpd then closes as a client that went away.
 *
 * Used by common/hv_httpd.c (the broker's [http], the workers' [metrics])
 * and services/web/hv_web_http.c (haven-web). */
#ifndef HV_HTTPGUARD_H
#define HV_HTTPGUARD_H

#include <microhttpd.h>
#include <stdint.h>

#include "hv_err.h"

/* A server's limits, as its configuration section gives them. */
typedef struct hv_http_limits {
    uint64_t connections;  /* connections in all */
    uint64_t per_address;  /* connections from one client address */
    uint64_t idle_s;       /* a connection silent this long is closed */
    uint64_t head_s;       /* a request's head (line and headers) must arrive within */
    uint64_t body_s;       /* and its body within this after the head */
} hv_http_limits;

/* The operators' endpoints' defaults: 128 connections, 16 per address,
 * 10 s idle, 10 s for a head, 10 s for a body (they take none). */
hv_http_limits hv_http_limits_ops(void);

/* Checks `l` (a section's values): per_address at most connections, both
 * at least 1, timeouts at least 1 s. Returns HV_OK or HV_ECONFIG naming
 * "[SECTION] key". */
HV_MUST_CHECK hv_err hv_http_limits_check(const char *section, const hv_http_limits *l,
                                          hv_errmsg *e);

typedef struct hv_httpguard hv_httpguard;

/* Starts the guard's thread with `l`'s head and body deadlines; `name`
 * ("http", "metrics", "web") goes into its log lines. Caller owns `*out`.
 * Returns HV_OK or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_httpguard_start(hv_httpguard **out, const char *name,
                                        const hv_http_limits *l);

/* The MHD_OPTION_NOTIFY_CONNECTION callback; its closure is the guard.
 * Keeps one small record per open connection in its socket context. */
void hv_httpguard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe);

/* Tells the guard that `c`'s request head has arrived (call at the access
 * handler's first call for a request): the body's deadline starts. */
void hv_httpguard_head_done(hv_httpguard *g, struct MHD_Connection *c);

/* Tells the guard that `c`'s request is complete (the access handler is
 * about to answer): no deadline while the answer goes out. */
void hv_httpguard_body_done(hv_httpguard *g, struct MHD_Connection *c);

/* Tells the guard that `c`'s request was answered (the
 * MHD_OPTION_NOTIFY_COMPLETED callback): the next request's head has its
 * deadline from now. */
void hv_httpguard_request_done(hv_httpguard *g, struct MHD_Connection *c);

/* Connections shut down for a missed deadline so far. */
uint64_t hv_httpguard_cut(hv_httpguard *g);

/* Stops the thread and frees. Call after MHD_stop_daemon (which closes
 * every connection, so the guard holds none). Safe on NULL and twice. */
void hv_httpguard_stop(hv_httpguard **g);

#endif
