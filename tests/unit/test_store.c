/* The broker's store: what its checkpointer thread does for the writer,
 * the replay window (retention on ACK, replay, pruning, forgetting), and
 * a damaged store refused at open (hv_db_check).
 * (Custody itself is tested end to end with real brokers in
 * tests/integration.) */
#include "hv_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_store.h"

static off_t s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Committed pages reach the main file through the checkpointer alone: the
 * writer copies them itself only once the WAL passes thousands of frames,
 * far more than this test writes. The checkpointer's own connection must
 * have read the store, or its checkpoints do nothing and say SQLITE_OK. */
static void test_checkpointer_copies_commits(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    hv_store *s = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);

    enum { N = 40, LEN = 2048 };
    static uint8_t envelope[LEN];
    memset(envelope, 0x5a, sizeof envelope);
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int i = 0; i < N; i++) {
        uint8_t id[16] = {0};
        id[0] = (uint8_t)i;
        hv_stored m = {.id = id, .sender = "intake.xa", .recipient = "shelter.xb",
                       .type = 1, .envelope = envelope, .envelope_len = LEN,
                       .expires_ms = 4102444800000};
        bool duplicate = true;
        assert_int_equal(hv_store_put(s, &m, 1700000000000, &duplicate), HV_OK);
        assert_false(duplicate);
    }
    assert_int_equal(hv_store_commit(s), HV_OK);

    /* Bounded wait: the checkpointer runs every 20 ms; 2 s is plenty. */
    off_t want = (off_t)N * LEN;
    for (int i = 0; i < 400 && s_size(path) < want; i++)
        usleep(5000);
    assert_true(s_size(path) >= want);

    hv_store_close(&s);
    assert_null(s);
    hvt_rmdir(dir);
    free(dir);
}

#define T0 1700000000000LL     /* stored at */
#define FAR 4102444800000LL    /* a time to live far away */

/* Takes message `n` (id n, referral `ref`, envelope bytes all `n`) into
 * custody for `rcpt`. */
static void s_put_len(hv_store *s, int n, const char *rcpt, unsigned type, uint8_t ref,
                      int64_t expires, size_t len)
{
    static uint8_t envelope[20000]; /* past a page: overflow pages */
    uint8_t id[16] = {0}, referral[16];
    assert_true(len <= sizeof envelope);
    id[0] = (uint8_t)n;
    memset(referral, ref, sizeof referral);
    memset(envelope, n, sizeof envelope);
    hv_stored m = {.id = id, .sender = "intake.xa", .recipient = rcpt, .type = type,
                   .envelope = envelope, .envelope_len = len,
                   .expires_ms = expires, .referral = referral};
    bool dup = true;
    assert_int_equal(hv_store_put(s, &m, T0, &dup), HV_OK);
    assert_false(dup);
}

static void s_put(hv_store *s, int n, const char *rcpt, unsigned type, uint8_t ref,
                  int64_t expires)
{
    s_put_len(s, n, rcpt, type, ref, expires, 64);
}

/* Whether the file holds `n` bytes `b` (a file that is not there holds
 * nothing). */
static bool s_file_has(const char *path, uint8_t b, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    uint8_t *file = malloc(len + 1), run[64];
    assert_true(n <= sizeof run);
    assert_int_equal(fread(file, 1, len, f), len);
    fclose(f);
    memset(run, b, n);
    bool found = memmem(file, len, run, n) != NULL;
    free(file);
    return found;
}

/* A PASSIVE checkpoint through a connection of our own, as the store's
 * checkpointer does: the main file gets the pages committed so far. */
