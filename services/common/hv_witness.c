/* A worker's side of its witnessed audit log; see hv_witness.h. */
#include "hv_witness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_audit_head.h"
#include "hv_control.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_registry.h"
#include "hv_sql.h"

#define S_RESEND_MS 3000 /* a head not yet witnessed goes again this often */

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS audit_heads (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
    "  head BLOB NOT NULL, witnessed INTEGER NOT NULL DEFAULT 0)";

struct hv_witness {
    sqlite3 *db;                      /* the node's store (borrowed) */
    hv_client *client;                /* its broker connection (borrowed) */
    const char *node, *path;          /* the node, its audit log (borrowed) */
    uint64_t every_records;           /* sign every N records */
    int64_t every_ms;                 /* ...or this long after one was added */
    hv_audit_head last;               /* the last head signed */
    bool has_last;                    /* `last` is set */
    bool last_witnessed;              /* the broker holds `last` */
    int64_t last_sent_ms;             /* when `last` was last handed over, 0: not yet */
    uint64_t first_unsigned_ms;       /* when a record not yet signed was first seen, 0 */
    uint64_t seen_seq;                /* the log's last record at the last tick */
    bool ask;                         /* a READY came: ask for the broker's head */
    uint64_t witnessed_seq;           /* the broker said it holds our heads up to here */
    bool failed;                      /* the broker's head no longer matches the log */
    hv_errmsg why;                    /* ...and how */
    hv_audit_head pending[HV_WITNESS_KEEP]; /* signed, not yet in the store */
    size_t n_pending;                 /* how many */
    size_t n_in_txn;                  /* the first of them, written in the open transaction */
};

static hv_err s_load_last(hv_witness *wt, hv_errmsg *e)
{
    sqlite3_stmt *st = hv_sql(wt->db, "SELECT head, witnessed FROM audit_heads "
                                      "ORDER BY seq DESC LIMIT 1", "");
    if (st == NULL)
        return hv_fail(e, HV_ESTORE, "cannot read the audit heads from the store");
    hv_err err = HV_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (hv_audit_head_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                 &wt->last) != HV_OK ||
            strcmp(wt->last.node, wt->node) != 0)
            err = hv_fail(e, HV_ECRYPTO, "the store's last audit head is not one of %s's",
                          wt->node);
        wt->has_last = err == HV_OK;
        wt->last_witnessed = sqlite3_column_int(st, 1) != 0;
        if (wt->last_witnessed)
            wt->witnessed_seq = wt->last.seq;
    }
    sqlite3_finalize(st);
    return err;
}

hv_err hv_witness_open(hv_witness **out, sqlite3 *db, hv_client *client, const char *node,
                       const char *audit_path, uint64_t every_records, uint64_t every_ms,
                       hv_errmsg *e)
{
    *out = NULL;
    hv_err err = hv_db_exec(db, s_schema, e);
    if (err != HV_OK)
        return err;
    hv_witness *wt = calloc(1, sizeof *wt);
    if (wt == NULL)
        return HV_ENOMEM;
    wt->db = db;
    wt->client = client;
    wt->node = node;
    wt->path = audit_path;
    wt->every_records = every_records ? every_records : 1;
    wt->every_ms = (int64_t)every_ms;
    if ((err = s_load_last(wt, e)) == HV_OK && wt->has_last)
        err = hv_audit_check_start(audit_path, &wt->last, e);
    if (err != HV_OK) {
        free(wt);
        return err;
    }
    *out = wt;
    return HV_OK;
}

void hv_witness_free(hv_witness **wt)
{
    if (wt == NULL || *wt == NULL)
        return;
    free(*wt);
    *wt = NULL;
}

/* Signs the log's head now when one is due: `force`, every_records
 * records since the last head, or every_ms since a record was first left
 * unsigned. The head waits in `pending` for the store. */
static void s_sign(hv_witness *wt, const hv_audit *audit, const hv_keypair *kp, int64_t now_ms,
                   bool force)
{
    hv_audit_head h;
    memset(&h, 0, sizeof h);
    if (kp == NULL || !hv_audit_tip(audit, &h.seq, h.hash, h.file_id))
        return; /* nothing to sign yet */
    uint64_t signed_seq = wt->has_last ? wt->last.seq : 0;
    if (h.seq <= signed_seq) {
        wt->first_unsigned_ms = 0;
        return;
    }
    if (wt->first_unsigned_ms == 0)
        wt->first_unsigned_ms = (uint64_t)now_ms;
    bool due = force || h.seq - signed_seq >= wt->every_records ||
               now_ms - (int64_t)wt->first_unsigned_ms >= wt->every_ms;
    if (!due)
        return;
    snprintf(h.node, sizeof h.node, "%s", wt->node);
    h.at_ms = (uint64_t)now_ms;
    hv_audit_head_sign(&h, kp);
    if (wt->n_pending == HV_WITNESS_KEEP) { /* the store keeps no more either */
        memmove(wt->pending, wt->pending + 1, (HV_WITNESS_KEEP - 1) * sizeof *wt->pending);
        wt->n_pending--;
        if (wt->n_in_txn > 0)
            wt->n_in_txn--;
    }
    wt->pending[wt->n_pending++] = h;
    wt->last = h;
    wt->has_last = true;
    wt->last_witnessed = false;
    wt->last_sent_ms = 0;
    wt->first_unsigned_ms = 0;
    hv_log(HV_LOG_DEBUG, "audit_head_signed", "node=%s seq=%llu", wt->node,
           (unsigned long long)h.seq);
}

