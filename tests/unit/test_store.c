/* The broker's store: what its checkpointer thread does for the writer.
 * (Custody itself is tested end to end with real brokers in
 * tests/integration.) */
#include "hv_test.h"

#include <sys/stat.h>
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpointer_copies_commits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
