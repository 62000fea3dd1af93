/* Application message bodies; see hv_msg.h and PROTOCOL.md §9. */
#include "hv_msg.h"

#include <string.h>

#include "hv_envelope.h"
#include "hv_mp.h"
#include "hv_registry.h"

const char *const hv_decline_codes[] = {"no_capacity", "not_suitable", "language",
                                        "region", "minors", "other", NULL};
const char *const hv_status_states[] = {"in_progress", "on_hold", "completed", "failed",
                                        NULL};

/* Why a referral was cancelled (CANCEL): said to the router as a code. */
const char *const hv_cancel_codes[] = {"consent_withdrawn", "no_longer_needed",
                                       "placed_elsewhere",  "duplicate",
                                       "entered_in_error",  "match_refused",
                                       "other",             NULL};
/* Why a router withdrew an offer (OFFER_WITHDRAWN). */
const char *const hv_withdrawn_codes[] = {"cancelled", "deadline_passed", "timed_out", NULL};
/* Why a provider keeps a case it was asked to erase (LEGAL_HOLD). */
const char *const hv_hold_bases[] = {"legal_obligation", "legal_claims", "public_interest",
                                     "other", NULL};
/* What happened to an offer, as the intake is told it (PROGRESS). */
const char *const hv_progress_events[] = {"offered", "declined", "not_answered",
                                          "withdrawn_offer", NULL};

static const char *const s_urgency[] = {NULL, "routine", "urgent", "immediate"};
static const char *const s_age[] = {NULL, "0-11", "12-17", "18-24", "25-39", "40-59", "60+"};
static const char *const s_sex[] = {NULL, "female", "male", "other", "unknown"};

#define S_COUNT(a) (sizeof(a) / sizeof(a)[0])

bool hv_attach_chunk_valid(const hv_attach_chunk *c)
{
    if (c->n >= HV_ATTACH_PER_CASE || c->size == 0 || c->size > HV_ATTACH_SIZE_MAX)
        return false;
    if (c->name[0] == '\0' || strlen(c->name) > HV_ATTACH_NAME_MAX ||
        strchr(c->name, '/') != NULL || strlen(c->title) > HV_ATTACH_TITLE_MAX)
        return false;
    if (strcmp(c->type, "application/pdf") != 0 && strcmp(c->type, "image/jpeg") != 0 &&
        strcmp(c->type, "image/png") != 0)
        return false;
    uint64_t chunks = (c->size + HV_ATTACH_CHUNK - 1) / HV_ATTACH_CHUNK;
    if (c->chunks != chunks || c->index >= chunks)
        return false;
    uint64_t want = c->index + 1 < chunks ? HV_ATTACH_CHUNK
                                          : c->size - (uint64_t)c->index * HV_ATTACH_CHUNK;
    return c->data_len == want;
}

static unsigned s_lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 1; s != NULL && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (unsigned)i;
    return 0;
}

const char *hv_urgency_name(unsigned u) { return u < S_COUNT(s_urgency) ? s_urgency[u] : NULL; }
unsigned hv_urgency_from_name(const char *s) { return s_lookup(s_urgency, S_COUNT(s_urgency), s); }
const char *hv_age_band_name(unsigned b) { return b < S_COUNT(s_age) ? s_age[b] : NULL; }
const char *hv_sex_name(unsigned s) { return s < S_COUNT(s_sex) ? s_sex[s] : NULL; }
unsigned hv_sex_from_name(const char *s) { return s_lookup(s_sex, S_COUNT(s_sex), s); }

