/* The broker as a real process on loopback, with real keys and registry:
 * who gets in, what is refused and with which code, custody and delivery.
 * usage: test_broker PATH_TO_HAVEN_BROKER */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include "hv_db.h"
#include "hv_control_batch.h"
#include "hv_net.h"

static const char *s_broker_bin;

/* Short timings so that dead peers, leases and expiry show within a test;
 * a low rate limit so that exceeding it is cheap. */
static const char s_extra[] = "[timing]\nheartbeat_ms = 300\ndead_after_ms = 1500\n"
                              "lease_ms = 2000\nretry_max_ms = 500\n"
                              "[limits]\nrate_per_second = 100\nrate_burst = 300\n";

static int s_setup(void **state)
{
    hvn *n = calloc(1, sizeof *n);
    hvn_init(n, s_broker_bin, s_extra);
    hvn_start(n);
    *state = n;
    return 0;
}

static int s_teardown(void **state)
{
    hvn *n = *state;
    assert_int_equal(hvn_signal(n, SIGTERM), 0); /* a clean stop exits 0 */
    hvn_fini(n);
    free(n);
    return 0;
}

static hvn_handshake s_try(hvn *n, const hv_keypair *keys)
{
    hvn_raw raw;
    hvn_handshake hs = hvn_raw_open(n, keys, &raw);
    hvn_raw_close(&raw);
    return hs;
}

static void test_only_registered_active_keys_get_in(void **state)
{
    hvn *n = *state;
    assert_int_equal(s_try(n, n->keys[HVN_SHELTER]), HVN_HS_OK);
    assert_int_equal(s_try(n, n->outsider), HVN_HS_REFUSED);
    assert_int_equal(s_try(n, n->keys[HVN_REVOKED]), HVN_HS_REFUSED);
    assert_int_equal(s_try(n, n->keys[HVN_EXPIRED]), HVN_HS_REFUSED);
}

/* Sends one envelope on a raw session and returns the broker's answer. */
static hv_control s_raw_answer(hvn *n, int who, const uint8_t *wire, size_t len)
{
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[who], &raw), HVN_HS_OK);
    hvn_raw_hello(n, &raw, who, 1);
    hv_control send = {.cmd = HV_CMD_SEND, .envelope = wire, .envelope_len = len};
    hvn_raw_send(&raw, &send);
    hv_control r;
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    hvn_raw_close(&raw);
    return r;
}

static void s_expect_error(hvn *n, int who, int from, int to, unsigned type, hv_err code)
{
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, from, to, type, 0, &wire, &len, id);
    hv_control r = s_raw_answer(n, who, wire, len);
    free(wire);
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, code);
    assert_true(r.has_msg_id);
    assert_memory_equal(r.msg_id, id, 16);
}

static void test_spoofed_from_is_refused(void **state)
{
    hvn *n = *state;
    /* The NGO's connection carries an envelope that claims to be the router's. */
    s_expect_error(n, HVN_NGO, HVN_ROUTER, HVN_SHELTER, HV_MSG_OFFER, HV_EAUTH);
    /* A provider claims to be the router, with its own key id, on a type
     * both roles may send: only the identity check can catch this. */
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal_as(n, HVN_SHELTER, "router.xc", HVN_NGO, HV_MSG_CANCELLED, &wire, &len, id);
    hv_control r = s_raw_answer(n, HVN_SHELTER, wire, len);
    free(wire);
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    assert_memory_equal(r.msg_id, id, 16);
}

static void test_roles_are_enforced(void **state)
{
    hvn *n = *state;
    /* Only a router sends OFFER. */
    s_expect_error(n, HVN_NGO, HVN_NGO, HVN_SHELTER, HV_MSG_OFFER, HV_EFORBIDDEN);
    /* A REFERRAL_REQUEST goes to a router, not to a provider. */
    s_expect_error(n, HVN_NGO, HVN_NGO, HVN_SHELTER, HV_MSG_REFERRAL_REQUEST, HV_EFORBIDDEN);
    /* A revoked node receives nothing. */
    s_expect_error(n, HVN_ROUTER, HVN_ROUTER, HVN_REVOKED, HV_MSG_OFFER, HV_EUNROUTABLE);
    /* Allowed: the router offers to a provider. */
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, HVN_ROUTER, HVN_CLINIC, HV_MSG_OFFER, 0, &wire, &len, id);
    hv_control r = s_raw_answer(n, HVN_ROUTER, wire, len);
    free(wire);
    assert_int_equal(r.cmd, HV_CMD_STORED);
    assert_memory_equal(r.msg_id, id, 16);
}

static void test_protocol_order_and_garbage(void **state)
{
    hvn *n = *state;
    hvn_raw raw;
    hv_control r;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_ROUTER], &raw), HVN_HS_OK);
    /* A command before HELLO. */
    hv_control hb = {.cmd = HV_CMD_CREDIT, .credit = 5};
    hvn_raw_send(&raw, &hb);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EPROTO);
    /* HELLO naming another node. */
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 1, .heartbeat_ms = 1000};
    strcpy(hello.node_id, "shelter.xc");
    hvn_raw_send(&raw, &hello);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    /* A proper session, then garbage: refused and the session closed. */
    hvn_raw_hello(n, &raw, HVN_ROUTER, 1);
    hvn_raw_send_bytes(&raw, "\x93\x01\x03\xc4", 4);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_ETRUNCATED);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_BYE);
    /* After that the peer has no session. */
    hvn_raw_send(&raw, &hb);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EPROTO);
    /* A command only a broker sends. */
    hvn_raw_hello(n, &raw, HVN_ROUTER, 1);
    hv_control stored = {.cmd = HV_CMD_STORED};
    hvn_raw_send(&raw, &stored);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.code, HV_EPROTO);
    /* A health summary is for peer brokers only (PROTOCOL.md §5.3): a
     * worker's is refused, and its session goes on. */
    static const uint8_t summary[] = {0x91, 0x01};
    hv_control health = {.cmd = HV_CMD_HEALTH, .summary = summary, .summary_len = sizeof summary};
    hvn_raw_send(&raw, &health);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EPROTO);
    assert_string_equal(r.text, "a client may not send this command");
    hvn_raw_send(&raw, &hb);
    assert_false(hvn_raw_recv(&raw, 300, &r, NULL)); /* CREDIT, accepted in silence */
    hvn_raw_close(&raw);
}

