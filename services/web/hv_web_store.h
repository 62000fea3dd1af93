/* haven-web's own store (SQLite, mode 0600): staff accounts, sessions,
 * API tokens and sign-in throttling. It holds no case content and no node
 * key: names of staff, roles, Argon2id hashes, TOTP secrets, hashes of
 * session ids and tokens, failure counters.
 *
 * One connection guarded by a mutex, so that the daemon's connection
 * threads may share it; `haven staff` opens the same file beside a running
 * daemon (WAL). Times are Unix milliseconds. */
#ifndef HV_WEB_STORE_H
#define HV_WEB_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"

#define HV_WEB_NAME_MAX 64
#define HV_WEB_TOTP_SECRET_BYTES 20

typedef struct hv_web_store hv_web_store;

/* One staff account. Plain data. */
typedef struct hv_web_staff {
    char name[HV_WEB_NAME_MAX + 1];     /* [a-z0-9._-], 1..64 */
    char role[16];                      /* caseworker, supervisor, coordinator, admin */
    char pwhash[HV_PWHASH_STR_MAX];     /* Argon2id string */
    uint8_t totp[HV_WEB_TOTP_SECRET_BYTES]; /* TOTP secret when `has_totp` */
    bool has_totp;                      /* enrolled */
    uint64_t totp_step;                 /* last accepted time step (replay guard) */
    bool disabled;                      /* may not sign in */
    int64_t failures;                   /* consecutive failed sign-ins */
    int64_t locked_until;               /* ms; 0 when not locked */
} hv_web_staff;

/* A session. Plain data. */
typedef struct hv_web_session {
    char staff[HV_WEB_NAME_MAX + 1]; /* who */
    char role[16];                   /* their role now (read from staff) */
    char csrf[65];                   /* the CSRF token (hex) */
    int64_t created_ms, last_ms;     /* when it began, when last used */
} hv_web_session;

/* An API token. Plain data. */
typedef struct hv_web_token {
    char id[33];                     /* public id (hex), written in audit and via */
    char scope[16];                  /* read, submit, provider */
    char created_by[HV_WEB_NAME_MAX + 1]; /* the admin */
    bool revoked;
} hv_web_token;

/* Opens or creates the store. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_web_store_open(hv_web_store **out, const char *path, hv_errmsg *e);
/* Closes; safe on NULL and twice. */
void hv_web_store_close(hv_web_store **s);

/* True when `name` is 1..64 bytes of [a-z0-9._-] and not "host-admin". */
bool hv_web_name_valid(const char *name);

/* Staff. Each returns HV_OK, HV_ENOTFOUND (no such account), HV_EEXIST
 * (add: the name is taken) or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_web_staff_add(hv_web_store *s, const char *name, const char *role,
                                      const char *pwhash);
HV_MUST_CHECK hv_err hv_web_staff_get(hv_web_store *s, const char *name, hv_web_staff *out);
HV_MUST_CHECK hv_err hv_web_staff_set_disabled(hv_web_store *s, const char *name, bool off);
HV_MUST_CHECK hv_err hv_web_staff_set_password(hv_web_store *s, const char *name,
                                               const char *pwhash);
HV_MUST_CHECK hv_err hv_web_staff_set_role(hv_web_store *s, const char *name, const char *role);
HV_MUST_CHECK hv_err hv_web_staff_set_totp(hv_web_store *s, const char *name,
                                           const uint8_t secret[HV_WEB_TOTP_SECRET_BYTES]);
/* Records `step` as the last TOTP step used, only when it is later than
 * the one recorded: HV_EAUTH when it is not (a replayed code). */
HV_MUST_CHECK hv_err hv_web_staff_use_step(hv_web_store *s, const char *name, uint64_t step);
/* A failed sign-in: counts it and locks the account for `lockout_ms` once
 * it reaches `max`; `*locked_now` says whether this failure locked it. */
HV_MUST_CHECK hv_err hv_web_staff_failed(hv_web_store *s, const char *name, int64_t max,
                                         int64_t lockout_ms, int64_t now, bool *locked_now);
/* Clears failures and lock (a good sign-in, or an admin's unlock). */
HV_MUST_CHECK hv_err hv_web_staff_clear(hv_web_store *s, const char *name);
/* All accounts as [{"name","role","disabled","totp","locked"}]; no hashes. */
HV_MUST_CHECK hv_err hv_web_staff_list(hv_web_store *s, int64_t now, json_t **out);

/* Throttling by address: counts a failure within `window_ms`, locks the
 * address for `lockout_ms` at `max`. */
HV_MUST_CHECK hv_err hv_web_addr_failed(hv_web_store *s, const char *addr, int64_t max,
                                        int64_t lockout_ms, int64_t now, bool *locked_now);
/* True when the address is locked now. */
bool hv_web_addr_locked(hv_web_store *s, const char *addr, int64_t now);
/* Lifts an address's lock and count. HV_ENOTFOUND when none was kept. */
HV_MUST_CHECK hv_err hv_web_addr_clear(hv_web_store *s, const char *addr);

/* Sessions, keyed by the hash of their id. */
HV_MUST_CHECK hv_err hv_web_session_put(hv_web_store *s, const uint8_t id_hash[32],
                                        const char *staff, const char *csrf, int64_t now);
/* Reads a session and the role of its staff member (HV_ENOTFOUND also
 * when the account is gone or disabled). */
HV_MUST_CHECK hv_err hv_web_session_get(hv_web_store *s, const uint8_t id_hash[32],
                                        hv_web_session *out);
HV_MUST_CHECK hv_err hv_web_session_touch(hv_web_store *s, const uint8_t id_hash[32],
                                          int64_t now);
HV_MUST_CHECK hv_err hv_web_session_delete(hv_web_store *s, const uint8_t id_hash[32]);
/* Ends every session of `staff` (disabled, password reset). */
HV_MUST_CHECK hv_err hv_web_session_delete_staff(hv_web_store *s, const char *staff);

/* A person's preferences (hv_web_prefs.h): `lang` and `tz` get what was
 * saved ("" for one never saved); HV_ENOTFOUND when nothing was. */
HV_MUST_CHECK hv_err hv_web_prefs_get(hv_web_store *s, const char *staff, char lang[8],
                                      char tz[72]);
/* Saves `lang` and/or `tz` (NULL keeps what was saved) for `staff`. */
HV_MUST_CHECK hv_err hv_web_prefs_put(hv_web_store *s, const char *staff, const char *lang,
                                      const char *tz);

/* Tokens, keyed by the hash of their secret. */
HV_MUST_CHECK hv_err hv_web_token_put(hv_web_store *s, const char *id, const uint8_t hash[32],
                                      const char *scope, const char *created_by, int64_t now);
HV_MUST_CHECK hv_err hv_web_token_get(hv_web_store *s, const uint8_t hash[32],
                                      hv_web_token *out);
HV_MUST_CHECK hv_err hv_web_token_revoke(hv_web_store *s, const char *id);
/* [{"id","scope","created_by","created","revoked"}] */
HV_MUST_CHECK hv_err hv_web_token_list(hv_web_store *s, json_t **out);

#endif
