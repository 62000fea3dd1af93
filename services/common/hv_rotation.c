/* A worker's part of a key rotation; see hv_rotation.h. */
#include "hv_rotation.h"

#include <string.h>

#include "hv_keys.h"
#include "hv_log.h"

void hv_rotation_follow(hv_keyring *ring, hv_client *client, const hv_node *self,
                        const char *key_path, const char *node_id, uint64_t now)
{
    if (client != NULL && hv_client_set_keys(client, hv_keyring_transport(ring, self)) != HV_OK)
        hv_log(HV_LOG_ERROR, "client_reconnect_failed", "node=%s", node_id);
    size_t n = hv_keyring_count(ring);
    uint8_t spent[HV_KEYRING_MAX][HV_KEY_ID_BYTES];
    size_t n_spent = 0;
    for (size_t i = 0; i < n; i++)
        if (hv_keyring_spent(ring, i, self, now))
            memcpy(spent[n_spent++], hv_keypair_public(hv_keyring_at(ring, i))->key_id,
                   HV_KEY_ID_BYTES);
    if (n_spent == 0)
        return;
    /* The file first: what the file still holds comes back at the next
     * start. It is read again (it may hold a set `haven keygen --rotate`
     * added since the worker read it) and written without the spent sets. */
    hv_keyring *kept = NULL;
    hv_errmsg e = {""};
    hv_err err = hv_keys_load_ring(key_path, &kept, NULL, &e);
    for (size_t i = 0; err == HV_OK && i < n_spent; i++)
        hv_keyring_drop(kept, spent[i]); /* HV_ENOTFOUND: not in the file any more */
    if (err == HV_OK && hv_keyring_count(kept) == 0)
        err = hv_fail(&e, HV_EKEYFORMAT, "the file would hold no key set");
    if (err == HV_OK)
        err = hv_keys_write_ring(key_path, node_id, kept, &e);
    hv_keyring_free(&kept);
    for (size_t i = 0; i < n_spent; i++) {
        char kid[2 * HV_KEY_ID_BYTES + 1];
        hv_hex(spent[i], HV_KEY_ID_BYTES, kid);
        /* Out of memory in either case: the registry no longer lists the set, so the
         * worker would never use it again. When the file could not be rewritten (a
         * key directory read-only to the worker, as under the packaged units), an
         * administrator finishes the job; this is said once per start, since the set
         * is no longer in the ring at the next tick. */
        hv_keyring_drop(ring, spent[i]);
        if (err == HV_OK)
            hv_log(HV_LOG_INFO, "keys_destroyed", "key_id=%s path=%s", kid, key_path);
        else
            hv_log(HV_LOG_ERROR, "keys_destroy_failed",
                   "key_id=%s path=%s code=%s reason=\"%s\" remedy=\"wiped from memory only; "
                   "run as the key file's owner: haven keygen --prune --id %s --out DIR "
                   "--authority AUTH.pub --registry REGISTRY\"",
                   kid, key_path, hv_errname(err), e.text, node_id);
    }
}
