/* A worker's configuration file: the [worker], [staff], [timing],
 * [prekeys], [metrics] and [pathway] sections read into hv_worker_config
 * and checked (hv_worker.h). Its own file so that the daemon shell reads
 * as its life: open, handle, tick, close. */
#include "hv_worker.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hv_config.h"
#include "hv_log.h"
#include "hv_registry.h"

hv_err hv_worker_config_load(const char *path, hv_worker_config *cfg, hv_errmsg *e)
{
#define F(sec, key, type, req, min, max, field, expect)                                        \
    {sec, key, type, req, min, max, offsetof(hv_worker_config, field),                        \
     sizeof(((hv_worker_config *)0)->field), expect}
#define P(n) F("pathway", NULL, HV_CFG_STRING, false, 0, 0, pathway[n], \
               "provider node ids separated by commas, in the order offers are made")
    hv_cfg_field fields[] = {
        F("worker", "id", HV_CFG_STRING, true, 0, 0, id, "this worker's node id"),
        F("worker", "keys", HV_CFG_STRING, true, 0, 0, keys, "the path of its .key file"),
        F("worker", "authority", HV_CFG_STRING, true, 0, 0, authority,
          "the path of the network authority's .pub file"),
        F("worker", "registry", HV_CFG_STRING, true, 0, 0, registry,
          "the path of the signed registry"),
        F("worker", "store", HV_CFG_STRING, true, 0, 0, store, "the path of the store file"),
        F("worker", "control", HV_CFG_STRING, true, 0, 0, control,
          "the path of the control socket"),
        F("worker", "control_group", HV_CFG_BOOL, false, 0, 0, control_group,
          "yes or no (yes: the control socket is 0660, for the worker's group)"),
        F("worker", "log_level", HV_CFG_STRING, false, 0, 0, log_level,
          "debug, info, warn or error"),
        F("worker", "staff_control", HV_CFG_STRING, false, 0, 0, staff_control,
          "the path of the staff control socket (for haven-web)"),
        F("worker", "staff_group", HV_CFG_STRING, false, 0, 0, staff_group,
          "the Unix group that may open the staff control socket"),
        F("staff", "all_caseworkers_see_all", HV_CFG_BOOL, false, 0, 0,
          all_caseworkers_see_all, "true or false"),
        F("timing", "heartbeat_ms", HV_CFG_UINT, false, 100, 60000, heartbeat_ms,
          "milliseconds from 100 to 60000"),
        F("timing", "dead_after_ms", HV_CFG_UINT, false, 300, 600000, dead_after_ms,
          "milliseconds from 300 to 600000"),
        F("timing", "tick_ms", HV_CFG_UINT, false, 50, 60000, tick_ms,
          "milliseconds from 50 to 60000"),
        F("router", "offer_timeout_s", HV_CFG_UINT, false, 1, 30 * 24 * 3600, offer_timeout_s,
          "seconds from 1 to 2592000"),
        F("provider", "retention_days", HV_CFG_UINT, false, 0, 3650, retention_days,
          "days from 0 to 3650"),
        F("intake", "retention_days", HV_CFG_UINT, false, 0, 3650, intake_retention_days,
          "days from 0 to 3650 (0: a closed case is kept until erased by hand)"),
        F("deadlines", "receipt_hours", HV_CFG_UINT, false, 1, 720, receipt_hours,
          "hours from 1 to 720"),
        F("deadlines", "receipt_s", HV_CFG_UINT, false, 1, 30 * 24 * 3600, receipt_s,
          "seconds from 1 to 2592000"),
        F("deadlines", "confirm_days", HV_CFG_UINT, false, 1, 365, confirm_days,
          "days from 1 to 365"),
        F("deadlines", "confirm_s", HV_CFG_UINT, false, 1, 365 * 24 * 3600, confirm_s,
          "seconds from 1 to 31536000"),
        F("deadlines", "review_days", HV_CFG_UINT, false, 1, 365, review_days,
          "days from 1 to 365"),
        F("deadlines", "review_s", HV_CFG_UINT, false, 1, 365 * 24 * 3600, review_s,
          "seconds from 1 to 31536000"),
        F("provider", "places", HV_CFG_UINT, false, 0, HV_PLACES_MAX, places,
          "places from 0 to 100000 (0: the registry's capacity)"),
        F("provider", "capacity_every_s", HV_CFG_UINT, false, 1, 600, capacity_every_s,
          "seconds from 1 to 600"),
        F("intake", "attachment_max_mib", HV_CFG_UINT, false, 1, 64, attachment_max_mib,
          "MiB from 1 to 64"),
        F("intake", "case_attachments_max_mib", HV_CFG_UINT, false, 1, 512,
          case_attachments_max_mib, "MiB from 1 to 512"),
        F("prekeys", "lifetime_days", HV_CFG_UINT, false, 1, 30, prekey_days,
          "days from 1 to 30"),
        F("prekeys", "lifetime_s", HV_CFG_UINT, false, 1, 30 * 24 * 3600, prekey_s,
          "seconds from 1 to 2592000"),
        F("prekeys", "keep_s", HV_CFG_UINT, false, 1, 30 * 24 * 3600, prekey_keep_s,
          "seconds from 1 to 2592000"),
        F("audit", "head_every", HV_CFG_UINT, false, 1, 100000, audit_head_every,
          "records from 1 to 100000"),
        F("audit", "head_seconds", HV_CFG_UINT, false, 1, 86400, audit_head_s,
          "seconds from 1 to 86400"),
        F("metrics", "bind", HV_CFG_STRING, false, 0, 0, metrics_bind,
          "HOST:PORT of the loopback Prometheus endpoint"),
        F("metrics", "token", HV_CFG_STRING, false, 0, 0, metrics_token,
          "a bearer token of 16 to 128 characters"),
        F("metrics", "connections", HV_CFG_UINT, false, 1, 4096, metrics_limits.connections,
          "connections from 1 to 4096"),
        F("metrics", "connections_per_address", HV_CFG_UINT, false, 1, 4096,
          metrics_limits.per_address, "connections from 1 to 4096"),
        F("metrics", "connection_timeout_s", HV_CFG_UINT, false, 1, 3600,
          metrics_limits.idle_s, "seconds from 1 to 3600"),
        F("metrics", "head_timeout_s", HV_CFG_UINT, false, 1, 3600, metrics_limits.head_s,
          "seconds from 1 to 3600"),
        F("metrics", "body_timeout_s", HV_CFG_UINT, false, 1, 3600, metrics_limits.body_s,
          "seconds from 1 to 3600"),
        P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10),
    };
