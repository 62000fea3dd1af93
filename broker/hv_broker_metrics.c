/* The broker's metrics: one job, the numbers operators read. It owns the
 * measuring part of hv_broker_ops (the ack latency histogram, the flows
 * between countries, the per-second samples behind the recent rates),
 * builds the stats snapshot (`haven stats`, /api/stats) and its
 * Prometheus text (/metrics), and hands both to the HTTP thread twice a
 * second.
 *
 * Custody's numbers come only through hv_broker_custody.h's "For
 * operators" calls (counters, store totals, queue depths); custody reports
 * latencies and flows through hv_broker_ops_acked and
 * hv_broker_ops_stored. A metric renamed or added here touches no custody
 * code. The families and their names are listed in docs/OPERATIONS.md
 * ("Metrics"); tests/cli/check_metrics.py holds them to Prometheus's
 * conventions. */
#include "hv_broker_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_prom.h"

#define S_PUBLISH_MS 500          /* HTTP snapshots twice a second */

static const double s_lat_le[HV_OPS_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    5};

/* ----------------------------------------------------------- observation */

void hv_broker_ops_acked(hv_broker *b, bool nack, unsigned code, const char *to_cc, int64_t ms)
{
    hv_broker_ops *o = &b->ops;
    hv_broker_event(b, nack ? "nacked" : "acked", 0, NULL, to_cc, 0, ms, code);
    double sec = (double)ms / 1000.0;
    size_t k = 0;
    while (k < HV_OPS_LAT_BUCKETS && sec > s_lat_le[k])
        k++;
    o->latency_buckets[k]++;
    o->latency_sum_s += sec;
    o->latency_count++;
}

void hv_broker_ops_stored(hv_broker *b, unsigned type, const char *from_cc, const char *to_cc,
                          uint32_t bytes)
{
    hv_broker_ops *o = &b->ops;
    hv_broker_event(b, "stored", type, from_cc, to_cc, bytes, -1, 0);
    size_t f = 0;
    while (f < o->n_flows &&
           (strcmp(o->flows[f].from, from_cc) != 0 || strcmp(o->flows[f].to, to_cc) != 0))
        f++;
    if (f == o->n_flows && f < HV_OPS_FLOWS_MAX) {
        memcpy(o->flows[f].from, from_cc, 3);
        memcpy(o->flows[f].to, to_cc, 3);
        o->n_flows++;
    }
    if (f < o->n_flows)
        o->flows[f].count++;
}

/* Our link to peer `id` (NULL when it has none) and whether the peer's
 * link to us is up. */
static const hv_session *s_peer_links(const hv_broker *b, const char *id, bool *in_up)
{
    const hv_session *out = NULL;
    *in_up = false;
    for (size_t i = 0; i < b->n_sessions; i++) {
        const hv_session *s = &b->sessions[i];
        if (strcmp(s->node, id) != 0)
            continue;
        if (s->outgoing)
            out = s;
        if (s->peer && s->ready)
            *in_up = true;
    }
    return out;
}

/* Each link's state and when it last changed: an outgoing link that is up
 * since its session's up_since, any other change since it was seen here
 * (within one pass of the loop). */
static void s_peer_track(hv_broker *b)
{
    hv_broker_ops *o = &b->ops;
    int64_t wall = hv_now_ms();
    for (size_t p = 0; p < b->links.n && p < HV_PEERS_MAX; p++) {
        struct hv_ops_peer_state *ps = &o->peer_state[p];
        bool in_up;
        const hv_session *out = s_peer_links(b, b->links.ids[p], &in_up);
        bool out_up = out != NULL && out->ready;
        if (ps->out_since_ms == 0 || out_up != ps->out_up)
            ps->out_since_ms = out_up && out->up_since > 0 ? out->up_since
                               : ps->out_since_ms == 0     ? o->started_ms
                                                           : wall;
        if (ps->in_since_ms == 0 || in_up != ps->in_up)
            ps->in_since_ms = ps->in_since_ms == 0 ? o->started_ms : wall;
        ps->out_up = out_up;
        ps->in_up = in_up;
    }
}

void hv_broker_ops_rate_sample(hv_broker *b, int64_t now)
{
    hv_broker_ops *o = &b->ops;
    s_peer_track(b);
    hv_broker_dash_sample(b, now);
    if (now < o->next_rate_sample)
        return;
    o->next_rate_sample = now + 1000;
    hv_broker_counters c = hv_broker_custody_counters(b);
    struct hv_ops_rate_sample *r = &o->rate_ring[o->rate_next];
    o->rate_next = (o->rate_next + 1) % HV_OPS_RATE_SAMPLES;
    r->at = now;
    r->stored = c.stored;
    r->delivered = c.delivered;
    r->acked = c.acked;
}

