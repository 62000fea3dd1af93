/* The provider's parts shared by its two files: provider.c (the store,
 * the messages, the deadlines) and provider_ctl.c (the control commands,
 * with the role table). Internal to haven-provider. */
#ifndef HV_PROVIDER_H
#define HV_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_ctl.h"
#include "hv_listq.h"
#include "hv_worker.h"

/* An inbox entry: the offer and, once it came, the case. */
typedef struct pv_item {
    uint8_t id[16];                   /* referral id */
    char router[HV_NODE_ID_MAX + 1];  /* who offered */
    char intake[HV_NODE_ID_MAX + 1];  /* who will send the case */
    char offer_state[16];             /* offered, accepted, ... */
    uint64_t respond_by;              /* offer deadline */
    uint64_t received;                /* when the offer came */
    hv_msg *offer;                    /* the offer with its summary (owned) */
    bool has_case;                    /* a case row exists */
    char case_state[16];              /* received, in_progress, ... */
    char created_by[HV_NODE_ID_MAX + 1];  /* who offered it (the router's id) */
    char assigned_to[HV_STAFF_MAX + 1];   /* the staff member it is assigned to */
    char reference[HV_LISTQ_Q_MAX + 1];   /* the agency's own reference */
    uint64_t erased;                  /* when its case was erased (Unix seconds), or 0 */
} pv_item;

/* What an erasure destroys (pv_item.erased): the case file with its key,
 * the history of the case (status notes, outcome) and its events; the
 * offer's non-identifying summary and one history row saying why stay. */
#define PV_ERASED_JSON "[\"case_file\", \"history\", \"events\"]"

/* HV_OK when `it` takes case messages (hv_casemsg.h): its case is held
 * here; else HV_EPROTO saying why. */
HV_MUST_CHECK hv_err pv_messages_open(const pv_item *it, hv_errmsg *e);

/* Frees what pv_load allocated in `it` (not `it` itself). */
void pv_item_free(pv_item *it);

/* Reads the inbox entry `id`. Returns HV_OK, HV_ENOTFOUND, HV_ESTORE or
 * HV_ENOMEM; on HV_OK the caller frees it with pv_item_free. */
HV_MUST_CHECK hv_err pv_load(hv_worker *w, const uint8_t id[16], pv_item *it);

/* Moves the offer or the case of `it` to `state` because of `actor`, with
 * a history row saying `detail`. */
HV_MUST_CHECK hv_err pv_offer_state(hv_worker *w, pv_item *it, const char *state,
                                    const char *actor, const char *detail);
HV_MUST_CHECK hv_err pv_case_state(hv_worker *w, pv_item *it, const char *state,
                                   const char *actor, const char *detail);

/* Erases the case of `it` (provider.c's s_erase: the key, the rows, the
 * history; the bare record stays) and moves the offer to `state`. */
HV_MUST_CHECK hv_err pv_erase_case(hv_worker *w, pv_item *it, const char *actor,
                                   const char *state, const char *why);

/* Legal holds (provider_hold.c). A hold on a case: its basis (a code of
 * hv_hold_bases), its reason (opened), who placed it and when, and
 * whether an erasure was asked for while it held. */
typedef struct pv_hold {
    char basis[HV_MSG_CODE_MAX + 1];
    char reason[HV_MSG_TEXT_MAX + 1];
    char placed_by[HV_BY_MAX + 1];
    uint64_t placed;
    bool erase_asked;
} pv_hold;

/* Reads the hold on `id`: HV_OK, HV_ENOTFOUND (none), HV_ESTORE. */
HV_MUST_CHECK hv_err pv_hold_get(hv_worker *w, const uint8_t id[16], pv_hold *h);

/* The hold as JSON {basis, reason, placed_by, placed_at, erasure_requested}. */
json_t *pv_hold_json(const pv_hold *h);

/* case.hold {id, basis, reason} and case.release {id}, for `it`. */
hv_err pv_hold_place(hv_worker *w, const hv_actor *a, pv_item *it, json_t *args, char **text,
                     hv_errmsg *e);
hv_err pv_hold_release(hv_worker *w, const hv_actor *a, pv_item *it, char **text,
                       hv_errmsg *e);

/* A WITHDRAW from `from` for `it`: when a hold is on the case, answers
 * LEGAL_HOLD with its basis and reason, records that erasure was asked
 * for, and sets `*held`; otherwise does nothing (`*held` false). */
HV_MUST_CHECK hv_err pv_hold_answer(hv_worker *w, pv_item *it, const char *from, bool *held);

/* Its free places (provider_capacity.c, PROTOCOL.md §9 "CAPACITY"). The table of
 * what was last published to each router, part of the schema: */
#define PV_CAPACITY_SCHEMA                                                                     \
    "CREATE TABLE IF NOT EXISTS capacity_sent (router TEXT PRIMARY KEY, free INTEGER NOT NULL,"\
    "  total INTEGER NOT NULL, open INTEGER NOT NULL, at_s INTEGER NOT NULL) WITHOUT ROWID;"

/* Counts this agency's places now: `total` ([provider] places, else the
 * registry's capacity) and `free` (less its open cases and the offers
 * waiting for its answer). HV_OK or HV_ESTORE. */
HV_MUST_CHECK hv_err pv_capacity_count(hv_worker *w, uint64_t now, uint32_t *free_places,
                                       uint32_t *total);

/* Publishes the count (CAPACITY) to each active router of this country
 * when the open cases or the places differ from the last one sent it, or
 * that one is capacity_every_s old; within the tick's transaction. */
HV_MUST_CHECK hv_err pv_capacity_tick(hv_worker *w, uint64_t now);

/* The control commands (hv_worker_app's on_control, command_roles,
 * may_see and answer_by; provider_ctl.c). */
hv_err pv_on_control(hv_worker *w, const hv_actor *a, const char *cmd, json_t *args,
                     json_t **result, char **text, hv_errmsg *e);
unsigned pv_command_roles(const char *cmd);
bool pv_may_see(hv_worker *w, const hv_actor *a, const uint8_t id[16]);
bool pv_answer_by(hv_worker *w, const uint8_t id[16], uint64_t *when);

#endif
