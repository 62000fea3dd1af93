/* Control message codec; proto/PROTOCOL.md §5. */
#include "hv_control.h"

#include <stdlib.h>
#include <string.h>

#include "hv_mp.h"

/* Number of array elements (version and command included) per command. */
static const struct {
    const char *name; /* command name */
    uint32_t fields;  /* array length */
} s_cmds[HV_CMD_MAX + 1] = {
    [HV_CMD_HELLO] = {"HELLO", 5},     [HV_CMD_READY] = {"READY", 5},
    [HV_CMD_SEND] = {"SEND", 3},       [HV_CMD_STORED] = {"STORED", 3},
    [HV_CMD_DELIVER] = {"DELIVER", 4}, [HV_CMD_ACK] = {"ACK", 3},
    [HV_CMD_NACK] = {"NACK", 5},       [HV_CMD_CREDIT] = {"CREDIT", 3},
    [HV_CMD_HEARTBEAT] = {"HEARTBEAT", 2}, [HV_CMD_EXPIRED] = {"EXPIRED", 3},
    [HV_CMD_ERROR] = {"ERROR", 5},     [HV_CMD_BYE] = {"BYE", 2},
    [HV_CMD_PREKEY_PUT] = {"PREKEY_PUT", 3}, [HV_CMD_PREKEY_GET] = {"PREKEY_GET", 3},
    [HV_CMD_PREKEY] = {"PREKEY", 3},   [HV_CMD_PREKEY_REFUSED] = {"PREKEY_REFUSED", 5},
    [HV_CMD_AUDIT_HEAD] = {"AUDIT_HEAD", 3}, [HV_CMD_AUDIT_WITNESSED] = {"AUDIT_WITNESSED", 4},
    [HV_CMD_AUDIT_HEAD_GET] = {"AUDIT_HEAD_GET", 2},
    [HV_CMD_HEALTH] = {"HEALTH", 3},
    [HV_CMD_NOTICE] = {"NOTICE", 7},
    [HV_CMD_BATCH] = {"BATCH", 3},
};

const char *hv_cmd_name(unsigned cmd)
{
    return cmd >= 1 && cmd <= HV_CMD_MAX ? s_cmds[cmd].name : NULL; /* gaps are NULL */
}

static bool s_heartbeat_valid(uint32_t ms)
{
    return ms >= HV_HEARTBEAT_MS_MIN && ms <= HV_HEARTBEAT_MS_MAX;
}

bool hv_control_batchable(unsigned cmd)
{
    return cmd == HV_CMD_SEND || cmd == HV_CMD_STORED || cmd == HV_CMD_DELIVER ||
           cmd == HV_CMD_ACK || cmd == HV_CMD_NACK;
}

/* Walks BATCH's elements: `n` bin strings of 1 to HV_CONTROL_BATCH_BYTES
 * bytes each, filling exactly `len` bytes. The decoder and the encoder
 * share it, so that encode never writes what decode refuses. */
static hv_err s_parts_check(const uint8_t *parts, size_t len, uint32_t n)
{
    if (n == 0 || parts == NULL)
        return HV_EDECODE;
    if (n > HV_CONTROL_BATCH_MAX)
        return HV_ETOOBIG;
    hv_mp_reader r;
    hv_mp_reader_init(&r, parts, len);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *b;
        size_t blen;
        hv_err err = hv_mp_read_bin(&r, HV_CONTROL_BATCH_BYTES, &b, &blen);
        if (err != HV_OK)
            return err;
        if (blen == 0)
            return HV_EDECODE;
    }
    return hv_mp_read_end(&r);
}

void hv_control_parts_init(hv_control_parts *it, const hv_control *batch)
{
    it->pos = batch->parts;
    it->end = batch->parts + batch->parts_len;
}

bool hv_control_parts_next(hv_control_parts *it, const uint8_t **part, size_t *len)
{
    hv_mp_reader r;
    hv_mp_reader_init(&r, it->pos, (size_t)(it->end - it->pos));
    if (it->pos >= it->end || hv_mp_read_bin(&r, HV_CONTROL_BATCH_BYTES, part, len) != HV_OK)
        return false;
    it->pos = r.pos;
    return true;
}