static void s_checkpoint(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

static void s_ack(hv_store *s, int n, const char *rcpt, int64_t at, bool retain)
{
    uint8_t id[16] = {0};
    id[0] = (uint8_t)n;
    bool found = false;
    assert_int_equal(hv_store_ack(s, id, rcpt, at, retain, &found), HV_OK);
    assert_true(found);
}

static int64_t s_retained(hv_store *s)
{
    hv_store_stats st;
    assert_int_equal(hv_store_stats_get(s, &st), HV_OK);
    return st.retained;
}

typedef struct s_seen {
    int ids[32];      /* first id byte of each queued message, in order */
    int n;            /* how many */
} s_seen;

static bool s_collect(void *arg, int64_t seq, const uint8_t id[16], const uint8_t *env,
                      size_t len, unsigned attempts)
{
    (void)seq;
    s_seen *q = arg;
    assert_int_equal(len, 64);
    assert_int_equal(env[0], id[0]); /* the bytes that were stored */
    assert_int_equal(attempts, 0);
    q->ids[q->n++] = id[0];
    return q->n < 32;
}

static s_seen s_queue(hv_store *s, const char *rcpt)
{
    s_seen q = {{0}, 0};
    assert_int_equal(hv_store_next(s, rcpt, 0, 32, s_collect, &q), HV_OK);
    return q;
}

static hv_store *s_open(char **dir, char *path, size_t cap)
{
    *dir = hvt_tmpdir();
    snprintf(path, cap, "%s/broker.db", *dir);
    hv_store *s = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    return s;
}

/* An ACK that retains moves the row, in its transaction: a rolled back
 * group keeps it queued and the window empty. Without retention, or for
 * WITHDRAW and WITHDRAWN, nothing is kept. The count survives a reopen. */
static void test_ack_retains_in_the_same_transaction(void **state)
{
    (void)state;
    char *dir, path[512];
    hv_store *s = s_open(&dir, path, sizeof path);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_put(s, 1, "shelter.xb", HV_MSG_CASE_TRANSFER, 0xa1, FAR);
    s_put(s, 2, "shelter.xb", HV_MSG_OFFER, 0xa1, FAR);
    s_put(s, 3, "shelter.xb", HV_MSG_WITHDRAW, 0xa1, FAR);
    s_put(s, 4, "ngo.xa", HV_MSG_WITHDRAWN, 0xa1, FAR);
    assert_int_equal(hv_store_commit(s), HV_OK);

    /* Rolled back: the ACK and the move go together. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_ack(s, 1, "shelter.xb", T0 + 10, true);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10);
    /* Another connection sees neither half before the commit. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM queue), (SELECT "
                                            "count(*) FROM delivered)", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 4);
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    sqlite3_reset(st);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    sqlite3_reset(st);
    assert_int_equal(s_retained(s), 1);

    /* Retention off for this ACK; WITHDRAW and WITHDRAWN never kept. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_ack(s, 2, "shelter.xb", T0 + 20, false);
    s_ack(s, 3, "shelter.xb", T0 + 30, true);
    s_ack(s, 4, "ngo.xa", T0 + 40, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(s_retained(s), 1);
    /* Acknowledging again finds nothing. */
    uint8_t id[16] = {1};
    bool found = true;
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_ack(s, id, "shelter.xb", T0 + 50, true, &found), HV_OK);
    assert_false(found);
    assert_int_equal(hv_store_commit(s), HV_OK);
    hv_store_close(&s);
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    assert_int_equal(s_retained(s), 1);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* A replay puts back, in the original order and ahead of what was queued
 * since, exactly what the node acknowledged at or after the time asked,
 * and only for that node, and not what passed its time to live. */
static void test_replay_requeues_in_original_order(void **state)
{
    (void)state;
    char *dir, path[512];
    hv_store *s = s_open(&dir, path, sizeof path);
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int n = 1; n <= 6; n++)
        s_put(s, n, "shelter.xb", HV_MSG_STATUS, 0xb0, n == 5 ? T0 + 1000 : FAR);
    s_put(s, 7, "router.xc", HV_MSG_ACCEPT, 0xb0, FAR);
    assert_int_equal(hv_store_commit(s), HV_OK);
    /* Acknowledged out of order, 1 and 2 before the backup (T0 + 100). */
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_ack(s, 2, "shelter.xb", T0 + 50, true);
    s_ack(s, 1, "shelter.xb", T0 + 60, true);
    s_ack(s, 4, "shelter.xb", T0 + 200, true);
    s_ack(s, 3, "shelter.xb", T0 + 300, true);
    s_ack(s, 5, "shelter.xb", T0 + 400, true);
    s_ack(s, 7, "router.xc", T0 + 500, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    /* Queued since: 6 (still there) and 8. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_put(s, 8, "shelter.xb", HV_MSG_STATUS, 0xb0, FAR);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), 6);

    size_t n = 99;
    assert_int_equal(hv_store_begin(s), HV_OK);
    /* Message 5 expired at T0 + 1000: not replayed (its sender would hear
     * EXPIRED about a message its recipient had). */
    assert_int_equal(hv_store_replay(s, "shelter.xb", T0 + 100, T0 + 2000, &n), HV_OK);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(n, 2);
    s_seen q = s_queue(s, "shelter.xb");
    assert_int_equal(q.n, 4);
    assert_int_equal(q.ids[0], 3);
    assert_int_equal(q.ids[1], 4);
    assert_int_equal(q.ids[2], 6);
    assert_int_equal(q.ids[3], 8);
    assert_int_equal(s_retained(s), 4); /* 1, 2, 5, and router.xc's 7 */
    /* Asked again: they have left the window, nothing more. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_replay(s, "shelter.xb", T0 + 100, T0 + 2000, &n), HV_OK);
    assert_int_equal(n, 0);
    /* Acknowledged again, kept again (with the new time). */
    s_ack(s, 3, "shelter.xb", T0 + 3000, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), 5);
    /* Another node's window is its own. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_replay(s, "router.xc", 0, T0 + 2000, &n), HV_OK);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(n, 1);
    q = s_queue(s, "router.xc");
    assert_int_equal(q.n, 1);
    assert_int_equal(q.ids[0], 7);
    /* The replayed ACK finds its row through dedup, as the first did. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_ack(s, 7, "router.xc", T0 + 3100, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* Pruning forgets the oldest acknowledgements first, at most `max` a call,
 * and never one acknowledged at or after the cut. */
static void test_prune_bounded_oldest_first(void **state)
{
    (void)state;
    char *dir, path[512];
    hv_store *s = s_open(&dir, path, sizeof path);
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int n = 1; n <= 10; n++)
        s_put(s, n, "shelter.xb", HV_MSG_STATUS, 0xc0, FAR);
    /* Acknowledged in reverse order: the ACK's time, not the sequence
     * number, decides. */
    for (int n = 10; n >= 1; n--)
        s_ack(s, n, "shelter.xb", T0 + (11 - n) * 100, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    size_t pruned = 99;
    /* Cut at T0 + 800: seven (acknowledged at 100 .. 700) are past it. */
    int64_t cut = T0 + 800;
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_prune(s, cut, 3, &pruned), HV_OK);
    assert_int_equal(pruned, 3);
    assert_int_equal(s_retained(s), 7);
    assert_int_equal(hv_store_prune(s, cut, 3, &pruned), HV_OK);
    assert_int_equal(pruned, 3);
    assert_int_equal(hv_store_prune(s, cut, 3, &pruned), HV_OK);
    assert_int_equal(pruned, 1);
    assert_int_equal(hv_store_prune(s, cut, 3, &pruned), HV_OK);
    assert_int_equal(pruned, 0);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), 3);
    /* What is left is what was acknowledged last: 3, 2, 1. */
    size_t n = 0;
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_replay(s, "shelter.xb", 0, T0, &n), HV_OK);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(n, 3);
    s_seen q = s_queue(s, "shelter.xb");
    assert_int_equal(q.n, 3);
    assert_int_equal(q.ids[0], 1);
    assert_int_equal(q.ids[2], 3);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

