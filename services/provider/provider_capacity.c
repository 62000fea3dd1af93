/* The provider's free places, published to its routers (CAPACITY,
 * PROTOCOL.md §9 "CAPACITY").
 *
 * Its places ([provider] places, or the registry's capacity) are taken
 * by its open cases (an accepted offer whose case has not closed:
 * accepted and on its way, received, in_progress, on_hold) and by the
 * offers waiting for its answer. The router sees only its own offers, so
 * the provider publishes {free, total, at, pending} to every router of
 * its country when its open cases or its places change and at least
 * every capacity_every_s (600 s by default): `pending` says how many of
 * the offers it counted are that router's, so that the router can put
 * its own exact count in their place (offers on their way included). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv_log.h"
#include "hv_sql.h"
#include "provider.h"

/* The places its open cases take (one for each person: a family of three
 * takes three) and its pending offers now. */
static hv_err s_taken(hv_worker *w, uint64_t now, int64_t *open, int64_t *pending)
{
    hv_err err = hv_sql_int(hv_worker_db(w), open,
                            "SELECT coalesce(sum(o.people), 0) FROM offers o LEFT JOIN cases c "
                            "ON c.id = o.id WHERE o.state = 'accepted' AND (c.state IS NULL OR "
                            "c.state NOT IN ('completed', 'failed', 'cancelled'))",
                            "");
    if (err == HV_OK)
        err = hv_sql_int(hv_worker_db(w), pending,
                         "SELECT count(*) FROM offers WHERE state = 'offered' AND respond_by > ?1",
                         "i", (int64_t)now);
    return err;
}

/* The count, and the open cases in it. */
static hv_err s_count(hv_worker *w, uint64_t now, uint32_t *free_places, uint32_t *total,
                      int64_t *open)
{
    uint64_t places = hv_worker_cfg(w)->places;
    if (places == 0)
        places = hv_worker_self(w)->capacity;
    if (places > HV_PLACES_MAX)
        places = HV_PLACES_MAX;
    int64_t pending = 0;
    hv_err err = s_taken(w, now, open, &pending);
    if (err != HV_OK)
        return err;
    int64_t taken = *open + pending;
    *total = (uint32_t)places;
    *free_places = taken >= (int64_t)places ? 0 : (uint32_t)((int64_t)places - taken);
    return HV_OK;
}

hv_err pv_capacity_count(hv_worker *w, uint64_t now, uint32_t *free_places, uint32_t *total)
{
    int64_t open = 0;
    return s_count(w, now, free_places, total, &open);
}

hv_err pv_capacity_tick(hv_worker *w, uint64_t now)
{
    uint32_t free_places = 0, total = 0;
    int64_t open = 0;
    hv_err err = s_count(w, now, &free_places, &total, &open);
    if (err != HV_OK)
        return err;
    const hv_registry *reg = hv_worker_registry(w);
    const hv_node *self = hv_worker_self(w);
    for (size_t i = 0; err == HV_OK && i < hv_registry_count(reg); i++) {
        const hv_node *r = hv_registry_node(reg, i);
        if (r->role != HV_ROLE_ROUTER || strcmp(r->country, self->country) != 0 ||
            !hv_node_active(r, now))
            continue;
        sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                                  "SELECT open, total, at_s FROM capacity_sent WHERE router = ?1",
                                  "t", r->id);
        if (st == NULL)
            return HV_ESTORE;
        bool same = false;
        uint64_t last = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            same = sqlite3_column_int64(st, 0) == open && sqlite3_column_int64(st, 1) == total;
            last = (uint64_t)sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        /* A change in its cases or places is news to the router; one in
         * the offers pending is not (they are the router's own), so an
         * offer declined for want of places does not undo what the
         * decline said until the period comes round. Each publication is
         * dated later than the one before, so that a router never takes
         * a newer one for a replay. */
        if (same && now < last + hv_worker_cfg(w)->capacity_every_s)
            continue;
        if (now <= last)
            continue; /* the next second says it */
        /* Which of the offers it counted are this router's: the router
         * puts its own exact count in their place. */
        int64_t theirs = 0;
        if ((err = hv_sql_int(hv_worker_db(w), &theirs,
                              "SELECT count(*) FROM offers WHERE state = 'offered' AND "
                              "respond_by > ?1 AND router = ?2",
                              "it", (int64_t)now, r->id)) != HV_OK)
            break;
        hv_msg m = {.type = HV_MSG_CAPACITY, .at = now, .places_free = free_places,
                    .places_total = total,
                    .places_pending = theirs > HV_PLACES_MAX ? HV_PLACES_MAX : (uint32_t)theirs};
        snprintf(m.node, sizeof m.node, "%s", self->id);
        /* About no referral: the id is zero. It lives as long as it counts. */
        static const uint8_t none[16] = {0};
        err = hv_worker_send(w, r->id, none, &m, 3600, NULL);
        if (err == HV_OK)
            err = hv_sql_exec(hv_worker_db(w),
                              "INSERT INTO capacity_sent (router, free, total, open, at_s) "
                              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(router) DO UPDATE SET "
                              "free = excluded.free, total = excluded.total, open = "
                              "excluded.open, at_s = excluded.at_s",
                              "tiiii", r->id, (int64_t)free_places, (int64_t)total, open,
                              (int64_t)now);
        if (err == HV_OK)
            hv_log(HV_LOG_INFO, "capacity_sent", "router=%s free=%u total=%u open=%lld", r->id,
                   free_places, total, (long long)open);
    }
    return err;
}
