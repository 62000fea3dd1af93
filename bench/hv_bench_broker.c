/* haven-bench: the broker under load (a benchmark program, not a test).
 *
 * N sender nodes -> one broker -> M receiver nodes, over CurveZMQ on
 * loopback, with durable custody on both sides, using the real client
 * library and the real broker process. Prints throughput, latency
 * percentiles (send to STORED, and end to end), the broker's memory and
 * the CPU time per envelope, beside limits of this machine measured in the
 * same run: the SQLite group-commit rate (WAL, synchronous=FULL, the
 * broker's own settings), raw CurveZMQ throughput between two sockets and,
 * after a paced run, the latency floor of one durable hop at that rate
 * (hv_bench_floor.h).
 *
 * usage: haven-bench HAVEN_BROKER [--messages N] [--senders N] [--receivers N]
 *                    [--size BYTES] [--backlog N] [--keep DIR] [--client-dir DIR]
 *                    [--group-ms N] [--replay-hours N] [--rate N] [--broker-cpu N] [--samples FILE]
 *                    [--receivers-nice N]
 *                    [--erase on|off|both] [--documents MIB]
 *   --senders N, --receivers N: the nodes on each side, 1 to 1,000 each
 *                (default 2 and 2); envelope i goes from sender i mod N to
 *                receiver i mod M. A run ends with one "summary:" line of
 *                its figures, for scripts that compare runs (e.g. 1 -> 1
 *                against 4 -> 100).
 *   --size BYTES: the plaintext of each envelope (default 1800), up to
 *                HV_PLAINTEXT_MAX; an envelope is about 242 bytes more. Up to the
 *                OFFER's limit (64 KiB) the senders are routers sending
 *                OFFERs; above it, intakes sending CASE_TRANSFERs, the type
 *                that carries up to HV_PLAINTEXT_MAX.
 *   --documents MIB: instead, a document of MIB MiB in chunks through the
 *                broker's custody (bench/hv_bench_docs.h; issue 21).
 *   --samples FILE: write each envelope's send, STORED and delivery times of
 *                the last load run to FILE, to see when the slow ones happened
 *                (nothing with --backlog).
 *   --receivers-nice N: run the receivers' threads (and their ZeroMQ I/O
 *                threads) at nice N, 1 to 19: a diagnostic, to see how much of
 *                the senders' and the broker's latency is the receivers'
 *                competition for this machine's CPUs, which receivers on
 *                other machines would not make. Not for figures to compare
 *                with runs without it.
 *   --broker-cpu N: run the broker on CPU N and the senders and receivers on
 *                the other CPUs, as if they were on other machines.
 *   --rate N: skip the peak run and run only at N envelopes/s (latency at a
 *                chosen load).
 *   --group-ms N: the broker's [store] group_ms (how long a change may wait
 *                for its group commit; the broker's default when absent).
 *   --replay-hours N: the broker's [custody] replay_hours (0: no replay
 *                window, to measure what keeping it costs; default 72).
 *   --erase on|off|both: the broker's [store] erase (on, its default: what
 *                it deletes is overwritten and the WAL truncated every
 *                second; off: as before issue 19). `both` measures off, then
 *                on, each with a store of its own, and prints them side by
 *                side with the ratio.
 *   --backlog N: instead, queue N envelopes for offline receivers and report
 *                the broker's memory with that backlog and its restart time.
 *   --client-dir DIR: put the senders' and receivers' stores there (e.g. a
 *                tmpfs, to stand for clients on other machines) while the
 *                broker's store stays in the working directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_bench_docs.h"
#include "hv_bench_floor.h"
#include "hv_client.h"
#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_keys.h"
#include "hv_registry.h"

/* Up to 1,000 senders and 1,000 receivers (issue 24's fan-out). Each node
 * is a client of its own, with its own thread and its own ZeroMQ context
 * (hv_client_open makes one): each stands for a node on another machine,
 * with its own I/O thread, so that the broker sees as many independent
 * connections as nodes. At 1,000 that is some 3,000 threads and 0.7 MiB a
 * context in this process, which this machine holds; a blocked receiver
 * costs nothing, and sharing one thread among several clients would add a
 * polling delay to the latencies measured (hv_client has no descriptor to
 * wait on for several clients at once). */
#define S_MAX_NODES 1000

/* One node's identity: its keys and its id. */
typedef struct s_node {
    hv_keypair *keys; /* its key pairs */
    char id[32];      /* e.g. "provider-7.xc" */
} s_node;

static struct {
    const char *broker_bin;      /* haven-broker */
    size_t messages;             /* envelopes in a throughput run */
    int senders, receivers;      /* node counts */
    size_t size;                 /* plaintext bytes */
    size_t backlog;              /* 0, or the backlog size to test */
    double rate;                 /* 0, or the only paced rate to run */
    int broker_cpu;              /* -1, or the CPU the broker alone runs on */
    int receivers_nice;          /* 0, or the nice value of the receivers' threads */
    char group_ms[16];           /* [store] group_ms, or "" for the default */
    char replay_hours[16];       /* [custody] replay_hours, or "" for the default */
    char erase[8];               /* [store] erase: "on", "off", "both" or "" (the default) */
    FILE *samples;               /* NULL, or where to write each envelope's times */
    size_t documents;            /* 0, or the MiB of the document of --documents */
    char dir[512];               /* working directory */
    char client_dir[512];        /* where client stores go (default: dir) */
    char endpoint[64];           /* broker endpoint */
    hv_keypair *broker_keys;     /* broker */
    s_node *senders_of, *receivers_of; /* g.senders and g.receivers of them (allocated) */
    pid_t broker;                /* broker process */
} g;

/* Whether --size is above an OFFER's plaintext limit: then the senders are
 * intakes and send CASE_TRANSFERs (see --size above). */
static bool s_large(void) { return g.size > hv_msg_rule_get(HV_MSG_OFFER)->plaintext_max; }