static bool s_node_list(void *arg, const char *node)
{
    char *out = arg;
    strcat(out, node);
    strcat(out, ";");
    return true;
}

/* Forgetting a referral deletes its kept envelopes and nothing else, and
 * their bytes are gone from the file once checkpointed (secure_delete);
 * forgetting a node deletes its own. */
static void test_forget_referral_and_node(void **state)
{
    (void)state;
    char *dir, path[512];
    hv_store *s = s_open(&dir, path, sizeof path);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_put(s, 0x41, "shelter.xb", HV_MSG_CASE_TRANSFER, 0xd1, FAR);
    s_put(s, 0x42, "ngo.xa", HV_MSG_RECEIPT, 0xd1, FAR);
    s_put(s, 0x43, "shelter.xb", HV_MSG_CASE_TRANSFER, 0xd2, FAR);
    s_put(s, 0x44, "router.xc", HV_MSG_ACCEPT, 0xd3, FAR);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_ack(s, 0x41, "shelter.xb", T0 + 1, true);
    s_ack(s, 0x42, "ngo.xa", T0 + 2, true);
    s_ack(s, 0x43, "shelter.xb", T0 + 3, true);
    s_ack(s, 0x44, "router.xc", T0 + 4, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    char nodes[256] = "";
    assert_int_equal(hv_store_retained_nodes(s, s_node_list, nodes), HV_OK);
    assert_string_equal(nodes, "ngo.xa;router.xc;shelter.xb;");

    size_t n = 0;
    uint8_t referral[16];
    memset(referral, 0xd1, sizeof referral);
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_forget_referral(s, referral, &n), HV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hv_store_forget_node(s, "router.xc", &n), HV_OK);
    assert_int_equal(n, 1);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), 1);
    hv_store_close(&s); /* the last connection checkpoints the WAL away */

    /* Neither the envelopes' bytes nor the referral id are left. */
    uint8_t *file = NULL;
    size_t len = 0;
    hv_errmsg e = {""};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    rewind(f);
    file = malloc(len);
    assert_int_equal(fread(file, 1, len, f), len);
    fclose(f);
    uint8_t gone[3][32], kept[32];
    memset(gone[0], 0x41, 32);
    memset(gone[1], 0x42, 32);
    memset(gone[2], 0xd1, 16);
    memset(kept, 0x43, 32);
    assert_null(memmem(file, len, gone[0], 32));
    assert_null(memmem(file, len, gone[1], 32));
    assert_null(memmem(file, len, gone[2], 16));
    assert_non_null(memmem(file, len, kept, 32));
    free(file);
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    assert_int_equal(s_retained(s), 1);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* A store of format 1 (before the replay window) opens as format 3 with
 * its queue intact, and its queued envelopes can be acknowledged and kept. */
