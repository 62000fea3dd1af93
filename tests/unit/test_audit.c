/* The audit log: records chain; reopening continues the chain; altering,
 * removing or inserting a record is found at its line; a crash's half
 * record is cut off on reopening, other damage refuses to open. */
#include "hv_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_audit_head.h"
#include "hv_crypto.h"
#include "hv_file.h"

static char s_path[512];

static void s_write_n(int n)
{
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    uint8_t ref[16];
    memset(ref, 0x5a, 16);
    for (int i = 0; i < n; i++)
        assert_int_equal(hv_audit_append(a, "shelter.xc", ref, i % 2 ? "received" : "offered",
                                          "router.xc"), HV_OK);
    hv_audit_close(&a);
    hv_audit_close(&a);
}

/* The log's bytes (malloc'd, NUL-terminated by hv_file_read's spare byte
 * or NULL on failure). */
static char *s_read(size_t *len)
{
    uint8_t *bytes = NULL;
    if (hv_file_read(s_path, 1 << 20, &bytes, len, NULL) != HV_OK)
        fail_msg("cannot read %s", s_path);
    char *copy = calloc(1, *len + 1);
    memcpy(copy, bytes, *len);
    free(bytes);
    return copy;
}

static void s_verify(const char *text, size_t len, hv_err want, uint64_t line,
                     const char *why)
{
    hv_audit_result r;
    assert_int_equal(hv_audit_verify(text, len, &r), want);
    assert_int_equal(r.broken_line, line);
    if (why != NULL)
        assert_non_null(strstr(r.why, why));
}

static void test_chain(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    snprintf(s_path, sizeof s_path, "%s/node.audit", dir);
    s_write_n(3);
    s_write_n(2); /* reopened: the chain continues */
    size_t len;
    char *text = s_read(&len);
    s_verify(text, len, HV_OK, 0, NULL);
    hv_audit_result r;
    assert_int_equal(hv_audit_verify(text, len, &r), HV_OK);
    assert_int_equal(r.records, 5);
    assert_non_null(strstr(text, "{\"seq\":4,"));
    struct stat st;
    assert_int_equal(stat(s_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* One record altered (its event changed): found at that line. */
    char *altered = strdup(text);
    char *third = strstr(altered, "{\"seq\":3,");
    char *ev = strstr(third, "\"offered\"");
    memcpy(ev, "\"expired\"", 9);
    s_verify(altered, len, HV_ECRYPTO, 3, "hash does not match");
    free(altered);

    /* A record removed: the next one no longer follows. */
    size_t off2 = (size_t)(strstr(text, "{\"seq\":2,") - text);
    size_t off3 = (size_t)(strstr(text, "{\"seq\":3,") - text);
    char *removed = malloc(len);
    memcpy(removed, text, off2);
    memcpy(removed + off2, text + off3, len - off3);
    s_verify(removed, len - (off3 - off2), HV_ECRYPTO, 2, "sequence number");
    free(removed);

    /* Whitespace added inside a record: not canonical. */
    char *spaced = malloc(len + 2);
    memcpy(spaced, text, len);
    char *colon = strstr(spaced, "\"seq\":");
    memmove(colon + 7, colon + 6, len - (size_t)(colon + 6 - spaced));
    colon[6] = ' ';
    s_verify(spaced, len + 1, HV_ECRYPTO, 1, "well-formed");
    free(spaced);

    /* A crash left half a record: cut off when the log is opened again. */
    FILE *f = fopen(s_path, "a");
    fputs("{\"seq\":6,\"at\":\"2026", f);
    fclose(f);
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    int repaired = 0;
    assert_int_equal(hv_audit_open(&a, s_path, &repaired, &e), HV_OK);
    assert_int_equal(repaired, 1);
    uint8_t ref[16] = {0};
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "erased", "shelter.xc"), HV_OK);
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "Bad-Event", "shelter.xc"),
                     HV_EINVAL);
    /* A person acting through the staff socket is NODE/STAFF; nothing else
     * with a slash is a `by`. */
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "declined",
                                     "shelter.xc/supervisor-1"), HV_OK);
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "declined", "shelter.xc/a/b"),
                     HV_EINVAL);
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "declined", "/supervisor-1"),
                     HV_EINVAL);
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "declined", "shelter.xc/"),
                     HV_EINVAL);
    assert_int_equal(hv_audit_append(a, "shelter.xc", ref, "declined",
                                     "shelter.xc/Supervisor"), HV_EINVAL);
    hv_audit_close(&a);
    size_t len2;
    char *again = s_read(&len2);
    assert_int_equal(hv_audit_verify(again, len2, &r), HV_OK);
    assert_int_equal(r.records, 7);
    assert_non_null(strstr(again, "\"by\":\"shelter.xc/supervisor-1\""));

    /* Damage in the middle: the log refuses to open, naming the line. */
    size_t at2 = (size_t)(strstr(again, "{\"seq\":2,") - again);
    again[at2 + 30] ^= 1;
    hvt_write_file(s_path, again, len2, 0600);
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_ECRYPTO);
    assert_non_null(strstr(e.text, ":2: audit log broken"));
    free(again);
    free(text);
    hvt_rmdir(dir);
    free(dir);
}

