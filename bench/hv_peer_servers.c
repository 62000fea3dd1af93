/* The peers benchmark's servers and flush counting (hv_peer_servers.h).
 *
 * Every process started here leads a process group of its own, so that
 * stopping it takes its helpers too (RabbitMQ's erl_child_setup and
 * inet_gethost). epmd is started here in the foreground on a port of its
 * own (ERL_EPMD_PORT), so that RabbitMQ finds it and does not start a
 * daemon of its own that would outlive the benchmark. */
#include "hv_peer_servers.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define S_MAX_GROUPS 16

/* What the signal handler needs, in plain arrays (it may only call
 * async-signal-safe functions). */
static volatile pid_t s_groups[S_MAX_GROUPS]; /* process groups to kill */
static char s_scratch[2][512];                /* directories to remove, "" to keep */

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hv_peer_child_add(pid_t pgid)
{
    for (int i = 0; i < S_MAX_GROUPS; i++)
        if (s_groups[i] == 0) {
            s_groups[i] = pgid;
            return;
        }
}

void hv_peer_child_remove(pid_t pgid)
{
    for (int i = 0; i < S_MAX_GROUPS; i++)
        if (s_groups[i] == pgid)
            s_groups[i] = 0;
}

static void s_on_signal(int sig)
{
    (void)sig;
    static const char msg[] = "\nhv-bench-peers: interrupted, stopping the servers\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do about it */
    }
    for (int i = 0; i < S_MAX_GROUPS; i++)
        if (s_groups[i] > 0)
            kill(-s_groups[i], SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    for (int i = 0; i < 2; i++)
        if (s_scratch[i][0] != '\0') {
            pid_t p = fork();
            if (p == 0) {
                execl("/bin/rm", "rm", "-rf", s_scratch[i], (char *)NULL);
                _exit(127);
            }
            if (p > 0)
                waitpid(p, NULL, 0);
        }
    _exit(130);
}

/* `n` distinct loopback ports free now, at random below the kernel's
 * ephemeral range (held open together so none is given twice): a port from
 * that range could be taken first as some connection's source port. */
static bool s_free_ports(int *ports, int n)
{
    int low = 32768, high = 60999, fds[8], got = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    int from = low - 12000 > 1024 ? low - 12000 : 1024;
    srand((unsigned)(getpid() ^ time(NULL)));
    for (int attempt = 0; attempt < 10000 && got < n; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int port = from + rand() % (low - from);
        a.sin_port = htons((uint16_t)port);
        if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            fds[got] = fd;
            ports[got++] = port;
        } else if (fd >= 0)
            close(fd);
    }
    for (int i = 0; i < got; i++)
        close(fds[i]);
    return got == n;
}

/* Runs argv in a process group of its own with environ plus `extra`
 * (NAME=value strings, NULL-terminated), its output to `log`; the caller
 * waits for it. Returns its pid, or 0. */
static pid_t s_spawn(const char *const argv[], const char *const extra[], const char *log)
{
    size_t n0 = 0, nx = 0;
    while (environ[n0] != NULL)
        n0++;
    while (extra != NULL && extra[nx] != NULL)
        nx++;
    char **env = calloc(n0 + nx + 1, sizeof *env);
    if (env == NULL)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < nx; i++)
        env[k++] = (char *)extra[i];
    for (size_t i = 0; i < n0; i++) { /* ours first; theirs unless we set the name */
        const char *eq = strchr(environ[i], '=');
        size_t len = eq != NULL ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
        bool ours = false;
        for (size_t j = 0; j < nx; j++)
            ours = ours || strncmp(extra[j], environ[i], len) == 0;
        if (!ours)
            env[k++] = environ[i];
    }
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t p = fd >= 0 ? fork() : -1;
    if (p == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execve(argv[0], (char *const *)argv, env);
        dprintf(2, "hv-bench-peers: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (p > 0) {
        setpgid(p, p); /* also here, so that the group exists before we kill it */
        hv_peer_child_add(p);
    }
    if (fd >= 0)
        close(fd);
    free(env);
    return p > 0 ? p : 0;
}

/* True while `pid` (our child) has not exited; reaps it when it has. */
static bool s_alive(pid_t pid)
{
    int status;
    return pid > 0 && waitpid(pid, &status, WNOHANG) == 0;
}

/* Prints the last lines of `path` to stderr. */
static void s_tail(const char *path)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "tail -n 15 '%s' >&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "hv-bench-peers: (no log at %s)\n", path);
}

static bool s_write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    return ok;
}