static double s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void s_die(const char *what)
{
    fprintf(stderr, "haven-bench: %s\n", what);
    if (g.broker > 0)
        kill(g.broker, SIGKILL);
    exit(1);
}

static void s_write(const char *name, const char *text, mode_t mode)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g.dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
        s_die("cannot write set-up files");
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

/* broker.ini, with [store] erase = `erase` ("" for the broker's default). */
static void s_broker_ini(const char *erase)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[broker]\nid = broker.xc\nkeys = broker.key\nauthority = authority.pub\n"
             "registry = network.reg\nstore = broker.db\nbind = %s\nlog_level = info\n"
             "[limits]\nrate_per_second = 1000000\nrate_burst = 1000000\n"
             "high_water_mark = 100000\n[timing]\nlease_ms = 60000\n[store]\n%s%s%s%s%s%s\n"
             "%s%s\n", g.endpoint,
             g.group_ms[0] ? "group_ms = " : "", g.group_ms, g.group_ms[0] ? "\n" : "",
             erase[0] ? "erase = " : "", erase, erase[0] ? "\n" : "",
             g.replay_hours[0] ? "[custody]\nreplay_hours = " : "", g.replay_hours);
    s_write("broker.ini", text, 0644);
}

/* Keys, a signed registry and broker.ini for the benchmark network. */
static void s_setup(void)
{
    hv_keypair *authority = NULL;
    if (hv_keypair_generate(&authority) != HV_OK || hv_keypair_generate(&g.broker_keys) != HV_OK)
        s_die("keygen");
    time_t now = time(NULL);
    char from[21], until[21];
    hv_time_format((uint64_t)now - 3600, from);
    hv_time_format((uint64_t)now + 86400, until);
    size_t cap = 65536;
    char *json = malloc(cap), keys[400];
    s_keys_json(g.broker_keys, keys, sizeof keys);
    int len = snprintf(json, cap,
                       "{\"network\":\"bench\",\"version\":1,\"issued_at\":\"%s\",\"expires_at\":"
                       "\"%s\",\"nodes\":[{\"id\":\"broker.xc\",\"role\":\"broker\",\"country\":"
                       "\"XC\",\"organisation\":\"Example\",\"endpoints\":{\"workers\":\"%s\"},"
                       "\"keys\":%s,\"valid_from\":\"%s\",\"valid_until\":\"%s\"}",
                       from, until, g.endpoint, keys, from, until);
    for (int i = 0; i < g.senders + g.receivers; i++) {
        bool sender = i < g.senders;
        int k = sender ? i : i - g.senders;
        hv_keypair **kp = sender ? &g.senders_of[k].keys : &g.receivers_of[k].keys;
        char *id = sender ? g.senders_of[k].id : g.receivers_of[k].id;
        bool intake = g.documents || s_large();
        snprintf(id, 32, "%s-%d.xc", sender ? (intake ? "ngo" : "router") : "provider", k + 1);
        if (hv_keypair_generate(kp) != HV_OK)
            s_die("keygen");
        s_keys_json(*kp, keys, sizeof keys);
        if (cap - (size_t)len < 2048 && (json = realloc(json, cap *= 2)) == NULL)
            s_die("out of memory");
        len += snprintf(json + len, cap - (size_t)len,
                        ",{\"id\":\"%s\",\"role\":\"%s\",\"country\":\"XC\",\"organisation\":"
                        "\"Example\",\"home\":\"broker.xc\",%s\"keys\":%s,\"valid_from\":\"%s\","
                        "\"valid_until\":\"%s\"}",
                        id, sender ? (intake ? "intake" : "router") : "provider",
                        sender ? "" : "\"services\":[\"shelter\"],", keys, from, until);
    }
    snprintf(json + len, cap - (size_t)len, "]}");
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    uint8_t *signed_reg;
    size_t signed_len;
    if (hv_registry_from_json(json, strlen(json), NULL, &reg, &e) != HV_OK ||
        hv_registry_sign(reg, authority, &signed_reg, &signed_len) != HV_OK)
        s_die(e.text);
    char path[1024];
    snprintf(path, sizeof path, "%s/network.reg", g.dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(signed_reg, 1, signed_len, f) != signed_len || fclose(f) != 0)
        s_die("cannot write the registry");
    s_keys_json(authority, keys, sizeof keys);
    s_write("authority.pub", keys, 0644);
    uint8_t seeds[3][32];
    char h[3][65], text[1024];
    hv_keypair_seeds(g.broker_keys, seeds[0], seeds[1], seeds[2]);
    for (int i = 0; i < 3; i++)
        hv_hex(seeds[i], 32, h[i]);
    snprintf(text, sizeof text,
             "haven-secret-keys v1\nid broker.xc\nsign-seed %s\nbox-secret %s\n"
             "transport-secret %s\n", h[0], h[1], h[2]);
    s_write("broker.key", text, 0600);
    s_broker_ini(strcmp(g.erase, "both") == 0 ? "off" : g.erase);
    free(signed_reg);
    free(json);
    hv_registry_free(&reg);
    hv_keypair_free(&authority);
}

static void s_start_broker(void)
{
    char ini[1024], log[1024];
    snprintf(ini, sizeof ini, "%s/broker.ini", g.dir);
    snprintf(log, sizeof log, "%s/broker.log", g.dir);
    pid_t parent = getpid();
    g.broker = fork();
    if (g.broker == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        if (g.broker_cpu >= 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(g.broker_cpu, &one);
            if (sched_setaffinity(0, sizeof one, &one) != 0)
                _exit(126);
        }
        execl(g.broker_bin, g.broker_bin, "-c", ini, (char *)NULL);
        _exit(127);
    }
}

static void s_stop_broker(void)
{
    int status;
    kill(g.broker, SIGTERM);
    waitpid(g.broker, &status, 0);
    g.broker = 0;
}

/* Resident and peak memory of a process, in MiB, from /proc. */
static void s_rss(pid_t pid, double *rss, double *peak)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    *rss = *peak = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        long kb;
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            *rss = (double)kb / 1024;
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            *peak = (double)kb / 1024;
    }
    if (f != NULL)
        fclose(f);
}

