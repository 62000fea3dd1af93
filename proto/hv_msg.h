/* The plaintext bodies of application messages (proto/PROTOCOL.md §9):
 * what is inside the sealed body of each envelope type. Decoded only after
 * the envelope's signature and MAC have been checked, and still strictly:
 * a fixed array per type, every string bounded, nothing left over. A body
 * has exactly the fields listed here, so that, for example, a router can
 * never be handed a field outside the non-identifying summary, and no
 * free text reaches a router except sealed to the intake (need to know:
 * PROTOCOL.md §9.1). */
#ifndef HV_MSG_H
#define HV_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_ids.h"

#define HV_BODY_VERSION 1
#define HV_NEEDS_MAX 16
#define HV_SUMMARY_LIST_MAX 16
#define HV_SUMMARY_LANG_MAX 16  /* a BCP 47 tag */
#define HV_SUMMARY_REGION_MAX 64
#define HV_MSG_TEXT_MAX 1024     /* reasons, notes, outcomes */
#define HV_MSG_CODE_MAX 31       /* decline reasons, status states */
#define HV_REASONS_MAX 32        /* NO_MATCH: one per provider considered */
#define HV_REASON_TEXT_MAX 160
#define HV_GROUP_MAX 16          /* people in one referral: the subject and 15 others */
#define HV_PLACES_MAX 100000     /* CAPACITY: places of one provider */
/* A free-text note sealed end to end to the intake (services/common/
 * hv_note.h): carried by DECLINE and NO_MATCH as opaque bytes. */
#define HV_NOTE_SEALED_MAX (HV_MSG_TEXT_MAX + 256)
/* A case message (CASE_MESSAGE, PROTOCOL.md §9.2): 1 to this many bytes
 * of UTF-8, refused beyond, never cut. */
#define HV_CASE_TEXT_MAX 8000
#define HV_CASE_SEQ_MAX UINT32_MAX /* a sender's message numbers: 1.. */

/* ATTACHMENT (PROTOCOL.md §9.3): a document travels in chunks of
 * HV_ATTACH_CHUNK bytes (the last one shorter), each in its own envelope. */
#define HV_ATTACH_CHUNK (256u * 1024)
#define HV_ATTACH_PER_CASE 8            /* documents of one case: n is 0..7 */
#define HV_ATTACH_NAME_MAX 255          /* the file's name, bytes */
#define HV_ATTACH_TITLE_MAX 200         /* the caseworker's title, bytes */
#define HV_ATTACH_TYPE_MAX 31           /* "application/pdf", "image/jpeg", "image/png" */
#define HV_ATTACH_SIZE_MAX (64ull * 1024 * 1024) /* the wire's limit; configs set lower */
#define HV_ATTACH_CHUNKS_MAX ((uint32_t)(HV_ATTACH_SIZE_MAX / HV_ATTACH_CHUNK))

/* Urgency of a need, most urgent last so that max() picks it. */
typedef enum hv_urgency {
    HV_URGENCY_ROUTINE = 1,
    HV_URGENCY_URGENT = 2,
    HV_URGENCY_IMMEDIATE = 3,
} hv_urgency;

/* Age bands of the summary: coarse on purpose. */
typedef enum hv_age_band {
    HV_AGE_0_11 = 1,
    HV_AGE_12_17 = 2,
    HV_AGE_18_24 = 3,
    HV_AGE_25_39 = 4,
    HV_AGE_40_59 = 5,
    HV_AGE_60_UP = 6,
} hv_age_band;

typedef enum hv_sex {
    HV_SEX_FEMALE = 1,
    HV_SEX_MALE = 2,
    HV_SEX_OTHER = 3,
    HV_SEX_UNKNOWN = 4,
} hv_sex;

/* Names of the enumerations above ("immediate", "12-17", "female"), or
 * NULL for a value out of range; and back (0 when unknown). */
const char *hv_urgency_name(unsigned u);
unsigned hv_urgency_from_name(const char *s);
const char *hv_age_band_name(unsigned b);
const char *hv_sex_name(unsigned s);
unsigned hv_sex_from_name(const char *s);