static bool s_text_valid(const char *text)
{
    size_t n = strlen(text);
    return n <= HV_CONTROL_TEXT_MAX && hv_utf8_valid(text, n);
}

/* Checks the limits of the fields `msg->cmd` uses, so that encode never
 * produces what decode refuses. */
static bool s_fields_valid(const hv_control *m)
{
    switch (m->cmd) {
    case HV_CMD_HELLO:
        return hv_node_id_valid_cstr(m->node_id) && m->credit <= HV_CREDIT_MAX &&
               s_heartbeat_valid(m->heartbeat_ms) && m->replay_since <= HV_REPLAY_SINCE_MAX &&
               m->features <= HV_FEATURES_MAX;
    case HV_CMD_READY:
        return hv_node_id_valid_cstr(m->node_id) && s_heartbeat_valid(m->heartbeat_ms) &&
               m->max_message <= HV_CONTROL_MAX && m->features <= HV_FEATURES_MAX;
    case HV_CMD_BATCH:
        return s_parts_check(m->parts, m->parts_len, m->n_parts) == HV_OK;
    case HV_CMD_SEND:
    case HV_CMD_DELIVER:
        return m->envelope_len > 0 && m->envelope_len <= HV_ENVELOPE_MAX &&
               (m->cmd == HV_CMD_SEND || m->attempt >= 1);
    case HV_CMD_CREDIT:
        return m->credit <= HV_CREDIT_MAX;
    case HV_CMD_NACK:
    case HV_CMD_ERROR:
    case HV_CMD_PREKEY_REFUSED:
        return s_text_valid(m->text);
    case HV_CMD_PREKEY_PUT:
    case HV_CMD_PREKEY:
        return m->bundle_len > 0 && m->bundle_len <= HV_CONTROL_BUNDLE_MAX;
    case HV_CMD_PREKEY_GET:
        return m->node_id[0] == '\0' || hv_node_id_valid_cstr(m->node_id);
    case HV_CMD_AUDIT_HEAD:
        return m->bundle_len > 0 && m->bundle_len <= HV_CONTROL_HEAD_MAX;
    case HV_CMD_AUDIT_WITNESSED:
        return m->bundle_len <= HV_CONTROL_HEAD_MAX && (m->bundle_len == 0 || m->bundle != NULL);
    case HV_CMD_HEALTH:
        return m->summary_len > 0 && m->summary_len <= HV_CONTROL_SUMMARY_MAX;
    case HV_CMD_NOTICE:
        return m->header_len > 0 && m->header_len <= HV_CONTROL_NOTICE_HEADER_MAX &&
               m->header != NULL && m->code != 0 && s_text_valid(m->text);
    default:
        return hv_cmd_name(m->cmd) != NULL;
    }
}

