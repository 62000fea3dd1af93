/* The envelope: routing metadata in clear, the body sealed end to end.
 * Specified in proto/PROTOCOL.md §3. */
#ifndef HV_ENVELOPE_H
#define HV_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_ids.h"

#define HV_PROTO_VERSION 1
#define HV_MSG_ID_BYTES 16
#define HV_TTL_MAX (30u * 24 * 3600) /* seconds: 30 days */
#define HV_HOPS_MAX 8                /* brokers a message may cross */
#define HV_PLAINTEXT_MAX (1024u * 1024)
#define HV_BODY_MAX (HV_PLAINTEXT_MAX + HV_SEAL_OVERHEAD)
#define HV_ENVELOPE_MAX (HV_BODY_MAX + 512) /* body plus the largest header */

/* Application message types. Values are stable wire numbers. */
typedef enum hv_msg_type {
    HV_MSG_REFERRAL_REQUEST = 1, /* intake -> router: non-identifying summary */
    HV_MSG_OFFER = 2,            /* router -> provider: summary, respond-by */
    HV_MSG_ACCEPT = 3,           /* provider -> router */
    HV_MSG_DECLINE = 4,          /* provider -> router, with reason */
    HV_MSG_MATCH = 5,            /* router -> intake: the accepting provider */
    HV_MSG_NO_MATCH = 6,         /* router -> intake, with reasons */
    HV_MSG_CASE_TRANSFER = 7,    /* intake -> provider: full case, consent */
    HV_MSG_RECEIPT = 8,          /* provider -> intake: signed receipt */
    HV_MSG_STATUS = 9,           /* provider -> intake: lifecycle update */
    HV_MSG_WITHDRAW = 10,        /* intake -> provider: consent withdrawn */
    HV_MSG_WITHDRAWN = 11,       /* provider -> intake: erasure confirmed */
    HV_MSG_CANCEL = 12,          /* intake -> router or provider */
    HV_MSG_CANCELLED = 13,       /* router or provider -> intake */
    HV_MSG_REFERRAL_EXPIRED = 14, /* router -> intake: deadline passed */
    HV_MSG_OFFER_WITHDRAWN = 15, /* router -> provider: offer retracted */
    HV_MSG_CASE_MESSAGE = 16,    /* intake <-> provider: a caseworker's message */
    HV_MSG_MESSAGE_MARK = 17,    /* intake <-> provider: delivered / read */
    HV_MSG_ATTACHMENT = 18,      /* intake -> provider: one chunk of a document */
    HV_MSG_PROGRESS = 19,        /* router -> intake: an offer's outcome, as it happens */
    HV_MSG_CAPACITY = 20,        /* provider -> router: its free places */
    HV_MSG_LEGAL_HOLD = 21,      /* provider -> intake: erasure refused, with basis */
} hv_msg_type;

#define HV_MSG_TYPE_MAX 21

/* What the protocol allows for a message type. */
typedef struct hv_msg_rule {
    const char *name;       /* e.g. "CASE_TRANSFER" */
    unsigned sender_roles;  /* HV_ROLE_BIT mask of roles that may send it */
    unsigned rcpt_roles;    /* HV_ROLE_BIT mask of roles that may receive it */
    size_t plaintext_max;   /* largest plaintext body, bytes */
} hv_msg_rule;

/* Returns the rule for `type`, or NULL for an unknown type. */
const hv_msg_rule *hv_msg_rule_get(unsigned type);

/* Returns the type named `name` (e.g. "OFFER"), or 0. */
unsigned hv_msg_type_from_name(const char *name);

/* A decoded envelope. Plain data: fields are public and it may live on the
 * stack. `header` and `body` are borrowed from the buffer it was decoded
 * from (or set by the caller before encoding). */