/* Records kept elsewhere until the file is synced: pending text, write
 * without sync, discard after a failed commit, and recovery of records the
 * file lost, which must continue the chain. */
static void test_pending_and_recover(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    snprintf(s_path, sizeof s_path, "%s/broker.audit", dir);
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    uint8_t id[16];
    memset(id, 0x11, 16);
    assert_int_equal(hv_audit_add(a, "broker.xc", id, "stored", "router.xc"), HV_OK);
    assert_int_equal(hv_audit_add(a, "broker.xc", id, "delivered", "shelter.xc"), HV_OK);
    const char *text;
    size_t len;
    uint64_t last;
    hv_audit_pending(a, &text, &len, &last);
    assert_int_equal(last, 2);
    char *kept = strndup(text, len); /* what a store would keep */
    assert_int_equal(hv_audit_write(a), HV_OK);
    hv_audit_pending(a, &text, &len, &last);
    assert_int_equal(len, 0);
    /* A failed commit: its record goes, the chain continues from record 2. */
    assert_int_equal(hv_audit_add(a, "broker.xc", id, "expired", "broker.xc"), HV_OK);
    hv_audit_discard(a);
    uint64_t synced = 0;
    assert_int_equal(hv_audit_sync(a, &synced), HV_OK);
    assert_int_equal(synced, 2);
    hv_audit_close(&a);
    size_t flen;
    char *file = s_read(&flen);
    assert_int_equal(flen, strlen(kept));
    assert_memory_equal(file, kept, flen);
    free(file);

    /* The file lost both records (a power cut before the sync): recovery
     * puts them back; records it already has are skipped. */
    assert_int_equal(truncate(s_path, 0), 0);
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    assert_int_equal(hv_audit_recover(a, kept, strlen(kept)), HV_OK);
    assert_int_equal(hv_audit_recover(a, kept, strlen(kept)), HV_OK);
    hv_audit_close(&a);
    file = s_read(&flen);
    assert_int_equal(flen, strlen(kept));
    s_verify(file, flen, HV_OK, 0, NULL);
    free(file);

    /* Kept records that do not follow the file's last one are refused. */
    const char *second = strchr(kept, '\n') + 1;
    assert_int_equal(truncate(s_path, 0), 0);
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    assert_int_equal(hv_audit_recover(a, second, strlen(second)), HV_ECRYPTO);
    hv_audit_close(&a);
    free(kept);
    hvt_rmdir(dir);
    free(dir);
}

/* The syncer thread makes written records durable without the writer
 * waiting: hv_audit_synced catches up with what was written, and a
 * record only added (not written) is never reported durable. */
