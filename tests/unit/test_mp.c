/* The strict msgpack reader: shortest forms only, limits, UTF-8, errors. */
#include "hv_test.h"

#include "hv_err.h"
#include "hv_mp.h"

static hv_err s_uint(const uint8_t *b, size_t n, uint64_t *v)
{
    hv_mp_reader r;
    hv_mp_reader_init(&r, b, n);
    hv_err err = hv_mp_read_uint(&r, v);
    return err == HV_OK ? hv_mp_read_end(&r) : err;
}

static void test_uint_shortest_form_only(void **state)
{
    (void)state;
    uint64_t v;
    static const uint8_t fix[] = {0x7f}, u8[] = {0xcc, 0x80}, u8_short[] = {0xcc, 0x7f},
                         u16_short[] = {0xcd, 0x00, 0xff}, u32_short[] = {0xce, 0, 0, 0xff, 0xff},
                         u64_short[] = {0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
                         u64[] = {0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, neg[] = {0xff},
                         trunc[] = {0xcd, 0x01};
    assert_int_equal(s_uint(fix, sizeof fix, &v), HV_OK);
    assert_int_equal(v, 127);
    assert_int_equal(s_uint(u8, sizeof u8, &v), HV_OK);
    assert_int_equal(v, 128);
    assert_int_equal(s_uint(u64, sizeof u64, &v), HV_OK);
    assert_int_equal(v, 1ull << 32);
    assert_int_equal(s_uint(u8_short, sizeof u8_short, &v), HV_EDECODE);
    assert_int_equal(s_uint(u16_short, sizeof u16_short, &v), HV_EDECODE);
    assert_int_equal(s_uint(u32_short, sizeof u32_short, &v), HV_EDECODE);
    assert_int_equal(s_uint(u64_short, sizeof u64_short, &v), HV_EDECODE);
    assert_int_equal(s_uint(neg, sizeof neg, &v), HV_EDECODE);
    assert_int_equal(s_uint(trunc, sizeof trunc, &v), HV_ETRUNCATED);
    assert_int_equal(s_uint(trunc, 0, &v), HV_ETRUNCATED);
}

static void test_lengths_shortest_form_only(void **state)
{
    (void)state;
    hv_mp_reader r;
    const char *s;
    const uint8_t *b;
    size_t n;
    uint32_t count;
    static const uint8_t str8_short[] = {0xd9, 0x1f}, arr16_short[] = {0xdc, 0x00, 0x0f},
                         bin16_short[] = {0xc5, 0x00, 0xff}, str_over[] = {0xa5, 'a', 'b', 'c',
                                                                          'd', 'e'};
    hv_mp_reader_init(&r, str8_short, sizeof str8_short);
    assert_int_equal(hv_mp_read_str(&r, 100, &s, &n), HV_EDECODE);
    hv_mp_reader_init(&r, arr16_short, sizeof arr16_short);
    assert_int_equal(hv_mp_read_array(&r, &count), HV_EDECODE);
    hv_mp_reader_init(&r, bin16_short, sizeof bin16_short);
    assert_int_equal(hv_mp_read_bin(&r, 1000, &b, &n), HV_EDECODE);
    hv_mp_reader_init(&r, str_over, sizeof str_over);
    assert_int_equal(hv_mp_read_str(&r, 4, &s, &n), HV_ETOOBIG);
    hv_mp_reader_init(&r, str_over, sizeof str_over);
    assert_int_equal(hv_mp_read_str(&r, 5, &s, &n), HV_OK);
    assert_int_equal(n, 5);
    /* A length that points past the end is truncation. */
    hv_mp_reader_init(&r, str_over, 4);
    assert_int_equal(hv_mp_read_str(&r, 5, &s, &n), HV_ETRUNCATED);
}

static void test_writer_matches_reader(void **state)
{
    (void)state;
    /* Values at every boundary survive a write-read round trip. */
    static const uint64_t values[] = {0, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
                                      0x100000000ull, UINT64_MAX};
    hv_mp_writer w;
    uint8_t *buf;
    size_t len;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        hv_mp_write_uint(&w, values[i]);
    char text[300];
    memset(text, 'x', sizeof text);
    hv_mp_write_str(&w, text, 31);
    hv_mp_write_str(&w, text, 32);
    hv_mp_write_str(&w, text, 256);
    hv_mp_write_bin(&w, text, 0);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint64_t v;
        assert_int_equal(hv_mp_read_uint(&r, &v), HV_OK);
        assert_int_equal(v, values[i]);
    }
    const char *s;
    const uint8_t *b;
    size_t n;
    assert_int_equal(hv_mp_read_str(&r, 300, &s, &n), HV_OK);
    assert_int_equal(n, 31);
    assert_int_equal(hv_mp_read_str(&r, 300, &s, &n), HV_OK);
    assert_int_equal(n, 32);
    assert_int_equal(hv_mp_read_str(&r, 300, &s, &n), HV_OK);
    assert_int_equal(n, 256);
    assert_int_equal(hv_mp_read_bin(&r, 10, &b, &n), HV_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hv_mp_read_end(&r), HV_OK);
    free(buf);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(hv_utf8_valid("plain", 5));
    assert_true(hv_utf8_valid("\xc3\xa9t\xc3\xa9", 5));           /* été */
    assert_true(hv_utf8_valid("\xf0\x9f\x98\x80", 4));            /* U+1F600 */
    assert_false(hv_utf8_valid("\xc0\xaf", 2));                   /* overlong */
    assert_false(hv_utf8_valid("\xed\xa0\x80", 3));               /* surrogate */
    assert_false(hv_utf8_valid("\xf4\x90\x80\x80", 4));           /* > U+10FFFF */
    assert_false(hv_utf8_valid("\xe2\x82", 2));                   /* cut short */
    assert_false(hv_utf8_valid("a\0b", 3));                       /* NUL */
}

static void test_error_names_are_stable(void **state)
{
    (void)state;
    /* The numbers are on the wire: pin a few. */
    assert_int_equal(HV_ECRYPTO, 10);
    assert_int_equal(HV_EREG_SIGNATURE, 15);
    assert_int_equal(HV_ETIMEOUT, 32);
    assert_int_equal(HV_EPERM, 33);
    for (int e = 0; e <= HV_ERR_MAX; e++) {
        assert_string_not_equal(hv_strerror((hv_err)e), "unknown error");
        assert_string_not_equal(hv_errname((hv_err)e), "HV_E?");
    }
    assert_string_equal(hv_strerror((hv_err)(HV_ERR_MAX + 1)), "unknown error");
    hv_errmsg e = {""};
    assert_int_equal(hv_fail(&e, HV_EJSON, "line %d", 3), HV_EJSON);
    assert_string_equal(e.text, "line 3");
    assert_int_equal(hv_fail_prefix(&e, HV_EJSON, "network.json"), HV_EJSON);
    assert_string_equal(e.text, "network.json: line 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_shortest_form_only),
        cmocka_unit_test(test_lengths_shortest_form_only),
        cmocka_unit_test(test_writer_matches_reader),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_error_names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
