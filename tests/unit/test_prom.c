/* Prometheus text (hv_prom.h): families, samples with escaped labels,
 * numbers as the format writes them, the process metrics and build info. */
#include "hv_test.h"

#include <math.h>
#include <time.h>

#include "hv_prom.h"
#include "hv_version.h"

static void test_family_and_samples_exactly(void **state)
{
    (void)state;
    hv_prom p = {0};
    hv_prom_family(&p, "haven_queue_depth", "gauge", "Envelopes waiting.");
    const char *const l[] = {"broker", "broker.xc", "queue", "@broker.xa"};
    hv_prom_sample(&p, "haven_queue_depth", l, 2, 3);
    hv_prom_sample(&p, "haven_queue_depth", NULL, 0, 0.25);
    hv_prom_sample(&p, "haven_x_bucket", (const char *const[]){"le", "+Inf"}, 1, INFINITY);
    char *text = hv_prom_take(&p);
    assert_string_equal(text, "# HELP haven_queue_depth Envelopes waiting.\n"
                              "# TYPE haven_queue_depth gauge\n"
                              "haven_queue_depth{broker=\"broker.xc\",queue=\"@broker.xa\"} 3\n"
                              "haven_queue_depth 0.250000\n"
                              "haven_x_bucket{le=\"+Inf\"} +Inf\n");
    free(text);
    assert_null(p.buf);
}

static void test_label_values_are_escaped(void **state)
{
    (void)state;
    hv_prom p = {0};
    hv_prom_sample(&p, "m", (const char *const[]){"reason", "a \"b\" \\c\nd"}, 1, 1);
    char *text = hv_prom_take(&p);
    assert_string_equal(text, "m{reason=\"a \\\"b\\\" \\\\c\\nd\"} 1\n");
    free(text);
}

static void test_big_counters_stay_integers(void **state)
{
    (void)state;
    hv_prom p = {0};
    hv_prom_sample(&p, "c_total", NULL, 0, 4294967296.0 * 1000);
    char *text = hv_prom_take(&p);
    assert_string_equal(text, "c_total 4294967296000\n");
    free(text);
}

static void test_an_empty_text_is_empty(void **state)
{
    (void)state;
    hv_prom p = {0};
    char *text = hv_prom_take(&p);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
}

static void test_process_and_build_info(void **state)
{
    (void)state;
    hv_prom p = {0};
    const char *const l[] = {"node", "ngo.xa"};
    hv_prom_build_info(&p, "haven-intake", l, 1);
    hv_prom_process(&p, l, 1);
    char *text = hv_prom_take(&p);
    char want[160];
    snprintf(want, sizeof want,
             "haven_build_info{node=\"ngo.xa\",program=\"haven-intake\",version=\"%s\"} 1\n",
             HV_VERSION);
    assert_non_null(strstr(text, want));
    static const char *const names[] = {"process_cpu_seconds_total",
                                        "process_resident_memory_bytes",
                                        "process_start_time_seconds", "process_open_fds",
                                        "process_max_fds"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char line[96];
        snprintf(line, sizeof line, "\n%s{node=\"ngo.xa\"} ", names[i]);
        const char *at = strstr(text, line);
        assert_non_null(at);
        double v = strtod(at + strlen(line), NULL);
        assert_true(v >= 0);
        if (strcmp(names[i], "process_resident_memory_bytes") == 0)
            assert_true(v > 4096);
        if (strcmp(names[i], "process_start_time_seconds") == 0) /* after 2020, before now */
            assert_true(v > 1577836800.0 && v <= (double)time(NULL) + 1);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_samples_exactly),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_big_counters_stay_integers),
        cmocka_unit_test(test_an_empty_text_is_empty),
        cmocka_unit_test(test_process_and_build_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