static void test_sync_thread(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    snprintf(s_path, sizeof s_path, "%s/synced.audit", dir);
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    uint64_t synced = 99;
    assert_int_equal(hv_audit_synced(a, &synced), HV_OK);
    assert_int_equal(synced, 0);
    assert_int_equal(hv_audit_sync_every(a, 5), HV_OK);
    assert_int_equal(hv_audit_sync_every(a, 5), HV_EINVAL); /* one syncer */
    uint8_t id[16];
    memset(id, 0x22, 16);
    for (uint64_t round = 1; round <= 3; round++) {
        assert_int_equal(hv_audit_add(a, "broker.xc", id, "stored", "router.xc"), HV_OK);
        assert_int_equal(hv_audit_add(a, "broker.xc", id, "delivered", "shelter.xc"), HV_OK);
        assert_int_equal(hv_audit_write(a), HV_OK);
        assert_int_equal(hv_audit_add(a, "broker.xc", id, "acked", "shelter.xc"), HV_OK);
        /* Bounded wait: 2 s for a thread that syncs every 5 ms. */
        for (int i = 0; i < 400 && synced != round * 3 - 1; i++) {
            assert_int_equal(hv_audit_synced(a, &synced), HV_OK);
            if (synced != round * 3 - 1)
                usleep(5000);
        }
        assert_int_equal(synced, round * 3 - 1); /* the added third is not written */
        assert_int_equal(hv_audit_write(a), HV_OK);
    }
    assert_int_equal(hv_audit_sync(a, &synced), HV_OK);
    assert_int_equal(synced, 9);
    hv_audit_close(&a); /* stops the thread */
    size_t flen;
    char *file = s_read(&flen);
    hv_audit_result r;
    assert_int_equal(hv_audit_verify(file, flen, &r), HV_OK);
    assert_int_equal(r.records, 9);
    free(file);
    hvt_rmdir(dir);
    free(dir);
}

/* A long log: opening reads only its end (about 800 records), so it takes
 * no longer as the log grows; damage there refuses to open, damage further
 * back is for `haven audit verify`, which reads it all. */
static void test_long_log(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    snprintf(s_path, sizeof s_path, "%s/long.audit", dir);
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    uint8_t id[16] = {0};
    for (int i = 0; i < 3000; i++) {
        id[0] = (uint8_t)i;
        assert_int_equal(hv_audit_add(a, "broker.xc", id, "stored", "router.xc"), HV_OK);
    }
    assert_int_equal(hv_audit_flush(a), HV_OK);
    hv_audit_close(&a);
    size_t len;
    char *text = s_read(&len);
    assert_true(len > 3 * 256 * 1024);
    /* Reopened: the chain goes on from record 3000. */
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    assert_int_equal(hv_audit_append(a, "broker.xc", id, "delivered", "shelter.xc"), HV_OK);
    hv_audit_close(&a);
    free(text);
    text = s_read(&len);
    s_verify(text, len, HV_OK, 0, NULL);
    /* A crash's half record at the end is cut off. */
    FILE *f = fopen(s_path, "a");
    fputs("{\"seq\":3002,\"at\":\"2026", f);
    fclose(f);
    int repaired = 0;
    assert_int_equal(hv_audit_open(&a, s_path, &repaired, &e), HV_OK);
    assert_int_equal(repaired, 1);
    hv_audit_close(&a);
    /* An altered record near the end: refused, named by its number. */
    char *altered = malloc(len);
    memcpy(altered, text, len);
    char *last = altered + len - 2;
    while (last[-1] != '\n')
        last--;
    char *sub = strstr(last, "\"event\":\"delivered\"");
    memcpy(sub, "\"event\":\"delivxred\"", strlen("\"event\":\"delivxred\""));
    hvt_write_file(s_path, altered, len, 0600);
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_ECRYPTO);
    assert_non_null(strstr(e.text, ": record 3001: audit log broken"));
    /* An altered first record: opening does not read that far; the
     * operators' full check finds it at line 1. */
    memcpy(altered, text, len);
    sub = strstr(altered, "\"event\":\"stored\"");
    memcpy(sub, "\"event\":\"stoxed\"", strlen("\"event\":\"stoxed\""));
    hvt_write_file(s_path, altered, len, 0600);
    assert_int_equal(hv_audit_open(&a, s_path, NULL, &e), HV_OK);
    hv_audit_close(&a);
    s_verify(altered, len, HV_ECRYPTO, 1, "hash does not match");
    free(altered);
    free(text);
    hvt_rmdir(dir);
    free(dir);
}


