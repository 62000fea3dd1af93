/* Trust over time at a real broker (issue 19): sessions follow the
 * registry. A broker process on loopback, real CurveZMQ clients (raw
 * sockets and hv_client), registries signed and swapped under it with
 * SIGHUP. Each test is named after the attack it stops. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <zmq.h>

#include <sqlite3.h>

#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_keys.h"
#include "hv_msg.h"
#include "hv_net.h"

static const char *s_broker_bin, *s_haven_bin;

/* Nodes the fixed network of hv_net.h does not have: a second country's
 * broker and intake, and operators. */
enum { X_BROKER_XA, X_NGO_XA, X_OPS, X_OPS2, X_OPS_XA, X_COUNT };
static const char *const s_xid[X_COUNT] = {"broker.xa", "ngo2.xa", "ops.xc", "ops2.xc",
                                           "ops.xa"};

typedef struct world {
    hvn net;
    hv_keypair *x[X_COUNT];
    char ops_ep[64], events_ep[64];
    bool ops_revoked;          /* ops.xc revoked in the next registry */
    const char *scope_xa;      /* ops.xa's scope as JSON ("[\"XC\"]"), or NULL */
} world;

static void s_iso(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fills the extra nodes and signs the registry as `version`. */
static void s_registry(world *w, unsigned version)
{
    char from[21], until[21], keys[400];
    s_iso(time(NULL) - 86400, from);
    s_iso(time(NULL) + 30 * 86400, until);
    size_t len = 0, cap = sizeof w->net.extra_nodes;
    char *out = w->net.extra_nodes;
    for (int i = 0; i < X_COUNT; i++) {
        hvn_keys_json(w->x[i], keys, sizeof keys);
        char extra[200];
        if (i == X_BROKER_XA)
            snprintf(extra, sizeof extra, "\"endpoints\":{\"workers\":\"tcp://127.0.0.1:9\"}");
        else if (i == X_OPS_XA && w->scope_xa != NULL)
            snprintf(extra, sizeof extra, "\"home\":\"broker.xa\",\"scope\":%s", w->scope_xa);
        else
            snprintf(extra, sizeof extra, "\"home\":\"%s\"",
                     i == X_NGO_XA || i == X_OPS_XA ? "broker.xa" : "broker.xc");
        const char *role = i == X_BROKER_XA ? "broker" : i == X_NGO_XA ? "intake" : "operator";
        const char *cc = i <= X_NGO_XA || i == X_OPS_XA ? "XA" : "XC";
        len += (size_t)snprintf(out + len, cap - len,
                                ",{\"id\":\"%s\",\"role\":\"%s\",\"country\":\"%s\","
                                "\"organisation\":\"Example X%d\",\"keys\":%s,"
                                "\"valid_from\":\"%s\",\"valid_until\":\"%s\",\"revoked\":%s,%s}",
                                s_xid[i], role, cc, i, keys, from, until,
                                i == X_OPS && w->ops_revoked ? "true" : "false", extra);
        assert_true(len < cap);
    }
    hvn_write_registry(&w->net, version, -1);
}

static int s_setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    int ops = hvn_free_port(), events = hvn_free_port();
    while (events == ops)
        events = hvn_free_port();
    snprintf(w->ops_ep, sizeof w->ops_ep, "tcp://127.0.0.1:%d", ops);
    snprintf(w->events_ep, sizeof w->events_ep, "tcp://127.0.0.1:%d", events);
    char extra[300];
    snprintf(extra, sizeof extra,
             "[timing]\nheartbeat_ms = 200\ndead_after_ms = 3000\n"
             "[operators]\nbind = %s\nevents = %s\n",
             w->ops_ep, w->events_ep);
    hvn_init(&w->net, s_broker_bin, extra);
    for (int i = 0; i < X_COUNT; i++)
        assert_int_equal(hv_keypair_generate(&w->x[i]), HV_OK);
    s_registry(w, 1);
    hvn_start(&w->net);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world *w = *state;
    /* A clean stop: under the sanitizers, a leak or an error is a failure. */
    int rc = w->net.broker != 0 ? hvn_signal(&w->net, SIGTERM) : 0;
    hvn_fini(&w->net);
    for (int i = 0; i < X_COUNT; i++)
        hv_keypair_free(&w->x[i]);
    free(w);
    if (rc != 0)
        fprintf(stderr, "the broker exited with %d\n", rc);
    return rc == 0 ? 0 : -1;
}

