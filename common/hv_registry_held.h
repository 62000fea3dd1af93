/* The registry a node holds, made durable: the version it has accepted and
 * the BLAKE2b-256 hash of that signed registry file's bytes, kept in a small
 * file beside the node's store ("<store>.registry-held", written with
 * fsync and rename). Every daemon loads its registry through
 * hv_registry_held_load, at start, at -n and at every reload, so that a
 * restart cannot go back to an older registry (a revoked node would be
 * back) nor take another registry of the same version (an authority's
 * error or a forgery). The CLI reads the same file to show and check the
 * held version. docs/DECISIONS.md says why a file and not a table. */
#ifndef HV_REGISTRY_HELD_H
#define HV_REGISTRY_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_registry.h"

#define HV_REGISTRY_HELD_SUFFIX ".registry-held"
#define HV_REGISTRY_HELD_FILE_MAX 4096 /* the file is three short lines */

/* What a node holds. Plain data, fields public. */
typedef struct hv_registry_held {
    uint64_t version; /* the accepted registry's version; 0 when none is held */
    uint8_t hash[32]; /* BLAKE2b-256 of that signed registry file's bytes */
} hv_registry_held;

/* Writes the held file's path for the store at `store` into `out` (`cap`
 * bytes). Returns HV_OK or HV_EINVAL when it does not fit. */
HV_MUST_CHECK hv_err hv_registry_held_path(const char *store, char *out, size_t cap);

/* Parses the held file's text (exactly what hv_registry_held_write writes:
 * '#' comment lines, then "version N" and "hash HEX64", each once, in that
 * order). Returns HV_OK, HV_EDECODE, HV_ETOOBIG or HV_ETRAILING. */
HV_MUST_CHECK hv_err hv_registry_held_parse(const uint8_t *buf, size_t len,
                                            hv_registry_held *out);

/* Reads the held file at `path`. A missing file is no held registry
 * (version 0, HV_OK): a node's first start, or a node from before the file
 * existed. A file that cannot be read or parsed is an error naming it
 * (HV_EIO or HV_EDECODE), never "nothing held". */
HV_MUST_CHECK hv_err hv_registry_held_read(const char *path, hv_registry_held *out,
                                           hv_errmsg *e);

/* Records `h` at `path` durably: a temporary file beside it, fsync, rename
 * over the old one, fsync of the directory. Returns HV_OK or HV_EIO. */
HV_MUST_CHECK hv_err hv_registry_held_write(const char *path, const hv_registry_held *h,
                                            hv_errmsg *e);

/* Compares a registry of `version` whose file's bytes hash to `hash`
 * (its file named `reg_path` in the message) with what is held (`held`,
 * recorded at `held_path`). Returns HV_OK when it is newer or the very same
 * registry, HV_EREG_ROLLBACK when it is older or another registry of the
 * same version, with one message for an operator: the file, both versions,
 * for the same version both hashes' first 16 hex digits, and what to do. */
HV_MUST_CHECK hv_err hv_registry_held_check(const char *reg_path, uint64_t version,
                                            const uint8_t hash[32], const char *held_path,
                                            const hv_registry_held *held, hv_errmsg *e);

/* Loads the signed registry at `reg_path` as hv_registry_load_file does
 * (signature against `authority_pk`, dates at `now`, no older than
 * `in_use`, the version of the registry running now or 0 at start), then
 * checks it against the file held beside `store`. With `record`, a newer
 * registry is recorded there before this returns, so before it is used
 * (the daemons' -n passes false and writes nothing). Caller owns `*out`.
 * Returns
 * HV_OK, an error of hv_registry_load_file, of hv_registry_held_read or
 * _write, or HV_EREG_ROLLBACK. */
HV_MUST_CHECK hv_err hv_registry_held_load(const char *reg_path, const char *store,
                                           const uint8_t authority_pk[32], uint64_t now,
                                           uint64_t in_use, bool record, hv_registry **out,
                                           hv_errmsg *e);

#endif
