/* Envelope codec; proto/PROTOCOL.md §3. */
#include "hv_envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_mp.h"

#define S_SMALL_MAX (64u * 1024) /* plaintext limit of the small messages */
#define S_I HV_ROLE_BIT(HV_ROLE_INTAKE)
#define S_R HV_ROLE_BIT(HV_ROLE_ROUTER)
#define S_P HV_ROLE_BIT(HV_ROLE_PROVIDER)

static const hv_msg_rule s_rules[HV_MSG_TYPE_MAX + 1] = {
    [HV_MSG_REFERRAL_REQUEST] = {"REFERRAL_REQUEST", S_I, S_R, S_SMALL_MAX},
    [HV_MSG_OFFER] = {"OFFER", S_R, S_P, S_SMALL_MAX},
    [HV_MSG_ACCEPT] = {"ACCEPT", S_P, S_R, S_SMALL_MAX},
    [HV_MSG_DECLINE] = {"DECLINE", S_P, S_R, S_SMALL_MAX},
    [HV_MSG_MATCH] = {"MATCH", S_R, S_I, S_SMALL_MAX},
    [HV_MSG_NO_MATCH] = {"NO_MATCH", S_R, S_I, S_SMALL_MAX},
    [HV_MSG_CASE_TRANSFER] = {"CASE_TRANSFER", S_I, S_P, HV_PLAINTEXT_MAX},
    [HV_MSG_RECEIPT] = {"RECEIPT", S_P, S_I, S_SMALL_MAX},
    [HV_MSG_STATUS] = {"STATUS", S_P, S_I, S_SMALL_MAX},
    [HV_MSG_WITHDRAW] = {"WITHDRAW", S_I, S_P, S_SMALL_MAX},
    [HV_MSG_WITHDRAWN] = {"WITHDRAWN", S_P, S_I, S_SMALL_MAX},
    [HV_MSG_CANCEL] = {"CANCEL", S_I, S_R | S_P, S_SMALL_MAX},
    [HV_MSG_CANCELLED] = {"CANCELLED", S_R | S_P, S_I, S_SMALL_MAX},
    [HV_MSG_REFERRAL_EXPIRED] = {"REFERRAL_EXPIRED", S_R, S_I, S_SMALL_MAX},
    [HV_MSG_OFFER_WITHDRAWN] = {"OFFER_WITHDRAWN", S_R, S_P, S_SMALL_MAX},
    [HV_MSG_CASE_MESSAGE] = {"CASE_MESSAGE", S_I | S_P, S_I | S_P, S_SMALL_MAX},
    [HV_MSG_MESSAGE_MARK] = {"MESSAGE_MARK", S_I | S_P, S_I | S_P, S_SMALL_MAX},
    [HV_MSG_ATTACHMENT] = {"ATTACHMENT", S_I, S_P, HV_PLAINTEXT_MAX},
    [HV_MSG_PROGRESS] = {"PROGRESS", S_R, S_I, S_SMALL_MAX},
    [HV_MSG_CAPACITY] = {"CAPACITY", S_P, S_R, S_SMALL_MAX},
    [HV_MSG_LEGAL_HOLD] = {"LEGAL_HOLD", S_P, S_I, S_SMALL_MAX},
};

/* Array lengths of the encoded forms. */
#define S_HEADER_FIELDS 10
#define S_ENVELOPE_FIELDS 4

const hv_msg_rule *hv_msg_rule_get(unsigned type)
{
    /* A number inside the range may be unassigned (reserved for a type
     * still to come): unknown like any other. */
    return type >= 1 && type <= HV_MSG_TYPE_MAX && s_rules[type].name != NULL ? &s_rules[type]
                                                                              : NULL;
}

unsigned hv_msg_type_from_name(const char *name)
{
    for (unsigned t = 1; t <= HV_MSG_TYPE_MAX; t++)
        if (s_rules[t].name != NULL && strcmp(name, s_rules[t].name) == 0)
            return t;
    return 0;
}

