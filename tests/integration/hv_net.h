/* A small Haven network for integration tests: real keys, a signed
 * registry, a broker started as a process on loopback, clients and raw
 * CURVE sockets. Conditions are awaited with deadlines, never with sleeps. */
#ifndef HV_NET_H
#define HV_NET_H

#include <stdbool.h>
#include <sys/types.h>

#include "hv_client.h"
#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_test.h"

#define HVN_NODES 8

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

/* Starts the broker and waits until it serves (deadline 10 s). */
void hvn_start(hvn *n);

/* Sends `sig` to the broker; for SIGTERM and SIGKILL waits for its exit
 * and returns its exit status (or -signal). */
int hvn_signal(hvn *n, int sig);

/* Stops everything and removes the directory. */
void hvn_fini(hvn *n);

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
    void *sock;     /* DEALER */
    void *monitor;  /* PAIR receiving monitor events */
} hvn_raw;

/* Connects a raw socket with `keys` and returns the handshake outcome
 * (waiting up to 5 s). */
hvn_handshake hvn_raw_open(hvn *n, const hv_keypair *keys, hvn_raw *raw);
void hvn_raw_close(hvn_raw *raw);

/* Sends one control message / raw bytes on a raw socket. */
void hvn_raw_send(hvn_raw *raw, const hv_control *m);
void hvn_raw_send_bytes(hvn_raw *raw, const void *buf, size_t len);

/* Receives the next control message other than HEARTBEAT within
 * `timeout_ms`; false on timeout. */
bool hvn_raw_recv(hvn_raw *raw, int timeout_ms, hv_control *out, uint8_t **frame);

/* Sends HELLO as node `who` and expects READY. */
void hvn_raw_hello(hvn *n, hvn_raw *raw, int who, uint32_t credit);

/* True when the raw socket's connection was dropped within `timeout_ms`. */
bool hvn_raw_disconnected(hvn_raw *raw, int timeout_ms);

/* Waits until the broker's log contains `text` (new since `from_offset`
 * bytes); false on timeout. */
bool hvn_wait_log(hvn *n, const char *text, long from_offset, int timeout_ms);

/* The broker log's current size, for hvn_wait_log. */
long hvn_log_size(hvn *n);

/* Polls `c` until a notice arrives (returned) or the deadline passes. */
bool hvn_wait_notice(hv_client *c, int timeout_ms, hv_notice *out);

/* Polls `c` until its outbox is empty; false on timeout. */
bool hvn_wait_stored(hv_client *c, int timeout_ms);

#endif