void hv_witness_note(hv_witness *wt, const hv_audit *audit, const hv_keypair *kp,
                     int64_t now_ms)
{
    s_sign(wt, audit, kp, now_ms, false);
}

hv_err hv_witness_tick(hv_witness *wt, const hv_audit *audit, const hv_keypair *kp,
                       int64_t now_ms, bool force)
{
    /* What the broker said it holds. */
    if (wt->witnessed_seq > 0 &&
        hv_sql_exec(wt->db, "UPDATE audit_heads SET witnessed = 1 WHERE seq = ?1 AND "
                            "witnessed = 0", "i", (int64_t)wt->witnessed_seq) != HV_OK)
        return HV_ESTORE;
    s_sign(wt, audit, kp, now_ms, force);
    for (size_t i = 0; i < wt->n_pending; i++) {
        uint8_t bytes[HV_AUDIT_HEAD_MAX];
        size_t len = 0;
        if (hv_audit_head_encode(&wt->pending[i], bytes, &len) != HV_OK)
            continue;
        if (hv_sql_exec(wt->db, "INSERT OR REPLACE INTO audit_heads (seq, at_ms, head, "
                                "witnessed) VALUES (?1, ?2, ?3, ?4)", "iixi",
                        (int64_t)wt->pending[i].seq, (int64_t)wt->pending[i].at_ms, bytes, len,
                        (int64_t)(wt->pending[i].seq == wt->witnessed_seq)) != HV_OK)
            return HV_ESTORE;
    }
    if (wt->n_pending > 0 &&
        hv_sql_exec(wt->db, "DELETE FROM audit_heads WHERE seq NOT IN (SELECT seq FROM "
                            "audit_heads ORDER BY seq DESC LIMIT ?1)", "i",
                    (int64_t)HV_WITNESS_KEEP) != HV_OK)
        return HV_ESTORE;
    /* Kept until the commit: a rolled-back tick writes them again. */
    wt->n_in_txn = wt->n_pending;
    return HV_OK;
}

void hv_witness_committed(hv_witness *wt, bool committed)
{
    if (wt == NULL)
        return;
    if (committed && wt->n_in_txn > 0) {
        memmove(wt->pending, wt->pending + wt->n_in_txn,
                (wt->n_pending - wt->n_in_txn) * sizeof *wt->pending);
        wt->n_pending -= wt->n_in_txn;
    }
    wt->n_in_txn = 0;
}

void hv_witness_pump(hv_witness *wt, int64_t now_ms)
{
    if (!hv_client_ready(wt->client))
        return;
    hv_control m;
    if (wt->ask) {
        memset(&m, 0, sizeof m);
        m.cmd = HV_CMD_AUDIT_HEAD_GET;
        if (hv_client_send_control(wt->client, &m) == HV_OK)
            wt->ask = false;
    }
    if (!wt->has_last || wt->last_witnessed || wt->n_pending > 0 ||
        (wt->last_sent_ms != 0 && now_ms - wt->last_sent_ms < S_RESEND_MS))
        return;
    uint8_t bytes[HV_AUDIT_HEAD_MAX];
    size_t len = 0;
    if (hv_audit_head_encode(&wt->last, bytes, &len) != HV_OK)
        return;
    memset(&m, 0, sizeof m);
    m.cmd = HV_CMD_AUDIT_HEAD;
    m.bundle = bytes;
    m.bundle_len = len;
    if (hv_client_send_control(wt->client, &m) == HV_OK)
        wt->last_sent_ms = now_ms;
}