/* The non-identifying summary a router sees (DESIGN §2 "need to know").
 * Plain data, fields public. One person (people 1, bands = {age_band})
 * travels as the 11 fields of PROTOCOL §9, a group as 13 (people, bands). */
typedef struct hv_summary {
    uint8_t service;                     /* hv_service requested */
    uint8_t n_needs;                     /* entries in needs */
    struct {
        uint8_t category;                /* hv_service */
        uint8_t urgency;                 /* hv_urgency */
    } needs[HV_NEEDS_MAX];
    uint8_t urgency;                     /* the highest urgency of the needs */
    uint8_t age_band;                    /* hv_age_band */
    uint8_t sex;                         /* hv_sex */
    bool minor;                          /* under 18 */
    uint8_t n_languages;                 /* entries in languages */
    char languages[HV_SUMMARY_LIST_MAX][HV_SUMMARY_LANG_MAX + 1]; /* spoken, best first */
    bool interpreter;                    /* an interpreter is needed */
    char country[3];                     /* destination country */
    char region[HV_SUMMARY_REGION_MAX + 1]; /* destination region, "" for any */
    uint8_t n_exclude;                   /* entries in exclude */
    char exclude[HV_SUMMARY_LIST_MAX][HV_NODE_ID_MAX + 1]; /* never offer to these */
    uint64_t respond_by;                 /* Unix seconds: answer needed by */
    uint8_t people;                      /* the subject and the family members referred
                                            with them: 1..HV_GROUP_MAX, 1 for one person */
    uint8_t n_bands;                     /* = people */
    uint8_t bands[HV_GROUP_MAX];         /* hv_age_band of each person, the subject's
                                            (= age_band) first; no names, no relationships */
} hv_summary;

/* One provider's reason in a NO_MATCH. */
typedef struct hv_reason {
    char node[HV_NODE_ID_MAX + 1];       /* the provider, or "" for the pathway as a whole */
    char text[HV_REASON_TEXT_MAX + 1];   /* why it did not match: codes, never free text */
    const uint8_t *note;                 /* the provider's decline note sealed to the
                                            intake (borrowed), or NULL */
    size_t note_len;                     /* its length, 0 for none */
} hv_reason;

/* One chunk of a document (ATTACHMENT). `data` borrows from the buffer
 * decoded. */
typedef struct hv_attach_chunk {
    uint8_t n;                             /* the document's number in its case, 0..7 */
    char name[HV_ATTACH_NAME_MAX + 1];     /* the file's name (no directory) */
    char title[HV_ATTACH_TITLE_MAX + 1];   /* its title, may be "" */
    char type[HV_ATTACH_TYPE_MAX + 1];     /* media type found from the content */
    uint64_t size;                         /* the whole document, bytes, 1..HV_ATTACH_SIZE_MAX */
    uint32_t chunks;                       /* ceil(size / HV_ATTACH_CHUNK) */
    uint32_t index;                        /* this chunk, 0..chunks-1 */
    uint8_t digest[32];                    /* BLAKE2b-256 of the whole document */
    const uint8_t *data;                   /* this chunk's bytes (borrowed) */
    size_t data_len;                       /* HV_ATTACH_CHUNK, the last one the rest */
} hv_attach_chunk;

/* True when `c`'s numbers agree with each other (chunk count, index, the
 * length of this chunk) and its strings are within their limits. */
bool hv_attach_chunk_valid(const hv_attach_chunk *c);

/* A decoded body. Plain data; which fields are used depends on `type`
 * (see PROTOCOL §9). `case_json` borrows from the buffer decoded. */
