/* The API's routes; see hv_web_api.h. */
#include "hv_web_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_web_audit.h"
#include "hv_web_error.h"
#include "hv_web_prefs.h"
#include "hv_web_worker.h"

#define S_COOKIE "__Host-haven_session"
#define S_SEGMENTS_MAX 6

enum MHD_Result hv_web_api_forward(hv_web_req *req, json_t *reply, unsigned ok_status)
{
    if (json_is_true(json_object_get(reply, "ok"))) {
        json_t *result = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        return hv_web_send_json(req, ok_status, result ? result : json_object(), NULL);
    }
    hv_err err = hv_web_err_from_name(json_string_value(json_object_get(reply, "error")));
    json_t *errors = json_object_get(json_object_get(reply, "result"), "errors");
    json_t *out = hv_web_error_json(err, json_string_value(json_object_get(reply, "message")),
                                    json_incref(errors));
    json_decref(reply);
    return hv_web_send_json(req, hv_web_status(err), out, NULL);
}

enum MHD_Result hv_web_api_call(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                const char *cmd, json_t *args, unsigned ok_status)
{
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    hv_err err = args == NULL ? HV_ENOMEM
                              : hv_web_worker_call(api->cfg->worker_socket, cmd, args, who,
                                                   HV_WEB_WORKER_TIMEOUT_MS, &reply, &e);
    json_decref(args);
    if (err != HV_OK) {
        hv_log(HV_LOG_WARN, "worker_unreachable", "cmd=%s err=%s", cmd, hv_errname(err));
        return hv_web_send_error(req, 503, err, e.text, NULL);
    }
    return hv_web_api_forward(req, reply, ok_status);
}

/* The body as a JSON object: NULL after answering 400 when it is not one.
 * An empty body is an empty object. */
static json_t *s_body(hv_web_req *req)
{
    if (req->body_len == 0)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j != NULL && json_is_object(j))
        return j;
    json_decref(j);
    json_t *errors = json_pack("[{s:s, s:i, s:i, s:s}]", "path", "", "line",
                               j ? 1 : jerr.line, "column", j ? 1 : jerr.column, "message",
                               j ? "expected a JSON object" : jerr.text);
    hv_web_send_error(req, 400, HV_EJSON, "the request body is not a JSON object", errors);
    return NULL;
}

/* A string member of the body, or NULL (also when it is not a string). */
static const char *s_str(json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

static bool s_same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strlen(a) == strlen(b) &&
           hv_memcmp_ct((const uint8_t *)a, (const uint8_t *)b, strlen(b)) == 0;
}

/* ---------------------------------------------------------------- session */

static void s_cookie(char *out, size_t cap, const char *value, uint64_t max_age)
{
    snprintf(out, cap, "%s=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=%llu",
             S_COOKIE, value, (unsigned long long)max_age);
}

/* The session's answer, with the person's language and time zone: what
 * they saved, else the browser's language and UTC. */
static json_t *s_session_json(const hv_web_api *api, hv_web_req *req, const hv_web_who *w)
{
    int64_t idle_end = w->last_ms + (int64_t)api->cfg->idle_s * 1000;
    int64_t abs_end = w->created_ms + (int64_t)api->cfg->absolute_s * 1000;
    char lang[8], tz[72];
    if (hv_web_prefs_get(api->store, w->staff, lang, tz) != HV_OK)
        lang[0] = tz[0] = '\0';
    const char *browser = hv_web_lang_from_accept(hv_web_header(req, "Accept-Language"));
    /* now_ms lets a page whose clock is off still count down correctly. */
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:b}", "staff",
                     w->staff, "role", w->role, "node", api->cfg->node, "kind",
                     api->cfg->kind_name, "started_ms", (json_int_t)w->created_ms,
                     "idle_ends_ms", (json_int_t)idle_end, "absolute_ends_ms",
                     (json_int_t)abs_end, "ends_ms",
                     (json_int_t)(idle_end < abs_end ? idle_end : abs_end), "now_ms",
                     (json_int_t)hv_now_ms(), "lang", lang[0] ? lang : browser,
                     "time_zone", tz[0] ? tz : "UTC", "time_zone_saved", tz[0] != '\0');
}

