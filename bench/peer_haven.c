/* The peers benchmark's Haven: haven-bench run as a child with one sender
 * and one receiver, its figures read from what it prints, so that Haven's
 * numbers here are haven-bench's own (hv_peer.h). Its broker's store goes
 * in haven-bench's scratch directory under `dir`, the two nodes' stores in
 * the client directory given. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv_peer.h"
#include "hv_peer_servers.h"

extern char **environ;

/* The number after the first `key` in `text`; false if absent. */
static bool s_read(const char *text, const char *key, double *v)
{
    const char *at = strstr(text, key);
    return at != NULL && sscanf(at + strlen(key), " %lf", v) == 1;
}

/* Reads a peak or paced section of haven-bench's output into `r`. */
static bool s_parse(const char *section, hv_peer_result *r)
{
    const char *stored = strstr(section, "send -> STORED");
    const char *deliv = strstr(section, "send -> delivered");
    return s_read(section, "delivered", &r->e2e_per_s) &&
           stored != NULL && sscanf(stored, "send -> STORED p50 %lf ms p99 %lf ms",
                                    &r->conf_p50_ms, &r->conf_p99_ms) == 2 &&
           deliv != NULL && sscanf(deliv, "send -> delivered p50 %lf ms p99 %lf ms",
                                   &r->e2e_p50_ms, &r->e2e_p99_ms) == 2 &&
           s_read(section, "CPU per envelope: broker", &r->server_cpu_us) &&
           s_read(section, "senders and receivers", &r->client_cpu_us);
}

hv_peer_result hv_peer_haven_run(const char *bench_bin, const char *broker_bin, const char *dir,
                                 const char *client_dir, const hv_peer_load *load,
                                 const char *strace_out)
{
    hv_peer_result res = {.flushes = -1};
    char size[24], n[24], rate[32], tmpdir[600];
    snprintf(size, sizeof size, "%zu", load->size);
    snprintf(n, sizeof n, "%zu", load->n);
    snprintf(rate, sizeof rate, "%.0f", load->rate);
    snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", dir);
    const char *argv[] = {bench_bin, broker_bin, "--senders", "1", "--receivers", "1",
                          "--size", size, "--messages", n, "--client-dir", client_dir,
                          load->rate > 0 ? "--rate" : NULL, rate, NULL};
    int fds[2];
    if (pipe(fds) != 0)
        return res;
    /* The environment is built before fork: the parent has threads. */
    size_t ne = 0;
    while (environ[ne] != NULL)
        ne++;
    char **env = calloc(ne + 2, sizeof *env);
    if (env == NULL) {
        close(fds[0]);
        close(fds[1]);
        return res;
    }
    size_t k = 0;
    env[k++] = tmpdir;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "TMPDIR=", 7) != 0)
            env[k++] = environ[i];
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execve(bench_bin, (char *const *)argv, env);
        _exit(127);
    }
    free(env);
    close(fds[1]);
    if (p < 0) {
        close(fds[0]);
        return res;
    }
    setpgid(p, p);
    hv_peer_child_add(p);
    pid_t strace = 0;
    if (strace_out != NULL) {
        /* haven-bench seals, starts its broker, then measures the machine's
         * limits for some seconds before the load: time enough to attach. */
        pid_t broker = hv_peer_find_child(p, "haven-broker", 60000);
        if (broker > 0)
            strace = hv_peer_strace_start(broker, strace_out);
    }
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    ssize_t got;
    while (out != NULL && (got = read(fds[0], out + len, cap - 1 - len)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        len += (size_t)got;
        if (len == cap - 1) /* more than we read: keep the first part */
            break;
    }
    close(fds[0]);
    int status = 0;
    waitpid(p, &status, 0);
    hv_peer_child_remove(p);
    long flushes = strace > 0 ? hv_peer_strace_finish(strace, strace_out) : -1;
    if (out == NULL)
        return res;
    out[len] = '\0';
    const char *section = strstr(out, load->rate > 0 ? "Paced load" : "Peak load");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || section == NULL ||
        !s_parse(section, &res)) {
        fprintf(stderr, "hv-bench-peers: haven-bench failed (status %d); its output:\n%s\n",
                status, out);
        res.ok = false;
    } else {
        double wire = 0;
        res.ok = true;
        res.flushes = flushes;
        res.wire_bytes = s_read(section, "envelopes of", &wire) ? (size_t)wire : 0;
    }
    free(out);
    return res;
}
