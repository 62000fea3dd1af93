#include "hv_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_registry.h"

static const char *const s_ids[HVN_NODES] = {"broker.xc",  "ngo.xa",   "router.xc",
                                             "shelter.xc", "legal.xc", "revoked.xc",
                                             "expired.xc", "clinic.xc"};

/* The lowest port of the kernel's ephemeral range, from which it takes the
 * source port of every outgoing connection. */
static int s_ephemeral_low(void)
{
    int low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    return low;
}

/* A TCP port on loopback that is free now, chosen at random below the
 * ephemeral range. A port from that range (what binding port 0 gives) may
 * be taken, between this check and the broker's bind, as the source port
 * of any connection; and while the broker is down (the restart tests), a
 * client reconnecting to it may be given the port itself and connect to
 * itself (TCP simultaneous open), so the restarted broker cannot bind. */
static int s_free_port(void)
{
    int high = s_ephemeral_low() - 1, low = high - 12000 < 1024 ? 1024 : high - 12000;
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint32_t r;
        hv_random(&r, sizeof r);
        int port = low + (int)(r % (uint32_t)(high - low + 1));
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int bound = bind(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (bound == 0)
            return port;
    }
    fail_msg("no free loopback port between %d and %d", low, high);
    return -1;
}

static hvn_handshake s_raw_open(hvn_where at, hvn *n, const hv_keypair *keys,
                                const char *endpoint, int type, hvn_raw *raw, bool report);

/* ------------------------------------------------------------ watchdog */

/* What the harness is waiting for; read by the SIGALRM handler, so
 * everything it prints is formatted before the wait begins. */
static struct {
    hvn *net;        /* the network whose broker to show and stop */
    char what[600];  /* "FUNC (FILE:LINE): waiting N s for ..." */
} s_watch;

/* Writes to stderr from a signal handler; nothing to do if it fails. */
static void s_say(const void *buf, size_t len)
{
    (void)!write(2, buf, len);
}