static void test_oversize_frame_drops_connection(void **state)
{
    hvn *n = *state;
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_ROUTER], &raw), HVN_HS_OK);
    hvn_raw_hello(n, &raw, HVN_ROUTER, 1);
    size_t big = HV_CONTROL_MAX + 1;
    uint8_t *junk = calloc(1, big);
    hvn_raw_send_bytes(&raw, junk, big);
    free(junk);
    assert_true(hvn_raw_disconnected(&raw, 5000));
    hvn_raw_close(&raw);
    /* The broker carries on serving. */
    assert_int_equal(s_try(n, n->keys[HVN_ROUTER]), HVN_HS_OK);
}

static void test_rate_limit(void **state)
{
    hvn *n = *state;
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_ROUTER], &raw), HVN_HS_OK);
    hvn_raw_hello(n, &raw, HVN_ROUTER, 1);
    /* 400 SENDs at once against a burst of 300. */
    for (int i = 0; i < 400; i++) {
        uint8_t *wire;
        size_t len;
        hvn_seal(n, HVN_ROUTER, HVN_CLINIC, HV_MSG_OFFER, 0, &wire, &len, NULL);
        hv_control send = {.cmd = HV_CMD_SEND, .envelope = wire, .envelope_len = len};
        hvn_raw_send(&raw, &send);
        free(wire);
    }
    int stored = 0, limited = 0;
    hv_control r;
    while (stored + limited < 400 && hvn_raw_recv(&raw, 5000, &r, NULL)) {
        if (r.cmd == HV_CMD_STORED)
            stored++;
        else if (r.cmd == HV_CMD_ERROR && r.code == HV_ERATE)
            limited++;
    }
    assert_int_equal(stored + limited, 400);
    assert_true(stored >= 300 && stored < 400);
    assert_true(limited > 0);
    hvn_raw_close(&raw);
}

/* The router offers `count` envelopes to node `to` through a client with
 * its own outbox `tag`, and returns once the broker has stored them all.
 * Their ids go to `ids`. */
static void s_router_sends(hvn *n, int to, size_t count, const char *tag, uint8_t (*ids)[16])
{
    uint8_t **wires = calloc(count, sizeof *wires);
    size_t *lens = calloc(count, sizeof *lens);
    for (size_t i = 0; i < count; i++)
        hvn_seal(n, HVN_ROUTER, to, HV_MSG_OFFER, 0, &wires[i], &lens[i], ids[i]);
    hv_client *router = hvn_client(n, HVN_ROUTER, tag);
    assert_int_equal(hv_client_send_many(router, (const uint8_t *const *)wires, lens, count),
                     HV_OK);
    assert_true(hvn_wait_stored(router, 10000));
    hv_client_close(&router);
    for (size_t i = 0; i < count; i++)
        free(wires[i]);
    free(wires);
    free(lens);
}

/* The router sends one offer for the legal office (`ttl_s`, 0 for the
 * default) through `router` and waits until the broker has stored it; its
 * id goes to `id`. */
static void s_send_stored(hvn *n, hv_client *router, uint32_t ttl_s, uint8_t id[16])
{
    uint8_t *wire;
    size_t len;
    hvn_seal(n, HVN_ROUTER, HVN_LEGAL, HV_MSG_OFFER, ttl_s, &wire, &len, id);
    assert_int_equal(hv_client_send(router, wire, len), HV_OK);
    free(wire);
    assert_true(hvn_wait_stored(router, 10000));
}

/* Receives everything for `c` until `timeout_ms` of silence; records ids. */
static size_t s_drain(hv_client *c, int timeout_ms, uint8_t (*ids)[16], size_t max)
{
    size_t got = 0;
    hv_delivery *d;
    while (hv_client_recv(c, timeout_ms, &d) == HV_OK) {
        if (got < max)
            memcpy(ids[got], d->env.id, 16);
        got++;
        assert_int_equal(hv_client_ack(c, &d), HV_OK);
    }
    assert_int_equal(hv_client_flush(c), HV_OK);
    return got;
}

static void test_duplicates_delivered_once(void **state)
{
    hvn *n = *state;
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, HVN_ROUTER, HVN_LEGAL, HV_MSG_OFFER, 0, &wire, &len, id);
    /* The same SEND three times: STORED each time, stored once. */
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_ROUTER], &raw), HVN_HS_OK);
    hvn_raw_hello(n, &raw, HVN_ROUTER, 1);
    hv_control send = {.cmd = HV_CMD_SEND, .envelope = wire, .envelope_len = len};
    for (int i = 0; i < 3; i++) {
        hvn_raw_send(&raw, &send);
        hv_control r;
        assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
        assert_int_equal(r.cmd, HV_CMD_STORED);
        assert_memory_equal(r.msg_id, id, 16);
    }
    hvn_raw_close(&raw);
    free(wire);
    hv_client *legal = hvn_client(n, HVN_LEGAL, "dup");
    uint8_t got[4][16];
    assert_int_equal(s_drain(legal, 1500, got, 4), 1);
    assert_memory_equal(got[0], id, 16);
    hv_client_close(&legal);
}

