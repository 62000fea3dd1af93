/* Control message codec: every command round trips canonically; every
 * truncation, version, type, arity, limit and trailing byte is refused
 * with its exact error; golden bytes. */
#include "hv_test.h"

#include "hv_control.h"
#include "hv_control_batch.h"
#include "hv_mp.h"

static const uint8_t s_env[] = {0x94, 0x9a, 0x01}; /* opaque at this layer */

/* BATCH's example: the STORED and the ACK of the examples below, each a
 * bin string of 21 bytes. */
static uint8_t s_parts[2 * 23];

static void s_fill_parts(void)
{
    for (int k = 0; k < 2; k++) {
        uint8_t *p = s_parts + 23 * k;
        p[0] = 0xc4;
        p[1] = 21;
        p[2] = 0x93;
        p[3] = 0x01;
        p[4] = k == 0 ? HV_CMD_STORED : HV_CMD_ACK;
        p[5] = 0xc4;
        p[6] = 16;
        for (int i = 0; i < 16; i++)
            p[7 + i] = (uint8_t)(0xc0 + i);
    }
}

/* Fills one valid example of every command. */
static void s_example(unsigned cmd, hv_control *m)
{
    memset(m, 0, sizeof *m);
    m->cmd = (uint8_t)cmd;
    for (int i = 0; i < 16; i++)
        m->msg_id[i] = (uint8_t)(0xc0 + i);
    switch (cmd) {
    case HV_CMD_HELLO:
        strcpy(m->node_id, "ngo.xa");
        m->credit = 100;
        m->heartbeat_ms = 1000;
        break;
    case HV_CMD_READY:
        strcpy(m->node_id, "broker.xa");
        m->heartbeat_ms = 1000;
        m->max_message = HV_CONTROL_MAX;
        break;
    case HV_CMD_SEND:
    case HV_CMD_DELIVER:
        m->envelope = s_env;
        m->envelope_len = sizeof s_env;
        m->attempt = 1;
        break;
    case HV_CMD_NACK:
        m->code = HV_ECRYPTO;
        strcpy(m->text, "signature does not verify");
        m->has_msg_id = true;
        break;
    case HV_CMD_ERROR:
        m->code = HV_EFORBIDDEN;
        m->has_msg_id = true;
        strcpy(m->text, "role intake may not send OFFER");
        break;
    case HV_CMD_CREDIT:
        m->credit = 50;
        break;
    case HV_CMD_STORED:
    case HV_CMD_ACK:
    case HV_CMD_EXPIRED:
        m->has_msg_id = true;
        break;
    case HV_CMD_AUDIT_WITNESSED:
        m->code = HV_OK;
        __attribute__((fallthrough));
    case HV_CMD_AUDIT_HEAD:
    case HV_CMD_PREKEY_PUT:
    case HV_CMD_PREKEY:
        m->bundle = s_env; /* opaque at this layer too */
        m->bundle_len = sizeof s_env;
        break;
    case HV_CMD_PREKEY_GET:
        strcpy(m->node_id, "legal.xc");
        break;
    case HV_CMD_PREKEY_REFUSED:
        m->code = HV_ECRYPTO;
        m->has_prekey_id = true;
        for (int i = 0; i < 8; i++)
            m->prekey_id[i] = (uint8_t)(0xa0 + i);
        strcpy(m->text, "the bundle's signature does not verify");
        break;
    case HV_CMD_HEALTH:
        m->summary = s_env; /* opaque at this layer: hv_health_decode reads it */
        m->summary_len = sizeof s_env;
        break;
    case HV_CMD_NOTICE:
        m->code = HV_EEXPIRED;
        m->header = s_env; /* opaque here: hv_envelope_decode_header reads it */
        m->header_len = sizeof s_env;
        for (int i = 0; i < 32; i++)
            m->digest[i] = (uint8_t)(0xd0 + i);
        for (int i = 0; i < 64; i++)
            m->sig[i] = (uint8_t)i;
        strcpy(m->text, "time to live passed before delivery");
        break;
    case HV_CMD_BATCH:
        s_fill_parts();
        m->parts = s_parts;
        m->parts_len = sizeof s_parts;
        m->n_parts = 2;
        break;
    default:
        break;
    }
}

/* AUDIT_WITNESSED may carry no head (none witnessed yet), AUDIT_HEAD
 * must; a head longer than HV_CONTROL_HEAD_MAX is refused. */
