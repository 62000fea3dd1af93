/* `haven backup` / `haven restore`: see hv_cli_backup.h for what a backup
 * is and what a restore refuses. Exit codes as for every haven command:
 * 0 done, 1 refused (the HV_ code named), 2 usage, 3 system. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hv_broker.h"
#include "hv_cli.h"
#include "hv_cli_backup.h"
#include "hv_file.h"
#include "hv_worker.h"


#define S_FORMAT 1         /* haven_backup.format of the files this code writes */
#define S_BUSY_MS 5000     /* how long a backup waits for the daemon's write lock */
#define S_CONFIG_MAX 65536 /* a node's configuration file is far smaller */
#define S_WHY (2 * PATH_MAX + 512) /* room for two paths and the words around them */
/* A restored worker asks its broker to send again what it acknowledged
 * since the backup was taken, less this margin for the two clocks' skew
 * (the broker's clock stamps the ACKs, the backup's host the backup):
 * what came just before the backup comes again and its seen id drops it. */
#define S_REPLAY_MARGIN_S (10 * 60)

/* The node a configuration file describes. */
typedef struct s_node {
    char id[HV_NODE_ID_MAX + 1]; /* its node id */
    const char *kind;            /* "broker" or "worker" */
    char store[PATH_MAX];        /* its store, absolute or relative to the cwd */
} s_node;

static int s_refuse(const char *what, hv_err err, const char *text)
{
    fprintf(stderr, "haven: %s: %s (%s)%s%s\n", what, hv_strerror(err), hv_errname(err),
            text[0] ? ": " : "", text);
    return hv_cli_exit_code(err);
}

/* As s_refuse, for a store that is in use or a backup that is damaged: a
 * refusal of what was asked (exit 1), not a failure of this system. */
static int s_refuse_input(const char *what, hv_err err, const char *text)
{
    s_refuse(what, err, text);
    return EXIT_REFUSED;
}

/* Whether the INI text has a line "[broker]": a broker's configuration. */
static bool s_is_broker(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        while (n > 0 && (*p == ' ' || *p == '\t'))
            p++, n--;
        if (n >= 8 && memcmp(p, "[broker]", 8) == 0)
            return true;
        p += n + 1;
    }
    return false;
}

/* Reads the node's id and store from its configuration, a broker's or a
 * worker's, with the daemon's own parser (so the same errors). */
static int s_load_node(const char *config, s_node *node)
{
    uint8_t *text = NULL;
    size_t len = 0;
    hv_errmsg e = {""};
    hv_err err = hv_file_read(config, S_CONFIG_MAX, &text, &len, &e);
    if (err != HV_OK)
        return s_refuse(config, err, e.text);
    bool broker = s_is_broker((const char *)text, len);
    free(text);
    if (broker) {
        hv_broker_config *cfg = calloc(1, sizeof *cfg);
        err = cfg ? hv_broker_config_load(config, cfg, &e) : HV_ENOMEM;
        if (err == HV_OK) {
            snprintf(node->id, sizeof node->id, "%s", cfg->id);
            snprintf(node->store, sizeof node->store, "%s", cfg->store);
        }
        free(cfg);
    } else {
        hv_worker_config *cfg = calloc(1, sizeof *cfg);
        err = cfg ? hv_worker_config_load(config, cfg, &e) : HV_ENOMEM;
        if (err == HV_OK) {
            snprintf(node->id, sizeof node->id, "%s", cfg->id);
            snprintf(node->store, sizeof node->store, "%s", cfg->store);
        }
        free(cfg);
    }
    node->kind = broker ? "broker" : "worker";
    return err == HV_OK ? 0 : s_refuse(config, err, e.text);
}

/* Runs SQL without results on `db`; on failure copies SQLite's message. */
static bool s_exec(sqlite3 *db, const char *sql, char *why, size_t cap)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    snprintf(why, cap, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return false;
}

/* Copies the whole of `src` into `dst` in one step: one read transaction
 * on `src`, hence one consistent state of it. Returns an SQLite code. */
static int s_copy(sqlite3 *dst, sqlite3 *src)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == NULL)
        return sqlite3_errcode(dst);
    int rc = sqlite3_backup_step(b, -1);
    int fin = sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? fin : rc;
}

