/* Crash test: a stream of envelopes from one node to another while the
 * broker is killed with SIGKILL several times at random moments and
 * restarted. At the end every envelope must have reached the receiving
 * application exactly once: 0 lost, 0 duplicated.
 * usage: test_crash PATH_TO_HAVEN_BROKER [ENVELOPES] [KILLS]
 * The random seed is printed; HV_CRASH_SEED=N repeats a run. */
#include <signal.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_file.h"
#include "hv_envelope.h"
#include "hv_net.h"

static const char *s_broker_bin;
static size_t s_total = 20000;
static int s_kills = 6;

static int s_cmp_id(const void *a, const void *b) { return memcmp(a, b, 16); }

/* What a power cut does to the broker's audit file: the records written
 * but not yet synced are gone. Those are the ones the store still keeps
 * (audit_pending); the file is cut back to just before the first of them,
 * and the broker's restart must put them back. Returns how many went. */
static size_t s_cut_unsynced_audit(const char *dir)
{
    char db_path[512], audit_path[512];
    snprintf(db_path, sizeof db_path, "%s/broker.db", dir);
    snprintf(audit_path, sizeof audit_path, "%s/broker.db.audit", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT lines FROM audit_pending ORDER BY last_seq "
                                            "LIMIT 1", -1, &st, NULL),
                     SQLITE_OK);
    unsigned long long first = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        assert_int_equal(sscanf((const char *)sqlite3_column_text(st, 0), "{\"seq\":%llu,", &first),
                         1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (first == 0)
        return 0;
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(hv_file_read(audit_path, 1u << 30, &text, &len, NULL), HV_OK);
    char needle[40];
    int nl = snprintf(needle, sizeof needle, "{\"seq\":%llu,", first);
    size_t cut = 0, dropped = 0;
    bool found = false;
    for (size_t pos = 0; pos < len;) {
        const uint8_t *end = memchr(text + pos, '\n', len - pos);
        size_t next = end ? (size_t)(end - text) + 1 : len;
        if (!found && len - pos >= (size_t)nl && memcmp(text + pos, needle, (size_t)nl) == 0) {
            found = true;
            cut = pos;
        }
        dropped += found;
        pos = next;
    }
    free(text);
    if (found)
        assert_int_equal(truncate(audit_path, (off_t)cut), 0);
    return dropped;
}

/* Each of the `n` ids (sorted) must appear exactly once as `event` in the
 * broker's audit log, which must verify. */
