/* Broker control messages: the conversation between a broker and a worker
 * (or a peer broker) around envelopes. Specified in proto/PROTOCOL.md §5. */
#ifndef HV_CONTROL_H
#define HV_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_envelope.h"
#include "hv_err.h"

typedef enum hv_cmd {
    HV_CMD_HELLO = 1,     /* client -> broker: who I am, initial credit */
    HV_CMD_READY = 2,     /* broker -> client: session accepted */
    HV_CMD_SEND = 3,      /* client -> broker: take custody of an envelope */
    HV_CMD_STORED = 4,    /* broker -> client: envelope durably committed */
    HV_CMD_DELIVER = 5,   /* broker -> client: an envelope for you */
    HV_CMD_ACK = 6,       /* client -> broker: committed on my side */
    HV_CMD_NACK = 7,      /* client -> broker: refused, with a code */
    HV_CMD_CREDIT = 8,    /* client -> broker: may deliver N more */
    HV_CMD_HEARTBEAT = 9, /* either way: still alive */
    HV_CMD_EXPIRED = 10,  /* broker -> client: your message passed its TTL */
    HV_CMD_ERROR = 11,    /* broker -> client: request refused, with a code */
    HV_CMD_BYE = 12,      /* either way: closing the session */
    HV_CMD_PREKEY_PUT = 13, /* client or peer -> broker: publish a prekey bundle */
    HV_CMD_PREKEY_GET = 14, /* client -> broker: the bundles of a node ("" for all) */
    HV_CMD_PREKEY = 15,   /* broker -> client: one bundle from its directory */
    HV_CMD_PREKEY_REFUSED = 16, /* broker -> client or peer: a PREKEY_PUT or GET refused */
    HV_CMD_AUDIT_HEAD = 17,  /* client or peer -> broker: witness this signed audit head */
    HV_CMD_AUDIT_WITNESSED = 18, /* broker -> client or peer: the last head witnessed */
    HV_CMD_AUDIT_HEAD_GET = 19,  /* client -> broker: my last witnessed head */
    HV_CMD_HEALTH = 20,   /* peer -> peer: a broker's health summary (proto/hv_health.h) */
    HV_CMD_NOTICE = 21,   /* peer -> peer: a message of one of your nodes died here (§5.3) */
    HV_CMD_BATCH = 22,    /* either way, once negotiated: several SEND, STORED, DELIVER,
                             ACK or NACK in one frame (§5.7) */
} hv_cmd;

#define HV_CMD_MAX 22
#define HV_CONTROL_BUNDLE_MAX 256 /* = HV_PREKEY_BUNDLE_MAX (common/hv_prekey.h) */
#define HV_CONTROL_TEXT_MAX 256
#define HV_CONTROL_HEAD_MAX 224   /* = HV_AUDIT_HEAD_MAX (common/hv_audit_head.h) */
#define HV_CONTROL_SUMMARY_MAX 4096 /* = HV_HEALTH_MAX (proto/hv_health.h) */
#define HV_CONTROL_NOTICE_HEADER_MAX 512 /* an envelope's header (HV_ENVELOPE_MAX's margin) */
#define HV_CONTROL_DIGEST_BYTES 32 /* = HV_BODY_DIGEST_BYTES (common/hv_crypto.h) */
#define HV_CONTROL_SIG_BYTES 64    /* = HV_SIG_BYTES */
#define HV_CONTROL_MAX (HV_ENVELOPE_MAX + 64)
#define HV_CREDIT_MAX 65536u
#define HV_HEARTBEAT_MS_MIN 100u
#define HV_HEARTBEAT_MS_MAX 60000u
#define HV_REPLAY_SINCE_MAX 9007199254740991ull /* 2^53 - 1 ms: exact in any JSON number */
#define HV_FEATURES_MAX 65535u          /* HELLO's and READY's features: 16 bits */
#define HV_FEATURE_BATCH 1u             /* speaks BATCH (§5.7) */
#define HV_CONTROL_BATCH_BYTES 65536u   /* the largest BATCH frame */
#define HV_CONTROL_BATCH_MAX 1024u      /* the most commands in one BATCH */

/* A decoded control message. Plain data: fields are public. Only the fields
 * of its command are meaningful; `envelope` is borrowed from the buffer it
 * was decoded from. */