int hv_cli_backup(const opts *o)
{
    const char *config = hv_cli_need(o, "config"), *out = config ? hv_cli_need(o, "out") : NULL;
    if (config == NULL || out == NULL)
        return EXIT_USAGE;
    s_node node;
    int rc = s_load_node(config, &node);
    if (rc != 0)
        return rc;
    sqlite3 *src = NULL, *dst = NULL;
    char why[S_WHY] = "";
    bool created = false;
    if (access(node.store, F_OK) != 0) {
        snprintf(why, sizeof why, "%s's store %s does not exist", node.id, node.store);
        return s_refuse("backup", HV_ENOTFOUND, why);
    }
    /* A backup holds what the store holds: only its owner may read it,
     * and an existing file is never overwritten. */
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, sizeof why, "cannot create %s: %s", out, strerror(errno));
        return s_refuse("backup", errno == EEXIST ? HV_EEXIST : HV_EIO, why);
    }
    close(fd);
    created = true;
    /* Read-write: reading a store in WAL mode takes part in its shared
     * memory; the copy itself only reads. */
    if (sqlite3_open_v2(node.store, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
        snprintf(why, sizeof why, "cannot open %s", src ? out : node.store);
        rc = s_refuse("backup", HV_ESTORE, why);
        goto done;
    }
    sqlite3_busy_timeout(src, S_BUSY_MS);
    /* Taken at: before the copy's read transaction begins, so that the
     * backup holds nothing acknowledged later than this. */
    long long taken_at = (long long)time(NULL);
    int src_rc = s_copy(dst, src);
    if (src_rc != SQLITE_OK) {
        snprintf(why, sizeof why, "copying %s: %s", node.store, sqlite3_errstr(src_rc));
        rc = s_refuse("backup", HV_ESTORE, why);
        goto done;
    }
    /* The copy is one self-contained file (no -wal beside it), with the
     * node it belongs to written in it. */
    char *sql = sqlite3_mprintf(
        "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
        "CREATE TABLE haven_backup (format INTEGER NOT NULL, node TEXT NOT NULL,"
        " kind TEXT NOT NULL, taken_at INTEGER NOT NULL, source TEXT NOT NULL);"
        "INSERT INTO haven_backup VALUES (%d, %Q, %Q, %lld, %Q);",
        S_FORMAT, node.id, node.kind, taken_at, node.store);
    bool ok = sql != NULL && s_exec(dst, sql, why, sizeof why);
    sqlite3_free(sql);
    if (!ok) {
        rc = s_refuse("backup", HV_ESTORE, why);
        goto done;
    }
    sqlite3_int64 pages = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(dst, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        pages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    printf("backed up the store of %s %s (%s, %lld pages) to %s\n", node.kind, node.id,
           node.store, (long long)pages, out);
done:
    if (sqlite3_close(dst) != SQLITE_OK && rc == 0)
        rc = s_refuse("backup", HV_ESTORE, "closing the backup failed");
    sqlite3_close(src);
    if (rc != 0 && created)
        unlink(out);
    return rc;
}

/* Checks that `path` is a Haven backup of `node`. Returns 0 or an exit
 * code (printed). `*taken_at` gets when it was taken. */
static int s_check_backup(sqlite3 *db, const char *path, const s_node *node, long long *taken_at)
{
    char why[S_WHY];
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "SELECT format, node, kind, taken_at FROM haven_backup", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(why, sizeof why, "%s is not a Haven backup (no haven_backup table)", path);
        rc = s_refuse("restore", HV_EDECODE, why);
    } else if (sqlite3_column_int(st, 0) != S_FORMAT) {
        snprintf(why, sizeof why, "%s is a Haven backup of format %d, this haven reads %d", path,
                 sqlite3_column_int(st, 0), S_FORMAT);
        rc = s_refuse("restore", HV_EVERSION, why);
    } else if (strcmp((const char *)sqlite3_column_text(st, 1), node->id) != 0 ||
               strcmp((const char *)sqlite3_column_text(st, 2), node->kind) != 0) {
        snprintf(why, sizeof why, "%s is a backup of %s %s, not of %s %s", path,
                 (const char *)sqlite3_column_text(st, 2),
                 (const char *)sqlite3_column_text(st, 1), node->kind, node->id);
        rc = s_refuse("restore", HV_EADDRESS, why);
    } else {
        *taken_at = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0 && sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
        (sqlite3_step(st) != SQLITE_ROW ||
         strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)) {
        snprintf(why, sizeof why, "%s is damaged (PRAGMA quick_check)", path);
        rc = s_refuse_input("restore", HV_ESTORE, why);
    }
    sqlite3_finalize(st);
    return rc;
}

/* A store this command creates belongs to whoever owns its directory (the
 * daemon's user, /var/lib/haven), not to the administrator running it. */
static void s_own_like_dir(const char *path)
{
    char dir[PATH_MAX];
    hv_file_dir(path, dir, sizeof dir);
    struct stat st;
    if (stat(dir, &st) == 0 && geteuid() == 0 && chown(path, st.st_uid, st.st_gid) != 0)
        fprintf(stderr, "haven: warning: cannot give %s to uid %u\n", path, (unsigned)st.st_uid);
}

