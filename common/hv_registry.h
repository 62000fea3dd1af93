/* The network registry: who is in the network, with which role, keys and
 * services, signed by the network authority. Every node pins the authority's
 * key and refuses an unsigned, expired or older registry.
 *
 * Source format (JSON, kept by the authority) and signed format (msgpack)
 * are specified in proto/PROTOCOL.md §8. */
#ifndef HV_REGISTRY_H
#define HV_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_ids.h"

#define HV_NETWORK_NAME_MAX 64
#define HV_ORG_MAX 128
#define HV_ENDPOINT_MAX 255
#define HV_LIST_MAX 16     /* regions or languages per provider */
#define HV_REGION_MAX 64
#define HV_LANGUAGE_MAX 16 /* a BCP 47 tag such as "ar" or "pt-BR" */
#define HV_REGISTRY_NODES_MAX 10000
#define HV_REGISTRY_FILE_MAX (64u * 1024 * 1024)

/* Services a provider offers. Values are stable bit numbers in the signed
 * registry. */
typedef enum hv_service {
    HV_SVC_SHELTER = 0,
    HV_SVC_MEDICAL = 1,
    HV_SVC_PSYCHOSOCIAL = 2,
    HV_SVC_LEGAL_AID = 3,
    HV_SVC_INTERPRETATION = 4,
    HV_SVC_RETURN = 5,
    HV_SVC_DOCUMENTATION = 6,
    HV_SVC_CHILD_PROTECTION = 7,
    HV_SVC_LIVELIHOOD = 8,
    HV_SVC_EDUCATION = 9,
    HV_SVC_FAMILY_TRACING = 10,
} hv_service;

#define HV_SVC_COUNT 11

/* Returns the service's name ("legal_aid", ...) or NULL. */
const char *hv_service_name(unsigned svc);

/* Returns the service named `name`, or -1. */
int hv_service_from_name(const char *name);

/* One node of the network. Plain data, fields public; borrowed from the
 * registry that holds it. */
typedef struct hv_node {
    char id[HV_NODE_ID_MAX + 1];                /* node id */
    uint8_t role;                               /* hv_role */
    char country[3];                            /* ISO 3166-1 alpha-2 */
    char organisation[HV_ORG_MAX + 1];          /* organisation's name */
    char home[HV_NODE_ID_MAX + 1];              /* home broker (non-brokers) */
    char endpoint_workers[HV_ENDPOINT_MAX + 1]; /* broker: where workers connect */
    char endpoint_peers[HV_ENDPOINT_MAX + 1];   /* broker: where peers connect, or "" */
    hv_pubkeys keys;                            /* public keys and key id */
    uint64_t valid_from;                        /* Unix seconds */
    uint64_t valid_until;                       /* Unix seconds */
    bool revoked;                               /* revoked by the authority */
    uint32_t services;                          /* provider: bit per hv_service */
    uint8_t n_regions;                          /* provider: entries in regions */
    char regions[HV_LIST_MAX][HV_REGION_MAX + 1];       /* provider: regions served */
    uint8_t n_languages;                                /* provider: entries in languages */
    char languages[HV_LIST_MAX][HV_LANGUAGE_MAX + 1];   /* provider: languages spoken */
    bool accepts_minors;                        /* provider: takes children */
    uint32_t capacity;                          /* provider: open places */
    /* Key rotation (PROTOCOL.md §7.1): the keys that follow `keys`, listed
     * ahead of the switch, and the keys `keys` replaced, still honoured
     * until `previous_until` so that what was sealed or signed before the
     * switch arrives and opens. */
    bool has_next;                              /* next_keys is set */
    hv_pubkeys next_keys;                       /* the node's next keys */
    bool has_previous;                          /* previous_keys is set */
    hv_pubkeys previous_keys;                   /* the keys before `keys` */
    uint64_t previous_until;                    /* Unix seconds; 0 without previous */
    uint8_t n_scope;                            /* operator: entries in scope */
    char scope[HV_LIST_MAX][3];                 /* operator: other countries it may act in */
} hv_node;

/* Which of a node's key sets a key id names. */
typedef enum hv_key_slot {
    HV_KEYS_NONE = 0,     /* none of them (or previous past its grace) */
    HV_KEYS_CURRENT = 1,  /* keys */
    HV_KEYS_NEXT = 2,     /* next_keys */
    HV_KEYS_PREVIOUS = 3, /* previous_keys, before previous_until */
} hv_key_slot;

typedef struct hv_registry hv_registry;

/* Reads and validates the authority's JSON source. Errors name the JSON
 * path, e.g. "nodes[2].role". Caller owns `*out`. Returns HV_OK, HV_EJSON,
 * HV_ENOTFOUND, HV_EKEYFORMAT or an HV_EREG_* code. */
HV_MUST_CHECK hv_err hv_registry_from_json_file(const char *path, hv_registry **out,
                                                hv_errmsg *e);

