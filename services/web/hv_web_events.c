/* GET /api/v1/events: Server-Sent Events from the worker's events.wait,
 * as the person who opened the stream (the worker filters what they may
 * see). Events carry ids, kinds, states and times, never case content.
 * A stream ends at the session's absolute lifetime, at sign-out, when the
 * account is disabled or the token revoked, when the worker refuses, or
 * when haven-web stops. It does not count as use of the session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_db.h"
#include "hv_web_api.h"
#include "hv_web_worker.h"

#define S_WAIT_MS 10000
#define S_BUF 65536

typedef struct s_stream {
    hv_web_api *api;     /* borrowed */
    hv_web_who who;      /* the person, as at the start */
    int64_t ends_ms;     /* the session's absolute end */
    json_int_t after;    /* last event sent */
    char buf[S_BUF];     /* text not yet handed to libmicrohttpd */
    size_t len, off;     /* its length, how much was handed */
    bool done;           /* the stream ends after the buffer */
} s_stream;

static void s_add(s_stream *s, const char *text)
{
    size_t n = strlen(text);
    if (n <= sizeof s->buf - s->len) {
        memcpy(s->buf + s->len, text, n);
        s->len += n;
    }
}

/* Fills the buffer with what the next events.wait brings. */
static void s_fill(s_stream *s)
{
    s->len = s->off = 0;
    if (*s->api->stopping || hv_now_ms() >= s->ends_ms ||
        !hv_web_who_valid(s->api->store, &s->who)) {
        s_add(s, "event: end\ndata: {}\n\n");
        s->done = true;
        return;
    }
    /* Each wait is shorter than half the connection timeout: a stream that
     * sent nothing for that long would be closed as idle. */
    int wait_ms = (int)(s->api->cfg->connection_timeout_s * 1000 / 2);
    if (wait_ms > S_WAIT_MS)
        wait_ms = S_WAIT_MS;
    json_t *args = json_pack("{s:I, s:i}", "after", s->after, "timeout_ms", wait_ms);
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    hv_err err = hv_web_worker_call(s->api->cfg->worker_socket, "events.wait", args, &s->who,
                                    wait_ms + 5000, &reply, &e);
    json_decref(args);
    json_t *result = json_object_get(reply, "result");
    if (err != HV_OK || !json_is_true(json_object_get(reply, "ok"))) {
        const char *name = err != HV_OK ? hv_errname(err)
                                        : json_string_value(json_object_get(reply, "error"));
        char line[200];
        snprintf(line, sizeof line, "event: error\ndata: {\"error\":\"%.40s\"}\n\n",
                 name ? name : "HV_EIO");
        s_add(s, line);
        s->done = true;
        json_decref(reply);
        return;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(result, "events"), i, ev)
    {
        /* Only the contract's members are passed on, whatever else an
         * event might carry. */
        json_t *out = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "seq",
                                json_object_get(ev, "seq"), "kind", json_object_get(ev, "kind"),
                                "referral", json_object_get(ev, "referral"), "state",
                                json_object_get(ev, "state"), "at", json_object_get(ev, "at"));
        char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        json_decref(out);
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        char head[120];
        snprintf(head, sizeof head, "id: %lld\nevent: %.20s\ndata: ",
                 (long long)json_integer_value(json_object_get(ev, "seq")),
                 kind && strspn(kind, "abcdefghijklmnopqrstuvwxyz_") == strlen(kind) ? kind
                                                                                     : "event");
        if (text != NULL && strlen(head) + strlen(text) + 2 < sizeof s->buf - s->len) {
            s_add(s, head);
            s_add(s, text);
            s_add(s, "\n\n");
        }
        free(text);
    }
    json_t *last = json_object_get(result, "last");
    if (json_is_integer(last) && json_integer_value(last) > s->after)
        s->after = json_integer_value(last);
    if (s->len == 0)
        s_add(s, ": waiting\n\n");
    json_decref(reply);
}

static ssize_t s_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_stream *s = cls;
    if (s->off == s->len) {
        if (s->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        s_fill(s);
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void s_free(void *cls) { free(cls); }

enum MHD_Result hv_web_events_handle(hv_web_api *api, hv_web_req *req, const hv_web_who *who)
{
    s_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MHD_NO;
    s->api = api;
    s->who = *who;
    s->ends_ms = who->scope[0] != '\0' ? INT64_MAX
                                       : who->created_ms + (int64_t)api->cfg->absolute_s * 1000;
    const char *last = hv_web_header(req, "Last-Event-ID");
    if (last == NULL)
        last = hv_web_query(req, "after");
    if (last != NULL && last[0] != '\0' && strlen(last) < 19 &&
        strspn(last, "0123456789") == strlen(last))
        s->after = atoll(last);
    /* Asked once without waiting before the stream opens, so that a person
     * who may not follow events gets the worker's refusal as an answer. */
    json_t *args = json_pack("{s:I, s:i}", "after", s->after, "timeout_ms", 0);
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    hv_err err = hv_web_worker_call(api->cfg->worker_socket, "events.wait", args, who,
                                    HV_WEB_WORKER_TIMEOUT_MS, &reply, &e);
    json_decref(args);
    if (err != HV_OK) {
        free(s);
        return hv_web_send_error(req, 503, err, e.text, NULL);
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        free(s);
        return hv_web_api_forward(req, reply, 200);
    }
    json_decref(reply);
    s_add(s, "retry: 5000\n\n");
    return hv_web_send_stream(req, "text/event-stream", s_read, s, s_free);
}
