/* hv-bench-scale, part 3: 1 -> 1 throughput and latency beside a backlog.
 *
 * On one broker: a run of --messages envelopes from one router to one
 * provider as fast as the broker takes them, then a paced run at 1,000/s
 * (latency with room to spare); then --backlog envelopes are queued for
 * ten providers that never connect; then the same two runs again, to the
 * same provider; then, on a new and empty store, the two runs a third
 * time. The runs without the backlog, before and after, are the
 * reference: each figure with the backlog is printed with its ratio to
 * their mean (a machine whose load changed in the meantime shows as two
 * different "without"), and the paced runs beside the floor of one
 * durable hop at that rate (hv_bench_floor.h).
 *
 * The backlog's envelopes are sealed as they are sent, by the two routers
 * that send them (a million sealed envelopes held at once would take 2 GB). */
#include "hv_bench_scale.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_bench_floor.h"

#define S_OFFLINE 10        /* providers 2..11: the backlog's, never connected */
#define S_PACED_RATE 1000.0 /* envelopes/s of the paced run */
#define S_PACED_N 5000      /* envelopes of the paced run */
#define S_OUTSTANDING 8192  /* at most this many between outbox and STORED, per sender */

/* One run's envelopes and times. */
typedef struct s_run {
    hv_scale *sc;        /* the network */
    size_t n;            /* envelopes */
    uint64_t base;       /* the index of the first (ids stay unique across runs) */
    uint8_t **wire;      /* sealed envelopes */
    size_t *len;         /* their lengths */
    double rate;         /* 0: as fast as it goes */
    int64_t *t_sent, *t_stored, *t_recv; /* us */
    size_t stored;       /* the sender's count */
    size_t received;     /* atomic */
} s_run;

/* The figures of a run. */
typedef struct s_fig {
    double stored_per_s, delivered_per_s;  /* throughput */
    double st_p50, st_p99, dl_p50, dl_p99; /* send -> STORED, send -> delivered, ms */
    double broker_us;                      /* broker CPU per envelope */
    double floor_p99;                      /* paced: the floor's p99, ms */
} s_fig;

static void s_on_stored(void *arg, const uint8_t id[16])
{
    s_run *r = arg;
    uint64_t i = hv_scale_index(id) - r->base;
    if (i < r->n && r->t_stored[i] == 0) {
        r->t_stored[i] = hv_scale_now_us();
        r->stored++;
    }
}

static void *s_sender(void *arg)
{
    s_run *r = arg;
    hv_client *c = hv_scale_client(r->sc, &r->sc->senders[0], 64);
    hv_client_on_stored(c, s_on_stored, r);
    size_t sent = 0;
    double start = hv_scale_now_s();
    while (r->stored < r->n) {
        size_t allowed = r->n - sent;
        if (r->rate > 0) {
            double due = (hv_scale_now_s() - start) * r->rate;
            allowed = due > (double)sent ? (size_t)(due - (double)sent) : 0;
            allowed = allowed < r->n - sent ? allowed : r->n - sent;
        }
        size_t k = 0;
        while (k < 256 && k < allowed && sent + k - r->stored < S_OUTSTANDING) {
            r->t_sent[sent + k] = hv_scale_now_us();
            k++;
        }
        if (k > 0 && hv_client_send_many(c, (const uint8_t *const *)&r->wire[sent], &r->len[sent],
                                         k) != HV_OK)
            hv_scale_die(r->sc, "send");
        sent += k;
        if (hv_client_poll(c, k > 0 ? 0 : 1) != HV_OK)
            hv_scale_die(r->sc, "poll");
    }
    hv_client_close(&c);
    return NULL;
}

static void *s_receiver(void *arg)
{
    s_run *r = arg;
    hv_client *c = hv_scale_client(r->sc, &r->sc->providers[0], 1024);
    while (__atomic_load_n(&r->received, __ATOMIC_RELAXED) < r->n) {
        hv_delivery *d = NULL;
        hv_err err = hv_client_recv(c, 100, &d);
        if (err == HV_ETIMEOUT)
            continue;
        if (err != HV_OK)
            hv_scale_die(r->sc, "recv");
        uint64_t i = hv_scale_index(d->env.id) - r->base;
        if (i < r->n && r->t_recv[i] == 0) {
            r->t_recv[i] = hv_scale_now_us();
            __atomic_add_fetch(&r->received, 1, __ATOMIC_RELAXED);
        }
        if (hv_client_ack(c, &d) != HV_OK)
            hv_scale_die(r->sc, "ack");
    }
    if (hv_client_flush(c) != HV_OK)
        hv_scale_die(r->sc, "flush");
    hv_client_close(&c);
    return NULL;
}

