/* haven-web's HTTP(S) server; see hv_web_http.h. */
#include "hv_web_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_file.h"
#include "hv_httpguard.h"
#include "hv_log.h"
#include "hv_web_error.h"
#include "hv_web_path.h"

#define S_STATIC_MAX (8u * 1024 * 1024)
#define S_PEM_MAX (1024u * 1024) /* a certificate chain or key file */
#define S_DISCARD_MAX (16u * 1024 * 1024) /* body bytes read before giving up on a client */

struct hv_web_http {
    struct MHD_Daemon *daemon; /* libmicrohttpd */
    hv_httpguard *guard;       /* request deadlines (issue 20) */
    const hv_web_config *cfg;  /* borrowed */
    hv_web_handler api;        /* /api/ requests */
    hv_web_part_handler parts; /* streamed bodies (uploads), or NULL */
    void *cls;                 /* its context */
    char *cert, *key;          /* PEM texts (the key in guarded memory would not help:
                                  GnuTLS copies it) */
    char assets[PATH_MAX];     /* realpath of the assets folder, "" when none */
};

#define S_CSP "default-src 'self'; frame-ancestors 'none'; form-action 'self'"

static void s_headers(const hv_web_req *r, struct MHD_Response *resp, bool api, const char *csp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
    if (r->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security",
                                "max-age=31536000; includeSubDomains");
}

static enum MHD_Result s_queue_csp(hv_web_req *r, unsigned status, struct MHD_Response *resp,
                                   bool api, const char *set_cookie, const char *csp)
{
    if (resp == NULL)
        return MHD_NO;
    s_headers(r, resp, api, csp);
    if (set_cookie != NULL)
        MHD_add_response_header(resp, "Set-Cookie", set_cookie);
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = true;
    return ok;
}

static enum MHD_Result s_queue(hv_web_req *r, unsigned status, struct MHD_Response *resp,
                               bool api, const char *set_cookie)
{
    return s_queue_csp(r, status, resp, api, set_cookie, S_CSP);
}

enum MHD_Result hv_web_send_download(hv_web_req *r, const char *type, uint8_t *body, size_t len,
                                     const char *disposition)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Disposition", disposition);
    /* Opened by itself (a new tab, a typed address), it is still never
     * a page of this origin: no script, no form, no plugin. */
    return s_queue_csp(r, 200, resp, true, NULL,
                       "sandbox; default-src 'none'; frame-ancestors 'none'");
}

enum MHD_Result hv_web_send(hv_web_req *r, unsigned status, const char *type, const char *body,
                            size_t len, const char *set_cookie)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp != NULL)
        MHD_add_response_header(resp, "Content-Type", type);
    return s_queue(r, status, resp, true, set_cookie);
}

enum MHD_Result hv_web_send_json(hv_web_req *r, unsigned status, json_t *j,
                                 const char *set_cookie)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":\"HV_ENOMEM\",\"code\":1,\"message\":\"out of memory\"}";
        return hv_web_send(r, 500, "application/json", oom, sizeof oom - 1, NULL);
    }
    enum MHD_Result ok = hv_web_send(r, status, "application/json", text, strlen(text),
                                     set_cookie);
    free(text);
    return ok;
}

enum MHD_Result hv_web_send_error(hv_web_req *r, unsigned status, hv_err err,
                                  const char *message, json_t *errors)
{
    return hv_web_send_json(r, status, hv_web_error_json(err, message, errors), NULL);
}

enum MHD_Result hv_web_send_stream(hv_web_req *r, const char *type,
                                   MHD_ContentReaderCallback reader, void *cls,
                                   MHD_ContentReaderFreeCallback free_cls)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, reader, cls, free_cls);
    if (resp == NULL) {
        free_cls(cls);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    return s_queue(r, 200, resp, true, NULL);
}

