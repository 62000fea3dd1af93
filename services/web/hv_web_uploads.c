/* A caseworker's document, uploaded from the workbench (docs/API.md
 * "Documents"): POST /api/v1/uploads?name=NAME at an intake, the file's
 * bytes as the body. haven-web keeps no document: the body comes in parts
 * of HV_WEB_PART_MAX (hv_web_http.c) and each goes on to the worker as an
 * attachment.put part as soon as it is full, as `haven referral submit`
 * sends a file; the last one asks the worker for the type by content
 * ("check"), so that an HTML page named .pdf is refused at its field, in
 * the worker's words, before anything is submitted. The answer's upload
 * id goes with the submission (POST /referrals?uploads=ID,...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_log.h"
#include "hv_web_api.h"
#include "hv_web_error.h"
#include "hv_web_worker.h"

/* Past the largest attachment_max_mib a worker accepts (64): refused on
 * the headers, before a byte is read. Within it, the worker's own limit
 * refuses the first part and the rest of the body is read and dropped. */
#define S_UPLOAD_MAX (64u * 1024 * 1024)
#define S_NAME_MAX 255

/* One upload under way; its refusal is kept to answer at the end. */
typedef struct s_upload {
    hv_web_who who;         /* who uploads (checked on the headers) */
    char name[S_NAME_MAX + 1]; /* the file's name */
    uint64_t size;          /* Content-Length */
    uint64_t sent;          /* bytes the worker has taken */
    char id[33];            /* the worker's upload id, "" before the first part */
    char type[32];          /* found from the content by the last part */
    bool refused;           /* the worker (or haven-web) said no: the rest is dropped */
    unsigned status;        /* the refusal's HTTP status */
    hv_err err;             /* its code */
    char message[600];      /* its words */
} s_upload;

static void s_free(void *p)
{
    if (p != NULL)
        hv_memzero(p, sizeof(s_upload));
    free(p);
}

static void s_refuse(s_upload *u, hv_err err, const char *message)
{
    u->refused = true;
    u->err = err;
    u->status = hv_web_status(err);
    snprintf(u->message, sizeof u->message, "%s", message ? message : hv_strerror(err));
}

/* Sends the body's part to the worker; a refusal is recorded in `u`. */
static void s_put(hv_web_api *api, hv_web_req *req, s_upload *u)
{
    char *b64 = hv_b64_encode((const uint8_t *)req->body, req->body_len);
    json_t *args = b64 == NULL ? NULL
                               : json_pack("{s:s, s:I, s:I, s:s, s:b}", "name", u->name, "size",
                                           (json_int_t)u->size, "offset", (json_int_t)u->sent,
                                           "data", b64, "check", 1);
    if (b64 != NULL) {
        hv_memzero(b64, strlen(b64));
        free(b64);
    }
    if (args != NULL && u->id[0] != '\0')
        json_object_set_new(args, "upload", json_string(u->id));
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    hv_err err = args == NULL ? HV_ENOMEM
                              : hv_web_worker_call(api->cfg->worker_socket, "attachment.put",
                                                   args, &u->who, HV_WEB_WORKER_TIMEOUT_MS,
                                                   &reply, &e);
    json_decref(args);
    if (err != HV_OK) {
        hv_log(HV_LOG_WARN, "worker_unreachable", "cmd=attachment.put err=%s", hv_errname(err));
        s_refuse(u, err, e.text);
        u->status = 503;
        return;
    }
    json_t *res = json_object_get(reply, "result");
    if (!json_is_true(json_object_get(reply, "ok"))) {
        s_refuse(u, hv_web_err_from_name(json_string_value(json_object_get(reply, "error"))),
                 json_string_value(json_object_get(reply, "message")));
    } else {
        const char *id = json_string_value(json_object_get(res, "upload"));
        const char *type = json_string_value(json_object_get(res, "type"));
        snprintf(u->id, sizeof u->id, "%s", id ? id : "");
        if (type != NULL)
            snprintf(u->type, sizeof u->type, "%s", type);
        u->sent += req->body_len;
    }
    json_decref(reply);
}

/* On the headers: is this an upload, may this person make it, and is its
 * length one haven-web takes. */
static enum MHD_Result s_begin(hv_web_api *api, hv_web_req *req)
{
    if (strcmp(req->path, "/api/v1/uploads") != 0)
        return MHD_YES; /* not streamed: the API has the whole body */
    s_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        return MHD_NO;
    req->streamed = true;
    req->stream = u;
    req->stream_free = s_free;
    char seg0[] = "uploads", *seg[] = {seg0};
    enum MHD_Result r = MHD_YES;
    if (api->cfg->kind != HV_WEB_INTAKE)
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such API path at this node", NULL);
    if (!hv_web_api_who(api, req, seg, 1, &u->who, &r))
        return r;
    const char *name = hv_web_query(req, "name");
    const char *cl = hv_web_header(req, "Content-Length");
    if (name == NULL || name[0] == '\0' || strlen(name) > S_NAME_MAX)
        return hv_web_send_error(req, 422, HV_EINVAL, "an upload names its file: ?name= (1 to "
                                 "255 bytes)", NULL);
    if (cl == NULL || cl[0] == '\0' || strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 12)
        return hv_web_send_error(req, 411, HV_EINVAL, "an upload gives its length "
                                 "(Content-Length); the file goes as the body itself", NULL);
    snprintf(u->name, sizeof u->name, "%s", name);
    u->size = strtoull(cl, NULL, 10);
    if (u->size > S_UPLOAD_MAX) {
        char m[400];
        snprintf(m, sizeof m, "%s is %.1f MiB; haven-web takes documents of at most %u MiB",
                 u->name, (double)u->size / (1024.0 * 1024.0), S_UPLOAD_MAX / (1024 * 1024));
        return hv_web_send_error(req, 413, HV_ETOOBIG, m, NULL);
    }
    return MHD_YES;
}

enum MHD_Result hv_web_uploads_part(void *cls, hv_web_req *req, hv_web_phase phase)
{
    hv_web_api *api = cls;
    if (phase == HV_WEB_HEADERS)
        return s_begin(api, req);
    s_upload *u = req->stream;
    if (!u->refused && (req->body_len > 0 || u->sent == 0))
        s_put(api, req, u); /* an empty file too: the worker says it is empty */
    hv_memzero(req->body, req->body_len); /* a person's document: not left in freed memory */
    if (phase == HV_WEB_PART)
        return MHD_YES;
    if (!u->refused && (u->sent != u->size || u->type[0] == '\0'))
        s_refuse(u, HV_EPROTO, "the worker did not take the whole file");
    if (u->refused) {
        hv_log(HV_LOG_INFO, "upload_refused", "staff=%s bytes=%llu err=%s", u->who.staff,
               (unsigned long long)u->size, hv_errname(u->err));
        return hv_web_send_error(req, u->status, u->err, u->message, NULL);
    }
    hv_log(HV_LOG_INFO, "upload", "staff=%s bytes=%llu type=%s upload=%.8s", u->who.staff,
           (unsigned long long)u->size, u->type, u->id);
    return hv_web_send_json(req, 201, json_pack("{s:s, s:s, s:s, s:I}", "upload", u->id, "name",
                                                u->name, "type", u->type, "size",
                                                (json_int_t)u->size), NULL);
}
