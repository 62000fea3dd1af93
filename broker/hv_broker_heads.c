/* The heads of the broker's own audit log; see hv_broker_heads.h. */
#include "hv_broker_internal.h"
#include "hv_broker_heads.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hv_control.h"
#include "hv_db.h"
#include "hv_log.h"
#include "hv_store_heads.h"

hv_err hv_broker_heads_open(hv_broker *b, hv_errmsg *e)
{
    hv_broker_heads *hd = &b->heads;
    uint8_t bytes[HV_AUDIT_HEAD_MAX];
    size_t len = 0;
    hv_err err = hv_store_head_latest(b->custody.store, b->cfg.id, bytes, sizeof bytes, &len);
    if (err == HV_ENOTFOUND)
        return HV_OK;
    if (err != HV_OK || hv_audit_head_decode(bytes, len, &hd->last) != HV_OK)
        return hv_fail(e, HV_ESTORE, "%s: the broker's last audit head cannot be read",
                       b->cfg.store);
    hd->has_last = true;
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s.audit", b->cfg.store);
    return hv_audit_check_start(path, &hd->last, e);
}

/* AUDIT_HEAD with our latest head on one link. */
static void s_send(hv_broker *b, hv_session *link)
{
    uint8_t bytes[HV_AUDIT_HEAD_MAX];
    size_t len = 0;
    if (!b->heads.has_last || !link->ready ||
        hv_audit_head_encode(&b->heads.last, bytes, &len) != HV_OK)
        return;
    hv_control m;
    memset(&m, 0, sizeof m);
    m.cmd = HV_CMD_AUDIT_HEAD;
    m.bundle = bytes;
    m.bundle_len = len;
    (void)hv_session_send(link, &m);
}

void hv_broker_heads_link_up(hv_broker *b, hv_session *link)
{
    s_send(b, link);
    hv_control m;
    memset(&m, 0, sizeof m);
    m.cmd = HV_CMD_AUDIT_HEAD_GET;
    (void)hv_session_send(link, &m);
}

void hv_broker_heads_on_witnessed(hv_broker *b, hv_session *link, const hv_control *m)
{
    hv_audit_head h;
    if (m->bundle_len == 0 || hv_audit_head_decode(m->bundle, m->bundle_len, &h) != HV_OK ||
        strcmp(h.node, b->cfg.id) != 0 ||
        hv_audit_head_verify(&h, hv_keypair_public(b->keys)->sign) != HV_OK) {
        if (m->code != HV_OK && m->code != HV_ENOTFOUND)
            hv_log(HV_LOG_WARN, "peer_refused_audit_head", "node=%s code=%s", link->node,
                   hv_errname(m->code));
        return;
    }
    if (m->code != HV_OK)
        hv_log(HV_LOG_WARN, "peer_refused_audit_head", "node=%s code=%s witnessed_seq=%llu",
               link->node, hv_errname(m->code), (unsigned long long)h.seq);
    /* A head of a file rotated away, behind the head of the new file we
     * signed since (a reply in flight at the rotation): the new file has
     * nothing to check it against, and our own later head was checked. */
    uint64_t tip = 0;
    uint8_t tip_hash[32], tip_file[32];
    if (b->heads.has_last && h.seq < b->heads.last.seq && b->custody.audit != NULL &&
        hv_audit_tip(b->custody.audit, &tip, tip_hash, tip_file) &&
        memcmp(tip_file, h.file_id, 32) != 0 && memcmp(b->heads.last.file_id, tip_file, 32) == 0)
        return;
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s.audit", b->cfg.store);
    hv_errmsg e = {""};
    if (!b->heads.failed && hv_audit_check_start(path, &h, &e) != HV_OK) {
        b->heads.failed = true;
        b->stopping = 1;
        hv_log(HV_LOG_ERROR, "audit_log_mismatch", "path=%s witnessed_by=%s witnessed_seq=%llu "
               "reason=\"%s\"", path, link->node, (unsigned long long)h.seq, e.text);
    }
}