void hv_witness_on_control(hv_witness *wt, const hv_control *m, const hv_registry *reg)
{
    if (m->cmd == HV_CMD_READY) {
        wt->ask = true;
        wt->last_sent_ms = 0;
        return;
    }
    if (m->cmd != HV_CMD_AUDIT_WITNESSED)
        return;
    hv_audit_head h;
    if (m->bundle_len == 0 || hv_audit_head_decode(m->bundle, m->bundle_len, &h) != HV_OK ||
        strcmp(h.node, wt->node) != 0 || hv_audit_head_verify_registry(&h, reg) != HV_OK) {
        if (m->code != HV_OK && m->code != HV_ENOTFOUND)
            hv_log(HV_LOG_WARN, "audit_head_refused_by_broker", "code=%s",
                   hv_errname(m->code));
        return;
    }
    if (m->code != HV_OK)
        hv_log(HV_LOG_WARN, "audit_head_refused_by_broker", "code=%s witnessed_seq=%llu",
               hv_errname(m->code), (unsigned long long)h.seq);
    /* The broker's head must match the log, whatever the node's store says. */
    hv_errmsg e = {""};
    if (!wt->failed && hv_audit_check_start(wt->path, &h, &e) != HV_OK) {
        wt->failed = true;
        snprintf(wt->why.text, sizeof wt->why.text, "%s (the head witnessed by the broker)",
                 e.text);
        hv_log(HV_LOG_ERROR, "audit_log_mismatch", "path=%s witnessed_seq=%llu reason=\"%s\"",
               wt->path, (unsigned long long)h.seq, e.text);
        return;
    }
    if (m->code == HV_OK && h.seq > wt->witnessed_seq)
        wt->witnessed_seq = h.seq;
    if (m->code == HV_OK && wt->has_last && h.seq == wt->last.seq &&
        memcmp(h.hash, wt->last.hash, 32) == 0)
        wt->last_witnessed = true;
}

bool hv_witness_failed(const hv_witness *wt, hv_errmsg *e)
{
    if (wt == NULL || !wt->failed)
        return false;
    if (e != NULL)
        *e = wt->why;
    return true;
}

json_t *hv_witness_export(hv_witness *wt)
{
    json_t *heads = json_array();
    /* Those the broker holds, and those signed before the last of them
     * (kept here only: the broker holds the latest of each node's). */
    /* The broker's word in memory is ahead of the flags by a tick at most;
     * what it witnessed is stored already (only stored heads are handed
     * over). */
    sqlite3_stmt *st = hv_sql(wt->db, "SELECT head FROM audit_heads WHERE seq <= max(?1, "
                                      "coalesce((SELECT max(seq) FROM audit_heads WHERE "
                                      "witnessed = 1), 0)) ORDER BY seq", "i",
                              (int64_t)wt->witnessed_seq);
    if (heads == NULL || st == NULL) {
        json_decref(heads);
        if (st != NULL)
            sqlite3_finalize(st);
        return NULL;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        hv_audit_head h;
        char line[2 * HV_AUDIT_HEAD_MAX + 2];
        if (hv_audit_head_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                 &h) != HV_OK ||
            hv_audit_head_line(&h, line) != HV_OK)
            continue;
        line[strlen(line) - 1] = '\0';
        json_array_append_new(heads, json_string(line));
    }
    sqlite3_finalize(st);
    return json_pack("{s:o, s:I, s:I}", "heads", heads, "witnessed_seq",
                     (json_int_t)wt->witnessed_seq, "signed_seq",
                     (json_int_t)(wt->has_last ? wt->last.seq : 0));
}

hv_err hv_witness_sign_now(hv_witness *wt, const hv_audit *audit, const hv_keypair *kp)
{
    hv_err err = hv_client_begin(wt->client);
    if (err != HV_OK)
        return err;
    if ((err = hv_witness_tick(wt, audit, kp, hv_now_ms(), true)) != HV_OK) {
        hv_client_rollback(wt->client);
        hv_witness_committed(wt, false);
        return err;
    }
    err = hv_client_commit(wt->client);
    hv_witness_committed(wt, err == HV_OK);
    return err == HV_OK ? HV_OK : HV_ESTORE;
}

json_t *hv_witness_rotate(hv_witness *wt, hv_audit *audit, const hv_keypair *kp,
                          const char *node, const char *by, hv_err *err, hv_errmsg *e)
{
    uint64_t last = 0;
    uint8_t hash[32], id[32];
    char old[4096 + 32];
    /* A head of the old file first, then one of the new. */
    if ((*err = hv_witness_sign_now(wt, audit, kp)) != HV_OK) {
        hv_fail(e, *err, "the store could not keep the log's head");
        return NULL;
    }
    (void)hv_audit_tip(audit, &last, hash, id);
    if ((*err = hv_audit_rotate(audit, node, by, old, sizeof old, e)) != HV_OK)
        return NULL;
    hv_log(HV_LOG_INFO, "audit_rotated", "old=%s old_last=%llu by=%s", old,
           (unsigned long long)last, by);
    if ((*err = hv_witness_sign_now(wt, audit, kp)) != HV_OK) {
        hv_fail(e, *err, "the store could not keep the new log's head");
        return NULL;
    }
    return json_pack("{s:s, s:I, s:s, s:I}", "old", old, "old_last", (json_int_t)last, "log",
                     wt->path, "new_first", (json_int_t)(last + 1));
}
