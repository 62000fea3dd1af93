/* Warning of the registry's expiry. The registry's expiry stops the whole
 * network (no node loads an expired registry), so every daemon warns from
 * HV_REGISTRY_WARN_DAYS before it (registry_expiring, level warn) and
 * raises it to an error from HV_REGISTRY_DEGRADED_DAYS, when the broker's
 * /healthz also says degraded. */
#ifndef HV_REGISTRY_EXPIRY_H
#define HV_REGISTRY_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_registry.h"

#define HV_REGISTRY_WARN_DAYS 14
#define HV_REGISTRY_DEGRADED_DAYS 3
#define HV_DAY_SECONDS 86400

/* How close the registry is to its expiry. */
typedef enum hv_expiry_level {
    HV_EXPIRY_FINE = 0,     /* more than HV_REGISTRY_WARN_DAYS left */
    HV_EXPIRY_WARN = 1,     /* warned of: less than HV_REGISTRY_WARN_DAYS left */
    HV_EXPIRY_DEGRADED = 2, /* less than HV_REGISTRY_DEGRADED_DAYS left */
    HV_EXPIRY_EXPIRED = 3,  /* expired: nothing loads it any more */
} hv_expiry_level;

/* The level for `seconds_left` (negative once expired). */
hv_expiry_level hv_registry_expiry_level(int64_t seconds_left);

/* Seconds from `now` to `reg`'s expiry; negative once it has passed. */
int64_t hv_registry_seconds_left(const hv_registry *reg, uint64_t now);

/* Writes "N days", "N hours" or "N minutes" (whole units left, rounded
 * down; "1 day", ...) into `out` (`cap` bytes); "0 minutes" once expired. */
void hv_registry_expiry_human(int64_t seconds_left, char *out, size_t cap);

/* What a daemon remembers of its last warning. Zero it before the first
 * call; fields are private. */
typedef struct hv_expiry_watch {
    uint64_t version;           /* the registry last warned of, 0 before any */
    uint64_t next_at;           /* Unix seconds from which the next warning is due */
    hv_expiry_level level;      /* the level of the last warning */
} hv_expiry_watch;

/* Called at start and then on every tick: logs registry_expiring (warn,
 * or error under HV_REGISTRY_DEGRADED_DAYS) with the days left when the
 * registry is within HV_REGISTRY_WARN_DAYS of its expiry, at the first
 * call for a registry version, then once a day, and at once when it
 * becomes more urgent. Logs nothing otherwise. Returns the level. */
hv_expiry_level hv_registry_expiry_watch(hv_expiry_watch *w, const hv_registry *reg,
                                         uint64_t now);

#endif
