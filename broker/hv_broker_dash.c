/* The dashboard's own data; see hv_broker_dash.h. One job: what the page
 * at / shows that the stats snapshot does not (the last hour, the nodes
 * that are not connected, the ages of queues, the latest dead letters,
 * the route). */
#include "hv_broker_internal.h"

#include <stdio.h>
#include <string.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_msg.h"

_Static_assert(HV_DASH_BUCKETS == HV_OPS_LAT_BUCKETS + 1, "one slot per histogram bucket");

/* ------------------------------------------------------------ sampling */

void hv_broker_dash_seen(hv_broker *b, const char *node, int64_t wall)
{
    hv_broker_dash *d = &b->dash;
    size_t k = 0;
    while (k < d->n_seen && strcmp(d->seen[k].node, node) != 0)
        k++;
    if (k == d->n_seen) {
        if (d->n_seen == HV_DASH_NODES_MAX)
            return; /* more nodes than a broker's page lists */
        snprintf(d->seen[k].node, sizeof d->seen[k].node, "%s", node);
        d->n_seen++;
    }
    d->seen[k].last_seen_ms = wall;
}

/* Notes the nodes connected now as seen at `wall`. */
static void s_sightings(hv_broker *b, int64_t wall)
{
    for (size_t i = 0; i < b->n_sessions; i++) {
        const hv_session *s = &b->sessions[i];
        if (!s->outgoing && !s->peer && s->ready)
            hv_broker_dash_seen(b, s->node, wall);
    }
}

static float s_rate(uint64_t now, uint64_t then, double seconds)
{
    return seconds > 0 && now >= then ? (float)((double)(now - then) / seconds) : 0.0f;
}

void hv_broker_dash_sample(hv_broker *b, int64_t now)
{
    hv_broker_dash *d = &b->dash;
    int64_t wall = hv_now_ms();
    if (now < d->next_point)
        return;
    d->next_point = now + HV_DASH_STEP_MS;
    hv_broker_counters c = hv_broker_custody_counters(b);
    const hv_broker_ops *o = &b->ops;
    if (d->last_at != 0) {
        double secs = (double)(now - d->last_at) / 1000.0;
        struct hv_dash_point *p = &d->points[d->next];
        uint64_t delta[HV_DASH_BUCKETS], count = 0;
        for (size_t k = 0; k < HV_DASH_BUCKETS; k++) {
            delta[k] = o->latency_buckets[k] - d->last_buckets[k];
            count += delta[k];
        }
        hv_store_stats st = {0, 0, 0, 0};
        if (hv_broker_custody_stats(b, &st) != HV_OK)
            hv_broker_store_failed(b, "op=dashboard");
        *p = (struct hv_dash_point){
            .at_ms = wall,
            .stored = s_rate(c.stored, d->last_stored, secs),
            .delivered = s_rate(c.delivered, d->last_delivered, secs),
            .acked = s_rate(c.acked, d->last_acked, secs),
            .p50 = (float)hv_broker_ops_percentile(delta, count, 0.5),
            .p90 = (float)hv_broker_ops_percentile(delta, count, 0.9),
            .p99 = (float)hv_broker_ops_percentile(delta, count, 0.99),
            .queued = st.queued > 0 ? (uint32_t)st.queued : 0,
            .dead = st.dead > 0 ? (uint32_t)st.dead : 0,
        };
        d->next = (d->next + 1) % HV_DASH_POINTS;
        if (d->n_points < HV_DASH_POINTS)
            d->n_points++;
    }
    d->last_at = now;
    d->last_stored = c.stored;
    d->last_delivered = c.delivered;
    d->last_acked = c.acked;
    memcpy(d->last_buckets, o->latency_buckets, sizeof d->last_buckets);
}

/* ------------------------------------------------------------ snapshot */

static json_t *s_ms_or_null(float v)
{
    return v < 0 ? json_null() : json_real(v);
}

