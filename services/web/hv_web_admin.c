/* Staff and token operations of administrators (hv_web_api.h). These
 * touch haven-web's own store only, never a case; each change is
 * audited. */
#include <stdio.h>
#include <string.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_web_api.h"
#include "hv_web_audit.h"
#include "hv_web_error.h"

static enum MHD_Result s_result(hv_web_req *req, hv_err err, const char *what,
                                const char *name, unsigned ok_status, json_t *ok)
{
    if (err == HV_OK)
        return hv_web_send_json(req, ok_status, ok ? ok : json_pack("{s:s}", "done", what),
                                NULL);
    json_decref(ok);
    char m[200];
    if (err == HV_ENOTFOUND)
        snprintf(m, sizeof m, "no staff member or token '%s'", name);
    else if (err == HV_EEXIST)
        snprintf(m, sizeof m, "the name '%s' is taken", name);
    else
        snprintf(m, sizeof m, "%s failed: %s", what, hv_strerror(err));
    return hv_web_send_error(req, hv_web_status(err), err, m, NULL);
}

static enum MHD_Result s_tokens(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                json_t *body, char **seg, int n)
{
    hv_err err;
    if (n == 1 && strcmp(req->method, "GET") == 0) {
        json_t *list = NULL;
        err = hv_web_token_list(api->store, &list);
        return s_result(req, err, "list", "", 200, json_pack("{s:o}", "items", list));
    }
    if (n == 1 && strcmp(req->method, "POST") == 0) {
        const char *scope = json_string_value(json_object_get(body, "scope"));
        if (scope == NULL || (strcmp(scope, "read") != 0 && strcmp(scope, "submit") != 0 &&
                              strcmp(scope, "provider") != 0))
            return hv_web_send_error(req, 422, HV_EINVAL, "\"scope\" is read, submit or "
                                     "provider", NULL);
        char text[HV_WEB_TOKEN_TEXT], id[33];
        err = hv_web_token_create(api->cfg, api->store, scope, who->staff, text, id);
        json_t *ok = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "scope", scope, "token", text,
                               "note", "shown once; haven-web keeps only its hash");
        memset(text, 0, sizeof text);
        return s_result(req, err, "create", "", 201, ok);
    }
    if (n == 2 && strcmp(req->method, "DELETE") == 0) {
        err = hv_web_token_revoke(api->store, seg[1]);
        if (err == HV_OK)
            err = hv_web_audit(api->cfg, "token_revoked", who->staff);
        return s_result(req, err, "revoked", seg[1], 200, NULL);
    }
    return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such token operation", NULL);
}

static hv_err s_password(hv_web_api *api, hv_web_req *req, json_t *body,
                         char hash[HV_PWHASH_STR_MAX], enum MHD_Result *r)
{
    const char *pw = json_string_value(json_object_get(body, "password"));
    hv_errmsg e = {{0}};
    hv_err err = pw == NULL ? hv_fail(&e, HV_EINVAL, "\"password\" is required, a string")
                            : hv_web_password_ok(pw, &e);
    if (err == HV_OK)
        err = hv_web_password_hash(api->cfg, pw, hash, &e);
    if (err != HV_OK)
        *r = hv_web_send_error(req, hv_web_status(err), err, e.text, NULL);
    return err;
}

