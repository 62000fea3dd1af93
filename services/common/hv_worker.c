/* The worker daemon shell; see hv_worker.h. */
#include "hv_worker.h"
#include "hv_worker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_audit.h"
#include "hv_config.h"
#include "hv_ctl.h"
#include "hv_ctlsock.h"
#include "hv_daemon_args.h"
#include "hv_db.h"
#include "hv_events.h"
#include "hv_evidence.h"
#include "hv_file.h"
#include "hv_history.h"
#include "hv_keys.h"
#include "hv_log.h"
#include "hv_pending.h"
#include "hv_prekeys.h"
#include "hv_registry_expiry.h"
#include "hv_registry_held.h"
#include "hv_rotation.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "hv_vault.h"
#include "hv_witness.h"
#include "hv_worker_metrics.h"
#include "hv_lograte.h"

static const char s_schema[] =
    /* Messages refused by this worker: what came, from whom, and why. No
     * content: a refused body was never opened or is not kept. */
    "CREATE TABLE IF NOT EXISTS refused (id BLOB PRIMARY KEY, at_ms INTEGER NOT NULL,"
    "  sender TEXT NOT NULL, type INTEGER NOT NULL, referral BLOB, code INTEGER NOT NULL,"
    "  reason TEXT NOT NULL) WITHOUT ROWID;";


static volatile sig_atomic_t s_stop, s_reload;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

sqlite3 *hv_worker_db(hv_worker *w) { return hv_client_db(w->client); }
const hv_registry *hv_worker_registry(const hv_worker *w) { return w->reg; }
const hv_node *hv_worker_self(const hv_worker *w) { return w->self; }
const hv_keyring *hv_worker_keys(const hv_worker *w) { return w->ring; }
const hv_worker_config *hv_worker_cfg(const hv_worker *w) { return &w->cfg; }

bool hv_worker_answer_by(hv_worker *w, const uint8_t referral[16], uint64_t *when)
{
    return w->app->answer_by != NULL && w->app->answer_by(w, referral, when);
}
void hv_worker_purge_after_commit(hv_worker *w)
{
    w->purge = true;
    w->erasing++; /* only erasures ask for this (hv_worker.h) */
}

hv_err hv_worker_audit(hv_worker *w, const uint8_t referral[16], const char *event,
                       const char *by)
{
    if (w->n_audit == w->cap_audit) {
        size_t cap = w->cap_audit ? w->cap_audit * 2 : 8;
        struct hv_worker_audit_rec *grown = realloc(w->audit_pending, cap * sizeof *grown);
        if (grown == NULL)
            return HV_ENOMEM;
        w->audit_pending = grown;
        w->cap_audit = cap;
    }
    struct hv_worker_audit_rec *r = &w->audit_pending[w->n_audit++];
    memcpy(r->referral, referral, 16);
    snprintf(r->event, sizeof r->event, "%s", event);
    snprintf(r->by, sizeof r->by, "%s", by);
    return HV_OK;
}

/* The transitions of a committed transaction go to the audit log; those of
 * a rolled-back one never happened and are dropped. */
static void s_audit_flush(hv_worker *w, bool committed)
{
    for (size_t i = 0; committed && i < w->n_audit; i++) {
        struct hv_worker_audit_rec *r = &w->audit_pending[i];
        if (hv_audit_append(w->audit, w->cfg.id, r->referral, r->event, r->by) != HV_OK) {
            hv_log(HV_LOG_ERROR, "audit_failed", "event=%s", r->event);
            hv_worker_metrics_error(w->metrics, HV_WERR_AUDIT);
        } else if (w->witness != NULL) {
            hv_witness_note(w->witness, w->audit, hv_keyring_current(w->ring, w->self),
                            hv_now_ms());
        }
    }
    w->n_audit = 0;
}

void hv_worker_rollback(hv_worker *w)
{
    hv_client_rollback(w->client);
    hv_witness_committed(w->witness, false);
    w->purge = false;
    w->erasing = 0;
    s_audit_flush(w, false);
}

