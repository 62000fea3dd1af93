#include "hv_db.h"

#include <fcntl.h>
#include <stdio.h>
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
    sqlite3_busy_timeout(db, 5000);
    hv_err err = HV_OK;
    if (page_size > 0) {
        /* Takes effect only before the file's first write (and before WAL). */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA page_size=%d", page_size);
        err = hv_db_exec(db, sql, e);
    }
    if (err == HV_OK)
        err = hv_db_exec(db,
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                            "PRAGMA foreign_keys=ON;",
                            e);
    if (err == HV_OK && schema != NULL)
        err = hv_db_exec(db, schema, e);
    if (err != HV_OK) {
        sqlite3_close_v2(db);
        return hv_fail_prefix(e, err, path);
    }
    *out = db;
    return HV_OK;
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