static void test_format_1_store_upgrades(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL,"
                     " recipient TEXT NOT NULL, sender TEXT NOT NULL, type INTEGER NOT NULL,"
                     " envelope BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                     " stored_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
                     "CREATE TABLE dedup (id BLOB PRIMARY KEY, sender TEXT NOT NULL,"
                     " expires_ms INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;"
                     "INSERT INTO queue (id, recipient, sender, type, envelope, stored_ms,"
                     " expires_ms) VALUES (x'09000000000000000000000000000000', 'shelter.xb',"
                     " 'intake.xa', 9, x'0909', 1, 4102444800000);"
                     "INSERT INTO dedup VALUES (x'09000000000000000000000000000000', 'intake.xa',"
                     " 4102444800000, 1);"
                     "PRAGMA user_version=1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    hv_store *s = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_ack(s, 9, "shelter.xb", T0, true);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), 1);
    hv_store_close(&s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
    hvt_rmdir(dir);
    free(dir);
}

/* Takes the first envelope queued: its sequence number and id byte, its
 * bytes all that byte. */
static bool s_next_one(void *arg, int64_t seq, const uint8_t id[16], const uint8_t *env,
                       size_t len, unsigned attempts)
{
    (void)attempts;
    int64_t *got = arg;
    assert_int_equal(len, 64);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(env[i], id[0]);
    got[0] = seq;
    got[1] = id[0];
    return false;
}

/* A store of format 2 (each envelope in its row) opens as format 3 with
 * every envelope in `bodies`, byte for byte: a queued one is delivered
 * under its sequence number, one kept in the window is replayed, and the
 * columns that held them are gone. */
static void test_format_2_store_upgrades(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[2400];
    char env7[129], env8[129]; /* 64 bytes 07, 64 bytes 08, in hex */
    memset(env7, '0', 128);
    memset(env8, '0', 128);
    for (int i = 1; i < 128; i += 2) {
        env7[i] = '7';
        env8[i] = '8';
    }
    env7[128] = env8[128] = '\0';
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL;"
             "CREATE TABLE queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL,"
             " recipient TEXT NOT NULL, sender TEXT NOT NULL, type INTEGER NOT NULL,"
             " envelope BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
             " stored_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, referral BLOB);"
             "CREATE INDEX queue_recipient ON queue(recipient, seq);"
             "CREATE TABLE delivered (seq INTEGER PRIMARY KEY, id BLOB NOT NULL,"
             " recipient TEXT NOT NULL, sender TEXT NOT NULL, type INTEGER NOT NULL,"
             " referral BLOB, envelope BLOB NOT NULL, stored_ms INTEGER NOT NULL,"
             " expires_ms INTEGER NOT NULL, acked_ms INTEGER NOT NULL);"
             "CREATE TABLE dedup (id BLOB PRIMARY KEY, sender TEXT NOT NULL,"
             " expires_ms INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;"
             "INSERT INTO delivered VALUES (4, x'07000000000000000000000000000000', 'shelter.xb',"
             " 'intake.xa', %d, NULL, x'%s', 1, 4102444800000, %lld);"
             "INSERT INTO dedup VALUES (x'07000000000000000000000000000000', 'intake.xa',"
             " 4102444800000, 4);"
             "INSERT INTO queue (seq, id, recipient, sender, type, envelope, stored_ms,"
             " expires_ms) VALUES (5, x'08000000000000000000000000000000', 'shelter.xb',"
             " 'intake.xa', %d, x'%s', 1, 4102444800000);"
             "INSERT INTO dedup VALUES (x'08000000000000000000000000000000', 'intake.xa',"
             " 4102444800000, 5);"
             "PRAGMA user_version=2;",
             HV_MSG_CASE_TRANSFER, env7, (long long)T0, HV_MSG_STATUS, env8);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    hv_store *s = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    assert_int_equal(s_retained(s), 1);
    int64_t got[2] = {0, 0};
    assert_int_equal(hv_store_next(s, "shelter.xb", 0, 1, s_next_one, got), HV_OK);
    assert_int_equal(got[0], 5);
    assert_int_equal(got[1], 8);
    size_t requeued = 0;
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_replay(s, "shelter.xb", T0, T0 + 1, &requeued), HV_OK);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(hv_store_next(s, "shelter.xb", 0, 1, s_next_one, got), HV_OK);
    assert_int_equal(got[0], 4);
    assert_int_equal(got[1], 7);
    hv_store_close(&s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM bodies), "
                                            "(SELECT count(*) FROM pragma_table_info('queue') "
                                            "WHERE name = 'envelope'), (SELECT count(*) FROM "
                                            "pragma_table_info('delivered') WHERE name = "
                                            "'envelope'), (SELECT user_version FROM "
                                            "pragma_user_version)", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    assert_int_equal(sqlite3_column_int(st, 2), 0);
    assert_int_equal(sqlite3_column_int(st, 3), 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
    hvt_rmdir(dir);
    free(dir);
}

