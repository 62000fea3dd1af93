/* Client side of the broker protocol; see hv_client.h. */
#include "hv_client.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hv_control.h"
#include "hv_control_batch.h"
#include "hv_db.h"
#include "hv_log.h"

#define S_OUT_MAX 2048      /* outbox entries tracked in memory at once */
#define S_NOTICES_MAX 1024  /* notices kept until the application reads them */
#define S_SEEN_DAYS 31      /* seen ids outlive any message's TTL */
/* An ACK waits for its group commit at most S_GROUP_MS, or until S_GROUP_MAX
 * are waiting. The client's own bookkeeping (deleting the outbox row of an
 * envelope the broker has STORED, forgetting old seen ids) needs no fsync
 * of its own: lost in a crash, a row is sent again and the broker answers
 * STORED again without storing it twice. It rides in the next commit (the
 * next send, usually), or is committed after S_GROUP_MS: one fsync per
 * round of sending instead of two. */
#define S_GROUP_MS 5
#define S_GROUP_MAX 256
/* Three 2 KiB envelopes a page instead of one (a 4 KiB page holds one
 * 2,042-byte row and wastes the rest): fewer pages written per envelope,
 * and a run of STOREDs frees whole pages. Measured with haven-bench, two
 * senders: 16.1-16.6k/s with 4 KiB pages, 19.4-19.5k/s with 8 KiB, 17.8-18.6k/s
 * with 16 KiB. Applies to new stores only. */
#define S_PAGE_SIZE 8192

static const char s_schema[] =
    /* AUTOINCREMENT: seq must never be reused, the loader keeps a cursor on it. */
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id BLOB NOT NULL UNIQUE,"
    "  envelope BLOB NOT NULL, queued_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS seen (id BLOB PRIMARY KEY, until_ms INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS seen_until ON seen(until_ms);"
    /* Written by `haven restore` (cli/hv_cli_backup.c): this store was
     * restored from a backup, and the broker is to send again what it
     * delivered since (HELLO's replay_since). Cleared once READY came. */
    "CREATE TABLE IF NOT EXISTS replay_request (since_ms INTEGER NOT NULL);";

enum {
    S_BEGIN,
    S_COMMIT,
    S_OUT_PUT,
    S_OUT_LOAD,
    S_OUT_GET,
    S_OUT_DEL,
    S_SEEN_GET,
    S_SEEN_PUT,
    S_SEEN_PRUNE,
    S_OUT_COUNT,
    S_OUT_HAS,
    S_REPLAY_GET,
    S_REPLAY_DONE,
    S_COUNT
};

static const char *const s_sql[S_COUNT] = {
    [S_REPLAY_GET] = "SELECT min(since_ms) FROM replay_request",
    [S_REPLAY_DONE] = "DELETE FROM replay_request",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_OUT_PUT] = "INSERT OR IGNORE INTO outbox (id, envelope, queued_ms) VALUES (?1, ?2, ?3)",
    [S_OUT_LOAD] = "SELECT seq, id FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [S_OUT_GET] = "SELECT envelope FROM outbox WHERE seq = ?1",
    [S_OUT_DEL] = "DELETE FROM outbox WHERE id = ?1",
    [S_SEEN_GET] = "SELECT 1 FROM seen WHERE id = ?1",
    [S_SEEN_PUT] = "INSERT OR IGNORE INTO seen (id, until_ms) VALUES (?1, ?2)",
    [S_SEEN_PRUNE] = "DELETE FROM seen WHERE until_ms < ?1",
    [S_OUT_COUNT] = "SELECT count(*) FROM outbox",
    [S_OUT_HAS] = "SELECT 1 FROM outbox WHERE id = ?1",
};

/* An outbox entry being sent. */
typedef struct s_out {
    int64_t seq;     /* outbox row */
    uint8_t id[16];  /* message id */
    int64_t sent;    /* monotonic ms of the last SEND, 0 = not sent on this connection */
} s_out;

/* An envelope put in the outbox by hv_client_send_many in the open
 * transaction: after the commit it is sent from the caller's memory
 * instead of being read back from the store. */
typedef struct s_fresh {
    int64_t seq;           /* its outbox row */
    uint8_t id[16];        /* message id */
    const uint8_t *bytes;  /* the caller's envelope, valid until the call returns */
    size_t len;            /* its length */
} s_fresh;

/* An answer that may leave only after the next commit. */
typedef struct s_answer {
    uint8_t id[16];     /* message id */
    bool nack;          /* NACK rather than ACK */
    uint16_t code;      /* NACK code */
    char text[HV_CONTROL_TEXT_MAX + 1]; /* NACK text */
} s_reply;