static void test_offline_recipient_gets_everything_in_order(void **state)
{
    hvn *n = *state;
    enum { N = 200 };
    static uint8_t sent[N][16], got[N + 8][16];
    s_router_sends(n, HVN_SHELTER, N, "order", sent);
    /* The shelter was offline all along; now it connects. */
    hv_client *shelter = hvn_client(n, HVN_SHELTER, "order");
    assert_int_equal(s_drain(shelter, 1500, got, N + 8), N);
    for (int i = 0; i < N; i++)
        assert_memory_equal(got[i], sent[i], 16);
    hv_client_close(&shelter);
}

static void test_ttl_expiry_reports_expired(void **state)
{
    hvn *n = *state;
    hv_client *router = hvn_client(n, HVN_ROUTER, "ttl");
    uint8_t id[16];
    s_send_stored(n, router, 1, id);
    hv_notice notice;
    assert_true(hvn_wait_notice(router, 5000, &notice));
    assert_int_equal(notice.code, HV_EEXPIRED);
    assert_memory_equal(notice.id, id, 16);
    hv_client_close(&router);
    /* The recipient, connecting later, gets nothing. */
    hv_client *legal = hvn_client(n, HVN_LEGAL, "ttl");
    uint8_t got[1][16];
    assert_int_equal(s_drain(legal, 1000, got, 1), 0);
    hv_client_close(&legal);
}

static void test_dead_recipient_gets_redelivery(void **state)
{
    hvn *n = *state;
    uint8_t ids[1][16], *id = ids[0];
    s_router_sends(n, HVN_CLINIC, 1, "dead", ids);
    /* A clinic session takes deliveries without acknowledging, then goes
     * silent (no heartbeats). Earlier tests left other offers queued too. */
    hvn_raw raw;
    long log_at = hvn_log_size(n);
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_CLINIC], &raw), HVN_HS_OK);
    hvn_raw_hello(n, &raw, HVN_CLINIC, 1000);
    hv_control r;
    uint8_t *frame = NULL;
    bool seen_first = false;
    while (!seen_first && hvn_raw_recv(&raw, 5000, &r, &frame)) {
        assert_int_equal(r.cmd, HV_CMD_DELIVER);
        hv_envelope env;
        assert_int_equal(hv_envelope_decode(r.envelope, r.envelope_len, &env), HV_OK);
        seen_first = memcmp(env.id, id, 16) == 0;
        assert_int_equal(r.attempt, 1);
        free(frame);
    }
    assert_true(seen_first);
    /* The broker declares the silent session dead (1.5 s without a frame)... */
    assert_true(hvn_wait_log(n, "node=clinic.xc reason=\"heartbeats stopped\"", log_at, 5000));
    /* ...and a new session gets the message again. */
    int64_t t0 = hv_mono_ms();
    hv_client *clinic = hvn_client(n, HVN_CLINIC, "dead");
    hv_delivery *d = NULL;
    bool again = false;
    while (!again && hv_client_recv(clinic, 5000, &d) == HV_OK) {
        again = memcmp(d->env.id, id, 16) == 0;
        if (again)
            assert_true(d->attempt >= 2);
        assert_int_equal(hv_client_ack(clinic, &d), HV_OK);
    }
    assert_true(again);
    assert_true(hv_mono_ms() - t0 < 5000);
    assert_int_equal(hv_client_flush(clinic), HV_OK);
    hv_client_close(&clinic);
    hvn_raw_close(&raw);
}

static void test_nack_goes_to_dead_letters_and_sender_hears(void **state)
{
    hvn *n = *state;
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, HVN_ROUTER, HVN_LEGAL, HV_MSG_OFFER, 0, &wire, &len, id);
    hv_client *router = hvn_client(n, HVN_ROUTER, "nack");
    assert_int_equal(hv_client_send(router, wire, len), HV_OK);
    free(wire);
    assert_true(hvn_wait_stored(router, 5000));
    /* The provider cannot use it and refuses it for good. */
    hv_client *legal = hvn_client(n, HVN_LEGAL, "nack");
    hv_delivery *d = NULL;
    bool found = false;
    while (!found && hv_client_recv(legal, 3000, &d) == HV_OK) {
        found = memcmp(d->env.id, id, 16) == 0;
        if (found)
            assert_int_equal(hv_client_nack(legal, &d, HV_ECRYPTO, "cannot open"), HV_OK);
        else
            assert_int_equal(hv_client_ack(legal, &d), HV_OK);
    }
    assert_true(found);
    assert_int_equal(hv_client_flush(legal), HV_OK);
    /* The sender is told, with the recipient's code and words. */
    hv_notice notice;
    assert_true(hvn_wait_notice(router, 5000, &notice));
    assert_int_equal(notice.code, HV_ECRYPTO);
    assert_memory_equal(notice.id, id, 16);
    assert_string_equal(notice.text, "refused by legal.xc: cannot open");
    /* And it is not delivered again. */
    assert_int_equal(hv_client_recv(legal, 1000, &d), HV_ETIMEOUT);
    hv_client_close(&router);
    hv_client_close(&legal);
}

