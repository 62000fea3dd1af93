/* hv-bench-scale's network, broker, clients and /proc figures; see
 * hv_bench_scale.h. */
#include "hv_bench_scale.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_envelope.h"
#include "hv_registry.h"

void hv_scale_die(hv_scale *sc, const char *what)
{
    fprintf(stderr, "hv-bench-scale: %s\n", what);
    if (sc->broker > 0)
        kill(sc->broker, SIGKILL);
    exit(1);
}

int64_t hv_scale_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double hv_scale_now_s(void) { return (double)hv_scale_now_us() / 1e6; }

/* ---------------------------------------------------------------- set-up */

static void s_write(hv_scale *sc, const char *name, const char *text, mode_t mode)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", sc->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
        hv_scale_die(sc, "cannot write set-up files");
}

static void s_keys_json(const hv_keypair *kp, char *out, size_t cap)
{
    const hv_pubkeys *p = hv_keypair_public(kp);
    char s[65], b[65], t[65];
    hv_hex(p->sign, 32, s);
    hv_hex(p->box, 32, b);
    hv_hex(p->transport, 32, t);
    snprintf(out, cap, "{\"sign\":\"%s\",\"box\":\"%s\",\"transport\":\"%s\"}", s, b, t);
}

/* Appends one node to the registry's JSON. */
static void s_node_json(hv_scale *sc, char **json, size_t *len, size_t *cap,
                        hv_scale_node *n, bool sender, const char *from, const char *until)
{
    char keys[400];
    if (hv_keypair_generate(&n->keys) != HV_OK)
        hv_scale_die(sc, "keygen");
    s_keys_json(n->keys, keys, sizeof keys);
    if (*cap - *len < 1024) {
        *cap *= 2;
        if ((*json = realloc(*json, *cap)) == NULL)
            hv_scale_die(sc, "out of memory");
    }
    *len += (size_t)snprintf(*json + *len, *cap - *len,
                             ",{\"id\":\"%s\",\"role\":\"%s\",\"country\":\"XC\",\"organisation\":"
                             "\"Example\",\"home\":\"broker.xc\",%s\"keys\":%s,\"valid_from\":"
                             "\"%s\",\"valid_until\":\"%s\"}",
                             n->id, sender ? "router" : "provider",
                             sender ? "" : "\"services\":[\"shelter\"],", keys, from, until);
}

void hv_scale_setup(hv_scale *sc, size_t n_providers)
{
    hv_keypair *authority = NULL;
    if (hv_keypair_generate(&authority) != HV_OK || hv_keypair_generate(&sc->broker_keys) != HV_OK)
        hv_scale_die(sc, "keygen");
    time_t now = time(NULL);
    char from[21], until[21], keys[400];
    hv_time_format((uint64_t)now - 3600, from);
    hv_time_format((uint64_t)now + 86400, until);
    size_t cap = 65536, len;
    char *json = malloc(cap);
    if (json == NULL)
        hv_scale_die(sc, "out of memory");
    s_keys_json(sc->broker_keys, keys, sizeof keys);
    len = (size_t)snprintf(json, cap,
                           "{\"network\":\"bench\",\"version\":1,\"issued_at\":\"%s\",\"expires_at\":"
                           "\"%s\",\"nodes\":[{\"id\":\"broker.xc\",\"role\":\"broker\",\"country\":"
                           "\"XC\",\"organisation\":\"Example\",\"endpoints\":{\"workers\":\"%s\"},"
                           "\"keys\":%s,\"valid_from\":\"%s\",\"valid_until\":\"%s\"}",
                           from, until, sc->endpoint, keys, from, until);
    for (int i = 0; i < HV_SCALE_SENDERS; i++) {
        snprintf(sc->senders[i].id, sizeof sc->senders[i].id, "router-%d.xc", i + 1);
        s_node_json(sc, &json, &len, &cap, &sc->senders[i], true, from, until);
    }
    sc->n_providers = n_providers;
    sc->providers = calloc(n_providers, sizeof *sc->providers);
    if (sc->providers == NULL)
        hv_scale_die(sc, "out of memory");
    for (size_t i = 0; i < n_providers; i++) {
        snprintf(sc->providers[i].id, sizeof sc->providers[i].id, "provider-%u.xc", (unsigned)(i + 1));
        s_node_json(sc, &json, &len, &cap, &sc->providers[i], false, from, until);
    }
    snprintf(json + len, cap - len, "]}");
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    uint8_t *signed_reg;
    size_t signed_len;
    if (hv_registry_from_json(json, strlen(json), NULL, &reg, &e) != HV_OK ||
        hv_registry_sign(reg, authority, &signed_reg, &signed_len) != HV_OK)
        hv_scale_die(sc, e.text);
    char path[1024];
    snprintf(path, sizeof path, "%s/network.reg", sc->dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(signed_reg, 1, signed_len, f) != signed_len || fclose(f) != 0)
        hv_scale_die(sc, "cannot write the registry");
    s_keys_json(authority, keys, sizeof keys);
    s_write(sc, "authority.pub", keys, 0644);
    uint8_t seeds[3][32];
    char h[3][65], text[1024];
    hv_keypair_seeds(sc->broker_keys, seeds[0], seeds[1], seeds[2]);
    for (int i = 0; i < 3; i++)
        hv_hex(seeds[i], 32, h[i]);
    snprintf(text, sizeof text,
             "haven-secret-keys v1\nid broker.xc\nsign-seed %s\nbox-secret %s\n"
             "transport-secret %s\n", h[0], h[1], h[2]);
    s_write(sc, "broker.key", text, 0600);
    /* The broker's defaults but for the limits a load would hit: the
     * heartbeats (1 s) and the timers are what the parts measure. */
    snprintf(text, sizeof text,
             "[broker]\nid = broker.xc\nkeys = broker.key\nauthority = authority.pub\n"
             "registry = network.reg\nstore = broker.db\nbind = %s\nlog_level = info\n"
             "[limits]\nrate_per_second = 1000000\nrate_burst = 1000000\n"
             "high_water_mark = 100000\n[timing]\nlease_ms = 60000\n", sc->endpoint);
    s_write(sc, "broker.ini", text, 0644);
    free(signed_reg);
    free(json);
    hv_registry_free(&reg);
    hv_keypair_free(&authority);
}

