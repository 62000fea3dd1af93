/* Health summary codec (proto/hv_health.h): a summary round trips
 * canonically; every truncation, version, arity, limit, repeated peer and
 * trailing byte is refused with its exact error; golden bytes. */
#include "hv_test.h"

#include "hv_health.h"
#include "hv_mp.h"

/* broker.xb with its two links: up to broker.xa, down to broker.xc. */
static void s_example(hv_health *h)
{
    memset(h, 0, sizeof *h);
    strcpy(h->broker, "broker.xb");
    h->made_ms = 1764590400000ull; /* 2025-12-01T12:00:00Z */
    h->registry_version = 7;
    h->stored_mps = 2500;
    h->delivered_mps = 2000;
    h->acked_mps = 1750;
    h->queued = 12;
    h->dead = 1;
    h->n_links = 2;
    strcpy(h->links[0].peer, "broker.xa");
    h->links[0].out_up = true;
    h->links[0].in_up = true;
    h->links[0].out_since_ms = 1764590000000ull;
    h->links[0].in_since_ms = 1764590001000ull;
    strcpy(h->links[1].peer, "broker.xc");
    h->links[1].out_since_ms = 1764590280000ull;
    h->links[1].in_since_ms = 1764590281000ull;
    h->links[1].queued = 9;
}

static void test_round_trip(void **state)
{
    (void)state;
    hv_health h, d;
    uint8_t *buf, *again;
    size_t len, again_len;
    s_example(&h);
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_OK);
    assert_int_equal(hv_health_decode(buf, len, &d), HV_OK);
    assert_string_equal(d.broker, "broker.xb");
    assert_int_equal(d.made_ms, 1764590400000ull);
    assert_int_equal(d.registry_version, 7);
    assert_int_equal(d.stored_mps, 2500);
    assert_int_equal(d.acked_mps, 1750);
    assert_int_equal(d.queued, 12);
    assert_int_equal(d.dead, 1);
    assert_int_equal(d.n_links, 2);
    assert_string_equal(d.links[1].peer, "broker.xc");
    assert_false(d.links[1].out_up);
    assert_true(d.links[0].in_up);
    assert_int_equal(d.links[1].out_since_ms, 1764590280000ull);
    assert_int_equal(d.links[1].queued, 9);
    assert_int_equal(hv_health_encode(&d, &again, &again_len), HV_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
    free(again);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(hv_health_decode(buf, cut, &d), HV_ETRUNCATED);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0xc0;
    assert_int_equal(hv_health_decode(longer, len + 1, &d), HV_ETRAILING);
    free(longer);
    free(buf);
}

/* What encode refuses, it never writes: invalid ids, a repeated peer, the
 * broker as its own peer, too many links, a rate above its limit. */
static void test_encode_limits(void **state)
{
    (void)state;
    hv_health h;
    uint8_t *buf = NULL;
    size_t len;
    s_example(&h);
    strcpy(h.broker, "Broker XB");
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_EINVAL);
    s_example(&h);
    strcpy(h.links[1].peer, "broker.xa");
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_EINVAL);
    s_example(&h);
    strcpy(h.links[1].peer, "broker.xb");
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_EINVAL);
    s_example(&h);
    h.n_links = HV_HEALTH_LINKS_MAX + 1;
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_EINVAL);
    s_example(&h);
    h.acked_mps = HV_HEALTH_RATE_MAX + 1;
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_EINVAL);
    s_example(&h);
    h.made_ms = HV_HEALTH_TIME_MAX + 1;
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_EINVAL);
    assert_null(buf);
    /* The most a summary can hold still fits in HV_HEALTH_MAX. */
    s_example(&h);
    memset(h.broker, 'b', HV_NODE_ID_MAX);
    h.broker[HV_NODE_ID_MAX] = '\0';
    h.made_ms = h.registry_version = h.queued = h.dead = HV_HEALTH_TIME_MAX;
    h.stored_mps = h.delivered_mps = h.acked_mps = HV_HEALTH_RATE_MAX;
    h.n_links = HV_HEALTH_LINKS_MAX;
    for (unsigned i = 0; i < HV_HEALTH_LINKS_MAX; i++) {
        hv_health_link *l = &h.links[i];
        memset(l->peer, 'p', HV_NODE_ID_MAX);
        l->peer[HV_NODE_ID_MAX] = '\0';
        l->peer[0] = (char)('a' + i % 26);
        l->peer[1] = (char)('a' + i / 26);
        l->out_since_ms = l->in_since_ms = l->queued = HV_HEALTH_TIME_MAX;
        l->out_up = l->in_up = true;
    }
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_OK);
    assert_true(len <= HV_HEALTH_MAX);
    hv_health d;
    assert_int_equal(hv_health_decode(buf, len, &d), HV_OK);
    free(buf);
}

