/* The broker store on SQLite. Statements are prepared once; the broker
 * loop groups many writes into one transaction, so one fsync covers a whole
 * batch of SENDs and ACKs. The replay window's functions are in
 * hv_store_window.c (hv_store_internal.h holds what the two share). */
#include "hv_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_db.h"
#include "hv_err.h"
#include "hv_every.h"
#include "hv_ids.h"
#include "hv_store_internal.h"

/* A 32 MiB page cache keeps the queue's hot pages (new tail, delivery
 * head, indexes) in memory; memory stays bounded whatever the backlog.
 * A second connection on its own thread copies the WAL into the database
 * (PASSIVE: it never blocks the writer), so that the broker's loop does
 * not wait for that I/O; the writer copies only what is left at the
 * 32 MiB catch-up below.
 * What the broker deletes is forgotten (docs/DECISIONS.md, "A broker
 * forgets what it deletes"): secure_delete=ON overwrites every deleted row
 * and every page a delete frees (overflow pages of large envelopes
 * included), and hv_store_erase_tick truncates the WAL, whose frames keep
 * the pages as they were: once the store has been quiet for
 * S_ERASE_QUIET_MS, and under a steady load at the latest S_ERASE_MAX_MS
 * after the first commit not yet erased. A truncation stalls the loop for
 * an fsync of the database and makes the next commits grow the WAL file
 * again, so under load it is paid once in ten seconds, not every second
 * (docs/BENCHMARKS.md); meanwhile the WAL overwrites its own frames as it
 * starts over. The WAL
 * is cut back to 40 MiB (journal_size_limit; it steadies near 33 MiB under
 * load, S_WAL_RESET_FRAMES) whenever it starts over, so that a burst does
 * not leave a large file of old frames behind. */
static const char s_tuning[] = "PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=0;"
                               "PRAGMA secure_delete=ON; PRAGMA journal_size_limit=41943040;";
#define S_ERASE_EVERY_MS 1000
#define S_ERASE_QUIET_MS 250    /* no commit for this long: truncate now */
#define S_ERASE_MAX_MS 10000    /* under a steady load, at the latest this long after */
#define S_ERASE_WAIT_MS 20 /* the loop waits no longer for a reader to let go */
#define S_CHECKPOINT_EVERY_MS 20
#define S_PAGE_SIZE 8192 /* three 2 KiB envelopes a page instead of one */
#define S_WAL_MAX_FRAMES 65536 /* 512 MiB: past this the writer waits for a full checkpoint */
/* The WAL starts over from its beginning only when a transaction begins
 * with every frame already copied, which a steady stream of commits may
 * never allow: the WAL would only grow. Past 32 MiB the writer copies,
 * between two commits, the few frames the checkpointer has not yet, so
 * that its next commit starts the WAL over: it stays near 33 MiB. */
#define S_WAL_RESET_FRAMES 4096

/* Keeps the WAL small (S_WAL_RESET_FRAMES above); should even that fall
 * behind, past S_WAL_MAX_FRAMES the writer waits for a full checkpoint
 * that resets the WAL. */