typedef struct hv_msg {
    uint8_t type;                        /* hv_msg_type */
    hv_summary summary;                  /* REFERRAL_REQUEST, OFFER */
    char node[HV_NODE_ID_MAX + 1];       /* OFFER: the intake; MATCH: the provider */
    uint64_t at;                         /* OFFER: respond by; RECEIPT: received;
                                            WITHDRAWN: erased; STATUS, LEGAL_HOLD: when
                                            (Unix s) */
    char code[HV_MSG_CODE_MAX + 1];      /* DECLINE, CANCEL, OFFER_WITHDRAWN: reason
                                            code; STATUS: new state; LEGAL_HOLD: basis */
    char text[HV_MSG_TEXT_MAX + 1];      /* reason, note or outcome */
    uint8_t hash[32];                    /* RECEIPT: BLAKE2b-256 of the case received */
    uint8_t n_reasons;                   /* NO_MATCH: entries in reasons */
    hv_reason reasons[HV_REASONS_MAX];   /* NO_MATCH */
    const uint8_t *sealed;               /* DECLINE: the note sealed to the intake
                                            (borrowed), or NULL */
    size_t sealed_len;                   /* its length, 0 for none */
    const char *case_json;               /* CASE_TRANSFER: the referral file (borrowed);
                                            CASE_MESSAGE: the message's text (borrowed) */
    size_t case_len;                     /* its length */
    uint64_t n;                          /* CASE_MESSAGE: the sender's number for it
                                            (1, 2, ...); MESSAGE_MARK: the message
                                            marked (and, for read, all before it) */
    /* PROGRESS (router -> intake, PROTOCOL.md §9 "PROGRESS"): `code` is the event
     * (hv_progress_events), `node` the provider, `at` when it happened. */
    char reason[HV_MSG_CODE_MAX + 1];    /* PROGRESS declined: the decline code;
                                            withdrawn_offer: the withdrawn code; else "" */
    uint64_t respond_by;                 /* PROGRESS offered: the provider's answer is due
                                            then (Unix s); else 0 */
    /* CAPACITY (provider -> router, PROTOCOL.md §9 "CAPACITY"): `node` is the
     * provider, `at` when it counted. */
    uint32_t places_free;                /* places free for new people */
    uint32_t places_total;               /* places in all */
    uint32_t places_pending;             /* offers of the recipient router counted as
                                            taking places, pending its answer */
    hv_attach_chunk attach;              /* ATTACHMENT */
} hv_msg;

/* Encodes `m` for its type. Caller owns `*out` (free()). Returns HV_OK,
 * HV_EINVAL for a field outside its limits or an unknown type, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_msg_encode(const hv_msg *m, uint8_t **out, size_t *len);

/* Decodes a body that arrived in an envelope of type `type`. `out` may
 * borrow from `buf`. Errors: HV_ETRUNCATED, HV_EDECODE, HV_ETOOBIG,
 * HV_EVERSION, HV_ETYPE (body of another type), HV_ETRAILING, HV_EINVAL
 * (a value outside its range). */
HV_MUST_CHECK hv_err hv_msg_decode(const uint8_t *buf, size_t len, unsigned type, hv_msg *out);

/* As hv_msg_decode, for a body a worker stored itself: an OFFER stored
 * before PROTOCOL §9.1 may carry a withhold list, which is read and dropped
 * (n_exclude is 0 after), never refused, so that the offer still loads. */
HV_MUST_CHECK hv_err hv_msg_decode_stored(const uint8_t *buf, size_t len, unsigned type,
                                          hv_msg *out);

/* The kinds of a MESSAGE_MARK (its `code`): "delivered", "read". */
bool hv_mark_kind_valid(const char *kind);

/* Decline reason codes, status states, cancel reason codes and the codes
 * of a withdrawn offer, for checks and help texts. */
bool hv_decline_code_valid(const char *code);
bool hv_status_state_valid(const char *state);
bool hv_cancel_code_valid(const char *code);
bool hv_withdrawn_code_valid(const char *code);
bool hv_progress_event_valid(const char *event);
extern const char *const hv_decline_codes[];   /* NULL-terminated */
extern const char *const hv_status_states[];   /* NULL-terminated */
extern const char *const hv_cancel_codes[];    /* NULL-terminated */
extern const char *const hv_withdrawn_codes[]; /* NULL-terminated */
/* The events of a PROGRESS: offered, declined, not_answered, withdrawn_offer. */
extern const char *const hv_progress_events[]; /* NULL-terminated */

/* The legal bases on which a provider keeps a case whose erasure was
 * asked for (LEGAL_HOLD; GDPR art. 17(3)). */
bool hv_hold_basis_valid(const char *code);
extern const char *const hv_hold_bases[]; /* NULL-terminated */

#endif
