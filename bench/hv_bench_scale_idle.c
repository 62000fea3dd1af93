/* hv-bench-scale, part 2: one worker connected and idle for --idle-seconds,
 * nothing to do. It prints the CPU seconds and the wake-ups per second
 * (voluntary context switches, every thread, from /proc) of the broker and
 * of the worker, each thread by name, and their poll calls per second
 * (strace -c over a short window after the long one: tracing stops a
 * process at every call, so it is kept out of the CPU figures).
 *
 * The reference, measured in the same minutes: the least an idle
 * CurveZMQ link with one heartbeat each way a second costs on this machine
 * -- a ROUTER process and a DEALER process, each one loop that sleeps in
 * zmq_poll until its next heartbeat is due. */
#include "hv_bench_scale.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define S_TRACE_S 20 /* the strace window, at most */

static volatile sig_atomic_t s_stop;

static void s_on_term(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Forks a child that dies with us and stops on SIGTERM; 0 in the child. */
static pid_t s_fork(hv_scale *sc)
{
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        hv_scale_die(sc, "fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        sc->broker = 0; /* a child's failure is its own */
        signal(SIGTERM, s_on_term);
    }
    return pid;
}

/* The idle worker, in a process of its own so that its CPU and wake-ups
 * are its own: the client's loop as a worker runs it, waiting for
 * deliveries that never come. */
static pid_t s_worker(hv_scale *sc, int ready_fd)
{
    pid_t pid = s_fork(sc);
    if (pid > 0)
        return pid;
    hv_client *c = hv_scale_client(sc, &sc->providers[0], 64);
    if (write(ready_fd, "w", 1) != 1)
        _exit(1);
    while (!s_stop) {
        hv_delivery *d = NULL;
        hv_err err = hv_client_recv(c, 1000, &d);
        if (err == HV_OK && hv_client_ack(c, &d) != HV_OK)
            _exit(1);
        if (err != HV_OK && err != HV_ETIMEOUT)
            _exit(1);
    }
    hv_client_close(&c);
    _exit(0);
}

/* One side of the reference link: sends a heartbeat every second (the
 * ROUTER to whoever spoke to it last) and reads what comes; says ready
 * on `ready_fd` at the first heartbeat from the other side. The ROUTER
 * writes its endpoint to `ready_fd` first. */
static void s_ref_side(bool server, const char *endpoint, const char keys[4][41], int ready_fd)
{
    void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, server ? ZMQ_ROUTER : ZMQ_DEALER);
    int one = 1, zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (server) {
        zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, keys[1], 40);
        char ep[128];
        size_t len = sizeof ep;
        if (zmq_bind(sock, "tcp://127.0.0.1:*") != 0 ||
            zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0 ||
            write(ready_fd, ep, strlen(ep) + 1) != (ssize_t)strlen(ep) + 1)
            _exit(1);
    } else {
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, keys[0], 40);
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, keys[2], 40);
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, keys[3], 40);
        if (zmq_connect(sock, endpoint) != 0)
            _exit(1);
    }
    uint8_t rid[256];
    size_t rid_len = 0;
    bool heard = false;
    int64_t next = hv_scale_now_us() / 1000;
    while (!s_stop) {
        int64_t now = hv_scale_now_us() / 1000;
        if (now >= next) {
            if (!server)
                zmq_send(sock, "hb", 2, ZMQ_DONTWAIT);
            else if (rid_len > 0 && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
                zmq_send(sock, "hb", 2, ZMQ_DONTWAIT);
            next += 1000;
        }
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        now = hv_scale_now_us() / 1000;
        if (zmq_poll(&item, 1, (long)(next > now ? next - now : 0)) < 0)
            continue; /* EINTR: SIGTERM */
        for (;;) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            if (server && zmq_msg_more(&m) && zmq_msg_size(&m) <= sizeof rid) {
                rid_len = zmq_msg_size(&m);
                memcpy(rid, zmq_msg_data(&m), rid_len);
            } else if (!heard) {
                heard = true;
                if (write(ready_fd, "r", 1) != 1)
                    _exit(1);
            }
            zmq_msg_close(&m);
        }
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    _exit(0);
}