typedef struct hv_control {
    uint8_t cmd;                             /* hv_cmd */
    char node_id[HV_NODE_ID_MAX + 1];        /* HELLO: client id; READY: broker id */
    uint32_t credit;                         /* HELLO, CREDIT */
    uint32_t heartbeat_ms;                   /* HELLO (asked), READY (granted) */
    uint64_t replay_since;                   /* HELLO: replay what was ACKed since (Unix
                                                ms); 0 = none, and the field is omitted
                                                unless features are sent */
    uint32_t features;                       /* HELLO (asked), READY (granted): HV_FEATURE_* */
    bool has_features;                       /* HELLO, READY: the features field is there */
    uint32_t max_message;                    /* READY: largest frame accepted */
    uint32_t attempt;                        /* DELIVER: 1 on first delivery */
    uint8_t msg_id[HV_MSG_ID_BYTES];         /* STORED, ACK, NACK, EXPIRED, ERROR */
    bool has_msg_id;                         /* ERROR: whether msg_id is set */
    uint16_t code;                           /* NACK, ERROR: an hv_err value */
    char text[HV_CONTROL_TEXT_MAX + 1];      /* NACK, ERROR: explanation */
    const uint8_t *envelope;                 /* SEND, DELIVER: envelope bytes */
    size_t envelope_len;                     /* length of `envelope` */
    const uint8_t *bundle;                   /* PREKEY_PUT, PREKEY: bundle bytes (borrowed) */
    size_t bundle_len;                       /* length of `bundle` */
    uint8_t prekey_id[8];                    /* PREKEY_REFUSED: the bundle's prekey id */
    bool has_prekey_id;                      /* PREKEY_REFUSED: whether prekey_id is set */
    /* AUDIT_HEAD: `bundle` holds the signed head (hv_audit_head.h);
     * AUDIT_WITNESSED: `code` (HV_OK: witnessed; else why not) and `bundle`
     * the last head witnessed for the node (bundle_len 0: none). */
    const uint8_t *summary;                  /* HEALTH: summary bytes (borrowed) */
    size_t summary_len;                      /* length of `summary` */
    /* NOTICE: `code` (why the message died: HV_EEXPIRED, or the recipient's
     * or broker's refusal) and `text`, with the dead envelope's proof of
     * origin: its canonical header, its body's digest and its sender's
     * signature (PROTOCOL.md §4: they verify without the body). */
    const uint8_t *header;                   /* NOTICE: header bytes (borrowed) */
    size_t header_len;                       /* length of `header` */
    uint8_t digest[HV_CONTROL_DIGEST_BYTES]; /* NOTICE: BLAKE2b-256 of the body */
    uint8_t sig[HV_CONTROL_SIG_BYTES];       /* NOTICE: the sender's signature */
    /* BATCH: the array's elements as they are on the wire, `n_parts`
     * msgpack bin strings one after the other, each an encoded control
     * message (borrowed; read them with hv_control_parts_next). */
    const uint8_t *parts;                    /* BATCH: the elements' bytes */
    size_t parts_len;                        /* their length */
    uint32_t n_parts;                        /* how many (1 - HV_CONTROL_BATCH_MAX) */
} hv_control;

/* A cursor over a decoded BATCH's commands. Fields are private. */
typedef struct hv_control_parts {
    const uint8_t *pos; /* the next element */
    const uint8_t *end; /* one past the last */
} hv_control_parts;

/* Returns the command's name, or NULL for an unknown value. */
const char *hv_cmd_name(unsigned cmd);

/* Encodes `msg`. Caller owns `*out` (free()). Returns HV_OK, HV_EINVAL for
 * an unknown command or a field outside its limits, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_control_encode(const hv_control *msg, uint8_t **out, size_t *len);

/* Decodes `buf` strictly. The embedded envelope of SEND and DELIVER is only
 * bounded here, not decoded: call hv_envelope_decode on it (and
 * hv_prekey_decode on the bundle of PREKEY_PUT and PREKEY, hv_health_decode on
 * HEALTH's summary, hv_envelope_decode_header on NOTICE's header). PREKEY_GET's
 * node_id is a node id or empty (every bundle the broker holds). Errors:
 * HV_ETOOBIG, HV_ETRUNCATED, HV_EVERSION, HV_ETYPE, HV_EDECODE, HV_ETRAILING. */
HV_MUST_CHECK hv_err hv_control_decode(const uint8_t *buf, size_t len, hv_control *out);

/* Whether `cmd` may travel inside a BATCH: SEND, STORED, DELIVER, ACK and
 * NACK (PROTOCOL.md §5.7). */
bool hv_control_batchable(unsigned cmd);

/* Starts a cursor over the commands of `batch`, a BATCH that
 * hv_control_decode accepted (or one whose parts the caller checked). */
void hv_control_parts_init(hv_control_parts *it, const hv_control *batch);

/* The next command's encoded bytes (borrowed from the BATCH's buffer), to
 * be read with hv_control_decode; false after the last. The decoder has
 * checked every element, so nothing here fails on a decoded BATCH. */
bool hv_control_parts_next(hv_control_parts *it, const uint8_t **part, size_t *len);

#endif