struct hv_client {
    char node[HV_NODE_ID_MAX + 1];   /* this node */
    char endpoint[256];              /* broker endpoint */
    char server_z85[HV_Z85_KEY_LEN + 1]; /* broker's key */
    char public_z85[HV_Z85_KEY_LEN + 1]; /* our transport key */
    const hv_keypair *keys;          /* our keys (borrowed) */
    uint32_t window, heartbeat_ms, dead_after_ms, resend_ms; /* settings */
    void *ctx, *sock;                /* ZeroMQ context and DEALER */
    bool ready;                      /* READY received on this connection */
    int64_t hello_at;                /* monotonic ms of the last HELLO */
    uint64_t replay_since;           /* restored: HELLO asks for replay from here (Unix ms) */
    int64_t last_recv, last_send;    /* monotonic ms */
    sqlite3 *db;                     /* outbox and seen ids */
    sqlite3_stmt *st[S_COUNT];       /* prepared statements */
    bool in_txn;                     /* a transaction is open */
    int64_t txn_began_at;            /* monotonic ms it began */
    bool app_txn;                    /* ...and the application's savepoint in it */
    size_t app_answers;              /* answers queued before that savepoint */
    s_out *out;                      /* outbox entries in memory */
    size_t n_out;                    /* how many (finished ones have seq -1) */
    size_t out_head;                 /* first unfinished entry */
    int64_t out_loaded;              /* highest outbox seq loaded */
    bool out_more;                   /* the outbox may hold unloaded rows */
    hv_delivery **inbox;             /* new deliveries for the application */
    size_t n_inbox, cap_inbox;       /* count, allocated */
    s_reply *answers;               /* ACK/NACKs awaiting the commit */
    size_t n_answers, cap_answers;   /* count, allocated */
    s_fresh *fresh;                  /* rows hv_client_send_many added in this transaction */
    size_t n_fresh, cap_fresh;       /* count, allocated */
    bool unknown_rows;               /* rows added in this transaction that fresh lacks */
    hv_notice *notices;              /* reports about our messages */
    size_t n_notices;                /* how many */
    int64_t next_prune;              /* when to forget old seen ids */
    int64_t first_answer_at;         /* monotonic ms of the oldest waiting answer */
    hv_client_stored_fn on_stored;   /* STORED hook, or NULL */
    void *on_stored_arg;             /* its argument */
    hv_client_control_fn on_control; /* READY/PREKEY hook, or NULL */
    void *on_control_arg;            /* its argument */
    bool batch;                      /* the broker's READY granted BATCH */
    size_t batch_max;                /* the largest BATCH it takes (its max_message) */
    bool old_broker;                 /* it refused HELLO's features: the old HELLO */
    hv_control_batch out_batch;      /* SENDs and ACKs not yet sent (PROTOCOL.md §5.7) */
};

/* ------------------------------------------------------------- storage */

static hv_err s_step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? HV_OK : HV_ESTORE;
}

static hv_err s_begin(hv_client *c)
{
    if (c->in_txn)
        return HV_OK;
    if (s_step(c->st[S_BEGIN]) != HV_OK)
        return HV_ESTORE;
    c->in_txn = true;
    c->txn_began_at = hv_mono_ms();
    return HV_OK;
}

static hv_err s_commit(hv_client *c)
{
    if (!c->in_txn)
        return HV_OK;
    if (s_step(c->st[S_COMMIT]) != HV_OK) {
        /* Whatever the store holds now, the loader will find it. */
        c->n_fresh = 0;
        c->unknown_rows = false;
        c->out_more = true;
        return HV_ESTORE;
    }
    c->in_txn = false;
    c->app_txn = false;
    return HV_OK;
}

static bool s_seen(hv_client *c, const uint8_t id[16])
{
    sqlite3_stmt *st = c->st[S_SEEN_GET];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    bool seen = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return seen;
}

/* ----------------------------------------------------------- transport */

/* Sends what the batch holds: HV_OK (also when empty), HV_ERATE when the
 * socket is full (kept for the next try), HV_EIO. */
