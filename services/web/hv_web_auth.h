/* Who is asking: sign-in by password and TOTP with throttling, sessions
 * (cookie and CSRF token), and API tokens. Every sign-in, failure,
 * lockout and sign-out goes to haven-web's audit log (hv_web_audit).
 *
 * Secrets that leave this module (a session id, a CSRF token, an API
 * token) are shown to their owner once; the store keeps only BLAKE2b-256
 * hashes of session ids and tokens. */
#ifndef HV_WEB_AUTH_H
#define HV_WEB_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_web_config.h"
#include "hv_web_store.h"

#define HV_WEB_PASSWORD_MIN 12
#define HV_WEB_PASSWORD_MAX 1024
#define HV_WEB_SECRET_HEX 64 /* a session id or CSRF token: 32 random bytes in hex */
#define HV_WEB_TOKEN_TEXT 104 /* "hvt_" ID(32 hex) "_" SECRET(64 hex) + NUL, rounded */

/* The person (or token) behind a request. Plain data. */
typedef struct hv_web_who {
    char staff[HV_WEB_NAME_MAX + 1]; /* the staff member; a token acts as its creator */
    char role[16];                   /* their role */
    char via[48];                    /* "session" or "token:ID" */
    char scope[16];                  /* tokens: read, submit, provider; "" for a session */
    char csrf[HV_WEB_SECRET_HEX + 1]; /* sessions: the expected X-CSRF-Token */
    int64_t created_ms, last_ms;     /* sessions: start, last use */
    uint8_t cred_hash[32];           /* hash of the session id or token it came with */
} hv_web_who;

/* Checks a password against the policy: HV_OK or HV_EINVAL with why. */
HV_MUST_CHECK hv_err hv_web_password_ok(const char *pw, hv_errmsg *e);

/* Hashes a password at the configured Argon2id cost. */
HV_MUST_CHECK hv_err hv_web_password_hash(const hv_web_config *c, const char *pw,
                                          char out[HV_PWHASH_STR_MAX], hv_errmsg *e);

/* Signs `name` in from address `addr`. `totp` may be NULL or "". On HV_OK
 * `out` holds the account. Refusals: HV_ERATE (the account or the address
 * is locked out), HV_EAUTH (wrong name, password or code; disabled; a
 * replayed code; no TOTP enrolled where one is required). `e` says what
 * a person can do about it without telling which of name or password was
 * wrong. */
HV_MUST_CHECK hv_err hv_web_signin(const hv_web_config *c, hv_web_store *s, const char *name,
                                   const char *password, const char *totp, const char *addr,
                                   hv_web_staff *out, hv_errmsg *e);

/* Starts a session for `staff`: `cookie` gets the session id to send and
 * `csrf` its CSRF token (both HV_WEB_SECRET_HEX hex digits). */
HV_MUST_CHECK hv_err hv_web_session_begin(hv_web_store *s, const char *staff,
                                          char cookie[HV_WEB_SECRET_HEX + 1],
                                          char csrf[HV_WEB_SECRET_HEX + 1]);

/* Finds the session of cookie value `cookie` and, when within the idle
 * and absolute limits, records this use unless `background` (a page's own
 * refresh, not the person: it must not keep an unattended session alive).
 * HV_EAUTH when missing, unknown, expired (then deleted) or its account
 * disabled. */
HV_MUST_CHECK hv_err hv_web_session_check(const hv_web_config *c, hv_web_store *s,
                                          const char *cookie, bool background,
                                          hv_web_who *out);

/* Ends the session of `cookie` (HV_ENOTFOUND when none). */
HV_MUST_CHECK hv_err hv_web_session_end(hv_web_store *s, const char *cookie);

/* Creates a token of `scope` (read, submit, provider) for admin `by`:
 * `text` gets the token (shown once), `id` its public id. */
HV_MUST_CHECK hv_err hv_web_token_create(const hv_web_config *c, hv_web_store *s,
                                         const char *scope, const char *by,
                                         char text[HV_WEB_TOKEN_TEXT], char id[33]);

/* Checks "Bearer TOKEN" text; every use is audited. HV_EAUTH when unknown,
 * revoked, or its creator is disabled or gone. */
HV_MUST_CHECK hv_err hv_web_token_check(const hv_web_config *c, hv_web_store *s,
                                        const char *token, hv_web_who *out);

/* True while the session or token `who` came with still stands: not
 * signed out, revoked, or its account disabled (for long event streams;
 * neither audited nor counted as use). */
bool hv_web_who_valid(hv_web_store *s, const hv_web_who *who);

/* A new TOTP secret for `name`, stored at once, replacing any (the
 * account's sessions end), and audited as done by `by` ("host-admin" for
 * `haven staff enrol-totp`, the admin for POST /api/v1/staff/NAME/totp);
 * `uri` gets the otpauth:// URI and `b32` the base32 secret, to be shown
 * once (the caller zeroes both). HV_ENOTFOUND for no such account. */
HV_MUST_CHECK hv_err hv_web_totp_enrol(const hv_web_config *c, hv_web_store *s,
                                       const char *name, const char *by, char uri[512],
                                       char b32[64], hv_errmsg *e);

#endif