/* Checks the limits that encoding must respect, so that whatever we encode
 * our own decoder accepts. */
static bool s_header_valid(const hv_envelope *env)
{
    return env->version == HV_PROTO_VERSION && hv_msg_rule_get(env->type) != NULL &&
           hv_node_id_valid_cstr(env->from) && hv_node_id_valid_cstr(env->to) &&
           env->ttl_s >= 1 && env->ttl_s <= HV_TTL_MAX;
}

static void s_write_header(hv_mp_writer *w, const hv_envelope *env)
{
    hv_mp_write_array(w, S_HEADER_FIELDS);
    hv_mp_write_uint(w, env->version);
    hv_mp_write_uint(w, env->type);
    hv_mp_write_bin(w, env->id, HV_MSG_ID_BYTES);
    hv_mp_write_bin(w, env->referral, HV_MSG_ID_BYTES);
    hv_mp_write_cstr(w, env->from);
    hv_mp_write_cstr(w, env->to);
    hv_mp_write_uint(w, env->created_at_ms);
    hv_mp_write_uint(w, env->ttl_s);
    hv_mp_write_bin(w, env->from_kid, HV_KEY_ID_BYTES);
    hv_mp_write_bin(w, env->to_kid, HV_KEY_ID_BYTES);
}

/* What comes before the body: the envelope's array, its header, its hops. */
static void s_write_prefix(hv_mp_writer *w, const hv_envelope *env)
{
    hv_mp_write_array(w, S_ENVELOPE_FIELDS);
    s_write_header(w, env);
    hv_mp_write_uint(w, env->hops);
}

hv_err hv_envelope_encode_header(const hv_envelope *env, uint8_t **out, size_t *len)
{
    if (!s_header_valid(env))
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    s_write_header(&w, env);
    return hv_mp_writer_take(&w, out, len);
}

hv_err hv_envelope_encode(const hv_envelope *env, uint8_t **out, size_t *len)
{
    if (!s_header_valid(env) || env->hops > HV_HOPS_MAX ||
        env->body_len > hv_msg_rule_get(env->type)->plaintext_max + HV_SEAL_OVERHEAD ||
        env->body_len < HV_SEAL_OVERHEAD)
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    s_write_prefix(&w, env);
    hv_mp_write_bin(&w, env->body, env->body_len);
    hv_mp_write_bin(&w, env->sig, HV_SIG_BYTES);
    return hv_mp_writer_take(&w, out, len);
}

/* Reads a node id string into `out`. */
static hv_err s_read_node_id(hv_mp_reader *r, char out[HV_NODE_ID_MAX + 1])
{
    const char *s;
    size_t n;
    hv_err err = hv_mp_read_str(r, HV_NODE_ID_MAX, &s, &n);
    if (err != HV_OK)
        return err;
    if (!hv_node_id_valid(s, n))
        return HV_EDECODE;
    memcpy(out, s, n);
    out[n] = '\0';
    return HV_OK;
}

/* Reads the header array at the reader's position into `out` (every field
 * but hops, body and sig), `out->header` and `header_len` included. */
