/* The broker store's replay window (hv_store.h: hv_store_ack to
 * hv_store_retained_nodes): envelopes their recipient acknowledged, kept in
 * `delivered` for a restored worker to have again (docs/DECISIONS.md, "A
 * replay window at the home broker"). */
#include <sqlite3.h>
#include <stdlib.h>

#include "hv_envelope.h"
#include "hv_store.h"
#include "hv_store_internal.h"

/* Counts the replay window once (at open, and after a rollback): the
 * count is kept from then on, never asked of a table of millions. */
hv_err hv_store_count_retained(hv_store *s)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM delivered", -1, &st, NULL) != SQLITE_OK)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        s->retained = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    s->recount = rc != SQLITE_ROW;
    return rc == SQLITE_ROW ? HV_OK : HV_ESTORE;
}

/* Writes the row S_ACK_ROW stands on into the window (hv_store.c). A row
 * of the same sequence number cannot be there (a replay takes its rows
 * out of the window as it queues them), but should one be, it gives way
 * rather than failing the whole group. */
static hv_err s_retain(hv_store *s, sqlite3_stmt *row, const char *recipient, int64_t now_ms)
{
    sqlite3_stmt *st = s->stmt[S_RETAIN];
    for (int col = 0; col < 7; col++)
        sqlite3_bind_value(st, col + 1, sqlite3_column_value(row, col));
    sqlite3_bind_text(st, 8, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, now_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        sqlite3_reset(st); /* keeps the bindings for the second try */
        sqlite3_stmt *del = s->stmt[S_DELIVERED_DEL]; /* the body is this row's too */
        sqlite3_bind_int64(del, 1, sqlite3_column_int64(row, 0));
        if (hv_store_done(del, sqlite3_step(del)) == HV_OK) {
            s->retained -= sqlite3_changes(s->db);
            rc = sqlite3_step(st);
        }
    }
    hv_err err = hv_store_done(st, rc);
    if (err == HV_OK)
        s->retained++;
    return err;
}

hv_err hv_store_ack(hv_store *s, const uint8_t id[16], const char *recipient, int64_t now_ms,
                    bool retain, bool *found)
{
    *found = false;
    sqlite3_stmt *row = s->stmt[S_ACK_ROW];
    sqlite3_bind_blob(row, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(row, 2, recipient, -1, SQLITE_STATIC);
    int rc = sqlite3_step(row);
    if (rc != SQLITE_ROW)
        return hv_store_done(row, rc); /* not queued for it: perhaps a notice's ACK */
    int64_t seq = sqlite3_column_int64(row, 0);
    int type = sqlite3_column_int(row, 1);
    hv_err err = HV_OK;
    /* WITHDRAW and WITHDRAWN are never kept: a replay must not withdraw
     * again what was settled. */
    bool keep = retain && type != HV_MSG_WITHDRAW && type != HV_MSG_WITHDRAWN;
    if (keep)
        err = s_retain(s, row, recipient, now_ms);
    if (hv_store_done(row, SQLITE_ROW) != HV_OK || err != HV_OK)
        return HV_ESTORE;
    *found = true;
    return hv_store_remove_seq(s, seq, keep);
}

hv_err hv_store_prune(hv_store *s, int64_t before_ms, size_t max, size_t *pruned)
{
    *pruned = 0;
    /* Collect first: deleting changes the index being read. */
    int64_t *seqs = calloc(max > 0 ? max : 1, sizeof *seqs);
    if (seqs == NULL)
        return HV_ENOMEM;
    size_t n = 0;
    sqlite3_stmt *st = s->stmt[S_PRUNE];
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
        seqs[n++] = sqlite3_column_int64(st, 0);
    hv_err err = hv_store_done(st, rc);
    const int steps[] = {S_DELIVERED_DEL, S_BODY_DEL}; /* the row and its body */
    for (size_t i = 0; err == HV_OK && i < n; i++)
        for (size_t k = 0; err == HV_OK && k < sizeof steps / sizeof steps[0]; k++) {
            st = s->stmt[steps[k]];
            sqlite3_bind_int64(st, 1, seqs[i]);
            err = hv_store_done(st, sqlite3_step(st));
        }
    free(seqs);
    if (err != HV_OK)
        return err;
    *pruned = n;
    s->retained -= (int64_t)n;
    return HV_OK;
}

hv_err hv_store_replay(hv_store *s, const char *recipient, int64_t since_ms, int64_t now_ms,
                       size_t *requeued)
{
    *requeued = 0;
    for (int k = S_REPLAY_COPY; k <= S_REPLAY_DROP; k++) {
        sqlite3_stmt *st = s->stmt[k];
        sqlite3_bind_text(st, 1, recipient, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since_ms);
        sqlite3_bind_int64(st, 3, now_ms);
        if (hv_store_done(st, sqlite3_step(st)) != HV_OK)
            return HV_ESTORE;
        if (k == S_REPLAY_COPY)
            *requeued = (size_t)sqlite3_changes(s->db);
        else if ((size_t)sqlite3_changes(s->db) != *requeued)
            return HV_ESTORE; /* cannot happen in one transaction */
    }
    s->retained -= (int64_t)*requeued;
    return HV_OK;
}

/* Deletes from the window; secure_delete (hv_store.c) overwrites what the
 * rows leave, and the WAL's copies go at the next erase tick. */
static hv_err s_forget(hv_store *s, int which, const void *key, int key_len, size_t *deleted)
{
    *deleted = 0;
    hv_err err = HV_OK;
    /* `which - 1`: the statement that deletes the rows' bodies (hv_store.c) */
    for (int k = which - 1; err == HV_OK && k <= which; k++) {
        sqlite3_stmt *st = s->stmt[k];
        if (key_len < 0)
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        else
            sqlite3_bind_blob(st, 1, key, key_len, SQLITE_STATIC);
        err = hv_store_done(st, sqlite3_step(st));
    }
    if (err == HV_OK)
        *deleted = (size_t)sqlite3_changes(s->db);
    s->retained -= (int64_t)*deleted;
    return err;
}

hv_err hv_store_forget_referral(hv_store *s, const uint8_t referral[16], size_t *deleted)
{
    return s_forget(s, S_FORGET_REFERRAL, referral, 16, deleted);
}

hv_err hv_store_forget_node(hv_store *s, const char *recipient, size_t *deleted)
{
    return s_forget(s, S_FORGET_NODE, recipient, -1, deleted);
}

hv_err hv_store_retained_nodes(hv_store *s, hv_store_node_visit fn, void *arg)
{
    sqlite3_stmt *st = s->stmt[S_RETAINED_NODES];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!fn(arg, (const char *)sqlite3_column_text(st, 0))) {
            rc = SQLITE_DONE;
            break;
        }
    return hv_store_done(st, rc);
}