/* Swaps in registry `version` and waits until the broker has loaded it. */
static void s_reload(world *w, unsigned version)
{
    long at = hvn_log_size(&w->net);
    s_registry(w, version);
    hvn_signal(&w->net, SIGHUP);
    char line[64];
    snprintf(line, sizeof line, "event=registry_loaded version=%u ", version);
    assert_true(hvn_wait_log(&w->net, line, at, 5000));
}

static int s_count(world *w, const char *sql)
{
    char path[400];
    snprintf(path, sizeof path, "%s/broker.db", w->net.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int count = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return count;
}

/* The broker's audit log, whole (caller frees). */
static char *s_audit_text(world *w)
{
    char path[400];
    snprintf(path, sizeof path, "%s/broker.db.audit", w->net.dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    size_t got = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[got] = '\0';
    return text;
}

/* True when some audit record has all of `parts`. */
static bool s_audit_has(world *w, const char *const *parts, size_t n_parts)
{
    char *text = s_audit_text(w);
    bool found = false;
    for (char *line = strtok(text, "\n"); line != NULL && !found; line = strtok(NULL, "\n")) {
        bool all = true;
        for (size_t i = 0; i < n_parts && all; i++)
            all = strstr(line, parts[i]) != NULL;
        found = all;
    }
    free(text);
    return found;
}

/* `haven audit verify` passes on the broker's audit log. */
static void s_audit_verify(world *w)
{
    char cmd[1200], out[400];
    snprintf(cmd, sizeof cmd, "'%s' audit verify '%s/broker.db.audit' 2>&1", s_haven_bin,
             w->net.dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, "records, chain intact"));
}

/* One request on an operators' connection; the answer's text, or false
 * when none came within `timeout_ms`. */
static bool s_ops_call(hvn_raw *raw, const char *request, char *out, size_t cap, int timeout_ms)
{
    hvn_raw_send_bytes(raw, request, strlen(request));
    zmq_pollitem_t it = {raw->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return false;
    int n = zmq_recv(raw->sock, out, cap - 1, 0);
    assert_true(n >= 0 && (size_t)n < cap);
    out[n] = '\0';
    return true;
}

/* The next event on a watcher's socket within `timeout_ms`, or false. */
static bool s_event(hvn_raw *raw, char *out, size_t cap, int timeout_ms)
{
    zmq_pollitem_t it = {raw->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return false;
    int n = zmq_recv(raw->sock, out, cap - 1, 0);
    assert_true(n >= 0 && (size_t)n < cap);
    out[n] = '\0';
    return true;
}

/* Waits for a watcher's next event whose text has `part`. */
static bool s_event_with(hvn_raw *raw, const char *part, int timeout_ms)
{
    char ev[512];
    int64_t deadline = hv_mono_ms() + timeout_ms;
    while (hv_mono_ms() < deadline)
        if (s_event(raw, ev, sizeof ev, (int)(deadline - hv_mono_ms())) && strstr(ev, part))
            return true;
    return false;
}

/* Makes the broker publish one event: a frame before HELLO is refused,
 * and every refusal is an event ("refused"). */
static void s_poke(world *w)
{
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(&w->net, w->net.keys[HVN_ROUTER], &raw), HVN_HS_OK);
    hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
    hvn_raw_send(&raw, &hb);
    hv_control r;
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    hvn_raw_close(&raw);
}

/* ------------------------------------------------------------------ tests */

/* A stolen transport key must not outlive its rotation: the connection
 * made with key A is cut when the registry gives the node keys B, and
 * nothing on it is answered or delivered afterwards; B gets the mail. */
static void old_key_session_cut_at_rotation(void **state)
{
    world *w = *state;
    hvn *n = &w->net;
    hvn_raw a;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_SHELTER], &a), HVN_HS_OK);
    hvn_raw_hello(n, &a, HVN_SHELTER, 16);
    /* The registry's version 2 gives the shelter keys B, and A no more. */
    hv_keypair *old = n->keys[HVN_SHELTER];
    assert_int_equal(hv_keypair_generate(&n->keys[HVN_SHELTER]), HV_OK);
    long at = hvn_log_size(n);
    s_reload(w, 2);
    assert_true(hvn_wait_log(n, "event=session_cut node=shelter.xc door=workers "
                                "reason=\"key rotated\"", at, 5000));
    hv_control r;
    assert_true(hvn_raw_recv(&a, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    assert_string_equal(r.text, "session cut: key rotated");
    assert_true(hvn_raw_recv(&a, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_BYE);
    /* HELLO again on the old-key connection: refused, never READY. */
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 16, .heartbeat_ms = 200};
    strcpy(hello.node_id, "shelter.xc");
    hvn_raw_send(&a, &hello);
    assert_true(hvn_raw_recv(&a, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    assert_string_equal(r.text, "not admitted: key rotated");
    /* A SEND on it: refused the same way, nothing stored. */
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, HVN_SHELTER, HVN_ROUTER, HV_MSG_DECLINE, 0, &wire, &len, id);
    hv_control send = {.cmd = HV_CMD_SEND, .envelope = wire, .envelope_len = len};
    hvn_raw_send(&a, &send);
    free(wire);
    assert_true(hvn_raw_recv(&a, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    assert_int_equal(s_count(w, "SELECT count(*) FROM queue WHERE recipient = 'router.xc'"), 0);
    /* Mail for the shelter, sealed to B, while A's connection is still open. */
    hvn_seal(n, HVN_ROUTER, HVN_SHELTER, HV_MSG_OFFER, 0, &wire, &len, id);
    hv_client *router = hvn_client(n, HVN_ROUTER, "rot");
    assert_int_equal(hv_client_send(router, wire, len), HV_OK);
    free(wire);
    assert_true(hvn_wait_stored(router, 5000));
    hv_client_close(&router);
    /* A new connection with B gets it... */
    hvn_raw b;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_SHELTER], &b), HVN_HS_OK);
    hvn_raw_hello(n, &b, HVN_SHELTER, 16);
    uint8_t *frame = NULL;
    assert_true(hvn_raw_recv(&b, 5000, &r, &frame));
    assert_int_equal(r.cmd, HV_CMD_DELIVER);
    hv_envelope env;
    assert_int_equal(hv_envelope_decode(r.envelope, r.envelope_len, &env), HV_OK);
    assert_memory_equal(env.id, id, 16);
    free(frame);
    /* ...and A never did: nothing at all came on it since the refusals. */
    assert_false(hvn_raw_recv(&a, 1500, &r, NULL));
    /* A fresh handshake with A is refused by ZAP, saying why. */
    hvn_raw again;
    at = hvn_log_size(n);
    assert_int_equal(hvn_raw_open(n, old, &again), HVN_HS_REFUSED);
    hvn_raw_close(&again);
    /* (Version 2 lists no previous keys for it: A is simply unknown now.) */
    char line[128], *a_hex = hvt_hex(hv_keypair_public(old)->transport, 8);
    snprintf(line, sizeof line, "event=peer_refused reason=\"key not in the registry\" key=%s...",
             a_hex);
    free(a_hex);
    assert_true(hvn_wait_log(n, line, at, 5000));
    hvn_raw_close(&a);
    hvn_raw_close(&b);
    hv_keypair_free(&old);
    const char *cut[] = {"\"event\":\"session_cut\"", "\"by\":\"shelter.xc\""};
    assert_true(s_audit_has(w, cut, 2));
    s_audit_verify(w);
}

/* A revoked operator keeps nothing it had open: its request connection
 * gets {"error":..., "code":"HV_EAUTH"} for its next request (never the
 * result), its events stop, a fresh connection is refused at the
 * handshake; an operator still admitted watches on. */
static void revoked_operator_cut(void **state)
{
    world *w = *state;
    hvn *n = &w->net;
    hvn_raw req, ev, ev2;
    char answer[4096];
    long at = hvn_log_size(n);
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS], w->ops_ep, ZMQ_DEALER, &req), HVN_HS_OK);
    assert_true(s_ops_call(&req, "{\"cmd\":\"stats\",\"args\":{}}", answer, sizeof answer, 5000));
    assert_non_null(strstr(answer, "\"broker\":\"broker.xc\""));
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS], w->events_ep, ZMQ_SUB, &ev), HVN_HS_OK);
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS2], w->events_ep, ZMQ_SUB, &ev2), HVN_HS_OK);
    assert_true(s_event_with(&ev, "\"event\":\"welcome\"", 5000));
    assert_true(s_event_with(&ev2, "\"event\":\"welcome\"", 5000));
    assert_true(hvn_wait_log(n, "event=events_watcher_in node=ops.xc", at, 5000));
    assert_true(hvn_wait_log(n, "event=events_watcher_in node=ops2.xc", at, 5000));
    s_poke(w);
    assert_true(s_event_with(&ev, "\"event\":\"refused\"", 5000));
    assert_true(s_event_with(&ev2, "\"event\":\"refused\"", 5000));

    w->ops_revoked = true;
    at = hvn_log_size(n);
    s_reload(w, 2);
    assert_true(hvn_wait_log(n, "event=session_cut node=ops.xc door=operators "
                                "reason=\"revoked\"", at, 5000));
    assert_true(hvn_wait_log(n, "event=session_cut node=ops.xc door=events "
                                "reason=\"revoked\"", at, 5000));
    assert_true(hvn_wait_log(n, "event=events_rebound", at, 5000));
    /* The open request connection: an error, not the stats. */
    assert_true(s_ops_call(&req, "{\"cmd\":\"stats\",\"args\":{}}", answer, sizeof answer, 5000));
    assert_string_equal(answer, "{\"error\":\"this connection is no longer admitted: revoked\","
                                "\"code\":\"HV_EAUTH\"}");
    /* The admitted watcher is back by itself (a welcome again); the
     * revoked one is refused at each try. */
    assert_true(s_event_with(&ev2, "\"event\":\"welcome\"", 5000));
    assert_true(hvn_wait_log(n, "event=events_watcher_in node=ops2.xc", at, 5000));
    assert_true(hvn_wait_log(n, "event=peer_refused reason=\"revoked\"", at, 5000));
    s_poke(w);
    assert_true(s_event_with(&ev2, "\"event\":\"refused\"", 5000));
    /* No event at all for the revoked watcher after the cut. */
    char got[512];
    assert_false(s_event(&ev, got, sizeof got, 1000));
    hvn_raw_close(&ev);
    hvn_raw_close(&ev2);
    hvn_raw_close(&req);
    /* And a fresh connection: refused at the handshake. */
    hvn_raw fresh;
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS], w->ops_ep, ZMQ_DEALER, &fresh),
                     HVN_HS_REFUSED);
    hvn_raw_close(&fresh);
    const char *cut[] = {"\"event\":\"session_cut\"", "\"by\":\"ops.xc\""};
    assert_true(s_audit_has(w, cut, 2));
}

