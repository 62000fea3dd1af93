/* Log rate limits (issue 20): the first lines of a window pass, the rest
 * are counted, one summary per event and peer says how many; the table is
 * bounded and evicts the slot seen longest ago, summary first. */
#include "hv_test.h"

#include "hv_lograte.h"

/* What the sink was told, in order. */
typedef struct s_seen {
    char event[32][32], peer[32][64];
    uint64_t count[32];
    int64_t window[32];
    size_t n;
} s_seen;

static void s_sink(void *cls, const char *event, const char *peer, uint64_t count,
                   int64_t window_ms)
{
    s_seen *s = cls;
    assert_true(s->n < 32);
    snprintf(s->event[s->n], sizeof s->event[0], "%s", event);
    snprintf(s->peer[s->n], sizeof s->peer[0], "%s", peer);
    s->count[s->n] = count;
    s->window[s->n] = window_ms;
    s->n++;
}

static void test_burst_then_one_summary(void **state)
{
    (void)state;
    s_seen seen = {0};
    hv_lograte *r = NULL;
    assert_int_equal(hv_lograte_open(&r, 8, 5, 10000, s_sink, &seen), HV_OK);
    unsigned passed = 0;
    for (int i = 0; i < 50000; i++)
        passed += hv_lograte_check(r, "refused", "ngo.xa", 1000 + i / 10);
    assert_int_equal(passed, 5);
    assert_int_equal(seen.n, 0); /* nothing until the window ends */
    assert_int_equal(hv_lograte_flush_at(r, 1000 + 9999, false), 0);
    assert_int_equal(hv_lograte_flush_at(r, 1000 + 10000, false), 1);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.event[0], "refused");
    assert_string_equal(seen.peer[0], "ngo.xa");
    assert_int_equal(seen.count[0], 49995);
    assert_int_equal(seen.window[0], 10000);
    /* The slot is free again: the next line passes. */
    assert_true(hv_lograte_check(r, "refused", "ngo.xa", 20000));
    assert_int_equal(hv_lograte_flush_at(r, 40000, true), 0); /* nothing left out */
    hv_lograte_close(&r);
    hv_lograte_close(&r);
    assert_null(r);
}

static void test_peers_and_events_apart(void **state)
{
    (void)state;
    s_seen seen = {0};
    hv_lograte *r = NULL;
    assert_int_equal(hv_lograte_open(&r, 8, 2, 1000, s_sink, &seen), HV_OK);
    for (int i = 0; i < 10; i++) {
        hv_lograte_check(r, "refused", "ngo.xa", 0);
        hv_lograte_check(r, "refused", "shelter.xc", 0);
        hv_lograte_check(r, "garbage", "ngo.xa", 0);
    }
    /* A window's end seen at the next line: the summary, then a new window. */
    assert_true(hv_lograte_check(r, "refused", "ngo.xa", 1500));
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.peer[0], "ngo.xa");
    assert_int_equal(seen.count[0], 8);
    assert_int_equal(seen.window[0], 1000);
    assert_int_equal(hv_lograte_flush_at(r, 1600, false), 2);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.count[1] + seen.count[2], 16);
    hv_lograte_close(&r);
}

static void test_full_table_evicts_oldest_with_its_count(void **state)
{
    (void)state;
    s_seen seen = {0};
    hv_lograte *r = NULL;
    assert_int_equal(hv_lograte_open(&r, 2, 1, 10000, s_sink, &seen), HV_OK);
    assert_true(hv_lograte_check(r, "refused", "a.xa", 0));
    assert_false(hv_lograte_check(r, "refused", "a.xa", 1));
    assert_true(hv_lograte_check(r, "refused", "b.xa", 2));
    assert_false(hv_lograte_check(r, "refused", "b.xa", 3));
    /* A third peer: a.xa (seen at 1) goes, its one left-out line told. */
    assert_true(hv_lograte_check(r, "refused", "c.xa", 4));
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.peer[0], "a.xa");
    assert_int_equal(seen.count[0], 1);
    assert_int_equal(seen.window[0], 4);
    assert_int_equal(hv_lograte_flush_at(r, 5, true), 1); /* b.xa's; c.xa left none out */
    assert_string_equal(seen.peer[1], "b.xa");
    hv_lograte_close(&r);
}

static void test_peer_text_made_printable(void **state)
{
    (void)state;
    s_seen seen = {0};
    hv_lograte *r = NULL;
    assert_int_equal(hv_lograte_open(&r, 4, 0, 10, s_sink, &seen), HV_OK);
    char longpeer[200];
    memset(longpeer, 'k', sizeof longpeer - 1);
    longpeer[sizeof longpeer - 1] = '\0';
    assert_false(hv_lograte_check(r, "refused", "bad peer=\"x\"\n", 0));
    assert_false(hv_lograte_check(r, "refused", longpeer, 0));
    assert_int_equal(hv_lograte_flush_at(r, 10, false), 2);
    assert_string_equal(seen.peer[0], "bad?peer=?x??");
    assert_int_equal(strlen(seen.peer[1]), 63);
    hv_lograte_close(&r);
    assert_int_equal(hv_lograte_open(&r, 0, 1, 10, NULL, NULL), HV_EINVAL);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_one_summary),
        cmocka_unit_test(test_peers_and_events_apart),
        cmocka_unit_test(test_full_table_evicts_oldest_with_its_count),
        cmocka_unit_test(test_peer_text_made_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