void hv_broker_ops_rates(const hv_broker *b, double rates[3], double *span_s)
{
    const hv_broker_ops *o = &b->ops;
    const struct hv_ops_rate_sample *newest = NULL, *oldest = NULL;
    for (size_t i = 0; i < HV_OPS_RATE_SAMPLES; i++) {
        const struct hv_ops_rate_sample *r = &o->rate_ring[i];
        if (r->at == 0)
            continue;
        if (newest == NULL || r->at > newest->at)
            newest = r;
        if (oldest == NULL || r->at < oldest->at)
            oldest = r;
    }
    double span = newest && oldest && newest->at > oldest->at
                      ? (double)(newest->at - oldest->at) / 1000.0
                      : 0.0;
    *span_s = span;
    rates[0] = span > 0 ? (double)(newest->stored - oldest->stored) / span : 0.0;
    rates[1] = span > 0 ? (double)(newest->delivered - oldest->delivered) / span : 0.0;
    rates[2] = span > 0 ? (double)(newest->acked - oldest->acked) / span : 0.0;
}

double hv_broker_ops_percentile(const uint64_t *buckets, uint64_t count, double q)
{
    if (count == 0)
        return -1;
    uint64_t want = (uint64_t)((double)count * q + 0.999999);
    uint64_t seen = 0;
    size_t i = 0;
    while (i < HV_OPS_LAT_BUCKETS && (seen += buckets[i]) < want)
        i++;
    return i < HV_OPS_LAT_BUCKETS ? s_lat_le[i] * 1000.0 : -1;
}

/* -------------------------------------------------------------- snapshot */

static void s_depth_one(void *arg, const char *queue, int64_t count)
{
    json_object_set_new((json_t *)arg, queue, json_integer(count));
}

json_t *hv_broker_ops_stats_json(hv_broker *b)
{
    const hv_broker_ops *o = &b->ops;
    hv_store_stats st = {0, 0, 0, 0};
    json_t *depths = json_object(), *sessions = json_array(), *peers = json_array();
    if (hv_broker_custody_stats(b, &st) != HV_OK ||
        hv_broker_custody_depths(b, s_depth_one, depths) != HV_OK)
        hv_broker_store_failed(b, "op=stats");
    for (size_t i = 0; i < b->n_sessions; i++) {
        const hv_session *s = &b->sessions[i];
        if (s->outgoing || s->peer)
            continue;
        const hv_node *n = hv_registry_find(b->reg, s->node);
        json_array_append_new(sessions,
                              json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "node", s->node,
                                        "role", hv_role_name(s->role) ? hv_role_name(s->role) : "",
                                        "country", n ? n->country : "", "ready", s->ready,
                                        "in_flight", (json_int_t)s->n_flight, "window",
                                        (json_int_t)s->window, "up_since_ms",
                                        (json_int_t)s->up_since));
    }
    for (size_t p = 0; p < b->links.n; p++) {
        const char *id = b->links.ids[p];
        char key[HV_NODE_ID_MAX + 2];
        snprintf(key, sizeof key, "@%s", id);
        bool in_up;
        const hv_session *out = s_peer_links(b, id, &in_up);
        const hv_node *n = hv_registry_find(b->reg, id);
        json_t *q = json_object_get(depths, key);
        const struct hv_ops_peer_state *ps = p < HV_PEERS_MAX ? &o->peer_state[p] : NULL;
        json_array_append_new(peers, json_pack(
            "{s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I}", "node", id, "country",
            n ? n->country : "", "out_up", out != NULL && out->ready, "in_up", in_up, "queued",
            (json_int_t)(q ? json_integer_value(q) : 0), "in_flight",
            (json_int_t)(out ? out->n_flight : 0), "up_since_ms",
            (json_int_t)(out && out->ready ? out->up_since : 0), "out_since_ms",
            (json_int_t)(ps ? ps->out_since_ms : 0), "in_since_ms",
            (json_int_t)(ps ? ps->in_since_ms : 0)));
    }
    hv_broker_counters c = hv_broker_custody_counters(b);
    json_t *out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, "
                     "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}",
                     "broker", b->cfg.id, "country", hv_registry_find(b->reg, b->cfg.id)->country,
                     "registry_version", (json_int_t)hv_registry_version(b->reg), "started_ms",
                     (json_int_t)o->started_ms, "now_ms", (json_int_t)hv_now_ms(), "store",
                     "queued", (json_int_t)st.queued, "dead_letters", (json_int_t)st.dead,
                     "notices", (json_int_t)st.notices, "retained", (json_int_t)st.retained,
                     "counters", "stored",
                     (json_int_t)c.stored, "commits", (json_int_t)c.commits, "delivered",
                     (json_int_t)c.delivered, "acked", (json_int_t)c.acked, "forwarded",
                     (json_int_t)c.forwarded, "refused", (json_int_t)b->n_refused,
                     "redelivered", (json_int_t)c.redelivered, "expired",
                     (json_int_t)c.expired, "replayed", (json_int_t)c.replayed, "pruned",
                     (json_int_t)c.pruned, "forgotten", (json_int_t)c.forgotten,
                     "queues", depths, "sessions", sessions, "peers",
                     peers);
    if (out == NULL)
        return NULL;
    /* The registry's expiry, which stops the whole network (issue 19). */
    json_object_set_new(out, "registry_expires_at",
                        json_integer((json_int_t)hv_registry_expires_at(b->reg)));
    json_object_set_new(out, "registry_expiry_seconds",
                        json_integer((json_int_t)hv_registry_seconds_left(
                            b->reg, (uint64_t)time(NULL))));
    /* Recent rates, over the per-second samples. */
    double rates[3], span;
    hv_broker_ops_rates(b, rates, &span);
    json_object_set_new(out, "rates_per_s",
                        json_pack("{s:f, s:f, s:f, s:f}", "window_s", span, "stored", rates[0],
                                  "delivered", rates[1], "acked", rates[2]));
    /* Latency percentiles from the histogram: the upper bound of the
     * bucket that holds the percentile (so "at most"). */
    json_t *pct = json_object();
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        double ms = hv_broker_ops_percentile(o->latency_buckets, o->latency_count, qs[k].q);
        json_object_set_new(pct, qs[k].name, ms < 0 ? json_null() : json_real(ms));
    }
    json_object_set_new(out, "ack_latency_ms_at_most", pct);
    return out;
}

