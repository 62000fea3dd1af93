/* A worker's side of its witnessed audit log (issue 20; hv_audit_head.h).
 * It signs the head of the node's audit log every N records and T seconds
 * after a record was added (and at a clean stop), keeps the last heads in
 * the node's store, hands each to the home broker (AUDIT_HEAD) until the
 * broker says it witnessed it, and asks the broker for its last witnessed
 * head after every READY (AUDIT_HEAD_GET). Before the node starts, the log
 * must match the last head the node signed; once connected, the head its
 * broker witnessed too: a log cut, rewritten or swapped stops the node.
 *
 * Table audit_heads: seq INTEGER PRIMARY KEY, at_ms, head BLOB (the
 * encoding), witnessed (1 once the broker holds it); the last
 * HV_WITNESS_KEEP rows. */
#ifndef HV_WITNESS_H
#define HV_WITNESS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_audit.h"
#include "hv_client.h"
#include "hv_crypto.h"
#include "hv_err.h"

#define HV_WITNESS_KEEP 64

typedef struct hv_witness hv_witness;

/* Creates the table and checks the log at `audit_path` (whole records,
 * already opened by hv_audit_open) against the last head the node signed:
 * HV_ECRYPTO, with `e` naming the file and the record expected and found,
 * when it is shorter or different. `db`, `client` and the strings are
 * borrowed for the life of the witness. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_witness_open(hv_witness **out, sqlite3 *db, hv_client *client,
                                     const char *node, const char *audit_path,
                                     uint64_t every_records, uint64_t every_ms, hv_errmsg *e);

/* Frees; safe on NULL and twice. */
void hv_witness_free(hv_witness **wt);

/* After each record written to `audit`: signs its head with `kp` when
 * every_records have been added since the last head (kept in memory
 * until the next tick stores it). */
void hv_witness_note(hv_witness *wt, const hv_audit *audit, const hv_keypair *kp,
                     int64_t now_ms);

/* Inside the caller's transaction: signs a head when one is due by time
 * (`force`: whenever a record was added since the last), stores the heads
 * signed since the last tick and notes what the broker said it witnessed.
 * HV_ESTORE. Then hv_witness_committed says whether the transaction
 * committed (the heads are stored) or not (they are written again). */
HV_MUST_CHECK hv_err hv_witness_tick(hv_witness *wt, const hv_audit *audit, const hv_keypair *kp,
                                     int64_t now_ms, bool force);
void hv_witness_committed(hv_witness *wt, bool committed);

/* After the commit: hands the latest head not yet witnessed to the broker
 * (again every few seconds until it is), and asks for the broker's head
 * after a READY. */
void hv_witness_pump(hv_witness *wt, int64_t now_ms);

/* READY and AUDIT_WITNESSED from the broker (hv_client_on_control). A
 * head the broker hands back counts only when it verifies under a key set
 * `reg` lists for this node: a broker cannot stop a node with a head it
 * made up. */
struct hv_registry;
void hv_witness_on_control(hv_witness *wt, const struct hv_control *m,
                           const struct hv_registry *reg);

/* True once the broker's witnessed head no longer matches the log; `e`
 * says how. The node stops. */
bool hv_witness_failed(const hv_witness *wt, hv_errmsg *e);

/* Outside any transaction: a head of the log as it stands, signed and
 * stored now in a transaction of its own (a clean stop; a rotation).
 * HV_ESTORE. */
HV_MUST_CHECK hv_err hv_witness_sign_now(hv_witness *wt, const hv_audit *audit,
                                         const hv_keypair *kp);

/* audit.rotate: a head of the old file, hv_audit_rotate (the new file's
 * first record by `by`), a head of the new file. The answer, or NULL with
 * `*err` and `e`: {"old": PATH.SEQ, "old_last": SEQ, "log": PATH,
 * "new_first": SEQ + 1}. */
json_t *hv_witness_rotate(hv_witness *wt, hv_audit *audit, const hv_keypair *kp,
                          const char *node, const char *by, hv_err *err, hv_errmsg *e);

/* The heads kept up to the last one the broker witnessed (oldest first)
 * as a heads file's lines, for `haven audit heads`: {"heads": [HEX...], "witnessed_seq": N,
 * "signed_seq": N}. NULL on failure. */
json_t *hv_witness_export(hv_witness *wt);

#endif
