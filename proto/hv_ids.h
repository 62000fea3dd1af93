/* Identifiers shared by the wire protocol and the registry. */
#ifndef HV_IDS_H
#define HV_IDS_H

#include <stdbool.h>
#include <stddef.h>

/* A node id: 1..64 bytes of [a-z0-9._-], starting with a letter or digit.
 * Kept to that alphabet so that ids are safe in file names, log lines and
 * ZAP user ids without escaping. */
#define HV_NODE_ID_MAX 64

/* True when `id[0..len)` is a valid node id. */
bool hv_node_id_valid(const char *id, size_t len);

/* True when the NUL-terminated `id` is a valid node id. */
bool hv_node_id_valid_cstr(const char *id);

/* Node roles (proto/PROTOCOL.md §1). Values are stable: they appear in the
 * signed registry. */
typedef enum hv_role {
    HV_ROLE_BROKER = 1,   /* a country's broker */
    HV_ROLE_INTAKE = 2,   /* a referring NGO */
    HV_ROLE_ROUTER = 3,   /* a national referral pathway */
    HV_ROLE_PROVIDER = 4, /* a receiving agency */
    HV_ROLE_OPERATOR = 5, /* watches brokers, never content */
} hv_role;

#define HV_ROLE_MAX 5
#define HV_ROLE_BIT(r) (1u << (r))

/* Returns the role's name ("broker", ...) or NULL for an unknown value. */
const char *hv_role_name(unsigned role);

/* Returns the role named `name`, or 0 when there is none. */
unsigned hv_role_from_name(const char *name);

#endif
