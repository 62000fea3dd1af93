/* Shared between hv_registry.c (model, signed form, lookups) and
 * hv_registry_json.c (the authority's JSON source). Not for other modules. */
#ifndef HV_REGISTRY_INTERNAL_H
#define HV_REGISTRY_INTERNAL_H

#include "hv_registry.h"

struct hv_registry {
    char network[HV_NETWORK_NAME_MAX + 1]; /* network name */
    uint64_t version;                      /* monotonic version */
    uint64_t issued_at;                    /* Unix seconds */
    uint64_t expires_at;                   /* Unix seconds */
    hv_node *nodes;                        /* n_nodes entries, owned */
    size_t n_nodes;                        /* number of nodes */
};

/* Allocates an empty registry with room for `n_nodes` zeroed nodes. */
HV_MUST_CHECK hv_err hv_registry_alloc(size_t n_nodes, hv_registry **out);

/* Checks every rule of proto/PROTOCOL.md §8.3 on a complete registry; the
 * same checks run on the JSON source and on a loaded signed registry. */
HV_MUST_CHECK hv_err hv_registry_validate(const hv_registry *reg, hv_errmsg *e);

#endif
