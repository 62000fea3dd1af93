/* Case data at rest in a worker's store (DESIGN §2 "at rest").
 *
 * Each case is encrypted under a key of its own; that key is stored
 * wrapped under the node's storage key (hv_keyring_storage_key: the key
 * file's storage secret, which a rotation carries over, so that cases stay
 * readable after the old key sets are destroyed; proto/PROTOCOL.md §7.1).
 * Erasing a case destroys its key and deletes its rows (crypto-shredding): with SQLite's secure_delete on, and the WAL
 * truncated after the commit, neither the key nor the ciphertext stays in
 * the file. Both are bound to the referral id, so a row copied to another
 * referral does not open. */
#ifndef HV_VAULT_H
#define HV_VAULT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_keyring.h"

/* The tables hv_vault uses; part of every worker's schema. */
extern const char hv_vault_schema[];

/* Stores `pt` for `referral`, replacing nothing: a second put for the same
 * referral returns HV_EEXIST. Runs inside the caller's transaction. */
HV_MUST_CHECK hv_err hv_vault_put(sqlite3 *db, const hv_keyring *self, const uint8_t referral[16],
                                  const uint8_t *pt, size_t len);

/* Reads the case of `referral` into guarded memory (`*pt`, caller frees
 * with hv_secure_free). Returns HV_OK, HV_ENOTFOUND, HV_ECRYPTO, HV_ESTORE. */
HV_MUST_CHECK hv_err hv_vault_get(sqlite3 *db, const hv_keyring *self,
                                  const uint8_t referral[16], uint8_t **pt, size_t *len);

/* Destroys the case's key and deletes its rows. HV_OK also when there was
 * nothing to erase. */
HV_MUST_CHECK hv_err hv_vault_erase(sqlite3 *db, const uint8_t referral[16]);

/* Notes kept beside a case (status details, outcomes, reasons) are
 * sealed under the node's storage key, bound to the referral. Caller frees
 * `*out` with free(); hv_vault_open_note returns a NUL-terminated string
 * in guarded memory (hv_secure_free). */
HV_MUST_CHECK hv_err hv_vault_seal_note(const hv_keyring *self, const uint8_t referral[16],
                                        const char *text, uint8_t **out, size_t *len);
HV_MUST_CHECK hv_err hv_vault_open_note(const hv_keyring *self, const uint8_t referral[16],
                                        const uint8_t *in, size_t len, char **out);

#endif