/* Removes the clients' stores this program makes in --client-dir (and
 * nothing else there), so that every run starts from empty stores. */
static void s_remove_client_stores(void)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int side = 0; g.client_dir[0] != '\0' && side < 2; side++)
        for (int k = 0; k < (side ? g.receivers : g.senders); k++)
            for (int x = 0; x < 3; x++) {
                const char *id = side ? g.receivers_of[k].id : g.senders_of[k].id;
                char path[1024];
                snprintf(path, sizeof path, "%s/%s.db%s", g.client_dir, id, suffix[x]);
                (void)unlink(path);
            }
}

static hv_client *s_client(const char *id, const hv_keypair *kp, uint32_t window)
{
    char store[1024];
    snprintf(store, sizeof store, "%s/%s.db", g.client_dir[0] ? g.client_dir : g.dir, id);
    hv_client_config cfg = {.node_id = id, .keys = kp, .endpoint = g.endpoint,
                            .store_path = store, .window = window, .resend_ms = 30000};
    memcpy(cfg.broker_transport_pk, hv_keypair_public(g.broker_keys)->transport, 32);
    hv_client *c = NULL;
    hv_errmsg e = {""};
    if (hv_client_open(&c, &cfg, &e) != HV_OK || hv_client_wait_ready(c, 10000) != HV_OK)
        s_die("client cannot connect");
    return c;
}

/* ------------------------------------------------------ envelopes, timing */

typedef struct s_run {
    size_t n;                 /* envelopes */
    uint8_t **wire;           /* sealed envelopes */
    size_t *len;              /* their lengths */
    int64_t *t_sent;          /* us: handed to the outbox */
    int64_t *t_stored;        /* us: STORED seen by the sender */
    int64_t *t_recv;          /* us: delivered to a receiver application */
    double rate;              /* envelopes per second per run, 0 = as fast as possible */
    size_t received;          /* delivered so far (atomic) */
    size_t stored;            /* stored so far (atomic) */
    int receivers_ready;      /* receivers connected (atomic) */
} s_run;

static s_run g_run;

/* The message id carries its index after its time prefix (hv_time_id),
 * so timings need no lookup table. */
static size_t s_index(const uint8_t id[16])
{
    uint64_t v;
    memcpy(&v, id + 8, 8);
    return (size_t)v;
}

typedef struct s_seal_job {
    size_t from, to; /* index range */
} s_seal_job;

static void *s_seal_worker(void *arg)
{
    s_seal_job *j = arg;
    uint8_t *pt = malloc(g.size);
    memset(pt, 'x', g.size);
    for (size_t i = j->from; i < j->to; i++) {
        int s = (int)(i % (size_t)g.senders), r = (int)(i % (size_t)g.receivers);
        hv_envelope env;
        hv_envelope_init(&env, s_large() ? HV_MSG_CASE_TRANSFER : HV_MSG_OFFER, g.senders_of[s].id,
                         hv_keypair_public(g.senders_of[s].keys), g.receivers_of[r].id,
                         hv_keypair_public(g.receivers_of[r].keys));
        uint64_t idx = i;
        memcpy(env.id + 8, &idx, 8); /* bytes 0..5 keep the time, 6..7 stay random */
        if (hv_envelope_seal(&env, g.senders_of[s].keys, hv_keypair_public(g.receivers_of[r].keys),
                             pt, g.size, &g_run.wire[i], &g_run.len[i]) != HV_OK)
            s_die("seal");
    }
    free(pt);
    return NULL;
}

/* Seals a fresh set of `n` envelopes (new ids: a resent id is, rightly,
 * only acknowledged again by the broker, never delivered twice). */
static void s_prepare(size_t n)
{
    if (g_run.wire != NULL)
        for (size_t i = 0; i < g_run.n; i++)
            free(g_run.wire[i]);
    free(g_run.wire);
    free(g_run.len);
    free(g_run.t_sent);
    free(g_run.t_stored);
    free(g_run.t_recv);
    g_run.n = n;
    g_run.wire = calloc(n, sizeof *g_run.wire);
    g_run.len = calloc(n, sizeof *g_run.len);
    g_run.t_sent = calloc(n, sizeof(int64_t));
    g_run.t_stored = calloc(n, sizeof(int64_t));
    g_run.t_recv = calloc(n, sizeof(int64_t));
    pthread_t t[2];
    s_seal_job jobs[2] = {{0, n / 2}, {n / 2, n}};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, s_seal_worker, &jobs[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

static void s_on_stored(void *arg, const uint8_t id[16])
{
    size_t *mine_stored = arg;
    size_t i = s_index(id);
    if (i < g_run.n && g_run.t_stored[i] == 0) {
        g_run.t_stored[i] = s_now_us();
        (*mine_stored)++;
        __atomic_add_fetch(&g_run.stored, 1, __ATOMIC_RELAXED);
    }
}

static void *s_sender(void *arg)
{
    int s = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "sender-%d", s); /* for profilers */
    pthread_setname_np(pthread_self(), name);
    hv_client *c = s_client(g.senders_of[s].id, g.senders_of[s].keys, 64);
    size_t mine_stored = 0;
    hv_client_on_stored(c, s_on_stored, &mine_stored);
    /* This sender's envelopes are indexes s, s+N, s+2N, ... */
    size_t mine = 0, total = (g_run.n - (size_t)s + (size_t)g.senders - 1) / (size_t)g.senders;
    uint8_t *batch[256];
    size_t lens[256];
    double start = s_now_s(), per_sender = g_run.rate / g.senders;
    while (mine_stored < total) {
        size_t allowed = total - mine;
        if (per_sender > 0) {
            double due = (s_now_s() - start) * per_sender;
            allowed = due > (double)mine ? (size_t)(due - (double)mine) : 0;
            if (allowed > total - mine)
                allowed = total - mine;
        }
        /* At most 8192 envelopes between outbox and STORED per sender. */
        size_t k = 0;
        while (k < 256 && k < allowed && mine + k - mine_stored < 8192) {
            size_t i = (mine + k) * (size_t)g.senders + (size_t)s;
            batch[k] = g_run.wire[i];
            lens[k] = g_run.len[i];
            g_run.t_sent[i] = s_now_us();
            k++;
        }
        if (k > 0 && hv_client_send_many(c, (const uint8_t *const *)batch, lens, k) != HV_OK)
            s_die("send");
        mine += k;
        if (hv_client_poll(c, k > 0 ? 0 : 1) != HV_OK)
            s_die("poll");
    }
    hv_client_close(&c);
    return NULL;
}

static void *s_receiver(void *arg)
{
    int r = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "receiver-%d", r);
    pthread_setname_np(pthread_self(), name);
    /* Before the client: its ZeroMQ I/O thread inherits this thread's nice. */
    if (g.receivers_nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), g.receivers_nice) != 0)
        s_die("setpriority");
    hv_client *c = s_client(g.receivers_of[r].id, g.receivers_of[r].keys, 1024);
    __atomic_add_fetch(&g_run.receivers_ready, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&g_run.received, __ATOMIC_RELAXED) < g_run.n) {
        hv_delivery *d = NULL;
        hv_err err = hv_client_recv(c, 100, &d);
        if (err == HV_ETIMEOUT)
            continue;
        if (err != HV_OK)
            s_die("recv");
        size_t i = s_index(d->env.id);
        if (i < g_run.n && g_run.t_recv[i] == 0) {
            g_run.t_recv[i] = s_now_us();
            __atomic_add_fetch(&g_run.received, 1, __ATOMIC_RELAXED);
        }
        if (hv_client_ack(c, &d) != HV_OK)
            s_die("ack");
    }
    if (hv_client_flush(c) != HV_OK)
        s_die("flush");
    hv_client_close(&c);
    return NULL;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Prints p50/p99/p99.9 of t_end - t_start in milliseconds; returns the p99. */
