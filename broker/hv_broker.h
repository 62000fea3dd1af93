/* The broker: authenticated, durable store-and-forward between the workers
 * of one country (../shared/DESIGN.md §4, proto/PROTOCOL.md §5).
 *
 * One thread runs everything: the ZAP handler, the workers' ROUTER socket,
 * the peer brokers' ROUTER socket and the links to them, the store's group
 * commits, deliveries and timers, so no state is shared between threads.
 *
 * Federation (DESIGN §4) is opt-in: a broker peers only with the brokers
 * its [federation] section lists. A message for a node homed at such a
 * peer is kept here until that broker answers STORED after its own commit;
 * the link to it is a client session of the ordinary protocol, pinned to
 * the peer's registered key. */
#ifndef HV_BROKER_H
#define HV_BROKER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_err.h"
#include "hv_httpguard.h"

/* Settings from broker.ini. Fields are public: main() fills the struct. */
typedef struct hv_broker_config {
    char id[65];               /* this broker's node id */
    char keys[PATH_MAX];       /* its secret key file */
    char authority[PATH_MAX];  /* the network authority's .pub */
    char registry[PATH_MAX];   /* the signed registry */
    char store[PATH_MAX];      /* SQLite store file */
    char bind[256];            /* workers endpoint; "" = the registry's */
    char log_level[16];        /* debug, info, warn or error */
    uint64_t max_message;      /* largest frame accepted, bytes */
    uint64_t rate_per_second;  /* SENDs per node per second, sustained */
    uint64_t rate_burst;       /* SENDs per node in a burst */
    uint64_t hwm;              /* ZeroMQ high-water marks, messages */
    uint64_t heartbeat_ms;     /* heartbeat interval, both ways */
    uint64_t dead_after_ms;    /* silence after which a peer is dead */
    uint64_t lease_ms;         /* time a delivery may stay unacknowledged */
    uint64_t retry_max_ms;     /* longest redelivery backoff */
    uint64_t batch;            /* most messages handled per group commit */
    uint64_t group_ms;         /* longest a change waits for its group commit */
    bool erase;                /* [store] overwrite what is deleted, truncate the WAL (default) */
    uint64_t replay_hours;     /* [custody] how long delivered envelopes stay replayable; 0 = off */
    char peers[1024];          /* [federation] brokers to peer with, comma-separated */
    char bind_peers[256];      /* [federation] peers' endpoint; "" = the registry's */
    uint64_t peer_window;      /* envelopes in flight to one peer */
    char bind_ops[256];        /* [operators] endpoint for `haven stats`; "" = none */
    char bind_events[256];     /* [operators] events endpoint for `haven monitor`; "" = none */
    char http_bind[64];        /* [http] HOST:PORT for /metrics, /healthz, /api/stats; "" = none */
    char http_token[129];      /* [http] bearer token; required off loopback */
    hv_http_limits http_limits; /* [http] connections and deadlines (issue 20) */
} hv_broker_config;

/* Sets the defaults, then reads `path`. Relative paths in the file are
 * taken from the file's directory. Returns HV_OK, HV_ENOTFOUND, HV_ECONFIG. */
HV_MUST_CHECK hv_err hv_broker_config_load(const char *path, hv_broker_config *cfg,
                                           hv_errmsg *e);

typedef struct hv_broker hv_broker;

/* Checks everything hv_broker_open would refuse that can be known without
 * opening the store or binding: keys, registry, this broker in it,
 * [federation], [http], the store's directory. Binds nothing and writes
 * nothing (the daemon's -n). Returns HV_OK or the error hv_broker_open
 * would return, explained in `e`. */
HV_MUST_CHECK hv_err hv_broker_check(const hv_broker_config *cfg, hv_errmsg *e);

/* Loads keys and registry, opens the store, starts the ZAP handler and
 * binds. Caller owns `*out`. */
HV_MUST_CHECK hv_err hv_broker_open(hv_broker **out, const hv_broker_config *cfg, hv_errmsg *e);

/* Serves until hv_broker_stop; returns HV_OK after a clean stop. */
HV_MUST_CHECK hv_err hv_broker_run(hv_broker *b);

/* Asks the loop to stop after the commit under way. Async-signal-safe. */
void hv_broker_stop(hv_broker *b);

/* Asks the loop to reload the registry. Async-signal-safe. */
void hv_broker_reload(hv_broker *b);

/* Asks the loop to rotate the audit log at its next pass (SIGUSR1;
 * hv_broker_heads_rotate). Async-signal-safe. */
void hv_broker_rotate_audit(hv_broker *b);

/* Closes sockets and store; safe on NULL and twice. */
void hv_broker_close(hv_broker **b);

#endif