#undef P
#undef F
    _Static_assert(HV_SVC_COUNT == 11, "one [pathway] key per service");
    size_t n_fields = sizeof fields / sizeof fields[0];
    for (unsigned i = 0; i < HV_SVC_COUNT; i++)
        fields[n_fields - HV_SVC_COUNT + i].key = hv_service_name(i);
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->log_level, "info");
    cfg->heartbeat_ms = 1000;
    cfg->dead_after_ms = 3000;
    cfg->tick_ms = 200;
    cfg->offer_timeout_s = 48 * 3600;
    cfg->retention_days = 365;
    cfg->intake_retention_days = 365;
    cfg->receipt_hours = 24;
    cfg->confirm_days = 7;
    cfg->review_days = 30;
    cfg->capacity_every_s = 600;
    cfg->attachment_max_mib = 20;
    cfg->case_attachments_max_mib = 50;
    cfg->prekey_days = 7;
    cfg->prekey_keep_s = HV_TTL_MAX;
    cfg->metrics_limits = hv_http_limits_ops();
    cfg->audit_head_every = 16;
    cfg->audit_head_s = 10;
    hv_err err = hv_config_load(path, fields, n_fields, cfg, e);
    if (err != HV_OK)
        return err;
    if (!hv_node_id_valid_cstr(cfg->id))
        return hv_fail(e, HV_ECONFIG, "%s: key 'id' in [worker]: '%s' is not a node id", path,
                       cfg->id);
    if (hv_log_level_from_name(cfg->log_level) < 0)
        return hv_fail(e, HV_ECONFIG, "%s: key 'log_level' in [worker]: expected debug, info, "
                       "warn or error", path);
    if (cfg->dead_after_ms <= cfg->heartbeat_ms)
        return hv_fail(e, HV_ECONFIG, "%s: key 'dead_after_ms' in [timing]: expected more "
                       "than heartbeat_ms", path);
    if (cfg->staff_control[0] != '\0' && strcmp(cfg->staff_control, cfg->control) == 0)
        return hv_fail(e, HV_ECONFIG, "%s: key 'staff_control' in [worker]: must not be the "
                       "administrators' control socket", path);
    if (cfg->staff_group[0] != '\0' && cfg->staff_control[0] == '\0')
        return hv_fail(e, HV_ECONFIG, "%s: key 'staff_group' in [worker]: only with "
                       "staff_control", path);
    char *paths[] = {cfg->keys, cfg->authority, cfg->registry, cfg->store, cfg->control,
                     cfg->staff_control};
    return hv_config_resolve_paths(path, paths, sizeof paths / sizeof paths[0], PATH_MAX, e);
}