static void test_sigkill_keeps_what_was_stored(void **state)
{
    hvn *n = *state;
    enum { N = 50 };
    static uint8_t sent[N][16], got[N + 4][16];
    s_router_sends(n, HVN_LEGAL, N, "kill", sent);
    assert_int_equal(hvn_signal(n, SIGKILL), -SIGKILL);
    hvn_start(n);
    hv_client *legal = hvn_client(n, HVN_LEGAL, "kill");
    assert_int_equal(s_drain(legal, 1500, got, N + 4), N);
    for (int i = 0; i < N; i++)
        assert_memory_equal(got[i], sent[i], 16);
    hv_client_close(&legal);
}

static void test_outbox_survives_broker_outage(void **state)
{
    hvn *n = *state;
    assert_int_equal(hvn_signal(n, SIGTERM), 0);
    /* The broker is down: sending still succeeds locally. */
    hv_client *router = hvn_client(n, HVN_ROUTER, "outage");
    uint8_t *wire, id[16];
    size_t len;
    hvn_seal(n, HVN_ROUTER, HVN_LEGAL, HV_MSG_OFFER, 0, &wire, &len, id);
    assert_int_equal(hv_client_send(router, wire, len), HV_OK);
    free(wire);
    assert_int_equal(hv_client_poll(router, 200), HV_OK);
    assert_int_equal(hv_client_outbox_size(router), 1);
    /* The sender restarts too; the outbox is on disk. */
    hv_client_close(&router);
    hvn_start(n);
    router = hvn_client(n, HVN_ROUTER, "outage");
    assert_true(hvn_wait_stored(router, 10000));
    hv_client_close(&router);
    hv_client *legal = hvn_client(n, HVN_LEGAL, "outage");
    uint8_t got[2][16];
    assert_int_equal(s_drain(legal, 1500, got, 2), 1);
    assert_memory_equal(got[0], id, 16);
    hv_client_close(&legal);
}

/* Counts rows through a connection of its own, which sees only what the
 * client has committed. */
static int s_committed_rows(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int rows = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

/* Makes a table of the application's own in the store of `c`; returns the
 * store's handle. */
static sqlite3 *s_app_table(hv_client *c)
{
    sqlite3 *db = hv_client_db(c);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE app (v INTEGER)", NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

/* Polls `c` until its store at `path` has committed an empty outbox, for at
 * most 2 s. */
static void s_wait_outbox_committed_empty(hv_client *c, const char *path)
{
    int64_t deadline = hv_mono_ms() + 2000;
    while (s_committed_rows(path, "outbox") > 0 && hv_mono_ms() < deadline)
        assert_int_equal(hv_client_poll(c, 10), HV_OK);
    assert_int_equal(s_committed_rows(path, "outbox"), 0);
}

/* The client commits its own bookkeeping (the outbox row of an envelope
 * the broker has STORED) with a later commit or a few milliseconds after;
 * an application that abandons its transaction meanwhile abandons only its
 * own changes. */
static void test_application_rollback_keeps_the_clients_own_work(void **state)
{
    hvn *n = *state;
    char path[400];
    hvn_store_path(n, HVN_ROUTER, "rollback", path, sizeof path);
    hv_client *router = hvn_client(n, HVN_ROUTER, "rollback");
    sqlite3 *db = s_app_table(router);
    uint8_t id[16];
    s_send_stored(n, router, 0, id);
    assert_int_equal(hv_client_begin(router), HV_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO app VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
    hv_client_rollback(router);
    s_wait_outbox_committed_empty(router, path);
    assert_int_equal(s_committed_rows(path, "app"), 0);
    hv_client_close(&router);
    assert_int_equal(s_committed_rows(path, "outbox"), 0);
}

/* Outside an application transaction, while the client's own one is
 * open, queueing is refused and a rollback has nothing to abandon. */
static void test_queue_and_rollback_need_the_applications_transaction(void **state)
{
    hvn *n = *state;
    char path[400];
    hvn_store_path(n, HVN_ROUTER, "outside", path, sizeof path);
    hv_client *router = hvn_client(n, HVN_ROUTER, "outside");
    uint8_t *wire, id[16];
    size_t len;
    s_send_stored(n, router, 0, id);
    hvn_seal(n, HVN_ROUTER, HVN_LEGAL, HV_MSG_OFFER, 0, &wire, &len, id);
    assert_int_equal(hv_client_queue(router, wire, len), HV_EINVAL);
    free(wire);
    hv_client_rollback(router);
    s_wait_outbox_committed_empty(router, path);
    hv_client_close(&router);
}

/* Inside the application's transaction the client commits nothing of its
 * own accord, even once its acknowledgements have waited past their group
 * commit: the application's changes and the ACK commit together, when the
 * application says so. */
static void test_polling_leaves_the_applications_transaction_open(void **state)
{
    hvn *n = *state;
    char path[400];
    hvn_store_path(n, HVN_LEGAL, "held", path, sizeof path);
    hv_client *legal = hvn_client(n, HVN_LEGAL, "held");
    hv_client *router = hvn_client(n, HVN_ROUTER, "held");
    sqlite3 *db = s_app_table(legal);
    uint8_t id[16];
    s_send_stored(n, router, 0, id);
    /* Offers earlier tests left for the legal office come first. */
    hv_delivery *d = NULL;
    while (d == NULL) {
        assert_int_equal(hv_client_recv(legal, 10000, &d), HV_OK);
        if (memcmp(d->env.id, id, 16) != 0)
            assert_int_equal(hv_client_ack(legal, &d), HV_OK);
    }
    assert_int_equal(hv_client_flush(legal), HV_OK);
    int seen = s_committed_rows(path, "seen");
    assert_int_equal(hv_client_begin(legal), HV_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO app VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(hv_client_ack(legal, &d), HV_OK);
    /* Four times the client's group-commit wait. */
    int64_t until = hv_mono_ms() + 20;
    while (hv_mono_ms() < until)
        assert_int_equal(hv_client_poll(legal, 5), HV_OK);
    assert_int_equal(s_committed_rows(path, "app"), 0);
    assert_int_equal(s_committed_rows(path, "seen"), seen);
    assert_int_equal(hv_client_commit(legal), HV_OK);
    assert_int_equal(s_committed_rows(path, "app"), 1);
    assert_int_equal(s_committed_rows(path, "seen"), seen + 1);
    hv_client_close(&router);
    hv_client_close(&legal);
}

static void test_second_hello_restarts_delivery(void **state)
{
    hvn *n = *state;
    /* Start from an empty queue for the legal office. */
    hv_client *legal = hvn_client(n, HVN_LEGAL, "rehello");
    uint8_t none[1][16];
    s_drain(legal, 1000, none, 0);
    hv_client_close(&legal);
    uint8_t ids[1][16], *id = ids[0];
    s_router_sends(n, HVN_LEGAL, 1, "rehello", ids);
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_LEGAL], &raw), HVN_HS_OK);
    hv_control r;
    uint8_t *frame = NULL;
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        hvn_raw_hello(n, &raw, HVN_LEGAL, 4);
        assert_true(hvn_raw_recv(&raw, 5000, &r, &frame));
        assert_int_equal(r.cmd, HV_CMD_DELIVER);
        assert_int_equal(r.attempt, attempt);
        hv_envelope env;
        assert_int_equal(hv_envelope_decode(r.envelope, r.envelope_len, &env), HV_OK);
        assert_memory_equal(env.id, id, 16);
        free(frame);
    }
    hv_control ack = {.cmd = HV_CMD_ACK};
    memcpy(ack.msg_id, id, 16);
    hvn_raw_send(&raw, &ack);
    /* Delivered once per HELLO, and never again once acknowledged. */
    assert_false(hvn_raw_recv(&raw, 1000, &r, NULL));
    hvn_raw_close(&raw);
}