static double s_percentiles(const char *what, const int64_t *t_start, const int64_t *t_end)
{
    int64_t *d = malloc(g_run.n * sizeof *d);
    size_t m = 0;
    for (size_t i = 0; i < g_run.n; i++)
        if (t_end[i] > 0 && t_start[i] > 0)
            d[m++] = t_end[i] - t_start[i];
    qsort(d, m, sizeof *d, s_cmp);
    double p99 = m > 0 ? (double)d[m * 99 / 100] / 1000 : 0;
    if (m > 0)
        printf("  %-26s p50 %7.2f ms   p99 %7.2f ms   p99.9 %7.2f ms   (%zu samples)\n", what,
               (double)d[m / 2] / 1000, p99, (double)d[m * 999 / 1000] / 1000, m);
    free(d);
    return p99;
}

/* The broker's CPU time so far, in seconds, by thread: its loop (the main
 * thread), ZeroMQ's I/O thread, and the rest (checkpointer, audit syncer,
 * HTTP, ZeroMQ's reaper), from /proc/PID/task. */
typedef struct s_threads {
    double loop, io, other;
} s_threads;

static s_threads s_broker_threads(void)
{
    s_threads t = {0, 0, 0};
    double tick = (double)sysconf(_SC_CLK_TCK);
    char path[300], line[1024];
    snprintf(path, sizeof path, "/proc/%d/task", (int)g.broker);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)g.broker, e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long user, sys;
        const char *rest;
        if (f != NULL && fgets(line, sizeof line, f) != NULL &&
            (rest = strrchr(line, ')')) != NULL &&
            sscanf(rest + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user,
                   &sys) == 2) {
            double secs = (double)(user + sys) / tick;
            if (atoi(e->d_name) == (int)g.broker)
                t.loop += secs;
            else if (strstr(line, "(ZMQbg/IO") != NULL)
                t.io += secs;
            else
                t.other += secs;
        }
        if (f != NULL)
            fclose(f);
    }
    if (d != NULL)
        closedir(d);
    return t;
}

/* CPU time used so far, in seconds: the broker process (all its threads)
 * from /proc, this process (the senders and receivers) from getrusage, and
 * the whole machine's busy and total time from /proc/stat. */
typedef struct s_cpu {
    double broker, clients, machine_busy, machine_all;
} s_cpu;

static s_cpu s_cpu_now(void)
{
    s_cpu c = {0, 0, 0, 0};
    double tick = (double)sysconf(_SC_CLK_TCK);
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)g.broker);
    FILE *f = fopen(path, "r");
    if (f != NULL && fgets(line, sizeof line, f) != NULL) {
        unsigned long user, sys;
        const char *rest = strrchr(line, ')'); /* the name may hold spaces */
        if (rest != NULL && sscanf(rest + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                   &user, &sys) == 2)
            c.broker = (double)(user + sys) / tick;
    }
    if (f != NULL)
        fclose(f);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        c.clients = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f != NULL && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            c.machine_all += (double)v[i] / tick;
        c.machine_busy = c.machine_all - (double)(v[3] + v[4]) / tick; /* less idle, iowait */
    }
    if (f != NULL)
        fclose(f);
    return c;
}

/* Writes, for --samples, the run's times of each envelope so that one can
 * see when the slow ones happened (a p99 is often made by a few stalls):
 * one line per envelope, in the order the senders took them, with the
 * microseconds from the run's first send to its send, its STORED and its
 * delivery (-1: never). When a peak run and a half-load run both run, the
 * file holds the half-load one. */
