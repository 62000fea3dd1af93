/* Documents with a case (hv_attach.h, hv_attach_type.h): the type comes
 * from the content; at the provider chunks may come twice and out of
 * order, a document is readable only once whole and checked, and one
 * whose digest or type disagrees is refused and its chunks deleted;
 * another node's keys do not open a chunk; erasure leaves no row. */
#include "hv_test.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "hv_attach.h"
#include "hv_attach_type.h"
#include "hv_crypto.h"
#include "hv_sql.h"

static const uint8_t s_ref[16] = {0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21,
                                  0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21};

static sqlite3 *s_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, HV_ATTACH_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* A PDF of `size` bytes, its middle varying with `seed`. */
static uint8_t *s_pdf(size_t size, uint8_t seed)
{
    uint8_t *d = malloc(size);
    assert_non_null(d);
    for (size_t i = 0; i < size; i++)
        d[i] = (uint8_t)('a' + (i * 7 + seed) % 26);
    memcpy(d, "%PDF-1.7\n", 9);
    memcpy(d + size - 7, "\n%%EOF\n", 7);
    return d;
}

static hv_attach_chunk s_chunk(const uint8_t *doc, size_t size, uint32_t index)
{
    hv_attach_chunk c;
    memset(&c, 0, sizeof c);
    c.n = 0;
    strcpy(c.name, "report.pdf");
    strcpy(c.title, "Medical report");
    strcpy(c.type, "application/pdf");
    c.size = size;
    c.chunks = (uint32_t)((size + HV_ATTACH_CHUNK - 1) / HV_ATTACH_CHUNK);
    c.index = index;
    hv_hash256(doc, size, c.digest);
    c.data = doc + (size_t)index * HV_ATTACH_CHUNK;
    c.data_len = index + 1 < c.chunks ? HV_ATTACH_CHUNK : size - (size_t)index * HV_ATTACH_CHUNK;
    return c;
}

static int64_t s_count(sqlite3 *db, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(hv_sql_int(db, &n, sql, ""), HV_OK);
    return n;
}

static void test_type_from_content(void **state)
{
    (void)state;
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                                  'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
                                  0x90, 0x77, 0x53, 0xDE};
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 'J', 'F', 0xFF, 0xD9};
    static const char pdf[] = "%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\r\n";
    assert_string_equal(hv_attach_sniff(png, sizeof png), "image/png");
    assert_string_equal(hv_attach_sniff(jpeg, sizeof jpeg), "image/jpeg");
    assert_string_equal(hv_attach_sniff((const uint8_t *)pdf, sizeof pdf - 1), "application/pdf");
    /* Near misses: no trailer, text after it, a PNG with a zero width, no EOI, HTML. */
    static const char no_eof[] = "%PDF-1.4\nno end\n", after[] = "%PDF-1.4\n%%EOF\n<html>";
    assert_null(hv_attach_sniff((const uint8_t *)no_eof, sizeof no_eof - 1));
    assert_null(hv_attach_sniff((const uint8_t *)after, sizeof after - 1));
    uint8_t flat[sizeof png];
    memcpy(flat, png, sizeof png);
    flat[19] = 0;
    assert_null(hv_attach_sniff(flat, sizeof flat));
    assert_null(hv_attach_sniff(jpeg, sizeof jpeg - 2));
    static const char html[] = "<!DOCTYPE html><html>report.pdf</html>";
    assert_null(hv_attach_sniff((const uint8_t *)html, sizeof html - 1));
    assert_null(hv_attach_sniff(NULL, 0));
}

