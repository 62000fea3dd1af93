/* The JSON reader with positions: values carry their line and column;
 * each kind of malformed text is refused at its exact position with its
 * message; limits hold. */
#include "hv_test.h"

#include "hv_json.h"

static hv_json *s_parse_ok(const char *text)
{
    hv_json *j = NULL;
    hv_json_error e;
    assert_int_equal(hv_json_parse(text, strlen(text), &j, &e), HV_OK);
    return j;
}

/* Asserts that `text` is refused at line:col with `msg`. */
static void s_refused(const char *text, uint32_t line, uint32_t col, const char *msg)
{
    hv_json *j = NULL;
    hv_json_error e;
    assert_int_equal(hv_json_parse(text, strlen(text), &j, &e), HV_EJSON);
    assert_null(j);
    assert_string_equal(e.text, msg);
    assert_int_equal(e.line, line);
    assert_int_equal(e.col, col);
}

static void test_positions(void **state)
{
    (void)state;
    hv_json *j = s_parse_ok("{\n  \"a\": [1, true],\n\t\"bb\" :\n  \"x\\u00e9\\ud83d\\ude00\"\n}");
    assert_int_equal(j->type, HV_JSON_OBJECT);
    assert_int_equal(j->n, 2);
    const hv_json *a = hv_json_get(j, "a");
    assert_int_equal(a->line, 2);
    assert_int_equal(a->col, 8);
    assert_int_equal(a->key_line, 2);
    assert_int_equal(a->key_col, 3);
    assert_int_equal(a->items[1]->type, HV_JSON_BOOL);
    assert_true(a->items[1]->b);
    assert_int_equal(a->items[1]->col, 12);
    const hv_json *bb = hv_json_get(j, "bb");
    assert_int_equal(bb->line, 4);
    assert_int_equal(bb->col, 3);
    assert_string_equal(bb->str, "x\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(bb->len, 7);
    assert_null(hv_json_get(j, "c"));
    hv_json_free(&j);
    hv_json_free(&j); /* safe twice */
    j = s_parse_ok("\xef\xbb\xbf[-0, 12.5e-1, 7]");
    assert_false(j->items[0]->is_int == false);
    assert_false(j->items[1]->is_int);
    assert_true(j->items[1]->num == 1.25);
    assert_true(j->items[2]->is_int);
    hv_json_free(&j);
}

static void test_refusals(void **state)
{
    (void)state;
    s_refused("", 1, 1, "expected a value, found end of input");
    s_refused("{\"a\": 1,}", 1, 9, "trailing comma before '}'");
    s_refused("[1,\n 2,\n]", 3, 1, "trailing comma before ']'");
    s_refused("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}', found '\"'");
    s_refused("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate member \"a\"");
    s_refused("{a: 1}", 1, 2, "expected a member name in double quotes, found 'a'");
    s_refused("{\"a\" 1}", 1, 6, "expected ':' after the member name, found '1'");
    s_refused("[\"abc]", 1, 2, "unterminated string");
    s_refused("[\"a\tb\"]", 1, 4, "control character in string (escape it)");
    s_refused("[\"\\x\"]", 1, 3, "unknown escape sequence");
    s_refused("[\"\\u12g4\"]", 1, 3, "\\u must be followed by 4 hex digits");
    s_refused("[\"\\ud800\"]", 1, 3, "high surrogate without its low surrogate");
    s_refused("[\"\\udc00\"]", 1, 3, "lone low surrogate in \\u escape");
    s_refused("[\"\\u0000\"]", 1, 3, "\\u0000 is not allowed in strings");
    s_refused("[\"\xc3\x28\"]", 1, 2, "string is not valid UTF-8");
    s_refused("[01]", 1, 3, "expected ',' or ']', found '1'");
    s_refused("[1.]", 1, 4, "expected a digit after '.'");
    s_refused("[1e]", 1, 4, "expected a digit in the exponent");
    s_refused("[1e999]", 1, 2, "number out of range");
    s_refused("[tru]", 1, 2, "expected a value, found 't'");
    s_refused("{} {}", 1, 4, "unexpected text after the value");
    s_refused("// comment\n{}", 1, 1, "expected a value, found '/'");
    char deep[80] = "";
    for (int i = 0; i < HV_JSON_DEPTH_MAX + 1; i++)
        strcat(deep, "[");
    s_refused(deep, 1, HV_JSON_DEPTH_MAX + 1, "nested more than 32 deep");
}

static void test_limits(void **state)
{
    (void)state;
    size_t big = HV_JSON_TEXT_MAX + 1;
    char *text = malloc(big);
    memset(text, ' ', big);
    text[0] = '1';
    hv_json *j = NULL;
    hv_json_error e;
    assert_int_equal(hv_json_parse(text, big, &j, &e), HV_ETOOBIG);
    assert_null(j);
    free(text);
    /* Many members: the object limit keeps duplicate checks cheap. */
    size_t cap = 20 * 1100;
    text = malloc(cap);
    size_t n = 0;
    text[n++] = '{';
    for (int i = 0; i < 1025; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"k%d\":0", i ? "," : "", i);
    text[n++] = '}';
    assert_int_equal(hv_json_parse(text, n, &j, &e), HV_EJSON);
    assert_string_equal(e.text, "more than 1024 members in one object");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
