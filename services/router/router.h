/* The router's parts shared by its files: router.c (the flow of a
 * referral along the pathway) and router_capacity.c (the places each
 * provider has free). Internal to haven-router. */
#ifndef HV_ROUTER_H
#define HV_ROUTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_worker.h"

/* A provider's published free places count for this long (seconds); an
 * older publication falls back to the registry's capacity. */
#define RT_PUBLISHED_FRESH_S 3600
/* How far ahead of the router's clock a publication may be dated. */
#define RT_PUBLISHED_AHEAD_S 300

/* The table of publications, part of the router's schema. at_s: the
 * publication's own time (the provider's clock), 0 when none came;
 * received_ms: when it came (this clock, Unix ms); declined_s: when the provider
 * last declined with no_capacity (this clock), 0 once it published since. */
#define RT_CAPACITY_SCHEMA                                                                     \
    "CREATE TABLE IF NOT EXISTS capacity (provider TEXT PRIMARY KEY,"                          \
    "  free INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,"                     \
    "  pending INTEGER NOT NULL DEFAULT 0,"                                                     \
    "  at_s INTEGER NOT NULL DEFAULT 0, received_ms INTEGER NOT NULL DEFAULT 0,"              \
    "  declined_s INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"

/* How a provider's free places were counted (rt_free_places). Plain data. */
typedef struct rt_places {
    int64_t free;          /* places free for a new person now, never below 0 */
    int64_t pending;       /* this router's offers counted against them: those
                              pending, and for "published" those accepted since */
    const char *basis;     /* "published", "declined" (no_capacity, until the next
                              publication) or "registry" */
    uint64_t published_at; /* the publication counted (Unix s, provider's clock), or 0 */
    int64_t published_free; /* the free places it said, or -1 */
    int64_t published_total; /* the places it said it has, or -1 */
    int64_t published_pending; /* this router's offers it counted in them */
} rt_places;

/* Free places of provider `p` for a new person, the ONE count every check
 * of places uses (one person, or a group's size): its free places as
 * published within RT_PUBLISHED_FRESH_S; 0 for an hour after it declined with no_capacity
 * unless it published since; otherwise the registry's capacity less every
 * pending offer. With a publication, the offers of this router that it
 * counted are replaced by those pending now (ones on their way to it
 * included), and those it accepted since are taken off. `why` (may be
 * NULL) gets how. */
int64_t rt_free_places(hv_worker *w, const hv_node *p, rt_places *why);

/* A CAPACITY from `env->from`: kept when newer than the one held, ignored
 * (HV_OK, logged) when not; refused when the sender is not an active
 * provider of this router's country or the body names another provider
 * (HV_EFORBIDDEN), or it is dated ahead of this clock (HV_EINVAL). */
HV_MUST_CHECK hv_err rt_capacity_on_message(hv_worker *w, const hv_envelope *env,
                                            const hv_msg *m, hv_errmsg *e);

/* Provider `id` declined an offer with no_capacity: it counts as full
 * until its next publication (or for RT_PUBLISHED_FRESH_S). */
HV_MUST_CHECK hv_err rt_capacity_declined(hv_worker *w, const char *id);

/* The places of `id` for pathway.show: {"basis", "free", "pending",
 * "published": {"free", "total", "pending", "at", "age_s"} | null}.
 * Caller owns it. */
json_t *rt_capacity_json(hv_worker *w, const char *id);

/* One line's tail for pathway.show's text: ", 3 free (published 2 min ago)".
 * Writes into `buf`. */
void rt_capacity_text(hv_worker *w, const hv_node *p, char *buf, size_t cap);

#endif