typedef struct hv_envelope {
    uint8_t version;                         /* HV_PROTO_VERSION */
    uint8_t type;                            /* hv_msg_type */
    uint8_t id[HV_MSG_ID_BYTES];             /* random message id, dedup key */
    uint8_t referral[HV_MSG_ID_BYTES];       /* referral this message belongs to */
    char from[HV_NODE_ID_MAX + 1];           /* sender node id */
    char to[HV_NODE_ID_MAX + 1];             /* recipient node id */
    uint64_t created_at_ms;                  /* sender's clock, Unix ms */
    uint32_t ttl_s;                          /* lifetime from created_at, seconds */
    uint8_t from_kid[HV_KEY_ID_BYTES];       /* sender's key id */
    uint8_t to_kid[HV_KEY_ID_BYTES];         /* recipient's key id */
    uint8_t hops;                            /* brokers crossed so far (not signed) */
    const uint8_t *header;                   /* canonical header bytes (decode only) */
    size_t header_len;                       /* length of `header` */
    const uint8_t *body;                     /* eph_pk || nonce || ciphertext */
    size_t body_len;                         /* length of `body` */
    uint8_t sig[HV_SIG_BYTES];               /* sender's signature */
} hv_envelope;

/* Encodes the canonical header (the signed, authenticated part: every field
 * but hops, body and sig). Caller owns `*out` (free()). Returns HV_OK,
 * HV_EINVAL for a field outside its limits, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_envelope_encode_header(const hv_envelope *env, uint8_t **out,
                                               size_t *len);

/* Encodes the whole envelope. Caller owns `*out` (free()). */
HV_MUST_CHECK hv_err hv_envelope_encode(const hv_envelope *env, uint8_t **out, size_t *len);

/* Decodes `buf` strictly: version and type first, every field within its
 * limits, nothing left over. On HV_OK, `out->header` and `out->body` point
 * into `buf`. Errors: HV_ETOOBIG, HV_ETRUNCATED, HV_EVERSION, HV_ETYPE,
 * HV_EDECODE, HV_ETRAILING. */
HV_MUST_CHECK hv_err hv_envelope_decode(const uint8_t *buf, size_t len, hv_envelope *out);

/* Decodes a canonical header alone (as the envelope's, nothing left over):
 * evidence keeps the header after the body is gone. On HV_OK, `out->header`
 * points into `buf`; hops, body and sig stay zero. Same errors as
 * hv_envelope_decode. */
HV_MUST_CHECK hv_err hv_envelope_decode_header(const uint8_t *buf, size_t len,
                                               hv_envelope *out);

/* Fills `env`'s header fields for a new message: version, a random id,
 * created_at now, and from/to with their key ids. The caller sets type,
 * referral and ttl. */
void hv_envelope_init(hv_envelope *env, unsigned type, const char *from,
                      const hv_pubkeys *from_keys, const char *to, const hv_pubkeys *to_keys);

/* Seals `pt` into `env` and encodes the result: header from `env`, body
 * encrypted to `to_keys->box` and signed by `sender`. Caller owns `*wire`
 * (free()). Returns HV_OK, HV_EINVAL, HV_ETOOBIG (plaintext over the type's
 * maximum), HV_ECRYPTO, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_envelope_seal(const hv_envelope *env, const hv_keypair *sender,
                                      const hv_pubkeys *to_keys, const uint8_t *pt,
                                      size_t pt_len, uint8_t **wire, size_t *wire_len);

/* Verifies and decrypts a decoded envelope addressed to `self_id` holding
 * `self`. Signature and MAC are checked before anything else; then the
 * recipient id and key id. Caller owns `*pt` (free()).
 * Returns HV_OK, HV_ECRYPTO, HV_EADDRESS, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_envelope_open(const hv_envelope *env, const char *self_id,
                                      const hv_keypair *self,
                                      const uint8_t sender_sign_pk[HV_PK_BYTES], uint8_t **pt,
                                      size_t *pt_len);

/* As hv_envelope_open, decrypting with the box key pair `box_sk`/`box_pk`
 * (a prekey's, common/hv_prekey.h) when `box_sk` is not NULL; the address
 * is still checked against `self_id` and the long-term key id of `self`. */
HV_MUST_CHECK hv_err hv_envelope_open_with(const hv_envelope *env, const char *self_id,
                                           const hv_keypair *self, const uint8_t *box_sk,
                                           const uint8_t *box_pk,
                                           const uint8_t sender_sign_pk[HV_PK_BYTES],
                                           uint8_t **pt, size_t *pt_len);

#endif