static int s_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    hv_store *s = arg;
    __atomic_store_n(&s->wal_frames, frames, __ATOMIC_RELAXED);
    hv_every_kick(s->checkpointer); /* frames to copy: the checkpointer may have work */
    if (frames > S_WAL_MAX_FRAMES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    else if (frames > S_WAL_RESET_FRAMES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

/* Per envelope the store writes a queue row with one index entry and a
 * dedup row with one index entry; acknowledging deletes the queue row. The
 * dedup row (message id -> sequence number, expiry) is how an id is found,
 * and its expiry index drives the expiry sweep, so the queue needs no other
 * index (../docs/BENCHMARKS.md).
 * Format 2 adds the replay window: the queue row carries the envelope's
 * referral id, and an acknowledged row moves to `delivered` (same sequence
 * number, the time of the ACK added) until the window has passed.
 * Format 3 keeps the envelopes in `bodies`, by that sequence number, so
 * that the move at the ACK is a row of metadata and an envelope is
 * written once and zeroed once, however long the window keeps it
 * (docs/DECISIONS.md, "Envelopes in a table of their own"). Older stores
 * are brought to format 3 when opened (s_check_format). */
#define S_FORMAT 3 /* PRAGMA user_version of this layout */

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS queue ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT," /* arrival order; never reused, since
                                                * sessions keep a cursor on it */
    "  id BLOB NOT NULL,"                 /* message id (unique through dedup) */
    "  recipient TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  stored_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  referral BLOB);"                    /* the envelope's referral id (format 2) */
    "CREATE INDEX IF NOT EXISTS queue_recipient ON queue(recipient, seq);"
    /* The envelope of each row of `queue` or `delivered` (format 3), still
     * sealed end to end, under the row's sequence number. */
    "CREATE TABLE IF NOT EXISTS bodies (seq INTEGER PRIMARY KEY, envelope BLOB NOT NULL);"
    /* Envelopes their recipient acknowledged, kept for the replay window
     * (hv_store_ack): still sealed end to end. The sequence number is the
     * one they had in the queue, to which a replay puts them back. */
    "CREATE TABLE IF NOT EXISTS delivered ("
    "  seq INTEGER PRIMARY KEY, id BLOB NOT NULL, recipient TEXT NOT NULL,"
    "  sender TEXT NOT NULL, type INTEGER NOT NULL, referral BLOB,"
    "  stored_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, acked_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS delivered_recipient ON delivered(recipient, acked_ms);"
    "CREATE INDEX IF NOT EXISTS delivered_acked ON delivered(acked_ms);"
    "CREATE INDEX IF NOT EXISTS delivered_referral ON delivered(referral);"
    "CREATE TABLE IF NOT EXISTS dedup ("
    "  id BLOB PRIMARY KEY, sender TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup(expires_ms);"
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    "  id BLOB PRIMARY KEY, recipient TEXT NOT NULL, sender TEXT NOT NULL,"
    "  type INTEGER NOT NULL, envelope BLOB NOT NULL, attempts INTEGER NOT NULL,"
    "  code INTEGER NOT NULL, reason TEXT NOT NULL, stored_ms INTEGER NOT NULL,"
    "  died_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS admin_log (at_ms INTEGER NOT NULL, operator TEXT NOT NULL,"
    "  action TEXT NOT NULL, id BLOB, result TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS notices ("
    "  node TEXT NOT NULL, id BLOB NOT NULL, code INTEGER NOT NULL, reason TEXT NOT NULL,"
    "  PRIMARY KEY (node, id)) WITHOUT ROWID;"
    /* Audit records committed with the changes they record, kept until the
     * audit file holding them is durable (hv_audit.h). */
    "CREATE TABLE IF NOT EXISTS audit_pending (last_seq INTEGER PRIMARY KEY,"
    "  lines TEXT NOT NULL);";


static const char *const s_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_DEDUP_GET] = "SELECT sender FROM dedup WHERE id = ?1",
    [S_DEDUP_PUT] = "INSERT INTO dedup (id, sender, expires_ms, seq) VALUES (?1, ?2, ?3, ?4)",
    [S_QUEUE_PUT] = "INSERT INTO queue (id, recipient, sender, type, stored_ms, expires_ms, "
                    "referral) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_BODY_PUT] = "INSERT INTO bodies (seq, envelope) VALUES (?1, ?2)",
    [S_BODY_DEL] = "DELETE FROM bodies WHERE seq = ?1",
    [S_QUEUED_SEQ] = "SELECT seq FROM queue WHERE seq = (SELECT seq FROM dedup WHERE id = ?1) "
                     "AND recipient = ?2",
    [S_QUEUE_DEL] = "DELETE FROM queue WHERE seq = ?1",
    /* The queue's index first, then each body by its sequence number. */
    [S_NEXT] = "SELECT q.seq, q.id, b.envelope, q.attempts FROM queue q CROSS JOIN bodies b ON "
               "b.seq = q.seq WHERE q.recipient = ?1 AND q.seq > ?2 ORDER BY q.seq LIMIT ?3",
    [S_ATTEMPTED] = "UPDATE queue SET attempts = attempts + 1 WHERE seq = (SELECT seq FROM "
                    "dedup WHERE id = ?1)",
    [S_BURY_COPY] = "INSERT OR REPLACE INTO dead_letters (id, recipient, sender, type, envelope, "
                    "attempts, code, reason, stored_ms, died_ms) SELECT q.id, q.recipient, "
                    "q.sender, q.type, b.envelope, q.attempts, ?3, ?4, q.stored_ms, ?5 FROM "
                    "queue q JOIN bodies b ON b.seq = q.seq WHERE q.seq = (SELECT seq FROM dedup "
                    "WHERE id = ?1) AND q.recipient = ?2 RETURNING sender",
    [S_BURY_NOTICE] = "INSERT OR REPLACE INTO notices (node, id, code, reason) VALUES (?1, ?2, "
                      "?3, ?4)",
    [S_EXPIRED_IDS] = "SELECT d.id, q.recipient FROM dedup d JOIN queue q ON q.seq = d.seq "
                      "WHERE d.expires_ms <= ?1 LIMIT ?2",
    /* Only ids whose message has left the queue are forgotten, so that an
     * expired message is always found by the sweep above. */
    [S_DEDUP_PRUNE] = "DELETE FROM dedup WHERE id IN (SELECT id FROM dedup WHERE expires_ms <= "
                      "?1 AND NOT EXISTS (SELECT 1 FROM queue WHERE queue.seq = dedup.seq) "
                      "LIMIT ?2)",
    [S_NOTICES] = "SELECT id, code, reason FROM notices WHERE node = ?1 LIMIT ?2",
    [S_NOTICE_DONE] = "DELETE FROM notices WHERE node = ?1 AND id = ?2",
    [S_NOTICE_DONE_ID] = "DELETE FROM notices WHERE id = ?1",
    [S_DEPTHS] = "SELECT recipient, count(*) FROM queue GROUP BY recipient ORDER BY recipient",
    [S_STATS] = "SELECT (SELECT count(*) FROM queue), (SELECT count(*) FROM dead_letters), "
                "(SELECT count(*) FROM notices)",
    [S_AUDIT_PUT] = "INSERT OR REPLACE INTO audit_pending (last_seq, lines) VALUES (?1, ?2)",
    [S_AUDIT_RELEASE] = "DELETE FROM audit_pending WHERE last_seq <= ?1",
    [S_AUDIT_LIST] = "SELECT lines FROM audit_pending ORDER BY last_seq",
    /* The ACK's move: the queue row read, then written into the window
     * with a one-row INSERT ... VALUES; its body stays where it is.
     * INSERT ... SELECT and OR REPLACE would each make SQLite keep a
     * statement journal (a copy of every page the statement changes, about
     * 40 KiB an ACK), to undo the statement alone if it failed half-way
     * (docs/DECISIONS.md, "No temporary files"). */
    [S_ACK_ROW] = "SELECT seq, type, id, sender, referral, stored_ms, expires_ms FROM queue "
                  "WHERE seq = (SELECT seq FROM dedup WHERE id = ?1) AND recipient = ?2",
    [S_RETAIN] = "INSERT INTO delivered (seq, type, id, sender, referral, stored_ms, expires_ms, "
                 "recipient, acked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    /* Oldest acknowledgements first, through their index: a bounded batch
     * whatever the table holds. */
    [S_PRUNE] = "SELECT seq, type FROM delivered WHERE acked_ms < ?1 ORDER BY acked_ms LIMIT ?2",
    [S_DELIVERED_DEL] = "DELETE FROM delivered WHERE seq = ?1",
    /* Back into the queue under their old sequence numbers (never reused,
     * so free), hence in their original order and ahead of anything newer;
     * their dedup rows still point at those numbers. */
    [S_REPLAY_COPY] = "INSERT INTO queue (seq, id, recipient, sender, type, attempts, "
                      "stored_ms, expires_ms, referral) SELECT seq, id, recipient, sender, type, "
                      "0, stored_ms, expires_ms, referral FROM delivered WHERE "
                      "recipient = ?1 AND acked_ms >= ?2 AND expires_ms > ?3 ORDER BY seq",
    [S_REPLAY_DROP] = "DELETE FROM delivered WHERE recipient = ?1 AND acked_ms >= ?2 AND "
                      "expires_ms > ?3",
    /* Forgetting takes the bodies first, then the rows that name them. */
    [S_FORGET_REFERRAL_BODIES] = "DELETE FROM bodies WHERE seq IN (SELECT seq FROM delivered "
                                 "WHERE referral = ?1)",
    [S_FORGET_REFERRAL] = "DELETE FROM delivered WHERE referral = ?1",
    [S_FORGET_NODE_BODIES] = "DELETE FROM bodies WHERE seq IN (SELECT seq FROM delivered WHERE "
                             "recipient = ?1)",
    [S_FORGET_NODE] = "DELETE FROM delivered WHERE recipient = ?1",
    [S_RETAINED_NODES] = "SELECT DISTINCT recipient FROM delivered",
};


