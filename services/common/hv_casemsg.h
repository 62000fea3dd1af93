/* Case messages (issue 21; proto/PROTOCOL.md §9.2): a thread between the
 * intake that referred a case and the provider that accepted it, sealed
 * end to end in CASE_MESSAGE envelopes, with a MESSAGE_MARK back for each
 * message stored (delivered) and for what a person has read (read, up to
 * a number). Shared by haven-intake and haven-provider, which decide who
 * the other party is and whether the case allows messages yet; this
 * module keeps the rows, sends and takes the two messages and answers the
 * control commands.
 *
 * At rest (DESIGN §2): one row per message in `case_messages`, its text
 * sealed under the node's storage key bound to the referral
 * (hv_vault_seal_note); numbers, times and the author stay in clear.
 * hv_casemsg_erase deletes them with the case (secure_delete is on). */
#ifndef HV_CASEMSG_H
#define HV_CASEMSG_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "hv_worker.h"

/* The table, for a worker's schema (concatenated into its own). `dir` is
 * "out" for a message this node wrote, "in" for one it received; `n` the
 * writer's number for it (1, 2, ...); `at_s` when it was written (the
 * writer's clock); `delivered_s` and `read_s` 0 until then (for "out":
 * what the other side's marks say; for "in": when it was stored and read
 * here); `by` who wrote it (NODE/STAFF here, the sending node's id for
 * what came in); `envelope` the id of the CASE_MESSAGE that carried an
 * "out" message, and `failed` why the broker or the other side refused it
 * ("" while none did). A thread is listed by `at_s` and, within a second, in
 * the order the rows were stored here (the rowid). */
#define HV_CASEMSG_SCHEMA                                                                      \
    "CREATE TABLE IF NOT EXISTS case_messages (referral BLOB NOT NULL, dir TEXT NOT NULL,"     \
    "  n INTEGER NOT NULL, at_s INTEGER NOT NULL, text BLOB NOT NULL,"                         \
    "  delivered_s INTEGER NOT NULL DEFAULT 0, read_s INTEGER NOT NULL DEFAULT 0,"             \
    "  by TEXT NOT NULL, envelope BLOB, failed TEXT NOT NULL DEFAULT '',"                      \
    "  PRIMARY KEY (referral, dir, n));"                                                       \
    "CREATE INDEX IF NOT EXISTS case_messages_envelope ON case_messages(envelope);"

/* A CASE_MESSAGE or MESSAGE_MARK from `env->from`, which the caller has
 * checked is the other party of the case (`env->referral`) and that the
 * case takes messages now. A message is stored sealed and answered with a
 * delivered mark; a mark updates the messages it names. Runs in the
 * handler's transaction. Returns HV_OK, HV_EEXIST (a number received
 * before with other text), HV_ENOTFOUND (a mark for a message never
 * sent), HV_ESTORE, HV_ENOMEM, or an error of hv_worker_send. */
HV_MUST_CHECK hv_err hv_casemsg_on_message(hv_worker *w, const hv_envelope *env,
                                           const hv_msg *m, hv_errmsg *e);

/* A broker's notice about a message this node sent (hv_worker_app's
 * on_notice): when it is about a CASE_MESSAGE, the message is marked
 * failed with the notice's code and text. Returns HV_OK (also when the
 * notice is about something else) or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_casemsg_on_notice(hv_worker *w, const hv_notice *n);

/* The control commands, once the caller found the referral `id` that
 * the actor may see and checked that its case takes messages: `peer` is
 * the other party, `by` the actor (hv_actor.by).
 *   message.send {"id","text"}  -> {"n"}
 *   message.list {"id"}         -> {"items":[{"n","from","by","at","text",
 *                                   "delivered_at","read_at","failed"}]}
 *   message.read {"id","n"}     -> {"n","marked"}
 * Sets `*result` (caller's) and `*text`. Returns HV_OK, HV_EINVAL (a
 * missing or empty text, a bad number, another command), HV_ETOOBIG (a
 * text over HV_CASE_TEXT_MAX bytes, with the limit in e), HV_ENOTFOUND
 * (message.read of a number not received), HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_casemsg_control(hv_worker *w, const char *cmd, const uint8_t id[16],
                                        const char *peer, const char *by, json_t *args,
                                        json_t **result, char **text, hv_errmsg *e);

/* True for the commands hv_casemsg_control answers. */
bool hv_casemsg_is_command(const char *cmd);

/* Deletes the messages of `referral` (erasure with the case). HV_OK also
 * when there were none; HV_ESTORE. */
HV_MUST_CHECK hv_err hv_casemsg_erase(sqlite3 *db, const uint8_t referral[16]);

#endif
