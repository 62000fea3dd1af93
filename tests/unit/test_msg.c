/* Application message bodies: every type round trips canonically; every
 * truncation, version, type mismatch, limit, inconsistent value and
 * trailing byte is refused with its exact error; golden bytes. */
#include "hv_test.h"

#include "hv_envelope.h"
#include "hv_mp.h"
#include "hv_msg.h"
#include "hv_registry.h"

static const char s_case[] = "{\"schema\":\"haven-referral/1\"}";
static const uint8_t s_sealed[] = {0x5e, 0xa1, 0xed, 0x00, 0x01, 0x02}; /* opaque here */

/* One valid example of each type. */
static void s_example(unsigned type, hv_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = (uint8_t)type;
    hv_summary *s = &m->summary;
    s->service = HV_SVC_SHELTER;
    s->n_needs = 2;
    s->needs[0].category = HV_SVC_SHELTER;
    s->needs[0].urgency = HV_URGENCY_IMMEDIATE;
    s->needs[1].category = HV_SVC_LEGAL_AID;
    s->needs[1].urgency = HV_URGENCY_URGENT;
    s->urgency = HV_URGENCY_IMMEDIATE;
    s->age_band = HV_AGE_25_39;
    s->sex = HV_SEX_FEMALE;
    s->n_languages = 2;
    strcpy(s->languages[0], "ti");
    strcpy(s->languages[1], "en");
    s->interpreter = true;
    strcpy(s->country, "XC");
    strcpy(s->region, "Example Capital Region");
    /* The withhold list goes to the router, never in an offer. */
    s->n_exclude = type == HV_MSG_OFFER ? 0 : 1;
    strcpy(s->exclude[0], "clinic.xc");
    s->respond_by = 4102358400u;
    s->people = 1;
    s->n_bands = 1;
    s->bands[0] = HV_AGE_25_39;
    strcpy(m->node, "shelter.xc");
    m->at = 1795305600u;
    strcpy(m->code, type == HV_MSG_DECLINE          ? "no_capacity"
                    : type == HV_MSG_CANCEL         ? "consent_withdrawn"
                    : type == HV_MSG_OFFER_WITHDRAWN ? "timed_out"
                    : type == HV_MSG_LEGAL_HOLD     ? "legal_claims"
                    : type == HV_MSG_MESSAGE_MARK   ? "read"
                                                    : "completed");
    if (type == HV_MSG_DECLINE) {
        m->sealed = s_sealed;
        m->sealed_len = sizeof s_sealed;
    }
    strcpy(m->text, "placed in long-term accommodation");
    m->n_reasons = 1;
    strcpy(m->reasons[0].node, "legal.xc");
    strcpy(m->reasons[0].text, "declined: language");
    m->reasons[0].note = s_sealed;
    m->reasons[0].note_len = sizeof s_sealed;
    memset(m->hash, 0xab, 32);
    m->case_json = s_case;
    m->case_len = sizeof s_case - 1;
    m->n = 3;
    if (type == HV_MSG_PROGRESS) {
        strcpy(m->code, "declined");
        strcpy(m->reason, "no_capacity");
    }
    m->places_free = 1;
    m->places_total = 4;
    m->places_pending = 2;
    /* ATTACHMENT: the last chunk of a small document of two chunks. */
    static const uint8_t tail[] = "%%EOF\n";
    hv_attach_chunk *a = &m->attach;
    a->n = 1;
    strcpy(a->name, "medical-report.pdf");
    strcpy(a->title, "Medical report");
    strcpy(a->type, "application/pdf");
    a->size = HV_ATTACH_CHUNK + sizeof tail - 1;
    a->chunks = 2;
    a->index = 1;
    memset(a->digest, 0xcd, 32);
    a->data = tail;
    a->data_len = sizeof tail - 1;
}

/* Numbers reserved for another part of issue 21 have no rule yet. */
#define S_SKIP_RESERVED(t)                                                                         \
    if (hv_msg_rule_get(t) == NULL)                                                                \
    continue

