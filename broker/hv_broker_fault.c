/* The broker store's health; see hv_broker_fault.h. */
#include "hv_broker_fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "hv_broker_internal.h"
#include "hv_log.h"

#define S_PROBE_EVERY_MS 1000

/* What the broker does about each kind of fault, for its log line. */
static const char *s_detail(hv_db_fault kind)
{
    switch (kind) {
    case HV_DB_FAULT_FULL:
        return "SENDs are answered ERROR HV_ESTORE (senders keep them and send again) and "
               "nothing is delivered until the disk has room again; free space on it";
    case HV_DB_FAULT_DAMAGED:
        return "SENDs are answered ERROR HV_ESTORE and nothing is delivered until the broker "
               "is restarted; stop it, check the store (haven-broker --check-store) and "
               HV_DB_RESTORE_HINT;
    default:
        return "SENDs are answered ERROR HV_ESTORE and nothing is delivered until the broker "
               "is restarted; check the disk (dmesg), then the store (haven-broker "
               "--check-store)";
    }
}

void hv_broker_store_failed(hv_broker *b, const char *fmt, ...)
{
    hv_broker_fault *f = &b->custody.fault;
    f->failures++;
    if (f->kind != HV_DB_FAULT_NONE)
        return; /* said once, when the fault began */
    char op[sizeof f->op];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op, sizeof op, fmt, ap);
    va_end(ap);
    hv_store *st = b->custody.store;
    hv_db_fault kind = hv_db_fault_of(hv_store_errcode(st));
    if (kind == HV_DB_FAULT_NONE) {
        hv_log(HV_LOG_ERROR, "store_failed", "%s reason=\"%s\"", op, hv_store_error(st));
        return;
    }
    f->kind = kind;
    f->faults++;
    f->since_ms = hv_now_ms();
    f->next_probe_ms = hv_mono_ms() + S_PROBE_EVERY_MS;
    snprintf(f->reason, sizeof f->reason, "%s", hv_store_error(st));
    snprintf(f->op, sizeof f->op, "%s", op);
    hv_log(HV_LOG_ERROR, "store_failed",
           "store=%s %s reason=\"%s\" sqlite=\"%s\" detail=\"%s\"", b->cfg.store, op,
           hv_db_fault_name(kind), f->reason, s_detail(kind));
}

bool hv_broker_store_ok(const hv_broker *b)
{
    return b->custody.fault.kind == HV_DB_FAULT_NONE;
}

/* Bytes free to an unprivileged writer on the file system of `path`. */
static long long s_free_bytes(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return -1;
    return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

void hv_broker_fault_tick(hv_broker *b, int64_t now)
{
    hv_broker_fault *f = &b->custody.fault;
    if (f->kind != HV_DB_FAULT_FULL || now < f->next_probe_ms)
        return;
    f->next_probe_ms = now + S_PROBE_EVERY_MS;
    long long free_bytes = s_free_bytes(b->cfg.store);
    if (free_bytes < HV_FAULT_FREE_BYTES)
        return;
    hv_store *st = b->custody.store;
    if (hv_store_probe(st) != HV_OK) {
        hv_db_fault kind = hv_db_fault_of(hv_store_errcode(st));
        if (kind != HV_DB_FAULT_FULL && kind != HV_DB_FAULT_NONE) {
            /* Worse than full now: said once more, and kept until restart. */
            f->kind = kind;
            snprintf(f->reason, sizeof f->reason, "%s", hv_store_error(st));
            hv_log(HV_LOG_ERROR, "store_failed",
                   "store=%s op=probe reason=\"%s\" sqlite=\"%s\" detail=\"%s\"", b->cfg.store,
                   hv_db_fault_name(kind), f->reason, s_detail(kind));
        }
        return;
    }
    hv_log(HV_LOG_WARN, "store_recovered",
           "store=%s reason=\"%s\" after_ms=%lld free_bytes=%lld failures=%llu", b->cfg.store,
           hv_db_fault_name(f->kind), (long long)(hv_now_ms() - f->since_ms), free_bytes,
           (unsigned long long)f->failures);
    f->kind = HV_DB_FAULT_NONE;
    f->reason[0] = '\0';
    f->op[0] = '\0';
    /* What was in flight when the fault began is delivered again (its
     * ACKs, if any came, were not recorded): recipients drop what they
     * have already seen. */
    for (size_t i = 0; i < b->n_sessions; i++) {
        b->sessions[i].n_flight = 0;
        b->sessions[i].cursor = 0;
        b->sessions[i].maybe_more = true;
    }
}

void hv_broker_fault_text(const hv_broker *b, char *out, size_t cap)
{
    const hv_broker_fault *f = &b->custody.fault;
    if (f->kind == HV_DB_FAULT_NONE) {
        snprintf(out, cap, "%s", "");
        return;
    }
    char at[32] = "";
    hv_time_format((uint64_t)(f->since_ms / 1000), at);
    snprintf(out, cap, "%s: %s (%s, %s, since %s)", hv_db_fault_name(f->kind), f->reason,
             b->cfg.store, f->op, at);
}
