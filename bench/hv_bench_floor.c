/* The latency floor of one durable hop; see hv_bench_floor.h. */
#include "hv_bench_floor.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_db.h"

#define S_BATCH_MAX 256                 /* messages written by one fdatasync at most */
#define S_FILE_BYTES (16 * 1024 * 1024) /* written over and over, never grown */

typedef struct s_server {
    void *sock;      /* ROUTER, CURVE server */
    int fd;          /* the file, already allocated on the disk */
    size_t len;      /* message size */
    int cpu;         /* the CPU it runs on alone, or -1 */
    int stop;        /* set by the client when it has every answer (atomic) */
    int failed;      /* a write or a sync failed */
} s_server;

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Takes whatever has arrived (up to S_BATCH_MAX), makes it durable with one
 * write and one fdatasync, then answers each message with its first 8
 * bytes, its index. */
static void *s_serve(void *arg)
{
    s_server *s = arg;
    if (s->cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(s->cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0)
            s->failed = 1;
    }
    size_t most = S_FILE_BYTES / s->len; /* a batch fits in the file */
    if (most > S_BATCH_MAX)
        most = S_BATCH_MAX;
    uint8_t *batch = malloc(S_BATCH_MAX * s->len);
    zmq_msg_t peer[S_BATCH_MAX];
    uint64_t index[S_BATCH_MAX];
    off_t at = 0;
    while (batch != NULL && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        zmq_pollitem_t item = {s->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        int k = 0;
        while ((size_t)k < most) {
            zmq_msg_init(&peer[k]);
            if (zmq_msg_recv(&peer[k], s->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&peer[k]);
                break;
            }
            int got = zmq_recv(s->sock, batch + (size_t)k * s->len, s->len, 0);
            if (got < 8) {
                zmq_msg_close(&peer[k]);
                continue;
            }
            memcpy(&index[k], batch + (size_t)k * s->len, 8);
            k++;
        }
        if (k == 0)
            continue;
        size_t bytes = (size_t)k * s->len;
        if (at + (off_t)bytes > S_FILE_BYTES)
            at = 0;
        if (pwrite(s->fd, batch, bytes, at) != (ssize_t)bytes || fdatasync(s->fd) != 0)
            s->failed = 1;
        at += (off_t)bytes;
        for (int i = 0; i < k; i++) {
            zmq_msg_send(&peer[i], s->sock, ZMQ_SNDMORE);
            zmq_send(s->sock, &index[i], 8, ZMQ_DONTWAIT);
        }
    }
    free(batch);
    return NULL;
}

/* A file of S_FILE_BYTES written once with zeros and synced, so that the
 * probe's writes change no file size or extent (no journal commit). */
static int s_open_file(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/floor-probe.dat", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    uint8_t *zeros = calloc(1, 1 << 20);
    int ok = zeros != NULL;
    for (off_t at = 0; ok && at < S_FILE_BYTES; at += 1 << 20)
        ok = pwrite(fd, zeros, 1 << 20, at) == 1 << 20;
    free(zeros);
    if (!ok || fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The paced client: returns the answered count; latencies in `lat`. */
static size_t s_client(void *sock, size_t len, double rate, size_t count, int64_t *lat)
{
    int64_t *sent = calloc(count, sizeof *sent);
    uint8_t *msg = calloc(1, len);
    size_t next = 0, answered = 0;
    int64_t start = hv_mono_us(), give_up = start + (int64_t)((double)count / rate * 1e6) + 60000000;
    while (sent != NULL && msg != NULL && answered < count && hv_mono_us() < give_up) {
        double due = (double)(hv_mono_us() - start) / 1e6 * rate;
        while (next < count && (double)next < due) {
            uint64_t i = next++;
            memcpy(msg, &i, 8);
            sent[i] = hv_mono_us();
            zmq_send(sock, msg, len, 0);
        }
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, 1);
        uint64_t i;
        while (zmq_recv(sock, &i, 8, ZMQ_DONTWAIT) == 8)
            if (i < count && lat[i] < 0) {
                lat[i] = hv_mono_us() - sent[i];
                answered++;
            }
    }
    free(sent);
    free(msg);
    return answered;
}

int hv_floor_measure(const char *dir, size_t len, double rate, size_t count, int server_cpu,
                     hv_floor *out)
{
    if (len < 8 || rate <= 0 || count == 0)
        return -1;
    char path[1024], endpoint[128];
    s_server server = {.len = len, .cpu = server_cpu, .fd = s_open_file(dir, path, sizeof path)};
    if (server.fd < 0)
        return -1;
    char spub[41], ssec[41], cpub[41], csec[41];
    zmq_curve_keypair(spub, ssec);
    zmq_curve_keypair(cpub, csec);
    void *sctx = zmq_ctx_new(), *cctx = zmq_ctx_new();
    server.sock = zmq_socket(sctx, ZMQ_ROUTER);
    void *client = zmq_socket(cctx, ZMQ_DEALER);
    int one = 1, unlimited = 0;
    size_t eplen = sizeof endpoint;
    zmq_setsockopt(server.sock, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(server.sock, ZMQ_CURVE_SECRETKEY, ssec, 40);
    zmq_setsockopt(server.sock, ZMQ_SNDHWM, &unlimited, sizeof unlimited); /* no answer dropped */
    zmq_setsockopt(client, ZMQ_RCVHWM, &unlimited, sizeof unlimited);
    zmq_setsockopt(client, ZMQ_CURVE_SERVERKEY, spub, 40);
    zmq_setsockopt(client, ZMQ_CURVE_PUBLICKEY, cpub, 40);
    zmq_setsockopt(client, ZMQ_CURVE_SECRETKEY, csec, 40);
    zmq_setsockopt(client, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
    int rc = zmq_bind(server.sock, "tcp://127.0.0.1:*");
    if (rc == 0)
        rc = zmq_getsockopt(server.sock, ZMQ_LAST_ENDPOINT, endpoint, &eplen);
    if (rc == 0)
        rc = zmq_connect(client, endpoint);
    int64_t *lat = malloc(count * sizeof *lat);
    pthread_t thread;
    if (rc == 0 && lat != NULL && pthread_create(&thread, NULL, s_serve, &server) == 0) {
        /* One answer first, so that the handshake is not in the figures. */
        int64_t warm = -1;
        s_client(client, len, 1000, 1, &warm);
        for (size_t i = 0; i < count; i++)
            lat[i] = -1;
        size_t answered = warm >= 0 ? s_client(client, len, rate, count, lat) : 0;
        __atomic_store_n(&server.stop, 1, __ATOMIC_RELAXED);
        pthread_join(thread, NULL);
        if (answered == count && !server.failed) {
            qsort(lat, count, sizeof *lat, s_cmp);
            out->p50_ms = (double)lat[count / 2] / 1000;
            out->p99_ms = (double)lat[count * 99 / 100] / 1000;
            out->p999_ms = (double)lat[count * 999 / 1000] / 1000;
        } else {
            rc = -1;
        }
    } else {
        rc = -1;
    }
    free(lat);
    int linger = 0;
    zmq_setsockopt(client, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(server.sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(client);
    zmq_close(server.sock);
    zmq_ctx_term(cctx);
    zmq_ctx_term(sctx);
    close(server.fd);
    unlink(path);
    return rc;
}
