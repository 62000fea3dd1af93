/* Values as text (hv_text.h): referral ids both ways, times for people,
 * growing strings. */
#include "hv_test.h"

#include "hv_text.h"

static void test_ref_hex_is_lower_case(void **state)
{
    (void)state;
    uint8_t id[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xa0 + i);
    char hex[33];
    memset(hex, 'x', sizeof hex);
    hv_ref_hex(id, hex);
    assert_string_equal(hex, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    memset(id, 0, sizeof id);
    hv_ref_hex(id, hex);
    assert_string_equal(hex, "00000000000000000000000000000000");
}

static void test_ref_parse_round_trip_either_case(void **state)
{
    (void)state;
    uint8_t id[16], back[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(i * 17 + 3);
    char hex[33];
    hv_ref_hex(id, hex);
    assert_int_equal(hv_ref_parse(hex, back), HV_OK);
    assert_memory_equal(back, id, 16);
    memset(back, 0, sizeof back);
    assert_int_equal(hv_ref_parse("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", back), HV_OK);
    for (int i = 0; i < 16; i++)
        assert_int_equal(back[i], 0xa0 + i);
}

static void test_ref_parse_refuses_another_length(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(hv_ref_parse("", out), HV_EINVAL);
    assert_int_equal(hv_ref_parse("a0a1a2a3a4a5a6a7a8a9aaabacadaea", out), HV_EINVAL);  /* 31 */
    assert_int_equal(hv_ref_parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0", out), HV_EINVAL); /* 33 */
    assert_int_equal(hv_ref_parse("a0a1a2a3", out), HV_EINVAL); /* a prefix is not an id */
}

static void test_ref_parse_refuses_what_is_not_hex(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(hv_ref_parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeag", out), HV_EINVAL);
    assert_int_equal(hv_ref_parse("a0a1a2a3a4a5a6a7 8a9aaabacadaeaf", out), HV_EINVAL);
    assert_int_equal(hv_ref_parse("a0a1a2a3-a4a5-a6a7-a8a9-aaabacad", out), HV_EINVAL);
}

static void test_time_human(void **state)
{
    (void)state;
    char out[24];
    hv_time_human(0, out);
    assert_string_equal(out, "1970-01-01 00:00 UTC");
    hv_time_human(1796135400, out);
    assert_string_equal(out, "2026-12-01 14:30 UTC");
    hv_time_human(1796135400 + 59, out); /* seconds are dropped, not rounded */
    assert_string_equal(out, "2026-12-01 14:30 UTC");
    hv_time_human(2147483648ULL, out); /* past 32-bit time_t */
    assert_string_equal(out, "2038-01-19 03:14 UTC");
}

static void test_strcat_grows(void **state)
{
    (void)state;
    char *s = NULL;
    hv_strcat(&s, "%s", "");
    assert_non_null(s);
    assert_string_equal(s, "");
    hv_strcat(&s, "case %s", "ab12cd");
    hv_strcat(&s, ": %d of %u\n", 3, 7u);
    assert_string_equal(s, "case ab12cd: 3 of 7\n");
    size_t big = 20000;
    char *line = malloc(big + 1);
    memset(line, 'x', big);
    line[big] = '\0';
    hv_strcat(&s, "%s", line);
    assert_int_equal(strlen(s), strlen("case ab12cd: 3 of 7\n") + big);
    assert_memory_equal(s + strlen("case ab12cd: 3 of 7\n"), line, big);
    free(line);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_hex_is_lower_case),
        cmocka_unit_test(test_ref_parse_round_trip_either_case),
        cmocka_unit_test(test_ref_parse_refuses_another_length),
        cmocka_unit_test(test_ref_parse_refuses_what_is_not_hex),
        cmocka_unit_test(test_time_human),
        cmocka_unit_test(test_strcat_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