static void test_audit_head_commands(void **state)
{
    (void)state;
    hv_control m, d;
    uint8_t *buf;
    size_t len;
    static uint8_t big[HV_CONTROL_HEAD_MAX + 1];
    s_example(HV_CMD_AUDIT_WITNESSED, &m);
    m.code = HV_ENOTFOUND;
    m.bundle = NULL;
    m.bundle_len = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.code, HV_ENOTFOUND);
    assert_int_equal(d.bundle_len, 0);
    free(buf);
    s_example(HV_CMD_AUDIT_HEAD, &m);
    m.bundle_len = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    m.bundle = big;
    m.bundle_len = sizeof big;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_AUDIT_HEAD);
    hv_mp_write_bin(&w, big, sizeof big);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_ETOOBIG);
    free(buf);
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_AUDIT_HEAD);
    hv_mp_write_bin(&w, big, 0);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_EDECODE);
    free(buf);
}

/* NOTICE carries a header (1 to HV_CONTROL_NOTICE_HEADER_MAX bytes), a
 * digest of exactly 32 and a signature of exactly 64 bytes, and a code
 * that is not HV_OK: a notice is about a failure. */
static void test_notice_command(void **state)
{
    (void)state;
    hv_control m, d;
    uint8_t *buf;
    size_t len;
    static uint8_t big[HV_CONTROL_NOTICE_HEADER_MAX + 1];
    s_example(HV_CMD_NOTICE, &m);
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.code, HV_EEXPIRED);
    assert_int_equal(d.header_len, m.header_len);
    assert_memory_equal(d.header, m.header, m.header_len);
    assert_memory_equal(d.digest, m.digest, 32);
    assert_memory_equal(d.sig, m.sig, 64);
    assert_string_equal(d.text, "time to live passed before delivery");
    free(buf);
    m.code = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_CMD_NOTICE, &m);
    m.header = big;
    m.header_len = sizeof big;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    /* Written by hand: an oversize header, a short digest, a zero code. */
    for (int c = 0; c < 3; c++) {
        hv_mp_writer w;
        assert_int_equal(hv_mp_writer_init(&w), HV_OK);
        hv_mp_write_array(&w, 7);
        hv_mp_write_uint(&w, 1);
        hv_mp_write_uint(&w, HV_CMD_NOTICE);
        hv_mp_write_uint(&w, c == 2 ? 0 : HV_EEXPIRED);
        hv_mp_write_bin(&w, big, c == 0 ? sizeof big : 8);
        hv_mp_write_bin(&w, big, c == 1 ? 31 : 32);
        hv_mp_write_bin(&w, big, 64);
        hv_mp_write_cstr(&w, "x");
        assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
        assert_int_equal(hv_control_decode(buf, len, &d),
                         c == 0 ? HV_ETOOBIG : c == 1 ? HV_EDECODE : HV_EDECODE);
        free(buf);
    }
}

/* PREKEY_GET may ask for every bundle; PREKEY_REFUSED may name no prekey;
 * a bundle longer than its limit or empty is refused. */
static void test_prekey_commands(void **state)
{
    (void)state;
    hv_control m, d;
    uint8_t *buf;
    size_t len;
    s_example(HV_CMD_PREKEY_GET, &m);
    m.node_id[0] = '\0';
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_string_equal(d.node_id, "");
    free(buf);
    strcpy(m.node_id, "Bad id");
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_CMD_PREKEY_REFUSED, &m);
    m.has_prekey_id = false;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_false(d.has_prekey_id);
    assert_int_equal(d.code, HV_ECRYPTO);
    free(buf);
    s_example(HV_CMD_PREKEY_PUT, &m);
    m.bundle_len = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    /* A 257-byte bundle: over the limit before anything is copied. */
    static uint8_t big[HV_CONTROL_BUNDLE_MAX + 1];
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_PREKEY_PUT);
    hv_mp_write_bin(&w, big, sizeof big);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_ETOOBIG);
    free(buf);
    /* An empty bundle. */
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_PREKEY);
    hv_mp_write_bin(&w, big, 0);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_EDECODE);
    free(buf);
}