static uint8_t *s_encode(const hv_msg *m, size_t *len)
{
    uint8_t *buf = NULL;
    assert_int_equal(hv_msg_encode(m, &buf, len), HV_OK);
    return buf;
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    for (unsigned t = 1; t <= HV_MSG_TYPE_MAX; t++) {
        if (hv_msg_rule_get(t) == NULL)
            continue; /* reserved for a type not in this build */
        hv_msg m, back;
        s_example(t, &m);
        size_t len;
        uint8_t *buf = s_encode(&m, &len);
        assert_int_equal(hv_msg_decode(buf, len, t, &back), HV_OK);
        uint8_t *again;
        size_t again_len;
        assert_int_equal(hv_msg_encode(&back, &again, &again_len), HV_OK);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        /* Every shorter prefix is truncated, and nothing else. */
        for (size_t cut = 0; cut < len; cut++)
            assert_int_equal(hv_msg_decode(buf, cut, t, &back), HV_ETRUNCATED);
        /* A body read as another type is refused by type. */
        assert_int_equal(hv_msg_decode(buf, len, t == 1 ? 2 : 1, &back), HV_ETYPE);
        free(again);
        free(buf);
    }
}

static void test_fields_decoded(void **state)
{
    (void)state;
    hv_msg m, back;
    s_example(HV_MSG_OFFER, &m);
    size_t len;
    uint8_t *buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_OFFER, &back), HV_OK);
    assert_string_equal(back.node, "shelter.xc");
    assert_int_equal(back.at, 1795305600u);
    assert_int_equal(back.summary.n_needs, 2);
    assert_int_equal(back.summary.needs[1].category, HV_SVC_LEGAL_AID);
    assert_string_equal(back.summary.languages[1], "en");
    assert_string_equal(back.summary.region, "Example Capital Region");
    assert_int_equal(back.summary.n_exclude, 0);
    assert_true(back.summary.interpreter);
    free(buf);
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_REFERRAL_REQUEST, &back), HV_OK);
    assert_string_equal(back.summary.exclude[0], "clinic.xc");
    free(buf);
    /* DECLINE and NO_MATCH carry the sealed note as bytes, unread. */
    s_example(HV_MSG_DECLINE, &m);
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_DECLINE, &back), HV_OK);
    assert_string_equal(back.code, "no_capacity");
    assert_int_equal(back.sealed_len, sizeof s_sealed);
    assert_memory_equal(back.sealed, s_sealed, sizeof s_sealed);
    free(buf);
    s_example(HV_MSG_NO_MATCH, &m);
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_NO_MATCH, &back), HV_OK);
    assert_string_equal(back.reasons[0].text, "declined: language");
    assert_int_equal(back.reasons[0].note_len, sizeof s_sealed);
    assert_memory_equal(back.reasons[0].note, s_sealed, sizeof s_sealed);
    free(buf);
    s_example(HV_MSG_CANCEL, &m);
    m.text[0] = '\0';
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_CANCEL, &back), HV_OK);
    assert_string_equal(back.code, "consent_withdrawn");
    assert_string_equal(back.text, "");
    free(buf);
    s_example(HV_MSG_CASE_TRANSFER, &m);
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_CASE_TRANSFER, &back), HV_OK);
    assert_int_equal(back.case_len, sizeof s_case - 1);
    assert_memory_equal(back.case_json, s_case, back.case_len);
    free(buf);
}