hv_err hv_worker_send(hv_worker *w, const char *to, const uint8_t referral[16], const hv_msg *m,
                      uint32_t ttl_s, uint8_t id_out[16])
{
    const hv_node *rcpt = hv_registry_find(w->reg, to);
    if (rcpt == NULL || !hv_node_active(rcpt, (uint64_t)time(NULL)))
        return HV_ENOTFOUND;
    uint8_t *body = NULL, *wire = NULL;
    size_t body_len, wire_len;
    hv_err err = hv_msg_encode(m, &body, &body_len);
    if (err != HV_OK)
        return err;
    /* Signed with the set the registry calls current (s_load_registry made
     * sure the ring holds it), sealed to the recipient's current keys. */
    const hv_keypair *signer = hv_keyring_current(w->ring, w->self);
    hv_envelope env;
    hv_envelope_init(&env, m->type, w->cfg.id, hv_keypair_public(signer), to, &rcpt->keys);
    memcpy(env.referral, referral, 16);
    env.ttl_s = ttl_s == 0 || ttl_s > HV_TTL_MAX ? HV_TTL_MAX : ttl_s;
    /* Sealed to the recipient's newest prekey (PROTOCOL §4.1), the header
     * still naming its long-term key id; to the long-term key itself only
     * when no bundle is known, which is logged and counted. */
    hv_pubkeys seal_to = rcpt->keys;
    if (!hv_prekeys_seal_key(w->prekeys, rcpt, env.created_at_ms, seal_to.box, &env.ttl_s))
        hv_prekeys_note_long_term(w->prekeys, to);
    err = hv_envelope_seal(&env, signer, &seal_to, body, body_len, &wire, &wire_len);
    hv_memzero(body, body_len);
    free(body);
    if (err == HV_OK)
        err = hv_client_queue(w->client, wire, wire_len);
    if (err == HV_OK) /* what it sent, kept past the case (hv_evidence.h) */
        err = hv_evidence_note_sent(hv_client_db(w->client), wire, wire_len,
                                    hv_registry_version(w->reg), hv_now_ms());
    free(wire);
    if (err == HV_OK)
        err = hv_pending_note(hv_client_db(w->client), env.id, referral);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(referral, ref);
        hv_log(HV_LOG_INFO, "message_queued", "type=%s to=%s referral=%s",
               hv_msg_rule_get(m->type)->name, to, ref);
        if (id_out != NULL)
            memcpy(id_out, env.id, 16);
    }
    return err;
}

bool hv_worker_outbox_waiting(hv_worker *w, const uint8_t referral[16])
{
    return hv_pending_waiting(hv_client_db(w->client), w->client, referral);
}

hv_err hv_worker_find(hv_worker *w, const char *table, const char *prefix, uint8_t out[16],
                      hv_errmsg *e)
{
    return hv_worker_find_visible(w, table, prefix, NULL, NULL, out, e);
}

/* The range of 16-byte ids that start with the hex `prefix` (n digits,
 * already checked): [lo, hi), hi_open when every id above lo matches (a
 * prefix of all f's). A blob compares as its bytes, so the primary key's
 * index answers the range; `hex(id) LIKE 'PREFIX%'` read every row. */
static void s_prefix_range(const char *prefix, size_t n, uint8_t lo[16], uint8_t hi[16],
                           bool *hi_open)
{
    memset(lo, 0, 16);
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        unsigned v = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        lo[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
    }
    /* hi: lo with the last digit given incremented, carrying leftwards. */
    memcpy(hi, lo, 16);
    memset(hi + (n + 1) / 2, 0, 16 - (n + 1) / 2);
    *hi_open = true;
    for (size_t i = n; i-- > 0;) {
        unsigned shift = i % 2 ? 0 : 4;
        unsigned v = (hi[i / 2] >> shift) & 0xf;
        hi[i / 2] = (uint8_t)(hi[i / 2] & ~(0xf << shift));
        if (v < 0xf) {
            hi[i / 2] |= (uint8_t)((v + 1) << shift);
            *hi_open = false;
            break;
        }
    }
}