static bool s_in(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

bool hv_decline_code_valid(const char *code) { return s_in(hv_decline_codes, code); }
bool hv_status_state_valid(const char *state) { return s_in(hv_status_states, state); }
bool hv_cancel_code_valid(const char *code) { return s_in(hv_cancel_codes, code); }
bool hv_withdrawn_code_valid(const char *code) { return s_in(hv_withdrawn_codes, code); }
bool hv_hold_basis_valid(const char *code) { return s_in(hv_hold_bases, code); }
bool hv_mark_kind_valid(const char *kind)
{
    return strcmp(kind, "delivered") == 0 || strcmp(kind, "read") == 0;
}

/* A case message's text: 1 to HV_CASE_TEXT_MAX bytes of UTF-8 (§9.2). */
static bool s_case_text_valid(const char *s, size_t len)
{
    return s != NULL && len >= 1 && len <= HV_CASE_TEXT_MAX && hv_utf8_valid(s, len) &&
           memchr(s, '\0', len) == NULL;
}
bool hv_progress_event_valid(const char *event) { return s_in(hv_progress_events, event); }

/* ------------------------------------------------------------ checking */

static bool s_country_valid(const char *c)
{
    return strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

static bool s_summary_valid(const hv_summary *s)
{
    if (hv_service_name(s->service) == NULL || hv_urgency_name(s->urgency) == NULL ||
        s->urgency == 0 || hv_age_band_name(s->age_band) == NULL || s->age_band == 0 ||
        hv_sex_name(s->sex) == NULL || s->sex == 0 || !s_country_valid(s->country) ||
        s->n_needs == 0 || s->n_needs > HV_NEEDS_MAX || s->n_languages == 0 ||
        s->n_languages > HV_SUMMARY_LIST_MAX || s->n_exclude > HV_SUMMARY_LIST_MAX ||
        s->respond_by == 0)
        return false;
    /* The minor flag and the age band must agree: both are derived from
     * the same date, and a mismatch would route a child to an adult service. */
    if (s->minor != (s->age_band <= HV_AGE_12_17))
        return false;
    uint8_t highest = 0;
    for (unsigned i = 0; i < s->n_needs; i++) {
        if (hv_service_name(s->needs[i].category) == NULL ||
            hv_urgency_name(s->needs[i].urgency) == NULL || s->needs[i].urgency == 0)
            return false;
        if (s->needs[i].urgency > highest)
            highest = s->needs[i].urgency;
    }
    if (highest != s->urgency)
        return false;
    /* The group: one band per person, the subject's first. */
    if (s->people == 0 || s->people > HV_GROUP_MAX || s->n_bands != s->people ||
        s->bands[0] != s->age_band)
        return false;
    for (unsigned i = 0; i < s->n_bands; i++)
        if (hv_age_band_name(s->bands[i]) == NULL || s->bands[i] == 0)
            return false;
    for (unsigned i = 0; i < s->n_exclude; i++)
        if (!hv_node_id_valid_cstr(s->exclude[i]))
            return false;
    return true;
}

static bool s_text_ok(const char *s, size_t max)
{
    return strlen(s) <= max;
}

/* A NO_MATCH entry: a sealed note only with the provider that wrote it. */
static bool s_reason_valid(const hv_reason *x)
{
    if (!s_text_ok(x->text, HV_REASON_TEXT_MAX) || x->note_len > HV_NOTE_SEALED_MAX)
        return false;
    if (x->node[0] == '\0')
        return x->note_len == 0;
    return hv_node_id_valid_cstr(x->node);
}

/* A PROGRESS: a provider always; a reason code exactly for a decline
 * (a decline code) and a withdrawn offer (a withdrawn code); a deadline
 * exactly for an offer. Codes only: no free text reaches the intake this
 * way (PROTOCOL.md §9 "PROGRESS"). */
static bool s_progress_valid(const hv_msg *m)
{
    if (!hv_progress_event_valid(m->code) || !hv_node_id_valid_cstr(m->node) || m->at == 0)
        return false;
    if (strcmp(m->code, "declined") == 0)
        return hv_decline_code_valid(m->reason) && m->respond_by == 0;
    if (strcmp(m->code, "withdrawn_offer") == 0)
        return hv_withdrawn_code_valid(m->reason) && m->respond_by == 0;
    if (strcmp(m->code, "offered") == 0)
        return m->reason[0] == '\0' && m->respond_by != 0;
    return m->reason[0] == '\0' && m->respond_by == 0;
}

static bool s_capacity_valid(const hv_msg *m)
{
    return hv_node_id_valid_cstr(m->node) && m->places_total <= HV_PLACES_MAX &&
           m->places_free <= m->places_total && m->places_pending <= HV_PLACES_MAX &&
           m->at != 0;
}

/* ------------------------------------------------------------ encoding */

static void s_put_summary(hv_mp_writer *w, const hv_summary *s)
{
    hv_mp_write_array(w, s->people > 1 ? 13 : 11);
    hv_mp_write_uint(w, s->service);
    hv_mp_write_array(w, s->n_needs);
    for (unsigned i = 0; i < s->n_needs; i++) {
        hv_mp_write_array(w, 2);
        hv_mp_write_uint(w, s->needs[i].category);
        hv_mp_write_uint(w, s->needs[i].urgency);
    }
    hv_mp_write_uint(w, s->urgency);
    hv_mp_write_uint(w, s->age_band);
    hv_mp_write_uint(w, s->sex);
    hv_mp_write_bool(w, s->minor);
    hv_mp_write_array(w, s->n_languages);
    for (unsigned i = 0; i < s->n_languages; i++)
        hv_mp_write_cstr(w, s->languages[i]);
    hv_mp_write_bool(w, s->interpreter);
    hv_mp_write_array(w, 2);
    hv_mp_write_cstr(w, s->country);
    hv_mp_write_cstr(w, s->region);
    hv_mp_write_array(w, s->n_exclude);
    for (unsigned i = 0; i < s->n_exclude; i++)
        hv_mp_write_cstr(w, s->exclude[i]);
    hv_mp_write_uint(w, s->respond_by);
    if (s->people > 1) {
        hv_mp_write_uint(w, s->people);
        hv_mp_write_array(w, s->n_bands);
        for (unsigned i = 0; i < s->n_bands; i++)
            hv_mp_write_uint(w, s->bands[i]);
    }
}

hv_err hv_msg_encode(const hv_msg *m, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!s_text_ok(m->text, HV_MSG_TEXT_MAX) || !s_text_ok(m->code, HV_MSG_CODE_MAX))
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    hv_mp_write_array(&w, 3);
    hv_mp_write_uint(&w, HV_BODY_VERSION);
    hv_mp_write_uint(&w, m->type);
    switch (m->type) {
    case HV_MSG_REFERRAL_REQUEST:
        if (!s_summary_valid(&m->summary))
            goto invalid;
        s_put_summary(&w, &m->summary);
        break;
    case HV_MSG_OFFER:
        /* The withhold list stays with the router that applies it. */
        if (!s_summary_valid(&m->summary) || m->summary.n_exclude != 0 ||
            !hv_node_id_valid_cstr(m->node))
            goto invalid;
        hv_mp_write_array(&w, 3);
        s_put_summary(&w, &m->summary);
        hv_mp_write_cstr(&w, m->node);
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_MATCH:
        if (!hv_node_id_valid_cstr(m->node))
            goto invalid;
        hv_mp_write_cstr(&w, m->node);
        break;
    case HV_MSG_DECLINE:
        if (!hv_decline_code_valid(m->code) || m->sealed_len > HV_NOTE_SEALED_MAX ||
            (m->sealed_len > 0 && m->sealed == NULL))
            goto invalid;
        hv_mp_write_array(&w, 3);
        hv_mp_write_cstr(&w, m->code);
        hv_mp_write_uint(&w, m->at);
        hv_mp_write_bin(&w, m->sealed, m->sealed_len);
        break;
    case HV_MSG_STATUS:
        if (!hv_status_state_valid(m->code))
            goto invalid;
        hv_mp_write_array(&w, 3);
        hv_mp_write_cstr(&w, m->code);
        hv_mp_write_cstr(&w, m->text);
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_CANCEL:
        if (!hv_cancel_code_valid(m->code))
            goto invalid;
        hv_mp_write_array(&w, 2);
        hv_mp_write_cstr(&w, m->code);
        hv_mp_write_cstr(&w, m->text);
        break;
    case HV_MSG_OFFER_WITHDRAWN:
        if (!hv_withdrawn_code_valid(m->code))
            goto invalid;
        hv_mp_write_cstr(&w, m->code);
        break;
    case HV_MSG_NO_MATCH:
        if (m->n_reasons > HV_REASONS_MAX)
            goto invalid;
        hv_mp_write_array(&w, m->n_reasons);
        for (unsigned i = 0; i < m->n_reasons; i++) {
            const hv_reason *x = &m->reasons[i];
            if (!s_reason_valid(x) || (x->note_len > 0 && x->note == NULL))
                goto invalid;
            hv_mp_write_array(&w, 3);
            hv_mp_write_cstr(&w, x->node);
            hv_mp_write_cstr(&w, x->text);
            hv_mp_write_bin(&w, x->note, x->note_len);
        }
        break;
    case HV_MSG_CASE_TRANSFER:
        if (m->case_len == 0 || m->case_len > HV_PLAINTEXT_MAX - 64)
            goto invalid;
        hv_mp_write_str(&w, m->case_json, m->case_len);
        break;
    case HV_MSG_RECEIPT:
        hv_mp_write_array(&w, 2);
        hv_mp_write_bin(&w, m->hash, 32);
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_WITHDRAWN:
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_ATTACHMENT: {
        const hv_attach_chunk *a = &m->attach;
        if (!hv_attach_chunk_valid(a) || a->data == NULL)
            goto invalid;
        hv_mp_write_array(&w, 9);
        hv_mp_write_uint(&w, a->n);
        hv_mp_write_cstr(&w, a->name);
        hv_mp_write_cstr(&w, a->title);
        hv_mp_write_cstr(&w, a->type);
        hv_mp_write_uint(&w, a->size);
        hv_mp_write_uint(&w, a->chunks);
        hv_mp_write_uint(&w, a->index);
        hv_mp_write_bin(&w, a->digest, 32);
        hv_mp_write_bin(&w, a->data, a->data_len);
        break;
    }
    case HV_MSG_ACCEPT:
    case HV_MSG_WITHDRAW:
    case HV_MSG_CANCELLED:
    case HV_MSG_REFERRAL_EXPIRED:
        hv_mp_write_cstr(&w, m->text);
        break;
    case HV_MSG_LEGAL_HOLD:
        if (!hv_hold_basis_valid(m->code))
            goto invalid;
        hv_mp_write_array(&w, 3);
        hv_mp_write_cstr(&w, m->code);
        hv_mp_write_cstr(&w, m->text);
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_CASE_MESSAGE:
        if (m->n == 0 || m->n > HV_CASE_SEQ_MAX || !s_case_text_valid(m->case_json, m->case_len))
            goto invalid;
        hv_mp_write_array(&w, 3);
        hv_mp_write_uint(&w, m->n);
        hv_mp_write_str(&w, m->case_json, m->case_len);
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_MESSAGE_MARK:
        if (m->n == 0 || m->n > HV_CASE_SEQ_MAX || !hv_mark_kind_valid(m->code))
            goto invalid;
        hv_mp_write_array(&w, 3);
        hv_mp_write_uint(&w, m->n);
        hv_mp_write_cstr(&w, m->code);
        hv_mp_write_uint(&w, m->at);
        break;
    case HV_MSG_PROGRESS:
        if (!s_text_ok(m->reason, HV_MSG_CODE_MAX) || !s_progress_valid(m))
            goto invalid;
        hv_mp_write_array(&w, 5);
        hv_mp_write_cstr(&w, m->code);
        hv_mp_write_cstr(&w, m->node);
        hv_mp_write_cstr(&w, m->reason);
        hv_mp_write_uint(&w, m->at);
        hv_mp_write_uint(&w, m->respond_by);
        break;
    case HV_MSG_CAPACITY:
        if (!s_capacity_valid(m))
            goto invalid;
        hv_mp_write_array(&w, 5);
        hv_mp_write_cstr(&w, m->node);
        hv_mp_write_uint(&w, m->places_free);
        hv_mp_write_uint(&w, m->places_total);
        hv_mp_write_uint(&w, m->at);
        hv_mp_write_uint(&w, m->places_pending);
        break;
    default:
        goto invalid;
    }
    return hv_mp_writer_take(&w, out, len);
invalid:
    hv_mp_writer_free(&w);
    return HV_EINVAL;
}

/* ------------------------------------------------------------ decoding */

#define S_TRY(x)                                                                                   \
    do {                                                                                           \
        hv_err s_e_ = (x);                                                                         \
        if (s_e_ != HV_OK)                                                                         \
            return s_e_;                                                                           \
    } while (0)

static hv_err s_array_exact(hv_mp_reader *r, uint32_t n)
{
    uint32_t count;
    S_TRY(hv_mp_read_array(r, &count));
    return count == n ? HV_OK : HV_EDECODE;
}

static hv_err s_array_max(hv_mp_reader *r, uint32_t max, uint8_t *n)
{
    uint32_t count;
    S_TRY(hv_mp_read_array(r, &count));
    if (count > max)
        return HV_ETOOBIG;
    *n = (uint8_t)count;
    return HV_OK;
}

static hv_err s_u8(hv_mp_reader *r, uint8_t *v)
{
    uint64_t x;
    S_TRY(hv_mp_read_uint_max(r, 255, &x));
    *v = (uint8_t)x;
    return HV_OK;
}

/* A sealed note: bytes, NULL when there are none (so that it re-encodes
 * the same). */
static hv_err s_get_bin(hv_mp_reader *r, const uint8_t **b, size_t *len)
{
    S_TRY(hv_mp_read_bin(r, HV_NOTE_SEALED_MAX, b, len));
    if (*len == 0)
        *b = NULL;
    return HV_OK;
}

static hv_err s_get_summary(hv_mp_reader *r, hv_summary *s)
{
    /* 11 fields for one person, 13 for a group: nothing else, and a group
     * of one in the long form is refused (the encoding is canonical). */
    uint32_t fields;
    S_TRY(hv_mp_read_array(r, &fields));
    if (fields != 11 && fields != 13)
        return HV_EDECODE;
    S_TRY(s_u8(r, &s->service));
    S_TRY(s_array_max(r, HV_NEEDS_MAX, &s->n_needs));
    for (unsigned i = 0; i < s->n_needs; i++) {
        S_TRY(s_array_exact(r, 2));
        S_TRY(s_u8(r, &s->needs[i].category));
        S_TRY(s_u8(r, &s->needs[i].urgency));
    }
    S_TRY(s_u8(r, &s->urgency));
    S_TRY(s_u8(r, &s->age_band));
    S_TRY(s_u8(r, &s->sex));
    S_TRY(hv_mp_read_bool(r, &s->minor));
    S_TRY(s_array_max(r, HV_SUMMARY_LIST_MAX, &s->n_languages));
    for (unsigned i = 0; i < s->n_languages; i++)
        S_TRY(hv_mp_read_cstr(r, s->languages[i], sizeof s->languages[i]));
    S_TRY(hv_mp_read_bool(r, &s->interpreter));
    S_TRY(s_array_exact(r, 2));
    S_TRY(hv_mp_read_cstr(r, s->country, sizeof s->country));
    S_TRY(hv_mp_read_cstr(r, s->region, sizeof s->region));
    S_TRY(s_array_max(r, HV_SUMMARY_LIST_MAX, &s->n_exclude));
    for (unsigned i = 0; i < s->n_exclude; i++)
        S_TRY(hv_mp_read_cstr(r, s->exclude[i], sizeof s->exclude[i]));
    S_TRY(hv_mp_read_uint(r, &s->respond_by));
    if (fields == 11) {
        s->people = 1;
        s->n_bands = 1;
        s->bands[0] = s->age_band;
    } else {
        S_TRY(s_u8(r, &s->people));
        S_TRY(s_array_max(r, HV_GROUP_MAX, &s->n_bands));
        for (unsigned i = 0; i < s->n_bands; i++)
            S_TRY(s_u8(r, &s->bands[i]));
        if (s->people < 2)
            return HV_EINVAL;
    }
    return s_summary_valid(s) ? HV_OK : HV_EINVAL;
}

static hv_err s_get_body(hv_mp_reader *r, hv_msg *m, bool stored)
{
    switch (m->type) {
    case HV_MSG_REFERRAL_REQUEST:
        return s_get_summary(r, &m->summary);
    case HV_MSG_OFFER:
        S_TRY(s_array_exact(r, 3));
        S_TRY(s_get_summary(r, &m->summary));
        S_TRY(hv_mp_read_cstr(r, m->node, sizeof m->node));
        S_TRY(hv_mp_read_uint(r, &m->at));
        /* A provider refuses an offer that carries a withhold list; one it
         * stored before it did loses the list. */
        if (stored)
            m->summary.n_exclude = 0;
        return hv_node_id_valid_cstr(m->node) && m->summary.n_exclude == 0 ? HV_OK : HV_EINVAL;
    case HV_MSG_MATCH:
        S_TRY(hv_mp_read_cstr(r, m->node, sizeof m->node));
        return hv_node_id_valid_cstr(m->node) ? HV_OK : HV_EINVAL;
    case HV_MSG_DECLINE:
        S_TRY(s_array_exact(r, 3));
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        S_TRY(hv_mp_read_uint(r, &m->at));
        S_TRY(s_get_bin(r, &m->sealed, &m->sealed_len));
        return hv_decline_code_valid(m->code) ? HV_OK : HV_EINVAL;
    case HV_MSG_STATUS:
        S_TRY(s_array_exact(r, 3));
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        S_TRY(hv_mp_read_cstr(r, m->text, sizeof m->text));
        S_TRY(hv_mp_read_uint(r, &m->at));
        return hv_status_state_valid(m->code) ? HV_OK : HV_EINVAL;
    case HV_MSG_CANCEL:
        S_TRY(s_array_exact(r, 2));
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        S_TRY(hv_mp_read_cstr(r, m->text, sizeof m->text));
        return hv_cancel_code_valid(m->code) ? HV_OK : HV_EINVAL;
    case HV_MSG_OFFER_WITHDRAWN:
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        return hv_withdrawn_code_valid(m->code) ? HV_OK : HV_EINVAL;
    case HV_MSG_NO_MATCH:
        S_TRY(s_array_max(r, HV_REASONS_MAX, &m->n_reasons));
        for (unsigned i = 0; i < m->n_reasons; i++) {
            hv_reason *x = &m->reasons[i];
            S_TRY(s_array_exact(r, 3));
            S_TRY(hv_mp_read_cstr(r, x->node, sizeof x->node));
            S_TRY(hv_mp_read_cstr(r, x->text, sizeof x->text));
            S_TRY(s_get_bin(r, &x->note, &x->note_len));
            if (!s_reason_valid(x))
                return HV_EINVAL;
        }
        return HV_OK;
    case HV_MSG_CASE_TRANSFER:
        S_TRY(hv_mp_read_str(r, HV_PLAINTEXT_MAX, &m->case_json, &m->case_len));
        return m->case_len > 0 ? HV_OK : HV_EINVAL;
    case HV_MSG_RECEIPT:
        S_TRY(s_array_exact(r, 2));
        S_TRY(hv_mp_read_bin_exact(r, m->hash, 32));
        return hv_mp_read_uint(r, &m->at);
    case HV_MSG_WITHDRAWN:
        return hv_mp_read_uint(r, &m->at);
    case HV_MSG_ATTACHMENT: {
        hv_attach_chunk *a = &m->attach;
        uint64_t v;
        S_TRY(s_array_exact(r, 9));
        S_TRY(hv_mp_read_uint_max(r, HV_ATTACH_PER_CASE - 1, &v));
        a->n = (uint8_t)v;
        S_TRY(hv_mp_read_cstr(r, a->name, sizeof a->name));
        S_TRY(hv_mp_read_cstr(r, a->title, sizeof a->title));
        S_TRY(hv_mp_read_cstr(r, a->type, sizeof a->type));
        S_TRY(hv_mp_read_uint_max(r, HV_ATTACH_SIZE_MAX, &a->size));
        S_TRY(hv_mp_read_uint_max(r, HV_ATTACH_CHUNKS_MAX, &v));
        a->chunks = (uint32_t)v;
        S_TRY(hv_mp_read_uint_max(r, HV_ATTACH_CHUNKS_MAX, &v));
        a->index = (uint32_t)v;
        S_TRY(hv_mp_read_bin_exact(r, a->digest, 32));
        S_TRY(hv_mp_read_bin(r, HV_ATTACH_CHUNK, &a->data, &a->data_len));
        return hv_attach_chunk_valid(a) ? HV_OK : HV_EINVAL;
    }
    case HV_MSG_ACCEPT:
    case HV_MSG_WITHDRAW:
    case HV_MSG_CANCELLED:
    case HV_MSG_REFERRAL_EXPIRED:
        return hv_mp_read_cstr(r, m->text, sizeof m->text);
    case HV_MSG_LEGAL_HOLD:
        S_TRY(s_array_exact(r, 3));
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        S_TRY(hv_mp_read_cstr(r, m->text, sizeof m->text));
        S_TRY(hv_mp_read_uint(r, &m->at));
        return hv_hold_basis_valid(m->code) ? HV_OK : HV_EINVAL;
    case HV_MSG_CASE_MESSAGE:
        S_TRY(s_array_exact(r, 3));
        S_TRY(hv_mp_read_uint_max(r, HV_CASE_SEQ_MAX, &m->n));
        S_TRY(hv_mp_read_str(r, HV_CASE_TEXT_MAX, &m->case_json, &m->case_len));
        S_TRY(hv_mp_read_uint(r, &m->at));
        return m->n > 0 && s_case_text_valid(m->case_json, m->case_len) ? HV_OK : HV_EINVAL;
    case HV_MSG_MESSAGE_MARK:
        S_TRY(s_array_exact(r, 3));
        S_TRY(hv_mp_read_uint_max(r, HV_CASE_SEQ_MAX, &m->n));
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        S_TRY(hv_mp_read_uint(r, &m->at));
        return m->n > 0 && hv_mark_kind_valid(m->code) ? HV_OK : HV_EINVAL;
    case HV_MSG_PROGRESS:
        S_TRY(s_array_exact(r, 5));
        S_TRY(hv_mp_read_cstr(r, m->code, sizeof m->code));
        S_TRY(hv_mp_read_cstr(r, m->node, sizeof m->node));
        S_TRY(hv_mp_read_cstr(r, m->reason, sizeof m->reason));
        S_TRY(hv_mp_read_uint(r, &m->at));
        S_TRY(hv_mp_read_uint(r, &m->respond_by));
        return s_progress_valid(m) ? HV_OK : HV_EINVAL;
    case HV_MSG_CAPACITY: {
        uint64_t free_places, total, pending;
        S_TRY(s_array_exact(r, 5));
        S_TRY(hv_mp_read_cstr(r, m->node, sizeof m->node));
        S_TRY(hv_mp_read_uint_max(r, HV_PLACES_MAX, &free_places));
        S_TRY(hv_mp_read_uint_max(r, HV_PLACES_MAX, &total));
        S_TRY(hv_mp_read_uint(r, &m->at));
        S_TRY(hv_mp_read_uint_max(r, HV_PLACES_MAX, &pending));
        m->places_free = (uint32_t)free_places;
        m->places_total = (uint32_t)total;
        m->places_pending = (uint32_t)pending;
        return s_capacity_valid(m) ? HV_OK : HV_EINVAL;
    }
    }
    return HV_ETYPE;
}

static hv_err s_decode(const uint8_t *buf, size_t len, unsigned type, hv_msg *out, bool stored)
{
    memset(out, 0, sizeof *out);
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint64_t version, t;
    S_TRY(s_array_exact(&r, 3));
    S_TRY(hv_mp_read_uint(&r, &version));
    if (version != HV_BODY_VERSION)
        return HV_EVERSION;
    S_TRY(hv_mp_read_uint(&r, &t));
    if (t != type || hv_msg_rule_get((unsigned)t) == NULL)
        return HV_ETYPE;
    out->type = (uint8_t)t;
    S_TRY(s_get_body(&r, out, stored));
    return hv_mp_read_end(&r);
}

hv_err hv_msg_decode(const uint8_t *buf, size_t len, unsigned type, hv_msg *out)
{
    return s_decode(buf, len, type, out, false);
}

hv_err hv_msg_decode_stored(const uint8_t *buf, size_t len, unsigned type, hv_msg *out)
{
    return s_decode(buf, len, type, out, true);
}
