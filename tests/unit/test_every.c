/* The periodic thread: it calls its function again and again, and after
 * hv_every_stop returns it never calls it again; work that is all done
 * sleeps until it is kicked. */
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

/* Work that says "nothing left" is not called again until a kick, and
 * after a kick is called again: `arg` counts calls, and the function says
 * "more" for its first two calls. */
static bool s_until_idle(void *arg)
{
    return __atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED) <= 2;
}

static int s_wait_calls(int *calls, int want)
{
    for (int i = 0; i < 400 && __atomic_load_n(calls, __ATOMIC_RELAXED) < want; i++)
        usleep(5000);
    return __atomic_load_n(calls, __ATOMIC_RELAXED);
}

static void test_sleeps_until_kicked(void **state)
{
    (void)state;
    int calls = 0;
    hv_every *e = NULL;
    assert_int_equal(hv_every_start_until_idle(&e, 2, s_until_idle, &calls), HV_OK);
    /* Two calls saying "more", the third "nothing left"; then it sleeps:
     * twenty-five periods pass without a call. */
    assert_int_equal(s_wait_calls(&calls, 3), 3);
    usleep(50000);
    assert_int_equal(__atomic_load_n(&calls, __ATOMIC_RELAXED), 3);
    /* A kick: one call more, then asleep again. */
    hv_every_kick(e);
    assert_int_equal(s_wait_calls(&calls, 4), 4);
    usleep(50000);
    assert_int_equal(__atomic_load_n(&calls, __ATOMIC_RELAXED), 4);
    hv_every_kick(NULL); /* safe */
    hv_every_stop(&e);
    assert_null(e);
    assert_int_equal(hv_every_start_until_idle(&e, 5, NULL, &calls), HV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_then_stops),
        cmocka_unit_test(test_refuses_nonsense),
        cmocka_unit_test(test_sleeps_until_kicked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