/* PUT /api/v1/session/preferences {"lang"?, "time_zone"?}: saved for the
 * person, answered with the session as GET gives it. */
static enum MHD_Result s_preferences(hv_web_api *api, hv_web_req *req, const hv_web_who *who)
{
    json_t *body = s_body(req);
    if (body == NULL)
        return MHD_YES;
    enum MHD_Result r;
    json_t *lang_j = json_object_get(body, "lang"), *tz_j = json_object_get(body, "time_zone");
    const char *lang = json_string_value(lang_j), *tz = json_string_value(tz_j);
    char m[200];
    size_t known = (lang_j != NULL) + (tz_j != NULL);
    if (known == 0 || known != json_object_size(body)) {
        r = hv_web_send_error(req, 422, HV_EINVAL, "preferences are \"lang\" and/or "
                              "\"time_zone\", and nothing else", NULL);
    } else if (lang_j != NULL && !hv_web_lang_ok(lang)) {
        snprintf(m, sizeof m, "\"lang\" %.40s%s%s is not one of en, fr, ar", lang ? "\"" : "",
                 lang ? lang : "(not a string)", lang ? "\"" : "");
        r = hv_web_send_error(req, 422, HV_EINVAL, m, NULL);
    } else if (tz_j != NULL && !hv_web_tz_ok(tz, HV_WEB_TZ_DIR)) {
        snprintf(m, sizeof m, "\"time_zone\" %s%.70s%s is not a time zone name (such as "
                 "Europe/Rome or Africa/Tunis)", tz ? "\"" : "", tz ? tz : "(not a string)",
                 tz ? "\"" : "");
        r = hv_web_send_error(req, 422, HV_EINVAL, m, NULL);
    } else if (hv_web_prefs_put(api->store, who->staff, lang, tz) != HV_OK) {
        r = hv_web_send_error(req, 500, HV_ESTORE, "cannot save the preferences", NULL);
    } else {
        r = hv_web_send_json(req, 200, s_session_json(api, req, who), NULL);
    }
    json_decref(body);
    return r;
}

static enum MHD_Result s_signin(hv_web_api *api, hv_web_req *req)
{
    json_t *body = s_body(req);
    if (body == NULL)
        return MHD_YES;
    const char *name = s_str(body, "name"), *pw = s_str(body, "password"),
               *totp = s_str(body, "totp");
    enum MHD_Result r;
    if (name == NULL || pw == NULL || (json_object_get(body, "totp") && totp == NULL)) {
        r = hv_web_send_error(req, 422, HV_EINVAL, "sign-in needs \"name\" and \"password\" "
                              "(strings) and, where required, \"totp\"", NULL);
        goto done;
    }
    hv_web_staff st;
    hv_errmsg e = {{0}};
    hv_err err = hv_web_signin(api->cfg, api->store, name, pw, totp, req->addr, &st, &e);
    if (err != HV_OK) {
        r = hv_web_send_error(req, hv_web_status(err), err, e.text, NULL);
        goto done;
    }
    char id[HV_WEB_SECRET_HEX + 1], csrf[HV_WEB_SECRET_HEX + 1], cookie[256];
    if (hv_web_session_begin(api->store, st.name, id, csrf) != HV_OK) {
        r = hv_web_send_error(req, 500, HV_ESTORE, "cannot start a session", NULL);
        goto done;
    }
    s_cookie(cookie, sizeof cookie, id, api->cfg->absolute_s);
    hv_memzero(id, sizeof id);
    hv_log(HV_LOG_INFO, "signin", "staff=%s role=%s", st.name, st.role);
    hv_web_who w = {.created_ms = hv_now_ms()};
    w.last_ms = w.created_ms;
    snprintf(w.staff, sizeof w.staff, "%s", st.name);
    snprintf(w.role, sizeof w.role, "%s", st.role);
    json_t *out = s_session_json(api, req, &w);
    json_object_set_new(out, "csrf_token", json_string(csrf));
    r = hv_web_send_json(req, 201, out, cookie);
done:
    json_decref(body);
    return r;
}