/* Writes the last `cap` bytes of the broker's log to stderr; async-signal-safe. */
static void s_log_tail(const hvn *n, size_t cap)
{
    char path[400], buf[4096];
    snprintf(path, sizeof path, "%s/broker.log", n->dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    if (cap > sizeof buf)
        cap = sizeof buf;
    off_t from = end > (off_t)cap ? end - (off_t)cap : 0;
    ssize_t got = pread(fd, buf, cap, from);
    close(fd);
    static const char head[] = "--- the broker's log, last lines:\n";
    if (got > 0) {
        s_say(head, sizeof head - 1);
        s_say(buf, (size_t)got);
    }
}

static void s_watchdog_fired(int sig)
{
    (void)sig;
    static const char head[] = "\nWATCHDOG: a test wait outlived its deadline: ";
    s_say(head, sizeof head - 1);
    s_say(s_watch.what, strlen(s_watch.what));
    s_say("\n", 1);
    if (s_watch.net != NULL) {
        s_log_tail(s_watch.net, 3000);
        if (s_watch.net->broker > 0)
            kill(s_watch.net->broker, SIGKILL);
    }
    _exit(1);
}

/* Names the wait that starts now and arms the watchdog for `deadline_ms`
 * plus the grace. Each wait arms it afresh, so an alarm left armed by a
 * failed assertion inside a wait is replaced by the next one. */
__attribute__((format(printf, 3, 4))) static void s_wait_begin(hvn_where at, int deadline_ms,
                                                           const char *fmt, ...)
{
    int len = snprintf(s_watch.what, sizeof s_watch.what, "%s (%s:%d): waiting %d s for ",
                       at.func, at.file, at.line, (deadline_ms + 999) / 1000);
    va_list ap;
    va_start(ap, fmt);
    if (len > 0 && (size_t)len < sizeof s_watch.what)
        vsnprintf(s_watch.what + len, sizeof s_watch.what - (size_t)len, fmt, ap);
    va_end(ap);
    alarm((unsigned)((deadline_ms + 999) / 1000 + HVN_WATCHDOG_GRACE_S));
}

static void s_wait_end(void)
{
    alarm(0);
}

static void s_keys_json(const hv_keypair *kp, char *out, size_t cap)
{
    const hv_pubkeys *p = hv_keypair_public(kp);
    char *s = hvt_hex(p->sign, 32), *b = hvt_hex(p->box, 32), *t = hvt_hex(p->transport, 32);
    snprintf(out, cap, "{\"sign\":\"%s\",\"box\":\"%s\",\"transport\":\"%s\"}", s, b, t);
    free(s);
    free(b);
    free(t);
}

void hvn_keys_json(const hv_keypair *kp, char *out, size_t cap)
{
    s_keys_json(kp, out, cap);
}

int hvn_free_port(void)
{
    return s_free_port();
}

static void s_iso(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void hvn_write_registry(hvn *n, unsigned version, int revoke)
{
    static const char *const roles[HVN_NODES] = {"broker",   "intake",   "router",
                                                 "provider", "provider", "provider",
                                                 "provider", "provider"};
    time_t now = time(NULL);
    char from[21], until[21], past[21], issued[21], expires[21];
    s_iso(now - 86400, from);
    s_iso(now + 30 * 86400, until);
    s_iso(now - 3600, past);
    s_iso(now - 60, issued);
    s_iso(now + 30 * 86400, expires);
    size_t cap = 32768 + sizeof n->extra_nodes;
    char *json = malloc(cap);
    int len = snprintf(json, cap,
                       "{\"network\":\"test\",\"version\":%u,\"issued_at\":\"%s\","
                       "\"expires_at\":\"%s\",\"nodes\":[",
                       version, issued, expires);
    for (int i = 0; i < HVN_NODES; i++) {
        char keys[400], extra[512];
        const char *home = n->home[i] != NULL ? n->home[i] : "broker.xc";
        s_keys_json(n->keys[i], keys, sizeof keys);
        if (i == HVN_BROKER)
            snprintf(extra, sizeof extra, "\"endpoints\":{\"workers\":\"%s\"}", n->endpoint);
        else if (strcmp(roles[i], "provider") == 0)
            snprintf(extra, sizeof extra,
                     "\"home\":\"%s\",\"services\":[\"shelter\"],\"capacity\":5", home);
        else
            snprintf(extra, sizeof extra, "\"home\":\"%s\"", home);
        len += snprintf(json + len, cap - (size_t)len,
                        "%s{\"id\":\"%s\",\"role\":\"%s\",\"country\":\"%s\","
                        "\"organisation\":\"Example %d\",\"keys\":%s,\"valid_from\":\"%s\","
                        "\"valid_until\":\"%s\",\"revoked\":%s,%s}",
                        i ? "," : "", n->ids[i], roles[i], i == HVN_NGO ? "XA" : "XC", i, keys,
                        from, i == HVN_EXPIRED ? past : until,
                        i == revoke || i == HVN_REVOKED ? "true" : "false", extra);
    }
    snprintf(json + len, cap - (size_t)len, "%s]}", n->extra_nodes);
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    if (hv_registry_from_json(json, strlen(json), NULL, &reg, &e) != HV_OK)
        fail_msg("test registry refused: %s", e.text);
    uint8_t *buf;
    size_t blen;
    assert_int_equal(hv_registry_sign(reg, n->authority, &buf, &blen), HV_OK);
    char path[400], tmp[420];
    snprintf(path, sizeof path, "%s/network.reg", n->dir);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    hvt_write_file(tmp, buf, blen, 0644);
    assert_int_equal(rename(tmp, path), 0); /* atomic: the broker never reads half */
    free(buf);
    free(json);
    hv_registry_free(&reg);
    n->registry_version = version;
}

void hvn_init(hvn *n, const char *broker_bin, const char *extra)
{
    memset(n, 0, sizeof *n);
    char *dir = hvt_tmpdir();
    snprintf(n->dir, sizeof n->dir, "%s", dir);
    free(dir);
    snprintf(n->broker_bin, sizeof n->broker_bin, "%s", broker_bin);
    snprintf(n->endpoint, sizeof n->endpoint, "tcp://127.0.0.1:%d", s_free_port());
    snprintf(n->extra_config, sizeof n->extra_config, "%s", extra ? extra : "");
    assert_int_equal(hv_keypair_generate(&n->authority), HV_OK);
    assert_int_equal(hv_keypair_generate(&n->outsider), HV_OK);
    for (int i = 0; i < HVN_NODES; i++) {
        n->ids[i] = s_ids[i];
        assert_int_equal(hv_keypair_generate(&n->keys[i]), HV_OK);
    }
    /* Key files the broker reads. */
    uint8_t seeds[3][32];
    hv_keypair_seeds(n->keys[HVN_BROKER], seeds[0], seeds[1], seeds[2]);
    char *h[3] = {hvt_hex(seeds[0], 32), hvt_hex(seeds[1], 32), hvt_hex(seeds[2], 32)};
    char text[1024], path[400];
    int len = snprintf(text, sizeof text,
                       "haven-secret-keys v1\nid broker.xc\nsign-seed %s\nbox-secret %s\n"
                       "transport-secret %s\n",
                       h[0], h[1], h[2]);
    snprintf(path, sizeof path, "%s/broker.key", n->dir);
    hvt_write_file(path, text, (size_t)len, 0600);
    for (int i = 0; i < 3; i++)
        free(h[i]);
    hv_memzero(seeds, sizeof seeds);
    char keys[400];
    s_keys_json(n->authority, keys, sizeof keys);
    snprintf(path, sizeof path, "%s/authority.pub", n->dir);
    hvt_write_file(path, keys, strlen(keys), 0644);
    hvn_write_registry(n, 1, -1);
    snprintf(n->ini, sizeof n->ini, "%s/broker.ini", n->dir);
    len = snprintf(text, sizeof text,
                   "[broker]\nid = broker.xc\nkeys = broker.key\nauthority = authority.pub\n"
                   "registry = network.reg\nstore = broker.db\nbind = %s\n%s\n",
                   n->endpoint, n->extra_config);
    hvt_write_file(n->ini, text, (size_t)len, 0644);
    n->zctx = zmq_ctx_new();
    s_watch.net = n;
    struct sigaction sa = {.sa_handler = s_watchdog_fired};
    sigaction(SIGALRM, &sa, NULL);
}

void hvn_start_at(hvn_where at, hvn *n)
{
    char log[400];
    snprintf(log, sizeof log, "%s/broker.log", n->dir);
    pid_t parent = getpid();
    n->broker = fork();
    assert_true(n->broker >= 0);
    if (n->broker == 0) {
        /* The broker dies with the test, and never holds the test's output
         * open (a test runner waits for every holder of its pipe). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(1);
        close(fd);
        execl(n->broker_bin, n->broker_bin, "-c", n->ini, (char *)NULL);
        _exit(127);
    }
    /* Serving means: the ZAP handler admits a registered node. No HELLO,
     * so that no client's session is replaced by this probe. */
    hvn_raw raw;
    int64_t deadline = hv_mono_ms() + 10000;
    for (;;) {
        hvn_handshake hs =
            s_raw_open(at, n, n->keys[HVN_ROUTER], n->endpoint, ZMQ_DEALER, &raw, false);
        hvn_raw_close(&raw);
        if (hs == HVN_HS_OK)
            break;
        int status;
        if (waitpid(n->broker, &status, WNOHANG) == n->broker) {
            n->broker = 0;
            s_log_tail(n, 2000);
            fail_msg("broker exited during start-up; see %s", log);
        }
        if (hv_mono_ms() > deadline) {
            s_log_tail(n, 2000);
            fail_msg("broker did not become ready; see %s", log);
        }
    }
}

int hvn_signal_at(hvn_where at, hvn *n, int sig)
{
    if (n->broker == 0)
        return 0;
    kill(n->broker, sig);
    if (sig != SIGTERM && sig != SIGKILL)
        return 0;
    int status = 0;
    s_wait_begin(at, 30000, "the broker to exit on signal %d", sig);
    waitpid(n->broker, &status, 0);
    s_wait_end();
    n->broker = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void hvn_fini_at(hvn_where at, hvn *n)
{
    if (n->broker != 0)
        hvn_signal_at(at, n, SIGKILL);
    /* A test that failed between hvn_raw_open and hvn_raw_close left its
     * raw socket open, and zmq_ctx_term waits for every socket. */
    for (int i = 0; i < HVN_RAW_MAX; i++)
        if (n->raw_open[i][0] != NULL) {
            hvn_raw stale = {.net = n, .slot = i, .sock = n->raw_open[i][0],
                             .monitor = n->raw_open[i][1]};
            hvn_raw_close(&stale);
        }
    s_wait_begin(at, 10000, "the test's ZeroMQ context to end");
    zmq_ctx_term(n->zctx);
    s_wait_end();
    s_watch.net = NULL;
    for (int i = 0; i < HVN_NODES; i++)
        hv_keypair_free(&n->keys[i]);
    hv_keypair_free(&n->authority);
    hv_keypair_free(&n->outsider);
    if (getenv("HV_KEEP_TEST_DIRS") == NULL)
        hvt_rmdir(n->dir);
}

void hvn_store_path(const hvn *n, int who, const char *store_tag, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s-%s.db", n->dir, n->ids[who], store_tag);
}

hv_client *hvn_client(hvn *n, int who, const char *store_tag)
{
    char store[400];
    hvn_store_path(n, who, store_tag, store, sizeof store);
    hv_client_config cfg = {.node_id = n->ids[who], .keys = n->keys[who],
                            .endpoint = n->endpoint, .store_path = store,
                            .heartbeat_ms = 300, .dead_after_ms = 1500, .resend_ms = 1000};
    memcpy(cfg.broker_transport_pk, hv_keypair_public(n->keys[HVN_BROKER])->transport, 32);
    hv_client *c = NULL;
    hv_errmsg e = {""};
    if (hv_client_open(&c, &cfg, &e) != HV_OK)
        fail_msg("client: %s", e.text);
    return c;
}

void hvn_seal_as(hvn *n, int signer, const char *from_id, int to, unsigned type,
                 uint8_t **wire, size_t *len, uint8_t id[16])
{
    hv_envelope env;
    hv_envelope_init(&env, type, from_id, hv_keypair_public(n->keys[signer]), n->ids[to],
                     hv_keypair_public(n->keys[to]));
    static const uint8_t pt[] = "{\"synthetic\":true}";
    assert_int_equal(hv_envelope_seal(&env, n->keys[signer], hv_keypair_public(n->keys[to]), pt,
                                      sizeof pt, wire, len),
                     HV_OK);
    memcpy(id, env.id, 16);
}

void hvn_seal(hvn *n, int from, int to, unsigned type, uint32_t ttl_s, uint8_t **wire,
              size_t *len, uint8_t id[16])
{
    hv_envelope env;
    hv_envelope_init(&env, type, n->ids[from], hv_keypair_public(n->keys[from]), n->ids[to],
                     hv_keypair_public(n->keys[to]));
    hv_random(env.referral, 16);
    if (ttl_s > 0)
        env.ttl_s = ttl_s;
    static const uint8_t pt[] = "{\"synthetic\":true}";
    assert_int_equal(hv_envelope_seal(&env, n->keys[from], hv_keypair_public(n->keys[to]), pt,
                                      sizeof pt, wire, len),
                     HV_OK);
    if (id != NULL)
        memcpy(id, env.id, 16);
}

/* ------------------------------------------------------------ raw sockets */

static int s_monitor_seq;

/* Waits up to `timeout_ms` for the next monitor event; 0 when none came. */
static uint16_t s_next_event(hvn_raw *raw, int timeout_ms)
{
    zmq_pollitem_t it = {raw->monitor, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return 0;
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    zmq_msg_recv(&ev, raw->monitor, 0);
    zmq_msg_recv(&addr, raw->monitor, 0);
    uint16_t event;
    memcpy(&event, zmq_msg_data(&ev), 2);
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return event;
}

/* Opens a raw socket; `report` prints what happened when no handshake came
 * (hvn_start's probes, which expect a few, do not). */
static hvn_handshake s_raw_open(hvn_where at, hvn *n, const hv_keypair *keys,
                                const char *endpoint, int type, hvn_raw *raw, bool report)
{
    memset(raw, 0, sizeof *raw);
    raw->net = n;
    raw->slot = 0;
    while (raw->slot < HVN_RAW_MAX && n->raw_open[raw->slot][0] != NULL)
        raw->slot++;
    assert_true(raw->slot < HVN_RAW_MAX); /* a test that never closes its raw sockets */
    raw->sock = zmq_socket(n->zctx, type);
    if (type == ZMQ_SUB)
        zmq_setsockopt(raw->sock, ZMQ_SUBSCRIBE, "", 0);
    char server[41], public[41], secret[41], mon[64];
    hv_z85_key(hv_keypair_public(n->keys[HVN_BROKER])->transport, server);
    hv_z85_key(hv_keypair_public(keys)->transport, public);
    hv_keypair_transport_secret_z85(keys, secret);
    int zero = 0;
    zmq_setsockopt(raw->sock, ZMQ_CURVE_SERVERKEY, server, 40);
    zmq_setsockopt(raw->sock, ZMQ_CURVE_PUBLICKEY, public, 40);
    zmq_setsockopt(raw->sock, ZMQ_CURVE_SECRETKEY, secret, 40);
    zmq_setsockopt(raw->sock, ZMQ_LINGER, &zero, sizeof zero);
    snprintf(mon, sizeof mon, "inproc://monitor-%d", ++s_monitor_seq);
    assert_int_equal(zmq_socket_monitor(raw->sock, mon, ZMQ_EVENT_ALL), 0);
    raw->monitor = zmq_socket(n->zctx, ZMQ_PAIR);
    zmq_setsockopt(raw->monitor, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(raw->monitor, mon), 0);
    n->raw_open[raw->slot][0] = raw->sock;
    n->raw_open[raw->slot][1] = raw->monitor;
    assert_int_equal(zmq_connect(raw->sock, endpoint), 0);
    s_wait_begin(at, 5000, "a CurveZMQ handshake with the broker at %s", endpoint);
    /* The events seen, to say what happened when no handshake came. */
    char seen[256] = "";
    size_t used = 0;
    hvn_handshake outcome = HVN_HS_NONE;
    int64_t deadline = hv_mono_ms() + 5000;
    while (hv_mono_ms() < deadline && outcome == HVN_HS_NONE) {
        uint16_t event = s_next_event(raw, 100);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            outcome = HVN_HS_OK;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            outcome = HVN_HS_REFUSED;
        else if (event != 0 && used + 8 < sizeof seen)
            used += (size_t)snprintf(seen + used, sizeof seen - used, " 0x%x", event);
    }
    s_wait_end();
    if (outcome == HVN_HS_NONE && report) {
        fprintf(stderr, "%s (%s:%d): no handshake with %s within 5 s; monitor events:%s\n",
                at.func, at.file, at.line, endpoint, used ? seen : " none");
        s_log_tail(n, 1500);
    }
    return outcome;
}

hvn_handshake hvn_raw_open_at(hvn_where at, hvn *n, const hv_keypair *keys, hvn_raw *raw)
{
    return s_raw_open(at, n, keys, n->endpoint, ZMQ_DEALER, raw, true);
}

hvn_handshake hvn_raw_open_to_at(hvn_where at, hvn *n, const hv_keypair *keys,
                                 const char *endpoint, int type, hvn_raw *raw)
{
    return s_raw_open(at, n, keys, endpoint, type, raw, true);
}

void hvn_raw_close(hvn_raw *raw)
{
    /* The monitor is stopped before its reader is closed. libzmq 4.3.4
     * sends monitor events with a blocking send, from the I/O thread: an
     * event about this socket that comes after the reader is gone (a
     * DISCONNECTED after a refused handshake, a reconnection) blocks the
     * context's only I/O thread for ever, and no later connection of the
     * context makes any progress. Stopping first (in this thread, while
     * the reader still reads) means no event is sent after it. */
    if (raw->sock != NULL) {
        zmq_socket_monitor(raw->sock, NULL, 0);
        zmq_close(raw->sock);
    }
    if (raw->monitor != NULL)
        zmq_close(raw->monitor);
    if (raw->net != NULL && raw->sock != NULL)
        raw->net->raw_open[raw->slot][0] = raw->net->raw_open[raw->slot][1] = NULL;
    raw->sock = raw->monitor = NULL;
}

void hvn_raw_send_bytes(hvn_raw *raw, const void *buf, size_t len)
{
    assert_true(zmq_send(raw->sock, buf, len, 0) >= 0);
}

void hvn_raw_send(hvn_raw *raw, const hv_control *m)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(hv_control_encode(m, &buf, &len), HV_OK);
    hvn_raw_send_bytes(raw, buf, len);
    free(buf);
}

bool hvn_raw_recv_at(hvn_where at, hvn_raw *raw, int timeout_ms, hv_control *out,
                     uint8_t **frame)
{
    s_wait_begin(at, timeout_ms, "an answer from the broker on a raw socket");
    bool got = false;
    int64_t deadline = hv_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - hv_mono_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t it = {raw->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, (long)left) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, raw->sock, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        uint8_t *copy = malloc(zmq_msg_size(&m));
        memcpy(copy, zmq_msg_data(&m), zmq_msg_size(&m));
        hv_err err = hv_control_decode(copy, zmq_msg_size(&m), out);
        zmq_msg_close(&m);
        if (err != HV_OK) {
            s_wait_end();
            fail_msg("the broker sent a frame that does not decode: %s", hv_strerror(err));
        }
        if (out->cmd == HV_CMD_HEARTBEAT) {
            free(copy);
            continue;
        }
        if (frame != NULL)
            *frame = copy; /* out->envelope points into it */
        else
            free(copy);
        got = true;
        break;
    }
    s_wait_end();
    return got;
}

void hvn_raw_hello_at(hvn_where at, hvn *n, hvn_raw *raw, int who, uint32_t credit)
{
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = credit, .heartbeat_ms = 1000};
    strcpy(hello.node_id, n->ids[who]);
    hvn_raw_send(raw, &hello);
    hv_control r;
    assert_true(hvn_raw_recv_at(at, raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_READY);
    assert_string_equal(r.node_id, "broker.xc");
}

bool hvn_raw_disconnected_at(hvn_where at, hvn_raw *raw, int timeout_ms)
{
    s_wait_begin(at, timeout_ms, "the broker to drop a raw connection");
    bool dropped = false;
    int64_t deadline = hv_mono_ms() + timeout_ms;
    while (!dropped && hv_mono_ms() < deadline)
        dropped = s_next_event(raw, 100) == ZMQ_EVENT_DISCONNECTED;
    s_wait_end();
    return dropped;
}

bool hvn_wait_notice_at(hvn_where at, hv_client *c, int timeout_ms, hv_notice *out)
{
    s_wait_begin(at, timeout_ms, "a notice from the broker to a client");
    bool got = true;
    int64_t deadline = hv_mono_ms() + timeout_ms;
    while (got && !hv_client_notice(c, out)) {
        got = hv_mono_ms() <= deadline;
        assert_int_equal(hv_client_poll(c, 50), HV_OK);
    }
    s_wait_end();
    return got;
}

bool hvn_wait_stored_at(hvn_where at, hv_client *c, int timeout_ms)
{
    s_wait_begin(at, timeout_ms, "the broker's STORED for everything in a client's outbox");
    bool empty = true;
    int64_t deadline = hv_mono_ms() + timeout_ms;
    while (empty && hv_client_outbox_size(c) > 0) {
        empty = hv_mono_ms() <= deadline;
        assert_int_equal(hv_client_poll(c, 50), HV_OK);
    }
    s_wait_end();
    return empty;
}

long hvn_log_size(hvn *n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/broker.log", n->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return size;
}

bool hvn_wait_log_at(hvn_where at, hvn *n, const char *text, long from_offset, int timeout_ms)
{
    char path[400];
    snprintf(path, sizeof path, "%s/broker.log", n->dir);
    s_wait_begin(at, timeout_ms, "\"%s\" in the broker's log", text);
    bool found = false;
    int64_t deadline = hv_mono_ms() + timeout_ms;
    while (!found && hv_mono_ms() < deadline) {
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            fseek(f, from_offset, SEEK_SET);
            char line[2048];
            while (!found && fgets(line, sizeof line, f) != NULL)
                found = strstr(line, text) != NULL;
            fclose(f);
        }
        if (!found)
            zmq_poll(NULL, 0, 20); /* a short pause between looks at the file */
    }
    s_wait_end();
    return found;
}
