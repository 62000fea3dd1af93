/* Whom the broker trusts; see hv_trust.h. */
#include "hv_trust.h"

#include <stdio.h>
#include <string.h>

#include "hv_crypto.h"

static bool s_listed(const hv_trust_self *self, const char *id)
{
    for (size_t i = 0; i < self->n_peers && i < HV_TRUST_PEERS_MAX; i++)
        if (strcmp(self->peers[i], id) == 0)
            return true;
    return false;
}

/* The node whose previous transport key is `pk`, or NULL: a key that
 * rotated away is named as such in the refusal. */
static const hv_node *s_find_previous(const hv_registry *reg, const uint8_t pk[32])
{
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        if (n->has_previous && memcmp(n->previous_keys.transport, pk, 32) == 0)
            return n;
    }
    return NULL;
}

/* The door's own rule, once the key and the node's validity passed. */
static hv_err s_door_ok(const hv_trust_self *self, hv_door door, const hv_node *n,
                      char why[HV_TRUST_WHY_MAX])
{
    switch (door) {
    case HV_DOOR_WORKERS:
        if (n->role == HV_ROLE_BROKER || n->role == HV_ROLE_OPERATOR ||
            !(self->roles & HV_ROLE_BIT(n->role))) {
            snprintf(why, HV_TRUST_WHY_MAX, "role %s not served on this socket",
                     hv_role_name(n->role));
            return HV_EFORBIDDEN;
        }
        if (strcmp(n->home, self->id) != 0) {
            snprintf(why, HV_TRUST_WHY_MAX, "homed at %s, not here", n->home);
            return HV_EFORBIDDEN;
        }
        return HV_OK;
    case HV_DOOR_PEERS:
        if (n->role != HV_ROLE_BROKER || !s_listed(self, n->id)) {
            snprintf(why, HV_TRUST_WHY_MAX, "not a broker this broker peers with");
            return HV_EFORBIDDEN;
        }
        return HV_OK;
    case HV_DOOR_OPS:
        if (n->role != HV_ROLE_OPERATOR) {
            snprintf(why, HV_TRUST_WHY_MAX, "not an operator");
            return HV_EFORBIDDEN;
        }
        if (!hv_node_in_scope(n, self->country)) {
            snprintf(why, HV_TRUST_WHY_MAX, "operator of %s, %s is not in its scope", n->country,
                     self->country);
            return HV_EFORBIDDEN;
        }
        return HV_OK;
    }
    snprintf(why, HV_TRUST_WHY_MAX, "unknown door");
    return HV_EFORBIDDEN;
}

hv_err hv_trust_admit(const hv_registry *reg, const hv_trust_self *self, hv_door door,
                    const char *node_id, const uint8_t pk[32], uint64_t now,
                    const hv_node **node, char why[HV_TRUST_WHY_MAX])
{
    why[0] = '\0';
    const hv_node *n = node_id != NULL ? hv_registry_find(reg, node_id)
                                       : hv_registry_find_by_transport(reg, pk);
    if (node != NULL)
        *node = n;
    if (n == NULL && node_id != NULL) {
        snprintf(why, HV_TRUST_WHY_MAX, "no longer in the registry");
        return HV_EAUTH;
    }
    if (n == NULL) {
        const hv_node *old = s_find_previous(reg, pk);
        if (node != NULL)
            *node = old;
        snprintf(why, HV_TRUST_WHY_MAX, "%s",
                 old != NULL ? "key rotated" : "key not in the registry");
        return HV_EAUTH;
    }
    if (hv_node_keys_by_transport(n, pk, NULL) == NULL) {
        /* Admitted as this node earlier; its key is no longer one the
         * registry gives it. */
        snprintf(why, HV_TRUST_WHY_MAX, "key rotated");
        return HV_EAUTH;
    }
    if (n->revoked) {
        snprintf(why, HV_TRUST_WHY_MAX, "revoked");
        return HV_EAUTH;
    }
    if (!hv_node_active(n, now)) {
        snprintf(why, HV_TRUST_WHY_MAX, "not valid now");
        return HV_EAUTH;
    }
    return s_door_ok(self, door, n, why);
}

void hv_trust_key_format(const uint8_t pk[32], char out[65])
{
    hv_hex(pk, 32, out);
}

hv_err hv_trust_key_parse(const char *text, uint8_t pk[32])
{
    if (text == NULL || strlen(text) != 64)
        return HV_EINVAL;
    return hv_unhex(text, pk, 32) == HV_OK ? HV_OK : HV_EINVAL;
}