hv_err hv_worker_find_visible(hv_worker *w, const char *table, const char *prefix,
                              const char *visible, const char *staff, uint8_t out[16],
                              hv_errmsg *e)
{
    size_t n = strlen(prefix);
    if (n < 6 || n > 32 || strspn(prefix, "0123456789abcdefABCDEF") != n)
        return hv_fail(e, HV_EINVAL, "'%.40s' is not a referral id (6 to 32 hex digits)",
                       prefix);
    uint8_t lo[16], hi[16];
    bool hi_open;
    s_prefix_range(prefix, n, lo, hi, &hi_open);
    char sql[400];
    /* The upper bound is written only when there is one: a bound
     * parameter that may switch it off would hide it from the planner. */
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE id >= ?1%s%s%s%s LIMIT 2", table,
             hi_open ? "" : " AND id < ?3", visible ? " AND (" : "", visible ? visible : "",
             visible ? ")" : "");
    sqlite3 *db = hv_client_db(w->client);
    const char *who = staff ? staff : "";
    sqlite3_stmt *st = !hi_open  ? hv_sql(db, sql, "rtr", lo, who, hi)
                       : visible ? hv_sql(db, sql, "rt", lo, who)
                                 : hv_sql(db, sql, "r", lo);
    if (st == NULL)
        return HV_ESTORE;
    int found = 0;
    while (sqlite3_step(st) == SQLITE_ROW && found < 2) {
        if (found++ == 0 && sqlite3_column_bytes(st, 0) == 16)
            memcpy(out, sqlite3_column_blob(st, 0), 16);
    }
    sqlite3_finalize(st);
    if (found == 0)
        return hv_fail(e, HV_ENOTFOUND, "no referral %s here", prefix);
    if (found > 1)
        return hv_fail(e, HV_EINVAL, "'%s' matches more than one referral: give more digits",
                       prefix);
    return HV_OK;
}

/* Commits the handler's transaction; a failed commit is fatal, because the
 * acknowledgements queued with it must not leave. */
bool hv_worker_commit(hv_worker *w)
{
    bool committed = hv_client_commit(w->client) == HV_OK;
    hv_witness_committed(w->witness, committed);
    if (!committed) {
        hv_log(HV_LOG_ERROR, "store_commit_failed", "store=%s", w->cfg.store);
        hv_worker_metrics_error(w->metrics, HV_WERR_STORE);
        w->erasing = 0;
        s_audit_flush(w, false);
        s_stop = 1;
        return false;
    }
    s_audit_flush(w, true);
    hv_worker_metrics_erased(w->metrics, w->erasing);
    w->erasing = 0;
    w->events_new = true;
    if (w->purge) {
        w->purge = false;
        sqlite3_exec(hv_client_db(w->client), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
                     NULL);
    }
    return true;
}

/* ---------------------------------------------------------------- setup */

/* Keeps the signed registry in use as evidence, once per version
 * (hv_evidence.h); a failure is logged and tried again at the next load. */
static void s_keep_registry(hv_worker *w)
{
    hv_errmsg e = {""};
    hv_err err = hv_evidence_keep_registry(hv_client_db(w->client), w->cfg.registry,
                                           w->authority_pk, hv_registry_version(w->reg), &e);
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "evidence_registry_not_kept", "version=%llu code=%s reason=\"%s\"",
               (unsigned long long)hv_registry_version(w->reg), hv_errname(err), e.text);
}

/* Loads the registry, never older than the one held beside the store nor
 * another of its version (with `record`, not at -n, a newer one is
 * recorded there before it is used); adopts it when it lists this node
 * with the keys `*ring` holds as current. A ring other than the worker's
 * own then becomes the worker's (`*ring` is set to NULL) and the one held
 * before is freed, after the client has moved off it. */
static hv_err s_load_registry(hv_worker *w, hv_keyring **ring, bool record, hv_errmsg *e)
{
    hv_registry *reg = NULL;
    uint64_t in_use = w->reg ? hv_registry_version(w->reg) : 0;
    hv_err err = hv_registry_held_load(w->cfg.registry, w->cfg.store, w->authority_pk,
                                       (uint64_t)time(NULL), in_use, record, &reg, e);
    if (err != HV_OK)
        return err;
    const hv_node *self = hv_registry_find(reg, w->cfg.id);
    if (self == NULL || self->role != w->app->role) {
        hv_registry_free(&reg);
        return hv_fail(e, HV_EAUTH, "%s: node '%s' is not registered as a %s", w->cfg.registry,
                       w->cfg.id, hv_role_name(w->app->role));
    }
    if (hv_keyring_current(*ring, self) == NULL) {
        hv_registry_free(&reg);
        return hv_fail(e, HV_EAUTH, "%s: the registry holds other keys for '%s' than %s",
                       w->cfg.registry, w->cfg.id, w->cfg.keys);
    }
    hv_registry_free(&w->reg);
    w->reg = reg;
    w->self = self;
    if (*ring != w->ring) {
        /* The client borrows a set of the old ring: it moves to the new one
         * before the old is freed. */
        if (w->client != NULL &&
            hv_client_set_keys(w->client, hv_keyring_transport(*ring, self)) != HV_OK)
            hv_log(HV_LOG_ERROR, "client_reconnect_failed", "node=%s", w->cfg.id);
        hv_keyring_free(&w->ring);
        w->ring = *ring;
        *ring = NULL;
    }
    if (w->prekeys != NULL)
        hv_prekeys_registry(w->prekeys, reg, w->ring, self);
    if (w->client != NULL && record)
        s_keep_registry(w);
    return HV_OK;
}