/* ------------------------------------------------------------ signed heads */

/* Appends `n` records to the log at `path` for `node`, signing a head of
 * each with `kp` into heads[*n_heads]. */
static void s_log_heads(const char *path, const char *node, int n, const hv_keypair *kp,
                        hv_audit_head *heads, size_t *n_heads)
{
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_open(&a, path, NULL, &e), HV_OK);
    uint8_t ref[16];
    memset(ref, 0x6b, 16);
    for (int i = 0; i < n; i++) {
        ref[0] = (uint8_t)i;
        assert_int_equal(hv_audit_append(a, node, ref, i % 2 ? "accepted" : "offered",
                                          "router.xc"), HV_OK);
        hv_audit_head *h = &heads[(*n_heads)++];
        memset(h, 0, sizeof *h);
        snprintf(h->node, sizeof h->node, "%s", node);
        assert_true(hv_audit_tip(a, &h->seq, h->hash, h->file_id));
        h->at_ms = 1796000000000ull + h->seq;
        hv_audit_head_sign(h, kp);
    }
    hv_audit_close(&a);
}

static char *s_read_path(const char *path, size_t *len)
{
    uint8_t *bytes = NULL;
    if (hv_file_read(path, 1 << 20, &bytes, len, NULL) != HV_OK)
        fail_msg("cannot read %s", path);
    char *copy = calloc(1, *len + 1);
    memcpy(copy, bytes, *len);
    free(bytes);
    return copy;
}

/* The head's encoding round-trips byte for byte, verifies under its
 * node's key only, and every altered, cut or longer encoding is refused. */
