/* Notices across borders; see hv_broker_notice.h and PROTOCOL.md §5.3.
 *
 * Issue 21: the notice of a referral that expired abroad was routed back
 * by its message id through the origin's dedup window, whose row expires
 * with the message's time to live, at the very time the message expires
 * abroad; the origin had usually pruned it, and dropped the notice. A
 * NOTICE names its sender by the envelope's own signed header instead. */
#include "hv_broker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_log.h"
#include "hv_lograte.h"

hv_err hv_broker_notice_send(hv_broker *b, hv_session *s, const uint8_t id[16], unsigned code,
                             const char *reason)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_err err = hv_store_dead_envelope(b->custody.store, id, &buf, &len);
    if (err != HV_OK)
        return err;
    hv_envelope env;
    hv_control m;
    memset(&m, 0, sizeof m);
    if (hv_envelope_decode(buf, len, &env) != HV_OK) {
        err = HV_ENOTFOUND; /* stored by an older version? the plain notice then */
        goto done;
    }
    m.cmd = HV_CMD_NOTICE;
    m.code = (uint16_t)(code != 0 ? code : HV_EEXPIRED);
    m.header = env.header;
    m.header_len = env.header_len;
    hv_body_digest(env.body, env.body_len, m.digest);
    memcpy(m.sig, env.sig, sizeof m.sig);
    /* The reason is ours (hv_broker_delivery.c, hv_store.c): cut at a
     * character boundary to the field's limit, never refused. */
    size_t n = strlen(reason ? reason : "");
    if (n > HV_CONTROL_TEXT_MAX) {
        n = HV_CONTROL_TEXT_MAX;
        while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(m.text, reason ? reason : "", n);
    m.text[n] = '\0';
    err = hv_session_send(s, &m);
done:
    free(buf);
    return err;
}

hv_err hv_broker_notice_refused(hv_broker *b, hv_session *s, const uint8_t id[16], bool *dropped)
{
    *dropped = false;
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_err err = hv_store_dead_envelope(b->custody.store, id, &buf, &len);
    if (err == HV_ENOTFOUND || err == HV_ENOMEM)
        return HV_OK; /* no dead letter of ours to speak of */
    if (err != HV_OK)
        return err;
    hv_envelope env;
    const hv_node *sender = NULL;
    if (hv_envelope_decode(buf, len, &env) == HV_OK)
        sender = hv_registry_find(b->reg, env.from);
    if (sender != NULL && strcmp(sender->home, s->node) == 0)
        err = hv_store_notice_done(b->custody.store, env.from, id, dropped);
    free(buf);
    return err;
}

/* Refuses `m` on `s` for good, saying why, in the log and to the peer. */
static void s_refuse(hv_broker *b, hv_session *s, const uint8_t *id, hv_err code,
                     const char *text)
{
    char idhex[33] = "-";
    if (id != NULL)
        hv_hex(id, 16, idhex);
    if (hv_lograte_pass("notice_refused", s->node))
        hv_log(HV_LOG_WARN, "notice_refused", "peer=%s id=%s code=%s reason=\"%s\"", s->node,
               idhex, hv_errname(code), text);
    hv_session_refuse(b, s->sock, s->rid, s->rid_len, code, id, text);
}

void hv_broker_notice_on(hv_broker *b, hv_session *s, const hv_control *m)
{
    hv_envelope env;
    char text[HV_CONTROL_TEXT_MAX + 1];
    if (hv_envelope_decode_header(m->header, m->header_len, &env) != HV_OK) {
        s_refuse(b, s, NULL, HV_EDECODE, "the notice's header does not decode");
        return;
    }
    uint64_t now = (uint64_t)time(NULL);
    const hv_node *sender = hv_registry_find(b->reg, env.from);
    const hv_node *rcpt = hv_registry_find(b->reg, env.to);
    /* What a peer may claim: that a message one of our nodes sent to one
     * of its nodes did not reach it. Not a message to anyone else (it
     * never held one: there is no transit through a third broker), not a
     * message from anyone but our own nodes. */
    if (sender == NULL || strcmp(sender->home, b->cfg.id) != 0) {
        snprintf(text, sizeof text, "'%s' is not a node of %s", env.from, b->cfg.id);
        s_refuse(b, s, env.id, HV_EUNROUTABLE, text);
        return;
    }
    if (rcpt == NULL || strcmp(rcpt->home, s->node) != 0) {
        snprintf(text, sizeof text, "%s may report only on messages to its own nodes, not to '%s'",
                 s->node, env.to);
        s_refuse(b, s, env.id, HV_EFORBIDDEN, text);
        return;
    }
    /* Whose message it is, the sender's signature proves: a broker cannot
     * make one (PROTOCOL.md §4, evidence without the body). */
    const hv_pubkeys *keys = hv_node_keys_by_id(sender, env.from_kid, now, NULL);
    if (keys == NULL) {
        snprintf(text, sizeof text, "from_kid is not a key id the registry lists for '%s' now",
                 env.from);
        s_refuse(b, s, env.id, HV_EAUTH, text);
        return;
    }
    if (hv_seal_verify_digest(keys->sign, m->header, m->header_len, m->digest, m->sig) != HV_OK) {
        snprintf(text, sizeof text, "the notice's proof does not verify: not a message '%s' "
                 "signed", env.from);
        s_refuse(b, s, env.id, HV_ECRYPTO, text);
        return;
    }
    /* While the dedup window still knows the id, it must agree. */
    char known[HV_NODE_ID_MAX + 1];
    bool found = false;
    if (hv_broker_store_ok(b) &&
        hv_store_dedup_sender(b->custody.store, env.id, known, &found) != HV_OK) {
        hv_broker_store_failed(b, "op=notice peer=%s", s->node);
        return; /* no STORED: the peer reports it again */
    }
    if (found && strcmp(known, env.from) != 0) {
        snprintf(text, sizeof text, "message id was taken in from '%s', not '%s'", known,
                 env.from);
        s_refuse(b, s, env.id, HV_EAUTH, text);
        return;
    }
    char reason[HV_CONTROL_TEXT_MAX + HV_NODE_ID_MAX + 8];
    snprintf(reason, sizeof reason, "at %s: %s", s->node, m->text);
    char idhex[33];
    hv_hex(env.id, 16, idhex);
    hv_log(HV_LOG_INFO, "notice_in", "peer=%s id=%s sender=%s code=%s dedup=%s", s->node, idhex,
           env.from, hv_errname(m->code), found ? "known" : "pruned");
    hv_broker_custody_peer_notice_for(b, s, env.id, env.from, m->code, reason);
}