/* Whether `id` is one of the `n` ids of `ids`. */
static bool s_among(uint8_t (*ids)[16], size_t n, const uint8_t id[16])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(ids[i], id, 16) == 0)
            return true;
    return false;
}

/* Several receivers connected at once, the router's offers interleaved
 * among them: each gets its own, every one of them, in the order sent, and
 * none of another's. Half-way a second connection of the intake replaces
 * its first, which moves the last session into the dropped one's place in
 * the broker's table (and makes its index be built again): the rest still
 * goes to the right sessions, in order (issue 24's fan-out). */
static void test_receivers_online_together_each_get_theirs_in_order(void **state)
{
    hvn *n = *state;
    enum { R = 3, ROUNDS = 2, PER_ROUND = 60 };
    static const int who[R] = {HVN_SHELTER, HVN_LEGAL, HVN_CLINIC};
    static uint8_t want[R][ROUNDS * PER_ROUND][16];
    size_t n_want[R] = {0}, got[R] = {0};
    hvn_raw first, second;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_NGO], &first), HVN_HS_OK);
    hvn_raw_hello(n, &first, HVN_NGO, 1); /* READY checked there */
    hv_client *router = hvn_client(n, HVN_ROUTER, "together");
    assert_int_equal(hv_client_wait_ready(router, 10000), HV_OK);
    hv_client *c[R];
    for (int k = 0; k < R; k++) {
        c[k] = hvn_client(n, who[k], "together");
        assert_int_equal(hv_client_wait_ready(c[k], 10000), HV_OK);
    }
    for (int round = 0; round < ROUNDS; round++) {
        if (round == 1) {
            /* The intake again: its old session is dropped, the new one
             * takes its place in the table. */
            long at = hvn_log_size(n);
            assert_int_equal(hvn_raw_open(n, n->keys[HVN_NGO], &second), HVN_HS_OK);
            hvn_raw_hello(n, &second, HVN_NGO, 1);
            assert_true(hvn_wait_log(n, "replaced by a new connection", at, 5000));
            /* The router goes, and the last receiver's session moves into
             * its place; a new router session comes last. */
            at = hvn_log_size(n);
            assert_true(hvn_wait_stored(router, 10000));
            hv_client_close(&router);
            assert_true(hvn_wait_log(n, "node=router.xc reason=", at, 5000));
            router = hvn_client(n, HVN_ROUTER, "together");
            assert_int_equal(hv_client_wait_ready(router, 10000), HV_OK);
        }
        uint8_t *wires[PER_ROUND];
        size_t lens[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++) {
            int k = (i * 7 + round) % R; /* not a plain rotation */
            hvn_seal(n, HVN_ROUTER, who[k], HV_MSG_OFFER, 0, &wires[i], &lens[i],
                     want[k][n_want[k]]);
            n_want[k]++;
        }
        assert_int_equal(hv_client_send_many(router, (const uint8_t *const *)wires, lens,
                                             PER_ROUND),
                         HV_OK);
        for (int i = 0; i < PER_ROUND; i++)
            free(wires[i]);
        /* All three receive as the offers arrive, each checked in turn. */
        size_t done = 0, total = (size_t)(round + 1) * PER_ROUND;
        for (int idle = 0, pass = 0; done < total && idle < 500; pass++) {
            bool any = false;
            assert_int_equal(hv_client_poll(router, 0), HV_OK);
            if (pass % 50 == 0) { /* the intake's first session stays until replaced */
                hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
                hvn_raw_send(&first, &hb);
            }
            for (int k = 0; k < R; k++) {
                hv_delivery *d;
                if (hv_client_recv(c[k], 5, &d) != HV_OK)
                    continue;
                any = true;
                if (!s_among(want[k], n_want[k], d->env.id)) {
                    /* Left in its queue by an earlier test: older, so it
                     * comes before any of these. */
                    assert_int_equal(got[k], 0);
                    assert_int_equal(hv_client_ack(c[k], &d), HV_OK);
                    continue;
                }
                assert_true(got[k] < n_want[k]);
                assert_memory_equal(d->env.id, want[k][got[k]], 16);
                got[k]++;
                done++;
                assert_int_equal(hv_client_ack(c[k], &d), HV_OK);
            }
            idle = any ? 0 : idle + 1;
        }
        for (int k = 0; k < R; k++)
            assert_int_equal(got[k], n_want[k]);
    }
    /* Nothing more for anyone. */
    for (int k = 0; k < R; k++) {
        hv_delivery *d;
        assert_int_equal(hv_client_recv(c[k], 300, &d), HV_ETIMEOUT);
        assert_int_equal(hv_client_flush(c[k]), HV_OK);
        hv_client_close(&c[k]);
    }
    hv_client_close(&router);
    hvn_raw_close(&second);
    hvn_raw_close(&first);
}

