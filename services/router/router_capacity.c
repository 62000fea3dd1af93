/* Free places per provider at the router; see router.h and PROTOCOL.md
 * §9 "CAPACITY".
 *
 * A provider's places are taken by its open cases as well as by the
 * offers pending with it. The router sees only its own offers; the
 * provider knows its cases and publishes {free, total, at} (CAPACITY),
 * signed like every envelope. The router keeps the newest publication
 * of each provider and counts from it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_sql.h"
#include "hv_text.h"
#include "router.h"

/* The row held for `id`; false when there is none. */
/* A publication held: its free places, total, this router's offers it
 * counted, its date, when it came (Unix ms) and the last no_capacity. */
typedef struct s_held {
    int64_t free_places, total, pending, received_ms;
    uint64_t at, declined;
} s_held;

static bool s_row(hv_worker *w, const char *id, s_held *h)
{
    memset(h, 0, sizeof *h);
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT free, total, at_s, declined_s, received_ms, pending FROM "
                              "capacity WHERE provider = ?1",
                              "t", id);
    bool found = st != NULL && sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        h->free_places = sqlite3_column_int64(st, 0);
        h->total = sqlite3_column_int64(st, 1);
        h->at = (uint64_t)sqlite3_column_int64(st, 2);
        h->declined = (uint64_t)sqlite3_column_int64(st, 3);
        h->received_ms = sqlite3_column_int64(st, 4);
        h->pending = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    return found;
}

/* Offers pending with `id` (all of them). */
static int64_t s_pending(hv_worker *w, const char *id)
{
    int64_t n = 0;
    if (hv_sql_int(hv_worker_db(w), &n,
                   "SELECT count(*) FROM candidates WHERE provider = ?1 AND outcome = 'offered'",
                   "t", id) != HV_OK)
        n = 0;
    return n;
}

/* Offers to `id` it accepted after its publication came (at
 * `received_ms`, this clock): places the publication did not count. The
 * provider publishes after each accept, and sends it after the ACCEPT. */
static int64_t s_accepted_since(hv_worker *w, const char *id, int64_t received_ms)
{
    int64_t n = 0;
    if (hv_sql_int(hv_worker_db(w), &n,
                   "SELECT count(*) FROM candidates WHERE provider = ?1 AND outcome = "
                   "'accepted' AND answered_ms > ?2",
                   "ti", id, received_ms) != HV_OK)
        n = 0;
    return n;
}

int64_t rt_free_places(hv_worker *w, const hv_node *p, rt_places *why)
{
    rt_places x = {.basis = "registry", .published_free = -1, .published_total = -1};
    uint64_t now = (uint64_t)time(NULL);
    s_held h;
    bool held = s_row(w, p->id, &h);
    if (held && h.at != 0) {
        x.published_at = h.at;
        x.published_free = h.free_places;
        x.published_total = h.total;
        x.published_pending = h.pending;
    }
    x.pending = s_pending(w, p->id);
    if (held && h.declined != 0 && now < h.declined + RT_PUBLISHED_FRESH_S) {
        x.basis = "declined";
        x.free = 0;
    } else if (held && h.at != 0 && now < h.at + RT_PUBLISHED_FRESH_S) {
        /* Its count, with this router's offers it counted replaced by the
         * ones pending now (those on their way to it included), less the
         * ones it accepted since. */
        x.basis = "published";
        x.pending += s_accepted_since(w, p->id, h.received_ms);
        x.free = h.free_places + h.pending - x.pending;
        if (x.free > h.total)
            x.free = h.total;
    } else {
        x.free = (int64_t)p->capacity - x.pending;
    }
    if (x.free < 0)
        x.free = 0;
    if (why != NULL)
        *why = x;
    return x.free;
}

