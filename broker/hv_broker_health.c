/* The broker's health summaries for the route view; see hv_broker_health.h
 * and proto/PROTOCOL.md §5.3 ("Health"). One job: say how this broker is
 * to its peers, and keep what they say of themselves and of the brokers
 * beyond them. Nothing here decides anything about an envelope. */
#include "hv_broker_internal.h"

#include <stdlib.h>
#include <string.h>

#include "hv_db.h"
#include "hv_log.h"

/* ------------------------------------------------------------ our own */

struct s_depths {
    hv_health *h;   /* the summary whose links get their queues */
};

static void s_depth_one(void *arg, const char *queue, int64_t count)
{
    hv_health *h = ((struct s_depths *)arg)->h;
    if (queue[0] != '@')
        return;
    for (uint32_t i = 0; i < h->n_links; i++)
        if (strcmp(h->links[i].peer, queue + 1) == 0)
            h->links[i].queued = count > 0 ? (uint64_t)count : 0;
}

static uint32_t s_mps(double per_second)
{
    double v = per_second * 1000.0 + 0.5;
    return v <= 0 ? 0 : v >= HV_HEALTH_RATE_MAX ? HV_HEALTH_RATE_MAX : (uint32_t)v;
}

/* This broker's summary now, from the operators' numbers. */
static void s_own(hv_broker *b, hv_health *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->broker, sizeof h->broker, "%s", b->cfg.id);
    h->made_ms = (uint64_t)hv_now_ms();
    h->registry_version = hv_registry_version(b->reg);
    double rates[3], span;
    hv_broker_ops_rates(b, rates, &span);
    h->stored_mps = s_mps(rates[0]);
    h->delivered_mps = s_mps(rates[1]);
    h->acked_mps = s_mps(rates[2]);
    hv_store_stats st = {0, 0, 0, 0};
    if (hv_broker_custody_stats(b, &st) != HV_OK)
        hv_broker_store_failed(b, "op=health");
    h->queued = st.queued > 0 ? (uint64_t)st.queued : 0;
    h->dead = st.dead > 0 ? (uint64_t)st.dead : 0;
    for (size_t p = 0; p < b->links.n && p < HV_PEERS_MAX && p < HV_HEALTH_LINKS_MAX; p++) {
        const struct hv_ops_peer_state *ps = &b->ops.peer_state[p];
        hv_health_link *l = &h->links[h->n_links++];
        snprintf(l->peer, sizeof l->peer, "%s", b->links.ids[p]);
        l->out_up = ps->out_up;
        l->in_up = ps->in_up;
        l->out_since_ms = ps->out_since_ms > 0 ? (uint64_t)ps->out_since_ms : 0;
        l->in_since_ms = ps->in_since_ms > 0 ? (uint64_t)ps->in_since_ms : 0;
    }
    struct s_depths d = {h};
    if (hv_broker_custody_depths(b, s_depth_one, &d) != HV_OK)
        hv_broker_store_failed(b, "op=health_depths");
}

/* Sends summary `h` on link `s` as HEALTH. */
static void s_send(hv_session *s, const hv_health *h)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (hv_health_encode(h, &buf, &len) != HV_OK) {
        hv_log(HV_LOG_ERROR, "encode_failed", "what=health broker=%s", h->broker);
        return;
    }
    hv_control m = {.cmd = HV_CMD_HEALTH, .summary = buf, .summary_len = len};
    (void)hv_session_send(s, &m); /* a lost one is made again next round */
    free(buf);
}

static bool s_fresh(const struct hv_health_held *k, int64_t wall)
{
    return wall - k->received_ms <= HV_HEALTH_STALE_MS;
}

void hv_broker_health_tick(hv_broker *b, int64_t now)
{
    hv_broker_health *hs = &b->health;
    if (b->links.n == 0 || now < hs->next_send)
        return;
    hs->next_send = now + HV_HEALTH_INTERVAL_MS;
    hv_health *own = malloc(sizeof *own);
    if (own == NULL)
        return;
    s_own(b, own);
    int64_t wall = hv_now_ms();
    for (size_t i = 0; i < b->n_sessions; i++) {
        hv_session *s = &b->sessions[i];
        if (!s->outgoing || !s->ready)
            continue;
        s_send(s, own);
        /* Relayed: what we heard from others, never back to its maker
         * nor to the peer it came through. */
        for (size_t k = 0; k < hs->n_held; k++)
            if (s_fresh(&hs->held[k], wall) && strcmp(hs->held[k].h.broker, s->node) != 0 &&
                strcmp(hs->held[k].via, s->node) != 0)
                s_send(s, &hs->held[k].h);
    }
    free(own);
}

