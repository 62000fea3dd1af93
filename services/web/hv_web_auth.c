/* Sign-in, sessions and tokens; see hv_web_auth.h. */
#include "hv_web_auth.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_web_audit.h"

#define S_TOTP_STEP 30
#define S_REFUSED "wrong name, password or code; after too many tries the account is locked"

hv_err hv_web_password_ok(const char *pw, hv_errmsg *e)
{
    size_t n = strlen(pw);
    if (n < HV_WEB_PASSWORD_MIN)
        return hv_fail(e, HV_EINVAL, "a password needs at least %d characters",
                       HV_WEB_PASSWORD_MIN);
    if (n > HV_WEB_PASSWORD_MAX)
        return hv_fail(e, HV_EINVAL, "a password has at most %d characters",
                       HV_WEB_PASSWORD_MAX);
    return HV_OK;
}

hv_err hv_web_password_hash(const hv_web_config *c, const char *pw, char out[HV_PWHASH_STR_MAX],
                            hv_errmsg *e)
{
    hv_err err = hv_pwhash(pw, strlen(pw), c->argon2_ops, c->argon2_mem_kib, out);
    if (err != HV_OK)
        return hv_fail(e, err, "cannot hash the password at %llu passes over %llu KiB",
                       (unsigned long long)c->argon2_ops,
                       (unsigned long long)c->argon2_mem_kib);
    return HV_OK;
}

/* A hash of nothing anyone knows, at the configured cost, so that an
 * unknown name takes as long to refuse as a wrong password. */
static pthread_mutex_t s_dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_dummy[HV_PWHASH_STR_MAX];
static volatile bool s_burned; /* the result, kept so that the work is not optimised away */

static void s_burn(const hv_web_config *c, const char *pw)
{
    pthread_mutex_lock(&s_dummy_lock);
    if (s_dummy[0] == '\0') {
        uint8_t r[16];
        char hex[33];
        hv_random(r, sizeof r);
        hv_hex(r, sizeof r, hex);
        if (hv_pwhash(hex, strlen(hex), c->argon2_ops, c->argon2_mem_kib, s_dummy) != HV_OK)
            s_dummy[0] = '\0';
    }
    char copy[HV_PWHASH_STR_MAX];
    memcpy(copy, s_dummy, sizeof copy);
    pthread_mutex_unlock(&s_dummy_lock);
    if (copy[0] != '\0')
        s_burned = hv_pwhash_verify(copy, pw, strlen(pw)) == HV_OK;
}

/* Counts a failure against the address and, when known, the account;
 * audits the failure and any lockout it causes. */
static void s_failed(const hv_web_config *c, hv_web_store *s, const char *name,
                     const char *addr)
{
    int64_t now = hv_now_ms(), lock_ms = (int64_t)c->lockout_s * 1000;
    bool locked = false;
    if (name != NULL) {
        if (hv_web_staff_failed(s, name, (int64_t)c->max_failures, lock_ms, now, &locked) !=
            HV_OK)
            locked = false;
        hv_web_audit_try(c, "signin_failed", name);
        if (locked) {
            hv_web_audit_try_about(c, "lockout", name, name);
            hv_log(HV_LOG_WARN, "lockout", "staff=%s", name);
        }
    } else {
        hv_web_audit_try(c, "signin_failed", NULL);
    }
    if (hv_web_addr_failed(s, addr, (int64_t)c->address_max_failures, lock_ms, now, &locked) ==
            HV_OK && locked) {
        hv_web_audit_try(c, "address_lockout", NULL);
        hv_log(HV_LOG_WARN, "address_lockout", "addr=%s", addr);
    }
}

static pthread_once_t s_oath_once = PTHREAD_ONCE_INIT;
static void s_oath_init(void) { (void)oath_init(); }

static hv_err s_totp(const hv_web_config *c, hv_web_store *s, const hv_web_staff *st,
                     const char *code, hv_errmsg *e)
{
    if (!st->has_totp)
        return hv_fail(e, HV_EAUTH, "the role %s signs in with a TOTP code and this account has "
                       "none enrolled; an administrator runs haven staff enrol-totp", st->role);
    if (code == NULL || code[0] == '\0')
        return hv_fail(e, HV_EAUTH, "a TOTP code is required (\"totp\")");
    if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
        return hv_fail(e, HV_EAUTH, S_REFUSED);
    uint64_t counter = 0;
    int pos = 0;
    pthread_once(&s_oath_once, s_oath_init);
    /* One step either side for clocks that drift; the step is then
     * remembered so that the same code (or an older one) cannot be used
     * again. */
    int rc = oath_totp_validate3((const char *)st->totp, HV_WEB_TOTP_SECRET_BYTES, time(NULL),
                                 S_TOTP_STEP, 0, 1, &pos, &counter, code);
    if (rc < 0)
        return hv_fail(e, HV_EAUTH, S_REFUSED);
    if (hv_web_staff_use_step(s, st->name, counter) != HV_OK)
        return hv_fail(e, HV_EAUTH, "this code has been used already; wait for the next one");
    (void)c;
    return HV_OK;
}

