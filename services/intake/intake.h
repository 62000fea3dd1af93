/* The intake's parts shared by its files: intake.c (the store, the
 * messages), intake_deadline.c (the deadline of every state) and
 * intake_ctl.c (submission and the control commands, with the role
 * table). Internal to haven-intake. */
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

/* ------------------------------------------------ deadlines (intake_deadline.c) */

/* How long after respond_by the intake waits for the router's own word,
 * and after a receipt's deadline for the brokers' notice. */
#define IN_GRACE_S 300

/* The table of overdue referrals, part of the intake's schema. */
#define IN_DEADLINE_SCHEMA                                                                    \
    "CREATE TABLE IF NOT EXISTS overdue (id BLOB PRIMARY KEY, state TEXT NOT NULL,"           \
    "  since_s INTEGER NOT NULL, what TEXT NOT NULL) WITHOUT ROWID;"

/* For haven_worker_referrals_overdue (hv_worker_app.metrics_overdue_sql). */
#define IN_OVERDUE_SQL                                                                        \
    "SELECT count(*), NULL FROM overdue o JOIN referrals r ON r.id = o.id AND r.state = "      \
    "o.state"

/* The deadline of `r`'s state (Unix seconds) and what is awaited by then;
 * false for a terminal state, which has none. */
bool in_deadline_of(hv_worker *w, const in_ref *r, uint64_t *due, const char **what);

/* Seconds a transferred case's receipt may take ([deadlines]
 * receipt_hours or receipt_s), and the CASE_TRANSFER's time to live: past
 * it the brokers expire the case and its sender hears so. */
uint64_t in_deadline_receipt_s(hv_worker *w);
uint32_t in_deadline_transfer_ttl(hv_worker *w);

/* Whether referral `id` is overdue in its present state: since when and
 * why, with the next step (`what`, capacity `cap`; may be NULL). */
bool in_overdue_get(hv_worker *w, const uint8_t id[16], uint64_t *since, char *what,
                    size_t cap);

/* Marks `r` overdue now because of `why` (a deadline passed, a request
 * that could not be delivered): history, log, event "due_soon". In the
 * caller's transaction. */
HV_MUST_CHECK hv_err in_deadline_mark(hv_worker *w, const in_ref *r, const char *why,
                                      uint64_t now);

/* Acts on every deadline passed by `now`, within the tick's transaction. */
HV_MUST_CHECK hv_err in_deadline_tick(hv_worker *w, uint64_t now);

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

/* The control commands (hv_worker_app's on_control, command_roles and
 * may_see). */
hv_err in_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                     json_t **result, char **text, hv_errmsg *e);
unsigned in_command_roles(const char *cmd);
bool in_may_see(hv_worker *w, const hv_actor *a, const uint8_t id[16]);

#endif
