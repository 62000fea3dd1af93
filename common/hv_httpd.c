/* The operators' HTTP endpoint of a daemon; see hv_httpd.h. */
#include "hv_httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_registry.h"
#include "hv_registry_expiry.h"

#define S_STALE_MS 5000 /* /healthz fails when the loop has not published for this long */

struct hv_httpd {
    struct MHD_Daemon *daemon; /* libmicrohttpd */
    hv_httpguard *guard;       /* request deadlines */
    pthread_mutex_t lock;      /* guards the snapshot */
    char *metrics;             /* Prometheus text */
    char *stats;               /* JSON */
    int64_t published_ms;      /* monotonic time of the snapshot */
    uint64_t reg_version;      /* the registry in use: version */
    uint64_t reg_expires_at;   /* and expiry (Unix seconds), 0 until told */
    char token[129];           /* "" when none */
    const char *page;          /* HTML at / (static, borrowed), or NULL */
    bool serve_stats;          /* serves /api/stats */
    char section[16];          /* "http", "metrics": for log lines */
    char fault[256];           /* the store's fault, "" when it works */
};

/* /healthz of a live loop, by the registry's expiry: "ok" (200);
 * "degraded: ..." (still 200: the daemon works, and restarting it would
 * not help) from HV_REGISTRY_DEGRADED_DAYS before; "expired: ..." (503)
 * once nothing can load it. Caller frees the body. */
static char *s_registry_health(const hv_httpd *h, unsigned *status)
{
    *status = 200;
    uint64_t now = (uint64_t)time(NULL);
    int64_t left = h->reg_expires_at >= now ? (int64_t)(h->reg_expires_at - now)
                                             : -(int64_t)(now - h->reg_expires_at);
    hv_expiry_level level = hv_registry_expiry_level(left);
    if (h->reg_expires_at == 0 || level < HV_EXPIRY_DEGRADED)
        return strdup("ok\n");
    char at[21], human[32], *body = NULL;
    hv_time_format(h->reg_expires_at, at);
    hv_registry_expiry_human(left, human, sizeof human);
    int n;
    if (level == HV_EXPIRY_EXPIRED) {
        *status = 503;
        n = asprintf(&body, "expired: registry version %llu expired at %s; get the current "
                     "registry from your network authority\n",
                     (unsigned long long)h->reg_version, at);
    } else {
        n = asprintf(&body, "degraded: registry version %llu expires in %s, at %s; get the "
                     "next registry from your network authority\n",
                     (unsigned long long)h->reg_version, human, at);
    }
    return n < 0 ? NULL : body;
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; connect-src 'self'");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static bool s_same(const char *a, const char *b)
{
    /* Compared in constant time: the token is a secret. */
    return a != NULL && strlen(a) == strlen(b) &&
           hv_memcmp_ct((const uint8_t *)a, (const uint8_t *)b, strlen(b)) == 0;
}

/* The token comes in "Authorization: Bearer" or, for a browser opening the
 * dashboard, as ?token= (which the page then sends as the header). */
static bool s_token_ok(const hv_httpd *h, struct MHD_Connection *c)
{
    if (h->token[0] == '\0')
        return true;
    char want[160];
    snprintf(want, sizeof want, "Bearer %s", h->token);
    return s_same(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), want) ||
           s_same(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"), h->token);
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)version;
    (void)upload_data;
    hv_httpd *h = cls;
    if (*ptr == NULL) { /* first call for this request: headers only */
        *ptr = h;
        hv_httpguard_head_done(h->guard, c);
        return MHD_YES;
    }
    hv_httpguard_body_done(h->guard, c);
    if (*upload_size != 0)
        return s_reply(c, 413, "text/plain", "no request bodies here\n");
    if (strcmp(method, "GET") != 0)
        return s_reply(c, 405, "text/plain", "only GET\n");
    if (!s_token_ok(h, c))
        return s_reply(c, 401, "text/plain", "token required\n");
    pthread_mutex_lock(&h->lock);
    int64_t age = hv_mono_ms() - h->published_ms;
    char *body = NULL;
    const char *type = "text/plain";
    unsigned status = 200;
    if (strcmp(url, "/metrics") == 0) {
        body = strdup(h->metrics ? h->metrics : "");
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (h->serve_stats && strcmp(url, "/api/stats") == 0) {
        body = strdup(h->stats ? h->stats : "{}");
        type = "application/json";
    } else if (h->page != NULL && (strcmp(url, "/") == 0 || strcmp(url, "/dashboard") == 0)) {
        body = strdup(h->page);
        type = "text/html; charset=utf-8";
    } else if (strcmp(url, "/healthz") == 0) {
        bool fresh = h->metrics != NULL && age < S_STALE_MS;
        body = fresh ? s_registry_health(h, &status)
                     : strdup("stale: the daemon's loop has not reported\n");
        status = fresh ? status : 503;
        if (fresh && h->fault[0] != '\0') {
            free(body);
            body = NULL;
            status = 503;
            if (asprintf(&body, "store failed: %s\n", h->fault) < 0)
                body = NULL;
        }
    } else {
        body = strdup(h->page ? "not found: /, /metrics, /healthz, /api/stats\n"
                              : "not found: /metrics, /healthz\n");
        status = 404;
    }
    pthread_mutex_unlock(&h->lock);
    enum MHD_Result r = body ? s_reply(c, status, type, body) : MHD_NO;
    free(body);
    return r;
}

static void s_completed(void *cls, struct MHD_Connection *c, void **ptr,
                        enum MHD_RequestTerminationCode toe)
{
    (void)ptr;
    (void)toe;
    hv_httpd *h = cls;
    hv_httpguard_request_done(h->guard, c);
}

/* libmicrohttpd's own messages, at debug level: a refused connection
 * ("too many connections from this address") must not write a line each. */
static void s_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const char *section = cls;
    char text[300];
    vsnprintf(text, sizeof text, fmt, ap);
    text[strcspn(text, "\n\"")] = '\0';
    hv_log(HV_LOG_DEBUG, "http_detail", "server=%s detail=\"%s\"", section, text);
}