static void test_refusals(void **state)
{
    (void)state;
    hv_msg m, back;
    size_t len;
    uint8_t *buf;
    /* Version. */
    s_example(HV_MSG_ACCEPT, &m);
    buf = s_encode(&m, &len);
    buf[1] = 2;
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_ACCEPT, &back), HV_EVERSION);
    free(buf);
    /* Trailing byte. */
    buf = s_encode(&m, &len);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0xc0;
    assert_int_equal(hv_msg_decode(longer, len + 1, HV_MSG_ACCEPT, &back), HV_ETRAILING);
    free(longer);
    free(buf);
    /* A minor flag that contradicts the age band: encoder and decoder both refuse. */
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    m.summary.minor = true;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* An urgency that is not the highest of the needs. */
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    m.summary.urgency = HV_URGENCY_ROUTINE;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* Unknown decline reason and status state. */
    s_example(HV_MSG_DECLINE, &m);
    strcpy(m.code, "busy");
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_MSG_STATUS, &m);
    strcpy(m.code, "accepted"); /* a transport ACK is never a status */
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* An invalid node id in MATCH. */
    s_example(HV_MSG_MATCH, &m);
    strcpy(m.node, "Shelter XC");
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* A decoder meeting a summary with the minor flag flipped on the wire. */
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    buf = s_encode(&m, &len);
    /* The minor flag is the first 0xc2 (false) after the sex byte. */
    for (size_t i = 0; i < len; i++)
        if (buf[i] == 0xc2) {
            buf[i] = 0xc3;
            break;
        }
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_REFERRAL_REQUEST, &back), HV_EINVAL);
    free(buf);
    /* Too many needs. */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_MSG_REFERRAL_REQUEST);
    hv_mp_write_array(&w, 11);
    hv_mp_write_uint(&w, 0);
    hv_mp_write_array(&w, HV_NEEDS_MAX + 1);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_REFERRAL_REQUEST, &back), HV_ETOOBIG);
    free(buf);
}

/* PROTOCOL §9.1: the withhold list never travels in an offer. The router's
 * encoder refuses to write one and a provider's decoder to read one. */
static void test_withhold_list_not_sent_to_providers(void **state)
{
    (void)state;
    hv_msg m, back;
    size_t len;
    uint8_t *buf;
    s_example(HV_MSG_OFFER, &m);
    m.summary.n_exclude = 1;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* The same bytes built by hand: an OFFER around a request's summary. */
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    uint8_t *req;
    size_t req_len;
    req = s_encode(&m, &req_len);
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_MSG_OFFER);
    hv_mp_write_array(&w, 3);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    /* The request is [1, type, summary]: its summary starts at byte 3. */
    uint8_t *offer = malloc(len + req_len - 3 + 16);
    memcpy(offer, buf, len);
    memcpy(offer + len, req + 3, req_len - 3);
    size_t n = len + req_len - 3;
    static const uint8_t tail[] = {0xaa, 's', 'h', 'e', 'l', 't', 'e', 'r', '.', 'x', 'c', 0x01};
    memcpy(offer + n, tail, sizeof tail);
    n += sizeof tail;
    assert_int_equal(hv_msg_decode(offer, n, HV_MSG_OFFER, &back), HV_EINVAL);
    /* One a provider stored before it refused them loads, without the list. */
    assert_int_equal(hv_msg_decode_stored(offer, n, HV_MSG_OFFER, &back), HV_OK);
    assert_int_equal(back.summary.n_exclude, 0);
    assert_string_equal(back.node, "shelter.xc");
    uint8_t *clean;
    size_t clean_len;
    assert_int_equal(hv_msg_encode(&back, &clean, &clean_len), HV_OK);
    assert_null(memmem(clean, clean_len, "clinic.xc", 9));
    free(clean);
    free(offer);
    free(req);
    free(buf);
}

/* PROTOCOL §9.1: decline, cancel and withdrawn offer are codes. */
static void test_reason_codes_refused_outside_lists(void **state)
{
    (void)state;
    hv_msg m;
    size_t len;
    uint8_t *buf;
    s_example(HV_MSG_CANCEL, &m);
    strcpy(m.code, "the person moved to Example City");
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_MSG_OFFER_WITHDRAWN, &m);
    strcpy(m.code, "");
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* A note in NO_MATCH only with the provider that sealed it. */
    s_example(HV_MSG_NO_MATCH, &m);
    m.reasons[0].node[0] = '\0';
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_MSG_DECLINE, &m);
    m.sealed_len = HV_NOTE_SEALED_MAX + 1;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    assert_true(hv_cancel_code_valid("match_refused"));
    assert_true(hv_withdrawn_code_valid("deadline_passed"));
    /* A legal hold names its basis from the list, and nothing else. */
    s_example(HV_MSG_LEGAL_HOLD, &m);
    buf = s_encode(&m, &len);
    hv_msg back;
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_LEGAL_HOLD, &back), HV_OK);
    assert_string_equal(back.code, "legal_claims");
    assert_string_equal(back.text, "placed in long-term accommodation");
    free(buf);
    strcpy(m.code, "consent");
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
}