static hv_err s_read_header(hv_mp_reader *r0, hv_envelope *out)
{
    hv_mp_reader r = *r0;
    uint32_t n;
    uint64_t v;
    hv_err err;
#define S_TRY(expr)                                                                            \
    do {                                                                                       \
        if ((err = (expr)) != HV_OK)                                                           \
            return err;                                                                        \
    } while (0)
    out->header = r.pos;
    S_TRY(hv_mp_read_array(&r, &n));
    if (n != S_HEADER_FIELDS)
        return HV_EDECODE;
    /* Version and type come first so that a newer peer gets a precise error. */
    S_TRY(hv_mp_read_uint(&r, &v));
    if (v != HV_PROTO_VERSION)
        return HV_EVERSION;
    out->version = (uint8_t)v;
    S_TRY(hv_mp_read_uint(&r, &v));
    const hv_msg_rule *rule = hv_msg_rule_get(v > HV_MSG_TYPE_MAX ? 0 : (unsigned)v);
    if (rule == NULL)
        return HV_ETYPE;
    out->type = (uint8_t)v;
    S_TRY(hv_mp_read_bin_exact(&r, out->id, HV_MSG_ID_BYTES));
    S_TRY(hv_mp_read_bin_exact(&r, out->referral, HV_MSG_ID_BYTES));
    S_TRY(s_read_node_id(&r, out->from));
    S_TRY(s_read_node_id(&r, out->to));
    S_TRY(hv_mp_read_uint(&r, &out->created_at_ms));
    S_TRY(hv_mp_read_uint_max(&r, HV_TTL_MAX, &v));
    if (v == 0)
        return HV_EDECODE;
    out->ttl_s = (uint32_t)v;
    S_TRY(hv_mp_read_bin_exact(&r, out->from_kid, HV_KEY_ID_BYTES));
    S_TRY(hv_mp_read_bin_exact(&r, out->to_kid, HV_KEY_ID_BYTES));
    out->header_len = (size_t)(r.pos - out->header);
#undef S_TRY
    *r0 = r;
    return HV_OK;
}

hv_err hv_envelope_decode(const uint8_t *buf, size_t len, hv_envelope *out)
{
    if (len > HV_ENVELOPE_MAX)
        return HV_ETOOBIG;
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint32_t n;
    uint64_t v;
    hv_err err;
    memset(out, 0, sizeof *out);

#define S_TRY(expr)                                                                            \
    do {                                                                                       \
        if ((err = (expr)) != HV_OK)                                                           \
            return err;                                                                        \
    } while (0)

    S_TRY(hv_mp_read_array(&r, &n));
    if (n != S_ENVELOPE_FIELDS)
        return HV_EDECODE;
    S_TRY(s_read_header(&r, out));
    const hv_msg_rule *rule = hv_msg_rule_get(out->type);
    S_TRY(hv_mp_read_uint_max(&r, HV_HOPS_MAX, &v));
    out->hops = (uint8_t)v;
    S_TRY(hv_mp_read_bin(&r, rule->plaintext_max + HV_SEAL_OVERHEAD, &out->body, &out->body_len));
    if (out->body_len < HV_SEAL_OVERHEAD)
        return HV_EDECODE;
    S_TRY(hv_mp_read_bin_exact(&r, out->sig, HV_SIG_BYTES));
#undef S_TRY
    return hv_mp_read_end(&r);
}

hv_err hv_envelope_decode_header(const uint8_t *buf, size_t len, hv_envelope *out)
{
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    memset(out, 0, sizeof *out);
    hv_err err = s_read_header(&r, out);
    return err != HV_OK ? err : hv_mp_read_end(&r);
}

void hv_envelope_init(hv_envelope *env, unsigned type, const char *from,
                      const hv_pubkeys *from_keys, const char *to, const hv_pubkeys *to_keys)
{
    memset(env, 0, sizeof *env);
    env->version = HV_PROTO_VERSION;
    env->type = (uint8_t)type;
    snprintf(env->from, sizeof env->from, "%s", from);
    snprintf(env->to, sizeof env->to, "%s", to);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    env->created_at_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    hv_time_id(env->id, env->created_at_ms);
    env->ttl_s = 7u * 24 * 3600;
    memcpy(env->from_kid, from_keys->key_id, HV_KEY_ID_BYTES);
    memcpy(env->to_kid, to_keys->key_id, HV_KEY_ID_BYTES);
}

/* Encodes what comes before the body (the array, the header, the hops and
 * the body's bin tag) into `*out`; the caller owns it. */
static hv_err s_encode_prefix(const hv_envelope *env, size_t body_len, uint8_t **out, size_t *len)
{
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    s_write_prefix(&w, env);
    hv_mp_write_bin_header(&w, body_len);
    return hv_mp_writer_take(&w, out, len);
}

/* The body is sealed straight into its place in the envelope: the writer
 * encodes what comes before it and the signature's tag after it, so that
 * the body (up to HV_BODY_MAX bytes) is written once and never copied. The
 * bytes are those hv_envelope_encode makes of the sealed envelope. */
