/* The peers benchmark's servers: RabbitMQ (with an epmd of its own) and
 * nats-server started on loopback, on free ports below the ephemeral range,
 * in a scratch directory, each in a process group of its own; stopped at
 * the end and also on an error or Ctrl-C (bench/hv_peer_servers.c). And the
 * count of a process's disk flushes through strace. */
#ifndef HV_PEER_SERVERS_H
#define HV_PEER_SERVERS_H

#include <stdbool.h>
#include <sys/types.h>

/* The servers one benchmark run started. Fields are read by the caller,
 * written only here. */
typedef struct hv_peer_servers {
    char dir[512];       /* scratch directory, removed by stop (unless kept) */
    char shm[512];       /* a scratch directory on /dev/shm (tmpfs), "" if none */
    bool keep;           /* leave dir in place */
    int amqp_port;       /* RabbitMQ's AMQP listener */
    int dist_port;       /* RabbitMQ's Erlang distribution port */
    int epmd_port;       /* epmd, for RabbitMQ alone */
    int nats_port;       /* nats-server's client port */
    pid_t epmd;          /* epmd, 0 when not running */
    pid_t rabbit;        /* beam.smp (the script execs into it), 0 when not running */
    pid_t nats;          /* nats-server, 0 when not running */
} hv_peer_servers;

/* Makes the scratch directory under $TMPDIR (or /tmp) and one on /dev/shm
 * where that is a directory (for clients' stores), picks the ports and
 * installs the SIGINT/SIGTERM/SIGHUP handler that stops everything this
 * program started. Returns false (said why on stderr) on a failure. */
bool hv_peer_servers_init(hv_peer_servers *s, bool keep);

/* Starts RabbitMQ (epmd first) and waits up to 120 s until it accepts a
 * login; starts nats-server and waits up to 30 s until it accepts a
 * connection. False, with the server's last log lines on stderr, when one
 * does not come up. */
bool hv_peer_rabbit_start(hv_peer_servers *s);
bool hv_peer_nats_start(hv_peer_servers *s);

/* Stops every server (SIGTERM, then SIGKILL to its process group after
 * 30 s), waits for them, removes the scratch directory unless kept, and
 * returns how many processes this program started are still alive (0 when
 * all are gone). Safe twice. */
int hv_peer_servers_stop(hv_peer_servers *s);

/* Registers a child process group (such as a haven-bench run) that the
 * signal handler kills too; unregister once it has been waited for. */
void hv_peer_child_add(pid_t pgid);
void hv_peer_child_remove(pid_t pgid);

/* The first child of `parent` whose name (comm) is `comm`, waiting up to
 * `timeout_ms` for it to appear; 0 if none. */
pid_t hv_peer_find_child(pid_t parent, const char *comm, int timeout_ms);

/* Attaches `strace -f -c -e trace=fsync,fdatasync -o out` to `pid` (all its
 * threads) and waits until it is attached; returns strace's pid, or 0 when
 * strace is missing or cannot attach. */
pid_t hv_peer_strace_start(pid_t pid, const char *out);

/* Detaches strace (SIGINT) if it still runs and waits for it; returns the
 * number of fsync and fdatasync calls in its summary `out`, or -1 when
 * there is none. */
long hv_peer_strace_finish(pid_t strace, const char *out);

/* The load averages of /proc/loadavg ("8.64 6.57 3.92"), into buf. */
const char *hv_peer_loadavg(char *buf, size_t cap);

#endif