static void test_head_codec(void **state)
{
    (void)state;
    hv_keypair *kp = NULL, *other = NULL;
    assert_int_equal(hv_keypair_generate(&kp), HV_OK);
    assert_int_equal(hv_keypair_generate(&other), HV_OK);
    hv_audit_head h, d;
    memset(&h, 0, sizeof h);
    strcpy(h.node, "shelter.xc");
    memset(h.file_id, 0x11, 32);
    h.seq = 16;
    memset(h.hash, 0x22, 32);
    h.at_ms = 1796000000123ull;
    hv_audit_head_sign(&h, kp);
    assert_memory_equal(h.key_id, hv_keypair_public(kp)->key_id, HV_KEY_ID_BYTES);
    uint8_t buf[HV_AUDIT_HEAD_MAX], again[HV_AUDIT_HEAD_MAX];
    size_t len = 0, again_len = 0;
    assert_int_equal(hv_audit_head_encode(&h, buf, &len), HV_OK);
    assert_int_equal(buf[0], 0x98); /* an array of 8 */
    assert_int_equal(hv_audit_head_decode(buf, len, &d), HV_OK);
    assert_string_equal(d.node, "shelter.xc");
    assert_int_equal(d.seq, 16);
    assert_int_equal(d.at_ms, 1796000000123ull);
    assert_int_equal(hv_audit_head_encode(&d, again, &again_len), HV_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
    assert_int_equal(hv_audit_head_verify(&d, hv_keypair_public(kp)->sign), HV_OK);
    assert_int_equal(hv_audit_head_verify(&d, hv_keypair_public(other)->sign), HV_ECRYPTO);
    /* Any field changed after signing breaks the signature. */
    d.seq = 15;
    assert_int_equal(hv_audit_head_verify(&d, hv_keypair_public(kp)->sign), HV_ECRYPTO);
    d.seq = 16;
    d.hash[31] ^= 1;
    assert_int_equal(hv_audit_head_verify(&d, hv_keypair_public(kp)->sign), HV_ECRYPTO);
    d.hash[31] ^= 1;
    d.file_id[0] ^= 1;
    assert_int_equal(hv_audit_head_verify(&d, hv_keypair_public(kp)->sign), HV_ECRYPTO);
    /* Cut at every byte: refused. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(hv_audit_head_decode(buf, cut, &d), HV_OK);
    /* A byte more: trailing. */
    uint8_t longer[HV_AUDIT_HEAD_MAX + 1];
    memcpy(longer, buf, len);
    longer[len] = 0xc0;
    assert_int_equal(hv_audit_head_decode(longer, len + 1, &d), HV_ETRAILING);
    /* Another version; seq 0; a bad node id. */
    uint8_t bad[HV_AUDIT_HEAD_MAX];
    memcpy(bad, buf, len);
    bad[1] = 2;
    assert_int_equal(hv_audit_head_decode(bad, len, &d), HV_EVERSION);
    h.seq = 0;
    assert_int_equal(hv_audit_head_encode(&h, bad, &again_len), HV_EINVAL);
    h.seq = 16;
    strcpy(h.node, "Bad Node");
    assert_int_equal(hv_audit_head_encode(&h, bad, &again_len), HV_EINVAL);
    /* A heads file: one line per head; a line that is not one is named. */
    strcpy(h.node, "shelter.xc");
    hv_audit_head_sign(&h, kp);
    char line[2 * HV_AUDIT_HEAD_MAX + 2], text[3 * sizeof line];
    assert_int_equal(hv_audit_head_line(&h, line), HV_OK);
    snprintf(text, sizeof text, "%s%s", line, line);
    hv_audit_head *heads = NULL;
    size_t n = 0;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_heads_parse(text, strlen(text), &heads, &n, &e), HV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(heads[1].seq, 16);
    free(heads);
    snprintf(text, sizeof text, "%s%.20s\n", line, line);
    assert_int_equal(hv_audit_heads_parse(text, strlen(text), &heads, &n, &e), HV_EDECODE);
    assert_string_equal(e.text, "line 2 is not a signed audit head");
    assert_null(heads);
    hv_keypair_free(&kp);
    hv_keypair_free(&other);
}

/* A log checked against its signed heads: intact, cut at its tail,
 * rewritten after record 2, another node's log, another file; and the
 * same at start against the last head. */
static void test_heads_check(void **state)
{
    (void)state;
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_generate(&kp), HV_OK);
    char *dir = hvt_tmpdir();
    char path[600], other[600], fork[600];
    snprintf(path, sizeof path, "%s/shelter.audit", dir);
    snprintf(other, sizeof other, "%s/legal.audit", dir);
    snprintf(fork, sizeof fork, "%s/fork.audit", dir);
    hv_audit_head heads[16], spare[16];
    size_t n = 0, n_spare = 0;
    s_log_heads(path, "shelter.xc", 5, kp, heads, &n);
    s_log_heads(other, "legal.xc", 5, kp, spare, &n_spare);
    size_t len;
    char *text = s_read_path(path, &len);
    hv_audit_result r;
    hv_audit_heads_result hr;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_verify(text, len, &r), HV_OK);
    assert_int_equal(hv_audit_check_heads(text, len, r.records, heads, n, &hr), HV_OK);
    assert_int_equal(hr.matched, 5);
    assert_int_equal(hr.latest_seq, 5);
    assert_int_equal(hv_audit_check_start(path, &heads[4], &e), HV_OK);

    /* Cut: the last two records gone. */
    size_t cut = (size_t)(strstr(text, "{\"seq\":4,") - text);
    assert_int_equal(hv_audit_verify(text, cut, &r), HV_OK);
    assert_int_equal(hv_audit_check_heads(text, cut, r.records, heads, n, &hr), HV_ECRYPTO);
    assert_int_equal(hr.first_bad, 4);
    assert_non_null(strstr(hr.why, "the log ends at record 3, records 4 to 5 are missing "
                                   "(a cut tail; the head signed 2026-"));
    hvt_write_file(fork, text, cut, 0600);
    assert_int_equal(hv_audit_check_start(fork, &heads[4], &e), HV_ECRYPTO);
    assert_non_null(strstr(e.text, "fork.audit: audit log shorter than its last witnessed "
                                   "head: record 5 expected, the log ends at record 3"));

    /* Rewritten after record 2: the first two kept, three others after. */
    cut = (size_t)(strstr(text, "{\"seq\":3,") - text);
    hvt_write_file(fork, text, cut, 0600);
    s_log_heads(fork, "shelter.xc", 3, kp, spare, &n_spare);
    size_t flen;
    char *forked = s_read_path(fork, &flen);
    assert_int_equal(hv_audit_verify(forked, flen, &r), HV_OK); /* the chain alone checks */
    assert_int_equal(hv_audit_check_heads(forked, flen, r.records, heads, n, &hr), HV_ECRYPTO);
    assert_int_equal(hr.first_bad, 3);
    assert_non_null(strstr(hr.why, "record 3 differs from its witnessed head: the chain was "
                                   "rewritten after record 2 (a rewritten chain; record 3 "
                                   "has hash "));
    assert_int_equal(hv_audit_check_start(fork, &heads[4], &e), HV_ECRYPTO);
    assert_non_null(strstr(e.text, "audit log differs from its last witnessed head: record 5 "
                                   "expected with hash "));
    free(forked);

    /* Another node's log in its place. */
    char *theirs = s_read_path(other, &flen);
    assert_int_equal(hv_audit_verify(theirs, flen, &r), HV_OK);
    assert_int_equal(hv_audit_check_heads(theirs, flen, r.records, heads, n, &hr), HV_ECRYPTO);
    assert_int_equal(hr.first_bad, 1);
    assert_string_equal(hr.why, "record 1 is legal.xc's, the witnessed heads are "
                                "shelter.xc's: another node's log (a swapped file)");
    assert_int_equal(hv_audit_check_start(other, &heads[4], &e), HV_ECRYPTO);
    assert_non_null(strstr(e.text, "audit log is not the one its last witnessed head names "
                                   "(record 5 of shelter.xc): its first record expected with hash "));
    free(theirs);

    /* Another file of the same node (made anew): its first record differs. */
    unlink(fork);
    s_log_heads(fork, "shelter.xc", 5, kp, spare, &n_spare);
    forked = s_read_path(fork, &flen);
    assert_int_equal(hv_audit_verify(forked, flen, &r), HV_OK);
    assert_int_equal(hv_audit_check_heads(forked, flen, r.records, heads, n, &hr), HV_ECRYPTO);
    assert_int_equal(hr.first_bad, 1);
    assert_string_equal(hr.why, "record 1 is not the first record of the witnessed log: "
                                "another file in its place (a swapped file)");
    free(forked);
    /* An empty log: shorter than any head. */
    hvt_write_file(fork, "", 0, 0600);
    assert_int_equal(hv_audit_check_start(fork, &heads[0], &e), HV_ECRYPTO);
    assert_non_null(strstr(e.text, "record 1 expected, the log is empty"));
    free(text);
    hvt_rmdir(dir);
    free(dir);
    hv_keypair_free(&kp);
}

