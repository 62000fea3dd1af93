/* A worker's prekeys; see hv_prekeys.h and proto/PROTOCOL.md §4.1. */
#include "hv_prekeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_control.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_lograte.h"

const char hv_prekeys_schema[] =
    /* This node's prekeys: the secret sealed under the node's storage key
     * (associated data: the prekey id), the signed bundle, and when the
     * secret is to be deleted. */
    "CREATE TABLE IF NOT EXISTS prekey_own (id BLOB PRIMARY KEY, secret BLOB NOT NULL,"
    "  box_pk BLOB NOT NULL, bundle BLOB NOT NULL, not_before INTEGER NOT NULL,"
    "  not_after INTEGER NOT NULL, destroy_at INTEGER NOT NULL) WITHOUT ROWID;"
    /* Others' bundles as they came (public, signed): a worker restarted
     * while its broker is out of reach still seals to prekeys. */
    "CREATE TABLE IF NOT EXISTS prekey_known (node TEXT NOT NULL, id BLOB NOT NULL,"
    "  bundle BLOB NOT NULL, PRIMARY KEY (node, id)) WITHOUT ROWID;";

#define S_KNOWN_PER_NODE 4   /* others' bundles kept per node: the newest */
#define S_REFRESH_MAX 3600u  /* ask for bundles at least this often (seconds) */

struct hv_prekeys {
    hv_client_control_fn also;     /* another part of the worker that hears control, or NULL */
    void *also_arg;                /* its argument */
    sqlite3 *db;                   /* the worker's store (borrowed) */
    hv_client *client;             /* the broker connection (borrowed) */
    const hv_keyring *ring;        /* this node's long-term key sets (borrowed) */
    const hv_node *node;           /* this node in `reg` (borrowed) */
    const hv_registry *reg;        /* the registry held (borrowed) */
    char self[HV_NODE_ID_MAX + 1]; /* this node */
    uint64_t lifetime_s;           /* a new prekey this often */
    uint64_t keep_s;               /* messages honoured this long after not_after */
    bool publish;                  /* own bundles to upload at the next chance */
    bool ask;                      /* others' bundles to ask for at the next chance */
    uint64_t next_ask;             /* when to ask again anyway (Unix seconds) */
    hv_prekey_bundle *known;       /* others' verified bundles */
    size_t n_known, cap_known;     /* count, allocated */
    uint64_t long_term;            /* messages sealed to a long-term key since start */
    uint64_t published;            /* own bundles the broker confirmed since start */
    bool loaded;                   /* prekey_known read back (at the first registry) */
};

/* ------------------------------------------------------- others' bundles */

/* prekey_known follows the memory; a failed write costs a bundle that the
 * broker hands out again after the next READY. */
static void s_unsave(hv_prekeys *p, const hv_prekey_bundle *b)
{
    if (hv_sql_exec(p->db, "DELETE FROM prekey_known WHERE node = ?1 AND id = ?2", "tx",
                    b->node, b->prekey_id, (size_t)HV_PREKEY_ID_BYTES) != HV_OK)
        hv_log(HV_LOG_WARN, "store_failed", "op=prekey_known_delete node=%s", b->node);
}

static void s_forget_known(hv_prekeys *p, size_t i)
{
    s_unsave(p, &p->known[i]);
    p->known[i] = p->known[--p->n_known];
}

/* Keeps a verified bundle of another node; the oldest of that node's
 * makes room when it has its fill. */
static void s_keep_known(hv_prekeys *p, const hv_prekey_bundle *b)
{
    size_t count = 0, oldest = SIZE_MAX;
    for (size_t i = 0; i < p->n_known; i++) {
        if (strcmp(p->known[i].node, b->node) != 0)
            continue;
        if (memcmp(p->known[i].prekey_id, b->prekey_id, HV_PREKEY_ID_BYTES) == 0)
            return;
        count++;
        if (oldest == SIZE_MAX || p->known[i].not_before < p->known[oldest].not_before)
            oldest = i;
    }
    if (count >= S_KNOWN_PER_NODE) {
        s_unsave(p, &p->known[oldest]);
        p->known[oldest] = *b;
        return;
    }
    if (p->n_known == p->cap_known) {
        size_t cap = p->cap_known ? p->cap_known * 2 : 16;
        hv_prekey_bundle *grown = realloc(p->known, cap * sizeof *grown);
        if (grown == NULL)
            return; /* sealed to the long-term key until memory returns */
        p->known = grown;
        p->cap_known = cap;
    }
    p->known[p->n_known++] = *b;
}