/* ------------------------------------------------------------ Prometheus */

/* Labels for one sample: the broker's id, then up to two more pairs. */
#define S_L(...) ((const char *const[]){"broker", id, __VA_ARGS__})

struct s_ages {
    hv_prom *p;     /* the text */
    const char *id; /* the broker */
    int64_t now_ms; /* wall clock */
};

static void s_age_one(void *arg, const char *queue, int64_t count, int64_t oldest_ms)
{
    (void)count;
    struct s_ages *a = arg;
    const char *id = a->id;
    double age = a->now_ms > oldest_ms ? (double)(a->now_ms - oldest_ms) / 1000.0 : 0.0;
    hv_prom_sample(a->p, "haven_queue_oldest_age_seconds", S_L("queue", queue), 2, age);
}

static void s_reason_one(void *arg, unsigned code, int64_t count)
{
    struct s_ages *a = arg;
    const char *id = a->id;
    hv_prom_sample(a->p, "haven_dead_letters_by_reason", S_L("reason", hv_errname(code)), 2,
                   (double)count);
}

/* The Prometheus text exposition of the snapshot in `st` (from
 * hv_broker_ops_stats_json), the store's queue ages and dead letters by
 * reason, and the broker's own histogram and flows. Families keep their
 * label sets whatever happens (a peer's series are there while it is
 * configured, every role's session count even at 0). */