/* The checkpointer copies nothing until the WAL holds S_CKPT_FROM_FRAMES
 * frames, then keeps up every S_CHECKPOINT_EVERY_MS until the WAL starts
 * over (S_WAL_RESET_FRAMES). A page is copied once for all the frames the
 * WAL holds of it: an envelope's pages written, zeroed when it is deleted
 * and taken again by the next envelope within those frames reach the
 * database once, in their last state, where a copy every 20 ms from the
 * first frame on copied each state that lived 20 ms (docs/BENCHMARKS.md,
 * "Large envelopes: where the bytes go"). Half the cycle, not three
 * quarters: with three quarters the loop, at 2 KiB under load, still spent
 * 6% of its time copying before each new cycle (docs/DECISIONS.md, "The
 * broker's checkpointer waits for three quarters of the WAL").
 * Erasure is unchanged: once the erase tick has dated a truncation (a
 * second before it), the checkpointer copies everything, so that the
 * truncation, in the loop, finds little left to copy.
 * Returns false when there is nothing (more) to copy: the thread then
 * sleeps until the next commit's kick (s_wal_hook) or the erase tick's,
 * instead of checking an unchanged WAL 50 times a second. */
#define S_CKPT_FROM_FRAMES (S_WAL_RESET_FRAMES / 2)