/* Keeps a verified bundle in memory and in prekey_known. */
static void s_learn(hv_prekeys *p, const hv_prekey_bundle *b, const uint8_t *bytes, size_t len)
{
    s_keep_known(p, b);
    if (hv_sql_exec(p->db, "INSERT OR IGNORE INTO prekey_known (node, id, bundle) "
                    "VALUES (?1, ?2, ?3)", "txx", b->node, b->prekey_id,
                    (size_t)HV_PREKEY_ID_BYTES, bytes, len) != HV_OK)
        hv_log(HV_LOG_WARN, "store_failed", "op=prekey_known_insert node=%s", b->node);
}

/* At start: the bundles known before, each verified again. */
static void s_load_known(hv_prekeys *p, uint64_t now)
{
    sqlite3_stmt *st = hv_sql(p->db, "SELECT bundle FROM prekey_known", "");
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        hv_prekey_bundle b;
        const hv_node *n;
        if (hv_prekey_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                             &b) == HV_OK &&
            (n = hv_registry_find(p->reg, b.node)) != NULL &&
            hv_prekey_verify_node(&b, n, now) == HV_OK && hv_prekey_usable(&b, now))
            s_keep_known(p, &b);
    }
    sqlite3_finalize(st);
    /* What no longer verifies or has passed its time goes from the table. */
    if (hv_sql_exec(p->db, "DELETE FROM prekey_known", "") != HV_OK)
        return; /* a read-only store (tests/cli/prekey_open.c) */
    for (size_t i = 0; i < p->n_known; i++) {
        uint8_t *wire = NULL;
        size_t len = 0;
        if (hv_prekey_encode(&p->known[i], &wire, &len) == HV_OK &&
            hv_sql_exec(p->db, "INSERT OR IGNORE INTO prekey_known (node, id, bundle) "
                        "VALUES (?1, ?2, ?3)", "txx", p->known[i].node, p->known[i].prekey_id,
                        (size_t)HV_PREKEY_ID_BYTES, wire, len) != HV_OK)
            hv_log(HV_LOG_WARN, "store_failed", "op=prekey_known_insert node=%s",
                   p->known[i].node);
        free(wire);
    }
}

/* A bundle from the broker: verified against the registry before use. */
static void s_on_bundle(hv_prekeys *p, const hv_control *m)
{
    hv_prekey_bundle b;
    hv_err err = hv_prekey_decode(m->bundle, m->bundle_len, &b);
    const char *who = err == HV_OK ? b.node : "undecodable"; /* for the log's rate */
    const hv_node *n = err == HV_OK && p->reg ? hv_registry_find(p->reg, b.node) : NULL;
    if (err == HV_OK && n == NULL)
        err = HV_ENOTFOUND;
    if (err == HV_OK)
        err = hv_prekey_verify_node(&b, n, (uint64_t)time(NULL));
    if (err != HV_OK) {
        if (hv_lograte_pass("prekey_bundle_refused", who))
            hv_log(HV_LOG_WARN, "prekey_bundle_refused", "node=%s code=%s", who,
                   hv_errname(err));
        return;
    }
    if (strcmp(b.node, p->self) == 0) {
        p->published++;
        return; /* the broker confirms our own upload */
    }
    s_learn(p, &b, m->bundle, m->bundle_len);
}

static void s_on_control(void *arg, const hv_control *m)
{
    hv_prekeys *p = arg;
    if (p->also != NULL)
        p->also(p->also_arg, m);
    switch (m->cmd) {
    case HV_CMD_READY:
        /* The broker follows READY with every bundle it holds; asking
         * again is for later (next_ask). */
        p->publish = true;
        break;
    case HV_CMD_PREKEY:
        s_on_bundle(p, m);
        break;
    case HV_CMD_PREKEY_REFUSED:
        hv_log(HV_LOG_WARN, "prekey_refused_by_broker", "code=%s text=\"%s\"",
               hv_errname(m->code), m->text);
        break;
    default:
        break;
    }
}

void hv_prekeys_registry(hv_prekeys *p, const hv_registry *reg, const hv_keyring *ring,
                         const hv_node *self)
{
    p->reg = reg;
    p->ring = ring;
    p->node = self;
    uint64_t now = (uint64_t)time(NULL);
    if (!p->loaded && reg != NULL) {
        p->loaded = true;
        s_load_known(p, now);
    }
    for (size_t i = 0; i < p->n_known;) {
        const hv_node *n = hv_registry_find(reg, p->known[i].node);
        if (n == NULL || hv_prekey_verify_node(&p->known[i], n, now) != HV_OK)
            s_forget_known(p, i);
        else
            i++;
    }
}