/* A group (issue 21): people and one age band each, the subject's first;
 * one person keeps the 11-field form of PROTOCOL §9, so that what was
 * stored before groups still loads and the golden bytes stay. */
static void test_group_summary(void **state)
{
    (void)state;
    hv_msg m, back;
    size_t len, one_len;
    uint8_t *buf, *one;
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    one = s_encode(&m, &one_len);
    m.summary.people = 3;
    m.summary.n_bands = 3;
    m.summary.bands[1] = HV_AGE_0_11;
    m.summary.bands[2] = HV_AGE_0_11;
    buf = s_encode(&m, &len);
    assert_int_equal(buf[3], 0x9d); /* fixarray 13 */
    assert_int_equal(one[3], 0x9b); /* fixarray 11 */
    /* The tail: people 3, [1, 1]. */
    static const uint8_t tail[] = {0x03, 0x93, 0x04, 0x01, 0x01};
    assert_int_equal(len, one_len + sizeof tail);
    assert_memory_equal(buf + len - sizeof tail, tail, sizeof tail);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_REFERRAL_REQUEST, &back), HV_OK);
    assert_int_equal(back.summary.people, 3);
    assert_int_equal(back.summary.n_bands, 3);
    assert_int_equal(back.summary.bands[2], HV_AGE_0_11);
    /* One person read from the short form. */
    assert_int_equal(hv_msg_decode(one, one_len, HV_MSG_REFERRAL_REQUEST, &back), HV_OK);
    assert_int_equal(back.summary.people, 1);
    assert_int_equal(back.summary.n_bands, 1);
    assert_int_equal(back.summary.bands[0], HV_AGE_25_39);
    /* Bands that do not match people, or the subject's band not first. */
    m.summary.n_bands = 2;
    free(buf);
    free(one);
    uint8_t *none;
    size_t none_len;
    assert_int_equal(hv_msg_encode(&m, &none, &none_len), HV_EINVAL);
    m.summary.n_bands = 3;
    m.summary.bands[0] = HV_AGE_0_11;
    assert_int_equal(hv_msg_encode(&m, &none, &none_len), HV_EINVAL);
    m.summary.bands[0] = HV_AGE_25_39;
    m.summary.bands[1] = 7;
    assert_int_equal(hv_msg_encode(&m, &none, &none_len), HV_EINVAL);
    m.summary.people = HV_GROUP_MAX + 1;
    m.summary.n_bands = HV_GROUP_MAX + 1;
    assert_int_equal(hv_msg_encode(&m, &none, &none_len), HV_EINVAL);
    m.summary.people = 0;
    m.summary.n_bands = 0;
    assert_int_equal(hv_msg_encode(&m, &none, &none_len), HV_EINVAL);
    /* On the wire: a group of one in the long form, twelve fields. */
    s_example(HV_MSG_REFERRAL_REQUEST, &m);
    m.summary.people = 2;
    m.summary.n_bands = 2;
    m.summary.bands[1] = HV_AGE_0_11;
    buf = s_encode(&m, &len);
    buf[len - 4] = 0x01; /* people 1 with two bands */
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_REFERRAL_REQUEST, &back), HV_EINVAL);
    buf[len - 4] = 0x02;
    buf[3] = 0x9c; /* twelve fields */
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_REFERRAL_REQUEST, &back), HV_EDECODE);
    free(buf);
}

