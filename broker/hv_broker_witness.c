/* The broker as a witness of audit logs; see hv_broker_witness.h. */
#include "hv_broker_internal.h"
#include "hv_broker_witness.h"

#include <stdio.h>
#include <string.h>

#include "hv_audit_head.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_store_heads.h"

/* AUDIT_WITNESSED with `code` and the node's latest head (if any). */
static void s_answer(hv_broker *b, hv_session *s, hv_err code)
{
    uint8_t head[HV_AUDIT_HEAD_MAX];
    size_t len = 0;
    hv_err err = hv_store_head_latest(b->custody.store, s->node, head, sizeof head, &len);
    hv_control r;
    memset(&r, 0, sizeof r);
    r.cmd = HV_CMD_AUDIT_WITNESSED;
    r.code = (uint16_t)(code != HV_OK ? code : err);
    r.bundle = err == HV_OK ? head : NULL;
    r.bundle_len = err == HV_OK ? len : 0;
    (void)hv_session_send(s, &r);
}

static void s_refuse(hv_broker *b, hv_session *s, hv_err code, const hv_audit_head *h,
                     const char *why)
{
    hv_log(HV_LOG_WARN, "audit_head_refused", "from=%s seq=%llu code=%s reason=\"%s\"", s->node,
           (unsigned long long)(h ? h->seq : 0), hv_errname(code), why);
    s_answer(b, s, code);
}

void hv_broker_witness_on_head(hv_broker *b, hv_session *s, const hv_control *m)
{
    hv_audit_head h, held;
    if (hv_audit_head_decode(m->bundle, m->bundle_len, &h) != HV_OK) {
        s_refuse(b, s, HV_EDECODE, NULL, "the audit head does not decode");
        return;
    }
    if (!s->peer && !hv_session_rate_ok(b, s, hv_mono_ms())) {
        s_refuse(b, s, HV_ERATE, &h, "too many requests; try again later");
        return;
    }
    /* A node hands over its own heads only (a peer broker its own). */
    if (strcmp(h.node, s->node) != 0) {
        s_refuse(b, s, HV_EAUTH, &h, "a node hands over only its own audit heads");
        return;
    }
    hv_err err = hv_audit_head_verify_registry(&h, b->reg);
    if (err != HV_OK) {
        s_refuse(b, s, HV_ECRYPTO, &h, "the head is not signed by a key set the registry "
                 "lists for the node");
        return;
    }
    uint8_t bytes[HV_AUDIT_HEAD_MAX];
    size_t len = 0;
    err = hv_store_head_latest(b->custody.store, s->node, bytes, sizeof bytes, &len);
    if (err == HV_ESTORE) {
        s_refuse(b, s, HV_ESTORE, &h, "the store cannot be read");
        return;
    }
    if (err == HV_OK && hv_audit_head_decode(bytes, len, &held) == HV_OK) {
        /* A log only grows: a head behind or beside the one held is a
         * log cut or rewritten (or an old head replayed). Another file
         * goes on only further on: the node rotated its log, and the new
         * file's first record names the old one (checked by the node and
         * by `haven audit verify OLD NEW`). */
        bool other_file = memcmp(held.file_id, h.file_id, 32) != 0;
        if (h.seq < held.seq || (h.seq == held.seq && (other_file ||
                                                       memcmp(held.hash, h.hash, 32) != 0))) {
            char why[160];
            snprintf(why, sizeof why, "the head of record %llu does not continue the head "
                     "witnessed at record %llu", (unsigned long long)h.seq,
                     (unsigned long long)held.seq);
            s_refuse(b, s, HV_ECRYPTO, &h, why);
            return;
        }
        if (h.seq == held.seq) { /* handed over again: already witnessed */
            s_answer(b, s, HV_OK);
            return;
        }
    }
    if (hv_store_head_put(b->custody.store, s->node, h.seq, (int64_t)h.at_ms, m->bundle,
                          m->bundle_len) != HV_OK) {
        s_refuse(b, s, HV_ESTORE, &h, "the store cannot keep the head");
        return;
    }
    hv_broker_custody_commit_and_reply(b, true);
    hv_log(HV_LOG_INFO, "audit_head_witnessed", "node=%s seq=%llu", s->node,
           (unsigned long long)h.seq);
    s_answer(b, s, HV_OK);
}

void hv_broker_witness_on_get(hv_broker *b, hv_session *s)
{
    if (!s->peer && !hv_session_rate_ok(b, s, hv_mono_ms())) {
        s_refuse(b, s, HV_ERATE, NULL, "too many requests; try again later");
        return;
    }
    s_answer(b, s, HV_OK);
}