/* A node homed at another country's broker cannot use this one to skip
 * its own broker's custody and audit: ZAP refuses it, nothing is stored;
 * and a node re-homed elsewhere while connected is cut. */
static void foreign_home_refused_at_handshake(void **state)
{
    world *w = *state;
    hvn *n = &w->net;
    long at = hvn_log_size(n);
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, w->x[X_NGO_XA], &raw), HVN_HS_REFUSED);
    hvn_raw_close(&raw);
    assert_true(hvn_wait_log(n, "event=peer_refused reason=\"homed at broker.xa, not here\"",
                             at, 5000));
    assert_true(hvn_wait_log(n, "node=ngo2.xa", at, 5000));
    assert_int_equal(s_count(w, "SELECT count(*) FROM queue"), 0);
    /* Re-homed while connected: cut at the reload. */
    hvn_raw legal;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_LEGAL], &legal), HVN_HS_OK);
    hvn_raw_hello(n, &legal, HVN_LEGAL, 4);
    n->home[HVN_LEGAL] = "broker.xa";
    at = hvn_log_size(n);
    s_reload(w, 2);
    hv_control r;
    assert_true(hvn_raw_recv(&legal, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    assert_string_equal(r.text, "session cut: homed at broker.xa, not here");
    assert_true(hvn_wait_log(n, "event=session_cut node=legal.xc door=workers "
                                "reason=\"homed at broker.xa, not here\"", at, 5000));
    hvn_raw_close(&legal);
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_LEGAL], &legal), HVN_HS_REFUSED);
    hvn_raw_close(&legal);
}