/* A rotated log: the new file's first record goes on with the chain and
 * names the old file; both verify as one text, the new one alone from its
 * rotation record; reopened, the chain goes on; the start check takes the
 * new file against the old file's last head; a rotation record naming
 * another file is refused. */
static void test_rotation(void **state)
{
    (void)state;
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_generate(&kp), HV_OK);
    char *dir = hvt_tmpdir();
    char path[600], old[700];
    snprintf(path, sizeof path, "%s/shelter.audit", dir);
    hv_audit_head heads[16];
    size_t n = 0;
    s_log_heads(path, "shelter.xc", 3, kp, heads, &n);
    hv_audit *a = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_audit_open(&a, path, NULL, &e), HV_OK);
    assert_int_equal(hv_audit_rotate(a, "shelter.xc", "shelter.xc/host-admin", old, sizeof old,
                                     &e), HV_OK);
    assert_non_null(strstr(old, "/shelter.audit.3"));
    uint64_t seq;
    uint8_t hash[32], id[32];
    assert_true(hv_audit_tip(a, &seq, hash, id));
    assert_int_equal(seq, 4);
    assert_memory_equal(hash, id, 32); /* the rotation record is the new file's first */
    /* Rotating again at once would name PATH.4, which does not exist: fine;
     * a file of that name already there is refused. */
    char taken[720], again[720];
    snprintf(taken, sizeof taken, "%s.4", path);
    hvt_write_file(taken, "x", 1, 0600);
    assert_int_equal(hv_audit_rotate(a, "shelter.xc", "shelter.xc", again, sizeof again, &e),
                     HV_EEXIST);
    unlink(taken);
    hv_audit_close(&a);
    /* The old file's last head: the new file goes on from it. */
    assert_int_equal(hv_audit_check_start(path, &heads[2], &e), HV_OK);
    assert_int_equal(hv_audit_check_start(path, &heads[1], &e), HV_ECRYPTO);
    s_log_heads(path, "shelter.xc", 2, kp, heads, &n); /* reopened: goes on from 4 */
    size_t olen, nlen;
    char *otext = s_read_path(old, &olen), *ntext = s_read_path(path, &nlen);
    assert_non_null(strstr(ntext, "{\"seq\":4,"));
    assert_non_null(strstr(ntext, "\"event\":\"rotated\""));
    hv_audit_result r;
    assert_int_equal(hv_audit_verify(ntext, nlen, &r), HV_OK);
    assert_int_equal(r.records, 3);
    assert_int_equal(r.first_seq, 4);
    assert_int_equal(r.last_seq, 6);
    char *both = malloc(olen + nlen);
    memcpy(both, otext, olen);
    memcpy(both + olen, ntext, nlen);
    assert_int_equal(hv_audit_verify(both, olen + nlen, &r), HV_OK);
    assert_int_equal(r.records, 6);
    hv_audit_heads_result hr;
    assert_int_equal(hv_audit_check_heads(both, olen + nlen, r.last_seq, heads, n, &hr), HV_OK);
    assert_int_equal(hr.matched, 5);
    /* The new file alone: the old file's heads are not checked. */
    assert_int_equal(hv_audit_verify(ntext, nlen, &r), HV_OK);
    assert_int_equal(hv_audit_check_heads(ntext, nlen, r.last_seq, heads, n, &hr), HV_OK);
    assert_int_equal(hr.matched, 2);
    assert_int_equal(hr.skipped, 3);
    /* The rotation record names another file: refused across. */
    char *sub = strstr(both + olen, "\"subject\":\"") + strlen("\"subject\":\"");
    sub[0] = sub[0] == '0' ? '1' : '0';
    assert_int_equal(hv_audit_verify(both, olen + nlen, &r), HV_ECRYPTO);
    assert_int_equal(r.broken_line, 4);
    free(both);
    free(otext);
    free(ntext);
    hvt_rmdir(dir);
    free(dir);
    hv_keypair_free(&kp);
}

int main(void)
{
    if (hv_crypto_init() != HV_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_pending_and_recover),
        cmocka_unit_test(test_long_log),
        cmocka_unit_test(test_sync_thread),
        cmocka_unit_test(test_head_codec),
        cmocka_unit_test(test_heads_check),
        cmocka_unit_test(test_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
