/* hv-bench-peers: Haven beside RabbitMQ and NATS JetStream on this machine,
 * in the same run (a benchmark program, not a test).
 *
 * Starts RabbitMQ and nats-server itself on loopback in a scratch directory
 * (hv_peer_servers.h), then runs the same workload against each peer in
 * interleaved rounds (Haven, classic, quorum, NATS, Haven, ...): one
 * producer with a window of unconfirmed messages, one consumer that
 * acknowledges each, durable (Haven through haven-bench, RabbitMQ classic
 * durable queue with persistent messages and publisher confirms, RabbitMQ
 * quorum queue with confirms, JetStream file storage with acked publishes
 * and an explicit-ack consumer). For each size: the peak end-to-end rate,
 * then latency at two fixed rates for all (25% and 50% of the slowest
 * peer's median peak), then one run at the lower rate with strace counting
 * each server's fsync and fdatasync calls. Prints one table at the end:
 * medians per peer and Haven/peer per round (min-max).
 *
 * usage: hv-bench-peers [--rounds N] [--messages N] [--window N]
 *                       [--sizes B,B,...] [--haven-bench PATH] [--haven-broker PATH]
 *                       [--client-dir DIR] [--no-strace] [--keep]
 *   --messages N: messages in a peak run of 2 KiB or less (default 20000);
 *                 larger sizes send N * 2048 / size, at least 2000.
 *   --window N:   unconfirmed messages a producer may have out (default
 *                 1024; Haven's sender keeps at most 8192 between outbox
 *                 and STORED, haven-bench's own figure).
 *   --client-dir: where haven-bench keeps its two nodes' stores (default: a
 *                 scratch directory on /dev/shm when it exists: the peers'
 *                 clients keep nothing on disk, and Haven's stand for nodes
 *                 on other machines).
 *   haven-bench and haven-broker default to the ones beside this program. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_peer.h"
#include "hv_peer_servers.h"

#define S_MAX_SIZES 8
#define S_MAX_ROUNDS 15
#define S_PHASES 3              /* peak, 25% rate, 50% rate */
#define S_HAVEN_OVERHEAD 242    /* an envelope's bytes beyond its plaintext */
#define S_HAVEN_MAX (1024 * 1024) /* the largest plaintext haven-bench takes (HV_PLAINTEXT_MAX) */

static struct {
    char bench[PATH_MAX];        /* haven-bench */
    char broker[PATH_MAX];       /* haven-broker */
    char client_dir[PATH_MAX];   /* haven-bench --client-dir */
    char haven_dir[700];         /* haven-bench's TMPDIR, in the scratch directory */
    int rounds;                  /* interleaved rounds */
    size_t messages;             /* messages in a peak run of <= 2 KiB */
    unsigned window;             /* unconfirmed messages */
    size_t sizes[S_MAX_SIZES];   /* message sizes */
    int nsizes;
    bool strace;                 /* count flushes */
    hv_peer_servers srv;         /* the servers we started */
    int run_id;                  /* names each run's queue or stream */
    /* results[size][phase][peer][round] */
    hv_peer_result res[S_MAX_SIZES][S_PHASES][HV_PEER_COUNT][S_MAX_ROUNDS];
    double rates[S_MAX_SIZES][2];          /* the fixed rates of each size */
    long flushes[S_MAX_SIZES][HV_PEER_COUNT]; /* counted at the lower rate */
    size_t flush_n[S_MAX_SIZES];           /* messages of that counted run */
    size_t haven_wire[S_MAX_SIZES];        /* Haven's envelope bytes */
} g;

static size_t s_haven_size(size_t size)
{
    if (size <= S_HAVEN_OVERHEAD + 8)
        return 8;
    return size - S_HAVEN_OVERHEAD > S_HAVEN_MAX ? S_HAVEN_MAX : size - S_HAVEN_OVERHEAD;
}

static size_t s_peak_messages(size_t size)
{
    size_t n = size <= 2048 ? g.messages : g.messages * 2048 / size;
    return n < 2000 ? 2000 : n;
}

/* One run of `k`; with `count`, strace counts the server's flushes into
 * result.flushes. */
