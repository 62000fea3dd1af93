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
 * code. */
#include "hv_broker_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_log.h"

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

void hv_broker_ops_rate_sample(hv_broker *b, int64_t now)
{
    hv_broker_ops *o = &b->ops;
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
        hv_log(HV_LOG_ERROR, "store_failed", "op=stats");
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
        const hv_session *out = NULL, *in = NULL;
        for (size_t i = 0; i < b->n_sessions; i++) {
            if (b->sessions[i].outgoing && strcmp(b->sessions[i].node, id) == 0)
                out = &b->sessions[i];
            if (b->sessions[i].peer && b->sessions[i].ready && strcmp(b->sessions[i].node, id) == 0)
                in = &b->sessions[i];
        }
        const hv_node *n = hv_registry_find(b->reg, id);
        json_t *q = json_object_get(depths, key);
        json_array_append_new(peers, json_pack(
            "{s:s, s:s, s:b, s:b, s:I, s:I, s:I}", "node", id, "country", n ? n->country : "",
            "out_up", out != NULL && out->ready, "in_up", in != NULL, "queued",
            (json_int_t)(q ? json_integer_value(q) : 0), "in_flight",
            (json_int_t)(out ? out->n_flight : 0), "up_since_ms",
            (json_int_t)(out && out->ready ? out->up_since : 0)));
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
    /* Recent rates: the oldest and newest of the per-second samples. */
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
    json_object_set_new(out, "rates_per_s",
                        json_pack("{s:f, s:f, s:f, s:f}", "window_s", span, "stored",
                                  span > 0 ? (double)(newest->stored - oldest->stored) / span : 0.0,
                                  "delivered",
                                  span > 0 ? (double)(newest->delivered - oldest->delivered) / span
                                           : 0.0,
                                  "acked",
                                  span > 0 ? (double)(newest->acked - oldest->acked) / span : 0.0));
    /* Latency percentiles from the histogram: the upper bound of the
     * bucket that holds the percentile (so "at most"). */
    json_t *pct = json_object();
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        if (o->latency_count == 0) {
            json_object_set_new(pct, qs[k].name, json_null());
            continue;
        }
        uint64_t want = (uint64_t)((double)o->latency_count * qs[k].q + 0.999999);
        uint64_t seen = 0;
        size_t i = 0;
        while (i < HV_OPS_LAT_BUCKETS && (seen += o->latency_buckets[i]) < want)
            i++;
        json_object_set_new(pct, qs[k].name,
                            i < HV_OPS_LAT_BUCKETS ? json_real(s_lat_le[i] * 1000.0)
                                                   : json_null());
    }
    json_object_set_new(out, "ack_latency_ms_at_most", pct);
    return out;
}

/* ------------------------------------------------------------ Prometheus */

/* Appends printf output to a growing buffer. */
static void s_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (*buf != NULL && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return;
        }
        size_t grown = (*cap ? *cap * 2 : 4096) + (size_t)n;
        char *p = realloc(*buf, grown);
        if (p == NULL)
            return;
        *buf = p;
        *cap = grown;
    }
}

/* The Prometheus text exposition of the snapshot in `st` (from
 * hv_broker_ops_stats_json) and the broker's own histogram and flows. */