static void s_check_audit(const char *dir, uint8_t (*sorted)[16], size_t n)
{
    char audit_path[512];
    snprintf(audit_path, sizeof audit_path, "%s/broker.db.audit", dir);
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(hv_file_read(audit_path, 1u << 30, &text, &len, NULL), HV_OK);
    hv_audit_result r;
    hv_err err = hv_audit_verify((const char *)text, len, &r);
    if (err != HV_OK)
        printf("audit log broken at line %llu: %s\n", (unsigned long long)r.broken_line, r.why);
    assert_int_equal(err, HV_OK);
    unsigned *stored = calloc(n, sizeof *stored), *delivered = calloc(n, sizeof *delivered);
    for (const char *p = (const char *)text; (p = strstr(p, "\"subject\":\"")) != NULL;) {
        p += 11;
        char hex[33];
        memcpy(hex, p, 32);
        hex[32] = '\0';
        uint8_t id[16];
        assert_int_equal(hv_unhex(hex, id, 16), HV_OK);
        const char *ev = strstr(p, "\"event\":\"");
        assert_non_null(ev);
        uint8_t (*hit)[16] = bsearch(id, sorted, n, 16, s_cmp_id);
        assert_non_null(hit);
        if (strncmp(ev + 9, "stored\"", 7) == 0)
            stored[hit - sorted]++;
        else if (strncmp(ev + 9, "delivered\"", 10) == 0)
            delivered[hit - sorted]++;
    }
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += stored[i] != 1 || delivered[i] != 1;
    printf("audit log: %llu records, chain intact; %zu ids without exactly one stored and "
           "one delivered record\n", (unsigned long long)r.records, bad);
    assert_int_equal(bad, 0);
    free(stored);
    free(delivered);
    free(text);
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_crash_recovery(void **state)
{
    (void)state;
    hvn n;
    hvn_init(&n, s_broker_bin,
             "[timing]\nheartbeat_ms = 300\ndead_after_ms = 1500\nlease_ms = 5000\n"
             "[limits]\nrate_per_second = 1000000\nrate_burst = 1000000\n");
    unsigned seed = getenv("HV_CRASH_SEED") ? (unsigned)atoi(getenv("HV_CRASH_SEED"))
                                            : (unsigned)time(NULL);
    srand(seed);
    printf("crash test: %zu envelopes, %d kills, seed %u\n", s_total, s_kills, seed);

    /* Every envelope sealed up front; ids kept sorted for lookups. */
    uint8_t (*ids)[16] = calloc(s_total, 16);
    uint8_t **wires = calloc(s_total, sizeof *wires);
    size_t *lens = calloc(s_total, sizeof *lens);
    unsigned *seen = calloc(s_total, sizeof *seen);
    for (size_t i = 0; i < s_total; i++)
        hvn_seal(&n, HVN_ROUTER, HVN_SHELTER, HV_MSG_OFFER, 0, &wires[i], &lens[i], ids[i]);
    uint8_t (*sorted)[16] = calloc(s_total, 16);
    memcpy(sorted, ids, s_total * 16);
    qsort(sorted, s_total, 16, s_cmp_id);

    hvn_start(&n);
    hv_client *sender = hvn_client(&n, HVN_ROUTER, "crash");
    hv_client *receiver = hvn_client(&n, HVN_SHELTER, "crash");
    size_t queued = 0, received = 0, duplicates = 0, unknown = 0, redelivered = 0;
    int kills = 0;
    /* The stream is paced so that every kill falls inside it: the kills
     * come at random moments between 5% and 90% of its length. */
    const double rate = 4000.0; /* envelopes per second handed to the outbox */
    int64_t span_ms = (int64_t)((double)s_total / rate * 1000);
    int64_t *kill_at = calloc((size_t)s_kills + 1, sizeof *kill_at);
    for (int k = 0; k < s_kills; k++)
        kill_at[k] = span_ms / 20 + rand() % (span_ms * 17 / 20 + 1);
    qsort(kill_at, (size_t)s_kills, sizeof *kill_at, s_cmp_i64);
    int64_t start = hv_mono_ms();
    int64_t deadline = start + 240000;
    while ((received < s_total || kills < s_kills) && hv_mono_ms() < deadline) {
        /* The application hands envelopes to its outbox in batches. */
        int64_t elapsed = hv_mono_ms() - start;
        if (queued < s_total && (double)queued < (double)elapsed * rate / 1000) {
            size_t batch = s_total - queued < 100 ? s_total - queued : 100;
            assert_int_equal(hv_client_send_many(sender, (const uint8_t *const *)&wires[queued],
                                                 &lens[queued], batch),
                             HV_OK);
            queued += batch;
        }
        assert_int_equal(hv_client_poll(sender, 0), HV_OK);
        hv_delivery *d;
        while (hv_client_recv(receiver, 2, &d) == HV_OK) {
            uint8_t (*hit)[16] = bsearch(d->env.id, sorted, s_total, 16, s_cmp_id);
            if (hit == NULL) {
                unknown++;
            } else {
                size_t k = (size_t)(hit - sorted);
                if (seen[k]++ > 0)
                    duplicates++;
                else
                    received++;
            }
            if (d->attempt > 1)
                redelivered++;
            assert_int_equal(hv_client_ack(receiver, &d), HV_OK);
        }
        if (kills < s_kills && hv_mono_ms() - start >= kill_at[kills]) {
            assert_int_equal(hvn_signal(&n, SIGKILL), -SIGKILL);
            kills++;
            size_t cut = s_cut_unsynced_audit(n.dir);
            printf("  kill %d at %.1f s: %zu received so far; %zu unsynced audit records cut\n",
                   kills, (double)(hv_mono_ms() - start) / 1000, received, cut);
            hvn_start(&n);
        }
    }
    /* The sender's outbox empties: envelopes whose STORED was lost in a
     * crash are sent again and acknowledged as duplicates. */
    assert_true(hvn_wait_stored(sender, 30000));
    /* Let late duplicates show up, if any would. */
    hv_delivery *d;
    while (hv_client_recv(receiver, 1500, &d) == HV_OK) {
        uint8_t (*hit)[16] = bsearch(d->env.id, sorted, s_total, 16, s_cmp_id);
        if (hit == NULL)
            unknown++;
        else if (seen[hit - sorted]++ > 0)
            duplicates++;
        else
            received++;
        assert_int_equal(hv_client_ack(receiver, &d), HV_OK);
    }
    size_t lost = 0;
    for (size_t i = 0; i < s_total; i++)
        lost += seen[i] == 0;
    double secs = (double)(hv_mono_ms() - start) / 1000;
    printf("crash test: %zu sent, %zu received, %zu lost, %zu duplicated, %zu unknown, "
           "%d kills, %zu redeliveries filtered or re-acked, %.1f s\n",
           s_total, received, lost, duplicates, unknown, kills, redelivered, secs);
    assert_int_equal(kills, s_kills);
    assert_int_equal(lost, 0);
    assert_int_equal(duplicates, 0);
    assert_int_equal(unknown, 0);
    assert_int_equal(received, s_total);
    assert_int_equal(hv_client_outbox_size(sender), 0);

    hv_client_close(&sender);
    hv_client_close(&receiver);
    for (size_t i = 0; i < s_total; i++)
        free(wires[i]);
    free(wires);
    free(lens);
    free(ids);
    free(seen);
    free(kill_at);
    assert_int_equal(hvn_signal(&n, SIGTERM), 0);
    s_check_audit(n.dir, sorted, s_total);
    free(sorted);
    hvn_fini(&n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_crash PATH_TO_HAVEN_BROKER [ENVELOPES] [KILLS]\n");
        return 2;
    }
    s_broker_bin = argv[1];
    if (argc > 2)
        s_total = (size_t)atol(argv[2]);
    if (argc > 3)
        s_kills = atoi(argv[3]);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    assert_int_equal(hv_crypto_init(), HV_OK);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_crash_recovery)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