bool hv_prekeys_seal_key(hv_prekeys *p, const hv_node *rcpt, uint64_t now_ms,
                         uint8_t box_pk[HV_PK_BYTES], uint32_t *ttl_s)
{
    const hv_prekey_bundle *best = NULL;
    uint32_t best_ttl = 0;
    for (size_t i = 0; i < p->n_known; i++) {
        const hv_prekey_bundle *b = &p->known[i];
        uint32_t ttl = hv_prekey_cap_ttl(b, now_ms, *ttl_s);
        /* Known bundles were verified against a key set the registry
         * lists for their node, at arrival and at every reload. */
        if (strcmp(b->node, rcpt->id) != 0 || !hv_prekey_usable(b, now_ms / 1000) || ttl == 0)
            continue;
        if (best == NULL || b->not_before > best->not_before) {
            best = b;
            best_ttl = ttl;
        }
    }
    if (best == NULL)
        return false;
    memcpy(box_pk, best->box_pk, HV_PK_BYTES);
    *ttl_s = best_ttl;
    return true;
}

void hv_prekeys_note_long_term(hv_prekeys *p, const char *rcpt)
{
    p->long_term++;
    p->ask = true; /* perhaps the broker has one by now */
    hv_log(HV_LOG_WARN, "sealed_long_term", "to=%s reason=\"no prekey bundle known\"", rcpt);
}

/* ------------------------------------------------------------ own prekeys */

/* The set own bundles are signed with: the one the registry calls current. */
static const hv_keypair *s_signer(const hv_prekeys *p)
{
    return hv_keyring_current(p->ring, p->node);
}

/* Makes, stores and signs a new prekey. */
static hv_err s_make(hv_prekeys *p, uint64_t now)
{
    const hv_keypair *signer = s_signer(p);
    if (signer == NULL)
        return HV_EAUTH; /* the worker never adopts such a registry */
    hv_prekey_bundle b;
    memset(&b, 0, sizeof b);
    snprintf(b.node, sizeof b.node, "%s", p->self);
    memcpy(b.key_id, hv_keypair_public(signer)->key_id, HV_KEY_ID_BYTES);
    hv_prekey_schedule(now, p->lifetime_s, p->keep_s, &b.not_before, &b.not_after,
                       &b.destroy_at);
    uint8_t *sk = hv_secure_alloc(HV_SEED_BYTES);
    uint8_t storage[32];
    uint8_t *sealed = NULL, *wire = NULL;
    size_t sealed_len = 0, wire_len = 0;
    hv_err err = HV_ENOMEM;
    if (sk == NULL)
        return HV_ENOMEM;
    hv_box_keypair_generate(sk, b.box_pk);
    hv_prekey_id(b.box_pk, b.prekey_id);
    hv_keyring_storage_key(p->ring, storage);
    if ((err = hv_aead_seal(storage, b.prekey_id, HV_PREKEY_ID_BYTES, sk, HV_SEED_BYTES, &sealed,
                            &sealed_len)) != HV_OK ||
        (err = hv_prekey_sign(&b, signer)) != HV_OK ||
        (err = hv_prekey_encode(&b, &wire, &wire_len)) != HV_OK)
        goto done;
    err = hv_sql_exec(p->db,
                      "INSERT INTO prekey_own (id, secret, box_pk, bundle, not_before, not_after,"
                      " destroy_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      "xxxxiii", b.prekey_id, (size_t)HV_PREKEY_ID_BYTES, sealed, sealed_len,
                      b.box_pk, (size_t)HV_PK_BYTES, wire, wire_len, (int64_t)b.not_before,
                      (int64_t)b.not_after, (int64_t)b.destroy_at);
    if (err == HV_OK) {
        char hex[2 * HV_PREKEY_ID_BYTES + 1], kid[2 * HV_KEY_ID_BYTES + 1];
        hv_hex(b.prekey_id, HV_PREKEY_ID_BYTES, hex);
        hv_hex(b.key_id, HV_KEY_ID_BYTES, kid);
        hv_log(HV_LOG_INFO, "prekey_made", "prekey=%s key_id=%s not_after=%llu destroy_at=%llu",
               hex, kid, (unsigned long long)b.not_after, (unsigned long long)b.destroy_at);
        p->publish = true;
    }
done:
    hv_secure_free(sk);
    hv_memzero(storage, sizeof storage);
    free(sealed);
    free(wire);
    return err == HV_EEXIST ? HV_ESTORE : err;
}

