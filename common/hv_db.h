/* SQLite helpers shared by every store: open with Haven's durability
 * settings, run statements, map SQLite failures to hv_err. */
#ifndef HV_DB_H
#define HV_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "hv_err.h"

/* Opens (creating if needed) the database at `path` in WAL mode with
 * synchronous=FULL, foreign keys on and a busy timeout, then runs `schema`
 * (idempotent CREATE ... IF NOT EXISTS statements). The file is created
 * mode 0600. Caller owns `*out` (sqlite3_close_v2). */
HV_MUST_CHECK hv_err hv_db_open(sqlite3 **out, const char *path, const char *schema,
                                hv_errmsg *e);

/* As hv_db_open, with the page size a new file is created with (bytes, a
 * power of two from 512 to 65536; an existing file keeps its own). */
HV_MUST_CHECK hv_err hv_db_open_paged(sqlite3 **out, const char *path, const char *schema,
                                      int page_size, hv_errmsg *e);

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
