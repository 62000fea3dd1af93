/* The history of each referral as a worker saw it: one row per state it
 * entered, who caused it and a detail (reason, outcome, note). Details may
 * carry case content (an outcome, a decline note), so they are sealed at
 * rest under the node's storage key (hv_vault_seal_note). */
#ifndef HV_HISTORY_H
#define HV_HISTORY_H

#include <jansson.h>
#include <stdint.h>

#include "hv_worker.h"

/* The table; part of every worker's schema. */
extern const char hv_history_schema[];

/* Records that `referral` entered `state` because of `actor`: a node id
 * for what came from the network or the node's own timers, NODE/STAFF for
 * a person's control request (hv_actor.by). `detail` may be "". Runs in
 * the caller's transaction; also writes the audit record and the event
 * for haven-web's live stream (hv_events.h). */
HV_MUST_CHECK hv_err hv_history_add(hv_worker *w, const uint8_t referral[16], const char *state,
                                    const char *actor, const char *detail);

/* The row alone of hv_history_add (or, with `kind` "progress", of
 * hv_history_add_progress) at `at` (Unix seconds): no audit record, no
 * event. For a store filled while its worker is stopped
 * (bench/hv_bench_intake.c); a running worker uses hv_history_add. */
HV_MUST_CHECK hv_err hv_history_insert(sqlite3 *db, const hv_keyring *keys,
                                       const uint8_t referral[16], const char *kind,
                                       const char *state, const char *actor, const char *detail,
                                       uint64_t at);

/* Records an offer's progress reported to an intake (PROTOCOL.md §9 "PROGRESS"):
 * `event` (offered, declined, ...) as reported by `actor`, with `detail`
 * for people (sealed at rest like any detail) and `code` (a reason code,
 * or ""). Not a state: no audit record; an event of kind "progress" with
 * state "EVENT" or "EVENT:CODE" for haven-web's live stream. */
HV_MUST_CHECK hv_err hv_history_add_progress(hv_worker *w, const uint8_t referral[16],
                                             const char *event, const char *actor,
                                             const char *detail, const char *code);

/* Adds the `kind` column to a history table made before it had one. */
HV_MUST_CHECK hv_err hv_history_upgrade(sqlite3 *db);

/* The history of `referral`, oldest first, as a JSON array of the states
 * entered, {"at", "state", "by", "detail"}; appended for people to `*text`
 * when `text` is not NULL, with the progress rows in their place. Returns
 * NULL when out of memory. */
json_t *hv_history_get(hv_worker *w, const uint8_t referral[16], char **text);

/* Deletes the history of `referral` (erasure). */
HV_MUST_CHECK hv_err hv_history_erase(hv_worker *w, const uint8_t referral[16]);

#endif