static void test_chunks_twice_and_out_of_order(void **state)
{
    (void)state;
    sqlite3 *db = s_db();
    hv_keyring *me = hvt_ring(1), *other = hvt_ring(2);
    size_t size = 2 * HV_ATTACH_CHUNK + 1000;
    uint8_t *doc = s_pdf(size, 1);
    char what[300];
    hv_errmsg e = {""};
    uint32_t order[] = {2, 0, 2, 0};
    for (size_t i = 0; i < 4; i++) {
        hv_attach_chunk c = s_chunk(doc, size, order[i]);
        assert_int_equal(hv_attach_receive(db, me, s_ref, &c, what, sizeof what, &e), HV_OK);
        assert_string_equal(what, "");
    }
    /* Not whole yet: nothing can be read. */
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(hv_attach_read(db, me, s_ref, 0, 0, 10, &out, &len), HV_ENOTFOUND);
    json_t *list = hv_attach_list(db, s_ref, false);
    json_t *item = json_array_get(json_object_get(list, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "state")), "incomplete");
    assert_int_equal(json_integer_value(json_object_get(item, "have")), 2);
    json_decref(list);
    hv_attach_chunk c = s_chunk(doc, size, 1);
    assert_int_equal(hv_attach_receive(db, me, s_ref, &c, what, sizeof what, &e), HV_OK);
    assert_non_null(strstr(what, "received whole; digest checked"));
    /* Across a chunk's boundary, and the short end. */
    assert_int_equal(hv_attach_read(db, me, s_ref, 0, HV_ATTACH_CHUNK - 5, 10, &out, &len), HV_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(out, doc + HV_ATTACH_CHUNK - 5, 10);
    hv_secure_free(out);
    assert_int_equal(hv_attach_read(db, me, s_ref, 0, size - 4, 100, &out, &len), HV_OK);
    assert_int_equal(len, 4);
    hv_secure_free(out);
    assert_int_equal(hv_attach_read(db, me, s_ref, 0, size + 1, 1, &out, &len), HV_EINVAL);
    /* Another node's keys do not open a chunk. */
    assert_int_equal(hv_attach_read(db, other, s_ref, 0, 0, 10, &out, &len), HV_ECRYPTO);
    /* A copy after completion changes nothing; a chunk describing another
     * document under the same number is refused. */
    c = s_chunk(doc, size, 1);
    assert_int_equal(hv_attach_receive(db, me, s_ref, &c, what, sizeof what, &e), HV_OK);
    c.digest[0] ^= 1;
    assert_int_equal(hv_attach_receive(db, me, s_ref, &c, what, sizeof what, &e), HV_EPROTO);
    assert_int_equal(hv_attach_erase(db, s_ref), HV_OK);
    assert_int_equal(s_count(db, "SELECT count(*) FROM attach_docs"), 0);
    assert_int_equal(s_count(db, "SELECT count(*) FROM attach_chunks"), 0);
    free(doc);
    hv_keyring_free(&me);
    hv_keyring_free(&other);
    sqlite3_close(db);
}

static void test_mismatch_refused_never_shown(void **state)
{
    (void)state;
    sqlite3 *db = s_db();
    hv_keyring *me = hvt_ring(1);
    size_t size = HV_ATTACH_CHUNK + 100;
    uint8_t *doc = s_pdf(size, 2), *altered = s_pdf(size, 3);
    char what[300];
    hv_errmsg e = {""};
    /* The digest is of `doc`; the second chunk comes from `altered`. */
    hv_attach_chunk c = s_chunk(doc, size, 0);
    assert_int_equal(hv_attach_receive(db, me, s_ref, &c, what, sizeof what, &e), HV_OK);
    c = s_chunk(doc, size, 1);
    c.data = altered + HV_ATTACH_CHUNK;
    assert_int_equal(hv_attach_receive(db, me, s_ref, &c, what, sizeof what, &e), HV_OK);
    assert_non_null(strstr(what, "refused: its digest differs"));
    assert_int_equal(s_count(db, "SELECT count(*) FROM attach_chunks"), 0);
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(hv_attach_read(db, me, s_ref, 0, 0, 10, &out, &len), HV_ENOTFOUND);
    json_t *list = hv_attach_list(db, s_ref, false);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(list, "items"), 0), "state")),
                        "refused");
    json_decref(list);
    /* Sent as a PNG, but its content is a PDF: refused too. */
    hv_attach_chunk p = s_chunk(doc, size, 0);
    p.n = 1;
    strcpy(p.type, "image/png");
    assert_int_equal(hv_attach_receive(db, me, s_ref, &p, what, sizeof what, &e), HV_OK);
    p = s_chunk(doc, size, 1);
    p.n = 1;
    strcpy(p.type, "image/png");
    assert_int_equal(hv_attach_receive(db, me, s_ref, &p, what, sizeof what, &e), HV_OK);
    assert_non_null(strstr(what, "its content is application/pdf, not the image/png"));
    free(doc);
    free(altered);
    hv_keyring_free(&me);
    sqlite3_close(db);
}

int main(void)
{
    if (hv_crypto_init() != HV_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_from_content),
        cmocka_unit_test(test_chunks_twice_and_out_of_order),
        cmocka_unit_test(test_mismatch_refused_never_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
