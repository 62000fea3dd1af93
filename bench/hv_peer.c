/* The peers benchmark's shared timing: per-message times, pacing within a
 * window, CPU of the servers and of this process, percentiles (hv_peer.h). */
#include "hv_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int64_t hv_peer_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool hv_peer_times_init(hv_peer_times *t, size_t n)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->sent = calloc(n, sizeof(int64_t));
    t->conf = calloc(n, sizeof(int64_t));
    t->recv = calloc(n, sizeof(int64_t));
    if (t->sent == NULL || t->conf == NULL || t->recv == NULL) {
        hv_peer_times_free(t);
        return false;
    }
    return true;
}

void hv_peer_times_free(hv_peer_times *t)
{
    free(t->sent);
    free(t->conf);
    free(t->recv);
    t->sent = t->conf = t->recv = NULL;
    t->n = 0;
}

void hv_peer_stamp(uint8_t *body, size_t i)
{
    uint64_t v = i;
    memcpy(body, &v, 8);
}

size_t hv_peer_index(const void *body, size_t len)
{
    uint64_t v;
    if (len < 8)
        return SIZE_MAX;
    memcpy(&v, body, 8);
    return (size_t)v;
}

/* Sets slot[i] to now if it was 0, and counts it; safe from any thread
 * (a compare-and-swap, since a confirm and a redelivery may race). */
static void s_mark(int64_t *slot, size_t *count)
{
    int64_t zero = 0, now = hv_peer_now_us();
    if (__atomic_compare_exchange_n(slot, &zero, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        __atomic_add_fetch(count, 1, __ATOMIC_RELEASE);
}

void hv_peer_mark_conf(hv_peer_times *t, size_t i)
{
    if (i < t->n)
        s_mark(&t->conf[i], &t->confirmed);
}

void hv_peer_mark_recv(hv_peer_times *t, size_t i)
{
    if (i < t->n)
        s_mark(&t->recv[i], &t->received);
}

size_t hv_peer_allowed(const hv_peer_load *load, const hv_peer_times *t, size_t sent,
                       int64_t start_us)
{
    size_t left = t->n - sent;
    if (load->rate > 0) {
        double due = (double)(hv_peer_now_us() - start_us) / 1e6 * load->rate;
        size_t paced = due > (double)sent ? (size_t)(due - (double)sent) : 0;
        left = paced < left ? paced : left;
    }
    size_t confirmed = __atomic_load_n(&t->confirmed, __ATOMIC_ACQUIRE);
    size_t out = sent - (confirmed < sent ? confirmed : sent);
    size_t room = out < load->window ? load->window - out : 0;
    return left < room ? left : room;
}

long hv_peer_wait_us(const hv_peer_load *load, const hv_peer_times *t, size_t sent,
                     int64_t start_us)
{
    size_t confirmed = __atomic_load_n(&t->confirmed, __ATOMIC_ACQUIRE);
    bool full = sent - (confirmed < sent ? confirmed : sent) >= load->window;
    if (load->rate <= 0 || full || sent >= t->n)
        return 5000;
    double due = (double)start_us + (double)(sent + 1) / load->rate * 1e6;
    double wait = due - (double)hv_peer_now_us();
    return wait < 0 ? 0 : wait > 5000 ? 5000 : (long)wait;
}

/* utime + stime of one process, in seconds; 0 when it is gone. */
static double s_proc_cpu(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    double s = 0;
    if (f != NULL && fgets(line, sizeof line, f) != NULL) {
        unsigned long user, sys;
        const char *rest = strrchr(line, ')'); /* the name may hold spaces */
        if (rest != NULL &&
            sscanf(rest + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user,
                   &sys) == 2)
            s = (double)(user + sys) / (double)sysconf(_SC_CLK_TCK);
    }
    if (f != NULL)
        fclose(f);
    return s;
}

hv_peer_cpu hv_peer_cpu_now(const pid_t *pids, int npids)
{
    hv_peer_cpu c = {0, 0};
    for (int i = 0; i < npids; i++)
        if (pids[i] > 0)
            c.server += s_proc_cpu(pids[i]);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        c.clients = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return c;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* p50 and p99 of end[i] - start[i] over the messages that have both, in ms. */
static void s_percentiles(const int64_t *start, const int64_t *end, size_t n, double *p50,
                          double *p99)
{
    *p50 = *p99 = 0;
    int64_t *d = malloc((n > 0 ? n : 1) * sizeof *d);
    size_t m = 0;
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (start[i] > 0 && end[i] > 0)
            d[m++] = end[i] - start[i];
    qsort(d, m, sizeof *d, s_cmp);
    if (m > 0) {
        *p50 = (double)d[m / 2] / 1000;
        *p99 = (double)d[m * 99 / 100] / 1000;
    }
    free(d);
}

void hv_peer_result_fill(hv_peer_result *r, const hv_peer_times *t, int64_t start_us,
                         hv_peer_cpu before, hv_peer_cpu after)
{
    int64_t last = 0;
    for (size_t i = 0; i < t->n; i++)
        last = t->recv[i] > last ? t->recv[i] : last;
    r->e2e_per_s = last > start_us ? (double)t->n / ((double)(last - start_us) / 1e6) : 0;
    s_percentiles(t->sent, t->conf, t->n, &r->conf_p50_ms, &r->conf_p99_ms);
    s_percentiles(t->sent, t->recv, t->n, &r->e2e_p50_ms, &r->e2e_p99_ms);
    r->server_cpu_us = (after.server - before.server) / (double)t->n * 1e6;
    r->client_cpu_us = (after.clients - before.clients) / (double)t->n * 1e6;
    r->ok = t->received == t->n;
}

const char *hv_peer_name(hv_peer_kind k)
{
    static const char *const names[HV_PEER_COUNT] = {"Haven", "RabbitMQ classic",
                                                     "RabbitMQ quorum", "NATS JetStream file"};
    return k < HV_PEER_COUNT ? names[k] : "?";
}
