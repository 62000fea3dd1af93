/* Evidence in a worker's store (issue 20): for every message the worker
 * accepted and acted on, and every one it sent, what proves it long after
 * the case is gone: referral, message id, type, from, to, created_at,
 * from_kid, the canonical header, the body's digest, the signature, when
 * it was verified (or made) and the registry version it was verified
 * against; and each signed registry file the worker verified against, once
 * per version. No case content: a header describes no person, a digest of
 * ciphertext tells nothing of it. Withdrawal, retention and `forget` erase
 * the case and never these rows (docs/DECISIONS.md). Bundles are written
 * in the format of common/hv_evidence_bundle.h. */
#ifndef HV_EVIDENCE_H
#define HV_EVIDENCE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_envelope.h"
#include "hv_err.h"

/* The tables: evidence and evidence_registry (CREATE ... IF NOT EXISTS). */
extern const char hv_evidence_schema[];

/* Records a decoded envelope (`env->header` and `env->body` set) that this
 * node sent (`sent`) or received, checked against registry `version` at
 * `at_ms`. A message already recorded stays as first recorded. Runs in the
 * caller's transaction. Returns HV_OK, HV_EINVAL (a header over
 * HV_EVIDENCE_HEADER_MAX), HV_ESTORE. */
HV_MUST_CHECK hv_err hv_evidence_note(sqlite3 *db, bool sent, const hv_envelope *env,
                                      uint64_t version, int64_t at_ms);

/* As hv_evidence_note for an encoded envelope (`wire`) this node sent. */
HV_MUST_CHECK hv_err hv_evidence_note_sent(sqlite3 *db, const uint8_t *wire, size_t len,
                                           uint64_t version, int64_t at_ms);

/* Keeps the signed registry file at `path` as the file of `version`,
 * once: the file is read and loaded again (signature against
 * `authority_pk`), and kept only when it is that version (a file replaced
 * in between is not). Returns HV_OK (kept, or already kept), HV_EPROTO (the
 * file is another version now), an error of hv_registry_load_file,
 * HV_ESTORE. */
HV_MUST_CHECK hv_err hv_evidence_keep_registry(sqlite3 *db, const char *path,
                                               const uint8_t authority_pk[32], uint64_t version,
                                               hv_errmsg *e);

/* Finds the referral with evidence whose id starts with the hex `prefix`
 * (6 to 32 digits). Returns HV_OK, HV_ENOTFOUND, HV_EINVAL, HV_ESTORE. */
HV_MUST_CHECK hv_err hv_evidence_find(sqlite3 *db, const char *prefix, uint8_t out[16],
                                      hv_errmsg *e);

/* The evidence of `referral`, oldest first: `*result` gets {"referral",
 * "items": [...]} (each item as in a bundle, without header, digest and
 * signature) and `*text` one line per message: time, direction, type,
 * from → to, signer key id, registry version. Returns HV_OK, HV_ENOTFOUND
 * (none), HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_evidence_show(sqlite3 *db, const uint8_t referral[16], json_t **result,
                                      char **text, hv_errmsg *e);

/* The bundle of `referral` as exported by `node` (hv_evidence_bundle.h):
 * its items and the signed registries they were verified against. Returns
 * HV_OK, HV_ENOTFOUND (no evidence, or a registry version not kept),
 * HV_ETOOBIG, HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_evidence_export(sqlite3 *db, const char *node,
                                        const uint8_t referral[16], json_t **bundle,
                                        hv_errmsg *e);

/* The control commands (docs/CONTROL.md), read only: "evidence.show" and
 * "evidence.export", each with {"referral": HEX PREFIX}. Sets `*result` and,
 * for show, `*text`. Returns as hv_evidence_find, _show and _export, and
 * HV_EINVAL for another command or a missing referral. */
HV_MUST_CHECK hv_err hv_evidence_control(sqlite3 *db, const char *node, const char *cmd,
                                         json_t *args, json_t **result, char **text,
                                         hv_errmsg *e);

#endif
