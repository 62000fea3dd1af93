/* Key files: DIR/ID.key (secret, mode 0600) and DIR/ID.pub (public keys as
 * a JSON object, handed to the network authority for the registry).
 * Formats in proto/PROTOCOL.md §7: a v2 secret file holds a storage secret
 * and one or more key sets, each under its key id (a node rotating, §7.1);
 * v1 files (one set) still load. */
#ifndef HV_KEYS_H
#define HV_KEYS_H

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_keyring.h"

/* Generates key pairs for `node_id` and writes DIR/ID.key (v2, one set) and
 * DIR/ID.pub.
 * Refuses (HV_EEXIST) to overwrite an existing key file; HV_EINVAL for an
 * invalid node id; HV_EIO when a file cannot be written. */
HV_MUST_CHECK hv_err hv_keys_generate(const char *node_id, const char *dir, hv_errmsg *e);

/* Loads a secret key file (v1 or v2) as a key ring. Refuses a file that
 * group or others may access (HV_EKEYPERM) and a malformed one
 * (HV_EKEYFORMAT); HV_ENOTFOUND when it does not exist. On success the
 * caller owns `*out` and, when `node_id` is not NULL, gets the id in it
 * (capacity 65). */
HV_MUST_CHECK hv_err hv_keys_load_ring(const char *path, hv_keyring **out, char *node_id,
                                       hv_errmsg *e);

/* Parses a secret key file's text (the part after the permission check).
 * Exposed for the fuzz target. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_keys_parse_ring(const char *text, size_t len, hv_keyring **out,
                                        char *node_id, hv_errmsg *e);

/* Replaces the secret key file at `path` with the v2 text of `ring`:
 * written to PATH.new (0600), fsynced, renamed over `path`, the directory
 * fsynced, so that a crash leaves the old file or the new one, never half.
 * Returns HV_OK, HV_EIO, HV_ETOOBIG, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_keys_write_ring(const char *path, const char *node_id,
                                        const hv_keyring *ring, hv_errmsg *e);

/* `haven keygen --rotate`: adds a fresh key set to DIR/ID.key (rewritten as
 * v2, the storage secret carried over) and writes its public keys to
 * DIR/ID.next.pub for the authority. HV_EEXIST when ID.next.pub exists or
 * the file holds HV_KEYRING_MAX sets already; HV_ENOTFOUND without a key
 * file. `out` (may be NULL) gets the new public keys. */
HV_MUST_CHECK hv_err hv_keys_rotate(const char *node_id, const char *dir, hv_pubkeys *out,
                                    hv_errmsg *e);

/* Loads a secret key file for a program that holds one key set (a broker,
 * an operator's or the authority's CLI): the newest set of the file. Same
 * errors as hv_keys_load_ring. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_keys_load_secret(const char *path, hv_keypair **out, char *node_id,
                                         hv_errmsg *e);

/* Parses the public key JSON object text (the .pub file's content).
 * `node_id` (capacity 65) may be NULL. Returns HV_OK, HV_EJSON or
 * HV_EKEYFORMAT (also when a given key_id does not match the keys). */
HV_MUST_CHECK hv_err hv_keys_parse_public(const char *text, size_t len, hv_pubkeys *out,
                                          char *node_id, hv_errmsg *e);

struct json_t;

/* Reads public keys from a parsed JSON object (the registry source holds the
 * same object as the .pub file). `node_id` may be NULL. */
HV_MUST_CHECK hv_err hv_keys_from_json(struct json_t *obj, hv_pubkeys *out, char *node_id,
                                       hv_errmsg *e);

/* Reads and parses a .pub file. */
HV_MUST_CHECK hv_err hv_keys_load_public(const char *path, hv_pubkeys *out, char *node_id,
                                         hv_errmsg *e);

/* As hv_keys_parse_ring, keeping the newest set only. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_keys_parse_secret(const char *text, size_t len, hv_keypair **out,
                                          char *node_id, hv_errmsg *e);

#endif