/* Who the request comes from: a Bearer token or a session cookie.
 * Answers 401 itself and returns false when neither is valid. */
static bool s_who(hv_web_api *api, hv_web_req *req, hv_web_who *who, enum MHD_Result *r)
{
    const char *auth = hv_web_header(req, "Authorization");
    hv_err err;
    if (auth != NULL) {
        err = strncmp(auth, "Bearer ", 7) == 0
                  ? hv_web_token_check(api->cfg, api->store, auth + 7, who)
                  : HV_EAUTH;
        if (err != HV_OK)
            *r = hv_web_send_error(req, 401, HV_EAUTH, "the API token is unknown or revoked",
                                   NULL);
        return err == HV_OK;
    }
    /* The pages mark the calls they make by themselves (refreshes on
     * events, polls): those do not count as the person's activity. */
    const char *bg = hv_web_header(req, "X-Haven-Background");
    err = hv_web_session_check(api->cfg, api->store, hv_web_cookie(req, S_COOKIE),
                               bg != NULL && strcmp(bg, "1") == 0, who);
    if (err != HV_OK)
        *r = hv_web_send_error(req, 401, HV_EAUTH, "not signed in, or the session has ended; "
                               "sign in again (POST /api/v1/session)", NULL);
    return err == HV_OK;
}

/* A token's scope: read answers GET only; submit adds creating and
 * withdrawing referrals; provider adds the inbox's actions. Staff and
 * token administration is for signed-in administrators only. */
static bool s_scope_allows(const hv_web_who *who, const char *method, char **seg, int n)
{
    if (who->scope[0] == '\0')
        return true;
    /* Drafts are people's unfinished work, not an outside system's. */
    if (strcmp(seg[0], "staff") == 0 || strcmp(seg[0], "tokens") == 0 ||
        strcmp(seg[0], "drafts") == 0)
        return false;
    if (strcmp(method, "GET") == 0)
        return true;
    if (strcmp(who->scope, "submit") == 0)
        return (strcmp(seg[0], "uploads") == 0 && n == 1) ||
               (strcmp(seg[0], "referrals") == 0 &&
               (n == 1 || (n == 2 && strcmp(seg[1], "check") == 0) ||
                (n == 3 && strcmp(seg[2], "withdraw") == 0)));
    if (strcmp(who->scope, "provider") == 0)
        return strcmp(seg[0], "inbox") == 0 &&
               (n == 3 || (n == 4 && strcmp(seg[2], "messages") == 0));
    return false;
}

/* --------------------------------------------------------------- cases */

static bool s_hexid(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* The list filters of the contract, from the query string. NULL after
 * answering 422 for a malformed number. */
static json_t *s_filters(hv_web_req *req)
{
    static const char *const text[] = {"state", "service", "country", "assigned_to",
                                       "since", "until", "q"};
    json_t *args = json_object();
    for (size_t i = 0; args != NULL && i < sizeof text / sizeof text[0]; i++) {
        const char *v = hv_web_query(req, text[i]);
        if (v != NULL)
            json_object_set_new(args, text[i], json_string(v));
    }
    static const char *const nums[] = {"limit", "offset"};
    for (size_t i = 0; args != NULL && i < 2; i++) {
        const char *v = hv_web_query(req, nums[i]);
        if (v == NULL)
            continue;
        if (v[0] == '\0' || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v)) {
            json_decref(args);
            hv_web_send_error(req, 422, HV_EINVAL, "limit and offset are whole numbers", NULL);
            return NULL;
        }
        json_object_set_new(args, nums[i], json_integer(atoll(v)));
    }
    return args;
}