/* True when the newest own bundle is signed by the current key set. */
static bool s_newest_signed_by_current(const hv_prekeys *p)
{
    const hv_keypair *signer = s_signer(p);
    sqlite3_stmt *st = hv_sql(p->db, "SELECT bundle FROM prekey_own ORDER BY not_before DESC "
                              "LIMIT 1", "");
    bool same = true;
    hv_prekey_bundle b;
    if (signer != NULL && st != NULL && sqlite3_step(st) == SQLITE_ROW &&
        hv_prekey_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &b) ==
            HV_OK)
        same = memcmp(b.key_id, hv_keypair_public(signer)->key_id, HV_KEY_ID_BYTES) == 0;
    sqlite3_finalize(st);
    return same;
}

hv_err hv_prekeys_tick(hv_prekeys *p, uint64_t now, bool *destroyed)
{
    *destroyed = false;
    int64_t newest = -1, gone = 0;
    if (hv_sql_int(p->db, &gone, "SELECT count(*) FROM prekey_own WHERE destroy_at <= ?1", "i",
                   (int64_t)now) != HV_OK)
        return HV_ESTORE;
    if (gone > 0) {
        sqlite3_stmt *st = hv_sql(p->db, "SELECT id FROM prekey_own WHERE destroy_at <= ?1",
                                  "i", (int64_t)now);
        while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
            char hex[2 * HV_PREKEY_ID_BYTES + 1] = "?";
            if (sqlite3_column_bytes(st, 0) == HV_PREKEY_ID_BYTES)
                hv_hex(sqlite3_column_blob(st, 0), HV_PREKEY_ID_BYTES, hex);
            hv_log(HV_LOG_INFO, "prekey_destroyed", "prekey=%s", hex);
        }
        sqlite3_finalize(st);
        /* secure_delete (set by the worker) overwrites the row's bytes. */
        if (hv_sql_exec(p->db, "DELETE FROM prekey_own WHERE destroy_at <= ?1", "i",
                        (int64_t)now) != HV_OK)
            return HV_ESTORE;
        *destroyed = true;
    }
    if (hv_sql_int(p->db, &newest, "SELECT coalesce(max(not_before), -1) FROM prekey_own",
                   "") != HV_OK)
        return HV_ESTORE;
    /* None yet, the newest has had its lifetime, or the clock went back. */
    if (newest < 0 || (uint64_t)newest + p->lifetime_s <= now || (uint64_t)newest > now + 600)
        return s_make(p, now);
    /* The keys rotated: a bundle signed by the new current set at once, so
     * that senders need not trust the old one for its last days (and not
     * at all after a compromise, whose registry lists no previous keys). */
    return s_newest_signed_by_current(p) ? HV_OK : s_make(p, now);
}

void hv_prekeys_pump(hv_prekeys *p, uint64_t now)
{
    if (p->client == NULL || !hv_client_ready(p->client))
        return;
    if (now >= p->next_ask)
        p->ask = true;
    if (p->publish) {
        bool sent = true;
        sqlite3_stmt *st = hv_sql(p->db, "SELECT bundle FROM prekey_own WHERE not_after > ?1 "
                                  "ORDER BY not_before", "i", (int64_t)now);
        while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
            hv_control m;
            memset(&m, 0, sizeof m);
            m.cmd = HV_CMD_PREKEY_PUT;
            m.bundle = sqlite3_column_blob(st, 0);
            m.bundle_len = (size_t)sqlite3_column_bytes(st, 0);
            /* Not those signed by a set the registry no longer lists (a
             * compromise): nobody would take them. */
            hv_prekey_bundle b;
            if (hv_prekey_decode(m.bundle, m.bundle_len, &b) != HV_OK || p->node == NULL ||
                hv_node_keys_by_id(p->node, b.key_id, now, NULL) == NULL)
                continue;
            if (hv_client_send_control(p->client, &m) != HV_OK)
                sent = false;
        }
        sqlite3_finalize(st);
        p->publish = !sent || st == NULL;
    }
    if (p->ask) {
        hv_control m;
        memset(&m, 0, sizeof m);
        m.cmd = HV_CMD_PREKEY_GET; /* node_id "": every bundle the broker holds */
        if (hv_client_send_control(p->client, &m) == HV_OK) {
            p->ask = false;
            p->next_ask = now + (p->lifetime_s < S_REFRESH_MAX ? p->lifetime_s : S_REFRESH_MAX);
        }
    }
}

