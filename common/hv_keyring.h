/* A node's key ring: every key set its secret key file holds (oldest first),
 * and the storage secret its own stores are encrypted under.
 *
 * A node holds more than one key set while it rotates (proto/PROTOCOL.md
 * §7.1): the current set and the next one before the registry switches, the
 * current set and the previous one during the grace period after. Which set
 * is used for what is the registry's word, not the ring's: callers look a
 * set up by the key id the registry or an envelope names. The storage
 * secret is not tied to any set, so a rotation leaves what a node stored for
 * itself readable after the old secrets are destroyed.
 *
 * The ring owns its key sets; every pointer it returns is borrowed and valid
 * until the set is dropped or the ring freed. */
#ifndef HV_KEYRING_H
#define HV_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"

#define HV_KEYRING_MAX 3 /* previous, current, next: a fourth waits for a destruction */
#define HV_STORAGE_SECRET_BYTES 32

typedef struct hv_keyring hv_keyring;

/* Makes an empty ring with `storage` as its storage secret (copied into
 * guarded memory; the caller wipes its copy). Caller owns `*out`
 * (hv_keyring_free). Returns HV_OK or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_keyring_new(hv_keyring **out,
                                    const uint8_t storage[HV_STORAGE_SECRET_BYTES]);

/* Makes a ring of the one set `*kp`, whose storage secret is derived from
 * that set's box secret as a v1 key file's is (hv_keypair_storage_key).
 * Takes ownership of `*kp` on HV_OK (and sets it to NULL); on error the
 * caller still owns it. */
HV_MUST_CHECK hv_err hv_keyring_from_keypair(hv_keyring **out, hv_keypair **kp);

/* Appends `*kp` as the newest set. Takes ownership on HV_OK (sets `*kp` to
 * NULL). HV_EEXIST when a set with its key id is held already, HV_ETOOBIG
 * when the ring holds HV_KEYRING_MAX sets. */
HV_MUST_CHECK hv_err hv_keyring_add(hv_keyring *ring, hv_keypair **kp);

/* Wipes and drops the set whose key id is `kid`. HV_ENOTFOUND if none. */
hv_err hv_keyring_drop(hv_keyring *ring, const uint8_t kid[HV_KEY_ID_BYTES]);

/* How many sets the ring holds (0 only for a new, empty ring). */
size_t hv_keyring_count(const hv_keyring *ring);

/* The set at `index`, 0 the oldest; NULL past the end. Borrowed. */
const hv_keypair *hv_keyring_at(const hv_keyring *ring, size_t index);

/* The set whose key id is `kid`, or NULL. Borrowed. */
const hv_keypair *hv_keyring_find(const hv_keyring *ring, const uint8_t kid[HV_KEY_ID_BYTES]);

/* The position of the set whose key id is `kid` (0 the oldest), or -1. */
int hv_keyring_index(const hv_keyring *ring, const uint8_t kid[HV_KEY_ID_BYTES]);

/* The storage secret: the key a node's own stores are encrypted under, the
 * same for every set the ring holds or will hold (a v1 file's is derived from
 * its one box secret, so converting a file keeps its stores readable).
 * Written to `key` (32 bytes; caller wipes). */
void hv_keyring_storage_key(const hv_keyring *ring, uint8_t key[32]);

struct hv_node;

/* The set the registry calls `node`'s current keys (node->keys), or NULL
 * when the ring does not hold it. Signing uses it: every recipient, even one
 * still on the registry before the next keys were listed, verifies it. */
const hv_keypair *hv_keyring_current(const hv_keyring *ring, const struct hv_node *node);

/* The newest set the registry lists for `node` and the ring holds: its next
 * keys when listed and held, else its current ones; NULL when neither is
 * held. The CurveZMQ client key: a broker admits next keys at once. */
const hv_keypair *hv_keyring_transport(const hv_keyring *ring, const struct hv_node *node);

/* The held set that may open an envelope whose to_kid is `kid` at `now`:
 * the registry lists `kid` for `node` (current, next, or previous before
 * previous_until) and the ring holds its secrets. NULL otherwise: a key the
 * registry dropped (a compromise) opens nothing even while still held. */
const hv_keypair *hv_keyring_for_kid(const hv_keyring *ring, const struct hv_node *node,
                                     const uint8_t kid[HV_KEY_ID_BYTES], uint64_t now);

/* Whether the held set at `index` is spent: older in the ring than the
 * node's current set and no longer listed for it at `now` (its grace
 * passed, or the registry dropped it at once after a compromise). Sets
 * newer than the current one (a rotation the authority has not listed
 * yet) are never spent. */
bool hv_keyring_spent(const hv_keyring *ring, size_t index, const struct hv_node *node,
                      uint64_t now);

/* Wipes and frees `*ring` and every set in it, sets it to NULL; safe on
 * NULL and twice. */
void hv_keyring_free(hv_keyring **ring);

#endif
