/* hv-bench-scale: the costs that grow with connected nodes, idle time and
 * backlog (issue 24; a benchmark program, not a test). Against the real
 * haven-broker over CurveZMQ on loopback, with the real client library:
 *
 *   1. 10, 100 and 1,000 connected nodes, most idle, heartbeats running:
 *      the broker's CPU per second, its wake-ups and RSS, beside the same
 *      broker with no node connected (measured first, in the same round),
 *      and the delivery latency of envelopes sent to one node while the
 *      others idle, beside the floor of one durable hop at that rate
 *      (hv_bench_floor.h); then how each figure grows, in words.
 *   2. One worker idle for --idle-seconds (hv_bench_scale_idle.c).
 *   3. 1 -> 1 beside a backlog of --backlog (hv_bench_scale_backlog.c).
 *
 * usage: hv-bench-scale HAVEN_BROKER [--nodes LIST] [--idle-seconds N] [--backlog N]
 *                       [--messages N] [--size BYTES] [--window S] [--probe N]
 *                       [--probe-rate N] [--client-dir DIR] [--keep DIR]
 *   --nodes LIST   node counts of part 1, e.g. 10,100,1000 (the default); 0 skips it
 *   --idle-seconds part 2's idle time (default 600; 0 skips it)
 *   --backlog N    part 3's backlog (default 1000000; 0 skips it)
 *   --messages N   part 3's envelopes per throughput run (default 20000)
 *   --size BYTES   plaintext of every envelope (default 1800: a 2 KiB envelope)
 *   --window S     part 1's idle measurement, seconds (default 10)
 *   --probe N, --probe-rate N  part 1's envelopes to the one node and their
 *                  rate (default 1000 at 200/s)
 *   --client-dir   where the clients' stores go (default: the working
 *                  directory; a tmpfs such as /dev/shm stands for clients on
 *                  other machines)
 *   --keep DIR     work in DIR and keep it (broker.log, the stores) */
#include "hv_bench_scale.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_bench_floor.h"

#define S_MAX_COUNTS 8
#define S_DRIVERS 4 /* threads that drive the idle nodes */

static struct {
    unsigned window_s;  /* idle measurement */
    size_t probe;       /* envelopes to the one node */
    double probe_rate;  /* their rate */
} g_opt = {10, 1000, 200};

/* One round of part 1: its threads' shared state. */
typedef struct s_round {
    hv_scale *sc;           /* the network */
    size_t n;               /* nodes connected, the probe's receiver among them */
    int stop;               /* atomic: every thread closes its clients */
    int go;                 /* atomic: the sender starts */
    int sender_ready;       /* atomic */
    int receiver_ready;     /* atomic */
    size_t received;        /* atomic: probe envelopes delivered */
    int64_t *t_sent;        /* us: handed to the outbox */
    int64_t *t_recv;        /* us: delivered to the receiver */
} s_round;

/* A thread that keeps a share of the idle nodes connected: it opens them,
 * then polls each about ten times a second, so that its heartbeats go out
 * and the broker's come in, as a worker's loop would. */
typedef struct s_driver {
    s_round *r;             /* the round */
    size_t from, to;        /* providers [from, to) */
    size_t ready;           /* atomic: of them, READY */
} s_driver;

/* The figures of one round, for the table at the end. */
typedef struct s_result {
    size_t n;                          /* nodes */
    double base_cpu, base_wake, base_rss; /* the broker alone: ms/s, /s, MiB */
    double cpu, wake, rss;             /* with the nodes connected */
    double clients_cpu, clients_rss;   /* this process (the nodes): ms/s, MiB */
    double p50, p99, floor_p99;        /* probe: send -> delivered; the floor, ms */
    double connect_s;                  /* until every node was READY */
} s_result;

static void *s_driver_main(void *arg)
{
    s_driver *d = arg;
    s_round *r = d->r;
    size_t n = d->to - d->from, opened = 0;
    hv_client **c = calloc(n ? n : 1, sizeof *c);
    if (c == NULL)
        hv_scale_die(r->sc, "out of memory");
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        for (int k = 0; k < 20 && opened < n; k++, opened++)
            if ((c[opened] = hv_scale_client_open(r->sc, &r->sc->providers[d->from + opened],
                                                  64)) == NULL)
                hv_scale_die(r->sc, "cannot open an idle node's client");
        size_t ready = 0;
        for (size_t i = 0; i < opened; i++) {
            if (hv_client_poll(c[i], 0) != HV_OK)
                hv_scale_die(r->sc, "poll");
            ready += hv_client_ready(c[i]);
        }
        __atomic_store_n(&d->ready, ready, __ATOMIC_RELAXED);
        usleep(opened < n || ready < n ? 2000 : 100000);
    }
    for (size_t i = 0; i < opened; i++)
        hv_client_close(&c[i]);
    free(c);
    return NULL;
}