static char *s_metrics_text(hv_broker *b, json_t *st)
{
    const hv_broker_ops *o = &b->ops;
    hv_prom p = {0};
    const char *id = b->cfg.id;
    hv_broker_counters c = hv_broker_custody_counters(b);
    static const struct {
        const char *event;
        size_t off;
    } events[] = {
        {"stored", offsetof(hv_broker_counters, stored)},
        {"delivered", offsetof(hv_broker_counters, delivered)},
        {"acked", offsetof(hv_broker_counters, acked)},
        {"forwarded", offsetof(hv_broker_counters, forwarded)},
        {"redelivered", offsetof(hv_broker_counters, redelivered)},
        {"expired", offsetof(hv_broker_counters, expired)},
        {"replayed", offsetof(hv_broker_counters, replayed)},
        {"pruned", offsetof(hv_broker_counters, pruned)},
        {"forgotten", offsetof(hv_broker_counters, forgotten)},
    };
    hv_prom_family(&p, "haven_messages_total", "counter",
                   "Envelopes by what happened to them at this broker (refused: ERRORs sent).");
    for (size_t k = 0; k < sizeof events / sizeof events[0]; k++) {
        uint64_t v;
        memcpy(&v, (const char *)&c + events[k].off, sizeof v);
        hv_prom_sample(&p, "haven_messages_total", S_L("event", events[k].event), 2, (double)v);
    }
    hv_prom_sample(&p, "haven_messages_total", S_L("event", "refused"), 2,
                   (double)b->n_refused);
    hv_prom_family(&p, "haven_commits_total", "counter",
                   "Group commits of the store that carried SENDs.");
    hv_prom_sample(&p, "haven_commits_total", S_L(NULL, NULL), 1, (double)c.commits);
    const hv_broker_fault *fault = hv_broker_custody_fault(b);
    hv_prom_family(&p, "haven_store_failed", "gauge",
                   "1 while the store refuses work (disk full, damaged, I/O error): see /healthz.");
    hv_prom_sample(&p, "haven_store_failed", S_L(NULL, NULL), 1,
                   fault->kind != HV_DB_FAULT_NONE ? 1.0 : 0.0);
    hv_prom_family(&p, "haven_store_failures_total", "counter",
                   "Store calls that failed since the broker started.");
    hv_prom_sample(&p, "haven_store_failures_total", S_L(NULL, NULL), 1, (double)fault->failures);
    hv_prom_family(&p, "haven_audit_sync_failures_total", "counter",
                   "Checks of the audit log's fdatasync that failed (copies stay in the store).");
    hv_prom_sample(&p, "haven_audit_sync_failures_total", S_L(NULL, NULL), 1,
                   (double)c.audit_sync_failures);

    const char *key;
    json_t *v;
    hv_prom_family(&p, "haven_queue_depth", "gauge",
                   "Envelopes waiting, by queue (a node, or @broker for a peer).");
    json_object_foreach(json_object_get(st, "queues"), key, v)
        hv_prom_sample(&p, "haven_queue_depth", S_L("queue", key), 2,
                       (double)json_integer_value(v));
    hv_prom_family(&p, "haven_queue_oldest_age_seconds", "gauge",
                   "Seconds since the oldest envelope waiting in each queue was stored.");
    struct s_ages ages = {&p, id, hv_now_ms()};
    if (hv_broker_custody_queue_ages(b, s_age_one, &ages) != HV_OK)
        hv_broker_store_failed(b, "op=queue_ages");
    json_t *store = json_object_get(st, "store");
    hv_prom_family(&p, "haven_queued", "gauge", "Envelopes waiting in all.");
    hv_prom_sample(&p, "haven_queued", S_L(NULL, NULL), 1,
                   (double)json_integer_value(json_object_get(store, "queued")));
    hv_prom_family(&p, "haven_dead_letters", "gauge", "Dead letters held.");
    hv_prom_sample(&p, "haven_dead_letters", S_L(NULL, NULL), 1,
                   (double)json_integer_value(json_object_get(store, "dead_letters")));
    hv_prom_family(&p, "haven_dead_letters_by_reason", "gauge",
                   "Dead letters held, by the code of why they died.");
    if (hv_broker_custody_dead_reasons(b, s_reason_one, &ages) != HV_OK)
        hv_broker_store_failed(b, "op=dead_reasons");

    hv_prom_family(&p, "haven_peer_up", "gauge",
                   "Peer links, 1 when up (out: ours to the peer, in: the peer's to us).");
    for (size_t k = 0; k < b->links.n && k < HV_PEERS_MAX; k++) {
        const char *peer = b->links.ids[k];
        hv_prom_sample(&p, "haven_peer_up", S_L("peer", peer, "direction", "out"), 3,
                       o->peer_state[k].out_up);
        hv_prom_sample(&p, "haven_peer_up", S_L("peer", peer, "direction", "in"), 3,
                       o->peer_state[k].in_up);
    }
    hv_prom_family(&p, "haven_registry_version", "gauge", "The version of the registry in use.");
    hv_prom_sample(&p, "haven_registry_version", S_L(NULL, NULL), 1,
                   (double)json_integer_value(json_object_get(st, "registry_version")));
    hv_prom_family(&p, "haven_registry_expiry_seconds", "gauge",
                   "Seconds until the registry in use expires (negative once it has).");
    hv_prom_sample(&p, "haven_registry_expiry_seconds", S_L(NULL, NULL), 1,
                   (double)json_integer_value(json_object_get(st, "registry_expiry_seconds")));
    hv_prom_family(&p, "haven_peer_state_seconds", "gauge",
                   "Seconds since the peer link last went up or down (or the broker started).");
    int64_t wall = hv_now_ms();
    for (size_t k = 0; k < b->links.n && k < HV_PEERS_MAX; k++) {
        const char *peer = b->links.ids[k];
        const struct hv_ops_peer_state *ps = &o->peer_state[k];
        hv_prom_sample(&p, "haven_peer_state_seconds", S_L("peer", peer, "direction", "out"), 3,
                       wall > ps->out_since_ms ? (double)(wall - ps->out_since_ms) / 1000.0 : 0);
        hv_prom_sample(&p, "haven_peer_state_seconds", S_L("peer", peer, "direction", "in"), 3,
                       wall > ps->in_since_ms ? (double)(wall - ps->in_since_ms) / 1000.0 : 0);
    }
    hv_prom_family(&p, "haven_sessions", "gauge", "Connected nodes, by role.");
    for (unsigned r = 1; r <= HV_ROLE_MAX; r++) {
        if (r == HV_ROLE_BROKER)
            continue; /* peers are haven_peer_up */
        size_t n = 0;
        for (size_t i = 0; i < b->n_sessions; i++)
            n += !b->sessions[i].outgoing && !b->sessions[i].peer && b->sessions[i].ready &&
                 b->sessions[i].role == r;
        hv_prom_sample(&p, "haven_sessions", S_L("role", hv_role_name(r)), 2, (double)n);
    }
    hv_prom_family(&p, "haven_flow_messages_total", "counter",
                   "Envelopes stored, by the sender's and recipient's countries.");
    for (size_t f = 0; f < o->n_flows; f++)
        hv_prom_sample(&p, "haven_flow_messages_total",
                       S_L("from", o->flows[f].from, "to", o->flows[f].to), 3,
                       (double)o->flows[f].count);
    hv_prom_family(&p, "haven_ack_latency_seconds", "histogram",
                   "Delivery to acknowledgement, seconds.");
    uint64_t cumulative = 0;
    for (size_t k = 0; k <= HV_OPS_LAT_BUCKETS; k++) {
        cumulative += o->latency_buckets[k];
        char le[32] = "+Inf";
        if (k < HV_OPS_LAT_BUCKETS)
            snprintf(le, sizeof le, "%g", s_lat_le[k]);
        hv_prom_sample(&p, "haven_ack_latency_seconds_bucket", S_L("le", le), 2,
                       (double)cumulative);
    }
    hv_prom_sample(&p, "haven_ack_latency_seconds_sum", S_L(NULL, NULL), 1, o->latency_sum_s);
    hv_prom_sample(&p, "haven_ack_latency_seconds_count", S_L(NULL, NULL), 1,
                   (double)o->latency_count);
    hv_prom_build_info(&p, "haven-broker", S_L(NULL, NULL), 1);
    hv_prom_process(&p, S_L(NULL, NULL), 1);
    return hv_prom_take(&p);
}

