#include "hv_db.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

hv_err hv_db_exec(sqlite3 *db, const char *sql, hv_errmsg *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        hv_err err = hv_fail(e, HV_ESTORE, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return err;
    }
    return HV_OK;
}

hv_err hv_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out, hv_errmsg *e)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
        return hv_fail(e, HV_ESTORE, "sqlite: %s (in: %.80s)", sqlite3_errmsg(db), sql);
    return HV_OK;
}

hv_err hv_db_open(sqlite3 **out, const char *path, const char *schema, hv_errmsg *e)
{
    return hv_db_open_paged(out, path, schema, 0, e);
}

/* Keeps what SQLite writes for its own use (statement journals, which
 * hold copies of the pages a statement changes, and sorts) in memory.
 * Otherwise, past 64 KiB, it goes to an unlinked file in /var/tmp, whose
 * blocks keep deleted envelopes and node ids where no erasure reaches,
 * and an ACK under load wrote tens of KiB of it per envelope
 * (docs/DECISIONS.md, "No temporary files"). */
static void s_temp_in_memory(sqlite3 *db)
{
    (void)sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
}

hv_err hv_db_open_paged(sqlite3 **out, const char *path, const char *schema, int page_size,
                        hv_errmsg *e)
{
    /* Create the file ourselves so that its mode is 0600 from the start;
     * SQLite gives the -wal and -shm files the same mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return hv_fail(e, HV_ESTORE, "cannot open store %s", path);
    close(fd);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        hv_err err = hv_fail(e, HV_ESTORE, "cannot open store %s: %s", path,
                             db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return err;
    }
    sqlite3_busy_timeout(db, HV_DB_BUSY_MS);
    s_temp_in_memory(db);
    /* Checked before anything is written to it (docs/DECISIONS.md, "A
     * damaged store is refused"): a store with a damaged page would take
     * new work it can never hand out. */
    hv_err err = hv_db_check(db, path, HV_DB_QUICK, NULL, NULL, NULL, e);
    if (err != HV_OK) {
        sqlite3_close_v2(db);
        return err;
    }
    if (page_size > 0) {
        /* Takes effect only before the file's first write (and before WAL). */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA page_size=%d", page_size);
        err = hv_db_exec(db, sql, e);
    }
    if (err == HV_OK)
        err = hv_db_exec(db,
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                            "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                            e);
    if (err == HV_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%d", HV_DB_WAL_LIMIT);
        err = hv_db_exec(db, sql, e);
    }
    if (err == HV_OK && schema != NULL)
        err = hv_db_exec(db, schema, e);
    if (err != HV_OK) {
        sqlite3_close_v2(db);
        return hv_fail_prefix(e, err, path);
    }
    *out = db;
    return HV_OK;
}

/* Reads one integer pragma; 0 when it cannot. */
static int64_t s_pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Counts one problem; SQLite heads the first of a database with "*** in
 * database main ***" and a newline, which says nothing here (one database
 * a connection) and would break a log line in two. */
/* Reads the file at `path` once, in order, 1 MiB at a time, leaving its
 * pages in the page cache for the check that follows. */
static void s_read_ahead(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* the check reads it anyway */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    enum { S_AHEAD_CHUNK = 1 << 20 };
    char *buf = malloc(S_AHEAD_CHUNK);
    while (buf != NULL && read(fd, buf, S_AHEAD_CHUNK) > 0)
        ;
    free(buf);
    close(fd);
}

static void s_problem(hv_db_checked *r, const char *text, hv_db_problem_fn line, void *arg)
{
    if (strncmp(text, "*** in database ", 16) == 0 && strchr(text, '\n') != NULL)
        text = strchr(text, '\n') + 1;
    if (r->problems == 0)
        snprintf(r->first, sizeof r->first, "%s", text);
    r->problems++;
    if (line != NULL)
        line(arg, text);
}

