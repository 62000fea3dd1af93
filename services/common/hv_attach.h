/* Documents that travel with a case (issue 21; proto/PROTOCOL.md §9.3).
 *
 * At the intake a caseworker's files arrive through the control socket in
 * parts (hv_attach_put, "attachment.put"), each part sealed at rest under
 * the node's storage key bound to its upload; the submission of the
 * referral takes the uploads (hv_attach_take): the type is found from the
 * content (hv_attach_type.h), the limits are checked, and each document is
 * cut into chunks of HV_ATTACH_CHUNK bytes, sealed bound to the referral,
 * the document's number and the chunk's index. After the CASE_TRANSFER the
 * intake sends the chunks a few at a time (hv_attach_next), each an
 * ATTACHMENT envelope with the broker's custody, so that other messages
 * are never queued behind a whole document.
 *
 * At the provider each chunk is stored sealed the same way as it comes
 * (hv_attach_receive; twice or out of order is fine); when all are there
 * the whole is checked (size, BLAKE2b-256 digest, type from the content)
 * and the document becomes complete, or is refused and its chunks deleted:
 * a partial or altered document is never shown.
 *
 * Both sides keep the same two tables; hv_attach_erase deletes a case's
 * rows (secure_delete wipes them). */
#ifndef HV_ATTACH_H
#define HV_ATTACH_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_msg.h"
#include "hv_referral.h"
#include "hv_worker.h"

/* The tables; part of the intake's and the provider's schema. attach_docs
 * holds a document's description (no content) and how far it is: at the
 * intake `sent` chunks were queued; at the provider `state` is incomplete,
 * complete or refused. attach_chunks holds the sealed chunks;
 * attach_uploads and attach_parts the intake's uploads not yet taken by a
 * submission. */
#define HV_ATTACH_SCHEMA                                                                           \
    "CREATE TABLE IF NOT EXISTS attach_docs (referral BLOB NOT NULL, n INTEGER NOT NULL,"          \
    "  name TEXT NOT NULL, title TEXT NOT NULL, type TEXT NOT NULL, size INTEGER NOT NULL,"        \
    "  chunks INTEGER NOT NULL, digest BLOB NOT NULL, state TEXT NOT NULL,"                        \
    "  sent INTEGER NOT NULL DEFAULT 0, updated_s INTEGER NOT NULL DEFAULT 0,"                     \
    "  PRIMARY KEY (referral, n));"                                                                \
    "CREATE TABLE IF NOT EXISTS attach_chunks (referral BLOB NOT NULL, n INTEGER NOT NULL,"        \
    "  idx INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (referral, n, idx));"               \
    "CREATE TABLE IF NOT EXISTS attach_uploads (id BLOB PRIMARY KEY, staff TEXT NOT NULL,"         \
    "  name TEXT NOT NULL, size INTEGER NOT NULL, got INTEGER NOT NULL,"                           \
    "  created_s INTEGER NOT NULL);"                                                               \
    "CREATE TABLE IF NOT EXISTS attach_parts (upload BLOB NOT NULL, idx INTEGER NOT NULL,"         \
    "  sealed BLOB NOT NULL, PRIMARY KEY (upload, idx));"

/* The largest part of an upload, bytes (base64 in a control message well
 * inside HV_CTL_REQUEST_MAX). */
#define HV_ATTACH_PART_MAX (1024u * 1024)
/* An upload not taken by a submission within this many seconds is deleted. */
#define HV_ATTACH_UPLOAD_TTL_S 3600
/* The most a provider's attachment.read returns at once, bytes. */
#define HV_ATTACH_READ_MAX (1024u * 1024)

/* attachment.put {"upload"?, "name", "size", "offset", "data" (base64)}:
 * a part of a caseworker's file at the intake. The first part (offset 0,
 * no upload) opens an upload and checks the size against the limit of a
 * document (HV_ETOOBIG, naming the file and the limit); each part must
 * start where the last one ended. `*result` is {"upload", "got"}. With
 * "check": true, the part that completes the upload has the whole file's
 * type found from its content: answered as "type", or HV_ETYPE (naming
 * the file) when it is not a PDF, JPEG or PNG (haven-web's uploads; the
 * CLI leaves the check to referral.submit). Runs in the control
 * transaction. */
HV_MUST_CHECK hv_err hv_attach_put(hv_worker *w, const hv_actor *a, json_t *args,
                                   json_t **result, char **text, hv_errmsg *e);

/* Takes the uploads `list` ([{"upload", "name", "title"}], one per entry of
 * the referral file's attachments, in order) for `referral`: each must be
 * complete and `a`'s own, a PDF, JPEG or PNG by its content, within the
 * limits of a document and of a case (`max_doc`, `max_case` bytes). Errors
 * name the file and the limit: HV_EINVAL, HV_ETOOBIG, HV_ETYPE. A case of
 * several services takes the same uploads for each of its referrals: the
 * uploads are deleted with the `last`. */
HV_MUST_CHECK hv_err hv_attach_take(hv_worker *w, const hv_actor *a, const uint8_t referral[16],
                                    const hv_referral_check *c, json_t *list, uint64_t max_doc,
                                    uint64_t max_case, bool last, hv_errmsg *e);

/* True when `referral` has chunks not yet queued (intake). */
bool hv_attach_pending(sqlite3 *db, const uint8_t referral[16]);

/* Fills `*m` with the next chunk of `referral` not yet queued and marks it
 * queued (intake; in the caller's transaction, so that a rollback queues
 * it again). `m->attach.data` points into `*buf`, which the caller frees
 * with hv_secure_free after sending. HV_OK, HV_ENOTFOUND (none left),
 * HV_ECRYPTO, HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_attach_next(sqlite3 *db, const hv_keyring *keys,
                                    const uint8_t referral[16], hv_msg *m, uint8_t **buf);

/* Stores chunk `a` of `referral` (provider). A chunk already held is
 * ignored. When it completes its document, the whole is checked; `what`
 * (cap bytes) then says what became of it for the case's history ("" when
 * the document is still incomplete). A chunk that disagrees with what
 * earlier chunks said of the document: HV_EPROTO. */
HV_MUST_CHECK hv_err hv_attach_receive(sqlite3 *db, const hv_keyring *keys,
                                       const uint8_t referral[16], const hv_attach_chunk *a,
                                       char *what, size_t cap, hv_errmsg *e);

/* The documents of `referral` as attachment.list answers:
 * {"items":[{"n","name","title","type","size","digest","state","chunks",
 * "have"}]}; at the intake `have` counts the chunks sent, at the provider
 * those received. Caller owns the result; NULL when out of memory. */
json_t *hv_attach_list(sqlite3 *db, const uint8_t referral[16], bool intake);

/* Reads `length` bytes (at most HV_ATTACH_READ_MAX) at `offset` of
 * complete document `n` of `referral` into `*out` (caller frees with
 * hv_secure_free; `*len` may be short at the end). HV_OK, HV_ENOTFOUND (no
 * such complete document), HV_EINVAL (offset past the end), HV_ECRYPTO,
 * HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_attach_read(sqlite3 *db, const hv_keyring *keys,
                                    const uint8_t referral[16], unsigned n, uint64_t offset,
                                    uint64_t length, uint8_t **out, size_t *len);

/* Deletes every document and chunk of `referral` (either side). */
HV_MUST_CHECK hv_err hv_attach_erase(sqlite3 *db, const uint8_t referral[16]);

/* Deletes uploads older than HV_ATTACH_UPLOAD_TTL_S (intake tick). */
HV_MUST_CHECK hv_err hv_attach_expire_uploads(sqlite3 *db, uint64_t now);

#endif