/* p50 and p99 of end - start over the run, in ms. */
static void s_quantiles(const s_run *r, const int64_t *end, double *p50, double *p99)
{
    int64_t *d = malloc(r->n * sizeof *d);
    size_t m = 0;
    for (size_t i = 0; d != NULL && i < r->n; i++)
        if (r->t_sent[i] > 0 && end[i] > 0)
            d[m++] = end[i] - r->t_sent[i];
    *p50 = hv_scale_quantile_ms(d, m, 0.50);
    *p99 = hv_scale_quantile_ms(d, m, 0.99);
    free(d);
}

/* One run of `n` fresh envelopes at `rate` (0: as fast as it goes). */
static void s_run_once(hv_scale *sc, size_t n, double rate, uint64_t *next_index, s_fig *f)
{
    s_run r = {.sc = sc, .n = n, .base = *next_index, .rate = rate};
    *next_index += n;
    r.wire = calloc(n, sizeof *r.wire);
    r.len = calloc(n, sizeof *r.len);
    r.t_sent = calloc(n, sizeof(int64_t));
    r.t_stored = calloc(n, sizeof(int64_t));
    r.t_recv = calloc(n, sizeof(int64_t));
    if (r.wire == NULL || r.len == NULL || r.t_sent == NULL || r.t_stored == NULL ||
        r.t_recv == NULL)
        hv_scale_die(sc, "out of memory");
    for (size_t i = 0; i < n; i++)
        hv_scale_seal(sc, &sc->senders[0], &sc->providers[0], r.base + i, &r.wire[i], &r.len[i]);
    hv_scale_proc p0, p1;
    if (!hv_scale_proc_read(sc->broker, &p0))
        hv_scale_die(sc, "the broker is gone");
    pthread_t st, rt;
    pthread_create(&rt, NULL, s_receiver, &r);
    double t0 = hv_scale_now_s();
    pthread_create(&st, NULL, s_sender, &r);
    pthread_join(st, NULL);
    pthread_join(rt, NULL);
    double secs = hv_scale_now_s() - t0;
    if (!hv_scale_proc_read(sc->broker, &p1))
        hv_scale_die(sc, "the broker is gone");
    int64_t first = INT64_MAX, last = 0;
    for (size_t i = 0; i < n; i++) {
        first = r.t_sent[i] > 0 && r.t_sent[i] < first ? r.t_sent[i] : first;
        last = r.t_stored[i] > last ? r.t_stored[i] : last;
    }
    memset(f, 0, sizeof *f);
    f->stored_per_s = (double)n / ((double)(last - first) / 1e6);
    f->delivered_per_s = (double)n / secs;
    s_quantiles(&r, r.t_stored, &f->st_p50, &f->st_p99);
    s_quantiles(&r, r.t_recv, &f->dl_p50, &f->dl_p99);
    f->broker_us = (p1.cpu_s - p0.cpu_s) / (double)n * 1e6;
    printf("  %s: %zu envelopes of %zu bytes: stored %.0f/s, delivered %.0f/s; send -> STORED "
           "p50 %.2f p99 %.2f ms, send -> delivered p50 %.2f p99 %.2f ms; broker %.0f us each\n",
           rate > 0 ? "paced at 1,000/s" : "peak", n, r.len[0], f->stored_per_s,
           f->delivered_per_s, f->st_p50, f->st_p99, f->dl_p50, f->dl_p99, f->broker_us);
    if (rate > 0) {
        hv_floor fl;
        if (hv_floor_measure(sc->dir, r.len[0], rate, n, -1, &fl) == 0) {
            f->floor_p99 = fl.p99_ms;
            printf("    floor at this rate: p99 %.2f ms = send -> STORED p99 is %.1f times "
                   "the floor's\n", fl.p99_ms, f->st_p99 / fl.p99_ms);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(r.wire[i]);
    free(r.wire);
    free(r.len);
    free(r.t_sent);
    free(r.t_stored);
    free(r.t_recv);
}

/* ------------------------------------------------------------- backlog */

typedef struct s_filler {
    hv_scale *sc;        /* the network */
    int sender;          /* its router: 1 or 2 */
    size_t n;            /* envelopes it queues */
    uint64_t base;       /* the index of its first */
    size_t stored;       /* STORED so far */
} s_filler;

static void s_fill_stored(void *arg, const uint8_t id[16])
{
    (void)id;
    ((s_filler *)arg)->stored++;
}

/* Seals and sends its share of the backlog, 256 at a time. */
static void *s_filler_main(void *arg)
{
    s_filler *f = arg;
    hv_scale *sc = f->sc;
    const hv_scale_node *from = &sc->senders[f->sender];
    hv_client *c = hv_scale_client(sc, from, 64);
    hv_client_on_stored(c, s_fill_stored, f);
    uint8_t *wire[256];
    size_t len[256], sent = 0;
    while (f->stored < f->n) {
        size_t k = 0;
        while (k < 256 && sent + k < f->n && sent + k - f->stored < S_OUTSTANDING) {
            const hv_scale_node *to = &sc->providers[1 + (sent + k) % S_OFFLINE];
            hv_scale_seal(sc, from, to, f->base + sent + k, &wire[k], &len[k]);
            k++;
        }
        if (k > 0 && hv_client_send_many(c, (const uint8_t *const *)wire, len, k) != HV_OK)
            hv_scale_die(sc, "send");
        for (size_t i = 0; i < k; i++)
            free(wire[i]);
        sent += k;
        if (hv_client_poll(c, k > 0 ? 0 : 1) != HV_OK)
            hv_scale_die(sc, "poll");
    }
    hv_client_close(&c);
    return NULL;
}

static void s_fill(hv_scale *sc, size_t backlog, uint64_t *next_index)
{
    printf("  queueing %zu envelopes for %d providers that never connect...\n", backlog,
           S_OFFLINE);
    s_filler f[2] = {{sc, 1, backlog / 2, *next_index, 0},
                     {sc, 2, backlog - backlog / 2, *next_index + backlog / 2, 0}};
    *next_index += backlog;
    pthread_t t[2];
    double t0 = hv_scale_now_s();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, s_filler_main, &f[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double secs = hv_scale_now_s() - t0;
    hv_scale_proc p;
    (void)hv_scale_proc_read(sc->broker, &p);
    char db[1024];
    struct stat sb;
    snprintf(db, sizeof db, "%s/broker.db", sc->dir);
    printf("  queued in %.1f s (%.0f/s, sealing included); broker RSS %.1f MiB, store file "
           "%.0f MiB\n", secs, (double)backlog / secs, p.rss_mib,
           stat(db, &sb) == 0 ? (double)sb.st_size / 1048576 : 0);
    sleep(2); /* the checkpoint of the last commits, out of the next run */
}

/* One line of the side by side: before, with, after, and with / the mean
 * of before and after. */
static void s_row(const char *what, const char *unit, double a, double b, double c)
{
    double mean = (a + c) / 2;
    printf("  %-38s %9.2f %-2s %9.2f %-2s %9.2f %-2s %7.2f\n", what, a, unit, b, unit, c, unit,
           mean > 0 ? b / mean : 0);
}

void hv_scale_backlog(hv_scale *sc, size_t backlog, size_t messages)
{
    printf("\n== Part 3: 1 -> 1 beside a backlog of %zu envelopes for offline receivers\n",
           backlog);
    hv_scale_remove_client_stores(sc);
    hv_scale_broker_start(sc);
    sleep(1);
    uint64_t next = 0;
    s_fig peak[3], paced[3];
    printf("\nWithout a backlog:\n");
    s_run_once(sc, messages, 0, &next, &peak[0]);
    s_run_once(sc, S_PACED_N, S_PACED_RATE, &next, &paced[0]);
    printf("\nWith the backlog:\n");
    s_fill(sc, backlog, &next);
    s_run_once(sc, messages, 0, &next, &peak[1]);
    s_run_once(sc, S_PACED_N, S_PACED_RATE, &next, &paced[1]);
    /* The same again on an empty store, so that a machine whose load
     * changed while the backlog was queued shows in the two "without". */
    hv_scale_broker_stop(sc);
    hv_scale_remove_client_stores(sc);
    hv_scale_broker_start(sc);
    sleep(1);
    printf("\nWithout a backlog again (a new, empty store):\n");
    s_run_once(sc, messages, 0, &next, &peak[2]);
    s_run_once(sc, S_PACED_N, S_PACED_RATE, &next, &paced[2]);
    hv_scale_broker_stop(sc);
    printf("\nBeside a backlog of %zu, same run (ratio: with / the mean of the two without):\n",
           backlog);
    printf("  %-38s %12s %12s %12s %7s\n", "", "without", "with", "without", "ratio");
    s_row("peak stored", "/s", peak[0].stored_per_s, peak[1].stored_per_s, peak[2].stored_per_s);
    s_row("peak delivered end to end", "/s", peak[0].delivered_per_s, peak[1].delivered_per_s,
          peak[2].delivered_per_s);
    s_row("broker CPU per envelope at peak", "us", peak[0].broker_us, peak[1].broker_us,
          peak[2].broker_us);
    s_row("1,000/s: send -> STORED p99", "ms", paced[0].st_p99, paced[1].st_p99, paced[2].st_p99);
    s_row("1,000/s: send -> delivered p50", "ms", paced[0].dl_p50, paced[1].dl_p50,
          paced[2].dl_p50);
    s_row("1,000/s: send -> delivered p99", "ms", paced[0].dl_p99, paced[1].dl_p99,
          paced[2].dl_p99);
    s_row("1,000/s: the floor's p99", "ms", paced[0].floor_p99, paced[1].floor_p99,
          paced[2].floor_p99);
    s_row("broker CPU per envelope at 1,000/s", "us", paced[0].broker_us, paced[1].broker_us,
          paced[2].broker_us);
}
