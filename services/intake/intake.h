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
    uint8_t case_id[16];                /* the case this referral is one service of (a
                                           referral made before cases: its own id) */

    uint64_t erased;                    /* when the case was erased here, or 0 */
    char erased_why[24];                /* why: one of IN_ERASED_* */
    char hold_basis[HV_MSG_CODE_MAX + 1]; /* legal_hold: the provider's basis */
} in_ref;

/* Why a case was erased at the intake (in_ref.erased_why). */
#define IN_ERASED_CONSENT "consent_withdrawn"
#define IN_ERASED_RETENTION "retention_ended"
#define IN_ERASED_BY_HAND "by_hand"


/* Stores the new referral `r` (its state as given: "new" at submission)
 * and its case, `case_len` bytes of `case_text`, sealed at rest
 * (hv_vault_put), in the caller's transaction (intake_store.c). Returns
 * HV_OK, HV_EEXIST (the id is taken), HV_ESTORE. */
HV_MUST_CHECK hv_err in_store_new(sqlite3 *db, const hv_keyring *keys, const in_ref *r,
                                  const char *case_text, size_t case_len);

/* Reads referral `id`. Returns HV_OK, HV_ENOTFOUND or HV_ESTORE. */
HV_MUST_CHECK hv_err in_load(hv_worker *w, const uint8_t id[16], in_ref *r);

/* Moves `r` to `state` because of `actor` (hv_history_add) and records why. */
HV_MUST_CHECK hv_err in_enter(hv_worker *w, in_ref *r, const char *state, const char *actor,
                              const char *detail);

/* True when `r` is in `state`. */
bool in_is(const in_ref *r, const char *state);

/* True when `r` is closed: completed, failed, no_match, expired, cancelled
 * or withdrawn (the states the retention and referral.erase act on). */
bool in_terminal(const in_ref *r);

/* HV_OK when the case of `r` takes case messages (hv_casemsg.h): it was
 * transferred to the provider and not withdrawn; else HV_EPROTO saying why. */
HV_MUST_CHECK hv_err in_messages_open(const in_ref *r, hv_errmsg *e);

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

/* case.show {case} (intake_case.c): the case's people and each of its
 * referrals (one per service) with its state, provider and last change.
 * Seen as referral.show is: a case none of whose referrals `a` may see is
 * not found. The shape of s_commands' functions. */
hv_err in_case_show(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                    char **text, hv_errmsg *e);

/* Erasure at the intake (intake_erase.c). in_erase crypto-shreds the
 * case of `r` and every note that may carry its text, keeps the row with
 * its state, dates and evidence, and records case_erased by `actor`;
 * `why` is an IN_ERASED_* code, optionally followed by ": words". Runs in
 * the caller's transaction. */
HV_MUST_CHECK hv_err in_erase(hv_worker *w, in_ref *r, const char *actor, const char *why);

/* An IN_ERASED_* code in words, for `show`. */
const char *in_erased_words(const char *code);

/* The tick's retention: erases the cases closed for [intake]
 * retention_days (none when it is 0), a hundred a tick. */
HV_MUST_CHECK hv_err in_retention(hv_worker *w, uint64_t now);

/* referral.erase {id, reason} for `r`: a closed referral's case erased by
 * hand. */
hv_err in_erase_cmd(hv_worker *w, const hv_actor *a, in_ref *r, json_t *args, char **text,
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
