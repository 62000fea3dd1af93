/* SQLite helpers shared by every store: open with Haven's durability
 * settings, run statements, map SQLite failures to hv_err. */
#ifndef HV_DB_H
#define HV_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_err.h"

/* Opens (creating if needed) the database at `path` in WAL mode with
 * synchronous=FULL, foreign keys on, a busy timeout of HV_DB_BUSY_MS,
 * secure_delete on (what a statement deletes is overwritten with zeros in
 * the page, freed pages included) and the WAL file limited to
 * HV_DB_WAL_LIMIT bytes whenever it starts over, then runs `schema`
 * (idempotent CREATE ... IF NOT EXISTS statements). The file is created
 * mode 0600. Caller owns `*out` (sqlite3_close_v2). What secure_delete
 * cannot reach, the frames the WAL still holds, hv_db_erase_tick removes. */
HV_MUST_CHECK hv_err hv_db_open(sqlite3 **out, const char *path, const char *schema,
                                hv_errmsg *e);

/* As hv_db_open, with the page size a new file is created with (bytes, a
 * power of two from 512 to 65536; an existing file keeps its own). */
HV_MUST_CHECK hv_err hv_db_open_paged(sqlite3 **out, const char *path, const char *schema,
                                      int page_size, hv_errmsg *e);

/* Where a refused store's operator reads what to do (docs/OPERATIONS.md). */
#define HV_DB_RESTORE_HINT "restore it from a backup: docs/OPERATIONS.md#restoring-a-damaged-store"

/* How deep hv_db_check looks. QUICK is PRAGMA quick_check: every page of
 * every b-tree is read and its structure checked (cells, free list, page
 * ownership, record formats), which costs about one read of the file
 * (docs/BENCHMARKS.md); every store runs it when it is opened. FULL is
 * PRAGMA integrity_check: QUICK, and every index entry matched against
 * its table row, for an offline check (--check-store). */
typedef enum hv_db_depth { HV_DB_QUICK = 0, HV_DB_FULL = 1 } hv_db_depth;

/* What a check found. Fields are filled by hv_db_check. */
typedef struct hv_db_checked {
    int64_t pages;        /* pages in the file */
    int64_t page_size;    /* bytes a page */
    int64_t took_us;      /* how long the check took, the read ahead included */
    int64_t ahead_us;     /* ...of which reading the file ahead, in order */
    int problems;         /* problems reported (at most HV_DB_CHECK_MAX) */
    char first[200];      /* the first, in SQLite's words, or "" */
} hv_db_checked;

/* The most problems a check lists before it stops. */
#define HV_DB_CHECK_MAX 20

/* Checks the open database `db` (of file `path`, for messages) as `depth`
 * says, after reading the file once in order so that the check's reads,
 * which follow the b-trees and jump about the file, find its pages in the
 * page cache (six times faster on a cold cache, docs/BENCHMARKS.md); `found` (may be NULL) gets what it found. Calls `line(arg, text)`
 * with each problem when `line` is not NULL. Returns HV_OK when SQLite
 * reports "ok", else HV_ESTORE with "PATH: damaged: FIRST PROBLEM (N
 * problems); restore it from a backup: ..." in `e`. */
typedef void (*hv_db_problem_fn)(void *arg, const char *text);
HV_MUST_CHECK hv_err hv_db_check(sqlite3 *db, const char *path, hv_db_depth depth,
                                 hv_db_checked *found, hv_db_problem_fn line, void *arg,
                                 hv_errmsg *e);

/* Opens the existing store at `path` read-only (nothing is created or
 * written; a daemon using it should be stopped) and checks it as
 * hv_db_check. HV_ENOTFOUND when there is no such file. */
HV_MUST_CHECK hv_err hv_db_check_path(const char *path, hv_db_depth depth, hv_db_checked *found,
                                      hv_db_problem_fn line, void *arg, hv_errmsg *e);

/* What a failure of SQLite means for the store that met it: nothing
 * lasting (a busy lock, a constraint), the disk full (SQLITE_FULL: may
 * pass when space is freed), the file damaged (SQLITE_CORRUPT, NOTADB) or
 * an I/O error (SQLITE_IOERR, CANTOPEN, READONLY): the store is not to be
 * trusted until an operator has looked. */
typedef enum hv_db_fault {
    HV_DB_FAULT_NONE = 0,
    HV_DB_FAULT_FULL = 1,
    HV_DB_FAULT_DAMAGED = 2,
    HV_DB_FAULT_IO = 3,
} hv_db_fault;

/* The fault of SQLite result code `rc` (primary or extended). */
hv_db_fault hv_db_fault_of(int rc);

/* The fault in words for logs and /healthz: "disk full", "damaged",
 * "I/O error", "none" (static). */
const char *hv_db_fault_name(hv_db_fault f);

/* How long a connection waits for a lock another holds, in ms. */
#define HV_DB_BUSY_MS 5000

/* journal_size_limit: the bytes a WAL keeps when it starts over. */
#define HV_DB_WAL_LIMIT (4 * 1024 * 1024)

/* Copies every frame of the WAL into the database and truncates the WAL
 * to zero bytes (a TRUNCATE checkpoint), so that no earlier version of a
 * page, and nothing a transaction deleted, stays in the -wal file. Waits at
 * most `wait_ms` for the locks it needs (another checkpoint, a writer, a
 * reader of an older snapshot such as a backup). Returns HV_OK, HV_ETIMEOUT
 * when they stayed taken or `db` is inside a transaction (nothing is lost:
 * try again later), HV_ESTORE. */
HV_MUST_CHECK hv_err hv_db_truncate_wal(sqlite3 *db, int wait_ms);

/* A store's erasure schedule (hv_db_erase_tick). Fields are private; zero
 * it, then set `every_ms`. */
typedef struct hv_db_erase {
    int64_t every_ms;  /* longest a committed WAL frame stays before truncation */
    int64_t due_ms;    /* monotonic ms: when the WAL is next truncated, 0 = not yet dated */
    uint64_t truncated; /* truncations done */
    uint64_t deferred;  /* attempts that found the WAL in use */
    int64_t spent_us;   /* time spent truncating, in all */
    int64_t longest_us; /* the longest truncation */
} hv_db_erase;

/* The erasure policy shared by every store: the WAL of `db` is truncated
 * (hv_db_truncate_wal, waiting at most `wait_ms`) at most `every_ms` after
 * anything was committed to it, checked at each call (`now_ms` from
 * hv_mono_ms); an empty WAL costs one stat(2). An attempt that finds the
 * WAL in use is tried again `every_ms` later; a call inside a transaction
 * of `db` does nothing. `*done` (may be NULL) tells whether it truncated now. Returns as hv_db_truncate_wal, HV_OK when
 * nothing was due. */
HV_MUST_CHECK hv_err hv_db_erase_tick(sqlite3 *db, hv_db_erase *er, int64_t now_ms,
                                      int wait_ms, bool *done);

/* Runs one or more statements without results. */
HV_MUST_CHECK hv_err hv_db_exec(sqlite3 *db, const char *sql, hv_errmsg *e);

/* Prepares a statement; caller finalizes it. */
HV_MUST_CHECK hv_err hv_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out,
                                   hv_errmsg *e);

/* Milliseconds since 1970 (wall clock) and a monotonic millisecond clock. */
int64_t hv_now_ms(void);
int64_t hv_mono_ms(void);

/* The same clock in microseconds. */
int64_t hv_mono_us(void);

#endif
