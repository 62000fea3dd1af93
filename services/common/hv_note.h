/* A free-text note sealed end to end from one node to another about one
 * referral, carried by a third party as opaque bytes (proto/PROTOCOL.md
 * §9.1): a provider's decline note travels to the intake through the
 * router, which can neither read it, alter it, forge one nor move it to
 * another referral.
 *
 *   header = "haven/note/v1" || referral (16) || from id || 0 || to id || 0
 *            || rcpt key id (8) || sender key id (8)
 *   note   = rcpt key id || sender key id || sig (64) || hv_seal body
 *
 * The body is hv_seal's (hv_crypto.h) of the note's UTF-8 under `header`,
 * to the recipient's current box key in the registry, signed with the
 * sender's current key set. Pure functions of their arguments. */
#ifndef HV_NOTE_H
#define HV_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"
#include "hv_err.h"
#include "hv_keyring.h"
#include "hv_msg.h"
#include "hv_registry.h"

#define HV_NOTE_OVERHEAD (2 * HV_KEY_ID_BYTES + HV_SIG_BYTES + HV_SEAL_OVERHEAD)

/* Seals `text` (≤ HV_MSG_TEXT_MAX bytes, no NUL) from `self` (whose
 * secrets `ring` holds) to `to` about `referral`. Writes at most
 * HV_NOTE_SEALED_MAX bytes to `out` (capacity `cap`) and their count to
 * `*len`. Returns HV_OK; HV_EINVAL for a text too long; HV_ECRYPTO when the
 * ring holds no current key set for `self` or `to`'s key is degenerate;
 * HV_ETOOBIG when `cap` is too small. */
HV_MUST_CHECK hv_err hv_note_seal(const hv_keyring *ring, const hv_node *self,
                                  const hv_node *to, const uint8_t referral[16],
                                  const char *text, uint8_t *out, size_t cap, size_t *len);

/* Opens a note `from` sent to `self` about `referral`, checking at `now`
 * that both key ids are ones the registry lists for their nodes. Writes the
 * text NUL-terminated to `out` (capacity `cap`, at least
 * HV_MSG_TEXT_MAX + 1). Returns HV_OK; HV_EDECODE for a note too short or
 * too long; HV_ECRYPTO for a key id not listed or not held, or a failed
 * signature or MAC (a note moved, altered or forged); HV_EINVAL for a text
 * with a NUL. Nothing is written to `out` unless every check passed. */
HV_MUST_CHECK hv_err hv_note_open(const hv_keyring *ring, const hv_node *self,
                                  const hv_node *from, const uint8_t referral[16],
                                  const uint8_t *note, size_t len, uint64_t now, char *out,
                                  size_t cap);

#endif
