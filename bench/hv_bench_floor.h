/* The latency floor of one durable hop on this machine, for haven-bench.
 *
 * One client thread sends messages of a given size over CurveZMQ, at a
 * given rate, to a server thread in a ZeroMQ context of its own; the
 * server appends each batch it has received to a file, fdatasyncs it, and
 * answers every message of the batch. That is the least any durable
 * acknowledgement costs here: no store, no outbox, no delivery, no
 * audit. The broker's send -> STORED, measured in the same minutes, reads
 * as a multiple of it. */
#ifndef HV_BENCH_FLOOR_H
#define HV_BENCH_FLOOR_H

#include <stddef.h>

typedef struct hv_floor {
    double p50_ms, p99_ms, p999_ms; /* send -> answer */
} hv_floor;

/* Sends `count` messages of `len` bytes (at least 8) at `rate` per second,
 * keeping its file in `dir`; the server thread runs on CPU `server_cpu`
 * alone, or anywhere if it is negative. Returns 0, or -1 if the probe could
 * not run. */
int hv_floor_measure(const char *dir, size_t len, double rate, size_t count, int server_cpu,
                     hv_floor *out);

#endif