static hv_err s_batch_flush(hv_client *c)
{
    if (hv_control_batch_empty(&c->out_batch))
        return HV_OK;
    const uint8_t *frame;
    size_t len;
    hv_control_batch_frame(&c->out_batch, &frame, &len);
    if (zmq_send(c->sock, frame, len, ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN ? HV_ERATE : HV_EIO;
    hv_control_batch_clear(&c->out_batch);
    c->last_send = hv_mono_ms();
    return HV_OK;
}

/* SENDs, ACKs and NACKs to a broker that granted BATCH wait in the batch
 * until it is full or the client is about to wait (hv_client_poll,
 * hv_client_flush); anything else sends the batch first, to keep the
 * order. HV_ERATE when the socket will not take more. */
static hv_err s_send_ctl(hv_client *c, const hv_control *m)
{
    hv_err err;
    if (c->batch && hv_control_batchable(m->cmd)) {
        err = hv_control_batch_add(&c->out_batch, m, c->batch_max);
        if (err == HV_ETOOBIG && !hv_control_batch_empty(&c->out_batch) &&
            (err = s_batch_flush(c)) == HV_OK)
            err = hv_control_batch_add(&c->out_batch, m, c->batch_max);
        if (err != HV_ETOOBIG)
            return err;
        /* Too large for any batch: alone, after what is batched. */
    }
    if ((err = s_batch_flush(c)) != HV_OK)
        return err;
    uint8_t *buf;
    size_t len;
    err = hv_control_encode(m, &buf, &len);
    if (err != HV_OK)
        return err;
    int rc = zmq_send(c->sock, buf, len, ZMQ_DONTWAIT);
    free(buf);
    if (rc < 0)
        return errno == EAGAIN ? HV_ERATE : HV_EIO;
    c->last_send = hv_mono_ms();
    return HV_OK;
}

static hv_err s_hello(hv_client *c)
{
    /* Features asked for unless this broker refused them (PROTOCOL.md §10). */
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = c->window,
                        .heartbeat_ms = c->heartbeat_ms, .replay_since = c->replay_since,
                        .has_features = !c->old_broker, .features = HV_FEATURE_BATCH};
    /* Until READY, no batch: what one held was for a session the broker
     * no longer has (the outbox sends again; the broker redelivers). */
    hv_control_batch_clear(&c->out_batch);
    c->batch = false;
    snprintf(hello.node_id, sizeof hello.node_id, "%s", c->node);
    c->ready = false;
    c->hello_at = hv_mono_ms();
    return s_send_ctl(c, &hello);
}

/* (Re)creates the socket and says HELLO; the HELLO waits in the socket
 * until the connection is up. */
static hv_err s_connect(hv_client *c)
{
    if (c->sock != NULL)
        zmq_close(c->sock);
    c->ready = false;
    hv_control_batch_clear(&c->out_batch); /* the outbox sends it again; the broker redelivers */
    c->batch = false;
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    if (c->sock == NULL)
        return HV_EIO;
    char secret[HV_Z85_KEY_LEN + 1];
    hv_keypair_transport_secret_z85(c->keys, secret);
    int zero = 0, hwm = 10000, ivl = 100;
    int64_t maxmsg = HV_CONTROL_MAX;
    zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, c->server_z85, HV_Z85_KEY_LEN);
    zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, c->public_z85, HV_Z85_KEY_LEN);
    zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, secret, HV_Z85_KEY_LEN);
    hv_memzero(secret, sizeof secret);
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_connect(c->sock, c->endpoint) != 0)
        return HV_EIO;
    c->last_recv = hv_mono_ms();
    for (size_t i = 0; i < c->n_out; i++)
        c->out[i].sent = 0;
    return s_hello(c);
}

/* ------------------------------------------------------------- outbox */

static void s_out_compact(hv_client *c);

static void s_load_outbox(hv_client *c)
{
    if (c->out_head > 0)
        s_out_compact(c);
    if (!c->out_more || c->n_out >= S_OUT_MAX)
        return;
    sqlite3_stmt *st = c->st[S_OUT_LOAD];
    sqlite3_bind_int64(st, 1, c->out_loaded);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(S_OUT_MAX - c->n_out));
    size_t got = 0, room = S_OUT_MAX - c->n_out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != 16)
            continue;
        s_out *o = &c->out[c->n_out++];
        o->seq = sqlite3_column_int64(st, 0);
        memcpy(o->id, sqlite3_column_blob(st, 1), 16);
        o->sent = 0;
        c->out_loaded = o->seq;
        got++;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    c->out_more = got == room;
}

/* Drops finished entries (seq < 0) from the front part of the array. */
static void s_out_compact(hv_client *c)
{
    size_t keep = 0;
    for (size_t i = 0; i < c->n_out; i++)
        if (c->out[i].seq >= 0)
            c->out[keep++] = c->out[i];
    c->n_out = keep;
    c->out_head = 0;
}

/* The broker answered for `id`: it leaves the outbox. STOREDs mostly come
 * in sending order, so the search starts at the first unfinished entry. */
static void s_out_forget(hv_client *c, const uint8_t id[16])
{
    for (size_t i = c->out_head; i < c->n_out; i++) {
        if (c->out[i].seq < 0 || memcmp(c->out[i].id, id, 16) != 0)
            continue;
        c->out[i].seq = -1;
        while (c->out_head < c->n_out && c->out[c->out_head].seq < 0)
            c->out_head++;
        if (c->out_head > c->n_out / 2)
            s_out_compact(c);
        break;
    }
    if (s_begin(c) == HV_OK) {
        sqlite3_bind_blob(c->st[S_OUT_DEL], 1, id, 16, SQLITE_STATIC);
        if (s_step(c->st[S_OUT_DEL]) != HV_OK)
            hv_log(HV_LOG_ERROR, "client_store_failed", "op=outbox_delete");
    }
}