/* A case (CASE_TRANSFER) leaves none of its bytes in the file wherever
 * it is deleted — from the queue by its ACK, from the window by pruning or
 * by a withdrawal — even from the pages the deletes free, which the
 * store's usual secure_delete=FAST leaves as they were on disk. Other
 * messages are not zeroed from freed pages (docs/DECISIONS.md). */
/* Whether the store's database or its WAL holds 64 bytes `b`. */
static bool s_store_has(const char *path, uint8_t b)
{
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    return s_file_has(path, b, 64) || s_file_has(wal, b, 64);
}

/* Sixteen envelopes of 3,000 bytes (two a page, so that deleting them
 * frees whole pages) and one of 20,000 (in overflow pages): cases kept in
 * the window or not, statuses, and the large one, all acknowledged; then
 * the window pruned and a referral forgotten, so that every way the store
 * deletes an envelope ran. */
static void s_put_and_delete_all(hv_store *s, const char *path)
{
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int k = 0; k < 8; k++)
        s_put_len(s, 0x50 + k, "shelter.xb", HV_MSG_CASE_TRANSFER, 0xe1, FAR, 3000);
    for (int k = 0; k < 8; k++)
        s_put_len(s, 0x70 + k, "shelter.xb", HV_MSG_STATUS, 0xe2, FAR, 3000);
    s_put_len(s, 0x90, "shelter.xb", HV_MSG_STATUS, 0xe2, FAR, 20000);
    assert_int_equal(hv_store_commit(s), HV_OK);
    s_checkpoint(path); /* the queue's pages, with the envelopes, on disk */
    for (int k = 0; k < 8; k++) /* the scan sees what is there */
        assert_true(s_store_has(path, (uint8_t)(0x50 + k)));
    assert_true(s_store_has(path, 0x90));
    /* Acknowledged: four cases kept, four not; then pruned or forgotten. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int k = 0; k < 8; k++)
        s_ack(s, 0x50 + k, "shelter.xb", T0 + 10 + k, k < 4);
    for (int k = 0; k < 8; k++)
        s_ack(s, 0x70 + k, "shelter.xb", T0 + 10 + k, false);
    s_ack(s, 0x90, "shelter.xb", T0 + 10, false);
    assert_int_equal(hv_store_commit(s), HV_OK);
    s_checkpoint(path); /* the window's pages on disk */
    size_t n = 0;
    assert_int_equal(hv_store_begin(s), HV_OK);
    assert_int_equal(hv_store_prune(s, T0 + 12, 100, &n), HV_OK);
    assert_int_equal(n, 2);
    uint8_t referral[16];
    memset(referral, 0xe1, sizeof referral);
    assert_int_equal(hv_store_forget_referral(s, referral, &n), HV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), 0);
}

/* With erasure on (the default), what the store deleted is in neither its
 * database nor its WAL once the erase tick has run: not in a freed page,
 * not in an overflow page, not in an old frame. Checked before the close,
 * whose checkpoint would hide a WAL that was never truncated. */