/* As hv_registry_from_json_file, from text; `base_dir` resolves keys_file
 * references (may be NULL to refuse them). */
HV_MUST_CHECK hv_err hv_registry_from_json(const char *text, size_t len, const char *base_dir,
                                           hv_registry **out, hv_errmsg *e);

/* Signs `reg` with the authority's keys. Caller owns `*out` (free()). */
HV_MUST_CHECK hv_err hv_registry_sign(const hv_registry *reg, const hv_keypair *authority,
                                      uint8_t **out, size_t *len);

/* Wraps an already-encoded payload with the authority's signature. For
 * tests that need to sign content the JSON validator would refuse. */
HV_MUST_CHECK hv_err hv_registry_sign_payload(const uint8_t *payload, size_t payload_len,
                                              const hv_keypair *authority, uint8_t **out,
                                              size_t *len);

/* Loads a signed registry: checks the signature against the pinned
 * `authority_sign_pk`, decodes and validates the content, refuses one that
 * is expired or not yet valid at `now` (Unix seconds) and one whose version
 * is below `held_version` (0 when none is held). Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_registry_load(const uint8_t *buf, size_t len,
                                      const uint8_t authority_sign_pk[HV_PK_BYTES],
                                      uint64_t now, uint64_t held_version, hv_registry **out,
                                      hv_errmsg *e);

/* Reads a file and calls hv_registry_load. */
HV_MUST_CHECK hv_err hv_registry_load_file(const char *path,
                                           const uint8_t authority_sign_pk[HV_PK_BYTES],
                                           uint64_t now, uint64_t held_version,
                                           hv_registry **out, hv_errmsg *e);

/* Decodes a signed registry WITHOUT checking its signature or dates, for
 * display only (`haven registry show`). Never use it to make decisions. */
HV_MUST_CHECK hv_err hv_registry_decode_unverified(const uint8_t *buf, size_t len,
                                                   hv_registry **out, hv_errmsg *e);

/* Decodes and validates a registry payload (the signed part). Exposed for
 * the fuzz target. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_registry_decode_payload(const uint8_t *buf, size_t len,
                                                hv_registry **out, hv_errmsg *e);

/* Encodes the payload canonically. Caller owns `*out` (free()). */
HV_MUST_CHECK hv_err hv_registry_encode_payload(const hv_registry *reg, uint8_t **out,
                                                size_t *len);

/* Frees `*reg` and sets it to NULL; safe on NULL and twice. */
void hv_registry_free(hv_registry **reg);

/* Accessors; returned strings and nodes are borrowed from `reg`. */
const char *hv_registry_network(const hv_registry *reg);
uint64_t hv_registry_version(const hv_registry *reg);
uint64_t hv_registry_issued_at(const hv_registry *reg);
uint64_t hv_registry_expires_at(const hv_registry *reg);
size_t hv_registry_count(const hv_registry *reg);
const hv_node *hv_registry_node(const hv_registry *reg, size_t index);

/* Finds a node by id, or NULL. */
const hv_node *hv_registry_find(const hv_registry *reg, const char *id);

/* Finds the node whose current or next CurveZMQ transport key is `pk`, or
 * NULL (hv_node_keys_by_transport says which). */
const hv_node *hv_registry_find_by_transport(const hv_registry *reg, const uint8_t pk[32]);

/* Lists the providers in `country` offering `svc`, in registry order, that
 * are active at `now`. Writes up to `max` pointers to `out` and returns how
 * many match in all. */
size_t hv_registry_providers(const hv_registry *reg, const char *country, hv_service svc,
                             uint64_t now, const hv_node **out, size_t max);

/* The key set of `node` whose key id is `kid` and that may be used at
 * `now` (previous keys only before previous_until), or NULL; `slot` (may
 * be NULL) says which. */
const hv_pubkeys *hv_node_keys_by_id(const hv_node *node, const uint8_t kid[HV_KEY_ID_BYTES],
                                     uint64_t now, hv_key_slot *slot);

/* The key set of `node` whose transport key is `pk`, among those a broker
 * admits at its door: the current keys and the next ones (a node may move
 * to its next transport key as soon as the registry lists it). NULL for
 * the previous keys: a rotation cuts the old transport key at once. */
const hv_pubkeys *hv_node_keys_by_transport(const hv_node *node, const uint8_t pk[32],
                                            hv_key_slot *slot);

/* True when operator `op` may act on a broker of `country`: its own
 * country, or one its scope lists ("*" in the source lists all). */
bool hv_node_in_scope(const hv_node *op, const char *country);

/* True when `node` is not revoked and `now` lies in its validity window. */
bool hv_node_active(const hv_node *node, uint64_t now);

/* Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into `out` (capacity 21). */
void hv_time_format(uint64_t t, char out[21]);

/* Parses exactly "YYYY-MM-DDTHH:MM:SSZ". Returns HV_OK or HV_EINVAL. */
HV_MUST_CHECK hv_err hv_time_parse(const char *s, uint64_t *out);

#endif