static void test_round_trip_every_command(void **state)
{
    (void)state;
    for (unsigned cmd = 1; cmd <= HV_CMD_MAX; cmd++) {
        if (hv_cmd_name(cmd) == NULL)
            continue; /* a number not (yet) given to a command */
        hv_control m, d;
        uint8_t *buf, *again;
        size_t len, again_len;
        s_example(cmd, &m);
        assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
        assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
        assert_int_equal(d.cmd, cmd);
        assert_int_equal(hv_control_encode(&d, &again, &again_len), HV_OK);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        /* Truncation at every byte offset. */
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc(cut + 1);
            memcpy(copy, buf, cut);
            assert_int_equal(hv_control_decode(copy, cut, &d), HV_ETRUNCATED);
            free(copy);
        }
        /* One trailing byte. */
        uint8_t *longer = malloc(len + 1);
        memcpy(longer, buf, len);
        longer[len] = 0x00;
        assert_int_equal(hv_control_decode(longer, len + 1, &d), HV_ETRAILING);
        /* Wrong version. */
        longer[1] = 2;
        assert_int_equal(hv_control_decode(longer, len, &d), HV_EVERSION);
        free(longer);
        free(buf);
        free(again);
    }
}

static void test_fields_decoded(void **state)
{
    (void)state;
    hv_control m, d;
    uint8_t *buf;
    size_t len;
    s_example(HV_CMD_ERROR, &m);
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.code, HV_EFORBIDDEN);
    assert_true(d.has_msg_id);
    assert_memory_equal(d.msg_id, m.msg_id, 16);
    assert_string_equal(d.text, "role intake may not send OFFER");
    free(buf);
    m.has_msg_id = false;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_false(d.has_msg_id);
    free(buf);
    s_example(HV_CMD_DELIVER, &m);
    m.attempt = 3;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.attempt, 3);
    assert_int_equal(d.envelope_len, sizeof s_env);
    assert_memory_equal(d.envelope, s_env, sizeof s_env);
    free(buf);
}

/* Encodes an arbitrary array of [version, cmd, extra uints...]. */
static uint8_t *s_raw(uint64_t version, uint64_t cmd, int extra, size_t *len)
{
    hv_mp_writer w;
    uint8_t *out;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, (uint32_t)(2 + extra));
    hv_mp_write_uint(&w, version);
    hv_mp_write_uint(&w, cmd);
    for (int i = 0; i < extra; i++)
        hv_mp_write_uint(&w, 1);
    assert_int_equal(hv_mp_writer_take(&w, &out, len), HV_OK);
    return out;
}

static void test_refusals(void **state)
{
    (void)state;
    hv_control d;
    size_t len;
    uint8_t *b;
    b = s_raw(1, 0, 0, &len);
    assert_int_equal(hv_control_decode(b, len, &d), HV_ETYPE);
    free(b);
    b = s_raw(1, HV_CMD_MAX + 1, 0, &len);
    assert_int_equal(hv_control_decode(b, len, &d), HV_ETYPE);
    free(b);
    b = s_raw(7, 1, 0, &len);
    assert_int_equal(hv_control_decode(b, len, &d), HV_EVERSION);
    free(b);
    /* HEARTBEAT with an extra field: wrong arity. */
    b = s_raw(1, HV_CMD_HEARTBEAT, 1, &len);
    assert_int_equal(hv_control_decode(b, len, &d), HV_EDECODE);
    free(b);
    b = s_raw(1, HV_CMD_HEARTBEAT, 0, &len);
    assert_int_equal(hv_control_decode(b, len, &d), HV_OK);
    free(b);
    /* CREDIT above its maximum. */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_CREDIT);
    hv_mp_write_uint(&w, HV_CREDIT_MAX + 1);
    assert_int_equal(hv_mp_writer_take(&w, &b, &len), HV_OK);
    assert_int_equal(hv_control_decode(b, len, &d), HV_ETOOBIG);
    free(b);
    /* A SEND whose envelope is declared larger than any envelope. */
    static const uint8_t big_send[] = {0x93, 0x01, 0x03, 0xc6, 0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(hv_control_decode(big_send, sizeof big_send, &d), HV_ETOOBIG);
    /* An ERROR text that is not UTF-8. */
    static const uint8_t bad_text[] = {0x95, 0x01, 0x0b, 0x0a, 0xc4, 0x00, 0xa2, 0xc3, 0x28};
    assert_int_equal(hv_control_decode(bad_text, sizeof bad_text, &d), HV_EDECODE);
    /* The encoder refuses what the decoder would. */
    hv_control m;
    s_example(HV_CMD_HELLO, &m);
    m.heartbeat_ms = 1;
    assert_int_equal(hv_control_encode(&m, &b, &len), HV_EINVAL);
    s_example(HV_CMD_HELLO, &m);
    strcpy(m.node_id, "Bad Id");
    assert_int_equal(hv_control_encode(&m, &b, &len), HV_EINVAL);
    m.cmd = 99;
    assert_int_equal(hv_control_encode(&m, &b, &len), HV_EINVAL);
}