bool hv_peer_servers_init(hv_peer_servers *s, bool keep)
{
    memset(s, 0, sizeof *s);
    s->keep = keep;
    snprintf(s->dir, sizeof s->dir, "%s/hv-bench-peers.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        fprintf(stderr, "hv-bench-peers: cannot make %s: %s\n", s->dir, strerror(errno));
        return false;
    }
    struct stat sb;
    if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(s->shm, sizeof s->shm, "/dev/shm/hv-bench-peers.XXXXXX");
        if (mkdtemp(s->shm) == NULL)
            s->shm[0] = '\0';
    }
    if (!keep) {
        snprintf(s_scratch[0], sizeof s_scratch[0], "%s", s->dir);
        snprintf(s_scratch[1], sizeof s_scratch[1], "%s", s->shm);
    }
    int ports[4];
    if (!s_free_ports(ports, 4)) {
        fprintf(stderr, "hv-bench-peers: no four free loopback ports below the ephemeral range\n");
        return false;
    }
    s->amqp_port = ports[0];
    s->dist_port = ports[1];
    s->epmd_port = ports[2];
    s->nats_port = ports[3];
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return true;
}

/* True once something accepts a TCP connection on 127.0.0.1:port. */
static bool s_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* True once RabbitMQ accepts guest's login on the AMQP port. */
static bool s_rabbit_ready(int port)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(c);
    bool ok = false;
    struct timeval tv = {2, 0};
    if (sock != NULL && amqp_socket_open_noblock(sock, "127.0.0.1", port, &tv) == AMQP_STATUS_OK) {
        amqp_rpc_reply_t r =
            amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
        ok = r.reply_type == AMQP_RESPONSE_NORMAL;
        if (ok)
            amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(c);
    return ok;
}

