/* Small helpers for the workers' SQL: prepare, bind by a type string,
 * run. Worker stores are small and their statements run a few times per
 * referral, so statements are prepared per use for plainness.
 *
 * Type letters: 't' text (const char *), 'r' referral or message id
 * (const uint8_t[16]), 'x' blob (const void *, size_t), 'i' int64_t. */
#ifndef HV_SQL_H
#define HV_SQL_H

#include <sqlite3.h>
#include <stdint.h>

#include "hv_err.h"

/* Prepares `sql` and binds the arguments; NULL on failure (logged).
 * Caller finalizes the statement. */
sqlite3_stmt *hv_sql(sqlite3 *db, const char *sql, const char *types, ...);

/* Runs a statement that returns no rows. Returns HV_OK, HV_EEXIST when a
 * uniqueness constraint refuses the row, or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_sql_exec(sqlite3 *db, const char *sql, const char *types, ...);

/* Runs a query returning one integer (count(*), a state...); `*out` is
 * left alone when there is no row. Returns HV_OK, HV_ENOTFOUND (no row) or
 * HV_ESTORE. */
HV_MUST_CHECK hv_err hv_sql_int(sqlite3 *db, int64_t *out, const char *sql, const char *types,
                                ...);

/* Adds column `col` (declared `decl`) to `table` when the store lacks it
 * (one made by an older version). Names come from the program, never from
 * input. Returns HV_OK or HV_ESTORE. */
HV_MUST_CHECK hv_err hv_sql_ensure_column(sqlite3 *db, const char *table, const char *col,
                                          const char *decl);

/* Copies column `col` of the current row as text into `out` (capacity
 * `cap`, "" for NULL). */
void hv_sql_text(sqlite3_stmt *st, int col, char *out, size_t cap);

#endif