static json_t *s_history(const hv_broker_dash *d)
{
    json_t *points = json_array();
    size_t first = (d->next + HV_DASH_POINTS - d->n_points) % HV_DASH_POINTS;
    for (size_t i = 0; i < d->n_points; i++) {
        const struct hv_dash_point *p = &d->points[(first + i) % HV_DASH_POINTS];
        json_array_append_new(points,
                              json_pack("{s:I, s:f, s:f, s:f, s:o, s:o, s:o, s:I, s:I}", "at_ms",
                                        (json_int_t)p->at_ms, "stored", (double)p->stored,
                                        "delivered", (double)p->delivered, "acked",
                                        (double)p->acked, "p50_ms", s_ms_or_null(p->p50),
                                        "p90_ms", s_ms_or_null(p->p90), "p99_ms",
                                        s_ms_or_null(p->p99), "queued", (json_int_t)p->queued,
                                        "dead", (json_int_t)p->dead));
    }
    return json_pack("{s:I, s:I, s:o}", "step_ms", (json_int_t)HV_DASH_STEP_MS, "max_points",
                     (json_int_t)HV_DASH_POINTS, "points", points);
}

/* The nodes homed here by the registry, each with its role, whether it is
 * connected, since when, and when it was last seen. Brokers are the peers'
 * table; operators speak on the operators' socket, never in a session, so
 * "disconnected" would say nothing of them. */
static json_t *s_nodes(hv_broker *b)
{
    const hv_broker_dash *d = &b->dash;
    json_t *nodes = json_array();
    for (size_t i = 0; i < hv_registry_count(b->reg); i++) {
        const hv_node *n = hv_registry_node(b->reg, i);
        if (n->role == HV_ROLE_BROKER || n->role == HV_ROLE_OPERATOR ||
            strcmp(n->home, b->cfg.id) != 0)
            continue;
        const hv_session *s = NULL;
        for (size_t k = 0; k < b->n_sessions && s == NULL; k++)
            if (!b->sessions[k].outgoing && !b->sessions[k].peer && b->sessions[k].ready &&
                strcmp(b->sessions[k].node, n->id) == 0)
                s = &b->sessions[k];
        int64_t seen = 0;
        for (size_t k = 0; k < d->n_seen; k++)
            if (strcmp(d->seen[k].node, n->id) == 0)
                seen = d->seen[k].last_seen_ms;
        const char *role = hv_role_name(n->role);
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:b, s:I, s:I}", "node", n->id,
                                               "role", role ? role : "", "connected", s != NULL,
                                               "up_since_ms",
                                               (json_int_t)(s ? s->up_since : 0), "last_seen_ms",
                                               (json_int_t)seen));
    }
    return nodes;
}

struct s_ages {
    json_t *list;   /* the queues */
    int64_t now_ms; /* wall clock */
};

static void s_age_one(void *arg, const char *queue, int64_t count, int64_t oldest_ms)
{
    struct s_ages *a = arg;
    json_array_append_new(a->list, json_pack("{s:s, s:I, s:I, s:I}", "queue", queue, "depth",
                                             (json_int_t)count, "oldest_ms",
                                             (json_int_t)oldest_ms, "oldest_age_s",
                                             (json_int_t)(a->now_ms > oldest_ms
                                                              ? (a->now_ms - oldest_ms) / 1000
                                                              : 0)));
}

static bool s_dead_one(void *arg, const hv_dead *dl)
{
    char id[33];
    hv_hex(dl->id, 16, id);
    const hv_msg_rule *rule = hv_msg_rule_get(dl->type);
    json_array_append_new((json_t *)arg,
                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", id,
                                    "type", rule ? rule->name : "", "sender",
                                    dl->sender ? dl->sender : "", "recipient",
                                    dl->recipient ? dl->recipient : "", "code",
                                    hv_errname(dl->code), "reason", dl->reason ? dl->reason : "",
                                    "attempts", (json_int_t)dl->attempts, "stored_ms",
                                    (json_int_t)dl->stored_ms, "died_ms",
                                    (json_int_t)dl->died_ms));
    return true;
}

void hv_broker_dash_json(hv_broker *b, json_t *st)
{
    s_sightings(b, hv_now_ms());
    json_object_set_new(st, "history", s_history(&b->dash));
    json_object_set_new(st, "nodes", s_nodes(b));
    struct s_ages ages = {json_array(), hv_now_ms()};
    if (hv_broker_custody_queue_ages(b, s_age_one, &ages) != HV_OK)
        hv_broker_store_failed(b, "op=dashboard_ages");
    json_object_set_new(st, "queue_ages", ages.list);
    json_t *dead = json_array();
    if (hv_broker_custody_dead_list(b, HV_DASH_DEAD_SHOWN, s_dead_one, dead) != HV_OK)
        hv_broker_store_failed(b, "op=dashboard_dead");
    json_object_set_new(st, "dead_recent", dead);
    json_t *route = hv_broker_health_route_json(b);
    if (route != NULL)
        json_object_set_new(st, "route", route);
}