/* HELLO's optional sixth field: a restored node asks for replay. */
static void test_hello_replay_since(void **state)
{
    (void)state;
    hv_control m, d;
    uint8_t *buf;
    size_t len;
    s_example(HV_CMD_HELLO, &m);
    m.replay_since = 1764590400000ull;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(buf[0], 0x96); /* six elements */
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.replay_since, 1764590400000ull);
    assert_int_equal(d.credit, 100);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(hv_control_decode(buf, cut, &d), HV_ETRUNCATED);
    free(buf);
    /* Without it, the HELLO of before: five elements, replay_since 0. */
    m.replay_since = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(buf[0], 0x95);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.replay_since, 0);
    free(buf);
    /* The largest value, one above it, and an explicit 0. */
    static const uint64_t since[] = {HV_REPLAY_SINCE_MAX, HV_REPLAY_SINCE_MAX + 1, 0};
    static const hv_err want[] = {HV_OK, HV_ETOOBIG, HV_EDECODE};
    for (size_t i = 0; i < 3; i++) {
        hv_mp_writer w;
        assert_int_equal(hv_mp_writer_init(&w), HV_OK);
        hv_mp_write_array(&w, 6);
        hv_mp_write_uint(&w, 1);
        hv_mp_write_uint(&w, HV_CMD_HELLO);
        hv_mp_write_cstr(&w, "ngo.xa");
        hv_mp_write_uint(&w, 100);
        hv_mp_write_uint(&w, 1000);
        hv_mp_write_uint(&w, since[i]);
        assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
        assert_int_equal(hv_control_decode(buf, len, &d), want[i]);
        free(buf);
    }
    /* An eighth element on HELLO, a seventh on READY: wrong arity (the
     * seventh and sixth are their features, test_features). */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 8);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_HELLO);
    hv_mp_write_cstr(&w, "ngo.xa");
    hv_mp_write_uint(&w, 100);
    hv_mp_write_uint(&w, 1000);
    hv_mp_write_uint(&w, 5);
    hv_mp_write_uint(&w, 5);
    hv_mp_write_uint(&w, 5);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_EDECODE);
    free(buf);
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 7);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_READY);
    hv_mp_write_cstr(&w, "broker.xa");
    hv_mp_write_uint(&w, 1000);
    hv_mp_write_uint(&w, 4096);
    hv_mp_write_uint(&w, 5);
    hv_mp_write_uint(&w, 5);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_EDECODE);
    free(buf);
    /* The encoder refuses what the decoder would. */
    s_example(HV_CMD_HELLO, &m);
    m.replay_since = HV_REPLAY_SINCE_MAX + 1;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
}

