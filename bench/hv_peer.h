/* The peers benchmark (hv-bench-peers): what one run of the common
 * workload asks of a peer and what it measured, and the timing helpers the
 * peer modules share (bench/hv_peer.c).
 *
 * The workload: one producer with a window of unconfirmed messages, one
 * consumer that acknowledges each message, durable on the server side. A
 * message's first 8 bytes carry its index, so that the consumer and the
 * confirm handler find its send time without a lookup table. */
#ifndef HV_PEER_H
#define HV_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One run of the workload. Fields are set by the caller. */
typedef struct hv_peer_load {
    size_t size;     /* message bytes (Haven: the plaintext, 242 bytes short of the size) */
    size_t n;        /* messages in the run */
    double rate;     /* messages/s, 0: as fast as the window allows */
    unsigned window; /* unconfirmed messages the producer may have out */
    int run_id;      /* unique per run: names a queue or stream of its own */
} hv_peer_load;

/* What one run measured; 0 where a peer cannot say. */
typedef struct hv_peer_result {
    double e2e_per_s;     /* messages/s, first send to last delivery */
    double conf_p50_ms;   /* send -> confirm (Haven: STORED) */
    double conf_p99_ms;
    double e2e_p50_ms;    /* send -> delivered to the consumer */
    double e2e_p99_ms;
    double server_cpu_us; /* server process(es) CPU per message */
    double client_cpu_us; /* producer and consumer CPU per message */
    long flushes;         /* fsync+fdatasync calls counted, -1: not counted */
    size_t wire_bytes;    /* Haven: the envelope's bytes on the wire; 0 others */
    bool ok;              /* the run completed */
} hv_peer_result;

/* Per-message times of a run in progress, in microseconds of
 * CLOCK_MONOTONIC; 0 means "not yet". Fields are private to the peers. */
typedef struct hv_peer_times {
    size_t n;          /* messages */
    int64_t *sent;     /* handed to the client library */
    int64_t *conf;     /* confirmed by the server */
    int64_t *recv;     /* delivered to the consumer */
    size_t confirmed;  /* confirms seen (atomic) */
    size_t received;   /* deliveries seen (atomic) */
} hv_peer_times;

/* CPU seconds at one instant: the servers' processes and this process. */
typedef struct hv_peer_cpu {
    double server;  /* sum over the server pids, from /proc/PID/stat */
    double clients; /* this process, from getrusage(RUSAGE_SELF) */
} hv_peer_cpu;

/* Microseconds of CLOCK_MONOTONIC. */
int64_t hv_peer_now_us(void);

/* Allocates the time arrays for `n` messages; returns false when out of
 * memory. hv_peer_times_free releases them and is safe twice. */
bool hv_peer_times_init(hv_peer_times *t, size_t n);
void hv_peer_times_free(hv_peer_times *t);

/* Writes message `i`'s index into its first 8 bytes (size >= 8) and reads it
 * back; hv_peer_index returns SIZE_MAX for a body shorter than 8 bytes. */
void hv_peer_stamp(uint8_t *body, size_t i);
size_t hv_peer_index(const void *body, size_t len);

/* Records confirm/delivery of message `i` once, whatever thread calls. */
void hv_peer_mark_conf(hv_peer_times *t, size_t i);
void hv_peer_mark_recv(hv_peer_times *t, size_t i);

/* How many messages the producer may send now: paced at load->rate from
 * `start_us` (0 rate: unpaced) and within the window of unconfirmed ones.
 * `sent` is how many it has sent. */
size_t hv_peer_allowed(const hv_peer_load *load, const hv_peer_times *t, size_t sent,
                       int64_t start_us);

/* How long the producer may wait before it has more to do, in
 * microseconds: until the next paced message is due, or (window full or
 * unpaced) up to 5 ms for a confirm, which ends the wait sooner. */
long hv_peer_wait_us(const hv_peer_load *load, const hv_peer_times *t, size_t sent,
                     int64_t start_us);

/* CPU of `pids` (npids of them) and of this process now. */
hv_peer_cpu hv_peer_cpu_now(const pid_t *pids, int npids);

/* Fills `r` from the times and the CPU before and after: throughput from
 * `start_us` to the last delivery, percentiles, CPU per message. */
void hv_peer_result_fill(hv_peer_result *r, const hv_peer_times *t, int64_t start_us,
                         hv_peer_cpu before, hv_peer_cpu after);

/* ----------------------------------------------------------- the peers
 * Each runs one load against a server already started (hv_peer_servers.h)
 * and returns its result; on a failure it prints why to stderr and returns
 * a result with ok = false. */
typedef enum hv_peer_kind {
    HV_PEER_HAVEN = 0,
    HV_PEER_CLASSIC = 1, /* RabbitMQ classic durable queue */
    HV_PEER_QUORUM = 2,  /* RabbitMQ quorum queue */
    HV_PEER_NATS = 3,    /* NATS JetStream, file storage */
    HV_PEER_COUNT = 4
} hv_peer_kind;

/* A peer's name for tables ("Haven", "RabbitMQ classic", ...); static. */
const char *hv_peer_name(hv_peer_kind k);

/* RabbitMQ at 127.0.0.1:port, classic or quorum queue; `server` is the
 * beam.smp pid whose CPU is counted. */
hv_peer_result hv_peer_rabbit_run(int port, bool quorum, pid_t server, const hv_peer_load *load);

/* NATS JetStream at 127.0.0.1:port; `server` is nats-server's pid. */
hv_peer_result hv_peer_nats_run(int port, pid_t server, const hv_peer_load *load);

/* Haven through haven-bench (one source of truth for Haven's figures):
 * runs `bench_bin broker_bin --senders 1 --receivers 1 ...` as a child with
 * its broker's store under `dir` (its TMPDIR) and its nodes' stores in
 * `client_dir`, and parses what it prints. With `strace_out`
 * non-NULL, the broker's fsync/fdatasync calls are counted into that file
 * (hv_peer_strace_*). */
hv_peer_result hv_peer_haven_run(const char *bench_bin, const char *broker_bin, const char *dir,
                                 const char *client_dir, const hv_peer_load *load,
                                 const char *strace_out);

#endif
