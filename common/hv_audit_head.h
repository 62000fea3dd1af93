/* Signed heads of an audit log (issue 20): a node signs where its chain
 * stands — node, file id, seq, hash, time — with its Ed25519 signing key,
 * keeps the latest heads in its own store and hands them to its home
 * broker, which witnesses them. A log is then checked against the heads:
 * a cut tail, a chain rewritten and recomputed (the chain has no key) and
 * another file put in its place all stop matching a signed head.
 *
 * Encoding (proto/PROTOCOL.md §5.4), a MessagePack array of 8:
 *   [1, node, file_id (bin 32), seq, hash (bin 32), at_ms, key_id (bin 8),
 *    sig (bin 64)]
 * where sig = hv_sign(node's key, "haven/audit-head/v1" with its NUL,
 * the same array of 7 without sig). file_id is the hash of the file's
 * first record; seq and hash those of the last record covered; at_ms Unix
 * milliseconds. Decoding is strict: only the canonical encoding passes.
 *
 * A heads file (`haven audit heads`) holds one head a line, in lowercase
 * hex, oldest first. */
#ifndef HV_AUDIT_HEAD_H
#define HV_AUDIT_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_ids.h"

#define HV_AUDIT_HEAD_MAX 224     /* an encoded head, at most */
#define HV_AUDIT_HEADS_MAX 4096   /* heads in one heads file, at most */
#define HV_AUDIT_HEAD_CONTEXT "haven/audit-head/v1"

struct hv_registry;

typedef struct hv_audit_head {
    char node[HV_NODE_ID_MAX + 1];  /* the node whose log it is */
    uint8_t file_id[32];            /* hash of the file's first record */
    uint64_t seq;                   /* the last record covered */
    uint8_t hash[32];               /* its hash */
    uint64_t at_ms;                 /* when it was signed (Unix ms) */
    uint8_t key_id[HV_KEY_ID_BYTES]; /* the key set that signed it */
    uint8_t sig[HV_SIG_BYTES];
} hv_audit_head;

/* Fills in key_id and sig of `h` (its other fields set) with `kp`. */
void hv_audit_head_sign(hv_audit_head *h, const hv_keypair *kp);

/* Encodes into `out` (HV_AUDIT_HEAD_MAX bytes); `*len` its length.
 * HV_EINVAL for a node id that is not one. */
HV_MUST_CHECK hv_err hv_audit_head_encode(const hv_audit_head *h, uint8_t out[HV_AUDIT_HEAD_MAX],
                                          size_t *len);

/* Decodes strictly (the signature is not checked). HV_ETOOBIG,
 * HV_ETRUNCATED, HV_EVERSION, HV_EDECODE, HV_ETRAILING. */
HV_MUST_CHECK hv_err hv_audit_head_decode(const uint8_t *buf, size_t len, hv_audit_head *out);

/* Checks the signature against the signing key `sign_pk`: HV_OK or
 * HV_ECRYPTO. */
HV_MUST_CHECK hv_err hv_audit_head_verify(const hv_audit_head *h, const uint8_t sign_pk[32]);

/* Checks the signature against the key set of h->node that the registry
 * lists under h->key_id (current, next or previous keys): HV_OK,
 * HV_ENOTFOUND (no such node or key set), HV_ECRYPTO. */
HV_MUST_CHECK hv_err hv_audit_head_verify_registry(const hv_audit_head *h,
                                                   const struct hv_registry *reg);

/* Parses a heads file. Caller owns `*out` (free()). HV_EDECODE (with the
 * line in `e`) on a line that is not a head. */
HV_MUST_CHECK hv_err hv_audit_heads_parse(const char *text, size_t len, hv_audit_head **out,
                                          size_t *n, hv_errmsg *e);

/* Writes one head as a heads file's line (hex and a newline, NUL-ended)
 * into `out` (2 * HV_AUDIT_HEAD_MAX + 2 bytes). */
HV_MUST_CHECK hv_err hv_audit_head_line(const hv_audit_head *h,
                                        char out[2 * HV_AUDIT_HEAD_MAX + 2]);

/* What hv_audit_check_heads found. */
typedef struct hv_audit_heads_result {
    uint64_t matched;     /* heads the log matches */
    uint64_t skipped;     /* heads of records before the log's first (a file rotated away) */
    uint64_t first_bad;   /* the first record that no longer matches, 0 when none */
    uint64_t latest_seq;  /* the latest head's record */
    uint64_t latest_at_ms; /* and when it was signed */
    char why[256];        /* what is wrong, when first_bad != 0 */
} hv_audit_heads_result;

/* Checks a whole log (intact up to record `last_seq`, as hv_audit_verify
 * found; files rotated one after the other may be given as one text)
 * against signed heads of its node: every head's record must be there
 * with the hash the head names, in the file the head names (heads of
 * records before the text's first are skipped). HV_OK, or
 * HV_ECRYPTO with the first record that no longer matches and why: a cut
 * tail (the file ends before a witnessed record), a rewritten chain (a
 * record's hash differs), a swapped file (another node's log, or
 * another first record). */
HV_MUST_CHECK hv_err hv_audit_check_heads(const char *text, size_t len, uint64_t last_seq,
                                          const hv_audit_head *heads, size_t n,
                                          hv_audit_heads_result *out);

/* Compares the log at `path` with the node's last signed head, as a node
 * does before it starts: HV_OK, or HV_ECRYPTO with `e` naming the file,
 * the record expected and what was found. A file rotated since the head
 * passes when its rotation record goes on from the head exactly. Reads the
 * first record and the end of the log (and the whole log only when the
 * head lies further back). */
HV_MUST_CHECK hv_err hv_audit_check_start(const char *path, const hv_audit_head *head,
                                          hv_errmsg *e);

#endif