/* PROTOCOL §9.2: a case message is 1 to 8,000 bytes of UTF-8, numbered
 * from 1; a mark is delivered or read. Over the limit is refused, not cut. */
static void test_case_message_limits(void **state)
{
    (void)state;
    hv_msg m, back;
    size_t len;
    uint8_t *buf;
    char *text = malloc(HV_CASE_TEXT_MAX + 1);
    memset(text, 'a', HV_CASE_TEXT_MAX + 1);
    s_example(HV_MSG_CASE_MESSAGE, &m);
    m.case_json = text;
    m.case_len = HV_CASE_TEXT_MAX;
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_CASE_MESSAGE, &back), HV_OK);
    assert_int_equal(back.case_len, HV_CASE_TEXT_MAX);
    assert_int_equal(back.n, 3);
    free(buf);
    m.case_len = HV_CASE_TEXT_MAX + 1;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    m.case_len = 0;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    m.case_json = "\xff\xfe";
    m.case_len = 2;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_MSG_CASE_MESSAGE, &m);
    m.n = 0;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* Built by hand: 8,001 bytes on the wire are refused as too big. */
    hv_mp_writer w;
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_MSG_CASE_MESSAGE);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_str(&w, text, HV_CASE_TEXT_MAX + 1);
    hv_mp_write_uint(&w, 1795305600u);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_CASE_MESSAGE, &back), HV_ETOOBIG);
    free(buf);
    /* Number 0 on the wire. */
    assert_int_equal(hv_mp_writer_init(&w), HV_OK);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 1);
    hv_mp_write_uint(&w, HV_MSG_CASE_MESSAGE);
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, 0);
    hv_mp_write_str(&w, "hello", 5);
    hv_mp_write_uint(&w, 1795305600u);
    assert_int_equal(hv_mp_writer_take(&w, &buf, &len), HV_OK);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_CASE_MESSAGE, &back), HV_EINVAL);
    free(buf);
    free(text);
    s_example(HV_MSG_MESSAGE_MARK, &m);
    strcpy(m.code, "seen");
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    strcpy(m.code, "delivered");
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_MESSAGE_MARK, &back), HV_OK);
    assert_string_equal(back.code, "delivered");
    assert_int_equal(back.n, 3);
    free(buf);
}

/* PROGRESS carries codes and ids only, each where its event needs it;
 * CAPACITY never says more places free than it has (PROTOCOL.md §9, "PROGRESS" and "CAPACITY"). */
