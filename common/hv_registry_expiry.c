/* Warning of the registry's expiry; see hv_registry_expiry.h. */
#include "hv_registry_expiry.h"

#include <inttypes.h>
#include <stdio.h>

#include "hv_log.h"

hv_expiry_level hv_registry_expiry_level(int64_t seconds_left)
{
    if (seconds_left <= 0)
        return HV_EXPIRY_EXPIRED;
    if (seconds_left < (int64_t)HV_REGISTRY_DEGRADED_DAYS * HV_DAY_SECONDS)
        return HV_EXPIRY_DEGRADED;
    if (seconds_left < (int64_t)HV_REGISTRY_WARN_DAYS * HV_DAY_SECONDS)
        return HV_EXPIRY_WARN;
    return HV_EXPIRY_FINE;
}

int64_t hv_registry_seconds_left(const hv_registry *reg, uint64_t now)
{
    uint64_t at = hv_registry_expires_at(reg);
    if (at >= now)
        return at - now > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(at - now);
    return now - at > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)(now - at);
}

void hv_registry_expiry_human(int64_t seconds_left, char *out, size_t cap)
{
    int64_t s = seconds_left > 0 ? seconds_left : 0, n;
    const char *unit;
    if (s >= HV_DAY_SECONDS) {
        n = s / HV_DAY_SECONDS;
        unit = "day";
    } else if (s >= 3600) {
        n = s / 3600;
        unit = "hour";
    } else {
        n = s / 60;
        unit = "minute";
    }
    snprintf(out, cap, "%" PRId64 " %s%s", n, unit, n == 1 ? "" : "s");
}

hv_expiry_level hv_registry_expiry_watch(hv_expiry_watch *w, const hv_registry *reg,
                                         uint64_t now)
{
    int64_t left = hv_registry_seconds_left(reg, now);
    hv_expiry_level level = hv_registry_expiry_level(left);
    if (level == HV_EXPIRY_FINE) {
        w->version = hv_registry_version(reg);
        w->level = level;
        return level;
    }
    bool due = w->version != hv_registry_version(reg) || now >= w->next_at || level > w->level;
    if (!due)
        return level;
    w->version = hv_registry_version(reg);
    w->next_at = now + HV_DAY_SECONDS;
    w->level = level;
    char at[21], human[32];
    hv_time_format(hv_registry_expires_at(reg), at);
    hv_registry_expiry_human(left, human, sizeof human);
    char detail[96];
    if (level == HV_EXPIRY_EXPIRED)
        snprintf(detail, sizeof detail, "the registry expired at %s", at);
    else
        snprintf(detail, sizeof detail, "the registry expires in %s, at %s", human, at);
    hv_log(level >= HV_EXPIRY_DEGRADED ? HV_LOG_ERROR : HV_LOG_WARN, "registry_expiring",
           "version=%" PRIu64 " expires=%s days_left=%" PRId64 " seconds_left=%" PRId64
           " detail=\"%s; get the next registry from your network authority\"",
           hv_registry_version(reg), at, left > 0 ? left / HV_DAY_SECONDS : 0, left, detail);
    return level;
}