static void test_deleted_envelopes_leave_nothing_in_db_or_wal(void **state)
{
    (void)state;
    char *dir, path[512], wal[600];
    hv_store *s = s_open(&dir, path, sizeof path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    s_put_and_delete_all(s, path);
    bool done = true;
    assert_true(s_size(wal) > 0);
    assert_int_equal(hv_store_erase_tick(s, 5000, &done), HV_OK); /* dates the commits */
    assert_false(done);
    assert_int_equal(hv_store_erase_tick(s, 5249, &done), HV_OK); /* not yet quiet */
    assert_false(done);
    assert_int_equal(hv_store_erase_tick(s, 5250, &done), HV_OK); /* quiet: dates the frames */
    assert_false(done);
    assert_int_equal(hv_store_erase_tick(s, 6249, &done), HV_OK); /* not yet a second */
    assert_false(done);
    assert_int_equal(hv_store_erase_tick(s, 6250, &done), HV_OK);
    assert_true(done);
    assert_int_equal(s_size(wal), 0);
    for (int k = 0; k < 8; k++) {
        assert_false(s_store_has(path, (uint8_t)(0x50 + k)));
        assert_false(s_store_has(path, (uint8_t)(0x70 + k)));
    }
    assert_false(s_store_has(path, 0x90));
    /* Nothing committed since: the next ticks have nothing to do. */
    assert_int_equal(hv_store_erase_tick(s, 9000, &done), HV_OK);
    assert_false(done);
    assert_int_equal(hv_store_erase_stats(s)->truncated, 1);
    assert_int_equal(hv_store_erase_stats(s)->deferred, 0);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* Whether this process holds a file SQLite made for its own use (a
 * statement journal, a sort spilled to disk): those are unlinked when
 * made, so only /proc/self/fd shows them, and what they hold reaches the
 * disk's free blocks, which no erasure overwrites. */
static bool s_holds_sqlite_temp_file(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        char link[300], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            found = strstr(target, "etilqs_") != NULL;
        }
    }
    closedir(d);
    return found;
}

/* The attack: envelopes the broker deleted read back from a temporary
 * file. An ACK that retains moves a row with a statement that SQLite may
 * undo alone, and to undo it SQLite keeps, in a statement journal, the
 * pages the statement changes, envelopes and recipients included. Past
 * 64 KiB that journal went to a file in /var/tmp, unlinked and never
 * overwritten: a group of ACKs as the broker makes under load wrote tens
 * of KiB of such pages per envelope there. Kept in memory, nothing of it
 * outlives the transaction. */
static void test_acks_under_load_leave_no_pages_in_temp_files(void **state)
{
    (void)state;
    char *dir, path[512];
    hv_store *s = s_open(&dir, path, sizeof path);
    static uint8_t envelope[2042];
    enum { S_N = 1200 };
    uint8_t id[16] = {0}, referral[16];
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int k = 0; k < S_N; k++) {
        id[0] = (uint8_t)k;
        id[1] = (uint8_t)(k >> 8);
        memset(referral, k, sizeof referral);
        memset(envelope, k, sizeof envelope);
        hv_stored m = {.id = id, .sender = "intake.xa", .recipient = "shelter.xb",
                       .type = HV_MSG_CASE_TRANSFER, .envelope = envelope,
                       .envelope_len = sizeof envelope, .expires_ms = FAR, .referral = referral};
        bool dup = true;
        assert_int_equal(hv_store_put(s, &m, T0, &dup), HV_OK);
    }
    assert_int_equal(hv_store_commit(s), HV_OK);
    /* One group transaction of ACKs, each kept in the window. */
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int k = 0; k < S_N; k++) {
        id[0] = (uint8_t)k;
        id[1] = (uint8_t)(k >> 8);
        bool found = false;
        assert_int_equal(hv_store_ack(s, id, "shelter.xb", T0 + 10, true, &found), HV_OK);
        assert_true(found);
        assert_false(s_holds_sqlite_temp_file());
    }
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(s_retained(s), S_N);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* The same deletes with erasure off: freed pages and old frames keep
 * envelopes, which is what the test above would see if erasure failed. */