hv_err rt_capacity_on_message(hv_worker *w, const hv_envelope *env, const hv_msg *m,
                              hv_errmsg *e)
{
    const hv_node *p = hv_registry_find(hv_worker_registry(w), env->from);
    uint64_t now = (uint64_t)time(NULL);
    if (p == NULL || p->role != HV_ROLE_PROVIDER || !hv_node_active(p, now))
        return hv_fail(e, HV_EFORBIDDEN, "%s is not an active provider", env->from);
    if (strcmp(p->country, hv_worker_self(w)->country) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "%s is a provider of %s, not of %s", env->from,
                       p->country, hv_worker_self(w)->country);
    /* Signed by its sender: a provider speaks for its own places only. */
    if (strcmp(m->node, env->from) != 0)
        return hv_fail(e, HV_EFORBIDDEN, "%s may publish its own places, not those of %s",
                       env->from, m->node);
    if (m->at > now + RT_PUBLISHED_AHEAD_S)
        return hv_fail(e, HV_EINVAL, "the publication is dated %llu s ahead of this router's "
                       "clock (at most %d): check the provider's clock",
                       (unsigned long long)(m->at - now), RT_PUBLISHED_AHEAD_S);
    s_held h;
    if (s_row(w, env->from, &h) && h.at != 0 && m->at <= h.at) {
        /* A replay or one overtaken on the way: the newer count stands. */
        hv_log(HV_LOG_INFO, "capacity_stale", "provider=%s at=%llu held_at=%llu free=%u",
               env->from, (unsigned long long)m->at, (unsigned long long)h.at, m->places_free);
        return HV_OK;
    }
    hv_err err = hv_sql_exec(hv_worker_db(w),
                             "INSERT INTO capacity (provider, free, total, pending, at_s, "
                             "received_ms, declined_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) ON "
                             "CONFLICT(provider) DO UPDATE SET free = excluded.free, total = "
                             "excluded.total, pending = excluded.pending, at_s = excluded.at_s, "
                             "received_ms = excluded.received_ms, declined_s = 0",
                             "tiiiii", env->from, (int64_t)m->places_free,
                             (int64_t)m->places_total, (int64_t)m->places_pending,
                             (int64_t)m->at, hv_now_ms());
    if (err == HV_OK)
        hv_log(HV_LOG_INFO, "capacity_published",
               "provider=%s free=%u total=%u pending=%u at=%llu", env->from, m->places_free,
               m->places_total, m->places_pending, (unsigned long long)m->at);
    return err;
}

hv_err rt_capacity_declined(hv_worker *w, const char *id)
{
    return hv_sql_exec(hv_worker_db(w),
                       "INSERT INTO capacity (provider, declined_s) VALUES (?1, ?2) "
                       "ON CONFLICT(provider) DO UPDATE SET declined_s = excluded.declined_s",
                       "ti", id, (int64_t)time(NULL));
}

json_t *rt_capacity_json(hv_worker *w, const char *id)
{
    const hv_node *p = hv_registry_find(hv_worker_registry(w), id);
    if (p == NULL)
        return json_null();
    rt_places x;
    rt_free_places(w, p, &x);
    json_t *pub = json_null();
    if (x.published_at != 0) {
        char at[21];
        hv_time_format(x.published_at, at);
        uint64_t now = (uint64_t)time(NULL);
        pub = json_pack("{s:I, s:I, s:I, s:s, s:I}", "free", (json_int_t)x.published_free,
                        "total", (json_int_t)x.published_total, "pending",
                        (json_int_t)x.published_pending, "at", at, "age_s",
                        (json_int_t)(now > x.published_at ? now - x.published_at : 0));
    }
    return json_pack("{s:s, s:I, s:I, s:o}", "basis", x.basis, "free", (json_int_t)x.free,
                     "pending", (json_int_t)x.pending, "published", pub);
}

void rt_capacity_text(hv_worker *w, const hv_node *p, char *buf, size_t cap)
{
    rt_places x;
    rt_free_places(w, p, &x);
    uint64_t now = (uint64_t)time(NULL);
    uint64_t age = x.published_at != 0 && now > x.published_at ? now - x.published_at : 0;
    char ago[32];
    if (age < 120)
        snprintf(ago, sizeof ago, "%llu s", (unsigned long long)age);
    else if (age < 7200)
        snprintf(ago, sizeof ago, "%llu min", (unsigned long long)(age / 60));
    else
        snprintf(ago, sizeof ago, "%llu h", (unsigned long long)(age / 3600));
    if (strcmp(x.basis, "declined") == 0)
        snprintf(buf, cap, ", 0 free (declined no_capacity)");
    else if (x.published_at == 0)
        snprintf(buf, cap, ", %lld free (none published)", (long long)x.free);
    else
        snprintf(buf, cap, ", %lld free (published %lld of %lld, %s ago%s)", (long long)x.free,
                 (long long)x.published_free, (long long)x.published_total, ago,
                 strcmp(x.basis, "published") == 0 ? "" : "; too old, registry used");
}
