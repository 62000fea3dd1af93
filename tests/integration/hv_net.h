/* A small Haven network for integration tests: real keys, a signed
 * registry, a broker started as a process on loopback, clients and raw
 * CURVE sockets. Conditions are awaited with deadlines, never with sleeps.
 *
 * Every wait names itself and where it was called from (the macros below
 * pass the caller's function and line). A wait that outlives its own
 * deadline by HVN_WATCHDOG_GRACE_S, or one with no deadline of its own (a
 * broker that does not exit, a context that does not end), is stopped by a
 * watchdog that prints which test line was waiting for what and the tail of
 * the broker's log, kills the broker and ends the test binary with exit 1. */
#ifndef HV_NET_H
#define HV_NET_H

#include <stdbool.h>
#include <sys/types.h>

#include "hv_client.h"
#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_test.h"

#define HVN_NODES 8
#define HVN_RAW_MAX 16           /* raw sockets open at once per network */
#define HVN_WATCHDOG_GRACE_S 20  /* added to a wait's own deadline */

/* Where a harness call was made, for the watchdog's and failures' reports. */
typedef struct hvn_where {
    const char *func; /* calling function */
    const char *file; /* its source file */
    int line;         /* and line */
} hvn_where;
#define HVN_HERE ((hvn_where){__func__, __FILE__, __LINE__})

typedef struct hvn {
    char dir[256];               /* working directory */
    char broker_bin[4096];       /* haven-broker executable */
    char endpoint[64];           /* broker's workers endpoint */
    char ini[300];               /* broker.ini path */
    char extra_config[1024];     /* lines appended to broker.ini */
    pid_t broker;                /* running broker, or 0 */
    hv_keypair *authority;       /* network authority */
    const char *ids[HVN_NODES];  /* node ids (index 0 is the broker) */
    hv_keypair *keys[HVN_NODES]; /* their keys */
    hv_keypair *outsider;        /* keys not in the registry */
    void *zctx;                  /* context for raw sockets */
    unsigned registry_version;   /* last written */
    const char *home[HVN_NODES]; /* a worker's home broker; NULL: broker.xc */
    char extra_nodes[8192];      /* more nodes for the registry: JSON objects, each
                                    after a comma (",{...},{...}"); "" for none */
    void *raw_open[HVN_RAW_MAX][2]; /* raw sockets and monitors not yet closed */
} hvn;

/* Node indexes. */
enum { HVN_BROKER, HVN_NGO, HVN_ROUTER, HVN_SHELTER, HVN_LEGAL, HVN_REVOKED, HVN_EXPIRED,
       HVN_CLINIC };

/* Creates keys, the registry (version 1) and broker.ini in a fresh
 * directory. `extra` is appended to broker.ini (may be NULL). */
void hvn_init(hvn *n, const char *broker_bin, const char *extra);

/* (Re)writes and signs the registry with `version`; the node at index
 * `revoke` (or -1) is marked revoked. */
void hvn_write_registry(hvn *n, unsigned version, int revoke);

/* A free loopback TCP port, for more endpoints of the broker. */
int hvn_free_port(void);

/* The registry's "keys" object for `kp`: {"sign":HEX,"box":HEX,"transport":HEX}. */
void hvn_keys_json(const hv_keypair *kp, char *out, size_t cap);

/* Starts the broker and waits until it serves (deadline 10 s). */
#define hvn_start(n) hvn_start_at(HVN_HERE, n)
void hvn_start_at(hvn_where at, hvn *n);

/* Sends `sig` to the broker; for SIGTERM and SIGKILL waits for its exit
 * (deadline 30 s) and returns its exit status (or -signal). */
#define hvn_signal(n, sig) hvn_signal_at(HVN_HERE, n, sig)
int hvn_signal_at(hvn_where at, hvn *n, int sig);

/* Stops everything, closes raw sockets a failed test left open (so that
 * ending the context cannot hang) and removes the directory. */
#define hvn_fini(n) hvn_fini_at(HVN_HERE, n)
void hvn_fini_at(hvn_where at, hvn *n);

/* Opens a client for node `who` with its own store file `store_tag`. */
hv_client *hvn_client(hvn *n, int who, const char *store_tag);

/* The path of the store that hvn_client(n, who, store_tag) uses, for
 * looking at what it has committed through a connection of one's own. */
void hvn_store_path(const hvn *n, int who, const char *store_tag, char *out, size_t cap);

