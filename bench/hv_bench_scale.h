/* hv-bench-scale's shared pieces (issue 24): one benchmark network (keys, a
 * signed registry, broker.ini), the broker process, clients, sealed
 * envelopes and the figures the three parts read from /proc. The parts:
 *
 *   hv_bench_scale.c          main, and 10/100/1,000 connected nodes, most idle
 *   hv_bench_scale_idle.c     one node idle for --idle-seconds
 *   hv_bench_scale_backlog.c  1 -> 1 throughput beside a backlog of --backlog
 *
 * A benchmark program, not a test: nothing here asserts a timing. */
#ifndef HV_BENCH_SCALE_H
#define HV_BENCH_SCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv_client.h"
#include "hv_crypto.h"

#define HV_SCALE_SENDERS 3 /* router nodes: the probe's sender, the backlog's two */

/* One node of the benchmark network. */
typedef struct hv_scale_node {
    char id[32];       /* node id */
    hv_keypair *keys;  /* its keys (owned) */
} hv_scale_node;

/* The benchmark network and the broker serving it. Fields are public. */
typedef struct hv_scale {
    const char *broker_bin;       /* haven-broker */
    char dir[512];                /* working directory: broker files */
    char client_dir[512];         /* the clients' stores */
    char endpoint[64];            /* the broker's workers endpoint */
    size_t size;                  /* plaintext bytes of an envelope */
    hv_keypair *broker_keys;      /* the broker's keys (owned) */
    hv_scale_node *providers;     /* receivers: probe targets and idle nodes */
    size_t n_providers;           /* how many */
    hv_scale_node senders[HV_SCALE_SENDERS]; /* routers */
    pid_t broker;                 /* the broker process, or 0 */
} hv_scale;

/* Figures of a process (all its threads) at one moment, from /proc. */
typedef struct hv_scale_proc {
    double cpu_s;       /* user + system CPU seconds so far */
    double wakeups;     /* voluntary context switches so far, all threads */
    double rss_mib;     /* resident memory now */
    int threads;        /* threads now */
} hv_scale_proc;

/* Prints `what` and exits, killing the broker. */
void hv_scale_die(hv_scale *sc, const char *what) __attribute__((noreturn));

/* Monotonic clock. */
int64_t hv_scale_now_us(void);
double hv_scale_now_s(void);

/* Makes keys for `n_providers` providers and the senders, a registry signed
 * by a fresh authority and broker.ini in sc->dir. Dies on failure. */
void hv_scale_setup(hv_scale *sc, size_t n_providers);

/* Starts the broker from sc->dir's broker.ini (log in broker.log) on an
 * empty store, or stops it (SIGTERM, then waits). */
void hv_scale_broker_start(hv_scale *sc);
void hv_scale_broker_stop(hv_scale *sc);

/* Opens a client for `node` without waiting for READY (NULL on failure),
 * or opens one and waits for READY (dies after 30 s). Caller owns it. */
hv_client *hv_scale_client_open(hv_scale *sc, const hv_scale_node *node, uint32_t window);
hv_client *hv_scale_client(hv_scale *sc, const hv_scale_node *node, uint32_t window);

/* Removes every client store of the network (before a round of its own). */
void hv_scale_remove_client_stores(const hv_scale *sc);

/* Seals one envelope of sc->size bytes from `from` to `to` whose id
 * carries `index` (bytes 8..15), so that timings need no lookup. Caller
 * owns `*wire` (free()). Dies on failure. */
void hv_scale_seal(hv_scale *sc, const hv_scale_node *from, const hv_scale_node *to,
                   uint64_t index, uint8_t **wire, size_t *len);

/* The index an id carries (see hv_scale_seal). */
uint64_t hv_scale_index(const uint8_t id[16]);

/* Reads the figures of process `pid`; false when it is gone. */
bool hv_scale_proc_read(pid_t pid, hv_scale_proc *out);

/* One thread's figures at one moment. */
typedef struct hv_scale_thread {
    int tid;            /* thread id */
    char name[20];      /* its name (comm) */
    double cpu_s;       /* CPU seconds so far */
    double wakeups;     /* voluntary context switches so far */
} hv_scale_thread;

/* Fills `snap` (room for `cap`) with the threads of `pid`; returns how many. */
size_t hv_scale_threads(pid_t pid, hv_scale_thread *snap, size_t cap);

/* Prints each thread's CPU milliseconds and wake-ups per second between
 * two snapshots `seconds` apart (threads of one name summed when there
 * are many). hv_scale_proc_read keeps a static buffer: main thread only. */
void hv_scale_threads_print(const hv_scale_thread *before, size_t n_before,
                            const hv_scale_thread *after, size_t n_after, double seconds,
                            const char *indent);

/* The q-quantile (0..1) of `n` microsecond samples in milliseconds;
 * sorts `v`. 0 when there are none. */
double hv_scale_quantile_ms(int64_t *v, size_t n, double q);

/* The parts. Each starts and stops the broker it measures. */
void hv_scale_nodes(hv_scale *sc, const size_t *counts, size_t n_counts);
void hv_scale_idle(hv_scale *sc, unsigned seconds);
void hv_scale_backlog(hv_scale *sc, size_t backlog, size_t messages);

#endif