/* ---------------------------------------------------------------- broker */

static void s_unlink_store(const char *dir, const char *name)
{
    static const char *const suffix[] = {"", "-wal", "-shm", ".audit", ".registry-held"};
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix[k]);
        (void)unlink(path);
    }
}

void hv_scale_broker_start(hv_scale *sc)
{
    char ini[1024], log[1024];
    s_unlink_store(sc->dir, "broker.db");
    snprintf(ini, sizeof ini, "%s/broker.ini", sc->dir);
    snprintf(log, sizeof log, "%s/broker.log", sc->dir);
    pid_t parent = getpid();
    sc->broker = fork();
    if (sc->broker < 0)
        hv_scale_die(sc, "fork");
    if (sc->broker == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(sc->broker_bin, sc->broker_bin, "-c", ini, (char *)NULL);
        _exit(127);
    }
}

void hv_scale_broker_stop(hv_scale *sc)
{
    int status;
    if (sc->broker <= 0)
        return;
    kill(sc->broker, SIGTERM);
    waitpid(sc->broker, &status, 0);
    sc->broker = 0;
}

/* ---------------------------------------------------------------- clients */

hv_client *hv_scale_client_open(hv_scale *sc, const hv_scale_node *node, uint32_t window)
{
    char store[1024];
    snprintf(store, sizeof store, "%s/%s.db", sc->client_dir, node->id);
    hv_client_config cfg = {.node_id = node->id, .keys = node->keys, .endpoint = sc->endpoint,
                            .store_path = store, .window = window, .resend_ms = 30000};
    memcpy(cfg.broker_transport_pk, hv_keypair_public(sc->broker_keys)->transport, 32);
    hv_client *c = NULL;
    hv_errmsg e = {""};
    if (hv_client_open(&c, &cfg, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-scale: %s: %s\n", node->id, e.text);
        return NULL;
    }
    return c;
}

hv_client *hv_scale_client(hv_scale *sc, const hv_scale_node *node, uint32_t window)
{
    hv_client *c = hv_scale_client_open(sc, node, window);
    if (c == NULL || hv_client_wait_ready(c, 30000) != HV_OK)
        hv_scale_die(sc, "a client cannot connect");
    return c;
}

void hv_scale_remove_client_stores(const hv_scale *sc)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sc->n_providers + HV_SCALE_SENDERS; i++) {
        const char *id = i < sc->n_providers ? sc->providers[i].id
                                              : sc->senders[i - sc->n_providers].id;
        for (size_t k = 0; k < 3; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s.db%s", sc->client_dir, id, suffix[k]);
            (void)unlink(path);
        }
    }
}

/* -------------------------------------------------------------- envelopes */

void hv_scale_seal(hv_scale *sc, const hv_scale_node *from, const hv_scale_node *to,
                   uint64_t index, uint8_t **wire, size_t *len)
{
    static const uint8_t pattern[64] = "a referral's summary, sealed end to end, padded to size";
    uint8_t *pt = malloc(sc->size);
    if (pt == NULL)
        hv_scale_die(sc, "out of memory");
    for (size_t i = 0; i < sc->size; i++)
        pt[i] = pattern[i % sizeof pattern];
    hv_envelope env;
    hv_envelope_init(&env, HV_MSG_OFFER, from->id, hv_keypair_public(from->keys), to->id,
                     hv_keypair_public(to->keys));
    memcpy(env.id + 8, &index, 8); /* bytes 0..5 keep the time, 6..7 stay random */
    if (hv_envelope_seal(&env, from->keys, hv_keypair_public(to->keys), pt, sc->size, wire,
                         len) != HV_OK)
        hv_scale_die(sc, "seal");
    free(pt);
}