static bool s_loopback(const struct sockaddr_in *a)
{
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
}

/* Parses and checks `bind` and `token` into `addr`: what hv_httpd_check and
 * hv_httpd_start both refuse. */
static hv_err s_parse(const char *section, const char *bind, const char *token,
                      const hv_http_limits *limits, struct sockaddr_in *addr, hv_errmsg *e)
{
    hv_http_limits def = hv_http_limits_ops();
    hv_err err = hv_http_limits_check(section, limits != NULL ? limits : &def, e);
    if (err != HV_OK)
        return err;
    char host[64];
    unsigned port = 0;
    const char *colon = strrchr(bind, ':');
    if (colon == NULL || (size_t)(colon - bind) >= sizeof host ||
        sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
        return hv_fail(e, HV_ECONFIG, "[%s] bind: expected HOST:PORT, got '%s'", section,
                      bind);
    snprintf(host, sizeof host, "%.*s", (int)(colon - bind), bind);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
        return hv_fail(e, HV_ECONFIG, "[%s] bind: '%s' is not an IPv4 address", section, host);
    if (!s_loopback(addr) && token[0] == '\0')
        return hv_fail(e, HV_ECONFIG, "[%s] bind: %s is not loopback; set a token", section,
                       host);
    if (strlen(token) > 128 || (token[0] != '\0' && strlen(token) < 16))
        return hv_fail(e, HV_ECONFIG, "[%s] token: expected 16 to 128 characters", section);
    return HV_OK;
}

hv_err hv_httpd_check(const char *section, const char *bind, const char *token,
                      const hv_http_limits *limits, hv_errmsg *e)
{
    struct sockaddr_in addr;
    return s_parse(section, bind, token, limits, &addr, e);
}

hv_err hv_httpd_start(hv_httpd **out, const hv_httpd_opts *o, hv_errmsg *e)
{
    *out = NULL;
    struct sockaddr_in addr;
    hv_err err = s_parse(o->section, o->bind, o->token, o->limits, &addr, e);
    if (err != HV_OK)
        return err;
    hv_http_limits l = o->limits != NULL ? *o->limits : hv_http_limits_ops();
    uint16_t port = ntohs(addr.sin_port);
    hv_httpd *h = calloc(1, sizeof *h);
    if (h == NULL)
        return HV_ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    snprintf(h->token, sizeof h->token, "%s", o->token);
    h->page = o->page;
    h->serve_stats = o->stats;
    snprintf(h->section, sizeof h->section, "%s", o->section);
    if (hv_httpguard_start(&h->guard, o->section, &l) != HV_OK) {
        hv_httpd_stop(&h);
        return HV_ENOMEM;
    }
    /* One polling thread (epoll on Linux, so no FD_SETSIZE ceiling); the
     * per-address limit keeps one client from taking the others' room,
     * the guard's deadlines keep slow clients from holding it. */
    h->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, s_handle, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)l.connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)l.per_address,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)l.idle_s, MHD_OPTION_NOTIFY_CONNECTION, hv_httpguard_notify, h->guard,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, h, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log,
        h->section, MHD_OPTION_END);
    if (h->daemon == NULL) {
        hv_httpd_stop(&h);
        return hv_fail(e, HV_EIO, "cannot serve HTTP on %s", o->bind);
    }
    *out = h;
    return HV_OK;
}

void hv_httpd_publish(hv_httpd *h, const char *metrics, const char *stats_json)
{
    char *m = strdup(metrics), *s = strdup(stats_json ? stats_json : "{}");
    pthread_mutex_lock(&h->lock);
    if (m != NULL && s != NULL) {
        free(h->metrics);
        free(h->stats);
        h->metrics = m;
        h->stats = s;
        h->published_ms = hv_mono_ms();
        m = s = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    free(m);
    free(s);
}

void hv_httpd_set_registry(hv_httpd *h, uint64_t version, uint64_t expires_at)
{
    pthread_mutex_lock(&h->lock);
    h->reg_version = version;
    h->reg_expires_at = expires_at;
    pthread_mutex_unlock(&h->lock);
}

void hv_httpd_set_fault(hv_httpd *h, const char *text)
{
    pthread_mutex_lock(&h->lock);
    snprintf(h->fault, sizeof h->fault, "%s", text ? text : "");
    pthread_mutex_unlock(&h->lock);
}

void hv_httpd_stop(hv_httpd **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    hv_httpd *h = *hp;
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    hv_httpguard_stop(&h->guard);
    pthread_mutex_destroy(&h->lock);
    free(h->metrics);
    free(h->stats);
    free(h);
    *hp = NULL;
}