enum MHD_Result hv_web_admin_handle(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                    json_t *body, char **seg, int n)
{
    if (strcmp(who->role, "admin") != 0 || who->scope[0] != '\0')
        return hv_web_send_error(req, 403, HV_EFORBIDDEN, "staff and tokens are managed by "
                                 "administrators", NULL);
    if (strcmp(seg[0], "tokens") == 0)
        return s_tokens(api, req, who, body, seg, n);
    const char *m = req->method;
    hv_err err;
    enum MHD_Result r = MHD_YES;
    char hash[HV_PWHASH_STR_MAX];
    if (n == 1 && strcmp(m, "GET") == 0) {
        json_t *list = NULL;
        err = hv_web_staff_list(api->store, hv_now_ms(), &list);
        return s_result(req, err, "list", "", 200, json_pack("{s:o}", "items", list));
    }
    if (n == 1 && strcmp(m, "POST") == 0) {
        const char *name = json_string_value(json_object_get(body, "name"));
        const char *role = json_string_value(json_object_get(body, "role"));
        if (name == NULL || !hv_web_name_valid(name))
            return hv_web_send_error(req, 422, HV_EINVAL, "\"name\": 1 to 64 of a-z 0-9 . _ -",
                                     NULL);
        if (role == NULL || !hv_web_role_valid(api->cfg, role))
            return hv_web_send_error(req, 422, HV_EINVAL, "\"role\" is not a role at this "
                                     "node", NULL);
        if (s_password(api, req, body, hash, &r) != HV_OK)
            return r;
        err = hv_web_staff_add(api->store, name, role, hash);
        if (err == HV_OK &&
            (err = hv_web_audit_about(api->cfg, "staff_added", who->staff, name)) == HV_OK)
            err = hv_web_audit_about(api->cfg, "role_changed", who->staff, name);
        return s_result(req, err, "added", name, 201,
                        json_pack("{s:s, s:s}", "name", name, "role", role));
    }
    if (n == 2 && strcmp(m, "POST") == 0 && strcmp(seg[1], "unlock-address") == 0) {
        const char *addr = json_string_value(json_object_get(body, "address"));
        err = addr ? hv_web_addr_clear(api->store, addr) : HV_EINVAL;
        if (err == HV_OK)
            err = hv_web_audit(api->cfg, "address_unlocked", who->staff);
        return s_result(req, err, "unlocked", addr ? addr : "", 200, NULL);
    }
    if (n != 3 || strcmp(m, "POST") != 0 || !hv_web_name_valid(seg[1]))
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such staff operation", NULL);
    const char *name = seg[1], *op = seg[2];
    /* An admin who disabled, demoted or re-enrolled their own account here
     * would lose the session that is doing it, and with a new second factor
     * its secret before it could be scanned: another admin does it, or the
     * host (haven staff). */
    if (strcmp(name, who->staff) == 0 && (strcmp(op, "disable") == 0 ||
                                          strcmp(op, "role") == 0 || strcmp(op, "totp") == 0))
        return hv_web_send_error(req, 409, HV_EPROTO, "not on your own account: another "
                                 "administrator can do it, or `haven staff` on the server",
                                 NULL);
    if (strcmp(op, "disable") == 0 || strcmp(op, "enable") == 0) {
        bool off = op[0] == 'd';
        err = hv_web_staff_set_disabled(api->store, name, off);
        if (err == HV_OK && off)
            err = hv_web_session_delete_staff(api->store, name);
        if (err == HV_OK)
            err = hv_web_audit_about(api->cfg, off ? "staff_disabled" : "staff_enabled",
                                     who->staff, name);
        return s_result(req, err, off ? "disabled" : "enabled", name, 200, NULL);
    }
    if (strcmp(op, "unlock") == 0) {
        err = hv_web_staff_clear(api->store, name);
        if (err == HV_OK)
            err = hv_web_audit_about(api->cfg, "unlock", who->staff, name);
        return s_result(req, err, "unlocked", name, 200, NULL);
    }
    if (strcmp(op, "reset-password") == 0) {
        if (s_password(api, req, body, hash, &r) != HV_OK)
            return r;
        err = hv_web_staff_set_password(api->store, name, hash);
        if (err == HV_OK)
            err = hv_web_session_delete_staff(api->store, name);
        if (err == HV_OK)
            err = hv_web_audit_about(api->cfg, "password_reset", who->staff, name);
        return s_result(req, err, "password reset", name, 200, NULL);
    }
    if (strcmp(op, "totp") == 0) {
        /* The secret is shown once, here; the store keeps it to check codes. */
        char uri[512], b32[64];
        hv_errmsg e = {""};
        err = hv_web_totp_enrol(api->cfg, api->store, name, who->staff, uri, b32, &e);
        json_t *ok = err == HV_OK ? json_pack("{s:s, s:s, s:s}", "otpauth_uri", uri, "secret",
                                             b32, "note", "shown once; the account's sessions "
                                             "have ended")
                                  : NULL;
        hv_memzero(uri, sizeof uri);
        hv_memzero(b32, sizeof b32);
        if (err == HV_OK)
            hv_log(HV_LOG_INFO, "totp_enrolled", "staff=%s by=%s", name, who->staff);
        return s_result(req, err, "TOTP enrolment", name, 200, ok);
    }
    if (strcmp(op, "role") == 0) {
        const char *role = json_string_value(json_object_get(body, "role"));
        if (role == NULL || !hv_web_role_valid(api->cfg, role))
            return hv_web_send_error(req, 422, HV_EINVAL, "\"role\" is not a role at this "
                                     "node", NULL);
        err = hv_web_staff_set_role(api->store, name, role);
        if (err == HV_OK)
            err = hv_web_audit_about(api->cfg, "role_changed", who->staff, name);
        return s_result(req, err, "role changed", name, 200, NULL);
    }
    return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such staff operation", NULL);
}