hv_err hv_envelope_seal(const hv_envelope *env, const hv_keypair *sender,
                        const hv_pubkeys *to_keys, const uint8_t *pt, size_t pt_len,
                        uint8_t **wire, size_t *wire_len)
{
    const hv_msg_rule *rule = hv_msg_rule_get(env->type);
    if (rule == NULL)
        return HV_EINVAL;
    if (pt_len > rule->plaintext_max)
        return HV_ETOOBIG;
    if (env->hops > HV_HOPS_MAX)
        return HV_EINVAL;
    uint8_t *header = NULL, *prefix = NULL, *sig_tag = NULL, *out = NULL;
    size_t header_len = 0, prefix_len = 0, sig_tag_len = 0, body_len = pt_len + HV_SEAL_OVERHEAD;
    hv_err err = hv_envelope_encode_header(env, &header, &header_len);
    if (err == HV_OK)
        err = s_encode_prefix(env, body_len, &prefix, &prefix_len);
    if (err == HV_OK) {
        hv_mp_writer w;
        if ((err = hv_mp_writer_init(&w)) == HV_OK) {
            hv_mp_write_bin_header(&w, HV_SIG_BYTES);
            err = hv_mp_writer_take(&w, &sig_tag, &sig_tag_len);
        }
    }
    size_t total = prefix_len + body_len + sig_tag_len + HV_SIG_BYTES;
    if (err == HV_OK && (out = malloc(total)) == NULL)
        err = HV_ENOMEM;
    if (err != HV_OK)
        goto done;
    memcpy(out, prefix, prefix_len);
    uint8_t *body = out + prefix_len, *tag = body + body_len, *sig = tag + sig_tag_len;
    size_t sealed_len = 0;
    err = hv_seal(sender, to_keys->box, header, header_len, pt, pt_len, body, body_len,
                  &sealed_len, sig);
    if (err == HV_OK && sealed_len != body_len)
        err = HV_ECRYPTO; /* cannot happen: the overhead is fixed */
    if (err != HV_OK)
        goto done;
    memcpy(tag, sig_tag, sig_tag_len);
    *wire = out;
    *wire_len = total;
    out = NULL;
done:
    free(out);
    free(header);
    free(prefix);
    free(sig_tag);
    return err;
}

hv_err hv_envelope_open(const hv_envelope *env, const char *self_id, const hv_keypair *self,
                        const uint8_t sender_sign_pk[HV_PK_BYTES], uint8_t **pt, size_t *pt_len)
{
    return hv_envelope_open_with(env, self_id, self, NULL, NULL, sender_sign_pk, pt, pt_len);
}

hv_err hv_envelope_open_with(const hv_envelope *env, const char *self_id, const hv_keypair *self,
                             const uint8_t *box_sk, const uint8_t *box_pk,
                             const uint8_t sender_sign_pk[HV_PK_BYTES], uint8_t **pt,
                             size_t *pt_len)
{
    size_t cap = env->body_len >= HV_SEAL_OVERHEAD ? env->body_len - HV_SEAL_OVERHEAD : 0;
    uint8_t *buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL)
        return HV_ENOMEM;
    hv_err err = box_sk != NULL
                     ? hv_open_box(box_sk, box_pk, sender_sign_pk, env->header, env->header_len,
                                   env->body, env->body_len, env->sig, buf, cap, pt_len)
                     : hv_open(self, sender_sign_pk, env->header, env->header_len, env->body,
                               env->body_len, env->sig, buf, cap, pt_len);
    if (err == HV_OK && (strcmp(env->to, self_id) != 0 ||
                         memcmp(env->to_kid, hv_keypair_public(self)->key_id,
                                HV_KEY_ID_BYTES) != 0))
        err = HV_EADDRESS;
    if (err != HV_OK) {
        hv_memzero(buf, cap);
        free(buf);
        return err;
    }
    *pt = buf;
    return HV_OK;
}