static void test_golden_bytes(void **state)
{
    (void)state;
    hvt_vectors v;
    hvt_vectors_load(&v, "control-v1.txt");
    for (unsigned cmd = 1; cmd <= HV_CMD_MAX; cmd++) {
        if (hv_cmd_name(cmd) == NULL)
            continue;
        hv_control m;
        uint8_t *buf;
        size_t len;
        s_example(cmd, &m);
        assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
        char name[32];
        snprintf(name, sizeof name, "%s", hv_cmd_name(cmd));
        for (char *p = name; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        hvt_vectors_check(&v, name, buf, len);
        free(buf);
    }
    hv_control m;
    uint8_t *buf;
    size_t len;
    s_example(HV_CMD_HELLO, &m);
    m.replay_since = 1764590400000ull; /* 2025-12-01T12:00:00Z */
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    hvt_vectors_check(&v, "hello_replay", buf, len);
    free(buf);
    s_example(HV_CMD_HELLO, &m);
    m.has_features = true;
    m.features = HV_FEATURE_BATCH;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    hvt_vectors_check(&v, "hello_features", buf, len);
    free(buf);
    s_example(HV_CMD_READY, &m);
    m.has_features = true;
    m.features = HV_FEATURE_BATCH;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    hvt_vectors_check(&v, "ready_features", buf, len);
    free(buf);
    hvt_vectors_finish(&v);
}

/* HELLO's seventh element and READY's sixth: the features asked for and
 * granted. With features, HELLO's replay_since is always written, 0 for
 * none; without, HELLO and READY are the frames of before. */
static void test_features(void **state)
{
    (void)state;
    hv_control m, d;
    uint8_t *buf;
    size_t len;
    s_example(HV_CMD_HELLO, &m);
    m.has_features = true;
    m.features = HV_FEATURE_BATCH;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(buf[0], 0x97); /* seven elements */
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_true(d.has_features);
    assert_int_equal(d.features, HV_FEATURE_BATCH);
    assert_int_equal(d.replay_since, 0);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(hv_control_decode(buf, cut, &d), HV_ETRUNCATED);
    free(buf);
    m.replay_since = 1764590400000ull;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.replay_since, 1764590400000ull);
    assert_int_equal(d.features, HV_FEATURE_BATCH);
    free(buf);
    m.features = HV_FEATURES_MAX + 1;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_CMD_READY, &m);
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(buf[0], 0x95); /* no features: the READY of before */
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_false(d.has_features);
    free(buf);
    m.has_features = true;
    m.features = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(buf[0], 0x96);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_true(d.has_features);
    assert_int_equal(d.features, 0);
    free(buf);
    /* Features above 16 bits. */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 6);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_READY);
    hv_mp_write_cstr(&w, "broker.xa");
    hv_mp_write_uint(&w, 1000);
    hv_mp_write_uint(&w, 4096);
    hv_mp_write_uint(&w, HV_FEATURES_MAX + 1);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_ETOOBIG);
    free(buf);
}

/* Writes [1, BATCH, [n bins of `part_len` bytes]] by hand. */
static uint8_t *s_raw_batch(uint32_t n, size_t part_len, size_t *len)
{
    static uint8_t body[HV_CONTROL_BATCH_BYTES];
    hv_mp_writer w;
    uint8_t *out;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_CMD_BATCH);
    hv_mp_write_array(&w, n);
    for (uint32_t i = 0; i < n; i++)
        hv_mp_write_bin(&w, body, part_len);
    assert_int_equal(hv_mp_writer_take(&w, &out, len), HV_OK);
    return out;
}

/* BATCH: its commands come out in order; the batch writer makes the bytes
 * the encoder makes, and one command alone is that command's frame; the
 * limits hold both ways. */