/* Follows the registry with the keys (hv_rotation.h). */
static void s_follow_keys(hv_worker *w)
{
    hv_rotation_follow(w->ring, w->client, w->self, w->cfg.keys, w->cfg.id,
                       (uint64_t)time(NULL));
}

static hv_err s_open_control(hv_worker *w, hv_errmsg *e)
{
    w->ctl_ctx = zmq_ctx_new();
    if (w->ctl_ctx == NULL || hv_events_waits_new(&w->waits) != HV_OK)
        return hv_fail(e, HV_EIO, "cannot create the control socket");
    hv_err err = hv_ctlsock_open(&w->ctl, w->ctl_ctx, w->cfg.control, false,
                                 w->cfg.control_group, NULL, e);
    if (err == HV_OK && w->cfg.staff_control[0] != '\0')
        err = hv_ctlsock_open(&w->staff, w->ctl_ctx, w->cfg.staff_control, true, true,
                              w->cfg.staff_group, e);
    return err;
}

/* READY and AUDIT_WITNESSED from the broker, through the prekeys' hook. */
static void s_on_control_frame(void *arg, const struct hv_control *m)
{
    hv_worker *w = arg;
    hv_witness_on_control(w->witness, m, w->reg);
}

/* Loads and checks everything; with `check_only` (the daemon's -n) stops
 * before anything is locked, opened for writing or bound. */
