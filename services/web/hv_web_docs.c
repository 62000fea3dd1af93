/* A provider's documents as downloads (docs/API.md "Documents"):
 * GET /api/v1/inbox/{id}/attachments/{n} reads a complete document from
 * the worker (attachment.read, in pieces of 1 MiB, each within the control
 * socket's limit) and answers it as a file to save: its own type, never
 * sniffed, never shown as a page of the workbench's origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_log.h"
#include "hv_web_api.h"
#include "hv_web_error.h"
#include "hv_web_worker.h"

#define S_PIECE (1024u * 1024u)
#define S_DOC_MAX (512u * 1024u * 1024u) /* far above any attachment_max_mib */

/* The types a document may have (referral.submit checks them by content);
 * anything else goes as bytes. */
static const char *s_type(const char *t)
{
    static const char *const ok[] = {"application/pdf", "image/jpeg", "image/png"};
    for (size_t i = 0; t != NULL && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(t, ok[i]) == 0)
            return ok[i];
    return "application/octet-stream";
}

/* Content-Disposition: attachment with the name in ASCII (anything else
 * as '_') and, in full, as RFC 8187's UTF-8 percent-encoding. */
static void s_disposition(char *out, size_t cap, const char *name)
{
    char ascii[128], pct[3 * 128 + 1];
    size_t a = 0, p = 0;
    for (const unsigned char *c = (const unsigned char *)(name ? name : "document");
         *c != '\0' && a < sizeof ascii - 1 && p < sizeof pct - 4; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_';
        ascii[a++] = plain ? (char)*c : '_';
        if (plain)
            pct[p++] = (char)*c;
        else
            p += (size_t)snprintf(pct + p, sizeof pct - p, "%%%02X", *c);
    }
    ascii[a] = pct[p] = '\0';
    snprintf(out, cap, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
             a ? ascii : "document", p ? pct : "document");
}

/* The worker's call; on its refusal answers the error and returns NULL. */
static json_t *s_call(hv_web_api *api, hv_web_req *req, const hv_web_who *who, const char *cmd,
                      json_t *args, enum MHD_Result *r)
{
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    hv_err err = args == NULL ? HV_ENOMEM
                              : hv_web_worker_call(api->cfg->worker_socket, cmd, args, who,
                                                   HV_WEB_WORKER_TIMEOUT_MS, &reply, &e);
    json_decref(args);
    if (err != HV_OK) {
        hv_log(HV_LOG_WARN, "worker_unreachable", "cmd=%s err=%s", cmd, hv_errname(err));
        *r = hv_web_send_error(req, 503, err, e.text, NULL);
        return NULL;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        *r = hv_web_api_forward(req, reply, 200);
        return NULL;
    }
    return reply;
}

enum MHD_Result hv_web_docs_download(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                     const char *id, const char *n_text)
{
    enum MHD_Result r = MHD_YES;
    uint8_t *buf = NULL;
    json_t *list = NULL;
    if (strlen(n_text) != 1 || n_text[0] < '1' || n_text[0] > '8')
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such document (1 to 8)", NULL);
    int n = n_text[0] - '0';
    list = s_call(api, req, who, "attachment.list", json_pack("{s:s}", "id", id), &r);
    if (list == NULL)
        return r;
    json_t *items = json_object_get(json_object_get(list, "result"), "items"), *it, *doc = NULL;
    size_t i;
    json_array_foreach(items, i, it) if (json_integer_value(json_object_get(it, "n")) == n) doc = it;
    const char *state = json_string_value(json_object_get(doc, "state"));
    json_int_t size = json_integer_value(json_object_get(doc, "size"));
    if (doc == NULL || state == NULL || strcmp(state, "complete") != 0 || size < 0 ||
        (uint64_t)size > S_DOC_MAX) {
        r = hv_web_send_error(req, 404, HV_ENOTFOUND, doc == NULL ? "no such document"
                              : "the document has not arrived whole; it can be saved once it "
                                "is complete", NULL);
        goto done;
    }
    buf = malloc(size ? (size_t)size : 1);
    if (buf == NULL) {
        r = hv_web_send_error(req, 500, HV_ENOMEM, "out of memory", NULL);
        goto done;
    }
    size_t got = 0;
    while (got < (size_t)size) {
        size_t want = (size_t)size - got < S_PIECE ? (size_t)size - got : S_PIECE;
        json_t *piece = s_call(api, req, who, "attachment.read",
                               json_pack("{s:s, s:i, s:I, s:I}", "id", id, "n", n, "offset",
                                         (json_int_t)got, "length", (json_int_t)want), &r);
        if (piece == NULL)
            goto done;
        const char *data = json_string_value(json_object_get(json_object_get(piece, "result"),
                                                             "data"));
        size_t len = 0;
        hv_err err = data == NULL ? HV_EDECODE
                                  : hv_b64_decode(data, strlen(data), buf + got, want, &len);
        json_decref(piece);
        if (err != HV_OK || len == 0) {
            r = hv_web_send_error(req, 502, HV_EPROTO, "the worker's piece of the document "
                                  "is not what was asked", NULL);
            goto done;
        }
        got += len;
    }
    char disp[700];
    s_disposition(disp, sizeof disp, json_string_value(json_object_get(doc, "name")));
    hv_log(HV_LOG_INFO, "document_saved", "id=%.8s n=%d bytes=%zu", id, n, got);
    r = hv_web_send_download(req, s_type(json_string_value(json_object_get(doc, "type"))), buf,
                             got, disp);
    buf = NULL; /* the response's now */
done:
    free(buf);
    json_decref(list);
    return r;
}