static void test_without_erasure_freed_pages_keep_envelopes(void **state)
{
    (void)state;
    char *dir, path[512];
    hv_store *s = s_open(&dir, path, sizeof path);
    assert_int_equal(hv_store_set_erase(s, false), HV_OK);
    s_put_and_delete_all(s, path);
    bool done = true;
    assert_int_equal(hv_store_erase_tick(s, 5000, &done), HV_OK);
    assert_int_equal(hv_store_erase_tick(s, 60000, &done), HV_OK);
    assert_false(done);
    int left = 0;
    for (int k = 0; k < 8; k++)
        left += s_store_has(path, (uint8_t)(0x70 + k));
    assert_true(left > 0);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* A reader of an older snapshot (a backup under way) keeps the WAL's
 * frames: the truncation waits at most 20 ms, says HV_ETIMEOUT, and is
 * tried again a second later, when the reader has let go. */
static void test_a_reader_defers_the_truncation(void **state)
{
    (void)state;
    char *dir, path[512], wal[600];
    hv_store *s = s_open(&dir, path, sizeof path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_put_len(s, 0x31, "shelter.xb", HV_MSG_STATUS, 0xe3, FAR, 3000);
    assert_int_equal(hv_store_commit(s), HV_OK);
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open(path, &reader), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM queue", NULL, NULL, NULL),
                     SQLITE_OK);
    bool done = true;
    assert_int_equal(hv_store_erase_tick(s, 1000, &done), HV_OK); /* dates the commit */
    assert_int_equal(hv_store_erase_tick(s, 1250, &done), HV_OK); /* quiet: dates the frames */
    assert_int_equal(hv_store_erase_tick(s, 2250, &done), HV_ETIMEOUT);
    assert_false(done);
    assert_true(s_size(wal) > 0);
    assert_int_equal(hv_store_erase_tick(s, 2750, &done), HV_OK); /* not again at once */
    assert_false(done);
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    assert_int_equal(hv_store_erase_tick(s, 3250, &done), HV_OK);
    assert_true(done);
    assert_int_equal(s_size(wal), 0);
    assert_int_equal(hv_store_erase_stats(s)->truncated, 1);
    assert_int_equal(hv_store_erase_stats(s)->deferred, 1);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* Under a steady stream of commits the WAL is truncated at the latest ten
 * seconds after the first commit not yet erased, not at every quiet gap
 * that never comes. */
static void test_steady_load_truncates_within_ten_seconds(void **state)
{
    (void)state;
    char *dir, path[512], wal[600];
    hv_store *s = s_open(&dir, path, sizeof path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    bool done = false;
    int64_t t = 1000, truncated_at = 0, deferred = 0;
    for (int k = 0; k < 300 && truncated_at == 0; k++, t += 100) {
        assert_int_equal(hv_store_begin(s), HV_OK);
        s_put_len(s, (uint8_t)k, "shelter.xb", HV_MSG_STATUS, 0xe4, FAR, 500);
        assert_int_equal(hv_store_commit(s), HV_OK);
        hv_err err = hv_store_erase_tick(s, t, &done);
        if (err == HV_ETIMEOUT)
            deferred++; /* the checkpointer thread held the WAL past the wait */
        else
            assert_int_equal(err, HV_OK);
        if (done)
            truncated_at = t;
    }
    /* Commits every 100 ms from 1000: never quiet; the first seen at 1000,
     * let through at 11000, its frames dated then and truncated a second
     * later — or, on a loaded machine where the store's checkpointer (a
     * thread on the real clock) held the WAL longer than the loop waits, a
     * second after each deferral. */
    assert_int_equal(truncated_at, 12000 + 1000 * deferred);
    assert_int_equal(s_size(wal), 0);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

/* Overwrites page `page` of the file at `path` with 0xff bytes. */
static void s_damage_page(const char *path, int64_t page, int page_size)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t junk[8192];
    assert_true(page_size <= (int)sizeof junk);
    memset(junk, 0xff, sizeof junk);
    assert_int_equal(pwrite(fd, junk, (size_t)page_size, (off_t)((page - 1) * page_size)),
                     page_size);
    close(fd);
}

/* A page of the queue overwritten: the store is refused when opened, with
 * the file, SQLite's finding and the way to restore; the offline check
 * lists the problem; the file is left as it was. */
static void test_damaged_queue_page_refused_at_open(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    hv_store *s = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    assert_int_equal(hv_store_begin(s), HV_OK);
    for (int i = 0; i < 60; i++)
        s_put_len(s, i, "shelter.xb", 2, 1, FAR, 2000);
    assert_int_equal(hv_store_commit(s), HV_OK);
    hv_store_close(&s);

    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT pageno FROM dbstat WHERE name = 'queue' "
                                        "AND pagetype = 'leaf' ORDER BY pageno LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t page = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    s_damage_page(path, page, 8192);

    assert_int_equal(hv_store_open(&s, path, &e), HV_ESTORE);
    assert_null(s);
    char want[1024];
    snprintf(want, sizeof want, "%s: damaged: Page %lld: btreeInitPage() returns error code "
             "11; " HV_DB_RESTORE_HINT, path, (long long)page);
    assert_string_equal(e.text, want);

    hv_db_checked found;
    assert_int_equal(hv_db_check_path(path, HV_DB_FULL, &found, NULL, NULL, &e), HV_ESTORE);
    assert_true(found.problems >= 1);
    snprintf(want, sizeof want, "Page %lld: btreeInitPage() returns error code 11",
             (long long)page);
    assert_string_equal(found.first, want);
    assert_int_equal(found.page_size, 8192);
    hvt_rmdir(dir);
    free(dir);
}

/* What an offline check of a sound store and of no store says. */
static void test_check_path_sound_and_missing(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    hv_errmsg e = {""};
    hv_db_checked found;
    assert_int_equal(hv_db_check_path(path, HV_DB_FULL, &found, NULL, NULL, &e), HV_ENOTFOUND);
    hv_store *s = NULL;
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    hv_store_close(&s);
    assert_int_equal(hv_db_check_path(path, HV_DB_FULL, &found, NULL, NULL, &e), HV_OK);
    assert_int_equal(found.problems, 0);
    assert_true(found.pages > 1);
    assert_string_equal(found.first, "");
    hvt_rmdir(dir);
    free(dir);
}

/* SQLite's codes, extended ones too, by what they mean for a store. */
static void test_fault_of_codes(void **state)
{
    (void)state;
    assert_int_equal(hv_db_fault_of(SQLITE_FULL), HV_DB_FAULT_FULL);
    assert_int_equal(hv_db_fault_of(SQLITE_CORRUPT), HV_DB_FAULT_DAMAGED);
    assert_int_equal(hv_db_fault_of(SQLITE_CORRUPT_INDEX), HV_DB_FAULT_DAMAGED);
    assert_int_equal(hv_db_fault_of(SQLITE_NOTADB), HV_DB_FAULT_DAMAGED);
    assert_int_equal(hv_db_fault_of(SQLITE_IOERR_WRITE), HV_DB_FAULT_IO);
    assert_int_equal(hv_db_fault_of(SQLITE_IOERR_FSYNC), HV_DB_FAULT_IO);
    assert_int_equal(hv_db_fault_of(SQLITE_BUSY), HV_DB_FAULT_NONE);
    assert_int_equal(hv_db_fault_of(SQLITE_CONSTRAINT_PRIMARYKEY), HV_DB_FAULT_NONE);
    assert_string_equal(hv_db_fault_name(HV_DB_FAULT_FULL), "disk full");
    assert_string_equal(hv_db_fault_name(HV_DB_FAULT_DAMAGED), "damaged");
    assert_string_equal(hv_db_fault_name(HV_DB_FAULT_IO), "I/O error");
}

/* The probe of a full disk commits a write, and rolls back first what
 * was left open: nothing of that transaction is stored. */
static void test_probe_rolls_back_what_was_open(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/broker.db", dir);
    hv_store *s = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_store_open(&s, path, &e), HV_OK);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_put(s, 1, "shelter.xb", 2, 1, FAR);
    assert_int_equal(hv_store_probe(s), HV_OK);
    assert_false(hv_store_in_transaction(s));
    hv_store_stats st;
    assert_int_equal(hv_store_stats_get(s, &st), HV_OK);
    assert_int_equal(st.queued, 0);
    assert_int_equal(hv_store_begin(s), HV_OK);
    s_put(s, 2, "shelter.xb", 2, 1, FAR);
    assert_int_equal(hv_store_commit(s), HV_OK);
    assert_int_equal(hv_store_stats_get(s, &st), HV_OK);
    assert_int_equal(st.queued, 1);
    hv_store_close(&s);
    hvt_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpointer_copies_commits),
        cmocka_unit_test(test_ack_retains_in_the_same_transaction),
        cmocka_unit_test(test_replay_requeues_in_original_order),
        cmocka_unit_test(test_prune_bounded_oldest_first),
        cmocka_unit_test(test_forget_referral_and_node),
        cmocka_unit_test(test_deleted_envelopes_leave_nothing_in_db_or_wal),
        cmocka_unit_test(test_without_erasure_freed_pages_keep_envelopes),
        cmocka_unit_test(test_acks_under_load_leave_no_pages_in_temp_files),
        cmocka_unit_test(test_a_reader_defers_the_truncation),
        cmocka_unit_test(test_steady_load_truncates_within_ten_seconds),
        cmocka_unit_test(test_format_1_store_upgrades),
        cmocka_unit_test(test_format_2_store_upgrades),
        cmocka_unit_test(test_damaged_queue_page_refused_at_open),
        cmocka_unit_test(test_check_path_sound_and_missing),
        cmocka_unit_test(test_fault_of_codes),
        cmocka_unit_test(test_probe_rolls_back_what_was_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