static hv_err s_open(hv_worker *w, bool check_only, hv_errmsg *e)
{
    hv_err err;
    hv_pubkeys auth;
    char key_owner[HV_NODE_ID_MAX + 1];
    hv_keyring *ring = NULL;
    if ((err = hv_keys_load_ring(w->cfg.keys, &ring, key_owner, e)) != HV_OK ||
        (err = hv_keys_load_public(w->cfg.authority, &auth, NULL, e)) != HV_OK)
        return err;
    w->ring = ring; /* s_close frees it whatever happens next */
    if (strcmp(key_owner, w->cfg.id) != 0)
        return hv_fail(e, HV_ECONFIG, "%s holds the keys of '%s', not of '%s'", w->cfg.keys,
                       key_owner, w->cfg.id);
    memcpy(w->authority_pk, auth.sign, 32);
    if ((err = hv_file_can_create(w->cfg.store, "[worker] store", e)) != HV_OK ||
        (err = s_load_registry(w, &ring, !check_only, e)) != HV_OK)
        return err;
    const hv_node *home = hv_registry_find(w->reg, w->self->home);
    if (home == NULL || home->endpoint_workers[0] == '\0')
        return hv_fail(e, HV_EREG_HOME, "home broker '%s' of '%s' has no workers endpoint",
                       w->self->home, w->cfg.id);
    for (unsigned i = 0; i < HV_SVC_COUNT; i++)
        if (w->cfg.pathway[i][0] != '\0' && w->app->role != HV_ROLE_ROUTER)
            return hv_fail(e, HV_ECONFIG, "[pathway] is for routers; '%s' is a %s", w->cfg.id,
                           hv_role_name(w->app->role));
    if (w->cfg.all_caseworkers_see_all && w->app->role != HV_ROLE_PROVIDER)
        return hv_fail(e, HV_ECONFIG, "[staff] all_caseworkers_see_all is for providers; '%s' "
                       "is a %s", w->cfg.id, hv_role_name(w->app->role));
    if ((err = hv_file_can_create(w->cfg.store, "[worker] store", e)) != HV_OK ||
        (err = hv_file_can_create(w->cfg.control, "[worker] control", e)) != HV_OK)
        return err;
    const char *const sockets[2][2] = {{"control", w->cfg.control},
                                       {"staff_control", w->cfg.staff_control}};
    for (int i = 0; i < 2; i++)
        if (strlen(sockets[i][1]) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return hv_fail(e, HV_ECONFIG, "[worker] %s: %s is longer than a Unix socket's "
                           "path may be (%zu bytes)", sockets[i][0], sockets[i][1],
                           sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if ((err = hv_worker_metrics_check(w->cfg.metrics_bind, w->cfg.metrics_token,
                                       &w->cfg.metrics_limits, e)) != HV_OK)
        return err;
    if (check_only)
        return HV_OK;

    char lock_path[PATH_MAX + 8];
    snprintf(lock_path, sizeof lock_path, "%s.lock", w->cfg.store);
    w->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->lock_fd < 0 || flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return hv_fail(e, HV_EIO, "%s is in use by another worker (or cannot be locked)",
                       w->cfg.store);

    hv_client_config cc = {.node_id = w->cfg.id, .keys = hv_keyring_transport(w->ring, w->self),
                           .endpoint = home->endpoint_workers, .store_path = w->cfg.store,
                           .heartbeat_ms = (uint32_t)w->cfg.heartbeat_ms,
                           .dead_after_ms = (uint32_t)w->cfg.dead_after_ms};
    memcpy(cc.broker_transport_pk, home->keys.transport, 32);
    if ((err = hv_client_open(&w->client, &cc, e)) != HV_OK)
        return err;
    snprintf(w->audit_path, sizeof w->audit_path, "%s.audit", w->cfg.store);
    int repaired = 0;
    if ((err = hv_audit_open(&w->audit, w->audit_path, &repaired, e)) != HV_OK)
        return err;
    if (repaired)
        hv_log(HV_LOG_WARN, "audit_tail_repaired", "path=%s", w->audit_path);
    sqlite3 *db = hv_client_db(w->client);
    /* Erased rows are overwritten, not just unlinked from the b-tree. */
    if ((err = hv_db_exec(db, "PRAGMA secure_delete=ON", e)) != HV_OK ||
        (err = hv_db_exec(db, s_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, hv_vault_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, hv_history_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, hv_events_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, hv_pending_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, hv_prekeys_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, hv_evidence_schema, e)) != HV_OK ||
        (err = hv_db_exec(db, w->app->schema, e)) != HV_OK)
        return err;
    if (hv_history_upgrade(db) != HV_OK)
        return hv_fail(e, HV_ESTORE, "%s: cannot add column kind to table history", w->cfg.store);
    for (const hv_worker_column *c = w->app->columns; c != NULL && c->table != NULL; c++)
        if (hv_sql_ensure_column(db, c->table, c->name, c->decl) != HV_OK)
            return hv_fail(e, HV_ESTORE, "%s: cannot add column %s to table %s", w->cfg.store,
                           c->name, c->table);
    if (w->app->indexes != NULL && (err = hv_db_exec(db, w->app->indexes, e)) != HV_OK)
        return err;
    if (hv_prekeys_new(&w->prekeys, db, w->client, w->cfg.id,
                       w->cfg.prekey_s ? w->cfg.prekey_s : w->cfg.prekey_days * 24 * 3600,
                       w->cfg.prekey_keep_s) != HV_OK)
        return hv_fail(e, HV_ENOMEM, "out of memory");
    hv_prekeys_registry(w->prekeys, w->reg, w->ring, w->self);
    s_keep_registry(w);
    /* The log must match the last head this node signed before it starts. */
    if ((err = hv_witness_open(&w->witness, db, w->client, w->cfg.id, w->audit_path,
                               w->cfg.audit_head_every, w->cfg.audit_head_s * 1000, e)) != HV_OK)
        return err;
    hv_prekeys_also(w->prekeys, s_on_control_frame, w);
    if ((err = hv_worker_metrics_open(&w->metrics, w->cfg.metrics_bind, w->cfg.metrics_token,
                                      &w->cfg.metrics_limits, e)) != HV_OK)
        return err;
    s_follow_keys(w);
    return s_open_control(w, e);
}

static void s_close(hv_worker *w)
{
    /* A last head at a clean stop, so that a cut made while the node is
     * down is found at the next start; none of a log its broker refused. */
    if (w->witness != NULL && w->audit != NULL && !hv_witness_failed(w->witness, NULL) &&
        hv_witness_sign_now(w->witness, w->audit, hv_keyring_current(w->ring, w->self)) !=
            HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "op=head");
    hv_prekeys_free(&w->prekeys);
    hv_witness_free(&w->witness);
    hv_worker_metrics_close(&w->metrics);
    hv_client_close(&w->client);
    hv_audit_close(&w->audit);
    free(w->audit_pending);
    hv_events_waits_free(&w->waits);
    hv_ctlsock_close(&w->ctl);
    hv_ctlsock_close(&w->staff);
    if (w->ctl_ctx != NULL)
        zmq_ctx_term(w->ctl_ctx);
    hv_registry_free(&w->reg);
    hv_keyring_free(&w->ring);
    if (w->lock_fd > 0)
        close(w->lock_fd);
}

/* ------------------------------------------------------------- messages */

static void s_refuse(hv_worker *w, hv_delivery **d, hv_err code, const char *reason)
{
    const hv_envelope *env = &(*d)->env;
    char ref[33];
    hv_ref_hex(env->referral, ref);
    const hv_msg_rule *rule = hv_msg_rule_get(env->type);
    if (hv_lograte_pass("message_refused", env->from)) /* counted in /metrics regardless */
        hv_log(HV_LOG_WARN, "message_refused",
               "type=%s from=%s referral=%s code=%s reason=\"%s\"", rule ? rule->name : "?",
               env->from, ref, hv_errname(code), reason);
    hv_worker_metrics_error(w->metrics, HV_WERR_MESSAGE_REFUSED);
    if (hv_client_begin(w->client) != HV_OK) {
        hv_delivery_free(d); /* comes again after the broker's lease */
        return;
    }
    if (hv_sql_exec(hv_client_db(w->client),
                    "INSERT OR IGNORE INTO refused (id, at_ms, sender, type, referral, code, "
                    "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    "ritirit", env->id, hv_now_ms(), env->from, (int64_t)env->type, env->referral,
                    (int64_t)code, reason) != HV_OK) {
        hv_worker_rollback(w);
        hv_delivery_free(d);
        return;
    }
    if (hv_client_nack(w->client, d, code, reason) != HV_OK) {
        hv_worker_rollback(w);
        hv_delivery_free(d);
        return;
    }
    (void)hv_worker_commit(w);
}

static void s_handle(hv_worker *w, hv_delivery *d)
{
    const hv_envelope *env = &d->env;
    hv_errmsg e = {""};
    hv_err err = HV_OK;
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    hv_msg *m = calloc(1, sizeof *m);
    uint64_t now = (uint64_t)time(NULL);
    const hv_node *sender = hv_registry_find(w->reg, env->from);
    const hv_msg_rule *rule = hv_msg_rule_get(env->type);
    const hv_pubkeys *sender_keys = NULL;
    const hv_keypair *opener = NULL;
    if (m == NULL) {
        hv_delivery_free(&d);
        return;
    }
    if (sender == NULL || !hv_node_active(sender, now))
        err = hv_fail(&e, HV_EAUTH, "sender '%s' is not an active node in the registry",
                      env->from);
    else if ((sender_keys = hv_node_keys_by_id(sender, env->from_kid, now, NULL)) == NULL)
        err = hv_fail(&e, HV_EAUTH, "sender key id is not a key the registry lists for '%s'",
                      env->from);
    else if (rule == NULL || !(rule->sender_roles & HV_ROLE_BIT(sender->role)) ||
             !(rule->rcpt_roles & HV_ROLE_BIT(w->app->role)))
        err = hv_fail(&e, HV_EFORBIDDEN, "a %s may not send this message to a %s",
                      hv_role_name(sender->role), hv_role_name(w->app->role));
    else if ((opener = hv_keyring_for_kid(w->ring, w->self, env->to_kid, now)) == NULL)
        err = hv_fail(&e, HV_EADDRESS, "message is sealed to a key id this node does not hold "
                      "or the registry no longer lists for it");
    else if ((err = hv_prekeys_open(w->prekeys, env, opener, sender_keys->sign, &pt,
                                    &pt_len)) != HV_OK)
        hv_fail(&e, err, err == HV_EADDRESS ? "message is addressed to another node or key"
                                            : "signature or encryption check failed");
    else if ((err = hv_msg_decode(pt, pt_len, env->type, m)) != HV_OK)
        hv_fail(&e, err, "the body is not a valid %s", rule->name);
    if (err == HV_OK) {
        char ref[33];
        hv_ref_hex(env->referral, ref);
        hv_log(HV_LOG_INFO, "message_received", "type=%s from=%s referral=%s attempt=%u",
               rule->name, env->from, ref, d->attempt);
        if ((err = hv_client_begin(w->client)) == HV_OK)
            err = w->app->on_message(w, env, m, &e);
        if (err == HV_OK) /* accepted and acted on: kept past the case */
            err = hv_evidence_note(hv_client_db(w->client), false, env,
                                   hv_registry_version(w->reg), hv_now_ms());
        if (err == HV_OK) {
            if (hv_client_ack(w->client, &d) != HV_OK) {
                hv_worker_rollback(w);
                hv_delivery_free(&d);
            } else {
                (void)hv_worker_commit(w);
            }
        } else {
            hv_worker_rollback(w);
        }
    }
    if (err == HV_ESTORE || err == HV_ENOMEM) {
        hv_log(HV_LOG_ERROR, "message_deferred", "code=%s", hv_errname(err));
        hv_worker_metrics_error(w->metrics, HV_WERR_MESSAGE_DEFERRED);
        hv_delivery_free(&d); /* comes again after the broker's lease */
    } else if (err != HV_OK) {
        s_refuse(w, &d, err, e.text[0] ? e.text : hv_strerror(err));
    }
    if (pt != NULL) {
        hv_memzero(pt, pt_len);
        free(pt);
    }
    hv_memzero(m, sizeof *m);
    free(m);
}

/* ----------------------------------------------------------------- loop */

/* What the store deleted in the database file is overwritten there
 * (secure_delete, hv_db_open); the WAL's older frames still hold it, sealed
 * envelopes the outbox handed over included, until the WAL is truncated:
 * at once after an erasure (hv_worker_purge_after_commit), and otherwise at
 * most S_ERASE_EVERY_MS after any commit (docs/DECISIONS.md, "A broker
 * forgets what it deletes"). A reader that holds the WAL (a backup) defers
 * it (logged; warned of after a minute). */
#define S_ERASE_EVERY_MS 1000
#define S_ERASE_WAIT_MS 20
#define S_ERASE_STUCK_MS 60000

static void s_erase(hv_worker *w)
{
    bool done = false;
    int64_t now = hv_mono_ms();
    hv_err err = hv_db_erase_tick(hv_client_db(w->client), &w->erase, now, S_ERASE_WAIT_MS,
                                  &done);
    if (err == HV_ESTORE)
        hv_log(HV_LOG_ERROR, "store_failed", "store=%s op=truncate_wal", w->cfg.store);
    if (done || err == HV_ESTORE)
        w->erase_deferred_since = 0;
    if (err != HV_ETIMEOUT)
        return;
    /* A backup holds the WAL for its read (info); a minute on end is not
     * a backup any more (a warning, once). */
    if (w->erase_deferred_since == 0) {
        w->erase_deferred_since = now;
        w->erase_stuck = false;
        hv_log(HV_LOG_INFO, "store_erase_deferred", "store=%s detail=\"another connection "
               "holds the WAL; trying every second\"", w->cfg.store);
    } else if (!w->erase_stuck && now - w->erase_deferred_since >= S_ERASE_STUCK_MS) {
        w->erase_stuck = true;
        hv_log(HV_LOG_WARN, "store_erase_stuck", "store=%s deferred_ms=%lld detail=\"deleted "
               "data stays in the WAL until the other connection lets go\"", w->cfg.store,
               (long long)(now - w->erase_deferred_since));
    }
}

static void s_metrics_publish(hv_worker *w)
{
    hv_worker_metrics_src src = {w->cfg.id, hv_role_name(w->app->role), w->app->name,
                                 hv_client_db(w->client), w->client,
                                 w->app->metrics_states_sql, w->app->metrics_offers_sql,
                                 hv_worker_registry(w), w->app->metrics_overdue_sql};
    hv_worker_metrics_publish(w->metrics, &src, hv_mono_ms());
}

static void s_run(hv_worker *w)
{
    int64_t next_tick = 0;
    w->erase.every_ms = S_ERASE_EVERY_MS;
    hv_log(HV_LOG_INFO, "worker_started", "node=%s role=%s control=%s staff_control=%s",
           w->cfg.id, hv_role_name(w->app->role), w->cfg.control,
           w->staff ? w->cfg.staff_control : "-");
    while (!s_stop) {
        if (s_reload) {
            s_reload = 0;
            hv_errmsg e = {""};
            /* The key file too: `haven keygen --rotate` may have added a set. */
            hv_keyring *ring = NULL;
            hv_err err = hv_keys_load_ring(w->cfg.keys, &ring, NULL, &e);
            if (err != HV_OK) {
                hv_log(HV_LOG_WARN, "keys_reload", "code=%s reason=\"%s\"", hv_errname(err),
                       e.text);
                e.text[0] = '\0';
            }
            if (ring == NULL)
                ring = w->ring;
            err = s_load_registry(w, &ring, true, &e);
            if (err != HV_OK && ring != w->ring)
                hv_keyring_free(&ring);
            if (err != HV_OK) /* the registry in use stays */
                hv_log(HV_LOG_ERROR, "registry_reload_refused", "reason=%s version=%llu "
                       "detail=\"%s\"", hv_errname(err),
                       (unsigned long long)hv_registry_version(w->reg), e.text);
            else
                hv_log(HV_LOG_INFO, "registry_loaded", "version=%llu nodes=%zu keys=%zu",
                       (unsigned long long)hv_registry_version(w->reg),
                       hv_registry_count(w->reg), hv_keyring_count(w->ring));
            s_follow_keys(w);
        }
        hv_registry_expiry_watch(&w->expiry, w->reg, (uint64_t)time(NULL));
        if (hv_client_poll(w->client, 0) != HV_OK) {
            hv_log(HV_LOG_ERROR, "store_failed", "store=%s", w->cfg.store);
            break;
        }
        hv_delivery *d = NULL;
        while (!s_stop && hv_client_recv(w->client, 0, &d) == HV_OK)
            s_handle(w, d);
        hv_notice n;
        while (!s_stop && hv_client_notice(w->client, &n)) {
            hv_log(HV_LOG_INFO, "notice", "code=%s text=\"%s\"", hv_errname(n.code), n.text);
            hv_worker_metrics_error(w->metrics, HV_WERR_UNDELIVERABLE);
            if (hv_client_begin(w->client) == HV_OK && w->app->on_notice(w, &n) == HV_OK)
                (void)hv_worker_commit(w);
            else
                hv_worker_rollback(w);
        }
        if (hv_mono_ms() >= next_tick) {
            next_tick = hv_mono_ms() + (int64_t)w->cfg.tick_ms;
            bool destroyed = false;
            s_follow_keys(w); /* a grace period may have ended */
            if (hv_client_begin(w->client) == HV_OK &&
                w->app->on_tick(w, (uint64_t)time(NULL)) == HV_OK &&
                hv_prekeys_tick(w->prekeys, (uint64_t)time(NULL), &destroyed) == HV_OK &&
                hv_events_prune(w) == HV_OK &&
                hv_pending_prune(hv_client_db(w->client), w->client) == HV_OK &&
                hv_witness_tick(w->witness, w->audit, hv_keyring_current(w->ring, w->self),
                                hv_now_ms(), false) == HV_OK) {
                if (destroyed) /* a prekey's secret: not left in the log either */
                    hv_worker_purge_after_commit(w);
                (void)hv_worker_commit(w);
            } else {
                hv_worker_rollback(w);
            }
        }
        s_erase(w);
        hv_prekeys_pump(w->prekeys, (uint64_t)time(NULL));
        hv_witness_pump(w->witness, hv_now_ms());
        if (hv_witness_failed(w->witness, NULL))
            break;
        hv_worker_control_poll(w, 20);
        s_metrics_publish(w);
        hv_lograte_flush(false); /* the counts of lines left out (issue 20) */
    }
    hv_lograte_flush(true);
    hv_log(HV_LOG_INFO, "worker_stopped", "node=%s", w->cfg.id);
}

int hv_worker_main(int argc, char **argv, const hv_worker_app *app)
{
    hv_daemon_args args;
    int rc = hv_daemon_args_parse(argc, argv, app->name, app->what, "worker.ini", &args);
    if (rc >= 0)
        return rc;
    if (hv_crypto_init() != HV_OK) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", app->name);
        return HV_DAEMON_EXIT_FAIL;
    }
    hv_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return HV_DAEMON_EXIT_FAIL;
    w->app = app;
    w->lock_fd = -1;
    hv_errmsg e = {""};
    hv_err err = hv_worker_config_load(args.config, &w->cfg, &e);
    if (err == HV_OK && args.check_store) {
        rc = hv_daemon_check_store(app->name, w->cfg.store);
        s_close(w);
        free(w);
        return rc;
    }
    if (err == HV_OK) {
        hv_log_set_level((hv_log_level)hv_log_level_from_name(w->cfg.log_level));
        err = s_open(w, args.check_only, &e);
    }
    if (err != HV_OK) {
        fprintf(stderr, "%s: %s (%s)\n", app->name, e.text, hv_errname(err));
        s_close(w);
        free(w);
        return HV_DAEMON_EXIT_FAIL;
    }
    if (args.check_only) {
        printf("%s: configuration, keys and registry are valid\n", args.config);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        s_run(w);
    }
    /* The broker's witnessed head does not match the log: stop, as at start. */
    bool refused = hv_witness_failed(w->witness, &e);
    if (refused)
        fprintf(stderr, "%s: %s (%s)\n", app->name, e.text, hv_errname(HV_ECRYPTO));
    s_close(w);
    free(w);
    return refused ? HV_DAEMON_EXIT_FAIL : 0;
}
