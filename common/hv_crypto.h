/* Keys and end-to-end crypto. The only module that includes sodium.h.
 *
 * A node holds three key pairs: Ed25519 for signing, X25519 for end-to-end
 * sealing ("box") and X25519 for CurveZMQ transport. Secret halves live in
 * sodium_malloc'd memory (guard pages, mlock'd, zeroed on free).
 *
 * Sealing, specified in proto/PROTOCOL.md §4:
 *   eph = fresh X25519 key pair
 *   k   = BLAKE2b-256("haven/e2e/v1" || X25519(eph_sk, rcpt_box_pk) || eph_pk || rcpt_box_pk)
 *   ct  = XChaCha20-Poly1305(k, nonce, plaintext, ad = header)
 *   body = eph_pk || nonce || ct
 *   sig = Ed25519(sender_sign_sk,
 *                 BLAKE2b-512("haven/sig/v2" || header || BLAKE2b-256(body)))
 * The signature covers the body through its digest, so that header, body
 * digest and signature still verify once the body is erased (evidence,
 * services/common/hv_evidence.h).
 * Opening checks the signature, then the MAC, before any plaintext exists. */
#ifndef HV_CRYPTO_H
#define HV_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"

#define HV_PK_BYTES 32     /* every public key: Ed25519 or X25519 */
#define HV_SEED_BYTES 32   /* every secret seed */
#define HV_SIG_BYTES 64    /* Ed25519 signature */
#define HV_KEY_ID_BYTES 8  /* short key id carried on every message */
#define HV_NONCE_BYTES 24  /* XChaCha20-Poly1305 nonce */
#define HV_MAC_BYTES 16    /* Poly1305 tag */
#define HV_SEAL_OVERHEAD (HV_PK_BYTES + HV_NONCE_BYTES + HV_MAC_BYTES)
#define HV_Z85_KEY_LEN 40  /* Z85 text of a 32-byte key, without NUL */

/* A node's public keys. Plain data; may live on the stack. */
typedef struct hv_pubkeys {
    uint8_t sign[HV_PK_BYTES];        /* Ed25519 verification key */
    uint8_t box[HV_PK_BYTES];         /* X25519 end-to-end key */
    uint8_t transport[HV_PK_BYTES];   /* X25519 CurveZMQ key */
    uint8_t key_id[HV_KEY_ID_BYTES];  /* hv_key_id() of the three above */
} hv_pubkeys;

/* A node's secret keys, opaque, in guarded memory. */
typedef struct hv_keypair hv_keypair;

/* Initialises libsodium. Call once before anything else here; safe to call
 * again. Returns HV_ECRYPTO if the library cannot start. */
HV_MUST_CHECK hv_err hv_crypto_init(void);

/* Generates fresh key pairs. Caller owns `*out` (free with hv_keypair_free). */
HV_MUST_CHECK hv_err hv_keypair_generate(hv_keypair **out);

/* Rebuilds key pairs from their three 32-byte seeds (the secret key file's
 * content, or fixed seeds for test vectors). Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_keypair_from_seeds(hv_keypair **out, const uint8_t sign_seed[32],
                                           const uint8_t box_seed[32],
                                           const uint8_t transport_seed[32]);

/* Copies the three seeds out (for writing the key file). The caller must
 * wipe them with hv_memzero when done. */
void hv_keypair_seeds(const hv_keypair *kp, uint8_t sign_seed[32], uint8_t box_seed[32],
                      uint8_t transport_seed[32]);

/* Borrowed view of the public keys; valid while `kp` lives. */
const hv_pubkeys *hv_keypair_public(const hv_keypair *kp);

/* Writes the Z85 text of the CurveZMQ secret key (41 bytes with NUL) for
 * zmq_setsockopt(ZMQ_CURVE_SECRETKEY). The caller must wipe `out`. */
void hv_keypair_transport_secret_z85(const hv_keypair *kp, char out[HV_Z85_KEY_LEN + 1]);

/* Wipes and frees `*kp` and sets it to NULL; safe on NULL and twice. */
void hv_keypair_free(hv_keypair **kp);

/* Computes the key id: the first 8 bytes of BLAKE2b-256 over
 * "haven/key-id/v1" || sign || box || transport. */
void hv_key_id(const uint8_t sign[32], const uint8_t box[32], const uint8_t transport[32],
               uint8_t out[HV_KEY_ID_BYTES]);

/* True when every key in `pub` is usable: the signing key is a valid
 * Ed25519 point and the X25519 keys are not of low order. */
bool hv_pubkeys_valid(const hv_pubkeys *pub);

/* Encrypts and signs `pt` for the holder of `rcpt_box_pk`, bound to `header`
 * (the canonical envelope header). Writes HV_SEAL_OVERHEAD + pt_len bytes to
 * `body` (capacity `body_cap`) and the signature to `sig`.
 * Returns HV_OK, HV_ETOOBIG if `body_cap` is too small, HV_ECRYPTO if the
 * recipient key is degenerate. */
