/* The broker's state, shared by its modules (internal to broker/). One
 * thread runs them all (hv_broker.h), so nothing here is locked.
 *
 * struct hv_broker is the loop's: its own fields are the sockets and keys
 * the loop opens, the registry, and the session table (written by
 * hv_broker_session.c). Each other concern owns a part of it that only its
 * module writes: custody (hv_broker_custody.h: the store, the audit log,
 * the group transaction, the counters), links to peer brokers
 * (hv_broker_links.h) and operators (hv_broker_ops.h: their sockets, the
 * HTTP thread, the latency histogram, flows and rates). */
#ifndef HV_BROKER_INTERNAL_H
#define HV_BROKER_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_broker.h"
#include "hv_broker_custody.h"
#include "hv_broker_dash.h"
#include "hv_broker_health.h"
#include "hv_broker_heads.h"
#include "hv_broker_links.h"
#include "hv_broker_notice.h"
#include "hv_broker_ops.h"
#include "hv_broker_prekeys.h"
#include "hv_broker_session.h"
#include "hv_broker_trust.h"
#include "hv_keys.h"
#include "hv_registry.h"
#include "hv_registry_expiry.h"

struct hv_broker {
    hv_broker_config cfg;          /* settings */
    void *ctx;                     /* ZeroMQ context */
    void *zap;                     /* ZAP handler socket */
    void *router;                  /* workers' ROUTER socket */
    hv_keypair *keys;              /* this broker's keys */
    uint8_t authority_pk[32];      /* pinned authority signing key */
    hv_registry *reg;              /* current registry */
    hv_session *sessions;          /* connected clients and our links (hv_broker_session.c) */
    size_t n_sessions;             /* how many */
    size_t cap_sessions;           /* allocated */
    uint64_t n_refused;            /* ERRORs sent (hv_session_refuse) */
    bool behind;                   /* the last drain hit the batch limit */
    volatile sig_atomic_t stopping; /* SIGTERM seen */
    volatile sig_atomic_t reloading; /* SIGHUP seen */
    volatile sig_atomic_t rotating; /* SIGUSR1 seen: rotate the audit log */
    hv_expiry_watch expiry;        /* registry_expiring warnings given */
    hv_broker_custody custody;     /* store, audit, group commit, counters */
    hv_broker_links links;         /* peer brokers */
    hv_broker_ops ops;             /* operators' sockets, HTTP, metrics */
    hv_broker_prekeys prekeys;     /* prekey directory (hv_broker_prekeys.c) */
    hv_broker_health health;       /* peers' health summaries (hv_broker_health.c) */
    hv_broker_dash dash;           /* the dashboard's history and sightings (hv_broker_dash.c) */
    hv_broker_heads heads;         /* heads of its own audit log (hv_broker_heads.c) */
};

#endif