static void *s_receiver_main(void *arg)
{
    s_round *r = arg;
    hv_client *c = hv_scale_client(r->sc, &r->sc->providers[0], 64);
    __atomic_store_n(&r->receiver_ready, 1, __ATOMIC_RELAXED);
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        hv_delivery *d = NULL;
        hv_err err = hv_client_recv(c, 100, &d);
        if (err == HV_ETIMEOUT)
            continue;
        if (err != HV_OK)
            hv_scale_die(r->sc, "recv");
        uint64_t i = hv_scale_index(d->env.id);
        if (i < g_opt.probe && r->t_recv[i] == 0) {
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

/* Sends the probe at its rate, each envelope sealed as it goes (as a
 * worker does), then idles with the others. */
static void *s_sender_main(void *arg)
{
    s_round *r = arg;
    hv_scale *sc = r->sc;
    hv_client *c = hv_scale_client(sc, &sc->senders[0], 64);
    __atomic_store_n(&r->sender_ready, 1, __ATOMIC_RELAXED);
    while (!__atomic_load_n(&r->go, __ATOMIC_RELAXED) && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
        if (hv_client_poll(c, 50) != HV_OK)
            hv_scale_die(sc, "poll");
    double start = hv_scale_now_s();
    size_t sent = 0;
    while (sent < g_opt.probe && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        double due = (hv_scale_now_s() - start) * g_opt.probe_rate;
        while ((double)sent < due && sent < g_opt.probe) {
            uint8_t *wire;
            size_t len;
            hv_scale_seal(sc, &sc->senders[0], &sc->providers[0], sent, &wire, &len);
            r->t_sent[sent] = hv_scale_now_us();
            if (hv_client_send(c, wire, len) != HV_OK)
                hv_scale_die(sc, "send");
            free(wire);
            sent++;
        }
        if (hv_client_poll(c, 1) != HV_OK)
            hv_scale_die(sc, "poll");
    }
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
        if (hv_client_poll(c, 50) != HV_OK)
            hv_scale_die(sc, "poll");
    hv_client_close(&c);
    return NULL;
}

static double s_self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The broker's CPU (ms/s), wake-ups (/s) and RSS over `seconds`. */
static void s_measure(hv_scale *sc, unsigned seconds, double *cpu, double *wake, double *rss)
{
    hv_scale_proc a, b;
    double t0 = hv_scale_now_s();
    if (!hv_scale_proc_read(sc->broker, &a))
        hv_scale_die(sc, "the broker is gone");
    sleep(seconds);
    double secs = hv_scale_now_s() - t0;
    if (!hv_scale_proc_read(sc->broker, &b))
        hv_scale_die(sc, "the broker is gone");
    *cpu = 1000 * (b.cpu_s - a.cpu_s) / secs;
    *wake = (b.wakeups - a.wakeups) / secs;
    *rss = b.rss_mib;
}

static void s_round_run(hv_scale *sc, size_t n, s_result *res)
{
    printf("\n%zu connected node(s): %zu idle, one receiving the probe; one sender\n", n, n - 1);
    s_round r = {.sc = sc, .n = n};
    r.t_sent = calloc(g_opt.probe, sizeof *r.t_sent);
    r.t_recv = calloc(g_opt.probe, sizeof *r.t_recv);
    if (r.t_sent == NULL || r.t_recv == NULL)
        hv_scale_die(sc, "out of memory");
    memset(res, 0, sizeof *res);
    res->n = n;
    hv_scale_remove_client_stores(sc);
    hv_scale_broker_start(sc);
    sleep(2); /* its start, out of the window */
    s_measure(sc, g_opt.window_s / 2 ? g_opt.window_s / 2 : 1, &res->base_cpu, &res->base_wake,
              &res->base_rss);
    printf("  the broker alone (no node connected): CPU %.3f ms/s, %.1f wake-ups/s, RSS %.1f MiB\n",
           res->base_cpu, res->base_wake, res->base_rss);

    double t0 = hv_scale_now_s();
    pthread_t rt, st, dt[S_DRIVERS];
    s_driver drv[S_DRIVERS];
    size_t idle = n - 1, n_drv = idle < S_DRIVERS ? idle : S_DRIVERS;
    pthread_create(&rt, NULL, s_receiver_main, &r);
    pthread_create(&st, NULL, s_sender_main, &r);
    for (size_t k = 0; k < n_drv; k++) {
        drv[k] = (s_driver){.r = &r, .from = 1 + idle * k / n_drv, .to = 1 + idle * (k + 1) / n_drv};
        pthread_create(&dt[k], NULL, s_driver_main, &drv[k]);
    }
    for (;;) {
        size_t ready = (size_t)__atomic_load_n(&r.receiver_ready, __ATOMIC_RELAXED) +
                       (size_t)__atomic_load_n(&r.sender_ready, __ATOMIC_RELAXED);
        for (size_t k = 0; k < n_drv; k++)
            ready += __atomic_load_n(&drv[k].ready, __ATOMIC_RELAXED);
        if (ready == n + 1)
            break;
        if (hv_scale_now_s() - t0 > 300)
            hv_scale_die(sc, "the nodes did not all connect in 5 minutes");
        usleep(10000);
    }
    res->connect_s = hv_scale_now_s() - t0;
    printf("  %zu nodes READY after %.1f s\n", n + 1, res->connect_s);
    sleep(3); /* the handshakes' work, out of the window */

    static hv_scale_thread before[8192];
    size_t n_before = hv_scale_threads(sc->broker, before, sizeof before / sizeof before[0]);
    double self0 = s_self_cpu(), w0 = hv_scale_now_s();
    s_measure(sc, g_opt.window_s, &res->cpu, &res->wake, &res->rss);
    double wsecs = hv_scale_now_s() - w0;
    static hv_scale_thread after[8192];
    size_t n_after = hv_scale_threads(sc->broker, after, sizeof after / sizeof after[0]);
    hv_scale_proc self;
    (void)hv_scale_proc_read(getpid(), &self);
    res->clients_cpu = 1000 * (s_self_cpu() - self0) / wsecs;
    res->clients_rss = self.rss_mib;
    printf("  idle for %u s: broker CPU %.3f ms/s (%.2f%% of a core), %.1f wake-ups/s, RSS %.1f "
           "MiB\n", g_opt.window_s, res->cpu, res->cpu / 10, res->wake, res->rss);
    printf("    = over the broker alone: CPU %+.3f ms/s (%.2f us/s per node), RSS %+.1f MiB "
           "(%.1f KiB per node)\n", res->cpu - res->base_cpu,
           1000 * (res->cpu - res->base_cpu) / (double)(n + 1), res->rss - res->base_rss,
           1024 * (res->rss - res->base_rss) / (double)(n + 1));
    printf("    the broker's threads:\n");
    hv_scale_threads_print(before, n_before, after, n_after, wsecs, "      ");
    printf("  the nodes' process (%d threads: each client has a ZeroMQ context of its own): "
           "CPU %.1f ms/s, RSS %.1f MiB\n", self.threads, res->clients_cpu, res->clients_rss);

    /* The probe: envelopes to one node while the rest idle. */
    __atomic_store_n(&r.go, 1, __ATOMIC_RELAXED);
    double p0 = hv_scale_now_s(), limit = 60 + (double)g_opt.probe / g_opt.probe_rate;
    while (__atomic_load_n(&r.received, __ATOMIC_RELAXED) < g_opt.probe &&
           hv_scale_now_s() - p0 < limit)
        usleep(10000);
    int64_t *lat = malloc(g_opt.probe * sizeof *lat);
    size_t m = 0;
    for (size_t i = 0; lat != NULL && i < g_opt.probe; i++)
        if (r.t_sent[i] > 0 && r.t_recv[i] > 0)
            lat[m++] = r.t_recv[i] - r.t_sent[i];
    res->p50 = hv_scale_quantile_ms(lat, m, 0.50);
    res->p99 = hv_scale_quantile_ms(lat, m, 0.99);
    printf("  probe: %zu of %zu envelopes at %.0f/s to one node, send -> delivered p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms\n", m, g_opt.probe, g_opt.probe_rate, res->p50, res->p99,
           hv_scale_quantile_ms(lat, m, 1.0));
    free(lat);
    /* The machine's floor at the same rate, with the nodes still connected. */
    hv_floor fl;
    uint8_t *wire;
    size_t len;
    hv_scale_seal(sc, &sc->senders[0], &sc->providers[0], 0, &wire, &len);
    free(wire);
    if (hv_floor_measure(sc->dir, len, g_opt.probe_rate, g_opt.probe, -1, &fl) == 0) {
        res->floor_p99 = fl.p99_ms;
        printf("  floor at this rate (one CurveZMQ hop to a thread that fdatasyncs): p50 %.2f ms, "
               "p99 %.2f ms = probe p99 is %.1f times the floor's\n", fl.p50_ms, fl.p99_ms,
               res->p99 / fl.p99_ms);
    } else {
        printf("  floor at this rate: the probe could not run\n");
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
    pthread_join(rt, NULL);
    pthread_join(st, NULL);
    for (size_t k = 0; k < n_drv; k++)
        pthread_join(dt[k], NULL);
    hv_scale_broker_stop(sc);
    free(r.t_sent);
    free(r.t_recv);
}

/* How `b` (at nb) grows from `a` (at na), in words. */
static const char *s_growth(double a, double b, double na, double nb, double *exponent)
{
    double floor_v = 1e-3;
    *exponent = log((b > floor_v ? b : floor_v) / (a > floor_v ? a : floor_v)) / log(nb / na);
    if (*exponent < 0.25)
        return "flat";
    if (*exponent < 0.75)
        return "less than linear";
    if (*exponent < 1.25)
        return "linear";
    return "faster than linear";
}

void hv_scale_nodes(hv_scale *sc, const size_t *counts, size_t n_counts)
{
    printf("\n== Part 1: connected nodes, most idle (heartbeats every 1 s both ways)\n");
    s_result res[S_MAX_COUNTS];
    for (size_t i = 0; i < n_counts; i++)
        s_round_run(sc, counts[i], &res[i]);
    printf("\nConnected nodes, side by side (over: beyond the same broker with no node, "
           "measured in the same round):\n");
    printf("  %6s %12s %12s %11s %10s %10s %9s %9s %9s %8s\n", "nodes", "CPU ms/s", "over ms/s",
           "wake-ups/s", "RSS MiB", "over MiB", "p50 ms", "p99 ms", "floor ms", "p99/flr");
    for (size_t i = 0; i < n_counts; i++)
        printf("  %6zu %12.3f %12.3f %11.1f %10.1f %10.1f %9.2f %9.2f %9.2f %8.1f\n", res[i].n,
               res[i].cpu, res[i].cpu - res[i].base_cpu, res[i].wake, res[i].rss,
               res[i].rss - res[i].base_rss, res[i].p50, res[i].p99, res[i].floor_p99,
               res[i].floor_p99 > 0 ? res[i].p99 / res[i].floor_p99 : 0);
    for (size_t i = 1; i < n_counts; i++) {
        const s_result *a = &res[i - 1], *b = &res[i];
        double na = (double)a->n + 1, nb = (double)b->n + 1, x_cpu, x_wake, x_rss, x_p99;
        const char *w_cpu = s_growth(a->cpu - a->base_cpu, b->cpu - b->base_cpu, na, nb, &x_cpu);
        const char *w_wake = s_growth(a->wake - a->base_wake, b->wake - b->base_wake, na, nb,
                                      &x_wake);
        const char *w_rss = s_growth(a->rss - a->base_rss, b->rss - b->base_rss, na, nb, &x_rss);
        const char *w_p99 = s_growth(a->p99, b->p99, na, nb, &x_p99);
        printf("  %zu -> %zu nodes: heartbeat CPU %s (x%.2f, as N^%.2f); wake-ups %s (N^%.2f); "
               "RSS %s (N^%.2f); probe p99 %s (x%.2f)\n", a->n, b->n, w_cpu,
               (b->cpu - b->base_cpu) / (a->cpu - a->base_cpu), x_cpu, w_wake, x_wake, w_rss,
               x_rss, w_p99, b->p99 / a->p99);
    }
}

/* ------------------------------------------------------------------ main */

static bool s_is_number(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

static size_t s_parse_counts(const char *text, size_t *out)
{
    size_t n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (!s_is_number(tok) || n == S_MAX_COUNTS || atol(tok) > 5000)
            return SIZE_MAX;
        if (atol(tok) > 0)
            out[n++] = (size_t)atol(tok);
    }
    return n;
}

int main(int argc, char **argv)
{
    static const char usage[] =
        "usage: hv-bench-scale HAVEN_BROKER [--nodes LIST] [--idle-seconds N] [--backlog N] "
        "[--messages N] [--size BYTES] [--window S] [--probe N] [--probe-rate N] "
        "[--client-dir DIR] [--keep DIR]\n";
    static hv_scale sc;
    size_t counts[S_MAX_COUNTS] = {10, 100, 1000}, n_counts = 3, backlog = 1000000,
           messages = 20000;
    unsigned idle_s = 600;
    const char *keep = NULL;
    sc.size = 1800;
    if (argc < 2 || argc % 2 != 0 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    sc.broker_bin = argv[1];
    if (access(sc.broker_bin, X_OK) != 0) {
        fprintf(stderr, "hv-bench-scale: %s is not an executable haven-broker\n", sc.broker_bin);
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        bool num = s_is_number(v);
        size_t parsed = strcmp(k, "--nodes") == 0 ? s_parse_counts(v, counts) : SIZE_MAX;
        if (parsed != SIZE_MAX)
            n_counts = parsed;
        else if (strcmp(k, "--idle-seconds") == 0 && num && atol(v) <= 86400)
            idle_s = (unsigned)atol(v);
        else if (strcmp(k, "--backlog") == 0 && num && atol(v) <= 100000000)
            backlog = (size_t)atol(v);
        else if (strcmp(k, "--messages") == 0 && num && atol(v) >= 100)
            messages = (size_t)atol(v);
        else if (strcmp(k, "--size") == 0 && num && atol(v) >= 16 && atol(v) <= 60000)
            sc.size = (size_t)atol(v);
        else if (strcmp(k, "--window") == 0 && num && atol(v) >= 2 && atol(v) <= 3600)
            g_opt.window_s = (unsigned)atol(v);
        else if (strcmp(k, "--probe") == 0 && num && atol(v) >= 10)
            g_opt.probe = (size_t)atol(v);
        else if (strcmp(k, "--probe-rate") == 0 && num && atol(v) >= 1 && atol(v) <= 100000)
            g_opt.probe_rate = (double)atol(v);
        else if (strcmp(k, "--client-dir") == 0)
            snprintf(sc.client_dir, sizeof sc.client_dir, "%s", v);
        else if (strcmp(k, "--keep") == 0)
            keep = v;
        else {
            fprintf(stderr, "hv-bench-scale: unknown option or bad value: %s %s\n%s", k, v, usage);
            return 2;
        }
    }
    if (hv_crypto_init() != HV_OK)
        hv_scale_die(&sc, "libsodium");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* 1,000 clients hold some 10,000 descriptors (sockets, ZeroMQ's
     * mailboxes, SQLite's files); the broker, a child, inherits the limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        printf("hv-bench-scale: file descriptors allowed: %llu\n", (unsigned long long)rl.rlim_cur);
    }
    if (keep != NULL) {
        snprintf(sc.dir, sizeof sc.dir, "%s", keep);
        mkdir(sc.dir, 0700);
    } else {
        snprintf(sc.dir, sizeof sc.dir, "%s/hv-bench-scale.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(sc.dir) == NULL)
            hv_scale_die(&sc, "mkdtemp");
    }
    if (sc.client_dir[0] == '\0')
        snprintf(sc.client_dir, sizeof sc.client_dir, "%s", sc.dir);
    else if (mkdir(sc.client_dir, 0700) != 0 && errno != EEXIST)
        hv_scale_die(&sc, "cannot make --client-dir");
    /* A free port: bind to 0 through ZeroMQ and read it back. */
    void *ctx = zmq_ctx_new(), *probe = zmq_socket(ctx, ZMQ_PULL);
    zmq_bind(probe, "tcp://127.0.0.1:*");
    size_t eplen = sizeof sc.endpoint;
    zmq_getsockopt(probe, ZMQ_LAST_ENDPOINT, sc.endpoint, &eplen);
    zmq_close(probe);
    zmq_ctx_term(ctx);

    size_t providers = 11; /* part 3: one receiver, ten offline */
    for (size_t i = 0; i < n_counts; i++)
        providers = counts[i] > providers ? counts[i] : providers;
    hv_scale_setup(&sc, providers);
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) > 0)
        printf("hv-bench-scale: %zu providers and %d routers in the registry; load average "
               "%.2f %.2f %.2f\n", providers, HV_SCALE_SENDERS, l[0], l[1], l[2]);
    if (n_counts > 0)
        hv_scale_nodes(&sc, counts, n_counts);
    if (idle_s > 0)
        hv_scale_idle(&sc, idle_s);
    if (backlog > 0)
        hv_scale_backlog(&sc, backlog, messages);
    if (getloadavg(l, 3) > 0)
        printf("\nhv-bench-scale: done; load average %.2f %.2f %.2f\n", l[0], l[1], l[2]);
    hv_scale_remove_client_stores(&sc);
    if (keep == NULL) {
        char cmd[1100];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", sc.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "hv-bench-scale: could not remove %s\n", sc.dir);
    }
    return 0;
}
