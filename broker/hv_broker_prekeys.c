/* The broker's prekey directory; see hv_broker_prekeys.h and
 * proto/PROTOCOL.md §5.5. */
#include "hv_broker_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_prekey.h"
#include "hv_lograte.h"

struct hv_broker_prekey {
    char node[HV_NODE_ID_MAX + 1];          /* whose */
    uint8_t prekey_id[HV_PREKEY_ID_BYTES];  /* which */
    uint8_t key_id[HV_KEY_ID_BYTES];        /* the long-term key id that signed it */
    uint64_t not_before, not_after;         /* its validity (Unix seconds) */
    uint8_t bytes[HV_PREKEY_BUNDLE_MAX];    /* the signed bundle as received */
    size_t len;                             /* its length */
};

static void s_refuse(hv_broker *b, hv_session *s, hv_err code, const uint8_t *prekey_id,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void s_refuse(hv_broker *b, hv_session *s, hv_err code, const uint8_t *prekey_id,
                     const char *fmt, ...)
{
    hv_control r;
    memset(&r, 0, sizeof r);
    r.cmd = HV_CMD_PREKEY_REFUSED;
    r.code = (uint16_t)code;
    if (prekey_id != NULL) {
        memcpy(r.prekey_id, prekey_id, sizeof r.prekey_id);
        r.has_prekey_id = true;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.text, sizeof r.text, fmt, ap);
    va_end(ap);
    (void)hv_session_send(s, &r);
    b->prekeys.refused++;
    if (hv_lograte_pass("prekey_refused", s->node))
        hv_log(HV_LOG_WARN, "prekey_refused", "from=%s code=%s reason=\"%s\"", s->node,
               hv_errname(code), r.text);
}

/* True while a held bundle may be handed out: still usable, of an active
 * node, and signed by a key set the registry lists for it now (its current
 * or next keys, or its previous ones in their grace: PROTOCOL §7.1). */
static bool s_live(const hv_broker *b, const hv_broker_prekey *p, uint64_t now)
{
    const hv_node *n = hv_registry_find(b->reg, p->node);
    return now < p->not_after && n != NULL && hv_node_active(n, now) &&
           hv_node_keys_by_id(n, p->key_id, now, NULL) != NULL;
}

/* Drops what can no longer be handed out. */
static void s_sweep(hv_broker *b, uint64_t now)
{
    hv_broker_prekeys *d = &b->prekeys;
    for (size_t i = 0; i < d->n;)
        if (!s_live(b, &d->entries[i], now))
            d->entries[i] = d->entries[--d->n];
        else
            i++;
}

/* Keeps `p`; false when it was already held (nothing changes). When the
 * node has its fill, the oldest of its bundles makes room. */
static bool s_keep(hv_broker *b, const hv_broker_prekey *p)
{
    hv_broker_prekeys *d = &b->prekeys;
    size_t count = 0, oldest = SIZE_MAX;
    for (size_t i = 0; i < d->n; i++) {
        hv_broker_prekey *q = &d->entries[i];
        if (strcmp(q->node, p->node) != 0)
            continue;
        if (memcmp(q->prekey_id, p->prekey_id, HV_PREKEY_ID_BYTES) == 0)
            return false;
        count++;
        if (oldest == SIZE_MAX || q->not_before < d->entries[oldest].not_before)
            oldest = i;
    }
    if (count >= HV_PREKEYS_PER_NODE) {
        d->entries[oldest] = *p;
        return true;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        hv_broker_prekey *grown = realloc(d->entries, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        d->entries = grown;
        d->cap = cap;
    }
    d->entries[d->n++] = *p;
    return true;
}

static void s_send_bundle(hv_session *s, unsigned cmd, const hv_broker_prekey *p)
{
    hv_control m;
    memset(&m, 0, sizeof m);
    m.cmd = (uint8_t)cmd;
    m.bundle = p->bytes;
    m.bundle_len = p->len;
    (void)hv_session_send(s, &m);
}

/* A new bundle goes to every connected worker but its own node, and, for a
 * node homed here, to every peer link that is up. */
static void s_push(hv_broker *b, const hv_broker_prekey *p, bool ours)
{
    for (size_t i = 0; i < b->n_sessions; i++) {
        hv_session *s = &b->sessions[i];
        if (!s->ready || s->peer || strcmp(s->node, p->node) == 0)
            continue;
        if (s->outgoing && ours)
            s_send_bundle(s, HV_CMD_PREKEY_PUT, p);
        else if (!s->outgoing)
            s_send_bundle(s, HV_CMD_PREKEY, p);
    }
}

void hv_broker_prekeys_on_put(hv_broker *b, hv_session *s, const hv_control *m)
{
    uint64_t now = (uint64_t)time(NULL);
    hv_prekey_bundle pb;
    hv_err err = hv_prekey_decode(m->bundle, m->bundle_len, &pb);
    if (err != HV_OK) {
        s_refuse(b, s, err, NULL, "the prekey bundle does not decode");
        return;
    }
    if (!s->peer && !hv_session_rate_ok(b, s, hv_mono_ms())) {
        s_refuse(b, s, HV_ERATE, pb.prekey_id, "too many requests; try again later");
        return;
    }
    const hv_node *n = hv_registry_find(b->reg, pb.node);
    if (n == NULL || !hv_node_active(n, now)) {
        s_refuse(b, s, HV_EAUTH, pb.prekey_id, "'%s' is not an active node", pb.node);
        return;
    }
    /* A worker publishes its own bundles at its home broker; a peer only
     * those of nodes homed at that peer. */
    if (s->peer ? strcmp(n->home, s->node) != 0
                : strcmp(pb.node, s->node) != 0 || strcmp(n->home, b->cfg.id) != 0) {
        if (s->peer)
            s_refuse(b, s, HV_EAUTH, pb.prekey_id,
                     "'%s' is not homed at the broker that sent its bundle", pb.node);
        else
            s_refuse(b, s, HV_EAUTH, pb.prekey_id,
                     "a node publishes only its own bundles, at its home broker ('%s')",
                     n->home);
        return;
    }
    if ((err = hv_prekey_verify_node(&pb, n, (uint64_t)time(NULL))) != HV_OK) {
        if (err == HV_EADDRESS)
            s_refuse(b, s, err, pb.prekey_id,
                     "the bundle is not signed under the current key id of '%s'", pb.node);
        else
            s_refuse(b, s, err, pb.prekey_id,
                     "the bundle's signature does not verify with the registered signing "
                     "key of '%s'", pb.node);
        return;
    }
    if (now >= pb.not_after) {
        s_refuse(b, s, HV_EEXPIRED, pb.prekey_id, "the bundle of '%s' is past its not_after",
                 pb.node);
        return;
    }
    hv_broker_prekey p;
    memset(&p, 0, sizeof p);
    snprintf(p.node, sizeof p.node, "%s", pb.node);
    memcpy(p.prekey_id, pb.prekey_id, sizeof p.prekey_id);
    memcpy(p.key_id, pb.key_id, sizeof p.key_id);
    p.not_before = pb.not_before;
    p.not_after = pb.not_after;
    memcpy(p.bytes, m->bundle, m->bundle_len);
    p.len = m->bundle_len;
    s_sweep(b, now);
    bool fresh = s_keep(b, &p);
    /* The confirmation: the directory holds this bundle now. */
    s_send_bundle(s, HV_CMD_PREKEY, &p);
    if (!fresh)
        return;
    b->prekeys.accepted++;
    char hex[2 * HV_PREKEY_ID_BYTES + 1];
    hv_hex(p.prekey_id, sizeof p.prekey_id, hex);
    hv_log(HV_LOG_INFO, "prekey_stored", "node=%s prekey=%s from=%s not_after=%llu", p.node,
           hex, s->node, (unsigned long long)p.not_after);
    s_push(b, &p, !s->peer);
}

void hv_broker_prekeys_on_get(hv_broker *b, hv_session *s, const hv_control *m)
{
    if (s->peer) {
        s_refuse(b, s, HV_EPROTO, NULL, "a peer broker does not ask for bundles");
        return;
    }
    uint64_t now = (uint64_t)time(NULL);
    s_sweep(b, now);
    size_t sent = 0;
    for (size_t i = 0; i < b->prekeys.n; i++) {
        const hv_broker_prekey *p = &b->prekeys.entries[i];
        if ((m->node_id[0] == '\0' && strcmp(p->node, s->node) != 0) ||
            strcmp(p->node, m->node_id) == 0) {
            s_send_bundle(s, HV_CMD_PREKEY, p);
            sent++;
        }
    }
    if (sent == 0 && m->node_id[0] != '\0')
        s_refuse(b, s, HV_ENOTFOUND, NULL, "no prekey bundle is known for '%s'", m->node_id);
}

void hv_broker_prekeys_welcome(hv_broker *b, hv_session *s)
{
    hv_control all;
    memset(&all, 0, sizeof all);
    all.cmd = HV_CMD_PREKEY_GET; /* node_id "": everything but its own */
    hv_broker_prekeys_on_get(b, s, &all);
}

void hv_broker_prekeys_link_up(hv_broker *b, hv_session *link)
{
    uint64_t now = (uint64_t)time(NULL);
    s_sweep(b, now);
    for (size_t i = 0; i < b->prekeys.n; i++) {
        const hv_broker_prekey *p = &b->prekeys.entries[i];
        const hv_node *n = hv_registry_find(b->reg, p->node);
        if (n != NULL && strcmp(n->home, b->cfg.id) == 0)
            s_send_bundle(link, HV_CMD_PREKEY_PUT, p);
    }
}

void hv_broker_prekeys_close(hv_broker *b)
{
    free(b->prekeys.entries);
    b->prekeys.entries = NULL;
    b->prekeys.n = b->prekeys.cap = 0;
}