/* Reads one byte from `fd` within 30 s. */
static void s_wait_byte(hv_scale *sc, int fd, const char *who)
{
    char ch;
    alarm(30);
    if (read(fd, &ch, 1) != 1) {
        fprintf(stderr, "hv-bench-scale: %s did not start\n", who);
        hv_scale_die(sc, "part 2");
    }
    alarm(0);
}

/* A strace -c -f attached to one process, counting its system calls. */
typedef struct s_trace {
    pid_t strace;     /* the strace process */
    char file[1024];  /* its summary */
} s_trace;

/* Attaches strace to `pid` (every thread), its summary in sc->dir. */
static void s_trace_start(hv_scale *sc, pid_t pid, const char *name, s_trace *t)
{
    char pidtext[16];
    snprintf(t->file, sizeof t->file, "%s/strace-%s.txt", sc->dir, name);
    snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
    t->strace = fork();
    if (t->strace == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("strace", "strace", "-f", "-c", "-o", t->file, "-p", pidtext, (char *)NULL);
        _exit(127);
    }
}

/* Detaches it and reads the poll-type calls and all calls per second over
 * `seconds`; false when strace could not run. */
static bool s_trace_finish(s_trace *t, double seconds, double *polls, double *calls)
{
    int status;
    kill(t->strace, SIGINT);
    waitpid(t->strace, &status, 0);
    *polls = *calls = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return false; /* no strace; interrupted, it says its summary and dies of SIGINT */
    FILE *f = fopen(t->file, "r");
    char line[256];
    bool any = false;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        double pct, secs;
        long usecs, n;
        char name[64];
        /* "% time seconds usecs/call calls [errors] syscall" */
        if (sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs, &n) != 4)
            continue;
        char *last = strrchr(line, ' ');
        if (last == NULL || sscanf(last, "%63s", name) != 1 || strcmp(name, "total") == 0)
            continue;
        any = true;
        *calls += (double)n;
        if (strcmp(name, "poll") == 0 || strcmp(name, "ppoll") == 0 ||
            strcmp(name, "epoll_wait") == 0 || strcmp(name, "epoll_pwait") == 0)
            *polls += (double)n;
    }
    if (f != NULL)
        fclose(f);
    *polls /= seconds;
    *calls /= seconds;
    return any;
}