/* BATCH (PROTOCOL.md §5.7): only to a HELLO that asked for it; SENDs in one
 * frame are each STORED, the STOREDs of one commit coming back in one
 * BATCH; a command that may not be batched is garbage. A HELLO without
 * features gets the READY of before. */
static void test_batch_is_negotiated(void **state)
{
    hvn *n = *state;
    hvn_raw raw;
    hv_control r;
    uint8_t *frame = NULL;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_ROUTER], &raw), HVN_HS_OK);
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 64, .heartbeat_ms = 1000};
    strcpy(hello.node_id, n->ids[HVN_ROUTER]);
    hvn_raw_send(&raw, &hello);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_READY);
    assert_false(r.has_features);
    hello.has_features = true;
    hello.features = HV_FEATURE_BATCH | 0x8000; /* a bit it does not know is not granted */
    hvn_raw_send(&raw, &hello);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_READY);
    assert_true(r.has_features);
    assert_int_equal(r.features, HV_FEATURE_BATCH);

    enum { S_N = 3 };
    uint8_t *wire[S_N], ids[S_N][16];
    size_t lens[S_N];
    hv_control_batch batch = {0};
    for (int i = 0; i < S_N; i++) {
        hvn_seal(n, HVN_ROUTER, HVN_CLINIC, HV_MSG_OFFER, 0, &wire[i], &lens[i], ids[i]);
        hv_control send = {.cmd = HV_CMD_SEND, .envelope = wire[i], .envelope_len = lens[i]};
        assert_int_equal(hv_control_batch_add(&batch, &send, HV_CONTROL_BATCH_BYTES), HV_OK);
    }
    const uint8_t *bytes;
    size_t len;
    hv_control_batch_frame(&batch, &bytes, &len);
    hvn_raw_send_bytes(&raw, bytes, len);
    hv_control_batch_free(&batch);
    /* Each id STORED once, in order, whether in one BATCH or several (a
     * DELIVER of what earlier tests left for the router may come too). */
    int stored = 0;
    while (stored < S_N) {
        assert_true(hvn_raw_recv(&raw, 5000, &r, &frame));
        if (r.cmd == HV_CMD_STORED) {
            assert_memory_equal(r.msg_id, ids[stored], 16);
            stored++;
        } else if (r.cmd == HV_CMD_BATCH) {
            hv_control_parts it;
            const uint8_t *part;
            size_t part_len;
            hv_control one;
            hv_control_parts_init(&it, &r);
            while (hv_control_parts_next(&it, &part, &part_len)) {
                assert_int_equal(hv_control_decode(part, part_len, &one), HV_OK);
                if (one.cmd == HV_CMD_DELIVER)
                    continue;
                assert_int_equal(one.cmd, HV_CMD_STORED);
                assert_true(stored < S_N);
                assert_memory_equal(one.msg_id, ids[stored], 16);
                stored++;
            }
        } else {
            assert_int_equal(r.cmd, HV_CMD_DELIVER);
        }
        free(frame);
        frame = NULL;
    }
    for (int i = 0; i < S_N; i++)
        free(wire[i]);
    /* Two HEARTBEATs inside a BATCH: garbage, the session closes. */
    static const uint8_t bad[] = {0x93, 0x01, HV_CMD_BATCH, 0x92, 0xc4, 0x03, 0x92, 0x01,
                                  HV_CMD_HEARTBEAT, 0xc4, 0x03, 0x92, 0x01, HV_CMD_HEARTBEAT};
    hvn_raw_send_bytes(&raw, bad, sizeof bad);
    do {
        assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    } while (r.cmd == HV_CMD_DELIVER || r.cmd == HV_CMD_BATCH);
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EDECODE);
    assert_false(r.has_msg_id);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_BYE);
    hvn_raw_close(&raw);
}