HV_MUST_CHECK hv_err hv_seal(const hv_keypair *sender, const uint8_t rcpt_box_pk[32],
                             const uint8_t *header, size_t header_len, const uint8_t *pt,
                             size_t pt_len, uint8_t *body, size_t body_cap, size_t *body_len,
                             uint8_t sig[HV_SIG_BYTES]);

/* As hv_seal, with the ephemeral key seed and nonce given instead of random.
 * For test vectors only: reusing them leaks plaintext. */
HV_MUST_CHECK hv_err hv_seal_fixed(const hv_keypair *sender, const uint8_t rcpt_box_pk[32],
                                   const uint8_t *header, size_t header_len, const uint8_t *pt,
                                   size_t pt_len, const uint8_t eph_seed[32],
                                   const uint8_t nonce[HV_NONCE_BYTES], uint8_t *body,
                                   size_t body_cap, size_t *body_len, uint8_t sig[HV_SIG_BYTES]);

/* Computes the sender signature of a sealed message: Ed25519 over
 * BLAKE2b-512("haven/sig/v2" || header || BLAKE2b-256(body)). hv_seal calls
 * it; exposed so that tests can show the MAC alone still binds body to
 * header. */
void hv_seal_sign(const hv_keypair *sender, const uint8_t *header, size_t header_len,
                  const uint8_t *body, size_t body_len, uint8_t sig[HV_SIG_BYTES]);

/* The digest of a sealed body that the signature covers: BLAKE2b-256. */
#define HV_BODY_DIGEST_BYTES 32
void hv_body_digest(const uint8_t *body, size_t body_len, uint8_t out[HV_BODY_DIGEST_BYTES]);

/* As hv_seal_sign, given the body's digest rather than the body (tests
 * that forge evidence). */
void hv_seal_sign_digest(const hv_keypair *sender, const uint8_t *header, size_t header_len,
                         const uint8_t body_digest[HV_BODY_DIGEST_BYTES],
                         uint8_t sig[HV_SIG_BYTES]);

/* Verifies a message signature without the body: header, the body's
 * digest and the signature, against the sender's signing key. Returns
 * HV_OK or HV_ECRYPTO. */
HV_MUST_CHECK hv_err hv_seal_verify_digest(const uint8_t sender_sign_pk[HV_PK_BYTES],
                                           const uint8_t *header, size_t header_len,
                                           const uint8_t body_digest[HV_BODY_DIGEST_BYTES],
                                           const uint8_t sig[HV_SIG_BYTES]);

/* Verifies and decrypts a sealed body. Writes body_len - HV_SEAL_OVERHEAD
 * bytes to `pt` (capacity `pt_cap`). Returns HV_OK; HV_ECRYPTO if the body
 * is too short, the signature or MAC fails, or the key agreement is
 * degenerate; HV_ETOOBIG if `pt_cap` is too small. Nothing is written to
 * `pt` unless every check passed. */
HV_MUST_CHECK hv_err hv_open(const hv_keypair *rcpt, const uint8_t sender_sign_pk[32],
                             const uint8_t *header, size_t header_len, const uint8_t *body,
                             size_t body_len, const uint8_t sig[HV_SIG_BYTES], uint8_t *pt,
                             size_t pt_cap, size_t *pt_len);

/* As hv_open, with a bare X25519 box key pair instead of a node's key
 * pairs: a short-lived prekey's (common/hv_prekey.h). `box_sk` is borrowed
 * and should live in guarded memory. Same returns as hv_open. */
HV_MUST_CHECK hv_err hv_open_box(const uint8_t box_sk[HV_SEED_BYTES],
                                 const uint8_t box_pk[HV_PK_BYTES],
                                 const uint8_t sender_sign_pk[32], const uint8_t *header,
                                 size_t header_len, const uint8_t *body, size_t body_len,
                                 const uint8_t sig[HV_SIG_BYTES], uint8_t *pt, size_t pt_cap,
                                 size_t *pt_len);

/* Generates a fresh X25519 box key pair (a prekey): the secret into
 * `box_sk` (the caller's guarded memory, which it wipes), the public key
 * into `box_pk`. */
void hv_box_keypair_generate(uint8_t box_sk[HV_SEED_BYTES], uint8_t box_pk[HV_PK_BYTES]);

/* Computes the public half of an X25519 secret. HV_OK or HV_ECRYPTO. */
HV_MUST_CHECK hv_err hv_box_public(const uint8_t box_sk[HV_SEED_BYTES],
                                   uint8_t box_pk[HV_PK_BYTES]);

/* True when `box_pk` is an X25519 key of which no low-order attack can be
 * made (the same test as hv_pubkeys_valid's). */
bool hv_box_pk_valid(const uint8_t box_pk[HV_PK_BYTES]);

/* Signs `msg` under a context string (domain separation: a signature made
 * for one purpose never verifies for another). */