bool hv_peer_rabbit_start(hv_peer_servers *s)
{
    char home[600], mnesia[620], logs[620], path[700], log[700];
    snprintf(home, sizeof home, "%s/rabbit", s->dir);
    snprintf(mnesia, sizeof mnesia, "%s/mnesia", home);
    snprintf(logs, sizeof logs, "%s/log", home);
    snprintf(log, sizeof log, "%s/rabbit/stdout.log", s->dir);
    if (mkdir(home, 0700) != 0 || mkdir(mnesia, 0700) != 0 || mkdir(logs, 0700) != 0) {
        fprintf(stderr, "hv-bench-peers: cannot make %s\n", home);
        return false;
    }
    /* An Erlang cookie of our own (the node and any rabbitmqctl read $HOME's). */
    unsigned char raw[16];
    char cookie[40];
    int rnd = open("/dev/urandom", O_RDONLY);
    if (rnd < 0 || read(rnd, raw, sizeof raw) != (ssize_t)sizeof raw) {
        if (rnd >= 0)
            close(rnd);
        return false;
    }
    close(rnd);
    for (int i = 0; i < 16; i++)
        snprintf(cookie + 2 * i, 3, "%02X", raw[i]);
    snprintf(path, sizeof path, "%s/.erlang.cookie", home);
    bool ok = s_write_file(path, cookie, 0400);
    snprintf(path, sizeof path, "%s/enabled_plugins", home);
    ok = ok && s_write_file(path, "[].\n", 0600);
    snprintf(path, sizeof path, "%s/rabbitmq-env.conf", home);
    ok = ok && s_write_file(path, "# the benchmark's: nothing from /etc/rabbitmq\n", 0600);
    snprintf(path, sizeof path, "%s/rabbitmq.conf", home);
    ok = ok && s_write_file(path, "loopback_users.guest = true\n", 0600);
    if (!ok) {
        fprintf(stderr, "hv-bench-peers: cannot write RabbitMQ's files in %s\n", home);
        return false;
    }
    char e[14][720];
    snprintf(e[0], sizeof e[0], "HOME=%s", home);
    snprintf(e[1], sizeof e[1], "RABBITMQ_MNESIA_BASE=%s", mnesia);
    snprintf(e[2], sizeof e[2], "RABBITMQ_LOG_BASE=%s", logs);
    snprintf(e[3], sizeof e[3], "RABBITMQ_NODENAME=hvbench%d@localhost", (int)getpid());
    snprintf(e[4], sizeof e[4], "RABBITMQ_NODE_PORT=%d", s->amqp_port);
    snprintf(e[5], sizeof e[5], "RABBITMQ_DIST_PORT=%d", s->dist_port);
    snprintf(e[6], sizeof e[6], "ERL_EPMD_PORT=%d", s->epmd_port);
    snprintf(e[7], sizeof e[7], "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
    snprintf(e[8], sizeof e[8], "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", home);
    snprintf(e[9], sizeof e[9], "RABBITMQ_CONF_ENV_FILE=%s/rabbitmq-env.conf", home);
    snprintf(e[10], sizeof e[10], "RABBITMQ_CONFIG_FILE=%s/rabbitmq.conf", home);
    snprintf(e[11], sizeof e[11], "RABBITMQ_PID_FILE=%s/rabbit.pid", home);
    /* The script then execs the VM instead of waiting on it in a shell, so
     * that the pid we hold is beam.smp's (whose CPU we count). */
    snprintf(e[12], sizeof e[12], "RUNNING_UNDER_SYSTEMD=1");
    snprintf(e[13], sizeof e[13], "ERL_EPMD_ADDRESS=127.0.0.1");
    const char *extra[15];
    for (int i = 0; i < 14; i++)
        extra[i] = e[i];
    extra[14] = NULL;

    char port[16];
    snprintf(port, sizeof port, "%d", s->epmd_port);
    const char *epmd[] = {"/usr/bin/epmd", "-port", port, "-address", "127.0.0.1", NULL};
    if ((s->epmd = s_spawn(epmd, extra, log)) == 0)
        return false;
    double t0 = s_now();
    while (!s_accepts(s->epmd_port)) {
        if (!s_alive(s->epmd) || s_now() - t0 > 10) {
            fprintf(stderr, "hv-bench-peers: epmd did not listen on port %d\n", s->epmd_port);
            s_tail(log);
            return false;
        }
        usleep(20000);
    }
    const char *server[] = {"/usr/lib/rabbitmq/bin/rabbitmq-server", NULL};
    if ((s->rabbit = s_spawn(server, extra, log)) == 0)
        return false;
    t0 = s_now();
    while (!s_rabbit_ready(s->amqp_port)) {
        if (!s_alive(s->rabbit) || s_now() - t0 > 120) {
            fprintf(stderr, "hv-bench-peers: RabbitMQ did not accept a login on port %d in %.0f s\n",
                    s->amqp_port, s_now() - t0);
            s_tail(log);
            return false;
        }
        usleep(200000);
    }
    printf("RabbitMQ ready after %.1f s (AMQP port %d, distribution %d, epmd %d)\n", s_now() - t0,
           s->amqp_port, s->dist_port, s->epmd_port);
    return true;
}

bool hv_peer_nats_start(hv_peer_servers *s)
{
    char store[600], log[700], port[16];
    snprintf(store, sizeof store, "%s/nats", s->dir);
    snprintf(log, sizeof log, "%s/nats.log", s->dir);
    snprintf(port, sizeof port, "%d", s->nats_port);
    if (mkdir(store, 0700) != 0) {
        fprintf(stderr, "hv-bench-peers: cannot make %s\n", store);
        return false;
    }
    const char *argv[] = {"/usr/sbin/nats-server", "-js", "-sd", store, "-a", "127.0.0.1",
                          "-p", port, NULL};
    if ((s->nats = s_spawn(argv, NULL, log)) == 0)
        return false;
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", s->nats_port);
    double t0 = s_now();
    for (;;) {
        natsConnection *nc = NULL;
        if (s_accepts(s->nats_port) && natsConnection_ConnectTo(&nc, url) == NATS_OK) {
            natsConnection_Destroy(nc);
            break;
        }
        if (!s_alive(s->nats) || s_now() - t0 > 30) {
            fprintf(stderr, "hv-bench-peers: nats-server did not accept a connection on port %d\n",
                    s->nats_port);
            s_tail(log);
            return false;
        }
        usleep(50000);
    }
    printf("nats-server ready after %.1f s (port %d)\n", s_now() - t0, s->nats_port);
    return true;
}

/* SIGTERM to `*pid`, up to 30 s for it to exit, then SIGKILL to its group;
 * then the group's stragglers. */
static void s_stop(pid_t *pid, const char *name)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    double t0 = s_now();
    while (s_alive(*pid) && s_now() - t0 < 30)
        usleep(50000);
    if (s_alive(*pid)) {
        fprintf(stderr, "hv-bench-peers: %s did not stop in 30 s, killed\n", name);
        kill(-*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    kill(-*pid, SIGKILL); /* helpers left in its group, if any */
    hv_peer_child_remove(*pid);
    *pid = 0;
}

/* True while any process of group `pgid` exists. */
static bool s_group_alive(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

int hv_peer_servers_stop(hv_peer_servers *s)
{
    pid_t groups[3] = {s->rabbit, s->nats, s->epmd};
    s_stop(&s->rabbit, "RabbitMQ");
    s_stop(&s->nats, "nats-server");
    s_stop(&s->epmd, "epmd");
    int left = 0;
    double t0 = s_now();
    for (int i = 0; i < 3; i++) {
        /* A SIGKILLed helper is gone within moments; wait for that. */
        while (groups[i] > 0 && s_group_alive(groups[i]) && s_now() - t0 < 5)
            usleep(20000);
        left += groups[i] > 0 && s_group_alive(groups[i]);
    }
    char *dirs[2] = {s->dir, s->shm};
    for (int i = 0; i < 2 && !s->keep; i++)
        if (dirs[i][0] != '\0') {
            char cmd[600];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
            if (system(cmd) != 0)
                fprintf(stderr, "hv-bench-peers: could not remove %s\n", dirs[i]);
            dirs[i][0] = '\0';
            s_scratch[i][0] = '\0';
        }
    return left;
}

pid_t hv_peer_find_child(pid_t parent, const char *comm, int timeout_ms)
{
    double t0 = s_now();
    do {
        DIR *d = opendir("/proc");
        struct dirent *de;
        pid_t found = 0;
        while (d != NULL && found == 0 && (de = readdir(d)) != NULL) {
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            char path[300], line[512], name[64];
            snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
            FILE *f = fopen(path, "r");
            if (f == NULL)
                continue;
            int ppid = 0;
            if (fgets(line, sizeof line, f) != NULL) {
                const char *open = strchr(line, '('), *close = strrchr(line, ')');
                if (open != NULL && close != NULL && close - open - 1 < (long)sizeof name) {
                    memcpy(name, open + 1, (size_t)(close - open - 1));
                    name[close - open - 1] = '\0';
                    if (sscanf(close + 1, " %*c %d", &ppid) == 1 && ppid == parent &&
                        strcmp(name, comm) == 0)
                        found = (pid_t)atoi(de->d_name);
                }
            }
            fclose(f);
        }
        if (d != NULL)
            closedir(d);
        if (found > 0)
            return found;
        usleep(20000);
    } while ((s_now() - t0) * 1000 < timeout_ms);
    return 0;
}

/* The pid tracing `pid`, from /proc/PID/status; 0 when none. */
static int s_tracer(pid_t pid)
{
    char path[64], line[256];
    int tracer = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "TracerPid: %d", &tracer) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return tracer;
}

pid_t hv_peer_strace_start(pid_t pid, const char *out)
{
    if (access("/usr/bin/strace", X_OK) != 0)
        return 0;
    char p[16], log[600];
    snprintf(p, sizeof p, "%d", (int)pid);
    snprintf(log, sizeof log, "%s.log", out);
    const char *argv[] = {"/usr/bin/strace", "-f", "-c", "-e", "trace=fsync,fdatasync",
                          "-o", out, "-p", p, NULL};
    pid_t st = s_spawn(argv, NULL, log);
    double t0 = s_now();
    while (st > 0 && s_tracer(pid) != st) {
        if (!s_alive(st) || s_now() - t0 > 10) {
            fprintf(stderr, "hv-bench-peers: strace could not attach to %d\n", (int)pid);
            kill(-st, SIGKILL);
            waitpid(st, NULL, 0);
            hv_peer_child_remove(st);
            return 0;
        }
        usleep(10000);
    }
    return st;
}

long hv_peer_strace_finish(pid_t strace, const char *out)
{
    if (strace <= 0)
        return -1;
    kill(strace, SIGINT);
    waitpid(strace, NULL, 0);
    hv_peer_child_remove(strace);
    FILE *f = fopen(out, "r");
    if (f == NULL)
        return -1;
    char line[512];
    long calls = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char name[64];
        long c;
        /* "% time seconds usecs/call calls [errors] syscall" */
        if (sscanf(line, " %*f %*f %*d %ld %63s", &c, name) == 2 ||
            sscanf(line, " %*f %*f %*d %ld %*d %63s", &c, name) == 2)
            if (strcmp(name, "fsync") == 0 || strcmp(name, "fdatasync") == 0)
                calls += c;
    }
    fclose(f);
    /* strace writes no table at all when no traced call happened. */
    return calls;
}

const char *hv_peer_loadavg(char *buf, size_t cap)
{
    snprintf(buf, cap, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    float a, b, c;
    if (f != NULL && fscanf(f, "%f %f %f", &a, &b, &c) == 3)
        snprintf(buf, cap, "%.2f %.2f %.2f", (double)a, (double)b, (double)c);
    if (f != NULL)
        fclose(f);
    return buf;
}
