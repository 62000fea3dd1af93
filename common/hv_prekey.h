/* Prekey bundles: a node's short-lived X25519 box keys, each signed by the
 * node's registered signing key, so that what rests in stores stops being
 * readable once the node destroys the secret (forward secrecy at rest).
 * Specified in proto/PROTOCOL.md §4.1.
 *
 *   bundle = [ 1, node, key_id (bin 8), prekey_id (bin 8), box_pk (bin 32),
 *              not_before, not_after, destroy_at, sig (bin 64) ]
 *   sig    = hv_sign(node's sign key, "haven/prekey/v1", encoding of the
 *            same array without sig, i.e. its first eight elements)
 *
 * A bundle says: "until not_after, seal to box_pk; I destroy its secret at
 * destroy_at". Senders seal only to a bundle valid now, and cap the
 * envelope's TTL so that it ends before destroy_at. */
#ifndef HV_PREKEY_H
#define HV_PREKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_ids.h"

#define HV_PREKEY_VERSION 1
#define HV_PREKEY_ID_BYTES 8
#define HV_PREKEY_BUNDLE_MAX 256 /* a bundle's largest encoding (node id of 64: 223) */
#define HV_PREKEY_CONTEXT "haven/prekey/v1"
#define HV_PREKEY_TIME_MAX 0xFFFFFFFFull /* seconds: year 2106 */

/* A decoded prekey bundle. Plain data: fields are public. */
typedef struct hv_prekey_bundle {
    char node[HV_NODE_ID_MAX + 1];        /* whose prekey */
    uint8_t key_id[HV_KEY_ID_BYTES];      /* the node's long-term key id that signed it */
    uint8_t prekey_id[HV_PREKEY_ID_BYTES]; /* names this prekey */
    uint8_t box_pk[HV_PK_BYTES];          /* the X25519 public key to seal to */
    uint64_t not_before;                  /* valid from (Unix seconds) */
    uint64_t not_after;                   /* senders stop using it at (Unix seconds) */
    uint64_t destroy_at;                  /* its secret is destroyed at (Unix seconds) */
    uint8_t sig[HV_SIG_BYTES];            /* the node's signature */
} hv_prekey_bundle;

/* The prekey id of a box key: the first 8 bytes of
 * BLAKE2b-256("haven/prekey-id/v1\0" || box_pk), so that an id cannot be
 * given to another key. */
void hv_prekey_id(const uint8_t box_pk[HV_PK_BYTES], uint8_t out[HV_PREKEY_ID_BYTES]);

/* Fills b->sig: signs the bundle's other fields with `kp` (the node's key
 * pairs). Returns HV_OK, or HV_EINVAL for a field outside its limits
 * (node id, times out of order or above HV_PREKEY_TIME_MAX). */
HV_MUST_CHECK hv_err hv_prekey_sign(hv_prekey_bundle *b, const hv_keypair *kp);

/* Encodes a signed bundle. Caller owns `*out` (free()). Returns HV_OK,
 * HV_EINVAL, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_prekey_encode(const hv_prekey_bundle *b, uint8_t **out, size_t *len);

/* Decodes `buf` strictly (§2): version first, every field within limits,
 * not_before < not_after <= destroy_at, nothing left over. The signature is
 * not checked here (hv_prekey_verify). Errors: HV_ETOOBIG, HV_ETRUNCATED,
 * HV_EVERSION, HV_EDECODE, HV_ETRAILING. */
HV_MUST_CHECK hv_err hv_prekey_decode(const uint8_t *buf, size_t len, hv_prekey_bundle *out);

/* Checks a decoded bundle against the node's registered public keys: its
 * key id is theirs (HV_EADDRESS otherwise), the signature holds and the
 * prekey id is that of box_pk, and box_pk is usable (HV_ECRYPTO
 * otherwise). */
HV_MUST_CHECK hv_err hv_prekey_verify(const hv_prekey_bundle *b, const hv_pubkeys *node_keys);

struct hv_node;

/* hv_prekey_verify against the key set of registry entry `n` that the
 * bundle's key id names at `now` (current, next, or previous in its
 * grace, PROTOCOL §7.1); a key id it does not list is HV_EADDRESS. */
HV_MUST_CHECK hv_err hv_prekey_verify_node(const hv_prekey_bundle *b, const struct hv_node *n,
                                           uint64_t now);

/* True when a sender may seal to `b` at `now`: not_before <= now <
 * not_after. */
bool hv_prekey_usable(const hv_prekey_bundle *b, uint64_t now);

/* The times a node gives a prekey it makes at `now`, with a new one made
 * every `lifetime_s` and messages honoured for `keep_s` (at most the
 * longest TTL): valid for two lifetimes (so that senders have one
 * lifetime to fetch the next one before this one runs out), destroyed
 * keep_s after senders stop using it. */
void hv_prekey_schedule(uint64_t now, uint64_t lifetime_s, uint64_t keep_s,
                        uint64_t *not_before, uint64_t *not_after, uint64_t *destroy_at);

/* The TTL a sender gives an envelope created at `now_ms` sealed to `b`:
 * `ttl_s`, shortened so that the envelope expires before the prekey's
 * secret is destroyed. 0 when it cannot (destroy_at is too near). */
uint32_t hv_prekey_cap_ttl(const hv_prekey_bundle *b, uint64_t now_ms, uint32_t ttl_s);

#endif