static void test_progress_and_capacity_limits(void **state)
{
    (void)state;
    hv_msg m, back;
    uint8_t *buf = NULL;
    size_t len;
    s_example(HV_MSG_PROGRESS, &m);
    strcpy(m.reason, "full until next week"); /* free text is not a code */
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_MSG_PROGRESS, &m);
    strcpy(m.code, "accepted"); /* not an event the intake is told this way */
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    s_example(HV_MSG_PROGRESS, &m);
    strcpy(m.code, "offered"); /* an offer has a deadline and no reason */
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    m.reason[0] = '\0';
    m.respond_by = 1795309200u;
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_PROGRESS, &back), HV_OK);
    assert_string_equal(back.code, "offered");
    assert_string_equal(back.node, "shelter.xc");
    assert_int_equal(back.respond_by, 1795309200u);
    free(buf);
    s_example(HV_MSG_PROGRESS, &m);
    strcpy(m.code, "withdrawn_offer");
    strcpy(m.reason, "no_capacity"); /* a decline code, not a withdrawn one */
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    strcpy(m.reason, "cancelled");
    buf = s_encode(&m, &len);
    free(buf);
    s_example(HV_MSG_CAPACITY, &m);
    buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_CAPACITY, &back), HV_OK);
    assert_int_equal(back.places_free, 1);
    assert_int_equal(back.places_total, 4);
    assert_int_equal(back.places_pending, 2);
    assert_string_equal(back.node, "shelter.xc");
    free(buf);
    m.places_free = 5;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    m.places_free = 0;
    m.places_total = HV_PLACES_MAX + 1;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    m.places_total = 4;
    m.at = 0;
    assert_int_equal(hv_msg_encode(&m, &buf, &len), HV_EINVAL);
    /* Hand-made bodies past the encoder: more free than total, refused. */
    static const uint8_t more_free[] = {0x93, 0x01, 0x14, 0x95, 0xaa, 's', 'h', 'e', 'l', 't',
                                        'e', 'r', '.', 'x', 'c', 0x05, 0x04, 0x01, 0x00};
    assert_int_equal(hv_msg_decode(more_free, sizeof more_free, HV_MSG_CAPACITY, &back),
                     HV_EINVAL);
    static const uint8_t ok_body[] = {0x93, 0x01, 0x14, 0x95, 0xaa, 's', 'h', 'e', 'l', 't',
                                      'e', 'r', '.', 'x', 'c', 0x03, 0x04, 0x01, 0x00};
    assert_int_equal(hv_msg_decode(ok_body, sizeof ok_body, HV_MSG_CAPACITY, &back), HV_OK);
    /* Four fields, without the pending offers: refused. */
    static const uint8_t four[] = {0x93, 0x01, 0x14, 0x94, 0xaa, 's', 'h', 'e', 'l', 't',
                                   'e', 'r', '.', 'x', 'c', 0x03, 0x04, 0x01};
    assert_int_equal(hv_msg_decode(four, sizeof four, HV_MSG_CAPACITY, &back), HV_EDECODE);
}

static void test_golden_bytes(void **state)
{
    (void)state;
    hvt_vectors v;
    hvt_vectors_load(&v, "msg-v1.txt");
    for (unsigned t = 1; t <= HV_MSG_TYPE_MAX; t++) {
        if (hv_msg_rule_get(t) == NULL)
            continue;
        hv_msg m;
        s_example(t, &m);
        size_t len;
        uint8_t *buf = s_encode(&m, &len);
        hvt_vectors_check(&v, hv_msg_rule_get(t)->name, buf, len);
        free(buf);
    }
    hvt_vectors_finish(&v);
}

/* A chunk whose numbers disagree, of a type not carried, or too long is
 * refused, and encoding refuses what decoding would. */
static void test_attachment_chunk_refusals(void **state)
{
    (void)state;
    hv_msg m, back;
    s_example(HV_MSG_ATTACHMENT, &m);
    size_t len;
    uint8_t *buf = s_encode(&m, &len);
    assert_int_equal(hv_msg_decode(buf, len, HV_MSG_ATTACHMENT, &back), HV_OK);
    assert_string_equal(back.attach.name, "medical-report.pdf");
    assert_int_equal(back.attach.index, 1);
    assert_int_equal(back.attach.data_len, 6);
    free(buf);
    uint8_t *out = NULL;
    hv_msg bad = m;
    bad.attach.chunks = 3; /* the size makes two */
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
    bad = m;
    bad.attach.index = 2;
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
    bad = m;
    bad.attach.data_len = 5; /* the last chunk is the rest, exactly */
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
    bad = m;
    strcpy(bad.attach.type, "text/html");
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
    bad = m;
    strcpy(bad.attach.name, "../etc/passwd");
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
    bad = m;
    bad.attach.n = HV_ATTACH_PER_CASE;
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
    bad = m;
    bad.attach.size = HV_ATTACH_SIZE_MAX + 1;
    assert_int_equal(hv_msg_encode(&bad, &out, &len), HV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_attachment_chunk_refusals),
        cmocka_unit_test(test_fields_decoded),
        cmocka_unit_test(test_progress_and_capacity_limits),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_withhold_list_not_sent_to_providers),
        cmocka_unit_test(test_reason_codes_refused_outside_lists),
        cmocka_unit_test(test_group_summary),
        cmocka_unit_test(test_case_message_limits),
        cmocka_unit_test(test_golden_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