uint64_t hv_scale_index(const uint8_t id[16])
{
    uint64_t v;
    memcpy(&v, id + 8, 8);
    return v;
}

/* ------------------------------------------------------------------ /proc */

/* A thread's name, from its comm file. */
static bool s_comm(const char *dir, char *name, size_t cap)
{
    char path[192], line[64];
    snprintf(path, sizeof path, "%s/comm", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    snprintf(name, cap, "%.19s", ok ? line : "?");
    return ok;
}

/* A thread's CPU time in seconds from its schedstat file (nanoseconds on
 * a CPU: /proc/.../stat counts in ticks of 10 ms, too coarse for an idle
 * node's few milliseconds a second). */
static bool s_schedstat(const char *dir, double *cpu_s)
{
    char path[192];
    unsigned long long ns;
    snprintf(path, sizeof path, "%s/schedstat", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    bool ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    *cpu_s = (double)ns / 1e9;
    return ok;
}

/* One field ("Name:\t%ld") of a /proc/.../status file; -1 when absent. */
static long s_status_field(const char *path, const char *field)
{
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atol(line + n + 1);
            break;
        }
    if (f != NULL)
        fclose(f);
    return v;
}

size_t hv_scale_threads(pid_t pid, hv_scale_thread *snap, size_t cap)
{
    char path[192];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *de;
    while (d != NULL && n < cap && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        hv_scale_thread *t = &snap[n];
        char dir[128];
        t->tid = atoi(de->d_name);
        snprintf(dir, sizeof dir, "/proc/%d/task/%d", (int)pid, t->tid);
        if (!s_comm(dir, t->name, sizeof t->name) || !s_schedstat(dir, &t->cpu_s))
            continue;
        snprintf(path, sizeof path, "%s/status", dir);
        t->wakeups = (double)s_status_field(path, "voluntary_ctxt_switches");
        n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

bool hv_scale_proc_read(pid_t pid, hv_scale_proc *out)
{
    char path[128];
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    long rss = s_status_field(path, "VmRSS");
    if (rss < 0)
        return false;
    out->rss_mib = (double)rss / 1024;
    /* The process's own lines count only its main thread's switches and
     * time: every thread's are summed (a thread that ended is not). */
    static hv_scale_thread t[8192];
    size_t n = hv_scale_threads(pid, t, sizeof t / sizeof t[0]);
    for (size_t i = 0; i < n; i++) {
        out->wakeups += t[i].wakeups;
        out->cpu_s += t[i].cpu_s;
    }
    out->threads = (int)n;
    return true;
}

/* Threads of the same name are summed when there are more than four of
 * them (a process's 1,000 ZeroMQ I/O threads are one line); fewer are
 * shown one by one, so that a broker's own threads can be told apart. */
void hv_scale_threads_print(const hv_scale_thread *before, size_t n_before,
                            const hv_scale_thread *after, size_t n_after, double seconds,
                            const char *indent)
{
    bool done[8192] = {false};
    for (size_t i = 0; i < n_after && i < 8192; i++) {
        if (done[i])
            continue;
        size_t count = 0;
        for (size_t j = i; j < n_after && j < 8192; j++)
            count += strcmp(after[j].name, after[i].name) == 0;
        double cpu = 0, wake = 0;
        for (size_t j = i; j < n_after && j < 8192; j++) {
            if (done[j] || strcmp(after[j].name, after[i].name) != 0)
                continue;
            double c = 0, w = 0;
            for (size_t k = 0; k < n_before; k++)
                if (before[k].tid == after[j].tid) {
                    c = after[j].cpu_s - before[k].cpu_s;
                    w = after[j].wakeups - before[k].wakeups;
                }
            if (count <= 4) {
                done[j] = true;
                printf("%s%-16s tid %-7d CPU %8.3f ms/s   wake-ups %8.2f /s\n", indent,
                       after[j].name, after[j].tid, 1000 * c / seconds, w / seconds);
                continue;
            }
            done[j] = true;
            cpu += c;
            wake += w;
        }
        if (count > 4)
            printf("%s%-16s x%-9zu CPU %8.3f ms/s   wake-ups %8.2f /s\n", indent, after[i].name,
                   count, 1000 * cpu / seconds, wake / seconds);
    }
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

double hv_scale_quantile_ms(int64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, s_cmp);
    size_t i = (size_t)(q * (double)n);
    return (double)v[i < n ? i : n - 1] / 1000;
}