/* ------------------------------------------------------------ theirs */

void hv_broker_health_on(hv_broker *b, hv_session *s, const hv_control *m)
{
    hv_broker_health *hs = &b->health;
    hv_health *h = malloc(sizeof *h);
    if (h == NULL)
        return;
    hv_err err = hv_health_decode(m->summary, m->summary_len, h);
    const hv_node *n = err == HV_OK ? hv_registry_find(b->reg, h->broker) : NULL;
    const char *why = err != HV_OK                          ? hv_errname(err)
                      : strcmp(h->broker, b->cfg.id) == 0    ? "about this broker"
                      : n == NULL || n->role != HV_ROLE_BROKER ? "not a broker of the registry"
                                                               : NULL;
    size_t k = 0;
    while (why == NULL && k < hs->n_held && strcmp(hs->held[k].h.broker, h->broker) != 0)
        k++;
    if (why == NULL && k == hs->n_held && hs->n_held == HV_HEALTH_HELD_MAX)
        why = "too many brokers";
    if (why != NULL) {
        hs->refused++;
        hv_log(HV_LOG_WARN, "health_refused", "peer=%s reason=\"%s\"", s->node, why);
        free(h);
        return;
    }
    struct hv_health_held *held = &hs->held[k];
    if (k == hs->n_held) {
        hs->n_held++;
        hv_log(HV_LOG_INFO, "health_first", "broker=%s via=%s", h->broker, s->node);
    }
    /* The first one heard of that broker, whenever it was made; then only
     * a newer one. */
    if (held->received_ms == 0 || h->made_ms > held->h.made_ms) {
        held->h = *h;
        held->received_ms = hv_now_ms();
        snprintf(held->via, sizeof held->via, "%s", s->node);
    }
    free(h);
}

/* ------------------------------------------------------------ for operators */

static json_t *s_summary_json(const hv_health *h)
{
    json_t *links = json_array();
    for (uint32_t i = 0; i < h->n_links; i++) {
        const hv_health_link *l = &h->links[i];
        json_array_append_new(links, json_pack("{s:s, s:b, s:b, s:I, s:I, s:I}", "peer", l->peer,
                                               "out_up", l->out_up, "in_up", l->in_up,
                                               "out_since_ms", (json_int_t)l->out_since_ms,
                                               "in_since_ms", (json_int_t)l->in_since_ms,
                                               "queued", (json_int_t)l->queued));
    }
    return json_pack("{s:s, s:I, s:I, s:{s:f, s:f, s:f}, s:I, s:I, s:o}", "broker", h->broker,
                     "made_ms", (json_int_t)h->made_ms, "registry_version",
                     (json_int_t)h->registry_version, "rates_per_s", "stored",
                     h->stored_mps / 1000.0, "delivered", h->delivered_mps / 1000.0, "acked",
                     h->acked_mps / 1000.0, "queued", (json_int_t)h->queued, "dead",
                     (json_int_t)h->dead, "links", links);
}

json_t *hv_broker_health_route_json(hv_broker *b)
{
    const hv_broker_health *hs = &b->health;
    int64_t wall = hv_now_ms();
    json_t *brokers = json_array();
    hv_health *own = malloc(sizeof *own);
    if (own != NULL) {
        s_own(b, own);
        json_t *me = s_summary_json(own);
        json_object_set_new(me, "state", json_string("self"));
        json_object_set_new(me, "received_ms", json_integer((json_int_t)wall));
        json_array_append_new(brokers, me);
        free(own);
    }
    for (size_t k = 0; k < hs->n_held; k++) {
        const struct hv_health_held *held = &hs->held[k];
        const hv_node *n = hv_registry_find(b->reg, held->h.broker);
        if (n == NULL || n->role != HV_ROLE_BROKER)
            continue; /* no longer in the registry: no longer on the route */
        json_t *o = s_summary_json(&held->h);
        json_object_set_new(o, "state", json_string(s_fresh(held, wall) ? "up" : "unknown"));
        json_object_set_new(o, "received_ms", json_integer((json_int_t)held->received_ms));
        json_object_set_new(o, "via", json_string(held->via));
        json_array_append_new(brokers, o);
    }
    return json_pack("{s:I, s:I, s:I, s:o}", "interval_ms", (json_int_t)HV_HEALTH_INTERVAL_MS,
                     "stale_after_ms", (json_int_t)HV_HEALTH_STALE_MS, "refused",
                     (json_int_t)hs->refused, "brokers", brokers);
}