static char *s_metrics_text(hv_broker *b, json_t *st)
{
    const hv_broker_ops *o = &b->ops;
    char *m = NULL;
    size_t len = 0, cap = 0;
    const char *id = b->cfg.id;
    json_t *c = json_object_get(st, "counters");
    s_cat(&m, &len, &cap, "# HELP haven_messages_total Envelopes by what happened to them at "
          "this broker.\n# TYPE haven_messages_total counter\n");
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
        s_cat(&m, &len, &cap, "haven_messages_total{broker=\"%s\",event=\"%s\"} %lld\n", id,
              key, (long long)json_integer_value(v));
    s_cat(&m, &len, &cap, "# HELP haven_queue_depth Envelopes waiting, by queue (a node, or "
          "@broker for a peer).\n# TYPE haven_queue_depth gauge\n");
    json_object_foreach(json_object_get(st, "queues"), key, v)
        s_cat(&m, &len, &cap, "haven_queue_depth{broker=\"%s\",queue=\"%s\"} %lld\n", id, key,
              (long long)json_integer_value(v));
    json_t *store = json_object_get(st, "store");
    s_cat(&m, &len, &cap, "# HELP haven_queued Envelopes waiting in all.\n# TYPE haven_queued "
          "gauge\nhaven_queued{broker=\"%s\"} %lld\n", id,
          (long long)json_integer_value(json_object_get(store, "queued")));
    s_cat(&m, &len, &cap, "# HELP haven_dead_letters Dead letters held.\n# TYPE "
          "haven_dead_letters gauge\nhaven_dead_letters{broker=\"%s\"} %lld\n", id,
          (long long)json_integer_value(json_object_get(store, "dead_letters")));
    s_cat(&m, &len, &cap, "# HELP haven_peer_up Peer links, 1 when up.\n# TYPE haven_peer_up "
          "gauge\n");
    size_t i;
    json_array_foreach(json_object_get(st, "peers"), i, v) {
        const char *peer = json_string_value(json_object_get(v, "node"));
        s_cat(&m, &len, &cap,
              "haven_peer_up{broker=\"%s\",peer=\"%s\",direction=\"out\"} %d\n"
              "haven_peer_up{broker=\"%s\",peer=\"%s\",direction=\"in\"} %d\n",
              id, peer, json_is_true(json_object_get(v, "out_up")), id, peer,
              json_is_true(json_object_get(v, "in_up")));
    }
    s_cat(&m, &len, &cap, "# HELP haven_registry_version The version of the registry in "
          "use.\n# TYPE haven_registry_version gauge\nhaven_registry_version{broker=\"%s\"} "
          "%lld\n", id, (long long)json_integer_value(json_object_get(st, "registry_version")));
    s_cat(&m, &len, &cap, "# HELP haven_registry_expiry_seconds Seconds until the registry in "
          "use expires (negative once it has).\n# TYPE haven_registry_expiry_seconds gauge\n"
          "haven_registry_expiry_seconds{broker=\"%s\"} %lld\n", id,
          (long long)json_integer_value(json_object_get(st, "registry_expiry_seconds")));
    s_cat(&m, &len, &cap, "# HELP haven_sessions Connected nodes.\n# TYPE haven_sessions "
          "gauge\nhaven_sessions{broker=\"%s\"} %zu\n", id,
          json_array_size(json_object_get(st, "sessions")));
    s_cat(&m, &len, &cap, "# HELP haven_flow_messages_total Envelopes stored, by the sender's "
          "and recipient's countries.\n# TYPE haven_flow_messages_total counter\n");
    for (size_t f = 0; f < o->n_flows; f++)
        s_cat(&m, &len, &cap,
              "haven_flow_messages_total{broker=\"%s\",from=\"%s\",to=\"%s\"} %llu\n", id,
              o->flows[f].from, o->flows[f].to, (unsigned long long)o->flows[f].count);
    s_cat(&m, &len, &cap, "# HELP haven_ack_latency_seconds Delivery to acknowledgement.\n"
          "# TYPE haven_ack_latency_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t k = 0; k < HV_OPS_LAT_BUCKETS; k++) {
        cumulative += o->latency_buckets[k];
        s_cat(&m, &len, &cap, "haven_ack_latency_seconds_bucket{broker=\"%s\",le=\"%g\"} %llu\n",
              id, s_lat_le[k], (unsigned long long)cumulative);
    }
    cumulative += o->latency_buckets[HV_OPS_LAT_BUCKETS];
    s_cat(&m, &len, &cap,
          "haven_ack_latency_seconds_bucket{broker=\"%s\",le=\"+Inf\"} %llu\n"
          "haven_ack_latency_seconds_sum{broker=\"%s\"} %.6f\n"
          "haven_ack_latency_seconds_count{broker=\"%s\"} %llu\n",
          id, (unsigned long long)cumulative, id, o->latency_sum_s, id,
          (unsigned long long)o->latency_count);
    return m;
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
    char *json = json_dumps(st, JSON_COMPACT);
    hv_http_set_registry(o->http, hv_registry_version(b->reg), hv_registry_expires_at(b->reg));
    if (metrics != NULL && json != NULL)
        hv_http_publish(o->http, metrics, json);
    free(metrics);
    free(json);
    json_decref(st);
}