static void s_write_samples(int64_t t0)
{
    if (g.samples == NULL)
        return;
    FILE *f = g.samples;
    rewind(f);
    if (ftruncate(fileno(f), 0) != 0)
        s_die("cannot truncate the --samples file");
    fprintf(f, "sent_us stored_us delivered_us (from %lld us of CLOCK_MONOTONIC)\n", (long long)t0);
    for (size_t i = 0; i < g_run.n; i++)
        fprintf(f, "%lld %lld %lld\n",
                g_run.t_sent[i] > 0 ? (long long)(g_run.t_sent[i] - t0) : -1LL,
                g_run.t_stored[i] > 0 ? (long long)(g_run.t_stored[i] - t0) : -1LL,
                g_run.t_recv[i] > 0 ? (long long)(g_run.t_recv[i] - t0) : -1LL);
    if (fflush(f) != 0)
        s_die("cannot write the --samples file");
}

/* The figures of the last load run, for the side by side of --erase both. */
typedef struct s_result {
    double stored_per_s;  /* envelopes/s, send to STORED */
    double delivered_per_s; /* envelopes/s end to end, first send to last delivery */
    double e2e_p99_ms;    /* send -> delivered p99 */
    double p99_ms;        /* send -> STORED p99 */
    double broker_cpu_us; /* broker CPU per envelope */
    double wal_mib;       /* the broker's WAL file at the end of the run */
} s_result;

static s_result g_last;

/* One run at `rate` envelopes per second (0: as fast as it goes).
 * Returns the measured delivery rate. */
static double s_run_load(double rate, const char *title)
{
    g_run.rate = rate;
    g_run.stored = g_run.received = 0;
    memset(g_run.t_sent, 0, g_run.n * sizeof(int64_t));
    memset(g_run.t_stored, 0, g_run.n * sizeof(int64_t));
    memset(g_run.t_recv, 0, g_run.n * sizeof(int64_t));
    pthread_t *st = calloc((size_t)g.senders, sizeof *st);
    pthread_t *rt = calloc((size_t)g.receivers, sizeof *rt);
    if (st == NULL || rt == NULL)
        s_die("out of memory");
    g_run.receivers_ready = 0;
    for (int r = 0; r < g.receivers; r++)
        pthread_create(&rt[r], NULL, s_receiver, (void *)(intptr_t)r);
    /* The receivers connect before the clock starts: with 100 of them their
     * handshakes and stores' opening would otherwise count as delivery. */
    double t_connect = s_now_s();
    while (__atomic_load_n(&g_run.receivers_ready, __ATOMIC_RELAXED) < g.receivers) {
        usleep(1000);
        if (s_now_s() - t_connect > 120)
            s_die("the receivers did not connect in 2 minutes");
    }
    s_cpu cpu0 = s_cpu_now();
    s_threads th0 = s_broker_threads();
    double t0 = s_now_s();
    for (int s = 0; s < g.senders; s++)
        pthread_create(&st[s], NULL, s_sender, (void *)(intptr_t)s);
    double peak_rss = 0;
    while (__atomic_load_n(&g_run.received, __ATOMIC_RELAXED) < g_run.n) {
        double rss, hwm;
        s_rss(g.broker, &rss, &hwm);
        peak_rss = hwm > peak_rss ? hwm : peak_rss;
        usleep(100000);
        if (s_now_s() - t0 > 600)
            s_die("run did not finish in 10 minutes");
    }
    double t_stored_all;
    for (int s = 0; s < g.senders; s++)
        pthread_join(st[s], NULL);
    for (int r = 0; r < g.receivers; r++)
        pthread_join(rt[r], NULL);
    free(st);
    free(rt);
    double secs = s_now_s() - t0;
    s_cpu cpu1 = s_cpu_now();
    s_threads th1 = s_broker_threads();
    int64_t last_stored = 0, first_sent = INT64_MAX;
    for (size_t i = 0; i < g_run.n; i++) {
        last_stored = g_run.t_stored[i] > last_stored ? g_run.t_stored[i] : last_stored;
        if (g_run.t_sent[i] > 0 && g_run.t_sent[i] < first_sent)
            first_sent = g_run.t_sent[i];
    }
    t_stored_all = (double)(last_stored - first_sent) / 1e6;
    double rss, hwm;
    s_rss(g.broker, &rss, &hwm);
    printf("\n%s\n", title);
    printf("  %zu envelopes of %zu bytes, %d sender(s) -> %d receiver(s)\n", g_run.n,
           g_run.len[0], g.senders, g.receivers);
    printf("  stored   %9.0f envelopes/s (durable, send to STORED)\n",
           (double)g_run.n / t_stored_all);
    printf("  delivered %8.0f envelopes/s end to end (%.2f s)\n", (double)g_run.n / secs, secs);
    double p99 = s_percentiles("send -> STORED", g_run.t_sent, g_run.t_stored);
    double e2e_p99 = s_percentiles("send -> delivered", g_run.t_sent, g_run.t_recv);
    printf("  broker memory: RSS %.1f MiB now, peak %.1f MiB\n", rss, hwm > peak_rss ? hwm : peak_rss);
    char wal[1024];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s/broker.db-wal", g.dir);
    g_last = (s_result){.stored_per_s = (double)g_run.n / t_stored_all, .p99_ms = p99,
                        .delivered_per_s = (double)g_run.n / secs, .e2e_p99_ms = e2e_p99,
                        .broker_cpu_us = (cpu1.broker - cpu0.broker) / (double)g_run.n * 1e6,
                        .wal_mib = stat(wal, &sb) == 0 ? (double)sb.st_size / 1048576 : 0};
    printf("  CPU per envelope: broker %.0f us, senders and receivers %.0f us; the machine's "
           "CPUs busy %.0f%% of the run\n",
           (cpu1.broker - cpu0.broker) / (double)g_run.n * 1e6,
           (cpu1.clients - cpu0.clients) / (double)g_run.n * 1e6,
           100 * (cpu1.machine_busy - cpu0.machine_busy) / (cpu1.machine_all - cpu0.machine_all));
    printf("  the broker's CPU per envelope by thread: loop %.1f us, ZeroMQ I/O %.1f us, "
           "others %.1f us\n", (th1.loop - th0.loop) / (double)g_run.n * 1e6,
           (th1.io - th0.io) / (double)g_run.n * 1e6,
           (th1.other - th0.other) / (double)g_run.n * 1e6);
    if (rate > 0) {
        /* The same rate through the least a durable answer costs here (its
         * server on the broker's CPU under --broker-cpu). */
        hv_floor hop;
        if (hv_floor_measure(g.dir, g_run.len[0], rate, g_run.n, g.broker_cpu, &hop) == 0)
            printf("  floor at this rate, one CurveZMQ hop to a thread that appends to a file and\n"
                   "  fdatasyncs, then answers:  p50 %7.2f ms   p99 %7.2f ms   p99.9 %7.2f ms\n"
                   "  = send -> STORED p99 is %.1f times the floor's\n",
                   hop.p50_ms, hop.p99_ms, hop.p999_ms, p99 / hop.p99_ms);
        else
            printf("  floor at this rate: the probe could not run\n");
    }
    s_write_samples(first_sent);
    return (double)g_run.n / t_stored_all;
}

