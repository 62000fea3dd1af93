/* A worker's prekeys (proto/PROTOCOL.md §4.1, §5.5): its own short-lived
 * box keys and the bundles of the nodes it sends to.
 *
 * Own prekeys: a new X25519 key every `lifetime_s` (7 days by default),
 * its secret in the worker's store (table prekey_own, sealed under the
 * node's storage key; the store runs with secure_delete), its signed
 * bundle published at the home broker after every READY and whenever a
 * new one is made. A secret is deleted at the bundle's destroy_at
 * (not_after + keep_s, keep_s at most the longest TTL): after that no
 * message sealed to it can still be pending anywhere, and a copy taken
 * from a store or a backup is unreadable to anyone, the node included.
 *
 * Others' bundles: asked of the home broker after READY and every
 * `lifetime_s` (at most hourly), and pushed by it as they change; kept in
 * memory, each verified against the registry's signing key and current key
 * id of its node before it is used. Senders seal to the newest usable one.
 *
 * Not thread-safe; one per worker, used by the worker's loop. */
#ifndef HV_PREKEYS_H
#define HV_PREKEYS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_client.h"
#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_err.h"
#include "hv_keyring.h"
#include "hv_prekey.h"
#include "hv_registry.h"

#define HV_PREKEY_LIFETIME_DEFAULT (7u * 24 * 3600) /* seconds */

typedef struct hv_prekeys hv_prekeys;

/* The tables (CREATE ... IF NOT EXISTS), for the worker's store. */
extern const char hv_prekeys_schema[];

/* Creates the prekeys of node `self_id` over `db` (borrowed; the schema
 * already made), and hooks into `client` (borrowed) for READY and
 * bundles. Caller owns `*out`; hv_prekeys_registry must follow before any
 * other call. Returns HV_OK or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_prekeys_new(hv_prekeys **out, sqlite3 *db, hv_client *client,
                                    const char *self_id, uint64_t lifetime_s, uint64_t keep_s);

/* Frees everything; safe on NULL and twice. */
void hv_prekeys_free(hv_prekeys **p);

/* The connection's control messages (READY and those hv_client hands to
 * hv_client_on_control) go to `fn` too, before the directory's own
 * handling: the client has one such hook, and the directory holds it. */
void hv_prekeys_also(hv_prekeys *p, hv_client_control_fn fn, void *arg);

/* Hands over the registry the worker now holds, its key ring and its own
 * entry in that registry (all borrowed until the next call): bundles no
 * longer signed by a key set the registry lists for their node are
 * forgotten. Own bundles are signed with the set the registry calls
 * current, secrets kept under the ring's storage secret. */
void hv_prekeys_registry(hv_prekeys *p, const hv_registry *reg, const hv_keyring *ring,
                         const hv_node *self);

/* Inside the worker's tick transaction: makes a new prekey when the newest
 * is `lifetime_s` old (or there is none), deletes the secrets whose
 * destroy_at has passed. Sets `*destroyed` when it deleted any (the
 * caller truncates the WAL after the commit). HV_OK or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_prekeys_tick(hv_prekeys *p, uint64_t now, bool *destroyed);

/* Outside any transaction, after commits: publishes what is to be
 * published and asks for bundles when due. Never fails: what cannot be
 * sent now is sent after the next READY. */
void hv_prekeys_pump(hv_prekeys *p, uint64_t now);

/* The box key to seal to for `rcpt` (its registry entry) now: the newest
 * usable bundle's key, with `*ttl_s` shortened so that the envelope
 * expires before that secret is destroyed; true then. False when none is
 * known: the caller seals to the long-term key (counted in the status). */
bool hv_prekeys_seal_key(hv_prekeys *p, const hv_node *rcpt, uint64_t now_ms,
                         uint8_t box_pk[HV_PK_BYTES], uint32_t *ttl_s);

/* Counts a message sealed to a long-term key for want of a prekey. */
void hv_prekeys_note_long_term(hv_prekeys *p, const char *rcpt);

/* Opens `env` with this node's prekey secrets, newest first, then with
 * the long-term box key of `opener` (the set of the ring its to_kid
 * names). Same returns as hv_envelope_open; the caller owns `*pt`. */
HV_MUST_CHECK hv_err hv_prekeys_open(hv_prekeys *p, const hv_envelope *env,
                                     const hv_keypair *opener,
                                     const uint8_t sender_sign_pk[HV_PK_BYTES], uint8_t **pt,
                                     size_t *pt_len);

/* {"own": n (secrets held), "newest": hex id, "known": {node: hex id of its
 * newest bundle}, "sealed_long_term": n, "published": n (uploads the broker
 * confirmed)} since start. Caller owns the result; NULL when out of
 * memory. */
json_t *hv_prekeys_status(hv_prekeys *p);

#endif