static void test_batch(void **state)
{
    (void)state;
    hv_control m, d, one;
    uint8_t *buf, *again;
    size_t len, again_len;
    s_example(HV_CMD_BATCH, &m);
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_OK);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    assert_int_equal(d.n_parts, 2);
    hv_control_parts it;
    const uint8_t *part;
    size_t part_len;
    unsigned want[] = {HV_CMD_STORED, HV_CMD_ACK}, k = 0;
    hv_control_parts_init(&it, &d);
    while (hv_control_parts_next(&it, &part, &part_len)) {
        assert_true(k < 2);
        assert_int_equal(hv_control_decode(part, part_len, &one), HV_OK);
        assert_int_equal(one.cmd, want[k]);
        assert_memory_equal(one.msg_id, m.msg_id, 16);
        k++;
    }
    assert_int_equal(k, 2);
    assert_true(hv_control_batchable(HV_CMD_SEND) && hv_control_batchable(HV_CMD_NACK) &&
                hv_control_batchable(HV_CMD_DELIVER));
    assert_false(hv_control_batchable(HV_CMD_HELLO) || hv_control_batchable(HV_CMD_BATCH) ||
                 hv_control_batchable(HV_CMD_ERROR) || hv_control_batchable(HV_CMD_BYE));

    /* The writer: the same bytes; one command alone is itself. */
    hv_control_batch b = {0};
    hv_control stored, ack;
    s_example(HV_CMD_STORED, &stored);
    s_example(HV_CMD_ACK, &ack);
    assert_int_equal(hv_control_batch_add(&b, &stored, HV_CONTROL_BATCH_BYTES), HV_OK);
    const uint8_t *frame;
    size_t frame_len;
    hv_control_batch_frame(&b, &frame, &frame_len);
    assert_int_equal(hv_control_encode(&stored, &again, &again_len), HV_OK);
    assert_int_equal(frame_len, again_len);
    assert_memory_equal(frame, again, again_len);
    free(again);
    assert_int_equal(hv_control_batch_add(&b, &ack, HV_CONTROL_BATCH_BYTES), HV_OK);
    hv_control_batch_frame(&b, &frame, &frame_len);
    assert_int_equal(frame_len, len);
    assert_memory_equal(frame, buf, len);
    free(buf);
    /* Past 15 commands the array's header grows; still the encoder's bytes. */
    hv_control_batch_clear(&b);
    assert_true(hv_control_batch_empty(&b));
    for (int i = 0; i < 40; i++)
        assert_int_equal(hv_control_batch_add(&b, i % 2 ? &ack : &stored, 4096), HV_OK);
    hv_control_batch_frame(&b, &frame, &frame_len);
    assert_int_equal(hv_control_decode(frame, frame_len, &d), HV_OK);
    assert_int_equal(d.n_parts, 40);
    assert_int_equal(hv_control_encode(&d, &again, &again_len), HV_OK);
    assert_int_equal(again_len, frame_len);
    assert_memory_equal(again, frame, frame_len);
    free(again);
    /* Full by bytes, by count; what may not be batched; a DELIVER too big
     * for any batch. */
    hv_control_batch_clear(&b);
    for (int i = 0; i < 10; i++) /* 6 bytes of header room + 10 x 23 */
        assert_int_equal(hv_control_batch_add(&b, &stored, 256), HV_OK);
    assert_int_equal(hv_control_batch_add(&b, &stored, 256), HV_ETOOBIG);
    hv_control_batch_clear(&b);
    for (unsigned i = 0; i < HV_CONTROL_BATCH_MAX; i++)
        assert_int_equal(hv_control_batch_add(&b, &stored, HV_CONTROL_BATCH_BYTES), HV_OK);
    assert_int_equal(hv_control_batch_add(&b, &stored, HV_CONTROL_BATCH_BYTES), HV_ETOOBIG);
    hv_control_batch_frame(&b, &frame, &frame_len);
    assert_int_equal(hv_control_decode(frame, frame_len, &d), HV_OK);
    assert_int_equal(d.n_parts, HV_CONTROL_BATCH_MAX);
    hv_control_batch_clear(&b);
    s_example(HV_CMD_HELLO, &one);
    assert_int_equal(hv_control_batch_add(&b, &one, HV_CONTROL_BATCH_BYTES), HV_EINVAL);
    static uint8_t big_env[HV_CONTROL_BATCH_BYTES];
    s_example(HV_CMD_DELIVER, &one);
    one.envelope = big_env;
    one.envelope_len = sizeof big_env;
    assert_int_equal(hv_control_batch_add(&b, &one, HV_CONTROL_BATCH_BYTES), HV_ETOOBIG);
    assert_true(hv_control_batch_empty(&b));
    hv_control_batch_free(&b);
    hv_control_batch_free(&b);

    /* The decoder's limits: no commands, an empty one, too many, too large. */
    buf = s_raw_batch(0, 1, &len);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_EDECODE);
    free(buf);
    buf = s_raw_batch(2, 0, &len);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_EDECODE);
    free(buf);
    buf = s_raw_batch(HV_CONTROL_BATCH_MAX + 1, 1, &len);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_ETOOBIG);
    free(buf);
    buf = s_raw_batch(1, HV_CONTROL_BATCH_BYTES - 16, &len);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_OK);
    free(buf);
    buf = s_raw_batch(2, HV_CONTROL_BATCH_BYTES / 2, &len);
    assert_int_equal(hv_control_decode(buf, len, &d), HV_ETOOBIG);
    free(buf);
    /* The encoder refuses what the decoder would. */
    s_example(HV_CMD_BATCH, &m);
    m.n_parts = 3;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    m.n_parts = 0;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
    m.n_parts = 2;
    m.parts_len = sizeof s_parts - 1;
    assert_int_equal(hv_control_encode(&m, &buf, &len), HV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_command),
        cmocka_unit_test(test_fields_decoded),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hello_replay_since),
        cmocka_unit_test(test_prekey_commands),
        cmocka_unit_test(test_audit_head_commands),
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_notice_command),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