static bool s_checkpoint(void *arg)
{
    hv_store *s = arg;
    if (__atomic_load_n(&s->wal_frames, __ATOMIC_RELAXED) < S_CKPT_FROM_FRAMES &&
        !__atomic_load_n(&s->ckpt_all, __ATOMIC_RELAXED))
        return false;
    int frames = -1, copied = -1;
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
                                       &copied);
    return rc != SQLITE_OK || frames < 0 || copied < frames;
}

static hv_err s_start_checkpointer(hv_store *s, const char *path, hv_errmsg *e)
{
    if (sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return hv_fail(e, HV_ESTORE, "%s: cannot open the checkpointer's connection", path);
    sqlite3_busy_timeout(s->ckpt_db, 1000);
    /* A connection learns that the file is in WAL mode only when it first
     * reads it; until then sqlite3_wal_checkpoint_v2 does nothing and
     * returns SQLITE_OK, and every checkpoint fell to the writer. */
    if (sqlite3_exec(s->ckpt_db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
        SQLITE_OK)
        return hv_fail(e, HV_ESTORE, "%s: the checkpointer cannot read the store", path);
    if (hv_every_start_until_idle(&s->checkpointer, S_CHECKPOINT_EVERY_MS, s_checkpoint, s) !=
        HV_OK)
        return hv_fail(e, HV_ESTORE, "cannot start the checkpointer thread");
    return HV_OK;
}

/* Stamps a new store with S_FORMAT and refuses one of another layout. */
static hv_err s_check_format(sqlite3 *db, const char *path, hv_errmsg *e)
{
    sqlite3_stmt *st;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version == 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", S_FORMAT);
        return hv_db_exec(db, sql, e);
    }
    if (version == 1 || version == 2) {
        /* Format 1 lacks the queue's referral column (the schema made the
         * new tables already); its queued envelopes keep a NULL referral,
         * which only means a WITHDRAW cannot find them in the window.
         * Format 2 keeps each envelope in its row: they move to `bodies`,
         * all in one transaction, and the columns go (secure_delete
         * zeroes the pages the rebuilt tables leave). */
        static const char window[] = /* format 1 had none: the schema made it new */
            "INSERT INTO bodies (seq, envelope) SELECT seq, envelope FROM delivered;"
            "ALTER TABLE delivered DROP COLUMN envelope;";
        char sql[640];
        snprintf(sql, sizeof sql,
                 "BEGIN IMMEDIATE; %s"
                 "INSERT INTO bodies (seq, envelope) SELECT seq, envelope FROM queue;"
                 "ALTER TABLE queue DROP COLUMN envelope; %s"
                 "PRAGMA user_version=%d; COMMIT",
                 version == 1 ? "ALTER TABLE queue ADD COLUMN referral BLOB;" : "",
                 version == 2 ? window : "", S_FORMAT);
        hv_err err = hv_db_exec(db, sql, e);
        if (err != HV_OK)
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    if (version != S_FORMAT)
        return hv_fail(e, HV_EVERSION, "%s: store format %d, this broker reads format %d",
                       path, version, S_FORMAT);
    return HV_OK;
}

hv_err hv_store_open(hv_store **out, const char *path, hv_errmsg *e)
{
    hv_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return HV_ENOMEM;
    hv_err err = hv_db_open_paged(&s->db, path, s_schema, S_PAGE_SIZE, e);
    if (err == HV_OK)
        err = hv_db_exec(s->db, s_tuning, e);
    if (err == HV_OK)
        err = s_check_format(s->db, path, e);
    /* What a crash left in the WAL goes at once; should another process
     * hold the WAL now, the first erase tick does it. */
    if (err == HV_OK && hv_db_truncate_wal(s->db, S_ERASE_WAIT_MS) == HV_ESTORE)
        err = hv_fail(e, HV_ESTORE, "%s: cannot truncate the WAL: %s", path,
                      sqlite3_errmsg(s->db));
    s->erase_on = true;
    s->erase.every_ms = S_ERASE_EVERY_MS;
    if (err == HV_OK)
        err = s_start_checkpointer(s, path, e);
    if (err == HV_OK)
        sqlite3_wal_hook(s->db, s_wal_hook, s);
    for (int i = 0; err == HV_OK && i < S_COUNT; i++)
        err = hv_db_prepare(s->db, s_sql[i], &s->stmt[i], e);
    if (err == HV_OK && hv_store_count_retained(s) != HV_OK)
        err = hv_fail(e, HV_ESTORE, "%s: cannot count the replay window", path);
    if (err != HV_OK) {
        hv_store_close(&s);
        return err;
    }
    *out = s;
    return HV_OK;
}

void hv_store_close(hv_store **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    hv_store *s = *sp;
    if (s->in_txn && hv_store_commit(s) != HV_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    hv_every_stop(&s->checkpointer);
    if (s->ckpt_db != NULL)
        sqlite3_close_v2(s->ckpt_db);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    /* SQLite's last close checkpoints and deletes the WAL, but not while
     * another process has the store open: truncated here in any case. */
    if (s->erase_on && s->db != NULL && hv_db_truncate_wal(s->db, S_ERASE_WAIT_MS) != HV_OK)
        s->erase.deferred++; /* the last close (or the next open) does it */
    sqlite3_close_v2(s->db);
    free(s);
    *sp = NULL;
}

hv_err hv_store_begin(hv_store *s)
{
    if (s->in_txn)
        return HV_OK;
    s->commit_error[0] = '\0';
    if (hv_store_done(s->stmt[S_BEGIN], sqlite3_step(s->stmt[S_BEGIN])) != HV_OK)
        return HV_ESTORE;
    s->in_txn = true;
    return HV_OK;
}

bool hv_store_in_transaction(const hv_store *s) { return s->in_txn; }

hv_err hv_store_set_erase(hv_store *s, bool on)
{
    if (sqlite3_exec(s->db, on ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=FAST", NULL,
                     NULL, NULL) != SQLITE_OK)
        return HV_ESTORE;
    s->erase_on = on;
    return HV_OK;
}

hv_err hv_store_erase_tick(hv_store *s, int64_t now_ms, bool *truncated)
{
    *truncated = false;
    if (!s->erase_on || s->in_txn)
        return HV_OK; /* the transaction's commit comes first; the next call will do */
    /* Commits are dated by the tick that first sees them: the loop ticks
     * after every pass, and tests can give their own clock. */
    if (s->commits != s->commits_seen) {
        s->commits_seen = s->commits;
        s->last_commit_ms = now_ms;
        if (s->unerased_since_ms == 0)
            s->unerased_since_ms = now_ms;
    }
    if (s->unerased_since_ms != 0 && now_ms - s->last_commit_ms < S_ERASE_QUIET_MS &&
        now_ms - s->unerased_since_ms < S_ERASE_MAX_MS)
        return HV_OK; /* busy: later, when quiet, or at the latest */
    /* Commits to erase: a truncation is dated or due; the checkpointer,
     * perhaps asleep, copies everything from now (s_checkpoint). */
    if (s->unerased_since_ms != 0 && !__atomic_load_n(&s->ckpt_all, __ATOMIC_RELAXED)) {
        __atomic_store_n(&s->ckpt_all, 1, __ATOMIC_RELAXED);
        hv_every_kick(s->checkpointer);
    }
    hv_err err = hv_db_erase_tick(s->db, &s->erase, now_ms, S_ERASE_WAIT_MS, truncated);
    if (*truncated) {
        s->unerased_since_ms = 0;
        __atomic_store_n(&s->ckpt_all, 0, __ATOMIC_RELAXED);
    }
    return err;
}

const hv_db_erase *hv_store_erase_stats(const hv_store *s) { return &s->erase; }

const char *hv_store_error(const hv_store *s)
{
    return s->commit_error[0] != '\0' ? s->commit_error : sqlite3_errmsg(s->db);
}

void hv_store_rollback(hv_store *s)
{
    if (s->in_txn || !sqlite3_get_autocommit(s->db)) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_txn = false;
        s->recount = true;
    }
}

int hv_store_errcode(const hv_store *s)
{
    return s->commit_error[0] != '\0' ? s->commit_code : sqlite3_extended_errcode(s->db);
}

hv_err hv_store_probe(hv_store *s)
{
    hv_store_rollback(s);
    s->commit_error[0] = '\0';
    char sql[96];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; PRAGMA user_version=%d; COMMIT", S_FORMAT);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return HV_OK;
    snprintf(s->commit_error, sizeof s->commit_error, "%s", sqlite3_errmsg(s->db));
    s->commit_code = sqlite3_extended_errcode(s->db);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return HV_ESTORE;
}

hv_err hv_store_commit(hv_store *s)
{
    if (!s->in_txn)
        return HV_OK;
    if (hv_store_done(s->stmt[S_COMMIT], sqlite3_step(s->stmt[S_COMMIT])) != HV_OK) {
        /* Nothing of a failed group may commit later: its senders were
         * told to send again and its audit records were forgotten. The
         * reason is kept first: the rollback replaces SQLite's message. */
        snprintf(s->commit_error, sizeof s->commit_error, "%s", sqlite3_errmsg(s->db));
        s->commit_code = sqlite3_extended_errcode(s->db);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_txn = false;
        s->recount = true;
        return HV_ESTORE;
    }
    s->in_txn = false;
    s->commits++;
    return HV_OK;
}

hv_err hv_store_put(hv_store *s, const hv_stored *m, int64_t now_ms, bool *duplicate)
{
    *duplicate = false;
    sqlite3_stmt *st = s->stmt[S_DEDUP_GET];
    sqlite3_bind_blob(st, 1, m->id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool same = strcmp((const char *)sqlite3_column_text(st, 0), m->sender) == 0;
        hv_store_done(st, rc);
        if (!same)
            return HV_EEXIST;
        *duplicate = true;
        return HV_OK;
    }
    if (hv_store_done(st, rc) != HV_OK)
        return HV_ESTORE;

    st = s->stmt[S_QUEUE_PUT];
    sqlite3_bind_blob(st, 1, m->id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->recipient, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->sender, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)m->type);
    sqlite3_bind_int64(st, 5, now_ms);
    sqlite3_bind_int64(st, 6, m->expires_ms);
    if (m->referral != NULL)
        sqlite3_bind_blob(st, 7, m->referral, 16, SQLITE_STATIC);
    if (hv_store_done(st, sqlite3_step(st)) != HV_OK)
        return HV_ESTORE;
    sqlite3_int64 seq = sqlite3_last_insert_rowid(s->db);

    st = s->stmt[S_BODY_PUT];
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_blob(st, 2, m->envelope, (int)m->envelope_len, SQLITE_STATIC);
    if (hv_store_done(st, sqlite3_step(st)) != HV_OK)
        return HV_ESTORE;

    st = s->stmt[S_DEDUP_PUT];
    sqlite3_bind_blob(st, 1, m->id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->sender, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, m->expires_ms);
    sqlite3_bind_int64(st, 4, seq);
    return hv_store_done(st, sqlite3_step(st));
}

hv_err hv_store_remove_seq(hv_store *s, int64_t seq, bool keep_body)
{
    sqlite3_stmt *st = s->stmt[S_QUEUE_DEL];
    sqlite3_bind_int64(st, 1, seq);
    if (hv_store_done(st, sqlite3_step(st)) != HV_OK)
        return HV_ESTORE;
    if (keep_body)
        return HV_OK;
    st = s->stmt[S_BODY_DEL];
    sqlite3_bind_int64(st, 1, seq);
    return hv_store_done(st, sqlite3_step(st));
}

hv_err hv_store_remove(hv_store *s, const uint8_t id[16], const char *recipient, bool *found)
{
    *found = false;
    sqlite3_stmt *st = s->stmt[S_QUEUED_SEQ];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (hv_store_done(st, rc) != HV_OK)
        return HV_ESTORE;
    if (rc != SQLITE_ROW)
        return HV_OK;
    *found = true;
    return hv_store_remove_seq(s, seq, false);
}


hv_err hv_store_next(hv_store *s, const char *recipient, int64_t after_seq, size_t max,
                     hv_store_visit fn, void *arg)
{
    sqlite3_stmt *st = s->stmt[S_NEXT];
    sqlite3_bind_text(st, 1, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *id = sqlite3_column_blob(st, 1);
        if (id == NULL || sqlite3_column_bytes(st, 1) != 16)
            continue;
        if (!fn(arg, sqlite3_column_int64(st, 0), id, sqlite3_column_blob(st, 2),
                (size_t)sqlite3_column_bytes(st, 2), (unsigned)sqlite3_column_int(st, 3))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return hv_store_done(st, rc);
}

hv_err hv_store_attempted(hv_store *s, const uint8_t id[16])
{
    sqlite3_stmt *st = s->stmt[S_ATTEMPTED];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    return hv_store_done(st, sqlite3_step(st));
}

static hv_err s_notice(hv_store *s, const char *node, const uint8_t id[16], unsigned code,
                       const char *reason)
{
    sqlite3_stmt *st = s->stmt[S_BURY_NOTICE];
    sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, (int)code);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    return hv_store_done(st, sqlite3_step(st));
}

hv_err hv_store_bury(hv_store *s, const uint8_t id[16], const char *recipient, unsigned code,
                     const char *reason, int64_t now_ms, bool *found, char *sender_out)
{
    *found = false;
    sqlite3_stmt *st = s->stmt[S_BURY_COPY];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)code);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms);
    int rc = sqlite3_step(st);
    char sender[72] = "";
    if (rc == SQLITE_ROW) {
        const char *snd = (const char *)sqlite3_column_text(st, 0);
        if (snd != NULL && strlen(snd) < sizeof sender)
            strcpy(sender, snd);
        rc = sqlite3_step(st);
    }
    if (hv_store_done(st, rc) != HV_OK)
        return HV_ESTORE;
    if (sender[0] == '\0')
        return HV_OK;
    *found = true;
    if (sender_out != NULL)
        snprintf(sender_out, HV_NODE_ID_MAX + 1, "%s", sender);
    hv_err err = s_notice(s, sender, id, code, reason);
    bool removed;
    if (err == HV_OK)
        err = hv_store_remove(s, id, recipient, &removed);
    return err;
}