/* Raw HELLO as `who` with `replay_since`; expects READY. */
static void s_hello_replay(hvn *n, hvn_raw *raw, int who, uint64_t since)
{
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 64, .heartbeat_ms = 1000,
                        .replay_since = since};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", n->ids[who]);
    hvn_raw_send(raw, &hello);
    hv_control r;
    assert_true(hvn_raw_recv(raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_READY);
}

/* Receives up to `max` DELIVERs (ids into `ids`), acknowledging each,
 * until `quiet_ms` pass without one. Returns how many. */
static size_t s_raw_drain(hvn_raw *raw, int quiet_ms, uint8_t (*ids)[16], size_t max)
{
    size_t got = 0;
    hv_control r;
    uint8_t *frame = NULL;
    while (hvn_raw_recv(raw, quiet_ms, &r, &frame)) {
        assert_int_equal(r.cmd, HV_CMD_DELIVER);
        hv_envelope env;
        assert_int_equal(hv_envelope_decode(r.envelope, r.envelope_len, &env), HV_OK);
        if (got < max)
            memcpy(ids[got], env.id, 16);
        got++;
        hv_control ack = {.cmd = HV_CMD_ACK};
        memcpy(ack.msg_id, env.id, 16);
        hvn_raw_send(raw, &ack);
        free(frame);
        frame = NULL;
    }
    return got;
}

/* Counts rows of the broker's store, through a connection of our own. */
static int s_store_count(hvn *n, const char *sql)
{
    char path[400];
    snprintf(path, sizeof path, "%s/broker.db", n->dir);
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

/* What a node acknowledged stays in the replay window: a HELLO with
 * replay_since has it delivered again, in the original order, exactly what
 * was acknowledged since then; asking again gives nothing more. */
static void test_replay_since_delivers_again_in_order(void **state)
{
    hvn *n = *state;
    hv_client *legal = hvn_client(n, HVN_LEGAL, "replay");
    uint8_t none[1][16];
    s_drain(legal, 1000, none, 0);
    int64_t since = hv_now_ms();
    enum { N = 5 };
    uint8_t sent[N][16], got[N + 4][16];
    s_router_sends(n, HVN_LEGAL, N, "replay", sent);
    assert_int_equal(s_drain(legal, 1500, got, N), N);
    hv_client_close(&legal);

    long log_at = hvn_log_size(n);
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_LEGAL], &raw), HVN_HS_OK);
    s_hello_replay(n, &raw, HVN_LEGAL, (uint64_t)since);
    assert_true(hvn_wait_log(n, "event=replay node=legal.xc", log_at, 5000));
    assert_int_equal(s_raw_drain(&raw, 2000, got, N + 4), N);
    for (int i = 0; i < N; i++)
        assert_memory_equal(got[i], sent[i], 16);
    /* They left the window when replayed and came back with their ACK:
     * asked once more, they come once more, and no others. */
    s_hello_replay(n, &raw, HVN_LEGAL, (uint64_t)since);
    assert_int_equal(s_raw_drain(&raw, 2000, got, N + 4), N);
    /* From now on: nothing was acknowledged since. */
    s_hello_replay(n, &raw, HVN_LEGAL, (uint64_t)hv_now_ms() + 1000);
    assert_int_equal(s_raw_drain(&raw, 2000, got, N + 4), 0);
    hvn_raw_close(&raw);
}

/* HELLO is bound to the authenticated key: a node asking for another
 * node's replay is refused before anything is requeued, and its own
 * replay holds only its own mail. */
static void test_replay_of_another_nodes_mail_is_refused(void **state)
{
    hvn *n = *state;
    hv_client *legal = hvn_client(n, HVN_LEGAL, "replay-other");
    uint8_t none[1][16];
    s_drain(legal, 1000, none, 0);
    uint8_t sent[2][16];
    s_router_sends(n, HVN_LEGAL, 2, "replay-other", sent);
    uint8_t got[4][16];
    assert_int_equal(s_drain(legal, 1500, got, 4), 2);
    hv_client_close(&legal);
    int kept = s_store_count(n, "SELECT count(*) FROM delivered WHERE recipient = 'legal.xc'");
    assert_true(kept >= 2);

    /* The router names the legal office in its HELLO. */
    hvn_raw raw;
    hv_control r;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_ROUTER], &raw), HVN_HS_OK);
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 64, .heartbeat_ms = 1000,
                        .replay_since = 1};
    strcpy(hello.node_id, "legal.xc");
    hvn_raw_send(&raw, &hello);
    assert_true(hvn_raw_recv(&raw, 5000, &r, NULL));
    assert_int_equal(r.cmd, HV_CMD_ERROR);
    assert_int_equal(r.code, HV_EAUTH);
    assert_int_equal(s_store_count(n, "SELECT count(*) FROM delivered WHERE recipient = "
                                      "'legal.xc'"),
                     kept);
    assert_int_equal(s_store_count(n, "SELECT count(*) FROM queue WHERE recipient = 'legal.xc'"),
                     0);
    /* Its own replay: none of the legal office's mail. */
    s_hello_replay(n, &raw, HVN_ROUTER, 1);
    assert_int_equal(s_raw_drain(&raw, 2000, got, 4), 0);
    hvn_raw_close(&raw);
}

/* The window is the limit: acknowledgements older than replay_hours are
 * not replayed, however early replay_since asks, and the pruning timer
 * forgets them. (Their ACK time is moved back in the store, standing for
 * 73 hours of waiting.) */
