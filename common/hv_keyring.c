/* A node's key ring; see hv_keyring.h and proto/PROTOCOL.md §7.1. */
#include "hv_keyring.h"

#include <stdlib.h>
#include <string.h>

#include "hv_registry.h"

struct hv_keyring {
    hv_keypair *sets[HV_KEYRING_MAX]; /* owned, oldest first */
    size_t count;                     /* sets in use */
    uint8_t *storage;                 /* HV_STORAGE_SECRET_BYTES, guarded memory */
};

hv_err hv_keyring_new(hv_keyring **out, const uint8_t storage[HV_STORAGE_SECRET_BYTES])
{
    hv_keyring *r = calloc(1, sizeof *r);
    if (r == NULL)
        return HV_ENOMEM;
    r->storage = hv_secure_alloc(HV_STORAGE_SECRET_BYTES);
    if (r->storage == NULL) {
        free(r);
        return HV_ENOMEM;
    }
    memcpy(r->storage, storage, HV_STORAGE_SECRET_BYTES);
    *out = r;
    return HV_OK;
}

hv_err hv_keyring_from_keypair(hv_keyring **out, hv_keypair **kp)
{
    uint8_t storage[HV_STORAGE_SECRET_BYTES];
    hv_keypair_storage_key(*kp, storage);
    hv_keyring *r = NULL;
    hv_err err = hv_keyring_new(&r, storage);
    hv_memzero(storage, sizeof storage);
    if (err != HV_OK)
        return err;
    r->sets[0] = *kp;
    r->count = 1;
    *kp = NULL;
    *out = r;
    return HV_OK;
}

hv_err hv_keyring_add(hv_keyring *ring, hv_keypair **kp)
{
    if (hv_keyring_find(ring, hv_keypair_public(*kp)->key_id) != NULL)
        return HV_EEXIST;
    if (ring->count == HV_KEYRING_MAX)
        return HV_ETOOBIG;
    ring->sets[ring->count++] = *kp;
    *kp = NULL;
    return HV_OK;
}

hv_err hv_keyring_drop(hv_keyring *ring, const uint8_t kid[HV_KEY_ID_BYTES])
{
    int i = hv_keyring_index(ring, kid);
    if (i < 0)
        return HV_ENOTFOUND;
    hv_keypair_free(&ring->sets[i]);
    memmove(&ring->sets[i], &ring->sets[i + 1],
            (ring->count - (size_t)i - 1) * sizeof ring->sets[0]);
    ring->sets[--ring->count] = NULL;
    return HV_OK;
}

size_t hv_keyring_count(const hv_keyring *ring) { return ring->count; }

const hv_keypair *hv_keyring_at(const hv_keyring *ring, size_t index)
{
    return index < ring->count ? ring->sets[index] : NULL;
}

int hv_keyring_index(const hv_keyring *ring, const uint8_t kid[HV_KEY_ID_BYTES])
{
    for (size_t i = 0; i < ring->count; i++)
        if (memcmp(hv_keypair_public(ring->sets[i])->key_id, kid, HV_KEY_ID_BYTES) == 0)
            return (int)i;
    return -1;
}

const hv_keypair *hv_keyring_find(const hv_keyring *ring, const uint8_t kid[HV_KEY_ID_BYTES])
{
    int i = hv_keyring_index(ring, kid);
    return i < 0 ? NULL : ring->sets[i];
}

void hv_keyring_storage_key(const hv_keyring *ring, uint8_t key[32])
{
    memcpy(key, ring->storage, HV_STORAGE_SECRET_BYTES);
}

const hv_keypair *hv_keyring_current(const hv_keyring *ring, const hv_node *node)
{
    return hv_keyring_find(ring, node->keys.key_id);
}

const hv_keypair *hv_keyring_transport(const hv_keyring *ring, const hv_node *node)
{
    const hv_keypair *next = node->has_next ? hv_keyring_find(ring, node->next_keys.key_id) : NULL;
    return next != NULL ? next : hv_keyring_current(ring, node);
}

const hv_keypair *hv_keyring_for_kid(const hv_keyring *ring, const hv_node *node,
                                     const uint8_t kid[HV_KEY_ID_BYTES], uint64_t now)
{
    if (hv_node_keys_by_id(node, kid, now, NULL) == NULL)
        return NULL;
    return hv_keyring_find(ring, kid);
}

bool hv_keyring_spent(const hv_keyring *ring, size_t index, const hv_node *node, uint64_t now)
{
    int current = hv_keyring_index(ring, node->keys.key_id);
    if (current < 0 || index >= (size_t)current)
        return false;
    return hv_node_keys_by_id(node, hv_keypair_public(ring->sets[index])->key_id, now, NULL) ==
           NULL;
}

void hv_keyring_free(hv_keyring **ring)
{
    if (ring == NULL || *ring == NULL)
        return;
    for (size_t i = 0; i < (*ring)->count; i++)
        hv_keypair_free(&(*ring)->sets[i]);
    hv_secure_free((*ring)->storage);
    free(*ring);
    *ring = NULL;
}