hv_err hv_store_expire(hv_store *s, int64_t now_ms, size_t max, size_t *moved,
                       hv_store_id_visit fn, void *arg)
{
    *moved = 0;
    /* Collect first: burying changes the table being read. */
    typedef struct {
        uint8_t id[16];        /* message id */
        char recipient[72];    /* its recipient */
    } expired;
    expired *list = calloc(max > 0 ? max : 1, sizeof *list);
    if (list == NULL)
        return HV_ENOMEM;
    size_t n = 0;
    sqlite3_stmt *st = s->stmt[S_EXPIRED_IDS];
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
        const char *r = (const char *)sqlite3_column_text(st, 1);
        if (sqlite3_column_bytes(st, 0) != 16 || r == NULL || strlen(r) >= sizeof list[n].recipient)
            continue;
        memcpy(list[n].id, sqlite3_column_blob(st, 0), 16);
        strcpy(list[n].recipient, r);
        n++;
    }
    hv_err err = hv_store_done(st, rc);
    for (size_t i = 0; err == HV_OK && i < n; i++) {
        bool found;
        err = hv_store_bury(s, list[i].id, list[i].recipient, HV_EEXPIRED,
                            "time to live passed before delivery", now_ms, &found, NULL);
        if (found)
            (*moved)++;
        if (found && fn != NULL)
            fn(arg, list[i].id);
    }
    free(list);
    if (err != HV_OK)
        return err;
    st = s->stmt[S_DEDUP_PRUNE];
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    return hv_store_done(st, sqlite3_step(st));
}