static hv_peer_result s_run(hv_peer_kind k, size_t size, size_t n, double rate, bool count)
{
    hv_peer_load l = {.size = size, .n = n, .rate = rate, .window = g.window,
                      .run_id = ++g.run_id};
    char out[800];
    snprintf(out, sizeof out, "%s/strace-%d.txt", g.srv.dir, l.run_id);
    hv_peer_result r = {.flushes = -1};
    pid_t server = k == HV_PEER_NATS ? g.srv.nats : g.srv.rabbit, st = 0;
    if (count && k != HV_PEER_HAVEN && (st = hv_peer_strace_start(server, out)) == 0)
        fprintf(stderr, "hv-bench-peers: flushes of %s not counted\n", hv_peer_name(k));
    switch (k) {
    case HV_PEER_HAVEN:
        l.size = s_haven_size(size);
        r = hv_peer_haven_run(g.bench, g.broker, g.haven_dir, g.client_dir, &l, count ? out : NULL);
        break;
    case HV_PEER_CLASSIC:
    case HV_PEER_QUORUM:
        r = hv_peer_rabbit_run(g.srv.amqp_port, k == HV_PEER_QUORUM, server, &l);
        break;
    case HV_PEER_NATS:
        r = hv_peer_nats_run(g.srv.nats_port, server, &l);
        break;
    default:
        break;
    }
    if (st > 0)
        r.flushes = hv_peer_strace_finish(st, out);
    else if (k != HV_PEER_HAVEN)
        r.flushes = -1;
    return r;
}