void hv_broker_ops_publish(hv_broker *b, int64_t now)
{
    hv_broker_ops *o = &b->ops;
    if (o->http == NULL || now < o->next_publish)
        return;
    o->next_publish = now + S_PUBLISH_MS;
    json_t *st = hv_broker_ops_stats_json(b);
    json_t *flows = json_array();
    for (size_t f = 0; f < o->n_flows; f++)
        json_array_append_new(flows, json_pack("{s:s, s:s, s:I}", "from", o->flows[f].from, "to",
                                               o->flows[f].to, "count",
                                               (json_int_t)o->flows[f].count));
    json_object_set_new(st, "flows", flows);
    json_object_set_new(st, "ack_latency",
                        json_pack("{s:I, s:f}", "count", (json_int_t)o->latency_count,
                                  "mean_ms", o->latency_count
                                                 ? 1000.0 * o->latency_sum_s /
                                                       (double)o->latency_count
                                                 : 0.0));
    char *metrics = s_metrics_text(b, st);
    hv_broker_dash_json(b, st); /* after the metrics: /metrics never reads these */
    char *json = json_dumps(st, JSON_COMPACT);
    hv_http_set_registry(o->http, hv_registry_version(b->reg), hv_registry_expires_at(b->reg));
    char fault[256];
    hv_broker_fault_text(b, fault, sizeof fault);
    hv_http_set_fault(o->http, fault);
    if (metrics != NULL && json != NULL)
        hv_http_publish(o->http, metrics, json);
    free(metrics);
    free(json);
    json_decref(st);
}