hv_err hv_control_encode(const hv_control *m, uint8_t **out, size_t *len)
{
    if (hv_cmd_name(m->cmd) == NULL || !s_fields_valid(m))
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    /* HELLO's sixth field, replay_since, is there when asked for or when
     * a seventh, features, follows; READY's sixth is its features. */
    uint32_t extra = 0;
    if (m->cmd == HV_CMD_HELLO)
        extra = m->has_features ? 2 : m->replay_since != 0 ? 1 : 0;
    else if (m->cmd == HV_CMD_READY)
        extra = m->has_features ? 1 : 0;
    hv_mp_write_array(&w, s_cmds[m->cmd].fields + extra);
    hv_mp_write_uint(&w, HV_PROTO_VERSION);
    hv_mp_write_uint(&w, m->cmd);
    switch (m->cmd) {
    case HV_CMD_HELLO:
        hv_mp_write_cstr(&w, m->node_id);
        hv_mp_write_uint(&w, m->credit);
        hv_mp_write_uint(&w, m->heartbeat_ms);
        if (m->replay_since != 0 || m->has_features)
            hv_mp_write_uint(&w, m->replay_since);
        if (m->has_features)
            hv_mp_write_uint(&w, m->features);
        break;
    case HV_CMD_READY:
        hv_mp_write_cstr(&w, m->node_id);
        hv_mp_write_uint(&w, m->heartbeat_ms);
        hv_mp_write_uint(&w, m->max_message);
        if (m->has_features)
            hv_mp_write_uint(&w, m->features);
        break;
    case HV_CMD_BATCH: {
        hv_control_parts it;
        const uint8_t *part;
        size_t part_len;
        hv_mp_write_array(&w, m->n_parts);
        hv_control_parts_init(&it, m);
        while (hv_control_parts_next(&it, &part, &part_len))
            hv_mp_write_bin(&w, part, part_len);
        break;
    }
    case HV_CMD_SEND:
        hv_mp_write_bin(&w, m->envelope, m->envelope_len);
        break;
    case HV_CMD_DELIVER:
        hv_mp_write_uint(&w, m->attempt);
        hv_mp_write_bin(&w, m->envelope, m->envelope_len);
        break;
    case HV_CMD_STORED:
    case HV_CMD_ACK:
    case HV_CMD_EXPIRED:
        hv_mp_write_bin(&w, m->msg_id, HV_MSG_ID_BYTES);
        break;
    case HV_CMD_NACK:
        hv_mp_write_bin(&w, m->msg_id, HV_MSG_ID_BYTES);
        hv_mp_write_uint(&w, m->code);
        hv_mp_write_cstr(&w, m->text);
        break;
    case HV_CMD_CREDIT:
        hv_mp_write_uint(&w, m->credit);
        break;
    case HV_CMD_ERROR:
        hv_mp_write_uint(&w, m->code);
        hv_mp_write_bin(&w, m->msg_id, m->has_msg_id ? HV_MSG_ID_BYTES : 0);
        hv_mp_write_cstr(&w, m->text);
        break;
    case HV_CMD_PREKEY_PUT:
    case HV_CMD_PREKEY:
        hv_mp_write_bin(&w, m->bundle, m->bundle_len);
        break;
    case HV_CMD_PREKEY_GET:
        hv_mp_write_cstr(&w, m->node_id);
        break;
    case HV_CMD_AUDIT_HEAD:
        hv_mp_write_bin(&w, m->bundle, m->bundle_len);
        break;
    case HV_CMD_AUDIT_WITNESSED:
        hv_mp_write_uint(&w, m->code);
        hv_mp_write_bin(&w, m->bundle, m->bundle_len);
        break;
    case HV_CMD_HEALTH:
        hv_mp_write_bin(&w, m->summary, m->summary_len);
        break;
    case HV_CMD_NOTICE:
        hv_mp_write_uint(&w, m->code);
        hv_mp_write_bin(&w, m->header, m->header_len);
        hv_mp_write_bin(&w, m->digest, sizeof m->digest);
        hv_mp_write_bin(&w, m->sig, sizeof m->sig);
        hv_mp_write_cstr(&w, m->text);
        break;
    case HV_CMD_PREKEY_REFUSED:
        hv_mp_write_uint(&w, m->code);
        hv_mp_write_bin(&w, m->prekey_id, m->has_prekey_id ? sizeof m->prekey_id : 0);
        hv_mp_write_cstr(&w, m->text);
        break;
    default: /* HEARTBEAT, BYE: no fields */
        break;
    }
    err = hv_mp_writer_take(&w, out, len);
    if (err == HV_OK && m->cmd == HV_CMD_BATCH && *len > HV_CONTROL_BATCH_BYTES) {
        free(*out);
        *out = NULL;
        return HV_EINVAL;
    }
    return err;
}

