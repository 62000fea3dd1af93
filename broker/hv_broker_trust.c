/* The broker's sessions against the registry; see hv_broker_trust.h. */
#include "hv_broker_internal.h"
#include "hv_broker_trust.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_zap.h"

void hv_broker_trust_self(const hv_broker *b, hv_trust_self *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", b->cfg.id);
    const hv_node *self = hv_registry_find(b->reg, b->cfg.id);
    snprintf(out->country, sizeof out->country, "%s", self != NULL ? self->country : "");
    /* The workers' socket serves workers only: operators have their own. */
    out->roles = HV_ROLE_BIT(HV_ROLE_INTAKE) | HV_ROLE_BIT(HV_ROLE_ROUTER) |
                 HV_ROLE_BIT(HV_ROLE_PROVIDER);
    for (size_t i = 0; i < b->links.n && i < HV_TRUST_PEERS_MAX; i++)
        snprintf(out->peers[out->n_peers++], sizeof out->peers[0], "%s", b->links.ids[i]);
}

void hv_broker_trust_serve_zap(hv_broker *b)
{
    hv_trust_self self;
    hv_broker_trust_self(b, &self);
    hv_zap_serve(b->zap, b->reg, (uint64_t)time(NULL), &self);
}

void hv_broker_trust_note_cut(hv_broker *b, const char *node, const char *door,
                              const char *why)
{
    hv_log(HV_LOG_WARN, "session_cut", "node=%s door=%s reason=\"%s\"", node, door, why);
    if (hv_node_id_valid_cstr(node))
        hv_broker_custody_audit(b, NULL, "session_cut", node);
}

void hv_broker_trust_cut(hv_broker *b, hv_session *s, const char *why)
{
    char text[HV_TRUST_WHY_MAX + 16];
    snprintf(text, sizeof text, "session cut: %s", why);
    hv_session_refuse(b, s->sock, s->rid, s->rid_len, HV_EAUTH, NULL, text);
    hv_control bye = {.cmd = HV_CMD_BYE};
    (void)hv_session_send_to(s->sock, s->rid, s->rid_len, &bye);
    hv_broker_trust_note_cut(b, s->node, s->peer ? "peers" : "workers", why);
    hv_session_drop(b, s, why);
}

/* Our link to a peer: a peer gone, revoked or no longer valid keeps the
 * link down; a peer whose transport key changed is connected to again,
 * pinned to the key the registry now gives it. */
static void s_recheck_link(hv_broker *b, hv_session *s, int64_t now)
{
    const hv_node *peer = hv_registry_find(b->reg, s->node);
    if (peer == NULL || !hv_node_active(peer, (uint64_t)time(NULL))) {
        if (s->sock != NULL)
            hv_broker_trust_note_cut(b, s->node, "link", peer == NULL ? "no longer in the registry"
                                                        : peer->revoked ? "revoked"
                                                                        : "not valid now");
        hv_broker_links_down(b, s, now, "peer revoked");
        return;
    }
    if (s->has_key && memcmp(s->key, peer->keys.transport, 32) != 0) {
        hv_broker_trust_note_cut(b, s->node, "link", "key rotated");
        hv_broker_links_down(b, s, now, "peer's key rotated");
    }
}

void hv_broker_trust_recheck(hv_broker *b)
{
    hv_trust_self self;
    hv_broker_trust_self(b, &self);
    uint64_t now = (uint64_t)time(NULL);
    int64_t mono = hv_mono_ms();
    for (size_t i = 0; i < b->n_sessions; i++) {
        hv_session *s = &b->sessions[i];
        if (s->outgoing) {
            s_recheck_link(b, s, mono);
            continue;
        }
        char why[HV_TRUST_WHY_MAX] = "no key recorded";
        if (s->has_key && hv_trust_admit(b->reg, &self, s->peer ? HV_DOOR_PEERS : HV_DOOR_WORKERS,
                                         s->node, s->key, now, NULL, why) == HV_OK)
            continue;
        hv_broker_trust_cut(b, s, why);
        i--; /* the last session moved into this slot */
    }
    hv_broker_ops_recheck(b, &self, now);
    /* The cuts' audit records are durable before anything else happens. */
    hv_broker_custody_commit_and_reply(b, true);
}