/* Seals an envelope from `from` to `to`. Caller frees `*wire`. */
void hvn_seal(hvn *n, int from, int to, unsigned type, uint32_t ttl_s, uint8_t **wire,
              size_t *len, uint8_t id[16]);

/* As hvn_seal, but signed by `signer` while claiming to come from `from_id`. */
void hvn_seal_as(hvn *n, int signer, const char *from_id, int to, unsigned type,
                 uint8_t **wire, size_t *len, uint8_t id[16]);

/* What a CurveZMQ handshake with the broker came to. */
typedef enum { HVN_HS_OK = 1, HVN_HS_REFUSED = 2, HVN_HS_NONE = 3 } hvn_handshake;

/* A raw DEALER with `keys`, watched by a socket monitor. */
typedef struct hvn_raw {
    hvn *net;       /* the network it belongs to */
    int slot;       /* its place in net->raw_open */
    void *sock;     /* DEALER */
    void *monitor;  /* PAIR receiving monitor events */
} hvn_raw;

/* Connects a raw socket with `keys` and returns the handshake outcome
 * (waiting up to 5 s). When no handshake came, prints the monitor events
 * that did and the broker log's tail. */
#define hvn_raw_open(n, keys, raw) hvn_raw_open_at(HVN_HERE, n, keys, raw)
hvn_handshake hvn_raw_open_at(hvn_where at, hvn *n, const hv_keypair *keys, hvn_raw *raw);

/* As hvn_raw_open, to another endpoint of the broker and with a socket of
 * `type` (ZMQ_DEALER, or ZMQ_SUB, subscribed to everything). */
#define hvn_raw_open_to(n, keys, endpoint, type, raw) \
    hvn_raw_open_to_at(HVN_HERE, n, keys, endpoint, type, raw)
hvn_handshake hvn_raw_open_to_at(hvn_where at, hvn *n, const hv_keypair *keys,
                                 const char *endpoint, int type, hvn_raw *raw);

/* Stops the monitor, then closes the socket and the monitor's reader. */
void hvn_raw_close(hvn_raw *raw);

/* Sends one control message / raw bytes on a raw socket. */
void hvn_raw_send(hvn_raw *raw, const hv_control *m);
void hvn_raw_send_bytes(hvn_raw *raw, const void *buf, size_t len);

/* Receives the next control message other than HEARTBEAT within
 * `timeout_ms`; false on timeout. */
#define hvn_raw_recv(raw, timeout_ms, out, frame) \
    hvn_raw_recv_at(HVN_HERE, raw, timeout_ms, out, frame)
bool hvn_raw_recv_at(hvn_where at, hvn_raw *raw, int timeout_ms, hv_control *out,
                     uint8_t **frame);

/* Sends HELLO as node `who` and expects READY. */
#define hvn_raw_hello(n, raw, who, credit) hvn_raw_hello_at(HVN_HERE, n, raw, who, credit)
void hvn_raw_hello_at(hvn_where at, hvn *n, hvn_raw *raw, int who, uint32_t credit);

/* True when the raw socket's connection was dropped within `timeout_ms`. */
#define hvn_raw_disconnected(raw, timeout_ms) hvn_raw_disconnected_at(HVN_HERE, raw, timeout_ms)
bool hvn_raw_disconnected_at(hvn_where at, hvn_raw *raw, int timeout_ms);

/* Waits until the broker's log contains `text` (new since `from_offset`
 * bytes); false on timeout. */
#define hvn_wait_log(n, text, from_offset, timeout_ms) \
    hvn_wait_log_at(HVN_HERE, n, text, from_offset, timeout_ms)
bool hvn_wait_log_at(hvn_where at, hvn *n, const char *text, long from_offset, int timeout_ms);

/* The broker log's current size, for hvn_wait_log. */
long hvn_log_size(hvn *n);

/* Polls `c` until a notice arrives (returned) or the deadline passes. */
#define hvn_wait_notice(c, timeout_ms, out) hvn_wait_notice_at(HVN_HERE, c, timeout_ms, out)
bool hvn_wait_notice_at(hvn_where at, hv_client *c, int timeout_ms, hv_notice *out);

/* Polls `c` until its outbox is empty; false on timeout. */
#define hvn_wait_stored(c, timeout_ms) hvn_wait_stored_at(HVN_HERE, c, timeout_ms)
bool hvn_wait_stored_at(hvn_where at, hv_client *c, int timeout_ms);

#endif