const char *hv_web_header(const hv_web_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *hv_web_query(const hv_web_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *hv_web_cookie(const hv_web_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

static const char *s_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
        {".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"}, {".woff2", "font/woff2"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

static enum MHD_Result s_static(hv_web_http *h, hv_web_req *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return hv_web_send_error(r, 405, HV_EINVAL, "static files answer GET only", NULL);
    if (!hv_web_path_allowed(r->path))
        return hv_web_send_error(r, 400, HV_EINVAL, "this path is not allowed", NULL);
    if (h->assets[0] == '\0')
        return hv_web_send_error(r, 404, HV_ENOTFOUND, "no such page", NULL);
    char joined[PATH_MAX + 64], real[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s%s%s", h->assets, r->path,
                     r->path[strlen(r->path) - 1] == '/' ? "index.html" : "");
    struct stat sb;
    /* The resolved file must still lie inside the folder (a symbolic link
     * out of it is refused too) and be a regular file: never a listing. */
    if (n < 0 || (size_t)n >= sizeof joined || realpath(joined, real) == NULL ||
        strncmp(real, h->assets, strlen(h->assets)) != 0 || real[strlen(h->assets)] != '/' ||
        stat(real, &sb) != 0 || !S_ISREG(sb.st_mode))
        return hv_web_send_error(r, 404, HV_ENOTFOUND, "no such page", NULL);
    /* The pages are revalidated on every load (no-cache): a file that has
     * not changed costs a 304 and no body on a slow office link. */
    char etag[80];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", (unsigned long long)sb.st_ino,
             (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)sb.st_mtim.tv_nsec);
    const char *inm = hv_web_header(r, "If-None-Match");
    if (inm != NULL && strcmp(inm, etag) == 0) {
        struct MHD_Response *nm = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (nm != NULL)
            MHD_add_response_header(nm, "ETag", etag);
        return s_queue(r, 304, nm, false, NULL);
    }
    char *text = NULL;
    size_t len = 0;
    hv_errmsg e;
    if (hv_file_read(real, S_STATIC_MAX, (uint8_t **)&text, &len, &e) != HV_OK)
        return hv_web_send_error(r, 404, HV_ENOTFOUND, "no such page", NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", s_type(real));
    MHD_add_response_header(resp, "ETag", etag);
    return s_queue(r, 200, resp, false, NULL);
}

static bool s_append(hv_web_req *r, const char *data, size_t n)
{
    if (r->too_big || n > HV_WEB_BODY_MAX - r->body_len) {
        r->too_big = true;
        return true;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (b == NULL)
            return false;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return true;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)version;
    hv_web_http *h = cls;
    hv_web_req *r = *ptr;
    if (r == NULL) { /* headers only */
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        *ptr = r;
        r->conn = c;
        r->method = method;
        r->path = url;
        r->tls = h->cfg->tls;
        r->body = calloc(1, 1);
        if (r->body == NULL)
            return MHD_NO;
        r->body_cap = 1;
        hv_httpguard_head_done(h->guard, c);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci != NULL && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                      r->addr, sizeof r->addr);
        if (h->parts != NULL && strcmp(method, "POST") == 0) {
            enum MHD_Result taken = h->parts(h->cls, r, HV_WEB_HEADERS);
            if (taken != MHD_YES || r->answered || r->streamed)
                return taken;
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL && strtoull(cl, NULL, 10) > HV_WEB_BODY_MAX)
            return hv_web_send_error(r, 413, HV_ETOOBIG, "the request body is larger than "
                                     "a referral file may be (1 MiB)", NULL);
        return MHD_YES;
    }
    if (r->answered) { /* refused on its headers: the rest is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size != 0 && r->streamed) {
        /* Its length was checked at the headers (libmicrohttpd delivers
         * no more than Content-Length): parts of HV_WEB_PART_MAX, each
         * handed on as soon as it is full. */
        const char *p = upload_data;
        size_t left = *upload_size;
        while (left > 0) {
            size_t k = HV_WEB_PART_MAX - r->body_len < left ? HV_WEB_PART_MAX - r->body_len
                                                             : left;
            if (!s_append(r, p, k))
                return MHD_NO;
            p += k;
            left -= k;
            if (r->body_len == HV_WEB_PART_MAX) {
                if (h->parts(h->cls, r, HV_WEB_PART) != MHD_YES)
                    return MHD_NO;
                r->body_len = 0;
                r->body[0] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        if (!s_append(r, upload_data, *upload_size))
            return MHD_NO;
        /* Past the limit the body is read and dropped, so that the client
         * gets its 413 (a connection closed mid-upload is seen by most
         * clients as a broken pipe, not an answer) — up to S_DISCARD_MAX,
         * past which the connection is closed. */
        r->seen += *upload_size;
        *upload_size = 0;
        return r->seen > S_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    hv_httpguard_body_done(h->guard, c);
    if (r->streamed)
        return h->parts(h->cls, r, HV_WEB_END);
    if (r->too_big)
        return hv_web_send_error(r, 413, HV_ETOOBIG, "the request body is larger than a "
                                 "referral file may be (1 MiB)", NULL);
    if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
        return h->api(h->cls, r);
    return s_static(h, r);
}

static void s_completed(void *cls, struct MHD_Connection *c, void **ptr,
                        enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    hv_web_http *h = cls;
    hv_httpguard_request_done(h->guard, c);
    hv_web_req *r = *ptr;
    if (r != NULL) {
        if (r->stream_free != NULL)
            r->stream_free(r->stream);
        free(r->body);
        free(r);
        *ptr = NULL;
    }
}

/* libmicrohttpd's own messages (its format strings), at debug level. */
static void s_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[300];
    vsnprintf(text, sizeof text, fmt, ap);
    text[strcspn(text, "\n\"")] = '\0';
    hv_log(HV_LOG_DEBUG, "http", "detail=\"%s\"", text);
}

hv_err hv_web_http_start(hv_web_http **out, const hv_web_config *c, hv_web_handler api,
                         hv_web_part_handler parts, void *cls, hv_errmsg *e)
{
    *out = NULL;
    hv_web_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return HV_ENOMEM;
    h->cfg = c;
    h->api = api;
    h->parts = parts;
    h->cls = cls;
    hv_err err = HV_OK;
    if (c->assets[0] != '\0' && realpath(c->assets, h->assets) == NULL) {
        err = hv_fail(e, HV_ECONFIG, "[web] assets: cannot open the folder %s", c->assets);
        goto fail;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)c->port);
    inet_pton(AF_INET, c->host, &addr.sin_addr);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    size_t len;
    if (c->tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            err = hv_fail(e, HV_ECONFIG, "this libmicrohttpd was built without TLS");
            goto fail;
        }
        if ((err = hv_file_read(c->tls_cert, S_PEM_MAX, (uint8_t **)&h->cert, &len, e)) !=
                HV_OK ||
            (err = hv_file_read(c->tls_key, S_PEM_MAX, (uint8_t **)&h->key, &len, e)) != HV_OK) {
            err = hv_fail_prefix(e, HV_ECONFIG, "[web] tls_cert/tls_key");
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    hv_http_limits limits = {.connections = c->connections,
                             .per_address = c->connections_per_address,
                             .idle_s = c->connection_timeout_s, .head_s = c->head_timeout_s,
                             .body_s = c->body_timeout_s};
    if ((err = hv_httpguard_start(&h->guard, "web", &limits)) != HV_OK)
        goto fail;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, s_access, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->connections_per_address,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED,
        s_completed, h, MHD_OPTION_NOTIFY_CONNECTION, hv_httpguard_notify, h->guard,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, h,
        c->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
        MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
    if (h->daemon == NULL) {
        err = hv_fail(e, HV_EIO, "cannot serve %s on %s (in use? a bad certificate or key?)",
                      c->tls ? "HTTPS" : "HTTP", c->listen);
        goto fail;
    }
    *out = h;
    return HV_OK;
fail:
    hv_web_http_stop(&h);
    return err;
}

void hv_web_http_stop(hv_web_http **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    hv_web_http *h = *hp;
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    hv_httpguard_stop(&h->guard);
    free(h->cert);
    if (h->key != NULL) {
        memset(h->key, 0, strlen(h->key));
        free(h->key);
    }
    free(h);
    *hp = NULL;
}