hv_err hv_store_notices(hv_store *s, const char *node, size_t max, hv_store_notice_visit fn,
                        void *arg)
{
    sqlite3_stmt *st = s->stmt[S_NOTICES];
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        if (!fn(arg, sqlite3_column_blob(st, 0), (unsigned)sqlite3_column_int(st, 1),
                (const char *)sqlite3_column_text(st, 2))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return hv_store_done(st, rc);
}

hv_err hv_store_notice_done(hv_store *s, const char *node, const uint8_t id[16], bool *found)
{
    sqlite3_stmt *st = s->stmt[S_NOTICE_DONE];
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
    hv_err err = hv_store_done(st, sqlite3_step(st));
    *found = err == HV_OK && sqlite3_changes(s->db) > 0;
    return err;
}

hv_err hv_store_notice_relay(hv_store *s, const uint8_t id[16], unsigned code,
                             const char *reason, bool *found, char *sender_out)
{
    *found = false;
    sqlite3_stmt *st = s->stmt[S_DEDUP_GET];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    char sender[HV_NODE_ID_MAX + 1] = "";
    if (rc == SQLITE_ROW) {
        const char *snd = (const char *)sqlite3_column_text(st, 0);
        if (snd != NULL && strlen(snd) < sizeof sender)
            strcpy(sender, snd);
        rc = SQLITE_DONE;
    }
    if (hv_store_done(st, rc) != HV_OK)
        return HV_ESTORE;
    if (sender[0] == '\0')
        return HV_OK; /* forgotten already, or never ours */
    *found = true;
    snprintf(sender_out, HV_NODE_ID_MAX + 1, "%s", sender);
    return s_notice(s, sender, id, code, reason);
}

hv_err hv_store_notice_done_id(hv_store *s, const uint8_t id[16], bool *found)
{
    sqlite3_stmt *st = s->stmt[S_NOTICE_DONE_ID];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    hv_err err = hv_store_done(st, sqlite3_step(st));
    *found = err == HV_OK && sqlite3_changes(s->db) > 0;
    return err;
}

hv_err hv_store_depths(hv_store *s, hv_store_depth_visit fn, void *arg)
{
    sqlite3_stmt *st = s->stmt[S_DEPTHS];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    return hv_store_done(st, rc);
}

hv_err hv_store_stats_get(hv_store *s, hv_store_stats *out)
{
    sqlite3_stmt *st = s->stmt[S_STATS];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->queued = sqlite3_column_int64(st, 0);
        out->dead = sqlite3_column_int64(st, 1);
        out->notices = sqlite3_column_int64(st, 2);
    }
    hv_err err = hv_store_done(st, rc);
    if (err == HV_OK && s->recount && !s->in_txn)
        err = hv_store_count_retained(s);
    out->retained = s->retained;
    return err;
}