hv_err hv_control_decode(const uint8_t *buf, size_t len, hv_control *out)
{
    if (len > HV_CONTROL_MAX)
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
    if (n < 2)
        return HV_EDECODE;
    S_TRY(hv_mp_read_uint(&r, &v));
    if (v != HV_PROTO_VERSION)
        return HV_EVERSION;
    S_TRY(hv_mp_read_uint(&r, &v));
    if (v == 0 || v > HV_CMD_MAX || s_cmds[v].name == NULL)
        return HV_ETYPE;
    out->cmd = (uint8_t)v;
    /* HELLO: six elements with replay_since, seven with features too;
     * READY: six with features. */
    uint32_t extra = n - s_cmds[out->cmd].fields;
    bool optional = n > s_cmds[out->cmd].fields &&
                    ((out->cmd == HV_CMD_HELLO && extra <= 2) ||
                     (out->cmd == HV_CMD_READY && extra == 1));
    if (n != s_cmds[out->cmd].fields && !optional)
        return HV_EDECODE;
    bool replay = optional && out->cmd == HV_CMD_HELLO;
    out->has_features = optional && (out->cmd == HV_CMD_READY || extra == 2);
    if (out->cmd == HV_CMD_BATCH && len > HV_CONTROL_BATCH_BYTES)
        return HV_ETOOBIG;

    const uint8_t *b;
    size_t blen;
    switch (out->cmd) {
    case HV_CMD_HELLO:
    case HV_CMD_READY:
        S_TRY(hv_mp_read_cstr(&r, out->node_id, sizeof out->node_id));
        if (!hv_node_id_valid_cstr(out->node_id))
            return HV_EDECODE;
        if (out->cmd == HV_CMD_HELLO) {
            S_TRY(hv_mp_read_uint_max(&r, HV_CREDIT_MAX, &v));
            out->credit = (uint32_t)v;
        }
        S_TRY(hv_mp_read_uint_max(&r, HV_HEARTBEAT_MS_MAX, &v));
        if (v < HV_HEARTBEAT_MS_MIN)
            return HV_EDECODE;
        out->heartbeat_ms = (uint32_t)v;
        if (out->cmd == HV_CMD_READY) {
            S_TRY(hv_mp_read_uint_max(&r, HV_CONTROL_MAX, &v));
            out->max_message = (uint32_t)v;
        }
        if (replay) {
            /* Alone, present means asked for: 0 is written by omitting the
             * field. Before features it is always there, 0 for none. */
            S_TRY(hv_mp_read_uint_max(&r, HV_REPLAY_SINCE_MAX, &v));
            if (v == 0 && !out->has_features)
                return HV_EDECODE;
            out->replay_since = v;
        }
        if (out->has_features) {
            S_TRY(hv_mp_read_uint_max(&r, HV_FEATURES_MAX, &v));
            out->features = (uint32_t)v;
        }
        break;
    case HV_CMD_BATCH:
        /* Bounded here; each element is read by hv_control_decode when the
         * receiver takes it out (hv_control_parts_next). */
        S_TRY(hv_mp_read_array(&r, &out->n_parts));
        if (out->n_parts > HV_CONTROL_BATCH_MAX)
            return HV_ETOOBIG;
        if (out->n_parts == 0)
            return HV_EDECODE;
        out->parts = r.pos;
        for (uint32_t i = 0; i < out->n_parts; i++) {
            S_TRY(hv_mp_read_bin(&r, HV_CONTROL_BATCH_BYTES, &b, &blen));
            if (blen == 0)
                return HV_EDECODE;
        }
        out->parts_len = (size_t)(r.pos - out->parts);
        break;
    case HV_CMD_DELIVER:
        S_TRY(hv_mp_read_uint_max(&r, UINT32_MAX, &v));
        if (v == 0)
            return HV_EDECODE;
        out->attempt = (uint32_t)v;
        /* The envelope follows as in SEND. */
        __attribute__((fallthrough));
    case HV_CMD_SEND:
        S_TRY(hv_mp_read_bin(&r, HV_ENVELOPE_MAX, &out->envelope, &out->envelope_len));
        if (out->envelope_len == 0)
            return HV_EDECODE;
        break;
    case HV_CMD_STORED:
    case HV_CMD_ACK:
    case HV_CMD_EXPIRED:
    case HV_CMD_NACK:
        S_TRY(hv_mp_read_bin_exact(&r, out->msg_id, HV_MSG_ID_BYTES));
        out->has_msg_id = true;
        if (out->cmd != HV_CMD_NACK)
            break;
        S_TRY(hv_mp_read_uint_max(&r, UINT16_MAX, &v));
        out->code = (uint16_t)v;
        S_TRY(hv_mp_read_cstr(&r, out->text, sizeof out->text));
        break;
    case HV_CMD_CREDIT:
        S_TRY(hv_mp_read_uint_max(&r, HV_CREDIT_MAX, &v));
        out->credit = (uint32_t)v;
        break;
    case HV_CMD_ERROR:
        S_TRY(hv_mp_read_uint_max(&r, UINT16_MAX, &v));
        out->code = (uint16_t)v;
        S_TRY(hv_mp_read_bin(&r, HV_MSG_ID_BYTES, &b, &blen));
        if (blen != 0 && blen != HV_MSG_ID_BYTES)
            return HV_EDECODE;
        out->has_msg_id = blen == HV_MSG_ID_BYTES;
        if (out->has_msg_id)
            memcpy(out->msg_id, b, HV_MSG_ID_BYTES);
        S_TRY(hv_mp_read_cstr(&r, out->text, sizeof out->text));
        break;
    case HV_CMD_PREKEY_PUT:
    case HV_CMD_PREKEY:
        S_TRY(hv_mp_read_bin(&r, HV_CONTROL_BUNDLE_MAX, &out->bundle, &out->bundle_len));
        if (out->bundle_len == 0)
            return HV_EDECODE;
        break;
    case HV_CMD_PREKEY_GET:
        S_TRY(hv_mp_read_cstr(&r, out->node_id, sizeof out->node_id));
        if (out->node_id[0] != '\0' && !hv_node_id_valid_cstr(out->node_id))
            return HV_EDECODE;
        break;
    case HV_CMD_AUDIT_HEAD:
        S_TRY(hv_mp_read_bin(&r, HV_CONTROL_HEAD_MAX, &out->bundle, &out->bundle_len));
        if (out->bundle_len == 0)
            return HV_EDECODE;
        break;
    case HV_CMD_AUDIT_WITNESSED:
        S_TRY(hv_mp_read_uint_max(&r, UINT16_MAX, &v));
        out->code = (uint16_t)v;
        S_TRY(hv_mp_read_bin(&r, HV_CONTROL_HEAD_MAX, &out->bundle, &out->bundle_len));
        break;
    case HV_CMD_HEALTH:
        /* Bounded here; hv_health_decode reads it (PROTOCOL.md §5.3). */
        S_TRY(hv_mp_read_bin(&r, HV_CONTROL_SUMMARY_MAX, &out->summary, &out->summary_len));
        if (out->summary_len == 0)
            return HV_EDECODE;
        break;
    case HV_CMD_NOTICE:
        /* Bounded here; the header is read by hv_envelope_decode_header
         * and the proof checked by the receiving broker (PROTOCOL.md §5.3). */
        S_TRY(hv_mp_read_uint_max(&r, UINT16_MAX, &v));
        if (v == 0)
            return HV_EDECODE; /* a notice is about a failure */
        out->code = (uint16_t)v;
        S_TRY(hv_mp_read_bin(&r, HV_CONTROL_NOTICE_HEADER_MAX, &out->header, &out->header_len));
        if (out->header_len == 0)
            return HV_EDECODE;
        S_TRY(hv_mp_read_bin_exact(&r, out->digest, sizeof out->digest));
        S_TRY(hv_mp_read_bin_exact(&r, out->sig, sizeof out->sig));
        S_TRY(hv_mp_read_cstr(&r, out->text, sizeof out->text));
        break;
    case HV_CMD_PREKEY_REFUSED:
        S_TRY(hv_mp_read_uint_max(&r, UINT16_MAX, &v));
        out->code = (uint16_t)v;
        S_TRY(hv_mp_read_bin(&r, sizeof out->prekey_id, &b, &blen));
        if (blen != 0 && blen != sizeof out->prekey_id)
            return HV_EDECODE;
        out->has_prekey_id = blen == sizeof out->prekey_id;
        if (out->has_prekey_id)
            memcpy(out->prekey_id, b, sizeof out->prekey_id);
        S_TRY(hv_mp_read_cstr(&r, out->text, sizeof out->text));
        break;
    default: /* HEARTBEAT, BYE */
        break;
    }
#undef S_TRY
    return hv_mp_read_end(&r);
}