/* Runs `haven ARGS...` with stderr into `err`; returns its exit status. */
static int s_haven(world *w, char *err, size_t cap, const char *args)
{
    char cmd[2048], path[400];
    snprintf(path, sizeof path, "%s/haven.err", w->net.dir);
    snprintf(cmd, sizeof cmd, "'%s' %s --authority '%s/authority.pub' --registry "
             "'%s/network.reg' --broker broker.xc >/dev/null 2>'%s'",
             s_haven_bin, args, w->net.dir, w->net.dir, path);
    int rc = system(cmd);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(err, 1, cap - 1, f);
    err[got] = '\0';
    fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Writes a node's secret key file for the haven command. */
static void s_key_file(world *w, const char *id, const hv_keypair *kp, char *path, size_t cap)
{
    uint8_t seeds[3][32];
    hv_keypair_seeds(kp, seeds[0], seeds[1], seeds[2]);
    char *h[3] = {hvt_hex(seeds[0], 32), hvt_hex(seeds[1], 32), hvt_hex(seeds[2], 32)};
    char text[1024];
    int len = snprintf(text, sizeof text,
                       "haven-secret-keys v1\nid %s\nsign-seed %s\nbox-secret %s\n"
                       "transport-secret %s\n",
                       id, h[0], h[1], h[2]);
    for (int i = 0; i < 3; i++)
        free(h[i]);
    snprintf(path, cap, "%s/%s.key", w->net.dir, id);
    hvt_write_file(path, text, (size_t)len, 0600);
}

/* Another country's operator cannot read or act on this broker: refused at
 * the handshake on both operators' sockets, and `haven` says why; once the
 * registry grants it this country's scope, it works. */
static void operator_out_of_scope_refused(void **state)
{
    world *w = *state;
    hvn *n = &w->net;
    long at = hvn_log_size(n);
    hvn_raw raw;
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS_XA], w->ops_ep, ZMQ_DEALER, &raw),
                     HVN_HS_REFUSED);
    hvn_raw_close(&raw);
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS_XA], w->events_ep, ZMQ_SUB, &raw),
                     HVN_HS_REFUSED);
    hvn_raw_close(&raw);
    assert_true(hvn_wait_log(n, "event=peer_refused reason=\"operator of XA, XC is not in its "
                                "scope\"", at, 5000));
    char key[400], args[1024], err[2048];
    s_key_file(w, "ops.xa", w->x[X_OPS_XA], key, sizeof key);
    snprintf(args, sizeof args, "stats --key '%s' --endpoint %s --timeout 2", key, w->ops_ep);
    assert_int_equal(s_haven(w, err, sizeof err, args), 1);
    assert_string_equal(err, "haven: ops.xa may act only on brokers of XA (its scope in the "
                             "registry); broker.xc is in XC (HV_EFORBIDDEN)\n");
    /* Granted: the registry lists XC in its scope. */
    w->scope_xa = "[\"XC\"]";
    s_reload(w, 2);
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS_XA], w->ops_ep, ZMQ_DEALER, &raw), HVN_HS_OK);
    char answer[4096];
    assert_true(s_ops_call(&raw, "{\"cmd\":\"stats\",\"args\":{}}", answer, sizeof answer, 5000));
    assert_non_null(strstr(answer, "\"broker\":\"broker.xc\""));
    hvn_raw_close(&raw);
    assert_int_equal(s_haven(w, err, sizeof err, args), 0);
}

