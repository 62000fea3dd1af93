/* The intake's parts shared by its two files: intake.c (the store, the
 * messages, the deadlines) and intake_ctl.c (submission and the control
 * commands, with the role table). Internal to haven-intake. */
#ifndef HV_INTAKE_H
#define HV_INTAKE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_ctl.h"
#include "hv_listq.h"
#include "hv_worker.h"

/* One referral row. */
typedef struct in_ref {
    uint8_t id[16];                     /* referral id */
    char state[24];                     /* current state */
    unsigned service;                   /* hv_service requested */
    char country[3];                    /* destination */
    char router[HV_NODE_ID_MAX + 1];    /* the router asked */
    char provider[HV_NODE_ID_MAX + 1];  /* the matched provider, or "" */
    uint64_t created, respond_by, updated; /* Unix seconds */
    uint8_t case_hash[32];              /* BLAKE2b-256 of the case sent */
    char created_by[HV_STAFF_MAX + 1];  /* the staff member who submitted it */
    char assigned_to[HV_STAFF_MAX + 1]; /* the staff member it is assigned to */
    char reference[HV_LISTQ_Q_MAX + 1]; /* the organisation's own reference */
} in_ref;

/* Reads referral `id`. Returns HV_OK, HV_ENOTFOUND or HV_ESTORE. */
HV_MUST_CHECK hv_err in_load(hv_worker *w, const uint8_t id[16], in_ref *r);

/* Moves `r` to `state` because of `actor` (hv_history_add) and records why. */
HV_MUST_CHECK hv_err in_enter(hv_worker *w, in_ref *r, const char *state, const char *actor,
                              const char *detail);

/* True when `r` is in `state`. */
bool in_is(const in_ref *r, const char *state);

/* Sends `m` about `r` to `to`, remembering which referral it belongs to. */
HV_MUST_CHECK hv_err in_send(hv_worker *w, const in_ref *r, const char *to, const hv_msg *m,
                             uint32_t ttl);

/* Drafts (intake_draft.c): a caseworker's unfinished referral form, any
 * JSON object up to a referral file's size, sealed in the vault like a
 * case under an id of its own. A caseworker sees their own, a supervisor
 * (and the host) all; one not visible is not found, like a missing one.
 * The control commands draft.save {id?, draft}, draft.list, draft.show
 * {id}, draft.delete {id} have the shape of s_commands' functions. */
hv_err in_draft_save(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e);
hv_err in_draft_list(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e);
hv_err in_draft_show(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e);
hv_err in_draft_delete(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                       char **text, hv_errmsg *e);

/* Erases every draft not saved for 30 days, within the tick's transaction. */
HV_MUST_CHECK hv_err in_drafts_expire(hv_worker *w, uint64_t now);

/* Erases draft `id` (32 hex digits) that `a` may see, within the current
 * transaction (referral.submit's `draft`). HV_OK, HV_ENOTFOUND (missing
 * or not visible), HV_EINVAL (not an id), HV_ESTORE. */
HV_MUST_CHECK hv_err in_draft_erase(hv_worker *w, const hv_actor *a, const char *id,
                                    hv_errmsg *e);

/* Offer outcomes the router reports (intake_progress.c, PROTOCOL.md
 * §9 "PROGRESS"). The table, part of the intake's schema: */
#define IN_PROGRESS_SCHEMA                                                                     \
    "CREATE TABLE IF NOT EXISTS progress (seq INTEGER PRIMARY KEY AUTOINCREMENT,"              \
    "  referral BLOB NOT NULL, at_s INTEGER NOT NULL, event TEXT NOT NULL,"                    \
    "  provider TEXT NOT NULL, code TEXT NOT NULL, respond_by INTEGER NOT NULL,"               \
    "  received_s INTEGER NOT NULL);"                                                          \
    "CREATE INDEX IF NOT EXISTS progress_referral ON progress(referral, seq);"

/* A PROGRESS about `r` from `env->from`: recorded in the history and the
 * table, whatever the referral's state (one that ended included).
 * HV_EFORBIDDEN when it is not from the referral's router. */
HV_MUST_CHECK hv_err in_progress_on_message(hv_worker *w, const in_ref *r,
                                            const hv_envelope *env, const hv_msg *m,
                                            hv_errmsg *e);

/* The progress of `referral`, oldest first: [{"at", "event", "provider",
 * "code" (or null), "respond_by" (or null)}]. Caller owns it. */
json_t *in_progress_json(hv_worker *w, const uint8_t referral[16]);

/* Deletes the progress rows of `referral` (the case's erasure; its
 * history rows go with hv_history_erase). */
HV_MUST_CHECK hv_err in_progress_erase(sqlite3 *db, const uint8_t referral[16]);

/* The control commands (hv_worker_app's on_control, command_roles and
 * may_see). */
hv_err in_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                     json_t **result, char **text, hv_errmsg *e);
unsigned in_command_roles(const char *cmd);
bool in_may_see(hv_worker *w, const hv_actor *a, const uint8_t id[16]);

#endif