/* ------------------------------------------------------ machine limits */

/* Commits of `batch` rows of `size` bytes in the broker's SQLite settings. */
static double s_group_commit_rate(int batch, double seconds, double *rows_per_s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fsync-probe.db", g.dir);
    sqlite3 *db;
    hv_errmsg e = {""};
    if (hv_db_open(&db, path, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)",
                   &e) != HV_OK)
        s_die(e.text);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?1)", -1, &ins, NULL);
    uint8_t *blob = calloc(1, g_run.len[0]);
    size_t commits = 0;
    double t0 = s_now_s();
    while (s_now_s() - t0 < seconds) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (int i = 0; i < batch; i++) {
            sqlite3_bind_blob(ins, 1, blob, (int)g_run.len[0], SQLITE_STATIC);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        commits++;
    }
    double secs = s_now_s() - t0;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(blob);
    unlink(path);
    *rows_per_s = (double)commits * batch / secs;
    return (double)commits / secs;
}

static void *s_curve_sink(void *sock)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    for (;;) {
        if (zmq_msg_recv(&m, sock, 0) < 0)
            break;
        if (zmq_msg_size(&m) == 1) /* the end marker */
            break;
    }
    zmq_msg_close(&m);
    return NULL;
}

/* Messages per second of the envelope size through one CurveZMQ link. */
static double s_curve_rate(double seconds)
{
    void *ctx = zmq_ctx_new();
    void *rx = zmq_socket(ctx, ZMQ_PULL), *tx = zmq_socket(ctx, ZMQ_PUSH);
    char spub[41], ssec[41], cpub[41], csec[41];
    zmq_curve_keypair(spub, ssec);
    zmq_curve_keypair(cpub, csec);
    int one = 1, hwm = 100000;
    zmq_setsockopt(rx, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(rx, ZMQ_CURVE_SECRETKEY, ssec, 40);
    zmq_setsockopt(rx, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(tx, ZMQ_CURVE_SERVERKEY, spub, 40);
    zmq_setsockopt(tx, ZMQ_CURVE_PUBLICKEY, cpub, 40);
    zmq_setsockopt(tx, ZMQ_CURVE_SECRETKEY, csec, 40);
    zmq_setsockopt(tx, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_bind(rx, "tcp://127.0.0.1:*");
    char ep[128];
    size_t eplen = sizeof ep;
    zmq_getsockopt(rx, ZMQ_LAST_ENDPOINT, ep, &eplen);
    zmq_connect(tx, ep);
    pthread_t t;
    pthread_create(&t, NULL, s_curve_sink, rx);
    size_t n = 0, len = g_run.len[0];
    uint8_t *buf = calloc(1, len);
    double t0 = s_now_s();
    while (s_now_s() - t0 < seconds)
        for (int i = 0; i < 1000; i++, n++)
            zmq_send(tx, buf, len, 0);
    zmq_send(tx, "x", 1, 0);
    pthread_join(t, NULL);
    double secs = s_now_s() - t0;
    free(buf);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
    return (double)n / secs;
}

/* ------------------------------------------------------------- backlog */

static void s_backlog(void)
{
    printf("\nBacklog: %zu envelopes queued for offline receivers\n", g.backlog);
    pthread_t *st = calloc((size_t)g.senders, sizeof *st);
    if (st == NULL)
        s_die("out of memory");
    g_run.rate = 0;
    double t0 = s_now_s();
    for (int s = 0; s < g.senders; s++)
        pthread_create(&st[s], NULL, s_sender, (void *)(intptr_t)s);
    for (int s = 0; s < g.senders; s++)
        pthread_join(st[s], NULL);
    free(st);
    double rss, hwm;
    s_rss(g.broker, &rss, &hwm);
    printf("  queued in %.1f s (%.0f envelopes/s)\n", s_now_s() - t0,
           (double)g.backlog / (s_now_s() - t0));
    printf("  broker memory with the backlog: RSS %.1f MiB, peak %.1f MiB\n", rss, hwm);
    char db[1024];
    snprintf(db, sizeof db, "%s/broker.db", g.dir);
    struct stat sb;
    if (stat(db, &sb) == 0)
        printf("  store file: %.0f MiB\n", (double)sb.st_size / 1048576);
    s_stop_broker();
    /* Restart: from exec to the first delivery of the backlog. */
    double r0 = s_now_s();
    s_start_broker();
    hv_client *c = s_client(g.receivers_of[0].id, g.receivers_of[0].keys, 64);
    double ready = s_now_s() - r0;
    hv_delivery *d = NULL;
    if (hv_client_recv(c, 60000, &d) != HV_OK)
        s_die("no delivery after restart");
    double first = s_now_s() - r0;
    hv_delivery_free(&d);
    s_rss(g.broker, &rss, &hwm);
    printf("  restart with the backlog: serving after %.2f s, first delivery after %.2f s\n",
           ready, first);
    printf("  broker memory after restart: RSS %.1f MiB\n", rss);
    hv_client_close(&c);
}

/* Prints the broker's account of its WAL truncations (its last
 * event=store_erase line, logged as it stops). */
static void s_print_erase_line(void)
{
    char path[1024], line[1024], last[1024] = "";
    snprintf(path, sizeof path, "%s/broker.log", g.dir);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "event=store_erase ") != NULL)
            snprintf(last, sizeof last, "%s", strstr(line, "truncated="));
    if (f != NULL)
        fclose(f);
    if (last[0] != '\0')
        printf("  the broker's WAL truncations: %s", last);
}

/* Removes the broker's store and audit log, for a configuration of its own. */
static void s_remove_broker_store(void)
{
    static const char *const suffix[] = {"", "-wal", "-shm", ".audit"};
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/broker.db%s", g.dir, suffix[k]);
        (void)unlink(path);
    }
}