/* Copies the string members `keys` of `body` into `args` under the names
 * `names`; false (after answering 422) when one is missing or no string. */
static bool s_take(hv_web_req *req, json_t *body, json_t *args, const char *const *keys,
                   const char *const *names, const bool *required, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v == NULL && !required[i])
            continue;
        if (!json_is_string(v)) {
            char m[120];
            snprintf(m, sizeof m, "\"%s\" is required, a string", keys[i]);
            hv_web_send_error(req, 422, HV_EINVAL, m, NULL);
            return false;
        }
        json_object_set(args, names[i], v);
    }
    return true;
}

/* The case's messages under a referral or an inbox entry (docs/API.md):
 * GET and POST .../messages, POST .../messages/read {"n"}. `args` holds
 * the id and is consumed; false (nothing answered) when the path is not
 * one of them. */
static bool s_messages(hv_web_api *api, hv_web_req *req, const hv_web_who *who, json_t *body,
                       json_t *args, char **seg, int n, enum MHD_Result *r)
{
    const char *m = req->method;
    if (n < 3 || strcmp(seg[2], "messages") != 0 || n > 4 ||
        (n == 4 && strcmp(seg[3], "read") != 0))
        return false;
    if (n == 3 && strcmp(m, "GET") == 0) {
        *r = hv_web_api_call(api, req, who, "message.list", args, 200);
    } else if (n == 3 && strcmp(m, "POST") == 0) {
        static const char *const tk[] = {"text"};
        static const bool tr[] = {true};
        *r = s_take(req, body, args, tk, tk, tr, 1)
                 ? hv_web_api_call(api, req, who, "message.send", args, 201)
                 : (json_decref(args), MHD_YES);
    } else if (n == 4 && strcmp(m, "POST") == 0) {
        json_t *nv = json_object_get(body, "n");
        if (!json_is_integer(nv) || json_integer_value(nv) < 1) {
            json_decref(args);
            *r = hv_web_send_error(req, 422, HV_EINVAL, "\"n\" is required, the number of "
                                   "the last message read (1 or more)", NULL);
        } else {
            json_object_set(args, "n", nv);
            *r = hv_web_api_call(api, req, who, "message.read", args, 200);
        }
    } else {
        json_decref(args);
        *r = hv_web_send_error(req, 405, HV_EINVAL, "case messages answer GET and POST", NULL);
    }
    return true;
}

/* ?uploads=ID,ID...: the documents of the referral file's "attachments",
 * in its order, as haven-web's uploads answered them (POST /uploads);
 * passed on as referral.submit's "attachments". False after answering 422
 * when the list is not ids. */