void hv_sign(const hv_keypair *kp, const char *context, const uint8_t *msg, size_t len,
             uint8_t sig[HV_SIG_BYTES]);

/* Verifies a hv_sign signature. Returns HV_OK or HV_ECRYPTO. */
HV_MUST_CHECK hv_err hv_verify(const uint8_t sign_pk[32], const char *context,
                               const uint8_t *msg, size_t len, const uint8_t sig[HV_SIG_BYTES]);

/* At rest: a node's own storage key, derived from its box secret under a
 * context of its own, so that what a node stores for itself is readable
 * with its key file and nothing else. Written to `key` (32 bytes, which the
 * caller wipes). */
void hv_keypair_storage_key(const hv_keypair *kp, uint8_t key[32]);

#define HV_AEAD_OVERHEAD (HV_NONCE_BYTES + HV_MAC_BYTES)

/* Encrypts `pt` under `key` with XChaCha20-Poly1305, a random nonce and
 * `ad` as associated data. Writes nonce || ciphertext || tag to `*out`
 * (caller frees with free()). Returns HV_OK or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_aead_seal(const uint8_t key[32], const uint8_t *ad, size_t ad_len,
                                  const uint8_t *pt, size_t pt_len, uint8_t **out,
                                  size_t *out_len);

/* Reverses hv_aead_seal. `*out` is in guarded memory: free it with
 * hv_secure_free. Returns HV_OK, HV_ECRYPTO (wrong key, ad or tampered)
 * or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_aead_open(const uint8_t key[32], const uint8_t *ad, size_t ad_len,
                                  const uint8_t *in, size_t in_len, uint8_t **out,
                                  size_t *out_len);

/* BLAKE2b-256 of `len` bytes. */
void hv_hash256(const uint8_t *buf, size_t len, uint8_t out[32]);

/* Base64 (RFC 4648, with padding) for documents carried in JSON control
 * messages (issue 21). hv_b64_encode returns a NUL-terminated string the
 * caller frees (free()), or NULL when out of memory. hv_b64_decode writes
 * at most `cap` bytes to `out` and their number to `*len`; HV_OK, or
 * HV_EDECODE for text that is not base64 or does not fit. */
char *hv_b64_encode(const uint8_t *buf, size_t len);
HV_MUST_CHECK hv_err hv_b64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap,
                                   size_t *len);

/* Allocates guarded memory for secrets (sodium_malloc). NULL on failure. */
void *hv_secure_alloc(size_t len);

/* Wipes and frees memory from hv_secure_alloc; safe on NULL. */
void hv_secure_free(void *p);

/* Compares in time independent of the content (sodium_memcmp): 0 when equal. */
int hv_memcmp_ct(const uint8_t *a, const uint8_t *b, size_t len);

/* Fills `buf` with random bytes. */
void hv_random(void *buf, size_t len);

/* A 16-byte id that sorts by time: the first 6 bytes are `unix_ms`
 * big-endian, the other 10 random (80 bits a millisecond). Ids stored as
 * b-tree keys then land on the newest pages instead of a random page
 * each, which is what keeps every store's writes per message small
 * (docs/BENCHMARKS.md). The time is no secret: envelopes carry it anyway. */
void hv_time_id(uint8_t id[16], uint64_t unix_ms);

/* Wipes `len` bytes at `p` in a way the compiler cannot remove. */
void hv_memzero(void *p, size_t len);

/* Lower-case hex of `len` bytes into `out` (capacity >= 2*len+1). */
void hv_hex(const uint8_t *bin, size_t len, char *out);

/* Parses exactly `len` bytes of hex from `hex` (whole string, no spaces).
 * Returns HV_OK or HV_EKEYFORMAT. */
HV_MUST_CHECK hv_err hv_unhex(const char *hex, uint8_t *out, size_t len);

/* Z85 text of a 32-byte public key (41 bytes with NUL). */
void hv_z85_key(const uint8_t key[32], char out[HV_Z85_KEY_LEN + 1]);

/* Capacity of a password hash string (crypto_pwhash_STRBYTES). */
#define HV_PWHASH_STR_MAX 128

/* Hashes a password with Argon2id (crypto_pwhash_str_alg) at `ops`
 * passes over `mem_kib` KiB into `out` (a NUL-terminated string that
 * carries its own salt and parameters). Returns HV_OK, HV_EINVAL for a
 * cost outside libsodium's limits, HV_ENOMEM when the memory is not to
 * be had. */
HV_MUST_CHECK hv_err hv_pwhash(const char *password, size_t len, uint64_t ops, uint64_t mem_kib,
                               char out[HV_PWHASH_STR_MAX]);

/* Checks `password` against a string from hv_pwhash. Returns HV_OK or
 * HV_EAUTH (also for a malformed hash). */
HV_MUST_CHECK hv_err hv_pwhash_verify(const char *hash, const char *password, size_t len);

#endif
