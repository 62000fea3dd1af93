/* Evidence bundles (issue 20): what a node can show, long after a case is
 * erased, about the messages of one referral it sent and received. The
 * format, "haven-evidence/1", is JSON (docs/EVIDENCE.md):
 *
 *   { "format": "haven-evidence/1", "node": ID, "referral": HEX32,
 *     "exported_at": UNIX_S,
 *     "registries": [ { "version": N, "signed": HEX }, ... ],
 *     "items": [ { "direction": "sent"|"received", "type": NAME, "id": HEX32,
 *                  "from": ID, "to": ID, "created_at_ms": MS, "from_kid": HEX16,
 *                  "header": HEX, "body_digest": HEX64, "signature": HEX128,
 *                  "verified_at_ms": MS, "registry_version": N }, ... ] }
 *
 * Only the signed header bytes, the body's digest and the signature prove
 * anything; the other fields of an item repeat the header for people and
 * must agree with it. The signed registries are the authority's files, byte
 * for byte. Nothing in a bundle is case content. This module writes,
 * parses (strictly: every member, nothing else, each within its limits) and
 * verifies bundles; it needs no store and no network (`haven evidence
 * verify` runs on another machine with the authority's public key). */
#ifndef HV_EVIDENCE_BUNDLE_H
#define HV_EVIDENCE_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_err.h"
#include "hv_registry.h"

#define HV_EVIDENCE_FORMAT "haven-evidence/1"
#define HV_EVIDENCE_HEADER_MAX 512      /* an encoded header's bytes, at most */
#define HV_EVIDENCE_ITEMS_MAX 1024      /* items in one bundle */
#define HV_EVIDENCE_REGISTRIES_MAX 16   /* signed registries in one bundle */

/* One message, as evidence. Plain data, fields public. */
typedef struct hv_evidence_item {
    bool sent;                                /* the exporting node sent it (else received) */
    uint8_t header[HV_EVIDENCE_HEADER_MAX];   /* the canonical header, as signed */
    size_t header_len;                        /* its length */
    uint8_t body_digest[HV_BODY_DIGEST_BYTES]; /* BLAKE2b-256 of the sealed body */
    uint8_t sig[HV_SIG_BYTES];                /* the sender's signature */
    uint64_t verified_at_ms;                  /* when the node checked (or made) it */
    uint64_t registry_version;                /* the registry it was checked against */
    hv_envelope hdr;                          /* the header decoded (header pointer: NULL) */
} hv_evidence_item;

/* One signed registry file. */
typedef struct hv_evidence_registry {
    uint64_t version; /* as the bundle states it */
    uint8_t *bytes;   /* the signed file (owned) */
    size_t len;       /* its length */
} hv_evidence_registry;

/* A parsed bundle. Caller owns it (hv_evidence_bundle_free). */
typedef struct hv_evidence_bundle {
    char node[HV_NODE_ID_MAX + 1];  /* who exported it */
    uint8_t referral[16];           /* the referral */
    uint64_t exported_at;           /* Unix seconds */
    size_t n_registries;
    hv_evidence_registry *registries;
    size_t n_items;
    hv_evidence_item *items;
} hv_evidence_bundle;

/* The JSON of one item (the header must decode). Returns NULL when out of
 * memory or when the header does not decode. */
json_t *hv_evidence_item_json(const hv_evidence_item *it);

/* The JSON of a signed registry entry. */
json_t *hv_evidence_registry_json(uint64_t version, const uint8_t *bytes, size_t len);

/* Parses a bundle's text strictly. Caller owns `*out`. Returns HV_OK,
 * HV_ETOOBIG (text over HV_JSON_TEXT_MAX, more items or registries than
 * the maximum), HV_EJSON (not JSON), HV_EVERSION (another format),
 * HV_EDECODE (a member missing, unknown, of the wrong type or outside its
 * limits, a header that does not decode or an item whose fields differ from
 * its header), HV_ENOMEM; `e` names the member. */
HV_MUST_CHECK hv_err hv_evidence_parse(const uint8_t *buf, size_t len, hv_evidence_bundle **out,
                                       hv_errmsg *e);

/* Frees; safe on NULL and twice. */
void hv_evidence_bundle_free(hv_evidence_bundle **b);

/* What verification found for one item, for the caller to print. */
typedef struct hv_evidence_checked {
    const hv_evidence_item *item; /* the item (borrowed from the bundle) */
    size_t index;                 /* 1-based */
    hv_key_slot slot;             /* which of the signer's key sets signed it */
    const char *organisation;     /* the signer's organisation, as the registry names it */
} hv_evidence_checked;

/* Verifies a bundle offline: every registry's signature against
 * `authority_pk` (and the version it states), then each item in order: its
 * registry is in the bundle, the message time lies within that registry's
 * validity, the registry lists the signer as an active node at that time
 * with the key id the header names (current, next or previous keys, the
 * previous ones before previous_until), the signer's role may send that
 * type, and the signature verifies over header and body digest. Calls
 * `each` (may be NULL) for every item that passes. Returns HV_OK, or the
 * first failure with `e` naming the item ("item N (TYPE FROM → TO): why")
 * or the registry: HV_EREG_SIGNATURE, HV_EREG_INVALID, HV_EREG_EXPIRED,
 * HV_EAUTH, HV_EFORBIDDEN, HV_ECRYPTO, HV_ENOMEM. `*failed` (may be NULL)
 * gets the failing item's 1-based index, 0 for a registry or none. */
HV_MUST_CHECK hv_err hv_evidence_verify(const hv_evidence_bundle *b,
                                        const uint8_t authority_pk[HV_PK_BYTES],
                                        void (*each)(void *ctx, const hv_evidence_checked *c),
                                        void *ctx, size_t *failed, hv_errmsg *e);

#endif
