/* Key files: DIR/ID.key (secret, mode 0600) and DIR/ID.pub (public keys as
 * a JSON object, handed to the network authority for the registry).
 * Formats in proto/PROTOCOL.md §7. */
#ifndef HV_KEYS_H
#define HV_KEYS_H

#include "hv_crypto.h"
#include "hv_err.h"

/* Generates key pairs for `node_id` and writes DIR/ID.key and DIR/ID.pub.
 * Refuses (HV_EEXIST) to overwrite an existing key file; HV_EINVAL for an
 * invalid node id; HV_EIO when a file cannot be written. */
HV_MUST_CHECK hv_err hv_keys_generate(const char *node_id, const char *dir, hv_errmsg *e);

/* Loads a secret key file. Refuses a file that group or others may access
 * (HV_EKEYPERM) and a malformed one (HV_EKEYFORMAT). On success the caller
 * owns `*out` and, when `node_id` is not NULL, gets the id in it (capacity
 * 65). */
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

/* Parses a secret key file's text (the part after the permission check).
 * Exposed for the fuzz target. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_keys_parse_secret(const char *text, size_t len, hv_keypair **out,
                                          char *node_id, hv_errmsg *e);

#endif
