/* What the worker shell's own modules share, and nothing else may use:
 * the daemon's state (hv_worker.c: its life, the store's transactions,
 * messages in and out) and the entry of its control sockets
 * (hv_worker_control.c: requests from administrators and haven-web). */
#ifndef HV_WORKER_INTERNAL_H
#define HV_WORKER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_audit.h"
#include "hv_client.h"
#include "hv_ctlsock.h"
#include "hv_db.h"
#include "hv_events.h"
#include "hv_keyring.h"
#include "hv_prekeys.h"
#include "hv_registry.h"
#include "hv_registry_expiry.h"
#include "hv_witness.h"
#include "hv_worker.h"
#include "hv_worker_metrics.h"

struct hv_worker {
    const hv_worker_app *app;        /* the worker's own part */
    hv_worker_config cfg;            /* configuration */
    hv_keyring *ring;                /* this node's key sets (hv_keyring.h) */
    uint8_t authority_pk[32];        /* pinned authority key */
    hv_registry *reg;                /* current registry */
    const hv_node *self;             /* this node in `reg` */
    hv_client *client;               /* broker connection and store */
    hv_prekeys *prekeys;             /* short-lived box keys, own and others' */
    void *ctl_ctx;                   /* ZeroMQ context of the control sockets */
    hv_ctlsock *ctl;                 /* the administrators' control socket */
    hv_ctlsock *staff;               /* the staff control socket (haven-web), or NULL */
    hv_events_waits *waits;          /* events.wait requests held */
    bool events_new;                 /* a commit may have added events */
    int lock_fd;                     /* single-instance lock on the store */
    bool purge;                      /* truncate the WAL after the commit */
    hv_db_erase erase;               /* when the WAL is next truncated anyway */
    int64_t erase_deferred_since;    /* monotonic ms truncation has been deferred since, 0 = not */
    bool erase_stuck;                /* ...for a minute: warned */
    hv_audit *audit;                 /* the node's hash-chained audit log */
    hv_witness *witness;             /* its signed heads, witnessed by the broker */
    char audit_path[PATH_MAX + 8];   /* STORE.audit */
    struct hv_worker_audit_rec {
        uint8_t referral[16];                 /* the referral */
        char event[32];                       /* the state it entered */
        char by[HV_BY_MAX + 1];               /* who caused it */
    } *audit_pending;                /* records that go to the log after the commit */
    size_t n_audit, cap_audit;       /* count, allocated */
    hv_expiry_watch expiry;          /* registry_expiring warnings given */
    hv_worker_metrics *metrics;      /* counters and the [metrics] endpoint */
    unsigned erasing;                /* erasures in the open transaction */
};

/* Commits the open transaction and writes its audit records. A failed
 * commit (false) stops the worker: the acknowledgements queued with it
 * must not leave. */
bool hv_worker_commit(hv_worker *w);

/* Rolls the open transaction back and drops its audit records. */
void hv_worker_rollback(hv_worker *w);

/* Waits up to `ms` for control requests on either socket and serves them
 * (hv_worker_control.c). */
void hv_worker_control_poll(hv_worker *w, long ms);

#endif