hv_err hv_prekeys_open(hv_prekeys *p, const hv_envelope *env, const hv_keypair *opener,
                       const uint8_t sender_sign_pk[HV_PK_BYTES], uint8_t **pt, size_t *pt_len)
{
    uint8_t storage[32];
    hv_keyring_storage_key(p->ring, storage);
    hv_err err = HV_ECRYPTO;
    /* Newest first: a sender seals to the newest bundle it knows. Every
     * attempt checks the sender's signature first, so only a registered
     * sender can make the node try its keys, and at most the few it holds
     * (one per lifetime_s over not_after + keep_s). */
    sqlite3_stmt *st = hv_sql(p->db, "SELECT id, secret, box_pk FROM prekey_own "
                              "ORDER BY not_before DESC", "");
    while (st != NULL && err == HV_ECRYPTO && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t *sk = NULL;
        size_t sk_len = 0;
        if (sqlite3_column_bytes(st, 0) != HV_PREKEY_ID_BYTES ||
            sqlite3_column_bytes(st, 2) != HV_PK_BYTES ||
            hv_aead_open(storage, sqlite3_column_blob(st, 0), HV_PREKEY_ID_BYTES,
                         sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &sk,
                         &sk_len) != HV_OK ||
            sk_len != HV_SEED_BYTES) {
            hv_secure_free(sk);
            hv_log(HV_LOG_ERROR, "prekey_unreadable", "store=own");
            continue;
        }
        err = hv_envelope_open_with(env, p->self, opener, sk, sqlite3_column_blob(st, 2),
                                    sender_sign_pk, pt, pt_len);
        hv_secure_free(sk);
    }
    sqlite3_finalize(st);
    hv_memzero(storage, sizeof storage);
    if (err == HV_ECRYPTO) /* sealed to the long-term key (no prekey known to the sender) */
        err = hv_envelope_open(env, p->self, opener, sender_sign_pk, pt, pt_len);
    return err;
}

json_t *hv_prekeys_status(hv_prekeys *p)
{
    int64_t own = 0;
    char newest[2 * HV_PREKEY_ID_BYTES + 1] = "";
    if (hv_sql_int(p->db, &own, "SELECT count(*) FROM prekey_own", "") != HV_OK)
        own = -1; /* the status says the store could not be read */
    sqlite3_stmt *st = hv_sql(p->db, "SELECT id FROM prekey_own ORDER BY not_before DESC "
                              "LIMIT 1", "");
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_bytes(st, 0) == HV_PREKEY_ID_BYTES)
        hv_hex(sqlite3_column_blob(st, 0), HV_PREKEY_ID_BYTES, newest);
    sqlite3_finalize(st);
    /* Others': the newest bundle known of each node. */
    json_t *known = json_object();
    for (size_t i = 0; known != NULL && i < p->n_known; i++) {
        const hv_prekey_bundle *b = &p->known[i], *best = b;
        for (size_t j = 0; j < p->n_known; j++)
            if (strcmp(p->known[j].node, b->node) == 0 &&
                p->known[j].not_before > best->not_before)
                best = &p->known[j];
        char hex[2 * HV_PREKEY_ID_BYTES + 1];
        hv_hex(best->prekey_id, HV_PREKEY_ID_BYTES, hex);
        json_object_set_new(known, b->node, json_string(hex));
    }
    return json_pack("{s:I, s:s, s:o*, s:I, s:I}", "own", (json_int_t)own, "newest", newest,
                     "known", known, "sealed_long_term", (json_int_t)p->long_term, "published",
                     (json_int_t)p->published);
}

/* ------------------------------------------------------------- lifecycle */

hv_err hv_prekeys_new(hv_prekeys **out, sqlite3 *db, hv_client *client, const char *self_id,
                      uint64_t lifetime_s, uint64_t keep_s)
{
    hv_prekeys *p = calloc(1, sizeof *p);
    if (p == NULL)
        return HV_ENOMEM;
    p->db = db;
    p->client = client;
    snprintf(p->self, sizeof p->self, "%s", self_id);
    p->lifetime_s = lifetime_s ? lifetime_s : HV_PREKEY_LIFETIME_DEFAULT;
    p->keep_s = keep_s > HV_TTL_MAX ? HV_TTL_MAX : keep_s;
    if (client != NULL) /* NULL: a tool that only opens (tests/cli/prekey_open.c) */
        hv_client_on_control(client, s_on_control, p);
    *out = p;
    return HV_OK;
}

void hv_prekeys_also(hv_prekeys *p, hv_client_control_fn fn, void *arg)
{
    p->also = fn;
    p->also_arg = arg;
}

void hv_prekeys_free(hv_prekeys **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    if ((*pp)->client != NULL)
        hv_client_on_control((*pp)->client, NULL, NULL);
    free((*pp)->known);
    free(*pp);
    *pp = NULL;
}