/* A summary written by hand, with `version`, `fields` elements, a link of
 * `link_fields` elements naming `peer` twice when `twice`. */
static uint8_t *s_raw(uint64_t version, uint32_t fields, uint32_t link_fields, const char *peer,
                      bool twice, size_t *len)
{
    hv_mp_writer w;
    uint8_t *out;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, fields);
    hv_mp_write_uint(&w, version);
    hv_mp_write_cstr(&w, "broker.xb");
    for (int i = 0; i < 7; i++)
        hv_mp_write_uint(&w, 1);
    hv_mp_write_array(&w, twice ? 2 : 1);
    for (int k = 0; k < (twice ? 2 : 1); k++) {
        hv_mp_write_array(&w, link_fields);
        hv_mp_write_cstr(&w, peer);
        hv_mp_write_bool(&w, true);
        hv_mp_write_bool(&w, false);
        for (uint32_t i = 3; i < link_fields; i++)
            hv_mp_write_uint(&w, 1);
    }
    assert_int_equal(hv_mp_writer_take(&w, &out, len), HV_OK);
    return out;
}

static void test_decode_refusals(void **state)
{
    (void)state;
    hv_health d;
    size_t len;
    uint8_t *b = s_raw(1, 10, 6, "broker.xa", false, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_OK);
    free(b);
    b = s_raw(2, 10, 6, "broker.xa", false, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_EVERSION);
    free(b);
    b = s_raw(1, 11, 6, "broker.xa", false, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_EDECODE);
    free(b);
    b = s_raw(1, 10, 7, "broker.xa", false, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_EDECODE);
    free(b);
    b = s_raw(1, 10, 6, "broker.xa", true, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_EDECODE);
    free(b);
    b = s_raw(1, 10, 6, "broker.xb", false, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_EDECODE);
    free(b);
    b = s_raw(1, 10, 6, "Not An Id", false, &len);
    assert_int_equal(hv_health_decode(b, len, &d), HV_EDECODE);
    free(b);
    /* Too many links: refused before any is read. */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 10);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_cstr(&w, "broker.xb");
    for (int i = 0; i < 7; i++)
        hv_mp_write_uint(&w, 1);
    hv_mp_write_array(&w, HV_HEALTH_LINKS_MAX + 1);
    assert_int_equal(hv_mp_writer_take(&w, &b, &len), HV_OK);
    assert_int_equal(hv_health_decode(b, len, &d), HV_ETOOBIG);
    free(b);
    /* A rate above its limit. */
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 10);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_cstr(&w, "broker.xb");
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_HEALTH_RATE_MAX + 1);
    assert_int_equal(hv_mp_writer_take(&w, &b, &len), HV_OK);
    assert_int_equal(hv_health_decode(b, len, &d), HV_ETOOBIG);
    free(b);
    static uint8_t big[HV_HEALTH_MAX + 1];
    assert_int_equal(hv_health_decode(big, sizeof big, &d), HV_ETOOBIG);
}

static void test_golden_bytes(void **state)
{
    (void)state;
    hvt_vectors v;
    hvt_vectors_load(&v, "health-v1.txt");
    hv_health h;
    uint8_t *buf;
    size_t len;
    s_example(&h);
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_OK);
    hvt_vectors_check(&v, "summary", buf, len);
    free(buf);
    h.n_links = 0;
    assert_int_equal(hv_health_encode(&h, &buf, &len), HV_OK);
    hvt_vectors_check(&v, "no_links", buf, len);
    free(buf);
    hvt_vectors_finish(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_golden_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
