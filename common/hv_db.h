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