/* --erase both: the two configurations side by side, on / off. */
static void s_print_both(const s_result peak[2], const s_result paced[2], bool paced_only)
{
    printf("\nErasure off and on, same run (ratio on / off):\n");
    printf("  %-36s %12s %12s %7s\n", "", "off", "on", "ratio");
    if (!paced_only) {
        printf("  %-36s %10.0f/s %10.0f/s %7.2f\n", "peak stored", peak[0].stored_per_s,
               peak[1].stored_per_s, peak[1].stored_per_s / peak[0].stored_per_s);
        printf("  %-36s %9.0f us %9.0f us %7.2f\n", "broker CPU per envelope at peak",
               peak[0].broker_cpu_us, peak[1].broker_cpu_us,
               peak[1].broker_cpu_us / peak[0].broker_cpu_us);
        printf("  %-36s %8.1f MiB %8.1f MiB\n", "broker WAL after the peak run", peak[0].wal_mib,
               peak[1].wal_mib);
    }
    printf("  %-36s %10.0f/s %10.0f/s\n", paced_only ? "paced rate" : "half load, rate",
           paced[0].stored_per_s, paced[1].stored_per_s);
    printf("  %-36s %9.2f ms %9.2f ms %7.2f\n", "  send -> STORED p99", paced[0].p99_ms,
           paced[1].p99_ms, paced[1].p99_ms / paced[0].p99_ms);
    printf("  %-36s %9.0f us %9.0f us %7.2f\n", "  broker CPU per envelope",
           paced[0].broker_cpu_us, paced[1].broker_cpu_us,
           paced[1].broker_cpu_us / paced[0].broker_cpu_us);
}