int hv_cli_restore(const opts *o)
{
    const char *config = hv_cli_need(o, "config"), *in = config ? hv_cli_need(o, "in") : NULL;
    if (config == NULL || in == NULL)
        return EXIT_USAGE;
    s_node node;
    int rc = s_load_node(config, &node);
    if (rc != 0)
        return rc;
    char why[S_WHY] = "";
    sqlite3 *src = NULL, *dst = NULL;
    long long taken_at = 0;
    if (access(in, R_OK) != 0) {
        snprintf(why, sizeof why, "cannot read %s: %s", in, strerror(errno));
        return s_refuse("restore", errno == ENOENT ? HV_ENOTFOUND : HV_EIO, why);
    }
    if (sqlite3_open_v2(in, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(why, sizeof why, "%s is not a Haven backup", in);
        rc = s_refuse("restore", HV_EDECODE, why);
        goto done;
    }
    if ((rc = s_check_backup(src, in, &node, &taken_at)) != 0)
        goto done;
    bool existed = access(node.store, F_OK) == 0;
    int fd = open(node.store, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, sizeof why, "cannot open %s: %s", node.store, strerror(errno));
        rc = s_refuse("restore", HV_ESTORE, why);
        goto done;
    }
    close(fd);
    if (!existed)
        s_own_like_dir(node.store);
    if (sqlite3_open_v2(node.store, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(why, sizeof why, "cannot open %s", node.store);
        rc = s_refuse("restore", HV_ESTORE, why);
        goto done;
    }
    /* A running daemon keeps its store open, and an open connection holds
     * a shared lock on the file for as long as it is open: taking the
     * exclusive lock, without waiting, tells whether anyone has the store
     * open. In exclusive locking mode the lock is kept until this
     * connection closes, so no daemon can open the store mid-restore. */
    if (!s_exec(dst, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;", why,
                sizeof why)) {
        snprintf(why, sizeof why, "%s is in use: stop %s's daemon first (e.g. systemctl stop "
                 "haven-%s@NAME)", node.store, node.id,
                 strcmp(node.kind, "broker") == 0 ? "broker" : "ROLE");
        rc = s_refuse_input("restore", HV_ESTORE, why);
        goto done;
    }
    /* Out of WAL mode for the copy: a store in WAL mode cannot take pages
     * of another size, and a lost store recreated empty has the default. */
    if (!s_exec(dst, "PRAGMA journal_mode=DELETE;", why, sizeof why)) {
        rc = s_refuse("restore", HV_ESTORE, why);
        goto done;
    }
    int copy_rc = s_copy(dst, src);
    if (copy_rc != SQLITE_OK) {
        snprintf(why, sizeof why, "copying into %s: %s", node.store, sqlite3_errstr(copy_rc));
        rc = s_refuse("restore", HV_ESTORE, why);
        goto done;
    }
    /* The store as the daemon keeps it: without the backup's own table,
     * in WAL mode. */
    if (!s_exec(dst, "DROP TABLE haven_backup; PRAGMA journal_mode=WAL;", why, sizeof why)) {
        rc = s_refuse("restore", HV_ESTORE, why);
        goto done;
    }
    /* A worker's client asks its broker for replay from the backup's time
     * (common/hv_client.h); a broker has nobody to ask (OPERATIONS.md). */
    long long replay_since_ms = (taken_at - S_REPLAY_MARGIN_S) * 1000;
    if (strcmp(node.kind, "worker") == 0) {
        char *sql = sqlite3_mprintf("CREATE TABLE IF NOT EXISTS replay_request (since_ms INTEGER "
                                    "NOT NULL); DELETE FROM replay_request; INSERT INTO "
                                    "replay_request VALUES (%lld);", replay_since_ms);
        bool ok = sql != NULL && s_exec(dst, sql, why, sizeof why);
        sqlite3_free(sql);
        if (!ok) {
            rc = s_refuse("restore", HV_ESTORE, why);
            goto done;
        }
    }
    char when[21];
    hv_time_format((uint64_t)taken_at, when);
    printf("restored the store of %s %s (%s) from %s, taken %s\n", node.kind, node.id,
           node.store, in, when);
    if (strcmp(node.kind, "worker") == 0) {
        char since[21];
        hv_time_format((uint64_t)(taken_at - S_REPLAY_MARGIN_S), since);
        printf("on its next start it asks its broker to deliver again what it acknowledged "
               "since %s\n", since);
    }
done:
    if (sqlite3_close(dst) != SQLITE_OK && rc == 0)
        rc = s_refuse("restore", HV_ESTORE, "closing the store failed");
    sqlite3_close(src);
    return rc;
}