hv_err hv_web_signin(const hv_web_config *c, hv_web_store *s, const char *name,
                     const char *password, const char *totp, const char *addr,
                     hv_web_staff *out, hv_errmsg *e)
{
    int64_t now = hv_now_ms();
    memset(out, 0, sizeof *out);
    if (hv_web_addr_locked(s, addr, now))
        return hv_fail(e, HV_ERATE, "too many failed sign-ins from this address; try again "
                       "later or ask an administrator (haven staff unlock --address)");
    hv_web_staff st;
    hv_err err = hv_web_name_valid(name) ? hv_web_staff_get(s, name, &st) : HV_ENOTFOUND;
    if (err == HV_ENOTFOUND) {
        s_burn(c, password);
        s_failed(c, s, NULL, addr);
        return hv_fail(e, HV_EAUTH, S_REFUSED);
    }
    if (err != HV_OK)
        return hv_fail(e, err, "the staff store cannot be read");
    if (st.locked_until > now)
        return hv_fail(e, HV_ERATE, "this account is locked after too many failed sign-ins; an "
                       "administrator can unlock it (haven staff unlock)");
    if (hv_pwhash_verify(st.pwhash, password, strlen(password)) != HV_OK || st.disabled) {
        s_failed(c, s, st.disabled ? NULL : st.name, addr);
        return hv_fail(e, HV_EAUTH, S_REFUSED);
    }
    if (hv_web_role_needs_totp(c, st.role) && (err = s_totp(c, s, &st, totp, e)) != HV_OK) {
        if (totp != NULL && totp[0] != '\0')
            s_failed(c, s, st.name, addr);
        return err;
    }
    if (hv_web_staff_clear(s, st.name) != HV_OK)
        hv_log(HV_LOG_WARN, "store_failed", "op=clear_failures staff=%s", st.name);
    if (hv_web_audit(c, "signin", st.name) != HV_OK)
        return hv_fail(e, HV_EIO, "the audit log cannot be written; nobody signs in without it");
    *out = st;
    hv_memzero(out->pwhash, sizeof out->pwhash);
    hv_memzero(out->totp, sizeof out->totp);
    hv_memzero(st.totp, sizeof st.totp);
    return HV_OK;
}

static void s_secret(char out[HV_WEB_SECRET_HEX + 1])
{
    uint8_t r[32];
    hv_random(r, sizeof r);
    hv_hex(r, sizeof r, out);
    hv_memzero(r, sizeof r);
}

static void s_hash_text(const char *text, uint8_t out[32])
{
    hv_hash256((const uint8_t *)text, strlen(text), out);
}

hv_err hv_web_session_begin(hv_web_store *s, const char *staff,
                            char cookie[HV_WEB_SECRET_HEX + 1], char csrf[HV_WEB_SECRET_HEX + 1])
{
    uint8_t h[32];
    s_secret(cookie);
    s_secret(csrf);
    s_hash_text(cookie, h);
    return hv_web_session_put(s, h, staff, csrf, hv_now_ms());
}

hv_err hv_web_session_check(const hv_web_config *c, hv_web_store *s, const char *cookie,
                            bool background, hv_web_who *out)
{
    memset(out, 0, sizeof *out);
    if (cookie == NULL || strlen(cookie) != HV_WEB_SECRET_HEX)
        return HV_EAUTH;
    uint8_t h[32];
    s_hash_text(cookie, h);
    hv_web_session ses;
    if (hv_web_session_get(s, h, &ses) != HV_OK)
        return HV_EAUTH;
    int64_t now = hv_now_ms();
    if (now - ses.last_ms > (int64_t)c->idle_s * 1000 ||
        now - ses.created_ms > (int64_t)c->absolute_s * 1000) {
        if (hv_web_session_delete(s, h) != HV_OK)
            hv_log(HV_LOG_WARN, "store_failed", "op=delete_session");
        hv_web_audit_try(c, "session_expired", ses.staff);
        return HV_EAUTH;
    }
    /* A use is written at most every tenth of the idle time (and 5 s): a
     * write, with its fsync, for every request would cost more than the
     * request; the idle limit is kept to within that step. */
    int64_t step = (int64_t)c->idle_s * 100;
    if (step > 5000)
        step = 5000;
    bool touch = !background && now - ses.last_ms >= step;
    if (touch && hv_web_session_touch(s, h, now) != HV_OK)
        return HV_EAUTH;
    snprintf(out->staff, sizeof out->staff, "%s", ses.staff);
    snprintf(out->role, sizeof out->role, "%s", ses.role);
    snprintf(out->via, sizeof out->via, "session");
    memcpy(out->cred_hash, h, sizeof h);
    snprintf(out->csrf, sizeof out->csrf, "%s", ses.csrf);
    out->created_ms = ses.created_ms;
    out->last_ms = touch ? now : ses.last_ms;
    return HV_OK;
}