/* Digits only, at least one. */
static bool s_is_number(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

int main(int argc, char **argv)
{
    g.messages = 100000;
    g.senders = 2;
    g.receivers = 2;
    g.size = 1800; /* a 2 KiB envelope */
    g.broker_cpu = -1;
    const char *keep = NULL;
    static const char usage[] =
        "usage: haven-bench HAVEN_BROKER [--messages N] [--senders N] [--receivers N] "
        "[--size BYTES] [--backlog N] [--keep DIR] [--client-dir DIR] [--group-ms N] "
        "[--replay-hours N] [--rate N] [--broker-cpu N] [--samples FILE] [--erase on|off|both] "
        "[--receivers-nice N] "
        "[--documents MIB]\n";
    if (argc < 2 || argc % 2 != 0 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    g.broker_bin = argv[1];
    if (access(g.broker_bin, X_OK) != 0) {
        fprintf(stderr, "haven-bench: %s is not an executable haven-broker\n", g.broker_bin);
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--messages") == 0)
            g.messages = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--senders") == 0)
            g.senders = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--receivers") == 0)
            g.receivers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--size") == 0)
            g.size = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--documents") == 0 && s_is_number(argv[i + 1]) &&
                 atol(argv[i + 1]) >= 1 && atol(argv[i + 1]) <= 64)
            g.documents = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--backlog") == 0)
            g.backlog = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--rate") == 0 && atof(argv[i + 1]) > 0)
            g.rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--broker-cpu") == 0 && s_is_number(argv[i + 1]) &&
                 atol(argv[i + 1]) < sysconf(_SC_NPROCESSORS_ONLN) &&
                 sysconf(_SC_NPROCESSORS_ONLN) >= 2)
            g.broker_cpu = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--receivers-nice") == 0 && s_is_number(argv[i + 1]) &&
                 atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 19)
            g.receivers_nice = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--samples") == 0) {
            /* Opened now, so that a bad path fails before the run. */
            if (g.samples != NULL)
                fclose(g.samples);
            if ((g.samples = fopen(argv[i + 1], "w")) == NULL) {
                fprintf(stderr, "haven-bench: --samples %s: %s\n", argv[i + 1], strerror(errno));
                return 2;
            }
        } else if (strcmp(argv[i], "--keep") == 0)
            keep = argv[i + 1];
        else if (strcmp(argv[i], "--client-dir") == 0)
            snprintf(g.client_dir, sizeof g.client_dir, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--group-ms") == 0 && s_is_number(argv[i + 1]) &&
                 strlen(argv[i + 1]) < sizeof g.group_ms)
            snprintf(g.group_ms, sizeof g.group_ms, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--erase") == 0 &&
                 (strcmp(argv[i + 1], "on") == 0 || strcmp(argv[i + 1], "off") == 0 ||
                  strcmp(argv[i + 1], "both") == 0))
            snprintf(g.erase, sizeof g.erase, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--replay-hours") == 0 && s_is_number(argv[i + 1]) &&
                 strlen(argv[i + 1]) < sizeof g.replay_hours)
            snprintf(g.replay_hours, sizeof g.replay_hours, "%s", argv[i + 1]);
        else {
            fprintf(stderr, "haven-bench: unknown option or bad value: %s %s\n%s", argv[i],
                    argv[i + 1], usage);
            return 2;
        }
    }
    if (g.senders < 1 || g.senders > S_MAX_NODES || g.receivers < 1 ||
        g.receivers > S_MAX_NODES || g.size > HV_PLAINTEXT_MAX || hv_crypto_init() != HV_OK)
        s_die("bad arguments");
    g.senders_of = calloc((size_t)g.senders, sizeof *g.senders_of);
    g.receivers_of = calloc((size_t)g.receivers, sizeof *g.receivers_of);
    if (g.senders_of == NULL || g.receivers_of == NULL)
        s_die("out of memory");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (keep != NULL) {
        snprintf(g.dir, sizeof g.dir, "%s", keep);
        mkdir(g.dir, 0700);
    } else {
        snprintf(g.dir, sizeof g.dir, "%s/haven-bench.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(g.dir) == NULL)
            s_die("mkdtemp");
    }
    /* A free port: bind to 0 through ZeroMQ and read it back. */
    void *ctx = zmq_ctx_new(), *probe = zmq_socket(ctx, ZMQ_PULL);
    zmq_bind(probe, "tcp://127.0.0.1:*");
    size_t eplen = sizeof g.endpoint;
    zmq_getsockopt(probe, ZMQ_LAST_ENDPOINT, g.endpoint, &eplen);
    zmq_close(probe);
    zmq_ctx_term(ctx);

    s_setup();
    if (g.documents > 0) {
        s_remove_client_stores();
        s_start_broker();
        hv_bench_docs_env env = {g.senders_of[0].id, g.senders_of[0].keys,
                                 g.receivers_of[0].id, g.receivers_of[0].keys, s_client,
                                 g.documents};
        hv_bench_docs(&env);
        s_stop_broker();
        s_remove_client_stores();
        return 0;
    }
    size_t n = g.backlog > 0 ? g.backlog : g.messages;
    printf("haven-bench: sealing %zu envelopes...\n", n);
    s_prepare(n);
    s_remove_client_stores();
    s_start_broker();

    printf("\nMachine limits, measured now:\n");
    double rows;
    double commits1 = s_group_commit_rate(1, 1.5, &rows);
    printf("  SQLite commit, 1 envelope per commit (WAL, synchronous=FULL): %.0f commits/s\n",
           commits1);
    double commits = s_group_commit_rate(256, 2.0, &rows);
    printf("  SQLite group commit, 256 envelopes per commit: %.0f commits/s = %.0f envelopes/s\n",
           commits, rows);
    double curve = s_curve_rate(2.0);
    printf("  CurveZMQ, one link, %zu-byte messages: %.0f messages/s\n", g_run.len[0], curve);
    if (g.broker_cpu >= 0) {
        /* The limits above had every CPU; from here on the clients' threads
         * (created later, inheriting this) keep off the broker's CPU. */
        cpu_set_t others;
        CPU_ZERO(&others);
        for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); c++)
            if (c != g.broker_cpu)
                CPU_SET(c, &others);
        if (sched_setaffinity(0, sizeof others, &others) != 0)
            s_die("sched_setaffinity");
        printf("  (the broker runs on CPU %d alone, the senders and receivers on the others)\n",
               g.broker_cpu);
    }

    bool both = strcmp(g.erase, "both") == 0;
    s_result peak_of[2], paced_of[2];
    for (int k = 0; k < (both ? 2 : 1); k++) {
        if (k > 0) { /* the second configuration, erasure on, from empty stores */
            s_stop_broker();
            s_print_erase_line();
            s_remove_broker_store();
            s_remove_client_stores();
            s_broker_ini("on");
            s_prepare(n);
            s_start_broker();
        }
        if (both)
            printf("\n==== [store] erase = %s\n", k == 0 ? "off" : "on");
        if (g.backlog > 0) {
            s_backlog();
        } else if (g.rate > 0) {
            char title[80];
            snprintf(title, sizeof title, "Paced load of %.0f envelopes/s:", g.rate);
            s_run_load(g.rate, title);
            paced_of[k] = peak_of[k] = g_last;
        } else {
            double peak = s_run_load(0, "Peak load (senders as fast as the broker takes them):");
            peak_of[k] = g_last;
            printf("  = %.0f%% of the group-commit limit, %.0f%% of raw CurveZMQ\n",
                   100 * peak / rows, 100 * peak / curve);
            s_prepare(n);
            /* Both configurations at the same rate: the first's half. */
            double half = k > 0 ? paced_of[0].stored_per_s : peak / 2;
            s_run_load(half, k > 0 ? "Half of the first configuration's peak (senders paced):"
                                   : "Half of peak load (senders paced):");
            paced_of[k] = g_last;
        }
    }
    s_stop_broker();
    s_print_erase_line();
    if (g.backlog == 0) { /* the last configuration's figures on one line */
        int k = both ? 1 : 0;
        printf("summary: senders=%d receivers=%d bytes=%zu", g.senders, g.receivers,
               g_run.len[0]);
        if (g.receivers_nice > 0)
            printf(" receivers_nice=%d", g.receivers_nice);
        if (g.rate <= 0)
            printf(" peak_delivered_per_s=%.0f peak_stored_per_s=%.0f peak_broker_us=%.1f",
                   peak_of[k].delivered_per_s, peak_of[k].stored_per_s, peak_of[k].broker_cpu_us);
        printf(" %s_rate=%.0f %s_stored_p99_ms=%.2f %s_delivered_p99_ms=%.2f %s_broker_us=%.1f\n",
               g.rate > 0 ? "paced" : "half", paced_of[k].stored_per_s,
               g.rate > 0 ? "paced" : "half", paced_of[k].p99_ms,
               g.rate > 0 ? "paced" : "half", paced_of[k].e2e_p99_ms,
               g.rate > 0 ? "paced" : "half", paced_of[k].broker_cpu_us);
    }
    if (both && g.backlog == 0)
        s_print_both(peak_of, paced_of, g.rate > 0);
    s_remove_client_stores();
    if (g.samples != NULL && fclose(g.samples) != 0)
        s_die("cannot write the --samples file");
    if (keep == NULL) {
        char cmd[1100];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "haven-bench: could not remove %s\n", g.dir);
    }
    return 0;
}
