/* haven-web's HTTP(S) server (libmicrohttpd, GnuTLS): one thread per
 * connection, bounded connections overall and per address, an idle
 * timeout per connection, request bodies bounded by HV_WEB_BODY_MAX (a
 * referral file's limit), security headers on every answer, and static
 * files only from the assets folder (no "..", no directory listing).
 * Requests under /api/ go to the API handler with their whole body, but
 * for a request the part handler takes at its headers (an upload): its
 * body goes to that handler in parts of HV_WEB_PART_MAX bytes as it comes,
 * so that a document of many MiB is never held whole. */
#ifndef HV_WEB_HTTP_H
#define HV_WEB_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_json.h"
#include "hv_web_config.h"

#define HV_WEB_BODY_MAX HV_JSON_TEXT_MAX /* the referral file's limit */
#define HV_WEB_PART_MAX (1024u * 1024)   /* a streamed body's part: HV_ATTACH_PART_MAX */

/* One request. Fields are read-only to the handler. */
typedef struct hv_web_req {
    struct MHD_Connection *conn; /* libmicrohttpd's connection */
    const char *method;          /* "GET", ... */
    const char *path;            /* decoded path, without the query */
    char addr[64];               /* the client's address */
    char *body;                  /* the body, NUL-terminated ("" when none) */
    size_t body_len;             /* its length */
    size_t body_cap;             /* allocated */
    bool too_big;                /* the body passed HV_WEB_BODY_MAX */
    size_t seen;                 /* body bytes received, kept or not */
    bool tls;                    /* served over TLS */
    bool answered;               /* a response was queued */
    bool streamed;               /* the body goes to the part handler in parts */
    void *stream;                /* the part handler's state, or NULL */
    void (*stream_free)(void *); /* frees `stream` when the request ends */
} hv_web_req;

/* The API: answers `req` with one of the hv_web_send* functions. */
typedef enum MHD_Result (*hv_web_handler)(void *cls, hv_web_req *req);

/* When a part handler is called: at a POST's headers (it sets `streamed`
 * to take the body in parts, and may answer at once: the body is then
 * dropped), with each full part (`body`, `body_len` == HV_WEB_PART_MAX;
 * the handler uses or ignores it, the server empties it afterwards), and
 * at the end with the last, possibly empty, part: then it must answer. */
typedef enum hv_web_phase { HV_WEB_HEADERS, HV_WEB_PART, HV_WEB_END } hv_web_phase;
typedef enum MHD_Result (*hv_web_part_handler)(void *cls, hv_web_req *req, hv_web_phase phase);

typedef struct hv_web_http hv_web_http;

/* Serves `c->listen` (TLS when configured) until hv_web_http_stop; `c`
 * is borrowed for the server's life; `parts` may be NULL (no request is
 * streamed). Returns HV_OK, HV_ECONFIG (a TLS file cannot be read, TLS
 * unavailable), HV_EIO (cannot listen). */
HV_MUST_CHECK hv_err hv_web_http_start(hv_web_http **out, const hv_web_config *c,
                                       hv_web_handler api, hv_web_part_handler parts, void *cls,
                                       hv_errmsg *e);

/* Stops serving; safe on NULL and twice. */
void hv_web_http_stop(hv_web_http **h);

/* A request header or query argument, or NULL. Borrowed. */
const char *hv_web_header(const hv_web_req *r, const char *name);
const char *hv_web_query(const hv_web_req *r, const char *name);
/* The value of cookie `name`, or NULL. Borrowed. */
const char *hv_web_cookie(const hv_web_req *r, const char *name);

/* Answers with `body` (copied) and the security headers; `set_cookie`
 * may be NULL. API answers carry Cache-Control: no-store. */
enum MHD_Result hv_web_send(hv_web_req *r, unsigned status, const char *type, const char *body,
                            size_t len, const char *set_cookie);

/* Answers 200 with a document to save, never to show in this origin:
 * `body` (malloc'd, stolen) of `len` bytes as `type`, with the header
 * Content-Disposition `disposition`, nosniff and a CSP sandbox. */
enum MHD_Result hv_web_send_download(hv_web_req *r, const char *type, uint8_t *body, size_t len,
                                     const char *disposition);

/* Answers with JSON (`j` stolen; NULL answers 500). */
enum MHD_Result hv_web_send_json(hv_web_req *r, unsigned status, json_t *j,
                                 const char *set_cookie);

/* Answers an error in the API's one shape (hv_web_error.h). */
enum MHD_Result hv_web_send_error(hv_web_req *r, unsigned status, hv_err err,
                                  const char *message, json_t *errors);

/* Answers with a stream produced by `reader` (Server-Sent Events). */
enum MHD_Result hv_web_send_stream(hv_web_req *r, const char *type,
                                   MHD_ContentReaderCallback reader, void *cls,
                                   MHD_ContentReaderFreeCallback free_cls);

#endif
