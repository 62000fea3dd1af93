/* Which referral each message still in a worker's outbox is about, so
 * that the pages can say "waiting to be sent" (DESIGN §5: the outbox
 * holds what is sent while the broker is unreachable). The shell notes
 * each message it queues (hv_worker_send) in the same transaction; a
 * message is pending while the client's outbox still holds its envelope,
 * that is until the broker answered STORED. Rows of stored messages are
 * forgotten at each tick. Ids only, no content. */
#ifndef HV_PENDING_H
#define HV_PENDING_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_client.h"
#include "hv_err.h"

/* The table; part of every worker's schema. */
extern const char hv_pending_schema[];

/* Notes that message `msg` is about `referral`; in the caller's transaction. */
HV_MUST_CHECK hv_err hv_pending_note(sqlite3 *db, const uint8_t msg[16],
                                     const uint8_t referral[16]);

/* True while `c`'s outbox holds a message noted for `referral`. */
bool hv_pending_waiting(sqlite3 *db, const hv_client *c, const uint8_t referral[16]);

/* Forgets up to a few hundred notes whose message has left the outbox.
 * Returns HV_OK or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_pending_prune(sqlite3 *db, const hv_client *c);

#endif