/* Signs the candidate (durable by now) and keeps it. */
static void s_sign(hv_broker *b)
{
    hv_broker_heads *hd = &b->heads;
    hv_audit_head h;
    memset(&h, 0, sizeof h);
    snprintf(h.node, sizeof h.node, "%s", b->cfg.id);
    h.seq = hd->cand_seq;
    memcpy(h.hash, hd->cand_hash, 32);
    memcpy(h.file_id, hd->cand_file, 32);
    h.at_ms = (uint64_t)hv_now_ms();
    hv_audit_head_sign(&h, b->keys);
    uint8_t bytes[HV_AUDIT_HEAD_MAX];
    size_t len = 0;
    hd->cand_seq = 0;
    if (hv_audit_head_encode(&h, bytes, &len) != HV_OK ||
        hv_store_head_put(b->custody.store, b->cfg.id, h.seq, (int64_t)h.at_ms, bytes, len) !=
            HV_OK) {
        hv_log(HV_LOG_ERROR, "audit_failed", "op=head");
        return;
    }
    hv_broker_custody_commit_and_reply(b, true);
    hd->last = h;
    hd->has_last = true;
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].outgoing)
            s_send(b, &b->sessions[i]);
    hv_log(HV_LOG_DEBUG, "audit_head_signed", "node=%s seq=%llu", h.node,
           (unsigned long long)h.seq);
}

/* Takes where the written log stands as the next head, when due. */
static void s_candidate(hv_broker *b, int64_t now, bool force)
{
    hv_broker_heads *hd = &b->heads;
    uint64_t seq = 0;
    uint8_t hash[32], file[32];
    if (hd->cand_seq != 0 || b->custody.audit == NULL ||
        !hv_audit_tip(b->custody.audit, &seq, hash, file))
        return;
    uint64_t signed_seq = hd->has_last ? hd->last.seq : 0;
    if (seq <= signed_seq) {
        hd->unsigned_since = 0;
        return;
    }
    if (hd->unsigned_since == 0)
        hd->unsigned_since = now;
    if (!force && seq - signed_seq < HV_BROKER_HEAD_EVERY &&
        now - hd->unsigned_since < HV_BROKER_HEAD_MS)
        return;
    hd->cand_seq = seq;
    memcpy(hd->cand_hash, hash, 32);
    memcpy(hd->cand_file, file, 32);
    hd->unsigned_since = 0;
}

void hv_broker_heads_tick(hv_broker *b, int64_t now)
{
    hv_broker_heads *hd = &b->heads;
    s_candidate(b, now, false);
    /* Only what the sync thread has made durable is signed. */
    uint64_t synced = 0;
    if (hd->cand_seq != 0 && hv_audit_synced(b->custody.audit, &synced) == HV_OK &&
        synced >= hd->cand_seq)
        s_sign(b);
}

void hv_broker_heads_finish(hv_broker *b)
{
    uint64_t synced = 0;
    b->heads.cand_seq = 0;
    s_candidate(b, hv_mono_ms(), true);
    if (b->heads.cand_seq != 0 && hv_audit_sync(b->custody.audit, &synced) == HV_OK &&
        synced >= b->heads.cand_seq)
        s_sign(b);
}

/* A head of the log as it stands now, synced first: HV_OK or HV_EIO. */
static hv_err s_sign_now(hv_broker *b)
{
    uint64_t synced = 0;
    b->heads.cand_seq = 0;
    s_candidate(b, hv_mono_ms(), true);
    if (b->heads.cand_seq == 0)
        return HV_OK; /* signed already */
    if (hv_audit_sync(b->custody.audit, &synced) != HV_OK || synced < b->heads.cand_seq) {
        b->heads.cand_seq = 0;
        return HV_EIO;
    }
    s_sign(b);
    return b->heads.has_last && b->heads.last.seq == synced ? HV_OK : HV_EIO;
}

void hv_broker_heads_rotate(hv_broker *b)
{
    hv_audit *a = b->custody.audit;
    char old[PATH_MAX + 32] = "";
    uint64_t last = 0;
    uint8_t hash[32], id[32];
    hv_errmsg e = {""};
    hv_err err = HV_OK;
    bool rotated = false;
    if (a == NULL)
        return;
    /* Nothing pending, the sync thread stopped, the old file's head kept. */
    hv_broker_custody_commit_and_reply(b, true);
    hv_audit_sync_stop(a);
    if ((err = s_sign_now(b)) != HV_OK) {
        hv_fail(&e, err, "the log's head could not be signed and kept");
        goto restart;
    }
    (void)hv_audit_tip(a, &last, hash, id);
    if ((err = hv_audit_rotate(a, b->cfg.id, b->cfg.id, old, sizeof old, &e)) != HV_OK)
        goto restart;
    rotated = true;
    if ((err = s_sign_now(b)) != HV_OK)
        hv_fail(&e, err, "the new log's head could not be signed and kept");
restart:
    if (hv_audit_sync_every(a, HV_BROKER_AUDIT_SYNC_MS) != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "op=sync_thread");
    if (rotated)
        hv_log(HV_LOG_INFO, "audit_rotated", "old=%s old_last=%llu new_first=%llu", old,
               (unsigned long long)last, (unsigned long long)(last + 1));
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_rotate_failed", "code=%s reason=\"%s\"", hv_errname(err),
               e.text);
}