/* Operators' actions are rare: their statements are prepared per call. */
static sqlite3_stmt *s_prep(hv_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    return sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
}

hv_err hv_store_dead_list(hv_store *s, size_t max, hv_store_dead_visit fn, void *arg)
{
    sqlite3_stmt *st = s_prep(s, "SELECT id, sender, recipient, type, code, reason, attempts, "
                                 "stored_ms, died_ms, length(envelope) FROM dead_letters "
                                 "ORDER BY died_ms DESC LIMIT ?1");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        hv_dead d;
        memcpy(d.id, sqlite3_column_blob(st, 0), 16);
        d.sender = (const char *)sqlite3_column_text(st, 1);
        d.recipient = (const char *)sqlite3_column_text(st, 2);
        d.type = (unsigned)sqlite3_column_int(st, 3);
        d.code = (unsigned)sqlite3_column_int(st, 4);
        d.reason = (const char *)sqlite3_column_text(st, 5);
        d.attempts = (unsigned)sqlite3_column_int(st, 6);
        d.stored_ms = sqlite3_column_int64(st, 7);
        d.died_ms = sqlite3_column_int64(st, 8);
        d.bytes = (size_t)sqlite3_column_int64(st, 9);
        if (!fn(arg, &d))
            break;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HV_OK : HV_ESTORE;
}