hv_err hv_db_check(sqlite3 *db, const char *path, hv_db_depth depth, hv_db_checked *found,
                   hv_db_problem_fn line, void *arg, hv_errmsg *e)
{
    hv_db_checked r;
    memset(&r, 0, sizeof r);
    int64_t t0 = hv_mono_us();
    const char *file = sqlite3_db_filename(db, "main");
    if (file != NULL && file[0] != '\0')
        s_read_ahead(file);
    r.ahead_us = hv_mono_us() - t0;
    r.pages = s_pragma_int(db, "PRAGMA page_count");
    r.page_size = s_pragma_int(db, "PRAGMA page_size");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA %s(%d)",
             depth == HV_DB_FULL ? "integrity_check" : "quick_check", HV_DB_CHECK_MAX);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(st, 0);
            if (text != NULL && strcmp(text, "ok") != 0)
                s_problem(&r, text, line, arg);
        }
    }
    /* A file too damaged to be read at all (its header overwritten, say)
     * fails the statement itself: that is what was found. */
    if (rc != SQLITE_DONE && r.problems == 0)
        s_problem(&r, sqlite3_errmsg(db), line, arg);
    sqlite3_finalize(st);
    r.took_us = hv_mono_us() - t0;
    if (found != NULL)
        *found = r;
    if (r.problems == 0)
        return HV_OK;
    char more[48] = "";
    if (r.problems > 1)
        snprintf(more, sizeof more, " (and %d more problem%s)", r.problems - 1,
                 r.problems > 2 ? "s" : "");
    return hv_fail(e, HV_ESTORE, "%s: damaged: %s%s; " HV_DB_RESTORE_HINT, path, r.first, more);
}

hv_err hv_db_check_path(const char *path, hv_db_depth depth, hv_db_checked *found,
                        hv_db_problem_fn line, void *arg, hv_errmsg *e)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return hv_fail(e, HV_ENOTFOUND, "%s: no such store", path);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        hv_err err = hv_fail(e, HV_ESTORE, "%s: cannot open the store: %s", path,
                             db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return err;
    }
    sqlite3_busy_timeout(db, HV_DB_BUSY_MS);
    s_temp_in_memory(db);
    hv_err err = hv_db_check(db, path, depth, found, line, arg, e);
    sqlite3_close_v2(db);
    return err;
}

hv_db_fault hv_db_fault_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return HV_DB_FAULT_FULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return HV_DB_FAULT_DAMAGED;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
        return HV_DB_FAULT_IO;
    default:
        return HV_DB_FAULT_NONE;
    }
}

const char *hv_db_fault_name(hv_db_fault f)
{
    switch (f) {
    case HV_DB_FAULT_FULL:
        return "disk full";
    case HV_DB_FAULT_DAMAGED:
        return "damaged";
    case HV_DB_FAULT_IO:
        return "I/O error";
    default:
        return "none";
    }
}

hv_err hv_db_truncate_wal(sqlite3 *db, int wait_ms)
{
    if (!sqlite3_get_autocommit(db))
        return HV_ETIMEOUT; /* a transaction of this connection is open */
    sqlite3_busy_timeout(db, wait_ms);
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(db, HV_DB_BUSY_MS);
    if (rc == SQLITE_OK)
        return HV_OK;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? HV_ETIMEOUT : HV_ESTORE;
}

/* Whether the WAL beside the database of `db` holds anything. */
static bool s_wal_used(sqlite3 *db)
{
    const char *path = sqlite3_db_filename(db, "main");
    char wal[PATH_MAX];
    struct stat st;
    if (path == NULL || path[0] == '\0' ||
        snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal)
        return true; /* cannot tell: truncate anyway */
    return stat(wal, &st) == 0 && st.st_size > 0;
}

hv_err hv_db_erase_tick(sqlite3 *db, hv_db_erase *er, int64_t now_ms, int wait_ms, bool *done)
{
    if (done != NULL)
        *done = false;
    if (er->due_ms != 0 && now_ms < er->due_ms)
        return HV_OK;
    if (!sqlite3_get_autocommit(db))
        return HV_OK; /* inside a transaction: its commit first, the next call will do */
    if (!s_wal_used(db)) {
        er->due_ms = 0; /* dated again by the next commit seen */
        return HV_OK;
    }
    if (er->due_ms == 0) {
        /* The first call that sees frames dates them: they go within
         * every_ms of it (the caller calls often, so within that of their
         * commit). */
        er->due_ms = now_ms + er->every_ms;
        return HV_OK;
    }
    int64_t t0 = hv_mono_us();
    hv_err err = hv_db_truncate_wal(db, wait_ms);
    int64_t took = hv_mono_us() - t0;
    er->spent_us += took;
    if (took > er->longest_us)
        er->longest_us = took;
    if (err == HV_OK) {
        er->truncated++;
        er->due_ms = 0;
        if (done != NULL)
            *done = true;
    } else if (err == HV_ETIMEOUT) {
        /* Not at every call: each waited up to wait_ms. */
        er->deferred++;
        er->due_ms = now_ms + er->every_ms;
    }
    return err;
}

int64_t hv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hv_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hv_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
