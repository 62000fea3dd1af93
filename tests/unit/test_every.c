/* The periodic thread: it calls its function again and again, and after
 * hv_every_stop returns it never calls it again. */
#include "hv_test.h"

#include <unistd.h>

#include "hv_every.h"

static void s_count(void *arg)
{
    __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
}

static void test_calls_then_stops(void **state)
{
    (void)state;
    int calls = 0;
    hv_every *e = NULL;
    assert_int_equal(hv_every_start(&e, 2, s_count, &calls), HV_OK);
    /* Bounded wait: up to 2 s for 5 calls 2 ms apart. */
    for (int i = 0; i < 400 && __atomic_load_n(&calls, __ATOMIC_RELAXED) < 5; i++)
        usleep(5000);
    assert_true(__atomic_load_n(&calls, __ATOMIC_RELAXED) >= 5);
    hv_every_stop(&e);
    assert_null(e);
    int after = __atomic_load_n(&calls, __ATOMIC_RELAXED);
    usleep(20000); /* ten periods: a thread left running would have called */
    assert_int_equal(__atomic_load_n(&calls, __ATOMIC_RELAXED), after);
    hv_every_stop(&e); /* twice is safe */
}

static void test_refuses_nonsense(void **state)
{
    (void)state;
    int calls = 0;
    hv_every *e = NULL;
    assert_int_equal(hv_every_start(&e, 0, s_count, &calls), HV_EINVAL);
    assert_int_equal(hv_every_start(&e, 5, NULL, &calls), HV_EINVAL);
    assert_null(e);
    /* A long period still stops at once. */
    assert_int_equal(hv_every_start(&e, 3600 * 1000, s_count, &calls), HV_OK);
    hv_every_stop(&e);
    assert_int_equal(calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_then_stops),
        cmocka_unit_test(test_refuses_nonsense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
