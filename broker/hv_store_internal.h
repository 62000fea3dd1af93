/* The broker store's internals, shared by its two files: hv_store.c (the
 * queue, dedup window, dead letters, notices, audit copies) and
 * hv_store_window.c (the replay window). Not for other modules. */
#ifndef HV_STORE_INTERNAL_H
#define HV_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_db.h"
#include "hv_err.h"
#include "hv_every.h"
#include "hv_store.h"

/* Prepared statements, by index into hv_store.stmt (SQL in hv_store.c). */
enum {
    S_BEGIN,
    S_COMMIT,
    S_DEDUP_GET,
    S_DEDUP_PUT,
    S_QUEUE_PUT,
    S_BODY_PUT,
    S_BODY_DEL,
    S_QUEUED_SEQ,
    S_QUEUE_DEL,
    S_NEXT,
    S_ATTEMPTED,
    S_BURY_COPY,
    S_BURY_NOTICE,
    S_EXPIRED_IDS,
    S_DEDUP_PRUNE,
    S_NOTICES,
    S_NOTICE_DONE,
    S_NOTICE_DONE_ID,
    S_DEPTHS,
    S_STATS,
    S_AUDIT_PUT,
    S_AUDIT_RELEASE,
    S_AUDIT_LIST,
    S_ACK_ROW,
    S_RETAIN,
    S_PRUNE,
    S_DELIVERED_DEL,
    S_REPLAY_COPY,
    S_REPLAY_DROP,
    S_FORGET_REFERRAL_BODIES,
    S_FORGET_REFERRAL,
    S_FORGET_NODE_BODIES,
    S_FORGET_NODE,
    S_RETAINED_NODES,
    S_COUNT
};

struct hv_store {
    sqlite3 *db;                    /* the database (the one writer) */
    sqlite3 *ckpt_db;               /* the checkpointer's connection */
    hv_every *checkpointer;         /* its thread, or NULL */
    int wal_frames;                 /* frames in the WAL after the last commit (s_wal_hook);
                                     * read by the checkpointer's thread (atomic) */
    int ckpt_all;                   /* 1: a truncation is due, the checkpointer copies
                                     * whatever the WAL holds (atomic) */
    sqlite3_stmt *stmt[S_COUNT];    /* prepared statements */
    bool in_txn;                    /* a group transaction is open */
    char commit_error[128];         /* why the last commit failed, or "" */
    int commit_code;                /* ...SQLite's extended result code then */
    int64_t retained;               /* rows in `delivered` (counted at open, then kept) */
    bool recount;                   /* a rollback left `retained` unsure */
    bool erase_on;                  /* secure_delete=ON and the WAL truncated (the default) */
    hv_db_erase erase;              /* when the WAL is next truncated */
    uint64_t commits;               /* commits made, to date them at the next erase tick */
    uint64_t commits_seen;          /* ...as the erase tick last saw them */
    int64_t last_commit_ms;         /* when the erase tick saw the last commit */
    int64_t unerased_since_ms;      /* ...the first commit not yet erased, 0 = none */
};

/* Removes queue row `seq`, and its body unless `keep_body` (the replay
 * window keeps it). Inside a transaction. */
hv_err hv_store_remove_seq(hv_store *s, int64_t seq, bool keep_body);

/* Resets a statement after use so that it releases its read snapshot;
 * HV_OK when `rc` was a success. */
static inline hv_err hv_store_done(sqlite3_stmt *st, int rc)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK ? HV_OK : HV_ESTORE;
}

/* Counts the replay window's rows into s->retained (at open, and after a
 * rollback left the kept count unsure). */
hv_err hv_store_count_retained(hv_store *s);

#endif
