/* The broker store's health (internal to broker/; docs/DECISIONS.md, "A
 * store that fails while running"): one job, telling a store call that
 * failed for a reason that lasts (the disk full, the file damaged, an I/O
 * error) from one that passes (a lock), and what the broker does meanwhile.
 *
 * A lasting failure puts the store in fault: custody answers every SEND
 * with ERROR HV_ESTORE (the sender keeps the message and sends it again
 * later) before touching the store, delivery and the timers leave it
 * alone, one log line says so (the file, SQLite's reason, what the broker
 * does), /healthz fails and /metrics shows haven_store_failed 1; further
 * failures are only counted. A full disk is probed once a second: once the
 * file system has HV_FAULT_FREE_BYTES free and a write commits, the fault
 * ends (logged once, store_recovered). Damage and I/O errors are not to be
 * trusted again without an operator: the fault lasts until the broker is
 * restarted, which checks the store (hv_db_check) before using it. */
#ifndef HV_BROKER_FAULT_H
#define HV_BROKER_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_db.h"

/* The room a full disk must have again before the store is used: more
 * than the largest group commit (a batch of envelopes and their WAL
 * frames), so that the first commit after recovery does not fail again. */
#define HV_FAULT_FREE_BYTES (16LL * 1024 * 1024)

/* The store's health, custody's part of the broker (hv_broker_custody). */
typedef struct hv_broker_fault {
    hv_db_fault kind;       /* HV_DB_FAULT_NONE while the store works */
    char reason[128];       /* SQLite's words for the failure that began the fault */
    char op[64];            /* what the broker was doing then */
    int64_t since_ms;       /* wall clock (Unix ms) of its start */
    int64_t next_probe_ms;  /* monotonic ms of the next probe of a full disk */
    uint64_t failures;      /* store calls that failed since start */
    uint64_t faults;        /* times the store went into fault */
} hv_broker_fault;

typedef struct hv_broker hv_broker;

/* A store call failed while doing `fmt` ("op=next node=..."): classifies
 * hv_store_errcode; a lasting failure begins the fault (logged once, at
 * error), a passing one is logged as before; in fault, nothing is logged. */
void hv_broker_store_failed(hv_broker *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* False while the store is in fault: take nothing into custody. */
bool hv_broker_store_ok(const hv_broker *b);

/* Once a second while a full disk is the fault: the probe above; on
 * recovery every session looks at its queue again. */
void hv_broker_fault_tick(hv_broker *b, int64_t now);

/* The fault in words for /healthz ("disk full: database or disk is full
 * (broker.db, op=commit, since ...)"), into `out`; "" when none. */
void hv_broker_fault_text(const hv_broker *b, char *out, size_t cap);

#endif