hv_err hv_web_session_end(hv_web_store *s, const char *cookie)
{
    if (cookie == NULL || strlen(cookie) != HV_WEB_SECRET_HEX)
        return HV_ENOTFOUND;
    uint8_t h[32];
    s_hash_text(cookie, h);
    return hv_web_session_delete(s, h);
}

hv_err hv_web_token_create(const hv_web_config *c, hv_web_store *s, const char *scope,
                           const char *by, char text[HV_WEB_TOKEN_TEXT], char id[33])
{
    uint8_t r[16], h[32];
    char secret[HV_WEB_SECRET_HEX + 1];
    hv_random(r, sizeof r);
    hv_hex(r, sizeof r, id);
    s_secret(secret);
    snprintf(text, HV_WEB_TOKEN_TEXT, "hvt_%s_%s", id, secret);
    hv_memzero(secret, sizeof secret);
    s_hash_text(text, h);
    hv_err err = hv_web_token_put(s, id, h, scope, by, hv_now_ms());
    if (err == HV_OK)
        err = hv_web_audit(c, "token_created", by);
    return err;
}

hv_err hv_web_token_check(const hv_web_config *c, hv_web_store *s, const char *token,
                          hv_web_who *out)
{
    memset(out, 0, sizeof *out);
    if (token == NULL || strlen(token) != 4 + 32 + 1 + HV_WEB_SECRET_HEX ||
        strncmp(token, "hvt_", 4) != 0)
        return HV_EAUTH;
    uint8_t h[32];
    s_hash_text(token, h);
    hv_web_token t;
    hv_web_staff st;
    if (hv_web_token_get(s, h, &t) != HV_OK || t.revoked ||
        hv_web_staff_get(s, t.created_by, &st) != HV_OK || st.disabled)
        return HV_EAUTH;
    hv_memzero(st.totp, sizeof st.totp);
    /* A token acts for its organisation's system, written as the token's
     * id: the worker sees staff "token-ID" with the role its scope needs. */
    snprintf(out->staff, sizeof out->staff, "token-%.16s", t.id);
    const char *role = c->kind == HV_WEB_ROUTER          ? "coordinator"
                       : strcmp(t.scope, "submit") == 0 ? "caseworker"
                                                        : "supervisor";
    snprintf(out->role, sizeof out->role, "%s", role);
    snprintf(out->via, sizeof out->via, "token:%s", t.id);
    snprintf(out->scope, sizeof out->scope, "%s", t.scope);
    memcpy(out->cred_hash, h, sizeof h);
    if (hv_web_audit_use(c, "token_used", out->staff) != HV_OK)
        return HV_EIO;
    return HV_OK;
}

bool hv_web_who_valid(hv_web_store *s, const hv_web_who *who)
{
    if (who->scope[0] == '\0') {
        hv_web_session ses;
        return hv_web_session_get(s, who->cred_hash, &ses) == HV_OK;
    }
    hv_web_token t;
    hv_web_staff st;
    bool ok = hv_web_token_get(s, who->cred_hash, &t) == HV_OK && !t.revoked &&
              hv_web_staff_get(s, t.created_by, &st) == HV_OK && !st.disabled;
    hv_memzero(&st, sizeof st);
    return ok;
}

hv_err hv_web_totp_enrol(const hv_web_config *c, hv_web_store *s, const char *name,
                         const char *by, char uri[512], char b32[64], hv_errmsg *e)
{
    uint8_t secret[HV_WEB_TOTP_SECRET_BYTES];
    hv_random(secret, sizeof secret);
    char *enc = NULL;
    size_t enc_len = 0;
    pthread_once(&s_oath_once, s_oath_init);
    if (oath_base32_encode((const char *)secret, sizeof secret, &enc, &enc_len) != OATH_OK ||
        enc_len >= 64) {
        free(enc);
        hv_memzero(secret, sizeof secret);
        return hv_fail(e, HV_ENOMEM, "cannot encode a TOTP secret");
    }
    hv_err err = hv_web_staff_set_totp(s, name, secret);
    hv_memzero(secret, sizeof secret);
    /* A new second factor ends the sessions made with the old one. */
    if (err == HV_OK)
        err = hv_web_session_delete_staff(s, name);
    if (err == HV_OK) {
        snprintf(b32, 64, "%s", enc);
        snprintf(uri, 512, "otpauth://totp/Haven%%20%s:%s?secret=%s&issuer=Haven%%20%s"
                 "&algorithm=SHA1&digits=6&period=%d", c->node, name, enc, c->node,
                 S_TOTP_STEP);
        err = hv_web_audit_about(c, "totp_enrolled", by, name);
    } else if (err == HV_ENOTFOUND) {
        hv_fail(e, err, "no staff member '%s'", name);
    }
    hv_memzero(enc, enc_len);
    free(enc);
    return err;
}