/* An operator's purge leaves a trace an auditor can verify: the request,
 * its dead letter and its operator are in the broker's audit log, with the
 * listing before it, and `haven audit verify` passes. */
static void operator_actions_audited(void **state)
{
    world *w = *state;
    hvn *n = &w->net;
    /* A dead letter: the legal office refuses an offer for good. */
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, HVN_ROUTER, HVN_LEGAL, HV_MSG_OFFER, 0, &wire, &len, id);
    hv_client *router = hvn_client(n, HVN_ROUTER, "audit");
    assert_int_equal(hv_client_send(router, wire, len), HV_OK);
    free(wire);
    assert_true(hvn_wait_stored(router, 5000));
    hv_client *legal = hvn_client(n, HVN_LEGAL, "audit");
    hv_delivery *d = NULL;
    assert_int_equal(hv_client_recv(legal, 5000, &d), HV_OK);
    assert_memory_equal(d->env.id, id, 16);
    assert_int_equal(hv_client_nack(legal, &d, HV_ECRYPTO, "cannot open"), HV_OK);
    assert_int_equal(hv_client_flush(legal), HV_OK);
    hv_notice notice;
    assert_true(hvn_wait_notice(router, 5000, &notice));
    hv_client_close(&router);
    hv_client_close(&legal);
    char hex[33], request[200], answer[4096], expect[200];
    hv_hex(id, 16, hex);
    hvn_raw ops;
    assert_int_equal(hvn_raw_open_to(n, w->x[X_OPS], w->ops_ep, ZMQ_DEALER, &ops), HVN_HS_OK);
    assert_true(s_ops_call(&ops, "{\"cmd\":\"dead.list\",\"args\":{}}", answer, sizeof answer,
                           5000));
    assert_non_null(strstr(answer, hex));
    snprintf(request, sizeof request, "{\"cmd\":\"dead.purge\",\"args\":{\"id\":\"%s\"}}", hex);
    assert_true(s_ops_call(&ops, request, answer, sizeof answer, 5000));
    snprintf(expect, sizeof expect, "{\"id\":\"%s\",\"result\":\"purged\"}", hex);
    assert_string_equal(answer, expect);
    /* Purging it again: refused, and that is recorded too. */
    assert_true(s_ops_call(&ops, request, answer, sizeof answer, 5000));
    assert_non_null(strstr(answer, "\"code\":\"HV_ENOTFOUND\""));
    hvn_raw_close(&ops);
    /* The records are durable before the answers: no wait needed. */
    char subject[64];
    snprintf(subject, sizeof subject, "\"subject\":\"%s\"", hex);
    const char *listed[] = {"\"event\":\"op_dead_list_ok\"", "\"by\":\"ops.xc\""};
    const char *purged[] = {"\"event\":\"op_dead_purge_ok\"", subject, "\"by\":\"ops.xc\""};
    const char *again[] = {"\"event\":\"op_dead_purge_enotfound\"", subject,
                           "\"by\":\"ops.xc\""};
    assert_true(s_audit_has(w, listed, 2));
    assert_true(s_audit_has(w, purged, 3));
    assert_true(s_audit_has(w, again, 3));
    s_audit_verify(w);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_trust PATH_TO_HAVEN_BROKER PATH_TO_HAVEN\n");
        return 2;
    }
    s_broker_bin = argv[1];
    s_haven_bin = argv[2];
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(hv_crypto_init(), HV_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(old_key_session_cut_at_rotation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(revoked_operator_cut, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(foreign_home_refused_at_handshake, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(operator_out_of_scope_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(operator_actions_audited, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