static void s_print_run(const char *what, int round, hv_peer_kind k, size_t size,
                        const hv_peer_result *r)
{
    char la[64];
    hv_peer_loadavg(la, sizeof la);
    if (!r->ok) {
        printf("  %-6s r%d %-20s %6zu B: FAILED (load %s)\n", what, round + 1, hv_peer_name(k),
               size, la);
        return;
    }
    printf("  %-6s r%d %-20s %6zu B: %8.0f msg/s  confirm p50 %7.2f p99 %7.2f ms  "
           "e2e p50 %7.2f p99 %7.2f ms  CPU/msg server %5.0f us clients %5.0f us  (load %s)\n",
           what, round + 1, hv_peer_name(k), size, r->e2e_per_s, r->conf_p50_ms, r->conf_p99_ms,
           r->e2e_p50_ms, r->e2e_p99_ms, r->server_cpu_us, r->client_cpu_us, la);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A field of a result, by offset, so that one median serves them all. */
#define S_FIELD(r, off) (*(const double *)((const char *)(r) + (off)))

/* The median of a field over the completed rounds; -1 when none. */
static double s_median(int si, int ph, hv_peer_kind k, size_t off)
{
    double v[S_MAX_ROUNDS];
    int m = 0;
    for (int r = 0; r < g.rounds; r++)
        if (g.res[si][ph][k][r].ok)
            v[m++] = S_FIELD(&g.res[si][ph][k][r], off);
    if (m == 0)
        return -1;
    qsort(v, (size_t)m, sizeof v[0], s_cmp_double);
    return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

static void s_rate_text(double v, char *buf, size_t cap)
{
    if (v < 0)
        snprintf(buf, cap, "failed");
    else if (v >= 10000)
        snprintf(buf, cap, "%.1fk", v / 1000);
    else if (v >= 1000)
        snprintf(buf, cap, "%.2fk", v / 1000);
    else
        snprintf(buf, cap, "%.0f", v);
}

/* Haven/peer of the field per round, min-max, into buf ("" when none). */
static void s_ratio_text(int si, int ph, hv_peer_kind k, size_t off, char *buf, size_t cap)
{
    double lo = 0, hi = 0;
    int m = 0;
    for (int r = 0; r < g.rounds; r++) {
        const hv_peer_result *h = &g.res[si][ph][HV_PEER_HAVEN][r], *p = &g.res[si][ph][k][r];
        if (!h->ok || !p->ok || S_FIELD(p, off) <= 0)
            continue;
        double q = S_FIELD(h, off) / S_FIELD(p, off);
        lo = m == 0 || q < lo ? q : lo;
        hi = m == 0 || q > hi ? q : hi;
        m++;
    }
    if (m == 0)
        buf[0] = '\0';
    else
        snprintf(buf, cap, " (Haven %.2f–%.2f×)", lo, hi);
}

static void s_size_text(size_t size, char *buf, size_t cap)
{
    if (size >= 1024 && size % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", size / 1024);
    else
        snprintf(buf, cap, "%zu B", size);
}

/* One table row of p50 / p99 medians of a phase. */
static void s_row_latency(int si, int ph, const char *label, size_t off50, size_t off99)
{
    printf("| %s |", label);
    for (int k = 0; k < HV_PEER_COUNT; k++) {
        double a = s_median(si, ph, (hv_peer_kind)k, off50), b = s_median(si, ph, (hv_peer_kind)k, off99);
        if (a < 0)
            printf(" failed |");
        else
            printf(" %.2f / %.2f |", a, b);
    }
    printf("\n");
}

/* One table row of a CPU median per message, with Haven/peer per round. */
static void s_row_cpu(int si, int ph, const char *label, size_t off)
{
    printf("| %s |", label);
    for (int k = 0; k < HV_PEER_COUNT; k++) {
        char ratio[64] = "";
        double v = s_median(si, ph, (hv_peer_kind)k, off);
        if (k != HV_PEER_HAVEN)
            s_ratio_text(si, ph, (hv_peer_kind)k, off, ratio, sizeof ratio);
        if (v < 0)
            printf(" failed |");
        else
            printf(" %.0f µs%s |", v, ratio);
    }
    printf("\n");
}

static void s_print_table(void)
{
    printf("\n## The table: medians of %d round(s); (Haven a–b×) is Haven/peer in each round, "
           "min–max\n", g.rounds);
    printf("Confirm: Haven's STORED, RabbitMQ's publisher confirm, JetStream's publish ack. "
           "CPU per message: the server's\nprocess (beam.smp, nats-server, haven-broker) and "
           "the clients (producer and consumer).\n");
    for (int si = 0; si < g.nsizes; si++) {
        char sz[32], text[64], ratio[64], r1[32], r2[32];
        s_size_text(g.sizes[si], sz, sizeof sz);
        s_rate_text(g.rates[si][0], r1, sizeof r1);
        s_rate_text(g.rates[si][1], r2, sizeof r2);
        printf("\n| %s (Haven: %zu B plaintext, %zu B envelopes) |", sz, s_haven_size(g.sizes[si]),
               g.haven_wire[si]);
        for (int k = 0; k < HV_PEER_COUNT; k++)
            printf(" %s |", hv_peer_name((hv_peer_kind)k));
        printf("\n|---|---|---|---|---|\n| e2e msg/s at peak |");
        for (int k = 0; k < HV_PEER_COUNT; k++) {
            s_rate_text(s_median(si, 0, (hv_peer_kind)k, offsetof(hv_peer_result, e2e_per_s)),
                        text, sizeof text);
            ratio[0] = '\0';
            if (k != HV_PEER_HAVEN)
                s_ratio_text(si, 0, (hv_peer_kind)k, offsetof(hv_peer_result, e2e_per_s), ratio,
                             sizeof ratio);
            printf(" %s%s |", text, ratio);
        }
        printf("\n");
        s_row_latency(si, 0, "at peak: confirm p50 / p99 ms", offsetof(hv_peer_result, conf_p50_ms),
                      offsetof(hv_peer_result, conf_p99_ms));
        s_row_cpu(si, 0, "at peak: server CPU/msg", offsetof(hv_peer_result, server_cpu_us));
        s_row_cpu(si, 0, "at peak: clients CPU/msg", offsetof(hv_peer_result, client_cpu_us));
        for (int ph = 1; ph < S_PHASES; ph++) {
            const char *r = ph == 1 ? r1 : r2;
            char label[96];
            snprintf(label, sizeof label, "at %s/s: confirm p50 / p99 ms", r);
            s_row_latency(si, ph, label, offsetof(hv_peer_result, conf_p50_ms),
                          offsetof(hv_peer_result, conf_p99_ms));
            snprintf(label, sizeof label, "at %s/s: e2e p50 / p99 ms", r);
            s_row_latency(si, ph, label, offsetof(hv_peer_result, e2e_p50_ms),
                          offsetof(hv_peer_result, e2e_p99_ms));
            snprintf(label, sizeof label, "at %s/s: server CPU/msg", r);
            s_row_cpu(si, ph, label, offsetof(hv_peer_result, server_cpu_us));
            snprintf(label, sizeof label, "at %s/s: clients CPU/msg", r);
            s_row_cpu(si, ph, label, offsetof(hv_peer_result, client_cpu_us));
        }
        printf("| fsync+fdatasync at %s/s (strace, %zu msgs) |", r1, g.flush_n[si]);
        for (int k = 0; k < HV_PEER_COUNT; k++) {
            long f = g.flushes[si][k];
            if (f < 0)
                printf(" not counted |");
            else
                printf(" %ld (%.2f per msg) |", f, (double)f / (double)g.flush_n[si]);
        }
        printf("\n");
    }
}

/* The peak rounds, the paced rounds at the two rates and the counted run
 * of one size. */
static void s_measure_size(int si)
{
    size_t size = g.sizes[si], n = s_peak_messages(size);
    char la[64];
    printf("\n== %zu B, peak: %zu messages a run (load average %s)\n", size, n,
           hv_peer_loadavg(la, sizeof la));
    for (int r = 0; r < g.rounds; r++)
        for (int k = 0; k < HV_PEER_COUNT; k++) {
            g.res[si][0][k][r] = s_run((hv_peer_kind)k, size, n, 0, false);
            s_print_run("peak", r, (hv_peer_kind)k, size, &g.res[si][0][k][r]);
            if (k == HV_PEER_HAVEN && g.res[si][0][k][r].ok)
                g.haven_wire[si] = g.res[si][0][k][r].wire_bytes;
        }
    double slowest = -1;
    for (int k = 0; k < HV_PEER_COUNT; k++) {
        double m = s_median(si, 0, (hv_peer_kind)k, offsetof(hv_peer_result, e2e_per_s));
        if (m > 0 && (slowest < 0 || m < slowest))
            slowest = m;
    }
    if (slowest <= 0) {
        printf("  no peer completed a peak run: no paced runs at this size\n");
        g.rates[si][0] = g.rates[si][1] = -1;
        return;
    }
    for (int q = 0; q < 2; q++) { /* 25% and 50%, rounded down to 100/s */
        double r = slowest * (q == 0 ? 0.25 : 0.5);
        g.rates[si][q] = r >= 200 ? (double)((long)(r / 100) * 100) : (r >= 10 ? r : 10);
    }
    for (int ph = 1; ph < S_PHASES; ph++) {
        double rate = g.rates[si][ph - 1];
        size_t pn = (size_t)(rate * 3); /* about 3 s a run */
        pn = pn < 1000 ? 1000 : (pn > n ? n : pn);
        printf("\n== %zu B at %.0f msg/s (%.0f%% of the slowest peak): %zu messages a run "
               "(load average %s)\n", size, rate, ph == 1 ? 25.0 : 50.0, pn,
               hv_peer_loadavg(la, sizeof la));
        for (int r = 0; r < g.rounds; r++)
            for (int k = 0; k < HV_PEER_COUNT; k++) {
                g.res[si][ph][k][r] = s_run((hv_peer_kind)k, size, pn, rate, false);
                s_print_run("paced", r, (hv_peer_kind)k, size, &g.res[si][ph][k][r]);
            }
    }
    size_t fn = (size_t)(g.rates[si][0] * 3);
    g.flush_n[si] = fn < 1000 ? 1000 : (fn > n ? n : fn);
    for (int k = 0; k < HV_PEER_COUNT; k++)
        g.flushes[si][k] = -1;
    if (!g.strace)
        return;
    printf("\n== %zu B at %.0f msg/s under strace (flushes counted; figures not used)\n", size,
           g.rates[si][0]);
    for (int k = 0; k < HV_PEER_COUNT; k++) {
        hv_peer_result r = s_run((hv_peer_kind)k, size, g.flush_n[si], g.rates[si][0], true);
        g.flushes[si][k] = r.ok ? r.flushes : -1;
        printf("  %-20s fsync+fdatasync calls: %ld for %zu messages\n", hv_peer_name((hv_peer_kind)k),
               g.flushes[si][k], g.flush_n[si]);
    }
}

static bool s_parse_sizes(const char *list)
{
    g.nsizes = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        long v = atol(t);
        if (g.nsizes == S_MAX_SIZES || v < 8 || v > 1048576)
            return false;
        g.sizes[g.nsizes++] = (size_t)v;
    }
    return g.nsizes > 0;
}

/* Path of `name` beside this program. */
static void s_beside(const char *argv0, const char *name, char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0)
        self[n] = '\0';
    else
        snprintf(self, sizeof self, "%s", argv0);
    snprintf(out, cap, "%s/%s", dirname(self), name);
}

int main(int argc, char **argv)
{
    static const char usage[] =
        "usage: hv-bench-peers [--rounds N] [--messages N] [--window N] [--sizes B,B,...]\n"
        "                      [--haven-bench PATH] [--haven-broker PATH] [--client-dir DIR]\n"
        "                      [--no-strace] [--keep]\n";
    g.rounds = 3;
    g.messages = 20000;
    g.window = 1024;
    g.strace = true;
    bool keep = false;
    s_parse_sizes("512,2048,16384,65536");
    s_beside(argv[0], "haven-bench", g.bench, sizeof g.bench);
    s_beside(argv[0], "haven-broker", g.broker, sizeof g.broker);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--no-strace") == 0)
            g.strace = false;
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (v != NULL && strcmp(argv[i], "--rounds") == 0 && atoi(v) >= 1 &&
                 atoi(v) <= S_MAX_ROUNDS)
            g.rounds = atoi(v), i++;
        else if (v != NULL && strcmp(argv[i], "--messages") == 0 && atol(v) >= 100)
            g.messages = (size_t)atol(v), i++;
        else if (v != NULL && strcmp(argv[i], "--window") == 0 && atol(v) >= 1 && atol(v) <= 65535)
            g.window = (unsigned)atol(v), i++;
        else if (v != NULL && strcmp(argv[i], "--sizes") == 0 && s_parse_sizes(v))
            i++;
        else if (v != NULL && strcmp(argv[i], "--haven-bench") == 0)
            snprintf(g.bench, sizeof g.bench, "%s", v), i++;
        else if (v != NULL && strcmp(argv[i], "--haven-broker") == 0)
            snprintf(g.broker, sizeof g.broker, "%s", v), i++;
        else if (v != NULL && strcmp(argv[i], "--client-dir") == 0)
            snprintf(g.client_dir, sizeof g.client_dir, "%s", v), i++;
        else {
            fprintf(stderr, "hv-bench-peers: unknown option or bad value: %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (access(g.bench, X_OK) != 0 || access(g.broker, X_OK) != 0) {
        fprintf(stderr, "hv-bench-peers: %s or %s is not executable (--haven-bench, --haven-broker)\n",
                g.bench, g.broker);
        return 2;
    }
    if (g.strace && access("/usr/bin/strace", X_OK) != 0) {
        fprintf(stderr, "hv-bench-peers: strace is missing, flushes are not counted "
                        "(./setup.sh bench installs it)\n");
        g.strace = false;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char la[64];
    printf("hv-bench-peers: %d round(s), window %u, load average %s, %ld CPUs\n", g.rounds,
           g.window, hv_peer_loadavg(la, sizeof la), sysconf(_SC_NPROCESSORS_ONLN));
    int rc = 1;
    if (!hv_peer_servers_init(&g.srv, keep))
        return 1;
    snprintf(g.haven_dir, sizeof g.haven_dir, "%s/haven", g.srv.dir);
    if (mkdir(g.haven_dir, 0700) != 0)
        goto done;
    if (g.client_dir[0] == '\0') /* a tmpfs of our own, else beside the broker */
        snprintf(g.client_dir, sizeof g.client_dir, "%s",
                 g.srv.shm[0] != '\0' ? g.srv.shm : g.haven_dir);
    if (!hv_peer_rabbit_start(&g.srv) || !hv_peer_nats_start(&g.srv))
        goto done;
    printf("Haven: %s with %s, its nodes' stores in %s\n", g.bench, g.broker, g.client_dir);
    for (int si = 0; si < g.nsizes; si++)
        s_measure_size(si);
    s_print_table();
    rc = 0;
done:
    nats_Close();
    int left = hv_peer_servers_stop(&g.srv);
    printf("\nhv-bench-peers: servers stopped; processes it started still running: %d; "
           "load average %s\n", left, hv_peer_loadavg(la, sizeof la));
    return left == 0 ? rc : 1;
}