hv_err hv_store_dead_requeue(hv_store *s, const uint8_t id[16], int64_t now_ms, char *queue)
{
    sqlite3_stmt *st = s_prep(s, "SELECT d.recipient, x.expires_ms FROM dead_letters d LEFT "
                                 "JOIN dedup x ON x.id = d.id WHERE d.id = ?1");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_ROW ? HV_OK : rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    if (err == HV_OK) {
        snprintf(queue, HV_NODE_ID_MAX + 2, "%s", (const char *)sqlite3_column_text(st, 0));
        /* No dedup row left means its time to live passed long ago. */
        if (sqlite3_column_type(st, 1) == SQLITE_NULL || sqlite3_column_int64(st, 1) <= now_ms)
            err = HV_EEXPIRED;
    }
    sqlite3_finalize(st);
    if (err != HV_OK)
        return err;
    const char *const steps[] = {
        "INSERT INTO queue (id, recipient, sender, type, attempts, stored_ms, expires_ms) "
        "SELECT d.id, d.recipient, d.sender, d.type, d.attempts, d.stored_ms, x.expires_ms "
        "FROM dead_letters d JOIN dedup x ON x.id = d.id WHERE d.id = ?1",
        "UPDATE dedup SET seq = last_insert_rowid() WHERE id = ?1",
        "INSERT INTO bodies (seq, envelope) SELECT x.seq, d.envelope "
        "FROM dead_letters d JOIN dedup x ON x.id = d.id "
        "WHERE d.id = ?1",
        "DELETE FROM dead_letters WHERE id = ?1",
    };
    for (size_t i = 0; err == HV_OK && i < sizeof steps / sizeof steps[0]; i++) {
        if ((st = s_prep(s, steps[i])) == NULL)
            return HV_ESTORE;
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            err = HV_ESTORE;
        sqlite3_finalize(st);
    }
    return err;
}

hv_err hv_store_dead_purge(hv_store *s, const uint8_t id[16])
{
    sqlite3_stmt *st = s_prep(s, "DELETE FROM dead_letters WHERE id = ?1");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return HV_ESTORE;
    return sqlite3_changes(s->db) > 0 ? HV_OK : HV_ENOTFOUND;
}

hv_err hv_store_admin_record(hv_store *s, int64_t now_ms, const char *operator_id,
                             const char *action, const uint8_t id[16], const char *result)
{
    sqlite3_stmt *st = s_prep(s, "INSERT INTO admin_log (at_ms, operator, action, id, result) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (st == NULL)
        return HV_ESTORE;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, operator_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    if (id != NULL)
        sqlite3_bind_blob(st, 4, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, result, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? HV_OK : HV_ESTORE;
}

hv_err hv_store_audit_put(hv_store *s, uint64_t last_seq, const char *lines, size_t len)
{
    hv_err err = hv_store_begin(s);
    if (err != HV_OK)
        return err;
    sqlite3_stmt *st = s->stmt[S_AUDIT_PUT];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)last_seq);
    sqlite3_bind_text(st, 2, lines, (int)len, SQLITE_STATIC);
    return hv_store_done(st, sqlite3_step(st));
}

hv_err hv_store_audit_release(hv_store *s, uint64_t upto_seq)
{
    hv_err err = hv_store_begin(s);
    if (err != HV_OK)
        return err;
    sqlite3_stmt *st = s->stmt[S_AUDIT_RELEASE];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)upto_seq);
    return hv_store_done(st, sqlite3_step(st));
}

hv_err hv_store_audit_replay(hv_store *s, hv_store_audit_visit fn, void *arg)
{
    sqlite3_stmt *st = s->stmt[S_AUDIT_LIST];
    hv_err err = HV_OK;
    int rc;
    while (err == HV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = fn(arg, (const char *)sqlite3_column_text(st, 0),
                 (size_t)sqlite3_column_bytes(st, 0));
    hv_store_done(st, SQLITE_DONE);
    return err;
}