static void s_pump_sends(hv_client *c, int64_t now)
{
    if (!c->ready)
        return;
    for (size_t i = c->out_head; i < c->n_out; i++) {
        s_out *o = &c->out[i];
        if (o->seq < 0 || (o->sent != 0 && now - o->sent < (int64_t)c->resend_ms))
            continue;
        sqlite3_stmt *st = c->st[S_OUT_GET];
        sqlite3_bind_int64(st, 1, o->seq);
        hv_err err = HV_ENOTFOUND;
        if (sqlite3_step(st) == SQLITE_ROW) {
            hv_control m = {.cmd = HV_CMD_SEND};
            m.envelope = sqlite3_column_blob(st, 0);
            m.envelope_len = (size_t)sqlite3_column_bytes(st, 0);
            err = s_send_ctl(c, &m);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (err == HV_ERATE) {
            hv_log(HV_LOG_DEBUG, "client_send_blocked", "node=%s outstanding=%zu", c->node,
                   c->n_out - c->out_head);
            return; /* the socket is full: later */
        }
        o->sent = now;
    }
}

/* Inserts envelopes into the outbox inside the open transaction; with
 * `remember`, also notes them in c->fresh (their bytes must stay valid
 * until the commit). */
static hv_err s_out_put(hv_client *c, const uint8_t *const *envs, const size_t *lens, size_t n,
                        bool remember)
{
    int64_t now = hv_now_ms();
    if (remember && c->n_fresh + n > c->cap_fresh) {
        size_t cap = c->n_fresh + n + 256;
        s_fresh *grown = realloc(c->fresh, cap * sizeof *grown);
        if (grown == NULL)
            remember = false;
        else {
            c->fresh = grown;
            c->cap_fresh = cap;
        }
    }
    if (!remember)
        c->unknown_rows = true;
    for (size_t i = 0; i < n; i++) {
        hv_envelope env;
        hv_err err = hv_envelope_decode(envs[i], lens[i], &env);
        if (err != HV_OK)
            return err;
        if (strcmp(env.from, c->node) != 0)
            return HV_EINVAL;
        sqlite3_stmt *st = c->st[S_OUT_PUT];
        sqlite3_bind_blob(st, 1, env.id, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, envs[i], (int)lens[i], SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        if ((err = s_step(st)) != HV_OK)
            return err;
        if (remember && sqlite3_changes(c->db) == 1) {
            s_fresh *f = &c->fresh[c->n_fresh++];
            f->seq = sqlite3_last_insert_rowid(c->db);
            memcpy(f->id, env.id, 16);
            f->bytes = envs[i];
            f->len = lens[i];
        }
    }
    return HV_OK;
}

/* After a commit: when every older outbox row is already in memory, the
 * fresh rows join the in-memory outbox and are sent at once from the
 * caller's bytes; otherwise the loader finds them in the store. */
static void s_adopt_fresh(hv_client *c)
{
    size_t n = c->n_fresh;
    if (c->out_head > 0)
        s_out_compact(c);
    bool adopt = n > 0 && !c->unknown_rows && !c->out_more && c->n_out + n <= S_OUT_MAX &&
                 c->fresh[0].seq > c->out_loaded;
    c->n_fresh = 0;
    c->unknown_rows = false;
    if (!adopt) {
        c->out_more = true;
        return;
    }
    int64_t now = hv_mono_ms();
    bool room = c->ready;
    for (size_t i = 0; i < n; i++) {
        s_out *o = &c->out[c->n_out++];
        o->seq = c->fresh[i].seq;
        memcpy(o->id, c->fresh[i].id, 16);
        o->sent = 0;
        c->out_loaded = o->seq;
        if (!room)
            continue;
        hv_control m = {.cmd = HV_CMD_SEND};
        m.envelope = c->fresh[i].bytes;
        m.envelope_len = c->fresh[i].len;
        hv_err err = s_send_ctl(c, &m);
        if (err == HV_OK)
            o->sent = now;
        else
            room = false; /* the socket is full: the pump sends the rest later */
    }
}

hv_err hv_client_send_many(hv_client *c, const uint8_t *const *envs, const size_t *lens,
                           size_t n)
{
    hv_err err = hv_client_begin(c);
    if (err == HV_OK)
        err = s_out_put(c, envs, lens, n, true);
    if (err != HV_OK) {
        hv_client_rollback(c);
        return err;
    }
    return hv_client_commit(c);
}

/* The application's changes go in a savepoint inside the client's
 * transaction, so that abandoning them keeps the client's own pending
 * work (outbox rows already STORED, acknowledged ids). */
hv_err hv_client_begin(hv_client *c)
{
    if (c->app_txn)
        return HV_OK;
    hv_err err = s_begin(c);
    if (err != HV_OK)
        return err;
    if (sqlite3_exec(c->db, "SAVEPOINT hv_app", NULL, NULL, NULL) != SQLITE_OK)
        return HV_ESTORE;
    c->app_txn = true;
    c->app_answers = c->n_answers;
    return HV_OK;
}

/* Both ask for the application's transaction, not merely an open one: the
 * client's own bookkeeping may hold one open for a few milliseconds. */
hv_err hv_client_queue(hv_client *c, const uint8_t *env, size_t len)
{
    if (!c->app_txn)
        return HV_EINVAL;
    return s_out_put(c, &env, &len, 1, false);
}

hv_err hv_client_commit(hv_client *c)
{
    hv_err err = s_commit(c);
    if (err != HV_OK)
        return err;
    /* Durable before we return; sent right after, answers included. */
    s_adopt_fresh(c);
    s_load_outbox(c);
    s_pump_sends(c, hv_mono_ms());
    return hv_client_flush(c);
}

void hv_client_rollback(hv_client *c)
{
    if (!c->app_txn)
        return;
    c->n_fresh = 0;
    c->unknown_rows = false;
    if (sqlite3_exec(c->db, "ROLLBACK TO hv_app; RELEASE hv_app", NULL, NULL, NULL) == SQLITE_OK) {
        c->app_txn = false;
        c->n_answers = c->app_answers;
        return;
    }
    /* The savepoint could not be undone: all of it goes. The answers go too (the
     * broker delivers those messages again after their lease), and outbox
     * rows whose deletion is undone are sent again at the next start, to be
     * answered STORED by dedup. */
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_txn = false;
    c->app_txn = false;
    c->n_answers = 0;
}

struct sqlite3 *hv_client_db(hv_client *c)
{
    return c->db;
}

hv_err hv_client_send(hv_client *c, const uint8_t *env, size_t len)
{
    return hv_client_send_many(c, &env, &len, 1);
}

/* ------------------------------------------------------------ receiving */

static void s_notice(hv_client *c, const uint8_t id[16], uint16_t code, const char *text)
{
    if (c->n_notices == S_NOTICES_MAX) {
        memmove(c->notices, c->notices + 1, (S_NOTICES_MAX - 1) * sizeof *c->notices);
        c->n_notices--;
        hv_log(HV_LOG_WARN, "client_notice_dropped", "node=%s", c->node);
    }
    hv_notice *n = &c->notices[c->n_notices++];
    memset(n, 0, sizeof *n);
    if (id != NULL)
        memcpy(n->id, id, 16);
    n->code = code;
    snprintf(n->text, sizeof n->text, "%s", text);
}

static hv_err s_answer(hv_client *c, const uint8_t id[16], bool nack, uint16_t code,
                       const char *text)
{
    if (c->n_answers == c->cap_answers) {
        size_t cap = c->cap_answers ? c->cap_answers * 2 : 64;
        s_reply *grown = realloc(c->answers, cap * sizeof *grown);
        if (grown == NULL)
            return HV_ENOMEM;
        c->answers = grown;
        c->cap_answers = cap;
    }
    if (c->n_answers == 0)
        c->first_answer_at = hv_mono_ms();
    s_reply *a = &c->answers[c->n_answers++];
    memcpy(a->id, id, 16);
    a->nack = nack;
    a->code = code;
    snprintf(a->text, sizeof a->text, "%s", text ? text : "");
    return HV_OK;
}

static bool s_in_inbox(const hv_client *c, const uint8_t id[16])
{
    for (size_t i = 0; i < c->n_inbox; i++)
        if (memcmp(c->inbox[i]->env.id, id, 16) == 0)
            return true;
    return false;
}

static void s_on_deliver(hv_client *c, const hv_control *m)
{
    hv_delivery *d = calloc(1, sizeof *d);
    uint8_t *bytes = malloc(m->envelope_len);
    if (d == NULL || bytes == NULL) {
        free(d);
        free(bytes);
        return; /* unanswered: the broker delivers it again */
    }
    memcpy(bytes, m->envelope, m->envelope_len);
    d->bytes = bytes;
    d->len = m->envelope_len;
    d->attempt = m->attempt;
    hv_err err = hv_envelope_decode(bytes, d->len, &d->env);
    if (err != HV_OK || strcmp(d->env.to, c->node) != 0) {
        /* Not a message for this node: refuse it for good. */
        uint8_t id[16] = {0};
        if (err == HV_OK)
            memcpy(id, d->env.id, 16);
        hv_log(HV_LOG_WARN, "client_refused_delivery", "node=%s reason=%s", c->node,
               err != HV_OK ? hv_errname(err) : "HV_EADDRESS");
        if (s_answer(c, id, true, err != HV_OK ? err : HV_EADDRESS, "not deliverable here") !=
            HV_OK)
            hv_log(HV_LOG_ERROR, "client_out_of_memory", "node=%s", c->node);
        hv_delivery_free(&d);
        return;
    }
    if (s_seen(c, d->env.id)) {
        /* Processed before (its ACK was lost): acknowledge again. */
        if (s_answer(c, d->env.id, false, 0, NULL) != HV_OK)
            hv_log(HV_LOG_ERROR, "client_out_of_memory", "node=%s", c->node);
        hv_delivery_free(&d);
        return;
    }
    if (s_in_inbox(c, d->env.id)) {
        hv_delivery_free(&d);
        return;
    }
    if (c->n_inbox == c->cap_inbox) {
        size_t cap = c->cap_inbox ? c->cap_inbox * 2 : 64;
        hv_delivery **grown = realloc(c->inbox, cap * sizeof *grown);
        if (grown == NULL) {
            hv_delivery_free(&d);
            return;
        }
        c->inbox = grown;
        c->cap_inbox = cap;
    }
    c->inbox[c->n_inbox++] = d;
}

static void s_on_control(hv_client *c, hv_control *m);

static void s_on_frame(hv_client *c, const uint8_t *buf, size_t len)
{
    hv_control m;
    hv_err err = hv_control_decode(buf, len, &m);
    if (err != HV_OK) {
        hv_log(HV_LOG_WARN, "client_garbage", "node=%s reason=%s", c->node, hv_errname(err));
        return;
    }
    c->last_recv = hv_mono_ms();
    if (m.cmd != HV_CMD_BATCH) {
        s_on_control(c, &m);
        return;
    }
    /* Each command in turn, as if it had come alone (PROTOCOL.md §5.7). */
    hv_control_parts it;
    const uint8_t *part;
    size_t part_len;
    hv_control_parts_init(&it, &m);
    while (hv_control_parts_next(&it, &part, &part_len)) {
        hv_control one;
        err = hv_control_decode(part, part_len, &one);
        if (err == HV_OK && !hv_control_batchable(one.cmd))
            err = HV_EDECODE;
        if (err != HV_OK) {
            hv_log(HV_LOG_WARN, "client_garbage", "node=%s reason=%s in=BATCH", c->node,
                   hv_errname(err));
            return;
        }
        s_on_control(c, &one);
    }
}

/* One command from the broker, alone or out of a BATCH; an EXPIRED is
 * rewritten as the ERROR it stands for. */
static void s_on_control(hv_client *c, hv_control *m)
{
    switch (m->cmd) {
    case HV_CMD_READY:
        c->ready = true;
        c->batch = m->has_features && (m->features & HV_FEATURE_BATCH) != 0;
        c->batch_max = m->max_message < HV_CONTROL_BATCH_BYTES ? m->max_message
                                                              : HV_CONTROL_BATCH_BYTES;
        if (c->replay_since != 0) {
            /* The broker committed the replay before READY: the request
             * is done. Forgotten with the next commit; a crash before it
             * only asks again, and the seen ids drop the repeats. */
            hv_log(HV_LOG_INFO, "client_replay_asked", "node=%s since_ms=%llu", c->node,
                   (unsigned long long)c->replay_since);
            c->replay_since = 0;
            if (s_begin(c) != HV_OK || s_step(c->st[S_REPLAY_DONE]) != HV_OK)
                hv_log(HV_LOG_ERROR, "client_store_failed", "op=replay_done");
        }
        hv_log(HV_LOG_DEBUG, "client_ready", "node=%s outbox_loaded=%zu head=%zu more=%d", c->node,
               c->n_out, c->out_head, c->out_more);
        hv_log(HV_LOG_DEBUG, "client_ready", "node=%s broker=%s", c->node, m->node_id);
        if (c->on_control != NULL)
            c->on_control(c->on_control_arg, m);
        break;
    case HV_CMD_PREKEY:
    case HV_CMD_PREKEY_REFUSED:
    case HV_CMD_AUDIT_WITNESSED:
        if (c->on_control != NULL)
            c->on_control(c->on_control_arg, m);
        break;
    case HV_CMD_STORED:
        s_out_forget(c, m->msg_id);
        if (c->on_stored != NULL)
            c->on_stored(c->on_stored_arg, m->msg_id);
        break;
    case HV_CMD_DELIVER:
        s_on_deliver(c, m);
        break;
    case HV_CMD_EXPIRED:
    case HV_CMD_ERROR:
        if (m->cmd == HV_CMD_EXPIRED) {
            m->code = HV_EEXPIRED;
            snprintf(m->text, sizeof m->text, "expired before delivery");
        }
        if (!m->has_msg_id && m->code == HV_EDECODE && !c->ready && !c->old_broker) {
            /* A broker from before BATCH cannot read HELLO's features: it
             * answers ERROR(HV_EDECODE) and BYE. The old HELLO, then. */
            hv_log(HV_LOG_INFO, "client_old_broker", "node=%s", c->node);
            c->old_broker = true;
            (void)s_hello(c);
            break;
        }
        if (!m->has_msg_id && m->code == HV_EPROTO) {
            /* The broker has no session for this connection: it restarted,
             * or dropped us. Say HELLO again (at most once a second). */
            if (hv_mono_ms() - c->hello_at > 1000) {
                hv_log(HV_LOG_INFO, "client_rehello", "node=%s", c->node);
                for (size_t i = 0; i < c->n_out; i++)
                    c->out[i].sent = 0;
                (void)s_hello(c);
            }
            break;
        }
        /* A rate limit or a store failure passes: the outbox sends the
         * message again later, and the application need not hear of it.
         * Anything else is final for that message. */
        if (m->code == HV_ERATE || m->code == HV_ESTORE) {
            hv_log(HV_LOG_DEBUG, "client_retry_later", "node=%s reason=%s", c->node,
                   hv_errname(m->code));
            break;
        }
        s_notice(c, m->has_msg_id ? m->msg_id : NULL, m->code, m->text);
        if (m->has_msg_id) {
            s_out_forget(c, m->msg_id);
            /* Lets the broker drop a notice it keeps for us. */
            hv_control ack = {.cmd = HV_CMD_ACK};
            memcpy(ack.msg_id, m->msg_id, 16);
            (void)s_send_ctl(c, &ack);
        }
        break;
    case HV_CMD_BYE:
        hv_log(HV_LOG_INFO, "client_bye", "node=%s", c->node);
        c->ready = false;
        break;
    default: /* HEARTBEAT and anything else: liveness only */
        break;
    }
}

/* ------------------------------------------------------------- the loop */

hv_err hv_client_flush(hv_client *c)
{
    if (s_commit(c) != HV_OK)
        return HV_ESTORE;
    size_t sent = 0;
    for (; sent < c->n_answers; sent++) {
        s_reply *a = &c->answers[sent];
        hv_control m = {.cmd = a->nack ? HV_CMD_NACK : HV_CMD_ACK};
        memcpy(m.msg_id, a->id, 16);
        m.code = a->code;
        memcpy(m.text, a->text, sizeof m.text);
        if (s_send_ctl(c, &m) == HV_ERATE)
            break;
    }
    if (sent > 0) {
        memmove(c->answers, c->answers + sent, (c->n_answers - sent) * sizeof *c->answers);
        c->n_answers -= sent;
    }
    (void)s_batch_flush(c); /* a full socket: the next poll tries again */
    return HV_OK;
}

/* Whether the client's own work (answers, bookkeeping) waits for a group
 * commit that the client may make. Inside the application's transaction it
 * may not: that commit is the application's, which sends the answers. */
static bool s_group_waiting(const hv_client *c)
{
    return !c->app_txn && (c->n_answers > 0 || c->in_txn);
}

/* Group commit on the client side: acknowledgements and the client's own
 * bookkeeping wait a few milliseconds so that one fsync covers many of
 * them. */
static hv_err s_flush_due(hv_client *c)
{
    if (!s_group_waiting(c))
        return HV_OK;
    int64_t now = hv_mono_ms();
    if (c->n_answers >= S_GROUP_MAX ||
        (c->n_answers > 0 && now - c->first_answer_at >= S_GROUP_MS) ||
        (c->in_txn && now - c->txn_began_at >= S_GROUP_MS))
        return hv_client_flush(c);
    return HV_OK;
}

hv_err hv_client_poll(hv_client *c, int timeout_ms)
{
    if (s_flush_due(c) != HV_OK)
        return HV_ESTORE;
    int64_t now = hv_mono_ms();
    /* No word from the broker: reconnect (also when HELLO got no READY). */
    if (now - c->last_recv > (int64_t)c->dead_after_ms) {
        hv_log(HV_LOG_INFO, "client_reconnect", "node=%s endpoint=%s", c->node, c->endpoint);
        if (s_connect(c) != HV_OK)
            return HV_EIO;
    }
    if (c->ready && now - c->last_send >= (int64_t)c->heartbeat_ms) {
        hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
        (void)s_send_ctl(c, &hb);
    }
    s_load_outbox(c);
    s_pump_sends(c, now);
    if (now >= c->next_prune) {
        c->next_prune = now + 3600 * 1000;
        if (s_begin(c) == HV_OK) {
            sqlite3_bind_int64(c->st[S_SEEN_PRUNE], 1, hv_now_ms());
            (void)s_step(c->st[S_SEEN_PRUNE]);
        }
    }
    int wait = timeout_ms;
    if (wait > (int)c->heartbeat_ms / 2)
        wait = (int)c->heartbeat_ms / 2;
    if (s_group_waiting(c) && wait > S_GROUP_MS)
        wait = S_GROUP_MS;
    if (c->n_out > 0 && c->ready && wait > (int)c->resend_ms)
        wait = (int)c->resend_ms;
    /* Nothing batched waits while we sleep; a socket too full for it has
     * the poll come back soon. */
    if (s_batch_flush(c) == HV_ERATE && wait > 1)
        wait = 1;
    zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, wait) < 0 && errno != EINTR)
        return HV_EIO;
    for (int i = 0; i < 4096; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        s_on_frame(c, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
    s_pump_sends(c, hv_mono_ms());
    hv_err err = s_flush_due(c);
    (void)s_batch_flush(c);
    return err;
}

hv_err hv_client_recv(hv_client *c, int timeout_ms, hv_delivery **out)
{
    int64_t deadline = hv_mono_ms() + timeout_ms;
    for (;;) {
        if (c->n_inbox > 0) {
            *out = c->inbox[0];
            memmove(c->inbox, c->inbox + 1, (c->n_inbox - 1) * sizeof *c->inbox);
            c->n_inbox--;
            return HV_OK;
        }
        int64_t left = deadline - hv_mono_ms();
        if (left <= 0)
            return HV_ETIMEOUT;
        hv_err err = hv_client_poll(c, (int)left);
        if (err != HV_OK)
            return err;
    }
}

hv_err hv_client_ack(hv_client *c, hv_delivery **d)
{
    hv_err err = s_begin(c);
    if (err == HV_OK) {
        sqlite3_bind_blob(c->st[S_SEEN_PUT], 1, (*d)->env.id, 16, SQLITE_STATIC);
        sqlite3_bind_int64(c->st[S_SEEN_PUT], 2,
                           hv_now_ms() + (int64_t)S_SEEN_DAYS * 24 * 3600 * 1000);
        err = s_step(c->st[S_SEEN_PUT]);
    }
    if (err == HV_OK)
        err = s_answer(c, (*d)->env.id, false, 0, NULL);
    if (err == HV_OK)
        hv_delivery_free(d);
    return err;
}

hv_err hv_client_nack(hv_client *c, hv_delivery **d, hv_err code, const char *text)
{
    hv_err err = s_answer(c, (*d)->env.id, true, (uint16_t)code, text);
    if (err == HV_OK)
        hv_delivery_free(d);
    return err;
}

void hv_delivery_free(hv_delivery **d)
{
    if (d == NULL || *d == NULL)
        return;
    free((*d)->bytes);
    free(*d);
    *d = NULL;
}

bool hv_client_ready(const hv_client *c) { return c->ready; }

void hv_client_on_control(hv_client *c, hv_client_control_fn fn, void *arg)
{
    c->on_control = fn;
    c->on_control_arg = arg;
}

hv_err hv_client_send_control(hv_client *c, const hv_control *m)
{
    if (!c->ready)
        return HV_EPROTO;
    return s_send_ctl(c, m);
}

void hv_client_on_stored(hv_client *c, hv_client_stored_fn fn, void *arg)
{
    c->on_stored = fn;
    c->on_stored_arg = arg;
}

hv_err hv_client_wait_ready(hv_client *c, int timeout_ms)
{
    int64_t deadline = hv_mono_ms() + timeout_ms;
    while (!c->ready) {
        int64_t left = deadline - hv_mono_ms();
        if (left <= 0)
            return HV_ETIMEOUT;
        hv_err err = hv_client_poll(c, (int)(left < 50 ? left : 50));
        if (err != HV_OK)
            return err;
    }
    return HV_OK;
}

size_t hv_client_outbox_size(const hv_client *c)
{
    sqlite3_stmt *st = c->st[S_OUT_COUNT];
    size_t n = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

bool hv_client_outbox_has(const hv_client *c, const uint8_t id[16])
{
    sqlite3_stmt *st = c->st[S_OUT_HAS];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    bool has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return has;
}

bool hv_client_notice(hv_client *c, hv_notice *out)
{
    if (c->n_notices == 0)
        return false;
    *out = c->notices[0];
    memmove(c->notices, c->notices + 1, (c->n_notices - 1) * sizeof *c->notices);
    c->n_notices--;
    return true;
}

/* ------------------------------------------------------------ lifecycle */

hv_err hv_client_open(hv_client **out, const hv_client_config *cfg, hv_errmsg *e)
{
    if (!hv_node_id_valid_cstr(cfg->node_id) || strlen(cfg->endpoint) >= 256)
        return hv_fail(e, HV_EINVAL, "invalid node id or endpoint");
    hv_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return HV_ENOMEM;
    snprintf(c->node, sizeof c->node, "%s", cfg->node_id);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", cfg->endpoint);
    hv_z85_key(cfg->broker_transport_pk, c->server_z85);
    hv_z85_key(hv_keypair_public(cfg->keys)->transport, c->public_z85);
    c->keys = cfg->keys;
    c->window = cfg->window ? cfg->window : 64;
    c->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 1000;
    c->dead_after_ms = cfg->dead_after_ms ? cfg->dead_after_ms : 3000;
    c->resend_ms = cfg->resend_ms ? cfg->resend_ms : 3000;
    c->out = calloc(S_OUT_MAX, sizeof *c->out);
    c->notices = calloc(S_NOTICES_MAX, sizeof *c->notices);
    c->out_more = true;
    hv_err err = c->out && c->notices ? HV_OK : HV_ENOMEM;
    if (err == HV_OK)
        err = hv_db_open_paged(&c->db, cfg->store_path, s_schema, S_PAGE_SIZE, e);
    for (int i = 0; err == HV_OK && i < S_COUNT; i++)
        err = hv_db_prepare(c->db, s_sql[i], &c->st[i], e);
    if (err == HV_OK) {
        sqlite3_stmt *st = c->st[S_REPLAY_GET];
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0 &&
            sqlite3_column_int64(st, 0) <= (sqlite3_int64)HV_REPLAY_SINCE_MAX)
            c->replay_since = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    if (err == HV_OK) {
        c->ctx = zmq_ctx_new();
        err = c->ctx != NULL ? s_connect(c) : HV_EIO;
        if (err != HV_OK)
            hv_fail(e, err, "cannot connect to %s", c->endpoint);
    }
    if (err != HV_OK) {
        hv_client_close(&c);
        return err;
    }
    s_load_outbox(c);
    *out = c;
    return HV_OK;
}

hv_err hv_client_set_keys(hv_client *c, const hv_keypair *keys)
{
    char public_z85[HV_Z85_KEY_LEN + 1];
    hv_z85_key(hv_keypair_public(keys)->transport, public_z85);
    c->keys = keys;
    if (strcmp(public_z85, c->public_z85) == 0)
        return HV_OK;
    /* What is committed goes first, on the old connection; then the old
     * session ends with BYE, as at a close, and the new key says HELLO.
     * The broker gives unacknowledged deliveries back to the queue when
     * the old session ends, so nothing waits for a lease to expire. */
    if (c->sock != NULL && !c->in_txn && hv_client_flush(c) == HV_OK && c->ready) {
        hv_control bye = {.cmd = HV_CMD_BYE};
        (void)s_send_ctl(c, &bye);
    }
    memcpy(c->public_z85, public_z85, sizeof public_z85);
    hv_log(HV_LOG_INFO, "client_transport_key", "node=%s key=%.8s", c->node, c->public_z85);
    return s_connect(c);
}

void hv_client_close(hv_client **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    hv_client *c = *cp;
    if (c->db != NULL && c->sock != NULL && hv_client_flush(c) == HV_OK && c->ready) {
        hv_control bye = {.cmd = HV_CMD_BYE};
        (void)s_send_ctl(c, &bye);
    }
    if (c->sock != NULL)
        zmq_close(c->sock);
    if (c->ctx != NULL)
        zmq_ctx_term(c->ctx);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    if (c->db != NULL)
        sqlite3_close_v2(c->db);
    for (size_t i = 0; i < c->n_inbox; i++)
        hv_delivery_free(&c->inbox[i]);
    free(c->inbox);
    free(c->answers);
    hv_control_batch_free(&c->out_batch);
    free(c->out);
    free(c->fresh);
    free(c->notices);
    free(c);
    *cp = NULL;
}
