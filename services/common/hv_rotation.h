/* A worker's part of a key rotation (proto/PROTOCOL.md §7.1): after every
 * registry load and at every tick, the keys follow what the registry says.
 *
 * - The CurveZMQ client key is the newest set the registry lists for the
 *   node (its next keys once listed): the client reconnects when it changes.
 * - A held set that is older than the current one and that the registry no
 *   longer lists at `now` (its previous_until passed, or it was dropped at
 *   once after a compromise) is destroyed: the key file is rewritten
 *   without it (atomically, fsynced), then it is wiped from memory, and
 *   `keys_destroyed key_id=...` is logged. When the file cannot be
 *   rewritten, the set is wiped from memory all the same and
 *   `keys_destroy_failed` names the remedy (haven keygen --prune). */
#ifndef HV_ROTATION_H
#define HV_ROTATION_H

#include <stdint.h>

#include "hv_client.h"
#include "hv_keyring.h"
#include "hv_registry.h"

/* Applies the above to `ring` (the worker's, whose file is `key_path`, of
 * node `node_id`) and `client` (may be NULL before it is opened). `self` is
 * the node in the registry in use. Failures are logged. */
void hv_rotation_follow(hv_keyring *ring, hv_client *client, const hv_node *self,
                        const char *key_path, const char *node_id, uint64_t now);

#endif