static void test_replay_after_the_window_gives_nothing(void **state)
{
    hvn *n = *state;
    hv_client *legal = hvn_client(n, HVN_LEGAL, "replay-old");
    uint8_t none[1][16];
    s_drain(legal, 1000, none, 0);
    uint8_t sent[3][16], got[4][16];
    s_router_sends(n, HVN_LEGAL, 3, "replay-old", sent);
    assert_int_equal(s_drain(legal, 1500, got, 4), 3);
    hv_client_close(&legal);
    int64_t old = hv_now_ms() - 73LL * 3600 * 1000;
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE delivered SET acked_ms = %lld WHERE recipient = "
             "'legal.xc' RETURNING 1", (long long)old);
    /* RETURNING makes the UPDATE a statement with a row: s_store_count. */
    assert_int_equal(s_store_count(n, sql), 1);
    hvn_raw raw;
    assert_int_equal(hvn_raw_open(n, n->keys[HVN_LEGAL], &raw), HVN_HS_OK);
    long log_at = hvn_log_size(n);
    s_hello_replay(n, &raw, HVN_LEGAL, 1);
    assert_true(hvn_wait_log(n, "event=replay node=legal.xc since_ms=1 ", log_at, 5000));
    assert_true(hvn_wait_log(n, "count=0", log_at, 5000));
    assert_int_equal(s_raw_drain(&raw, 2000, got, 4), 0);
    hvn_raw_close(&raw);
    /* Pruned within a few timer passes. */
    int left = -1;
    for (int i = 0; i < 500 && left != 0; i++) { /* 10 s */
        left = s_store_count(n, "SELECT count(*) FROM delivered WHERE recipient = 'legal.xc'");
        if (left != 0)
            usleep(20 * 1000); /* polling a condition, with a deadline */
    }
    assert_int_equal(left, 0);
}

static void test_sighup_cuts_off_a_revoked_node(void **state)
{
    hvn *n = *state;
    hv_client *shelter = hvn_client(n, HVN_SHELTER, "hup");
    assert_int_equal(hv_client_wait_ready(shelter, 5000), HV_OK);
    uint8_t sent[2][16], got[4][16];
    s_router_sends(n, HVN_SHELTER, 2, "hup", sent);
    s_drain(shelter, 1500, got, 4);
    assert_true(s_store_count(n, "SELECT count(*) FROM delivered WHERE recipient = "
                                 "'shelter.xc'") >= 2);
    long loaded_at = hvn_log_size(n);
    hvn_write_registry(n, n->registry_version + 1, HVN_SHELTER);
    hvn_signal(n, SIGHUP);
    assert_true(hvn_wait_log(n, "event=registry_loaded version=2", loaded_at, 5000));
    /* A revoked node's replay window is deleted at the reload. */
    assert_true(hvn_wait_log(n, "event=replay_forgotten node=shelter.xc reason=inactive",
                             loaded_at, 5000));
    assert_int_equal(s_store_count(n, "SELECT count(*) FROM delivered WHERE recipient = "
                                      "'shelter.xc'"),
                     0);
    hv_notice notice;
    assert_true(hvn_wait_notice(shelter, 5000, &notice));
    assert_int_equal(notice.code, HV_EAUTH);
    hv_client_close(&shelter);
    assert_int_equal(s_try(n, n->keys[HVN_SHELTER]), HVN_HS_REFUSED);
    /* An older registry is not accepted on reload. */
    long log_at = hvn_log_size(n);
    hvn_write_registry(n, 1, -1);
    hvn_signal(n, SIGHUP);
    assert_true(hvn_wait_log(n, "event=registry_reload_refused reason=HV_EREG_ROLLBACK", log_at,
                             5000));
    assert_int_equal(s_try(n, n->keys[HVN_SHELTER]), HVN_HS_REFUSED);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_broker PATH_TO_HAVEN_BROKER\n");
        return 2;
    }
    s_broker_bin = argv[1];
    /* HV_TEST_FILTER: only the tests whose names match (cmocka's pattern),
     * to run one test many times. */
    if (getenv("HV_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("HV_TEST_FILTER"));
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(hv_crypto_init(), HV_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_registered_active_keys_get_in),
        cmocka_unit_test(test_spoofed_from_is_refused),
        cmocka_unit_test(test_roles_are_enforced),
        cmocka_unit_test(test_protocol_order_and_garbage),
        cmocka_unit_test(test_batch_is_negotiated),
        cmocka_unit_test(test_oversize_frame_drops_connection),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_duplicates_delivered_once),
        cmocka_unit_test(test_offline_recipient_gets_everything_in_order),
        cmocka_unit_test(test_ttl_expiry_reports_expired),
        cmocka_unit_test(test_dead_recipient_gets_redelivery),
        cmocka_unit_test(test_nack_goes_to_dead_letters_and_sender_hears),
        cmocka_unit_test(test_sigkill_keeps_what_was_stored),
        cmocka_unit_test(test_outbox_survives_broker_outage),
        cmocka_unit_test(test_application_rollback_keeps_the_clients_own_work),
        cmocka_unit_test(test_queue_and_rollback_need_the_applications_transaction),
        cmocka_unit_test(test_polling_leaves_the_applications_transaction_open),
        cmocka_unit_test(test_second_hello_restarts_delivery),
        cmocka_unit_test(test_replay_since_delivers_again_in_order),
        cmocka_unit_test(test_replay_of_another_nodes_mail_is_refused),
        cmocka_unit_test(test_replay_after_the_window_gives_nothing),
        cmocka_unit_test(test_receivers_online_together_each_get_theirs_in_order),
        cmocka_unit_test(test_sighup_cuts_off_a_revoked_node), /* revokes the shelter: last */
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
