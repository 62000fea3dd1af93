/* Deadlines for a libmicrohttpd server's requests; see hv_httpguard.h. */
#include "hv_httpguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "hv_db.h"
#include "hv_log.h"
#include "hv_lograte.h"

#define S_SWEEP_MS 200 /* how often the thread looks: deadlines are whole seconds */

typedef enum s_phase {
    S_HEAD = 0,  /* waiting for a request's line and headers */
    S_BODY = 1,  /* head in, body coming */
    S_REPLY = 2, /* answering: no deadline (the idle timeout still holds) */
} s_phase;

/* One open connection, in its socket context and in the guard's list. */
typedef struct s_conn {
    struct s_conn *prev, *next; /* the guard's list */
    int fd;                     /* its socket (libmicrohttpd's) */
    s_phase phase;              /* where its request is */
    int64_t since_ms;           /* monotonic time the phase began */
    bool cut;                   /* shut down already */
    char addr[INET6_ADDRSTRLEN]; /* the client's address, for the log */
} s_conn;

struct hv_httpguard {
    pthread_t thread;      /* the sweeper */
    bool running;          /* the thread was started */
    pthread_mutex_t lock;  /* guards everything below */
    pthread_cond_t wake;   /* signalled to stop */
    bool stop;             /* asks the thread to end */
    s_conn *conns;         /* open connections */
    int64_t head_ms;       /* deadlines */
    int64_t body_ms;
    uint64_t cut;          /* connections shut down for a deadline */
    char name[16];         /* "http", "metrics", "web" */
};

hv_http_limits hv_http_limits_ops(void)
{
    return (hv_http_limits){.connections = 128, .per_address = 16, .idle_s = 10,
                            .head_s = 10, .body_s = 10};
}

hv_err hv_http_limits_check(const char *section, const hv_http_limits *l, hv_errmsg *e)
{
    if (l->connections < 1 || l->connections > 4096)
        return hv_fail(e, HV_ECONFIG, "[%s] connections: expected 1 to 4096", section);
    if (l->per_address < 1 || l->per_address > l->connections)
        return hv_fail(e, HV_ECONFIG, "[%s] connections_per_address: expected 1 to "
                       "connections (%llu)", section, (unsigned long long)l->connections);
    if (l->idle_s < 1 || l->head_s < 1 || l->body_s < 1)
        return hv_fail(e, HV_ECONFIG, "[%s] connection_timeout_s, head_timeout_s, "
                       "body_timeout_s: expected at least 1 second", section);
    return HV_OK;
}

/* Sweeps once: shuts down every connection past its phase's deadline. The
 * lock is held, so a connection cannot close (and its descriptor be
 * reused) between the look and the shutdown: libmicrohttpd tells the
 * guard of the close before it closes the descriptor. */
static void s_sweep(hv_httpguard *g, int64_t now)
{
    for (s_conn *k = g->conns; k != NULL; k = k->next) {
        int64_t limit = k->phase == S_HEAD ? g->head_ms : k->phase == S_BODY ? g->body_ms : 0;
        if (k->cut || limit == 0 || now - k->since_ms < limit)
            continue;
        shutdown(k->fd, SHUT_RDWR);
        k->cut = true;
        g->cut++;
        const char *what = k->phase == S_HEAD ? "head_timeout" : "body_timeout";
        if (hv_lograte_pass("http_cut", k->addr))
            hv_log(HV_LOG_WARN, "http_cut", "server=%s reason=%s address=%s after_s=%lld",
                   g->name, what, k->addr, (long long)((now - k->since_ms) / 1000));
    }
}

static void *s_run(void *arg)
{
    hv_httpguard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += S_SWEEP_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&g->wake, &g->lock, &ts);
        if (!g->stop)
            s_sweep(g, hv_mono_ms());
        /* The counts of log lines left out, for a daemon (haven-web)
         * whose loop does not tell them itself. */
        pthread_mutex_unlock(&g->lock);
        hv_lograte_flush(false);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

hv_err hv_httpguard_start(hv_httpguard **out, const char *name, const hv_http_limits *l)
{
    *out = NULL;
    hv_httpguard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return HV_ENOMEM;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->wake, &ca);
    pthread_condattr_destroy(&ca);
    g->head_ms = (int64_t)l->head_s * 1000;
    g->body_ms = (int64_t)l->body_s * 1000;
    snprintf(g->name, sizeof g->name, "%s", name);
    if (pthread_create(&g->thread, NULL, s_run, g) != 0) {
        hv_httpguard_stop(&g);
        return HV_ENOMEM;
    }
    g->running = true;
    *out = g;
    return HV_OK;
}

void hv_httpguard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe)
{
    hv_httpguard *g = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        s_conn *k = fd != NULL ? calloc(1, sizeof *k) : NULL;
        if (k == NULL) /* unguarded: the idle timeout still holds it */
            return;
        k->fd = fd->connect_fd;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
        if (sa != NULL && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, k->addr,
                      sizeof k->addr);
        else if (sa != NULL && sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, k->addr,
                      sizeof k->addr);
        else
            snprintf(k->addr, sizeof k->addr, "unknown");
        pthread_mutex_lock(&g->lock);
        k->since_ms = hv_mono_ms();
        k->next = g->conns;
        if (g->conns != NULL)
            g->conns->prev = k;
        g->conns = k;
        pthread_mutex_unlock(&g->lock);
        *socket_context = k;
        return;
    }
    s_conn *k = *socket_context;
    if (k == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        g->conns = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&g->lock);
    free(k);
    *socket_context = NULL;
}

static void s_phase_set(hv_httpguard *g, struct MHD_Connection *c, s_phase phase)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    s_conn *k = ci != NULL ? ci->socket_context : NULL;
    if (g == NULL || k == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    k->phase = phase;
    k->since_ms = hv_mono_ms();
    pthread_mutex_unlock(&g->lock);
}

void hv_httpguard_head_done(hv_httpguard *g, struct MHD_Connection *c)
{
    s_phase_set(g, c, S_BODY);
}

void hv_httpguard_body_done(hv_httpguard *g, struct MHD_Connection *c)
{
    s_phase_set(g, c, S_REPLY);
}

void hv_httpguard_request_done(hv_httpguard *g, struct MHD_Connection *c)
{
    s_phase_set(g, c, S_HEAD);
}

uint64_t hv_httpguard_cut(hv_httpguard *g)
{
    pthread_mutex_lock(&g->lock);
    uint64_t n = g->cut;
    pthread_mutex_unlock(&g->lock);
    return n;
}

void hv_httpguard_stop(hv_httpguard **gp)
{
    if (gp == NULL || *gp == NULL)
        return;
    hv_httpguard *g = *gp;
    if (g->running) {
        pthread_mutex_lock(&g->lock);
        g->stop = true;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
    }
    while (g->conns != NULL) { /* none after MHD_stop_daemon; kept safe regardless */
        s_conn *k = g->conns;
        g->conns = k->next;
        free(k);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
    *gp = NULL;
}