void hv_scale_idle(hv_scale *sc, unsigned seconds)
{
    printf("\n== Part 2: one worker connected and idle for %u s, nothing to do\n", seconds);
    hv_scale_remove_client_stores(sc);
    hv_scale_broker_start(sc);
    int fds[2];
    if (pipe(fds) != 0)
        hv_scale_die(sc, "pipe");
    pid_t worker = s_worker(sc, fds[1]);
    s_wait_byte(sc, fds[0], "the worker");
    /* The reference pair: the ROUTER says its endpoint, then the DEALER starts. */
    char keys[4][41], ep[128];
    zmq_curve_keypair(keys[0], keys[1]);
    zmq_curve_keypair(keys[2], keys[3]);
    pid_t ref[2];
    if ((ref[0] = s_fork(sc)) == 0)
        s_ref_side(true, NULL, (const char(*)[41])keys, fds[1]);
    size_t got = 0;
    alarm(30);
    while (got < sizeof ep && read(fds[0], &ep[got], 1) == 1 && ep[got] != '\0')
        got++;
    alarm(0);
    if (got == 0 || got == sizeof ep)
        hv_scale_die(sc, "the reference ROUTER did not start");
    if ((ref[1] = s_fork(sc)) == 0)
        s_ref_side(false, ep, (const char(*)[41])keys, fds[1]);
    s_wait_byte(sc, fds[0], "the reference link");
    s_wait_byte(sc, fds[0], "the reference link");
    sleep(2); /* the handshakes, out of the window */

    static const char *const names[4] = {"broker", "worker", "reference ROUTER",
                                         "reference DEALER"};
    pid_t pids[4] = {sc->broker, worker, ref[0], ref[1]};
    static hv_scale_thread before[4][64];
    size_t n_before[4];
    hv_scale_proc a[4], b[4];
    for (int i = 0; i < 4; i++) {
        n_before[i] = hv_scale_threads(pids[i], before[i], 64);
        if (!hv_scale_proc_read(pids[i], &a[i]))
            hv_scale_die(sc, "a process of part 2 is gone");
    }
    double t0 = hv_scale_now_s();
    unsigned left = seconds;
    while (left > 0)
        left = sleep(left);
    double secs = hv_scale_now_s() - t0;
    static hv_scale_thread after[4][64];
    size_t n_after[4];
    for (int i = 0; i < 4; i++) {
        n_after[i] = hv_scale_threads(pids[i], after[i], 64);
        if (!hv_scale_proc_read(pids[i], &b[i]))
            hv_scale_die(sc, "a process of part 2 is gone");
    }
    /* Then the poll calls, traced for a short window of their own. */
    unsigned trace_s = seconds < S_TRACE_S ? seconds : S_TRACE_S;
    s_trace tr[4];
    for (int i = 0; i < 4; i++)
        s_trace_start(sc, pids[i], i == 0 ? "broker" : i == 1 ? "worker" : i == 2 ? "ref-router"
                                                                                   : "ref-dealer",
                      &tr[i]);
    double t1 = hv_scale_now_s();
    sleep(trace_s);
    double tsecs = hv_scale_now_s() - t1;
    double polls[4], calls[4];
    bool traced = true;
    for (int i = 0; i < 4; i++)
        traced = s_trace_finish(&tr[i], tsecs, &polls[i], &calls[i]) && traced;

    printf("  %-26s %9s %10s %12s %14s %12s\n", "", "CPU s", "CPU ms/s", "wake-ups/s",
           "poll calls/s", "syscalls/s");
    for (int i = 0; i < 4; i++) {
        double cpu = b[i].cpu_s - a[i].cpu_s;
        if (traced)
            printf("  %-26s %9.3f %10.3f %12.2f %14.2f %12.2f\n", names[i], cpu,
                   1000 * cpu / secs, (b[i].wakeups - a[i].wakeups) / secs, polls[i], calls[i]);
        else
            printf("  %-26s %9.3f %10.3f %12.2f %14s %12s\n", names[i], cpu, 1000 * cpu / secs,
                   (b[i].wakeups - a[i].wakeups) / secs, "-", "-");
        hv_scale_threads_print(before[i], n_before[i], after[i], n_after[i], secs, "      ");
    }
    if (!traced)
        printf("  (poll calls not counted: strace did not run; ./setup.sh bench installs it)\n");
    else
        printf("  (poll and all calls over the last %.0f s, under strace -f -c: poll, ppoll, "
               "epoll_wait, epoll_pwait)\n", tsecs);
    double ref_wake = (b[2].wakeups - a[2].wakeups + b[3].wakeups - a[3].wakeups) / secs;
    double ref_cpu = b[2].cpu_s - a[2].cpu_s + b[3].cpu_s - a[3].cpu_s;
    double hv_wake = (b[0].wakeups - a[0].wakeups + b[1].wakeups - a[1].wakeups) / secs;
    double hv_cpu = b[0].cpu_s - a[0].cpu_s + b[1].cpu_s - a[1].cpu_s;
    printf("  = broker and worker together: %.3f CPU s in %.0f s, %.2f wake-ups/s; %.1f times "
           "the reference link's wake-ups and %.1f times its CPU\n", hv_cpu, secs, hv_wake,
           ref_wake > 0 ? hv_wake / ref_wake : 0, ref_cpu > 0 ? hv_cpu / ref_cpu : 0);
    for (int i = 1; i < 4; i++) {
        int status;
        kill(pids[i], SIGTERM);
        waitpid(pids[i], &status, 0);
    }
    close(fds[0]);
    close(fds[1]);
    hv_scale_broker_stop(sc);
}