static bool s_uploads(hv_web_req *req, json_t *args)
{
    const char *q = hv_web_query(req, "uploads");
    if (q == NULL || q[0] == '\0')
        return true;
    json_t *list = json_array();
    char id[33];
    const char *p = q;
    for (int k = 0; list != NULL; k++) {
        size_t len = strcspn(p, ",");
        if (len != 32 || strspn(p, "0123456789abcdef") < 32 || k == HV_WEB_UPLOADS_MAX) {
            json_decref(list);
            hv_web_send_error(req, 422, HV_EINVAL, "\"uploads\" is a list of at most 8 "
                              "upload ids (32 hex digits), separated by commas", NULL);
            return false;
        }
        memcpy(id, p, 32);
        id[32] = '\0';
        json_array_append_new(list, json_pack("{s:s}", "upload", id));
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (list == NULL)
        return false;
    json_object_set_new(args, "attachments", list);
    return true;
}

static enum MHD_Result s_referrals(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                   json_t *body, char **seg, int n)
{
    const char *m = req->method;
    if (n == 1 && strcmp(m, "GET") == 0) {
        json_t *args = s_filters(req);
        return args ? hv_web_api_call(api, req, who, "referral.list", args, 200) : MHD_YES;
    }
    bool check = n == 2 && strcmp(seg[1], "check") == 0;
    if ((n == 1 || check) && strcmp(m, "POST") == 0) {
        /* The body is the referral file itself; the organisation's own
         * reference, which the file has no field for, comes in the query,
         * and so does the draft it was written from. */
        json_t *args = json_pack("{s:s%}", "case", req->body, req->body_len);
        const char *ref = hv_web_query(req, "reference"), *draft = hv_web_query(req, "draft");
        if (args != NULL && ref != NULL && !check)
            json_object_set_new(args, "reference", json_string(ref));
        if (args != NULL && draft != NULL && !check)
            json_object_set_new(args, "draft", json_string(draft));
        if (args != NULL && !check && !s_uploads(req, args)) {
            json_decref(args);
            return MHD_YES;
        }
        return hv_web_api_call(api, req, who, check ? "referral.check" : "referral.submit", args,
                               check ? 200 : 201);
    }
    if (n < 2 || !s_hexid(seg[1]))
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such referral", NULL);
    json_t *args = json_pack("{s:s}", "id", seg[1]);
    enum MHD_Result r;
    if (s_messages(api, req, who, body, args, seg, n, &r))
        return r;
    if (n == 3 && strcmp(m, "GET") == 0 && strcmp(seg[2], "attachments") == 0)
        return hv_web_api_call(api, req, who, "attachment.list", args, 200);
    if (n == 2 && strcmp(m, "GET") == 0) {
        const char *c = hv_web_query(req, "case");
        json_object_set_new(args, "case", json_boolean(c != NULL && strcmp(c, "true") == 0));
        return hv_web_api_call(api, req, who, "referral.show", args, 200);
    }
    if (n == 3 && strcmp(m, "POST") == 0) {
        static const char *const reason[] = {"reason", "code"}, *const staff[] = {"staff"};
        static const bool req1[] = {true, false};
        /* code: what a router is told (PROTOCOL.md §9.1); the reason in
         * words stays with the intake and a provider holding the case. */
        if (strcmp(seg[2], "withdraw") == 0)
            return s_take(req, body, args, reason, reason, req1, 2)
                       ? hv_web_api_call(api, req, who, "referral.withdraw", args, 200)
                       : (json_decref(args), MHD_YES);
        if (strcmp(seg[2], "assign") == 0)
            return s_take(req, body, args, staff, staff, req1, 1)
                       ? hv_web_api_call(api, req, who, "referral.assign", args, 200)
                       : (json_decref(args), MHD_YES);
        if (strcmp(seg[2], "authorise") == 0)
            return hv_web_api_call(api, req, who, "referral.authorise", args, 200);
    }
    json_decref(args);
    return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such operation on a referral", NULL);
}

static enum MHD_Result s_inbox(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                               json_t *body, char **seg, int n)
{
    const char *m = req->method;
    if (n == 1 && strcmp(m, "GET") == 0) {
        json_t *args = s_filters(req);
        return args ? hv_web_api_call(api, req, who, "inbox.list", args, 200) : MHD_YES;
    }
    if (n < 2 || !s_hexid(seg[1]))
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such offer or case", NULL);
    json_t *args = json_pack("{s:s}", "id", seg[1]);
    enum MHD_Result r;
    if (s_messages(api, req, who, body, args, seg, n, &r))
        return r;
    if (n == 2 && strcmp(m, "GET") == 0)
        return hv_web_api_call(api, req, who, "inbox.show", args, 200);
    if (n == 3 && strcmp(m, "GET") == 0 && strcmp(seg[2], "attachments") == 0)
        return hv_web_api_call(api, req, who, "attachment.list", args, 200);
    if (n == 4 && strcmp(m, "GET") == 0 && strcmp(seg[2], "attachments") == 0) {
        json_decref(args);
        return hv_web_docs_download(api, req, who, seg[1], seg[3]);
    }
    if (n == 3 && strcmp(m, "GET") == 0 && strcmp(seg[2], "export") == 0)
        return hv_web_api_call(api, req, who, "inbox.export", args, 200);
    if (n == 3 && strcmp(m, "POST") == 0) {
        static const char *const rk[] = {"reference"};
        static const bool ro[] = {false};
        if (strcmp(seg[2], "accept") == 0)
            return s_take(req, body, args, rk, rk, ro, 1)
                       ? hv_web_api_call(api, req, who, "inbox.accept", args, 200)
                       : (json_decref(args), MHD_YES);
        static const char *const dk[] = {"reason_code", "note"}, *const dn[] = {"reason", "note"};
        static const bool dr[] = {true, false};
        if (strcmp(seg[2], "decline") == 0)
            return s_take(req, body, args, dk, dn, dr, 2)
                       ? hv_web_api_call(api, req, who, "inbox.decline", args, 200)
                       : (json_decref(args), MHD_YES);
        static const char *const sk[] = {"state", "note"};
        if (strcmp(seg[2], "status") == 0)
            return s_take(req, body, args, sk, sk, dr, 2)
                       ? hv_web_api_call(api, req, who, "inbox.status", args, 200)
                       : (json_decref(args), MHD_YES);
        static const char *const ak[] = {"staff"};
        if (strcmp(seg[2], "assign") == 0)
            return s_take(req, body, args, ak, ak, dr, 1)
                       ? hv_web_api_call(api, req, who, "inbox.assign", args, 200)
                       : (json_decref(args), MHD_YES);
    }
    json_decref(args);
    return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such operation on the inbox", NULL);
}

bool hv_web_api_who(hv_web_api *api, hv_web_req *req, char **seg, int n, hv_web_who *who,
                    enum MHD_Result *r)
{
    if (!s_who(api, req, who, r))
        return false;
    bool reads = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    /* A session's state-changing request must carry the CSRF token it was
     * given at sign-in; a token is not sent by browsers on their own. */
    if (!reads && who->scope[0] == '\0' &&
        !s_same(hv_web_header(req, "X-CSRF-Token"), who->csrf)) {
        *r = hv_web_send_error(req, 403, HV_EFORBIDDEN, "missing or wrong X-CSRF-Token; "
                               "send the csrf_token of the sign-in", NULL);
        return false;
    }
    if (!s_scope_allows(who, req->method, seg, n)) {
        *r = hv_web_send_error(req, 403, HV_EFORBIDDEN, "outside this API token's scope", NULL);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ dispatch */

static int s_split(char *path, char **seg)
{
    int n = 0;
    for (char *p = strtok(path, "/"); p != NULL; p = strtok(NULL, "/")) {
        if (n == S_SEGMENTS_MAX)
            return -1;
        seg[n++] = p;
    }
    return n;
}

static enum MHD_Result s_session(hv_web_api *api, hv_web_req *req, bool prefs)
{
    if (strcmp(req->method, "POST") == 0 && !prefs)
        return s_signin(api, req);
    hv_web_who who;
    enum MHD_Result r = MHD_YES;
    if (hv_web_header(req, "Authorization") != NULL)
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "tokens have no session", NULL);
    if (!s_who(api, req, &who, &r))
        return r;
    if (prefs && strcmp(req->method, "PUT") != 0)
        return hv_web_send_error(req, 405, HV_EINVAL, "preferences answer PUT", NULL);
    if (strcmp(req->method, "GET") == 0) {
        /* The CSRF token again, so that a reloaded page can act: only a
         * same-origin script can read this answer (no CORS, and the
         * cookie is SameSite=Strict). */
        json_t *out = s_session_json(api, req, &who);
        json_object_set_new(out, "csrf_token", json_string(who.csrf));
        return hv_web_send_json(req, 200, out, NULL);
    }
    if (!s_same(hv_web_header(req, "X-CSRF-Token"), who.csrf))
        return hv_web_send_error(req, 403, HV_EFORBIDDEN, "missing or wrong X-CSRF-Token", NULL);
    if (prefs)
        return s_preferences(api, req, &who);
    if (strcmp(req->method, "DELETE") == 0) {
        if (hv_web_session_end(api->store, hv_web_cookie(req, S_COOKIE)) != HV_OK)
            hv_log(HV_LOG_WARN, "store_failed", "op=end_session");
        hv_web_audit_try(api->cfg, "signout", who.staff);
        char cookie[256];
        s_cookie(cookie, sizeof cookie, "", 0);
        return hv_web_send_json(req, 200, json_pack("{s:b}", "signed_out", 1), cookie);
    }
    return hv_web_send_error(req, 405, HV_EINVAL, "the session answers GET, POST, DELETE", NULL);
}

enum MHD_Result hv_web_api_handle(void *cls, hv_web_req *req)
{
    hv_web_api *api = cls;
    char path[512], *seg[S_SEGMENTS_MAX];
    if (strlen(req->path) >= sizeof path)
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such API path", NULL);
    snprintf(path, sizeof path, "%s", req->path);
    int n = s_split(path, seg);
    if (n < 3 || strcmp(seg[1], "v1") != 0)
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such API path; the API is under "
                                 "/api/v1/", NULL);
    char **s = seg + 2;
    n -= 2;
    if (strcmp(s[0], "session") == 0 &&
        (n == 1 || (n == 2 && strcmp(s[1], "preferences") == 0)))
        return s_session(api, req, n == 2);
    hv_web_who who;
    enum MHD_Result r = MHD_YES;
    if (!hv_web_api_who(api, req, s, n, &who, &r))
        return r;
    bool reads = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (n == 1 && strcmp(s[0], "events") == 0 && reads)
        return hv_web_events_handle(api, req, &who);
    /* The referral file's schema, for the form the pages build from it:
     * no case content, so for anyone signed in at any kind of node. */
    if (n == 2 && strcmp(s[0], "schema") == 0 && strcmp(s[1], "referral") == 0 && reads)
        return hv_web_send(req, 200, "application/schema+json",
                           (const char *)hv_web_referral_schema, hv_web_referral_schema_len,
                           NULL);
    json_t *body = reads ? json_object() : s_body(req);
    if (body == NULL)
        return MHD_YES;
    hv_web_kind k = api->cfg->kind;
    if (strcmp(s[0], "staff") == 0 || strcmp(s[0], "tokens") == 0)
        r = hv_web_admin_handle(api, req, &who, body, s, n);
    else if (strcmp(s[0], "referrals") == 0 && k == HV_WEB_INTAKE)
        r = s_referrals(api, req, &who, body, s, n);
    else if (strcmp(s[0], "cases") == 0 && k == HV_WEB_INTAKE && n == 2 && reads)
        r = strlen(s[1]) >= 6 && strlen(s[1]) <= 32 &&
                    strspn(s[1], "0123456789abcdef") == strlen(s[1])
                ? hv_web_api_call(api, req, &who, "case.show", json_pack("{s:s}", "case", s[1]),
                                  200)
                : hv_web_send_error(req, 404, HV_ENOTFOUND, "no such case", NULL);
    else if (strcmp(s[0], "drafts") == 0 && k == HV_WEB_INTAKE)
        r = hv_web_drafts_handle(api, req, &who, body, s, n);
    else if (strcmp(s[0], "inbox") == 0 && k == HV_WEB_PROVIDER)
        r = s_inbox(api, req, &who, body, s, n);
    else if (strcmp(s[0], "pathway") == 0 && n == 1 && reads && k == HV_WEB_ROUTER)
        r = hv_web_api_call(api, req, &who, "pathway.show", json_object(), 200);
    else
        r = hv_web_send_error(req, 404, HV_ENOTFOUND, "no such API path at this node", NULL);
    json_decref(body);
    return r;
}
