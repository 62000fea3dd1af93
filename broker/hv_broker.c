/* The broker loop: sessions, validation, custody, delivery and timers.
 *
 * Custody (../shared/DESIGN.md §4): a SEND is validated, deduplicated by
 * message id and committed before STORED goes back; one commit covers every
 * message read in one pass over the socket (group commit). A DELIVER stays
 * in flight until the recipient's ACK, which it sends after its own commit;
 * an unacknowledged delivery is redelivered when its lease runs out or the
 * recipient's heartbeats stop. Memory holds at most one window of deliveries
 * per connected node: the backlog waits on disk. */
#include "hv_broker.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zmq.h>

#include "hv_config.h"
#include "hv_control.h"
#include "hv_ctl.h"
#include "hv_db.h"
#include "hv_audit.h"
#include "hv_envelope.h"
#include "hv_file.h"
#include "hv_http.h"
#include "hv_keys.h"
#include "hv_log.h"
#include "hv_registry.h"
#include "hv_store.h"
#include "hv_zap.h"

#define S_RID_MAX 256             /* ZeroMQ routing ids are at most 255 bytes */
#define S_CLOCK_SKEW_MS (10 * 60 * 1000)
#define S_EXPIRE_EVERY_MS 1000
#define S_NOTICES_PER_HELLO 1000
#define S_GARBAGE_LIMIT 1         /* undecodable frames before a peer is dropped */
#define S_LAT_BUCKETS 11          /* ack latency histogram buckets (seconds) below */
#define S_FLOWS_MAX 256           /* country pairs counted */
#define S_PUBLISH_MS 500          /* HTTP snapshots twice a second */
#define S_AUDIT_SYNC_MS 50        /* the audit file's fdatasync, see s_audit_sync */
#define S_RATE_SAMPLES 11         /* rates over the last ten seconds */
/* The replay window is pruned in batches of S_PRUNE_BATCH every
 * S_PRUNE_EVERY_MS, sooner (S_PRUNE_AGAIN_MS) while batches come back full:
 * up to 250,000 envelopes a second when behind, ten times the broker's
 * peak ACK rate, and never more than one batch of work in a loop pass. */
#define S_PRUNE_BATCH 2500
#define S_PRUNE_EVERY_MS 100
#define S_PRUNE_AGAIN_MS 10
#define S_HOUR_MS (3600LL * 1000)

static const double s_lat_le[S_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25, 0.5, 1, 5};

/* One delivery awaiting its ACK. */
typedef struct s_flight {
    int64_t seq;      /* queue sequence number */
    uint8_t id[16];   /* message id */
    int64_t sent_ms;  /* when it was delivered (monotonic) */
} s_flight;

/* A connected client, known by its ZeroMQ routing id. */
typedef struct s_session {
    void *sock;                  /* the socket it lives on */
    uint8_t rid[S_RID_MAX];      /* routing id (none on our own link to a peer) */
    size_t rid_len;              /* its length */
    char node[HV_NODE_ID_MAX + 1]; /* authenticated node id (ZAP User-Id) */
    char queue[HV_NODE_ID_MAX + 2]; /* queue it is served from: the node id, or
                                       "@broker" for our link to that peer */
    bool peer;                   /* a peer broker connected to our peers' socket */
    bool outgoing;               /* our link to a peer broker (we are its client) */
    int64_t hello_at;            /* outgoing: when HELLO was last sent */
    int64_t up_since;            /* wall clock ms when it became ready */
    uint8_t role;                /* the node's role */
    bool ready;                  /* HELLO accepted */
    uint32_t window;             /* deliveries allowed in flight */
    s_flight *flight;            /* in-flight deliveries, in delivery order */
    size_t n_flight;             /* how many */
    size_t cap_flight;           /* allocated */
    int64_t cursor;              /* highest sequence number delivered */
    bool maybe_more;             /* the queue may hold more for this node */
    int64_t paused_until;        /* no delivery before this (backoff), monotonic */
    int64_t backoff_ms;          /* next backoff */
    int64_t last_recv;           /* monotonic ms of the last frame received */
    int64_t last_send;           /* monotonic ms of the last frame sent */
    double tokens;               /* rate limit bucket */
    int64_t tokens_at;           /* when the bucket was last filled */
} s_session;

/* A STORED owed once the current transaction commits. */
typedef struct s_pending {
    void *sock;             /* socket of the sender */
    uint8_t rid[S_RID_MAX]; /* routing id */
    size_t rid_len;  /* its length */
    uint8_t id[16];  /* message id */
    char recipient[HV_NODE_ID_MAX + 2]; /* whose queue grew */
    uint8_t type;            /* message type, for the stored event (0: none) */
    char from_cc[3], to_cc[3]; /* sender's and recipient's countries */
    uint32_t bytes;          /* envelope size */
} s_pending;

struct hv_broker {
    hv_broker_config cfg;          /* settings */
    void *ctx;                     /* ZeroMQ context */
    void *zap;                     /* ZAP handler socket */
    void *router;                  /* workers' ROUTER socket */
    void *peer_router;             /* peer brokers' ROUTER socket, or NULL */
    void *ops;                     /* operators' ROUTER socket, or NULL */
    void *events;                  /* operators' PUB socket for events, or NULL */
    hv_http *http;                 /* /metrics and friends, or NULL */
    hv_audit *audit;               /* hash-chained record of every transition */
    uint64_t audit_synced;         /* last audit record durable in the file */
    uint64_t audit_released;       /* ...and no longer kept in the store */
    bool audit_sync_failed;        /* an audit fdatasync failed: copies stay kept (logged once) */
    int64_t next_publish;          /* monotonic ms of the next HTTP snapshot */
    uint64_t latency_buckets[S_LAT_BUCKETS + 1]; /* ack latency histogram (+Inf last) */
    double latency_sum_s;          /* its sum, seconds */
    uint64_t latency_count;        /* its count */
    struct s_flow {
        char from[3], to[3];       /* countries */
        uint64_t count;            /* messages stored between them */
    } flows[S_FLOWS_MAX];          /* stored messages by country pair */
    size_t n_flows;                /* how many pairs */
    struct s_rate_sample {
        int64_t at;                /* monotonic ms */
        uint64_t stored, delivered, acked; /* counters then */
    } rate_ring[S_RATE_SAMPLES];   /* one per second, for recent rates */
    size_t rate_next;              /* next slot */
    int64_t next_rate_sample;      /* monotonic ms */
    int64_t started_ms;            /* wall clock at start, for uptime */
    char peer_ids[HV_PEERS_MAX][HV_NODE_ID_MAX + 1]; /* brokers we peer with */
    size_t n_peers;                /* how many */
    hv_keypair *keys;              /* this broker's keys */
    uint8_t authority_pk[32];      /* pinned authority signing key */
    hv_registry *reg;              /* current registry */
    hv_store *store;               /* durable store */
    s_session *sessions;           /* connected clients */
    size_t n_sessions;             /* how many */
    size_t cap_sessions;           /* allocated */
    s_pending *pending;            /* STOREDs awaiting the commit */
    size_t n_pending;              /* how many */
    char (*notify)[HV_NODE_ID_MAX + 1]; /* senders owed a notice after the commit */
    size_t n_notify;               /* how many */
    int64_t next_expire;           /* monotonic ms of the next expiry sweep */
    int64_t next_prune;            /* monotonic ms of the next replay-window prune */
    bool behind;                   /* the last drain hit the batch limit */
    int64_t group_start_us;        /* when the open group transaction began, 0 = none */
    volatile sig_atomic_t stopping; /* SIGTERM seen */
    volatile sig_atomic_t reloading; /* SIGHUP seen */
    uint64_t n_stored, n_delivered, n_acked, n_refused, n_redelivered, n_expired;
    uint64_t n_commits;            /* group commits that carried SENDs */
    uint64_t n_forwarded;          /* taken into custody by a peer broker */
    uint64_t n_replayed;           /* put back in a queue from the replay window */
    uint64_t n_pruned;             /* left the replay window when it passed */
    uint64_t n_forgotten;          /* deleted from it: withdrawn referral, revoked node */
};

/* ---------------------------------------------------------------- config */

hv_err hv_broker_config_load(const char *path, hv_broker_config *cfg, hv_errmsg *e)
{
#define F(sec, key, type, req, min, max, field, expect)                                        \
    {sec, key, type, req, min, max, offsetof(hv_broker_config, field),                        \
     sizeof(((hv_broker_config *)0)->field), expect}
    static const hv_cfg_field fields[] = {
        F("broker", "id", HV_CFG_STRING, true, 0, 0, id, "this broker's node id"),
        F("broker", "keys", HV_CFG_STRING, true, 0, 0, keys, "the path of its .key file"),
        F("broker", "authority", HV_CFG_STRING, true, 0, 0, authority,
          "the path of the network authority's .pub file"),
        F("broker", "registry", HV_CFG_STRING, true, 0, 0, registry,
          "the path of the signed registry"),
        F("broker", "store", HV_CFG_STRING, true, 0, 0, store, "the path of the store file"),
        F("broker", "bind", HV_CFG_STRING, false, 0, 0, bind,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7301"),
        F("broker", "log_level", HV_CFG_STRING, false, 0, 0, log_level,
          "debug, info, warn or error"),
        F("limits", "max_message_bytes", HV_CFG_UINT, false, 1024, HV_CONTROL_MAX, max_message,
          "a size in bytes from 1024 to the protocol maximum (1049224)"),
        F("limits", "rate_per_second", HV_CFG_UINT, false, 1, 1000000, rate_per_second,
          "messages per second from 1 to 1000000"),
        F("limits", "rate_burst", HV_CFG_UINT, false, 1, 1000000, rate_burst,
          "messages from 1 to 1000000"),
        F("limits", "high_water_mark", HV_CFG_UINT, false, 10, 1000000, hwm,
          "messages from 10 to 1000000"),
        F("timing", "heartbeat_ms", HV_CFG_UINT, false, HV_HEARTBEAT_MS_MIN, HV_HEARTBEAT_MS_MAX,
          heartbeat_ms, "milliseconds from 100 to 60000"),
        F("timing", "dead_after_ms", HV_CFG_UINT, false, 300, 600000, dead_after_ms,
          "milliseconds from 300 to 600000"),
        F("timing", "lease_ms", HV_CFG_UINT, false, 100, 3600000, lease_ms,
          "milliseconds from 100 to 3600000"),
        F("timing", "retry_max_ms", HV_CFG_UINT, false, 100, 3600000, retry_max_ms,
          "milliseconds from 100 to 3600000"),
        F("store", "batch", HV_CFG_UINT, false, 1, 100000, batch,
          "messages per commit from 1 to 100000"),
        F("store", "group_ms", HV_CFG_UINT, false, 0, 100, group_ms,
          "milliseconds from 0 to 100"),
        F("custody", "replay_hours", HV_CFG_UINT, false, 0, 8760, replay_hours,
          "hours from 0 (no replay) to 8760"),
        F("federation", "peers", HV_CFG_STRING, false, 0, 0, peers,
          "broker node ids separated by commas"),
        F("federation", "bind", HV_CFG_STRING, false, 0, 0, bind_peers,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7302"),
        F("federation", "window", HV_CFG_UINT, false, 1, HV_CREDIT_MAX, peer_window,
          "envelopes from 1 to 65535"),
        F("operators", "bind", HV_CFG_STRING, false, 0, 0, bind_ops,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7303"),
        F("operators", "events", HV_CFG_STRING, false, 0, 0, bind_events,
          "a ZeroMQ endpoint such as tcp://127.0.0.1:7304"),
        F("http", "bind", HV_CFG_STRING, false, 0, 0, http_bind,
          "an IPv4 address and port such as 127.0.0.1:7380"),
        F("http", "token", HV_CFG_STRING, false, 0, 0, http_token,
          "a secret of 16 to 128 characters"),
    };
#undef F
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->log_level, "info");
    cfg->max_message = HV_CONTROL_MAX;
    cfg->rate_per_second = 5000;
    cfg->rate_burst = 10000;
    cfg->hwm = 10000;
    cfg->heartbeat_ms = 1000;
    cfg->dead_after_ms = 3000;
    cfg->lease_ms = 10000;
    cfg->retry_max_ms = 30000;
    cfg->batch = 512;
    cfg->group_ms = 0;
    cfg->replay_hours = 72;
    cfg->peer_window = 256;
    hv_err err = hv_config_load(path, fields, sizeof fields / sizeof fields[0], cfg, e);
    if (err != HV_OK)
        return err;
    if (!hv_node_id_valid_cstr(cfg->id))
        return hv_fail(e, HV_ECONFIG, "%s: key 'id' in [broker]: '%s' is not a node id", path,
                       cfg->id);
    if (hv_log_level_from_name(cfg->log_level) < 0)
        return hv_fail(e, HV_ECONFIG, "%s: key 'log_level' in [broker]: expected debug, info, "
                       "warn or error", path);
    if (cfg->dead_after_ms <= cfg->heartbeat_ms)
        return hv_fail(e, HV_ECONFIG, "%s: key 'dead_after_ms' in [timing]: expected more than "
                       "heartbeat_ms (%llu)", path, (unsigned long long)cfg->heartbeat_ms);
    /* Relative paths are relative to the configuration file. */
    char *paths[] = {cfg->keys, cfg->authority, cfg->registry, cfg->store};
    return hv_config_resolve_paths(path, paths, sizeof paths / sizeof paths[0], PATH_MAX, e);
}

/* Records a transition of message `id` in the audit log. The record
 * commits with the store's next transaction (s_commit), which must be the
 * one holding the change it records. */
static void s_audit(hv_broker *b, const uint8_t id[16], const char *event, const char *by)
{
    if (b->audit != NULL && hv_audit_add(b->audit, b->cfg.id, id, event, by) != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "event=%s", event);
}

/* Learns how far the audit file is durable, so that a commit can drop
 * the store's copies of those records. A thread of the audit log
 * syncs it every S_AUDIT_SYNC_MS (hv_audit_sync_every), so that the loop
 * never waits for that fdatasync; `now_please` syncs here and now (at
 * start and on the way out). Often and small: a second's worth of records
 * synced at once (megabytes at full load) stalled the store's next
 * commits behind it (p99 at half load 19-21 ms with 1 s, 8-13 ms with
 * 20-100 ms). */
static void s_audit_sync(hv_broker *b, bool now_please)
{
    if (b->audit == NULL)
        return;
    uint64_t synced = 0;
    hv_err err = now_please ? hv_audit_sync(b->audit, &synced)
                            : hv_audit_synced(b->audit, &synced);
    if (err != HV_OK && !b->audit_sync_failed)
        hv_log(HV_LOG_ERROR, "audit_failed", "op=sync");
    b->audit_sync_failed = err != HV_OK;
    b->audit_synced = synced;
}

/* Commits the group transaction with the audit records of its changes in
 * it (one fsync covers both), then appends those records to the audit
 * file without waiting for the disk: until s_audit_sync has made the file
 * durable the store keeps a copy, which a restart after a crash replays
 * into the file. A failed commit forgets its records with its changes. */
static hv_err s_commit(hv_broker *b)
{
    hv_err err = HV_OK;
    uint64_t release = b->audit_released;
    if (b->audit != NULL) {
        s_audit_sync(b, false);
        const char *lines;
        size_t len;
        uint64_t last;
        hv_audit_pending(b->audit, &lines, &len, &last);
        if (len > 0)
            err = hv_store_audit_put(b->store, last, lines, len);
        if (err == HV_OK && b->audit_synced > b->audit_released &&
            (err = hv_store_audit_release(b->store, b->audit_synced)) == HV_OK)
            release = b->audit_synced;
    }
    if (err == HV_OK)
        err = hv_store_commit(b->store);
    if (b->audit == NULL)
        return err;
    if (err != HV_OK) {
        hv_audit_discard(b->audit);
        return err;
    }
    b->audit_released = release;
    if (hv_audit_write(b->audit) != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "op=write"); /* kept: written again next time */
    return HV_OK;
}

static hv_err s_audit_replay_one(void *arg, const char *lines, size_t len)
{
    return hv_audit_recover(arg, lines, len);
}

/* ---------------------------------------------------------------- events */

/* Publishes one event for operators: what happened, to which type of
 * message, between which countries, how big, how long it took. Never a
 * node id, never content. Dropped rather than queued when no operator
 * keeps up: events are for watching, the store is the record. */
static void s_event(hv_broker *b, const char *event, unsigned type, const char *from_cc,
                    const char *to_cc, size_t bytes, int64_t latency_ms, unsigned code)
{
    if (b->events == NULL)
        return;
    const hv_msg_rule *rule = hv_msg_rule_get(type);
    char line[320];
    int n = snprintf(line, sizeof line,
                     "{\"at_ms\":%lld,\"broker\":\"%s\",\"event\":\"%s\",\"type\":\"%s\","
                     "\"from\":\"%s\",\"to\":\"%s\",\"bytes\":%zu,\"latency_ms\":%lld,"
                     "\"code\":\"%s\"}",
                     (long long)hv_now_ms(), b->cfg.id, event, rule ? rule->name : "",
                     from_cc ? from_cc : "", to_cc ? to_cc : "", bytes, (long long)latency_ms,
                     code ? hv_errname(code) : "");
    if (n > 0 && (size_t)n < sizeof line)
        (void)zmq_send(b->events, line, (size_t)n, ZMQ_DONTWAIT);
}

/* Logs which operators start and stop watching the events: the XPUB hands
 * up each subscription, and ZAP named the connection's node. A watcher
 * that disconnects is unsubscribed by ZeroMQ itself, with no node to
 * name. */
static void s_events_watchers(hv_broker *b)
{
    for (int i = 0; i < 64; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, b->events, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        const uint8_t *data = zmq_msg_data(&msg);
        const char *node = zmq_msg_gets(&msg, "User-Id");
        if (zmq_msg_size(&msg) >= 1 && data[0] <= 1)
            hv_log(HV_LOG_INFO, data[0] == 1 ? "events_watcher_in" : "events_watcher_out",
                   "node=%s", node != NULL && hv_node_id_valid_cstr(node) ? node : "unnamed");
        zmq_msg_close(&msg);
    }
}

/* The countries of an envelope's sender and recipient, from the registry. */
static void s_countries(hv_broker *b, const uint8_t *env_bytes, size_t len, unsigned *type,
                        char from_cc[3], char to_cc[3])
{
    hv_envelope env;
    from_cc[0] = to_cc[0] = '\0';
    *type = 0;
    if (b->events == NULL || hv_envelope_decode(env_bytes, len, &env) != HV_OK)
        return;
    const hv_node *f = hv_registry_find(b->reg, env.from), *t = hv_registry_find(b->reg, env.to);
    *type = env.type;
    snprintf(from_cc, 3, "%s", f ? f->country : "");
    snprintf(to_cc, 3, "%s", t ? t->country : "");
}

/* --------------------------------------------------------------- sending */

/* Sends one control message to a routing id. Returns HV_OK, HV_EUNROUTABLE
 * when the peer is gone, HV_ERATE when its queue is full. */
static hv_err s_send_to(void *sock, const uint8_t *rid, size_t rid_len,
                        const hv_control *m)
{
    uint8_t *buf;
    size_t len;
    hv_err err = hv_control_encode(m, &buf, &len);
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "encode_failed", "cmd=%s", hv_cmd_name(m->cmd));
        return err;
    }
    /* A session without a routing id is our own link to a peer (DEALER). */
    if ((rid_len > 0 && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
        zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
        err = errno == EAGAIN ? HV_ERATE : HV_EUNROUTABLE;
    free(buf);
    return err;
}

static hv_err s_send(s_session *s, const hv_control *m)
{
    hv_err err = s_send_to(s->sock, s->rid, s->rid_len, m);
    if (err == HV_OK)
        s->last_send = hv_mono_ms();
    return err;
}

static void s_error_to(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len, hv_err code,
                       const uint8_t *id, const char *text)
{
    hv_control m;
    memset(&m, 0, sizeof m);
    m.cmd = HV_CMD_ERROR;
    m.code = (uint16_t)code;
    if (id != NULL) {
        memcpy(m.msg_id, id, 16);
        m.has_msg_id = true;
    }
    snprintf(m.text, sizeof m.text, "%s", text);
    (void)s_send_to(sock, rid, rid_len, &m);
    b->n_refused++;
    s_event(b, "refused", 0, NULL, NULL, 0, -1, code);
}

/* -------------------------------------------------------------- sessions */

static s_session *s_find_rid(hv_broker *b, void *sock, const uint8_t *rid, size_t len)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].sock == sock && b->sessions[i].rid_len == len &&
            memcmp(b->sessions[i].rid, rid, len) == 0)
            return &b->sessions[i];
    return NULL;
}

/* The session of a node connected to us (never our own links to peers). */
static s_session *s_find_node(hv_broker *b, const char *node)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].ready && !b->sessions[i].outgoing &&
            strcmp(b->sessions[i].node, node) == 0)
            return &b->sessions[i];
    return NULL;
}

/* The ready session served from queue `key` (a node id, or "@peer"). */
static s_session *s_find_queue(hv_broker *b, const char *key)
{
    for (size_t i = 0; i < b->n_sessions; i++)
        if (b->sessions[i].ready && strcmp(b->sessions[i].queue, key) == 0)
            return &b->sessions[i];
    return NULL;
}

/* True when `id` is a broker this one peers with. */
static bool s_is_peer(const hv_broker *b, const char *id)
{
    for (size_t i = 0; i < b->n_peers; i++)
        if (strcmp(b->peer_ids[i], id) == 0)
            return true;
    return false;
}

/* Forgets a session; its in-flight deliveries stay queued and are sent
 * again on its next session. */
static void s_count_attempts(hv_broker *b, const s_session *s)
{
    hv_err err = s->n_flight > 0 ? hv_store_begin(b->store) : HV_OK;
    for (size_t i = 0; err == HV_OK && i < s->n_flight; i++)
        err = hv_store_attempted(b->store, s->flight[i].id);
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=attempted node=%s", s->node);
}

static void s_drop(hv_broker *b, s_session *s, const char *why)
{
    if (s->ready)
        hv_log(HV_LOG_INFO, "session_closed", "node=%s reason=\"%s\" in_flight=%zu", s->node,
               why, s->n_flight);
    s_count_attempts(b, s);
    free(s->flight);
    size_t index = (size_t)(s - b->sessions);
    b->sessions[index] = b->sessions[--b->n_sessions];
}

static s_session *s_new_session(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len,
                                const char *node)
{
    if (b->n_sessions == b->cap_sessions) {
        size_t cap = b->cap_sessions ? b->cap_sessions * 2 : 16;
        s_session *grown = realloc(b->sessions, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        b->sessions = grown;
        b->cap_sessions = cap;
    }
    s_session *s = &b->sessions[b->n_sessions++];
    memset(s, 0, sizeof *s);
    s->sock = sock;
    s->peer = sock != NULL && sock == b->peer_router;
    if (rid_len > 0)
        memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    snprintf(s->node, sizeof s->node, "%s", node);
    snprintf(s->queue, sizeof s->queue, "%s", node);
    s->last_recv = s->last_send = s->tokens_at = hv_mono_ms();
    s->tokens = (double)b->cfg.rate_burst;
    s->backoff_ms = 100;
    return s;
}

/* Restarts delivery to `s` from the oldest unacknowledged message, after a
 * backoff: a lease ran out, so the recipient may be stuck. */
static void s_restart_delivery(hv_broker *b, s_session *s, int64_t now)
{
    s_count_attempts(b, s);
    b->n_redelivered += s->n_flight;
    hv_log(HV_LOG_WARN, "lease_expired", "node=%s in_flight=%zu retry_in_ms=%lld", s->node,
           s->n_flight, (long long)s->backoff_ms);
    s->n_flight = 0;
    s->cursor = 0;
    s->maybe_more = true;
    s->paused_until = now + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > (int64_t)b->cfg.retry_max_ms ? (int64_t)b->cfg.retry_max_ms
                                                                       : s->backoff_ms * 2;
}

/* ------------------------------------------------------------- delivery */

typedef struct s_deliver_ctx {
    hv_broker *b;     /* broker */
    s_session *s;     /* recipient's session */
    bool blocked;     /* the socket refused more */
    bool gone;        /* the peer disappeared */
    size_t sent;      /* deliveries made */
} s_deliver_ctx;

static bool s_deliver_one(void *arg, int64_t seq, const uint8_t id[16], const uint8_t *env,
                          size_t len, unsigned attempts)
{
    s_deliver_ctx *d = arg;
    s_session *s = d->s;
    hv_control m;
    memset(&m, 0, sizeof m);
    /* To a peer broker we are a client: it takes custody with SEND/STORED. */
    m.cmd = s->outgoing ? HV_CMD_SEND : HV_CMD_DELIVER;
    m.attempt = s->outgoing ? 0 : attempts + 1;
    m.envelope = env;
    m.envelope_len = len;
    hv_err err = s_send(s, &m);
    if (err != HV_OK) {
        d->blocked = err == HV_ERATE;
        d->gone = err == HV_EUNROUTABLE;
        return false;
    }
    if (s->n_flight == s->cap_flight) {
        size_t cap = s->cap_flight ? s->cap_flight * 2 : 16;
        s_flight *grown = realloc(s->flight, cap * sizeof *grown);
        if (grown == NULL)
            return false; /* delivered but untracked: the lease check resends it */
        s->flight = grown;
        s->cap_flight = cap;
    }
    s_flight *f = &s->flight[s->n_flight++];
    f->seq = seq;
    memcpy(f->id, id, 16);
    f->sent_ms = hv_mono_ms();
    s->cursor = seq;
    d->sent++;
    d->b->n_delivered++;
    if (d->b->events != NULL) {
        unsigned type;
        char from_cc[3], to_cc[3];
        s_countries(d->b, env, len, &type, from_cc, to_cc);
        s_event(d->b, s->outgoing ? "forwarding" : (attempts > 0 ? "redelivered" : "delivered"),
                type, from_cc, to_cc, len, -1, 0);
    }
    return true;
}

static void s_deliver(hv_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->n_sessions; i++) {
        s_session *s = &b->sessions[i];
        if (!s->ready || !s->maybe_more || now < s->paused_until || s->n_flight >= s->window)
            continue;
        size_t room = s->window - s->n_flight;
        s_deliver_ctx d = {.b = b, .s = s};
        if (hv_store_next(b->store, s->queue, s->cursor, room, s_deliver_one, &d) != HV_OK) {
            hv_log(HV_LOG_ERROR, "store_failed", "op=next node=%s", s->node);
            continue;
        }
        if (d.gone && !s->outgoing) {
            s_drop(b, s, "peer unreachable");
            i--;
            continue;
        }
        /* Fewer rows than asked and no refusal: this node's queue is empty. */
        if (!d.blocked && d.sent < room)
            s->maybe_more = false;
    }
}

/* -------------------------------------------------------------- notices */

static bool s_notice_one(void *arg, const uint8_t id[16], unsigned code, const char *reason)
{
    s_deliver_ctx *d = arg;
    hv_control m;
    memset(&m, 0, sizeof m);
    memcpy(m.msg_id, id, 16);
    m.has_msg_id = true;
    if (code == HV_EEXPIRED) {
        m.cmd = HV_CMD_EXPIRED;
    } else {
        m.cmd = HV_CMD_ERROR;
        m.code = (uint16_t)code;
        snprintf(m.text, sizeof m.text, "%s", reason ? reason : "");
    }
    return s_send(d->s, &m) == HV_OK;
}

/* Sends `node` the notices it is owed, if it is connected; a node homed at
 * a peer broker hears through that broker, over our link to it. */
static void s_send_notices(hv_broker *b, const char *node)
{
    s_session *s = s_find_node(b, node);
    if (s == NULL) {
        const hv_node *n = hv_registry_find(b->reg, node);
        char key[HV_NODE_ID_MAX + 2];
        if (n == NULL || !s_is_peer(b, n->home))
            return;
        snprintf(key, sizeof key, "@%s", n->home);
        if ((s = s_find_queue(b, key)) == NULL)
            return;
    }
    s_deliver_ctx d = {.b = b, .s = s};
    if (hv_store_notices(b->store, node, S_NOTICES_PER_HELLO, s_notice_one, &d) != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=notices node=%s", node);
}

/* ------------------------------------------------------------ requests */

static bool s_rate_ok(hv_broker *b, s_session *s, int64_t now)
{
    s->tokens += (double)(now - s->tokens_at) * (double)b->cfg.rate_per_second / 1000.0;
    s->tokens_at = now;
    if (s->tokens > (double)b->cfg.rate_burst)
        s->tokens = (double)b->cfg.rate_burst;
    if (s->tokens < 1.0)
        return false;
    s->tokens -= 1.0;
    return true;
}

/* Consent withdrawn, or the erasure confirmed: what the replay window
 * keeps of the referral goes, in the transaction that stores the message
 * (docs/DECISIONS.md, "A replay window at the home broker"). */
static void s_forget_referral(hv_broker *b, const uint8_t referral[16], const char *why)
{
    size_t n = 0;
    char hex[33];
    hv_hex(referral, 16, hex);
    if (hv_store_forget_referral(b->store, referral, &n) != HV_OK) {
        hv_log(HV_LOG_ERROR, "store_failed", "op=forget_referral referral=%s", hex);
        return;
    }
    b->n_forgotten += n;
    if (n > 0)
        hv_log(HV_LOG_INFO, "replay_forgotten", "referral=%s reason=%s count=%zu", hex, why, n);
}

/* Validates a SEND and stores it; a STORED is owed after the commit. */
static void s_on_send(hv_broker *b, s_session *s, const hv_control *m, int64_t now)
{
    hv_envelope env;
    hv_err err = hv_envelope_decode(m->envelope, m->envelope_len, &env);
    char text[HV_CONTROL_TEXT_MAX + 1];
    if (err != HV_OK) {
        hv_log(HV_LOG_WARN, "refused", "node=%s reason=%s", s->node, hv_errname(err));
        s_error_to(b, s->sock, s->rid, s->rid_len, err, NULL, "envelope refused: undecodable");
        return;
    }
    const hv_msg_rule *rule = hv_msg_rule_get(env.type);
    const hv_node *sender = hv_registry_find(b->reg, s->peer ? env.from : s->node);
    const hv_node *rcpt = hv_registry_find(b->reg, env.to);
    int64_t now_ms = hv_now_ms();
    int64_t expires = (int64_t)env.created_at_ms + (int64_t)env.ttl_s * 1000;
    err = HV_OK;
    /* Where it goes: a local queue, or the queue of the peer broker where
     * the recipient is homed. */
    char queue[HV_NODE_ID_MAX + 2] = "";
    if (s->peer) {
        /* From a peer broker: the sender must be one of that broker's own
         * nodes, and the recipient one of ours (no transit through a third
         * broker; the hop limit guards against loops regardless). */
        if (sender == NULL || strcmp(sender->home, s->node) != 0) {
            err = HV_EAUTH;
            snprintf(text, sizeof text, "from '%s' is not homed at peer '%s'", env.from,
                     s->node);
        } else if (env.hops >= HV_HOPS_MAX) {
            err = HV_EUNROUTABLE;
            snprintf(text, sizeof text, "crossed %u brokers already", env.hops);
        }
    } else if (strcmp(env.from, s->node) != 0) {
        err = HV_EAUTH;
        snprintf(text, sizeof text, "from '%s' is not the authenticated node '%s'", env.from,
                 s->node);
    }
    if (err != HV_OK) {
        /* already explained */
    } else if (sender == NULL || memcmp(env.from_kid, sender->keys.key_id, 8) != 0) {
        err = HV_EAUTH;
        snprintf(text, sizeof text, "from_kid is not the sender's current key id");
    } else if (!(rule->sender_roles & HV_ROLE_BIT(sender->role))) {
        err = HV_EFORBIDDEN;
        snprintf(text, sizeof text, "role %s may not send %s", hv_role_name(sender->role),
                 rule->name);
    } else if (rcpt == NULL || !hv_node_active(rcpt, (uint64_t)(now_ms / 1000))) {
        err = HV_EUNROUTABLE;
        snprintf(text, sizeof text, "recipient '%s' is not an active node", env.to);
    } else if (!(rule->rcpt_roles & HV_ROLE_BIT(rcpt->role))) {
        err = HV_EFORBIDDEN;
        snprintf(text, sizeof text, "%s may not be sent to role %s", rule->name,
                 hv_role_name(rcpt->role));
    } else if (memcmp(env.to_kid, rcpt->keys.key_id, 8) != 0) {
        err = HV_EADDRESS;
        snprintf(text, sizeof text, "to_kid is not the recipient's current key id");
    } else if (strcmp(rcpt->home, b->cfg.id) == 0) {
        snprintf(queue, sizeof queue, "%s", env.to);
    } else if (!s->peer && s_is_peer(b, rcpt->home)) {
        snprintf(queue, sizeof queue, "@%s", rcpt->home);
    } else {
        err = HV_EUNROUTABLE;
        snprintf(text, sizeof text, "recipient '%s' is homed at '%s', which this broker does "
                 "not peer with", env.to, rcpt->home);
    }
    if (err != HV_OK) {
        /* already explained */
    } else if (expires <= now_ms) {
        err = HV_EEXPIRED;
        snprintf(text, sizeof text, "time to live already passed");
    } else if ((int64_t)env.created_at_ms > now_ms + S_CLOCK_SKEW_MS) {
        err = HV_EINVAL;
        snprintf(text, sizeof text, "created_at is more than 10 minutes in the future");
    } else if (!s_rate_ok(b, s, now)) {
        err = HV_ERATE;
        snprintf(text, sizeof text, "rate limit of %llu messages per second exceeded",
                 (unsigned long long)b->cfg.rate_per_second);
    }
    char idhex[33];
    hv_hex(env.id, 16, idhex);
    if (err != HV_OK) {
        hv_log(HV_LOG_WARN, "refused", "node=%s id=%s type=%s reason=%s", s->node, idhex,
               rule->name, hv_errname(err));
        s_error_to(b, s->sock, s->rid, s->rid_len, err, env.id, text);
        return;
    }
    /* Bound for a peer: it crosses one more broker. The hop count is not
     * signed (DECISIONS.md), so raising it leaves the signature intact. */
    uint8_t *forward = NULL;
    size_t forward_len = 0;
    if (queue[0] == '@') {
        env.hops++;
        if (hv_envelope_encode(&env, &forward, &forward_len) != HV_OK) {
            s_error_to(b, s->sock, s->rid, s->rid_len, HV_ENOMEM, env.id, "try again later");
            return;
        }
    }
    hv_stored rec = {.id = env.id,
                     .sender = env.from,
                     .recipient = queue,
                     .type = env.type,
                     .envelope = forward ? forward : m->envelope,
                     .envelope_len = forward ? forward_len : m->envelope_len,
                     .expires_ms = expires,
                     .referral = env.referral};
    bool dup = false;
    if ((err = hv_store_begin(b->store)) == HV_OK)
        err = hv_store_put(b->store, &rec, now_ms, &dup);
    free(forward);
    if (err == HV_EEXIST) {
        s_error_to(b, s->sock, s->rid, s->rid_len, HV_EEXIST, env.id, "message id already in use");
        return;
    }
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "store_failed", "op=put id=%s", idhex);
        s_error_to(b, s->sock, s->rid, s->rid_len, HV_ESTORE, env.id, "store failed; send again later");
        return;
    }
    s_pending *p = &b->pending[b->n_pending++];
    p->sock = s->sock;
    memcpy(p->rid, s->rid, s->rid_len);
    p->rid_len = s->rid_len;
    memcpy(p->id, env.id, 16);
    snprintf(p->recipient, sizeof p->recipient, "%s", dup ? "" : queue);
    p->type = dup ? 0 : env.type;
    snprintf(p->from_cc, sizeof p->from_cc, "%s", sender->country);
    snprintf(p->to_cc, sizeof p->to_cc, "%s", rcpt->country);
    p->bytes = (uint32_t)m->envelope_len;
    if (!dup)
        s_audit(b, env.id, "stored", env.from); /* commits with the row */
    if (!dup && (env.type == HV_MSG_WITHDRAW || env.type == HV_MSG_WITHDRAWN))
        s_forget_referral(b, env.referral, rule->name);
    hv_log(HV_LOG_DEBUG, dup ? "duplicate" : "stored", "id=%s type=%s from=%s to=%s bytes=%zu",
           idhex, rule->name, env.from, env.to, m->envelope_len);
}

static void s_on_ack(hv_broker *b, s_session *s, const hv_control *m, bool nack)
{
    size_t i = 0;
    while (i < s->n_flight && memcmp(s->flight[i].id, m->msg_id, 16) != 0)
        i++;
    const hv_node *me = hv_registry_find(b->reg, s->node);
    if (i < s->n_flight) {
        int64_t ms = hv_mono_ms() - s->flight[i].sent_ms;
        s_event(b, nack ? "nacked" : "acked", 0, NULL, me ? me->country : "", 0, ms,
                nack ? m->code : 0);
        double sec = (double)ms / 1000.0;
        size_t k = 0;
        while (k < S_LAT_BUCKETS && sec > s_lat_le[k])
            k++;
        b->latency_buckets[k]++;
        b->latency_sum_s += sec;
        b->latency_count++;
    }
    if (i < s->n_flight) {
        memmove(&s->flight[i], &s->flight[i + 1], (s->n_flight - i - 1) * sizeof *s->flight);
        s->n_flight--;
        s->backoff_ms = 100;
    }
    bool found = false;
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK && nack) {
        char reason[HV_CONTROL_TEXT_MAX + HV_NODE_ID_MAX + 16];
        snprintf(reason, sizeof reason, "refused by %s: %s", s->node, m->text);
        char sender[HV_NODE_ID_MAX + 1];
        err = hv_store_bury(b->store, m->msg_id, s->node, m->code, reason, hv_now_ms(), &found,
                            sender);
        if (err == HV_OK && found && b->n_notify < b->cfg.batch)
            memcpy(b->notify[b->n_notify++], sender, sizeof sender);
        if (err == HV_OK && found) {
            char idhex[33];
            hv_hex(m->msg_id, 16, idhex);
            hv_log(HV_LOG_WARN, "dead_letter", "id=%s recipient=%s code=%u", idhex, s->node,
                   m->code);
            s_audit(b, m->msg_id, "dead_letter", s->node);
        }
    } else if (err == HV_OK) {
        /* A worker's ACK keeps the envelope for the replay window; a peer
         * broker never ACKs deliveries (it answers STORED to our SEND). */
        bool retain = b->cfg.replay_hours > 0 && !s->peer && !s->outgoing;
        err = hv_store_ack(b->store, m->msg_id, s->node, hv_now_ms(), retain, &found);
        if (err == HV_OK && found) {
            b->n_acked++;
            s_audit(b, m->msg_id, "delivered", s->node);
        }
        /* Otherwise it may be a notice this node acknowledges. */
        if (err == HV_OK && !found)
            err = hv_store_notice_done(b->store, s->node, m->msg_id, &found);
    }
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=%s node=%s", nack ? "nack" : "ack", s->node);
}

static void s_commit_and_reply(hv_broker *b, bool now_please);

/* A restored worker asks for what it acknowledged since its backup: back
 * into its queue, committed before READY goes out, so that a client that
 * forgets its request on READY has it durably. Asking for more than the
 * window gives the window. Returns false when the store failed. */
static bool s_replay(hv_broker *b, s_session *s, uint64_t since)
{
    int64_t now_ms = hv_now_ms();
    int64_t from = (int64_t)since;
    int64_t window_start = now_ms - (int64_t)b->cfg.replay_hours * S_HOUR_MS;
    if (from < window_start)
        from = window_start;
    size_t n = 0;
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK)
        err = hv_store_replay(b->store, s->node, from, now_ms, &n);
    if (err == HV_OK)
        err = hv_store_in_transaction(b->store) ? HV_OK : HV_ESTORE;
    if (err == HV_OK) {
        s_commit_and_reply(b, true);
        err = hv_store_in_transaction(b->store) ? HV_ESTORE : HV_OK;
    }
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "store_failed", "op=replay node=%s", s->node);
        return false;
    }
    b->n_replayed += n;
    hv_log(HV_LOG_INFO, "replay", "node=%s since_ms=%llu from_ms=%lld count=%zu", s->node,
           (unsigned long long)since, (long long)from, n);
    return true;
}

static void s_on_hello(hv_broker *b, s_session *s, const hv_control *m)
{
    const hv_node *node = hv_registry_find(b->reg, s->node);
    /* Workers on the workers' socket; on the peers' socket, only brokers
     * this one is configured to peer with (ZAP checked the key already). */
    bool role_ok = node != NULL && (s->peer ? node->role == HV_ROLE_BROKER && s_is_peer(b, node->id)
                                            : node->role != HV_ROLE_BROKER);
    if (strcmp(m->node_id, s->node) != 0 || node == NULL ||
        !hv_node_active(node, (uint64_t)time(NULL)) || !role_ok) {
        s_error_to(b, s->sock, s->rid, s->rid_len, HV_EAUTH, NULL,
                   "HELLO names another node, or this node is not active");
        s_drop(b, s, "bad HELLO");
        return;
    }
    /* A node has one session: a reconnecting worker replaces its old one. */
    s_session *old = s_find_node(b, s->node);
    if (old != NULL && old != s) {
        size_t mine = (size_t)(s - b->sessions);
        bool moved = mine == b->n_sessions - 1;
        s_drop(b, old, "replaced by a new connection");
        if (moved) /* s_drop moved the last session into the freed slot */
            s = old;
    }
    /* Replay is for workers: a peer broker's link has no such history. */
    if (m->replay_since != 0 && (s->peer || !s_replay(b, s, m->replay_since))) {
        s_error_to(b, s->sock, s->rid, s->rid_len, s->peer ? HV_EPROTO : HV_ESTORE, NULL,
                   s->peer ? "a broker may not ask for replay" : "replay failed; say HELLO again");
        s_drop(b, s, "replay refused");
        return;
    }
    /* A HELLO again on the same connection starts delivery afresh. */
    if (s->ready) {
        s_count_attempts(b, s);
        s->n_flight = 0;
    }
    s->ready = true;
    s->up_since = hv_now_ms();
    s->role = node->role;
    s->window = m->credit > 0 ? m->credit : 1;
    s->maybe_more = true;
    s->cursor = 0;
    hv_control r;
    memset(&r, 0, sizeof r);
    r.cmd = HV_CMD_READY;
    snprintf(r.node_id, sizeof r.node_id, "%s", b->cfg.id);
    r.heartbeat_ms = (uint32_t)b->cfg.heartbeat_ms;
    r.max_message = (uint32_t)b->cfg.max_message;
    (void)s_send(s, &r);
    hv_log(HV_LOG_INFO, s->peer ? "peer_up" : "session_ready", "node=%s role=%s window=%u%s",
           s->node, hv_role_name(s->role), s->window, s->peer ? " direction=in" : "");
    s_send_notices(b, s->node);
}

/* A peer broker reports what became of a message we forwarded to it (its
 * recipient refused it, or it expired there). The notice is kept for the
 * message's sender here, and the peer hears STORED once it is committed. */
static void s_on_peer_notice(hv_broker *b, s_session *s, const hv_control *m)
{
    unsigned code = m->cmd == HV_CMD_EXPIRED ? HV_EEXPIRED : m->code;
    char reason[HV_CONTROL_TEXT_MAX + 1];
    snprintf(reason, sizeof reason, "%s",
             m->cmd == HV_CMD_EXPIRED ? "time to live passed before delivery" : m->text);
    bool found = false;
    char sender[HV_NODE_ID_MAX + 1] = "";
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK)
        err = hv_store_notice_relay(b->store, m->msg_id, code, reason, &found, sender);
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "store_failed", "op=relay_notice peer=%s", s->node);
        return; /* no STORED: the peer reports it again */
    }
    if (found && b->n_notify < b->cfg.batch)
        memcpy(b->notify[b->n_notify++], sender, sizeof sender);
    s_pending *p = &b->pending[b->n_pending++];
    p->sock = s->sock;
    memcpy(p->rid, s->rid, s->rid_len);
    p->rid_len = s->rid_len;
    memcpy(p->id, m->msg_id, 16);
    p->recipient[0] = '\0';
    p->type = 0;
}

/* Handles one frame from a routing id. */
static void s_on_frame(hv_broker *b, void *sock, const uint8_t *rid, size_t rid_len,
                       zmq_msg_t *body, bool extra_frames, int64_t now)
{
    const char *user = zmq_msg_gets(body, "User-Id");
    if (user == NULL || !hv_node_id_valid_cstr(user))
        return; /* cannot happen with ZAP enforced; never serve an unnamed peer */
    s_session *s = s_find_rid(b, sock, rid, rid_len);
    hv_control m;
    hv_err err = extra_frames ? HV_EDECODE
                              : hv_control_decode(zmq_msg_data(body), zmq_msg_size(body), &m);
    if (err != HV_OK) {
        /* Garbage from a peer closes that peer's session. */
        hv_log(HV_LOG_WARN, "garbage", "node=%s reason=%s bytes=%zu", user, hv_errname(err),
               zmq_msg_size(body));
        s_error_to(b, sock, rid, rid_len, err, NULL, "undecodable frame; closing the session");
        hv_control bye = {.cmd = HV_CMD_BYE};
        (void)s_send_to(sock, rid, rid_len, &bye);
        if (s != NULL)
            s_drop(b, s, "garbage");
        return;
    }
    if (s == NULL) {
        if (m.cmd != HV_CMD_HELLO) {
            s_error_to(b, sock, rid, rid_len, HV_EPROTO, NULL, "send HELLO first");
            return;
        }
        if ((s = s_new_session(b, sock, rid, rid_len, user)) == NULL)
            return;
    }
    s->last_recv = now;
    if (!s->ready && m.cmd != HV_CMD_HELLO) {
        s_error_to(b, sock, rid, rid_len, HV_EPROTO, NULL, "send HELLO first");
        return;
    }
    switch (m.cmd) {
    case HV_CMD_HELLO:
        s_on_hello(b, s, &m);
        break;
    case HV_CMD_SEND:
        s_on_send(b, s, &m, now);
        break;
    case HV_CMD_ACK:
        s_on_ack(b, s, &m, false);
        break;
    case HV_CMD_NACK:
        s_on_ack(b, s, &m, true);
        break;
    case HV_CMD_CREDIT:
        s->window = s->window + m.credit > HV_CREDIT_MAX ? HV_CREDIT_MAX : s->window + m.credit;
        break;
    case HV_CMD_HEARTBEAT:
        break;
    case HV_CMD_BYE:
        s_drop(b, s, "client said BYE");
        break;
    case HV_CMD_EXPIRED:
    case HV_CMD_ERROR:
        if (s->peer && (m.cmd == HV_CMD_EXPIRED || m.has_msg_id)) {
            s_on_peer_notice(b, s, &m);
            break;
        }
        s_error_to(b, sock, rid, rid_len, HV_EPROTO, NULL, "a client may not send this command");
        break;
    default:
        s_error_to(b, sock, rid, rid_len, HV_EPROTO, NULL, "a client may not send this command");
        break;
    }
}

/* Reads up to one batch of frames from a ROUTER. Returns how many. */
static size_t s_drain(hv_broker *b, void *sock, int64_t now)
{
    size_t n = 0;
    while (n < b->cfg.batch && b->n_pending < b->cfg.batch) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            break;
        }
        zmq_msg_init(&body);
        if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, sock, 0) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            continue;
        }
        /* Haven frames are single-part: read and refuse anything more. */
        bool extra = false;
        int more = zmq_msg_more(&body);
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            more = zmq_msg_recv(&part, sock, 0) >= 0 && zmq_msg_more(&part);
            zmq_msg_close(&part);
            extra = true;
        }
        if (zmq_msg_size(&rid) <= S_RID_MAX)
            s_on_frame(b, sock, zmq_msg_data(&rid), zmq_msg_size(&rid), &body, extra, now);
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
        n++;
    }
    return n;
}

/* Whether the group transaction should commit now: it is full, or its
 * first change has waited group_ms. By default (0) every pass of the loop
 * commits what it gathered, which batches as many changes as arrive during
 * one fsync; waiting longer lets one commit (and the pages every commit
 * rewrites: each b-tree's newest leaf, its parents, the file header) serve
 * more messages, at the price of that wait in every message's latency
 * (docs/DECISIONS.md). */
static bool s_group_due(hv_broker *b, int64_t now_us)
{
    if (b->n_pending == 0 && !hv_store_in_transaction(b->store)) {
        b->group_start_us = 0;
        return false;
    }
    if (b->group_start_us == 0)
        b->group_start_us = now_us;
    return b->n_pending >= b->cfg.batch || now_us - b->group_start_us >= (int64_t)b->cfg.group_ms * 1000;
}

/* Commits the batch when it is due (or `now_please`), then tells each
 * sender its messages are stored. */
static void s_commit_and_reply(hv_broker *b, bool now_please)
{
    if (!s_group_due(b, hv_mono_us()) && !now_please)
        return;
    b->group_start_us = 0;
    hv_err err = s_commit(b);
    if (b->n_pending > 0)
        b->n_commits++;
    for (size_t i = 0; i < b->n_pending; i++) {
        s_pending *p = &b->pending[i];
        if (err != HV_OK) {
            s_error_to(b, p->sock, p->rid, p->rid_len, HV_ESTORE, p->id, "store failed; send again later");
            continue;
        }
        hv_control m = {.cmd = HV_CMD_STORED};
        memcpy(m.msg_id, p->id, 16);
        s_session *s = s_find_rid(b, p->sock, p->rid, p->rid_len);
        if (s != NULL)
            (void)s_send(s, &m);
        else
            (void)s_send_to(p->sock, p->rid, p->rid_len, &m);
        if (p->type != 0) {
            s_event(b, "stored", p->type, p->from_cc, p->to_cc, p->bytes, -1, 0);
            size_t f = 0;
            while (f < b->n_flows && (strcmp(b->flows[f].from, p->from_cc) != 0 ||
                                      strcmp(b->flows[f].to, p->to_cc) != 0))
                f++;
            if (f == b->n_flows && f < S_FLOWS_MAX) {
                memcpy(b->flows[f].from, p->from_cc, 3);
                memcpy(b->flows[f].to, p->to_cc, 3);
                b->n_flows++;
            }
            if (f < b->n_flows)
                b->flows[f].count++;
        }
        if (p->recipient[0] != '\0') {
            b->n_stored++;
            s_session *r = s_find_queue(b, p->recipient);
            if (r != NULL)
                r->maybe_more = true;
        }
    }
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=commit batch=%zu", b->n_pending);
    b->n_pending = 0;
    /* Dead letters made in this batch: tell their senders now. */
    for (size_t i = 0; err == HV_OK && i < b->n_notify; i++)
        s_send_notices(b, b->notify[i]);
    b->n_notify = 0;
}

/* ------------------------------------------------------------ peer links */

/* (Re)connects our link to the peer broker `s->node`: a DEALER that is a
 * CurveZMQ client pinned to the peer's registered transport key, so that
 * nobody else can pose as that broker; then HELLO. What was in flight
 * stays queued here and is sent again once the peer is READY. */
static void s_link_connect(hv_broker *b, s_session *s, int64_t now)
{
    if (s->sock != NULL)
        zmq_close(s->sock);
    s->sock = NULL;
    s_count_attempts(b, s);
    s->ready = false;
    s->n_flight = 0;
    s->cursor = 0;
    s->hello_at = now;
    s->last_recv = now;
    const hv_node *peer = hv_registry_find(b->reg, s->node);
    if (peer == NULL || !hv_node_active(peer, (uint64_t)time(NULL)) ||
        peer->endpoint_peers[0] == '\0')
        return; /* tried again after dead_after_ms */
    void *sock = zmq_socket(b->ctx, ZMQ_DEALER);
    if (sock == NULL)
        return;
    char server[HV_Z85_KEY_LEN + 1], public[HV_Z85_KEY_LEN + 1], secret[HV_Z85_KEY_LEN + 1];
    hv_z85_key(peer->keys.transport, server);
    hv_z85_key(hv_keypair_public(b->keys)->transport, public);
    hv_keypair_transport_secret_z85(b->keys, secret);
    int zero = 0, hwm = (int)b->cfg.hwm, ivl = 100;
    int64_t maxmsg = (int64_t)b->cfg.max_message;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, HV_Z85_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, HV_Z85_KEY_LEN);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, HV_Z85_KEY_LEN);
    hv_memzero(secret, sizeof secret);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_connect(sock, peer->endpoint_peers) != 0) {
        hv_log(HV_LOG_ERROR, "peer_connect_failed", "peer=%s endpoint=%s", s->node,
               peer->endpoint_peers);
        zmq_close(sock);
        return;
    }
    s->sock = sock;
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 1,
                        .heartbeat_ms = (uint32_t)b->cfg.heartbeat_ms};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", b->cfg.id);
    (void)s_send(s, &hello); /* waits in the socket until the link is up */
}

static void s_link_down(hv_broker *b, s_session *s, int64_t now, const char *why)
{
    if (s->ready) {
        hv_log(HV_LOG_WARN, "peer_down", "node=%s direction=out reason=\"%s\" in_flight=%zu",
               s->node, why, s->n_flight);
        const hv_node *peer = hv_registry_find(b->reg, s->node);
        s_event(b, "peer_down", 0, NULL, peer ? peer->country : "", 0, -1, 0);
    }
    s_link_connect(b, s, now);
}

/* The peer took custody of `id`: only now is it ours to forget. */
static void s_link_stored(hv_broker *b, s_session *s, const uint8_t id[16])
{
    size_t i = 0;
    while (i < s->n_flight && memcmp(s->flight[i].id, id, 16) != 0)
        i++;
    const hv_node *peer = hv_registry_find(b->reg, s->node);
    if (i < s->n_flight)
        s_event(b, "forwarded", 0, NULL, peer ? peer->country : "", 0,
                hv_mono_ms() - s->flight[i].sent_ms, 0);
    if (i < s->n_flight) {
        memmove(&s->flight[i], &s->flight[i + 1], (s->n_flight - i - 1) * sizeof *s->flight);
        s->n_flight--;
        s->backoff_ms = 100;
    }
    bool found = false;
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK)
        err = hv_store_remove(b->store, id, s->queue, &found);
    /* Not a forwarded envelope: a notice the peer took over for its node. */
    if (err == HV_OK && !found)
        err = hv_store_notice_done_id(b->store, id, &found);
    else if (err == HV_OK) {
        b->n_forwarded++;
        s_audit(b, id, "forwarded", s->node);
    }
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=forwarded peer=%s", s->node);
}

/* Sends the peer the notices owed to the nodes homed there. */
static void s_link_notices(hv_broker *b, const s_session *s)
{
    for (size_t i = 0; i < hv_registry_count(b->reg); i++) {
        const hv_node *n = hv_registry_node(b->reg, i);
        if (strcmp(n->home, s->node) == 0)
            s_send_notices(b, n->id);
    }
}

/* The peer refused an envelope. A passing condition (its store, its rate
 * limit) means sending again later; anything else is final: the envelope
 * becomes a dead letter here and its sender is told. */
static void s_link_refused(hv_broker *b, s_session *s, const hv_control *m, int64_t now)
{
    if (m->code == HV_ESTORE || m->code == HV_ERATE) {
        s_restart_delivery(b, s, now);
        return;
    }
    size_t i = 0;
    while (i < s->n_flight && memcmp(s->flight[i].id, m->msg_id, 16) != 0)
        i++;
    if (i < s->n_flight) {
        memmove(&s->flight[i], &s->flight[i + 1], (s->n_flight - i - 1) * sizeof *s->flight);
        s->n_flight--;
    }
    char reason[HV_CONTROL_TEXT_MAX + HV_NODE_ID_MAX + 32];
    snprintf(reason, sizeof reason, "refused by broker %s: %s", s->node, m->text);
    char sender[HV_NODE_ID_MAX + 1];
    bool found = false;
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK)
        err = hv_store_bury(b->store, m->msg_id, s->queue, m->code, reason, hv_now_ms(), &found,
                            sender);
    if (err == HV_OK && found && b->n_notify < b->cfg.batch)
        memcpy(b->notify[b->n_notify++], sender, sizeof sender);
    char idhex[33];
    hv_hex(m->msg_id, 16, idhex);
    hv_log(HV_LOG_WARN, "dead_letter", "id=%s peer=%s code=%u", idhex, s->node, m->code);
    if (found)
        s_audit(b, m->msg_id, "dead_letter", s->node);
}

/* Reads what the peer sent on our link. */
static void s_link_drain(hv_broker *b, s_session *s, int64_t now)
{
    for (size_t n = 0; s->sock != NULL && n < b->cfg.batch; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        hv_control m;
        hv_err err = zmq_msg_more(&msg) ? HV_EDECODE
                                         : hv_control_decode(zmq_msg_data(&msg),
                                                             zmq_msg_size(&msg), &m);
        zmq_msg_close(&msg);
        if (err != HV_OK) {
            hv_log(HV_LOG_WARN, "garbage", "peer=%s reason=%s", s->node, hv_errname(err));
            s_link_down(b, s, now, "undecodable frame");
            return;
        }
        s->last_recv = now;
        switch (m.cmd) {
        case HV_CMD_READY:
            s->ready = true;
            s->up_since = hv_now_ms();
            s->window = (uint32_t)b->cfg.peer_window;
            s->maybe_more = true;
            s->cursor = 0;
            s->n_flight = 0;
            hv_log(HV_LOG_INFO, "peer_up", "node=%s direction=out window=%u", s->node,
                   s->window);
            {
                const hv_node *peer = hv_registry_find(b->reg, s->node);
                s_event(b, "peer_up", 0, NULL, peer ? peer->country : "", 0, -1, 0);
            }
            s_link_notices(b, s);
            break;
        case HV_CMD_STORED:
            s_link_stored(b, s, m.msg_id);
            break;
        case HV_CMD_ERROR:
            if (m.has_msg_id) {
                s_link_refused(b, s, &m, now);
            } else {
                /* The peer does not (or no longer) accept this link. */
                hv_log(HV_LOG_WARN, "peer_refused_link", "node=%s code=%s text=\"%s\"",
                       s->node, hv_errname(m.code), m.text);
                s->ready = false;
            }
            break;
        case HV_CMD_BYE:
            s_link_down(b, s, now, "peer said BYE");
            return;
        default:
            break; /* HEARTBEAT; a peer never DELIVERs on this link */
        }
    }
}

/* Creates the links to every configured peer. */
static void s_links_open(hv_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->n_peers; i++) {
        s_session *s = s_new_session(b, NULL, NULL, 0, b->peer_ids[i]);
        if (s == NULL)
            continue;
        s->outgoing = true;
        snprintf(s->queue, sizeof s->queue, "@%s", b->peer_ids[i]);
        s_link_connect(b, s, now);
    }
}

/* Times on our links: heartbeats, silence, leases. */
static void s_link_timers(hv_broker *b, s_session *s, int64_t now)
{
    if (!s->ready) {
        if (now - s->hello_at > (int64_t)b->cfg.dead_after_ms)
            s_link_connect(b, s, now); /* no READY: try afresh */
        return;
    }
    if (!b->behind && now - s->last_recv > (int64_t)b->cfg.dead_after_ms) {
        s_link_down(b, s, now, "heartbeats stopped");
        return;
    }
    if (!b->behind && s->n_flight > 0 && now - s->flight[0].sent_ms > (int64_t)b->cfg.lease_ms)
        s_restart_delivery(b, s, now);
    if (now - s->last_send >= (int64_t)b->cfg.heartbeat_ms) {
        hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
        (void)s_send(s, &hb);
    }
}

/* --------------------------------------------------------------- timers */

static void s_audit_expired(void *arg, const uint8_t id[16])
{
    hv_broker *b = arg;
    s_audit(b, id, "expired", b->cfg.id);
}

/* Forgets, one bounded batch at a time, what has left the replay window. */
static void s_prune(hv_broker *b, int64_t now)
{
    if (now < b->next_prune)
        return;
    int64_t before = hv_now_ms() - (int64_t)b->cfg.replay_hours * S_HOUR_MS;
    size_t n = 0;
    /* In the group transaction: committed with the next group (at once
     * when the broker is idle), never an fsync of its own. */
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK)
        err = hv_store_prune(b->store, before, S_PRUNE_BATCH, &n);
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=prune");
    b->n_pruned += n;
    b->next_prune = now + (n == S_PRUNE_BATCH ? S_PRUNE_AGAIN_MS : S_PRUNE_EVERY_MS);
    if (n > 0)
        hv_log(HV_LOG_DEBUG, "replay_pruned", "count=%zu", n);
}

static void s_timers(hv_broker *b, int64_t now)
{
    s_prune(b, now);
    for (size_t i = 0; i < b->n_sessions; i++) {
        s_session *s = &b->sessions[i];
        if (s->outgoing) {
            s_link_timers(b, s, now);
            continue;
        }
        /* A broker that has not read all its input cannot tell a silent
         * peer from one whose frames wait in the socket: liveness and
         * leases are judged only once it has caught up. */
        if (!b->behind && now - s->last_recv > (int64_t)b->cfg.dead_after_ms) {
            s_drop(b, s, "heartbeats stopped");
            i--;
            continue;
        }
        if (!s->ready)
            continue;
        if (!b->behind && s->n_flight > 0 &&
            now - s->flight[0].sent_ms > (int64_t)b->cfg.lease_ms)
            s_restart_delivery(b, s, now);
        if (now - s->last_send >= (int64_t)b->cfg.heartbeat_ms) {
            hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
            if (s_send(s, &hb) == HV_EUNROUTABLE) {
                s_drop(b, s, "peer unreachable");
                i--;
            }
        }
    }
    if (now >= b->next_expire) {
        b->next_expire = now + S_EXPIRE_EVERY_MS;
        size_t moved = 0;
        hv_err err = hv_store_begin(b->store);
        if (err == HV_OK)
            err = hv_store_expire(b->store, hv_now_ms(), 1000, &moved, s_audit_expired, b);
        if (err == HV_OK)
            err = s_commit(b);
        if (err != HV_OK)
            hv_log(HV_LOG_ERROR, "store_failed", "op=expire");
        if (moved > 0) {
            b->n_expired += moved;
            hv_log(HV_LOG_INFO, "expired", "count=%zu", moved);
            for (size_t k = 0; k < moved; k++)
                s_event(b, "expired", 0, NULL, NULL, 0, -1, HV_EEXPIRED);
            for (size_t i = 0; i < b->n_sessions; i++) {
                if (b->sessions[i].ready && b->sessions[i].outgoing)
                    s_link_notices(b, &b->sessions[i]);
                else if (b->sessions[i].ready && !b->sessions[i].peer)
                    s_send_notices(b, b->sessions[i].node);
            }
        }
    }
}

typedef struct s_gone_ctx {
    hv_broker *b;                         /* broker */
    char (*ids)[HV_NODE_ID_MAX + 1];      /* nodes no longer active */
    size_t n, cap;                        /* how many, allocated */
} s_gone_ctx;

static bool s_gone_one(void *arg, const char *node)
{
    s_gone_ctx *g = arg;
    const hv_node *n = hv_registry_find(g->b->reg, node);
    if (n != NULL && hv_node_active(n, (uint64_t)time(NULL)))
        return true;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        void *grown = realloc(g->ids, cap * sizeof *g->ids);
        if (grown == NULL)
            return false;
        g->ids = grown;
        g->cap = cap;
    }
    snprintf(g->ids[g->n++], sizeof g->ids[0], "%s", node);
    return true;
}

/* A node revoked, or gone from the registry, or past its validity, will
 * never ask for replay: what the window keeps for it is deleted. */
static void s_forget_inactive(hv_broker *b)
{
    s_gone_ctx g = {.b = b};
    hv_err err = hv_store_retained_nodes(b->store, s_gone_one, &g);
    size_t *counts = g.n > 0 ? calloc(g.n, sizeof *counts) : NULL;
    if (err == HV_OK && g.n > 0)
        err = counts != NULL ? hv_store_begin(b->store) : HV_ENOMEM;
    for (size_t i = 0; err == HV_OK && i < g.n; i++) {
        err = hv_store_forget_node(b->store, g.ids[i], &counts[i]);
        b->n_forgotten += counts[i];
    }
    if (err == HV_OK && g.n > 0)
        err = s_commit(b);
    /* Said once it is committed: what the log says is gone is gone. */
    for (size_t i = 0; err == HV_OK && i < g.n; i++)
        hv_log(HV_LOG_INFO, "replay_forgotten", "node=%s reason=inactive count=%zu", g.ids[i],
               counts[i]);
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=forget_inactive");
    free(counts);
    free(g.ids);
}

static void s_reload(hv_broker *b)
{
    hv_errmsg e = {""};
    hv_registry *fresh = NULL;
    hv_err err = hv_registry_load_file(b->cfg.registry, b->authority_pk, (uint64_t)time(NULL),
                                       hv_registry_version(b->reg), &fresh, &e);
    if (err != HV_OK) {
        hv_log(HV_LOG_ERROR, "registry_reload_refused", "reason=%s detail=\"%s\"",
               hv_errname(err), e.text);
        return;
    }
    hv_registry_free(&b->reg);
    b->reg = fresh;
    hv_log(HV_LOG_INFO, "registry_loaded", "version=%llu nodes=%zu",
           (unsigned long long)hv_registry_version(b->reg), hv_registry_count(b->reg));
    s_forget_inactive(b);
    /* Cut off at once every session whose node is no longer active. */
    for (size_t i = 0; i < b->n_sessions; i++) {
        s_session *s = &b->sessions[i];
        const hv_node *n = hv_registry_find(b->reg, s->node);
        if (n != NULL && hv_node_active(n, (uint64_t)time(NULL)))
            continue;
        if (s->outgoing) { /* a revoked peer: the link stays down */
            s_link_down(b, s, hv_mono_ms(), "peer revoked");
            continue;
        }
        s_error_to(b, s->sock, s->rid, s->rid_len, HV_EAUTH, NULL, "node revoked or no longer valid");
        hv_control bye = {.cmd = HV_CMD_BYE};
        (void)s_send_to(s->sock, s->rid, s->rid_len, &bye);
        s_drop(b, s, "revoked");
        i--;
    }
}

/* ------------------------------------------------------------ operators */

static void s_depth_one(void *arg, const char *queue, int64_t count)
{
    json_object_set_new((json_t *)arg, queue, json_integer(count));
}

/* A snapshot for operators: counts, sessions, peers and queue depths.
 * Node ids, roles, countries and numbers only, never content. */
static json_t *s_stats_json(hv_broker *b)
{
    hv_store_stats st = {0, 0, 0, 0};
    json_t *depths = json_object(), *sessions = json_array(), *peers = json_array();
    if (hv_store_stats_get(b->store, &st) != HV_OK ||
        hv_store_depths(b->store, s_depth_one, depths) != HV_OK)
        hv_log(HV_LOG_ERROR, "store_failed", "op=stats");
    for (size_t i = 0; i < b->n_sessions; i++) {
        const s_session *s = &b->sessions[i];
        if (s->outgoing || s->peer)
            continue;
        const hv_node *n = hv_registry_find(b->reg, s->node);
        json_array_append_new(sessions,
                              json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "node", s->node,
                                        "role", hv_role_name(s->role) ? hv_role_name(s->role) : "",
                                        "country", n ? n->country : "", "ready", s->ready,
                                        "in_flight", (json_int_t)s->n_flight, "window",
                                        (json_int_t)s->window, "up_since_ms",
                                        (json_int_t)s->up_since));
    }
    for (size_t p = 0; p < b->n_peers; p++) {
        const char *id = b->peer_ids[p];
        char key[HV_NODE_ID_MAX + 2];
        snprintf(key, sizeof key, "@%s", id);
        const s_session *out = NULL, *in = NULL;
        for (size_t i = 0; i < b->n_sessions; i++) {
            if (b->sessions[i].outgoing && strcmp(b->sessions[i].node, id) == 0)
                out = &b->sessions[i];
            if (b->sessions[i].peer && b->sessions[i].ready && strcmp(b->sessions[i].node, id) == 0)
                in = &b->sessions[i];
        }
        const hv_node *n = hv_registry_find(b->reg, id);
        json_t *q = json_object_get(depths, key);
        json_array_append_new(peers, json_pack(
            "{s:s, s:s, s:b, s:b, s:I, s:I, s:I}", "node", id, "country", n ? n->country : "",
            "out_up", out != NULL && out->ready, "in_up", in != NULL, "queued",
            (json_int_t)(q ? json_integer_value(q) : 0), "in_flight",
            (json_int_t)(out ? out->n_flight : 0), "up_since_ms",
            (json_int_t)(out && out->ready ? out->up_since : 0)));
    }
    json_t *out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, "
                     "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}",
                     "broker", b->cfg.id, "country", hv_registry_find(b->reg, b->cfg.id)->country,
                     "registry_version", (json_int_t)hv_registry_version(b->reg), "started_ms",
                     (json_int_t)b->started_ms, "now_ms", (json_int_t)hv_now_ms(), "store",
                     "queued", (json_int_t)st.queued, "dead_letters", (json_int_t)st.dead,
                     "notices", (json_int_t)st.notices, "retained", (json_int_t)st.retained,
                     "counters", "stored",
                     (json_int_t)b->n_stored, "commits", (json_int_t)b->n_commits, "delivered",
                     (json_int_t)b->n_delivered, "acked", (json_int_t)b->n_acked, "forwarded",
                     (json_int_t)b->n_forwarded, "refused", (json_int_t)b->n_refused,
                     "redelivered", (json_int_t)b->n_redelivered, "expired",
                     (json_int_t)b->n_expired, "replayed", (json_int_t)b->n_replayed, "pruned",
                     (json_int_t)b->n_pruned, "forgotten", (json_int_t)b->n_forgotten,
                     "queues", depths, "sessions", sessions, "peers",
                     peers);
    if (out == NULL)
        return NULL;
    /* Recent rates: the oldest and newest of the per-second samples. */
    const struct s_rate_sample *newest = NULL, *oldest = NULL;
    for (size_t i = 0; i < S_RATE_SAMPLES; i++) {
        const struct s_rate_sample *r = &b->rate_ring[i];
        if (r->at == 0)
            continue;
        if (newest == NULL || r->at > newest->at)
            newest = r;
        if (oldest == NULL || r->at < oldest->at)
            oldest = r;
    }
    double span = newest && oldest && newest->at > oldest->at
                      ? (double)(newest->at - oldest->at) / 1000.0
                      : 0.0;
    json_object_set_new(out, "rates_per_s",
                        json_pack("{s:f, s:f, s:f, s:f}", "window_s", span, "stored",
                                  span > 0 ? (double)(newest->stored - oldest->stored) / span : 0.0,
                                  "delivered",
                                  span > 0 ? (double)(newest->delivered - oldest->delivered) / span
                                           : 0.0,
                                  "acked",
                                  span > 0 ? (double)(newest->acked - oldest->acked) / span : 0.0));
    /* Latency percentiles from the histogram: the upper bound of the
     * bucket that holds the percentile (so "at most"). */
    json_t *pct = json_object();
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        if (b->latency_count == 0) {
            json_object_set_new(pct, qs[k].name, json_null());
            continue;
        }
        uint64_t want = (uint64_t)((double)b->latency_count * qs[k].q + 0.999999);
        uint64_t seen = 0;
        size_t i = 0;
        while (i < S_LAT_BUCKETS && (seen += b->latency_buckets[i]) < want)
            i++;
        json_object_set_new(pct, qs[k].name,
                            i < S_LAT_BUCKETS ? json_real(s_lat_le[i] * 1000.0) : json_null());
    }
    json_object_set_new(out, "ack_latency_ms_at_most", pct);
    return out;
}

/* Samples the counters once a second for the recent rates. */
static void s_rate_sample(hv_broker *b, int64_t now)
{
    if (now < b->next_rate_sample)
        return;
    b->next_rate_sample = now + 1000;
    struct s_rate_sample *r = &b->rate_ring[b->rate_next];
    b->rate_next = (b->rate_next + 1) % S_RATE_SAMPLES;
    r->at = now;
    r->stored = b->n_stored;
    r->delivered = b->n_delivered;
    r->acked = b->n_acked;
}

static bool s_dead_one(void *arg, const hv_dead *d)
{
    char id[33], stored[21], died[21];
    hv_hex(d->id, 16, id);
    hv_time_format((uint64_t)(d->stored_ms / 1000), stored);
    hv_time_format((uint64_t)(d->died_ms / 1000), died);
    const hv_msg_rule *rule = hv_msg_rule_get(d->type);
    json_array_append_new((json_t *)arg,
                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "id",
                                    id, "type", rule ? rule->name : "", "sender",
                                    d->sender ? d->sender : "", "recipient",
                                    d->recipient ? d->recipient : "", "code",
                                    hv_errname(d->code), "reason", d->reason ? d->reason : "",
                                    "attempts", (json_int_t)d->attempts, "stored", stored,
                                    "died", died, "bytes", (json_int_t)d->bytes));
    return true;
}

/* An operator's request refused: the explanation and its error's name, so
 * that `haven` can name the code as it does for every refusal. */
static json_t *s_ops_error(hv_err code, const char *text)
{
    return json_pack("{s:s, s:s}", "error", text, "code", hv_errname(code));
}

/* An operator requeues or purges a dead letter; the action is recorded in
 * the store's admin log and in the broker's log. */
static json_t *s_dead_action(hv_broker *b, const char *operator_id, const char *action,
                             json_t *args)
{
    uint8_t id[16];
    const char *hex = json_string_value(json_object_get(args, "id"));
    if (hex == NULL || hv_unhex(hex, id, 16) != HV_OK)
        return s_ops_error(HV_EINVAL, "\"id\" must be a message id of 32 hex digits");
    char queue[HV_NODE_ID_MAX + 2] = "";
    hv_err err = hv_store_begin(b->store);
    if (err == HV_OK)
        err = strcmp(action, "requeue") == 0
                  ? hv_store_dead_requeue(b->store, id, hv_now_ms(), queue)
                  : hv_store_dead_purge(b->store, id);
    const char *result = err == HV_OK ? "done" : hv_errname(err);
    if (err == HV_OK && hv_node_id_valid_cstr(operator_id))
        s_audit(b, id, strcmp(action, "requeue") == 0 ? "requeued" : "purged", operator_id);
    if (hv_store_admin_record(b->store, hv_now_ms(), operator_id, action, id, result) != HV_OK ||
        s_commit(b) != HV_OK)
        return s_ops_error(HV_ESTORE, "the store failed; nothing was changed");
    hv_log(HV_LOG_INFO, "admin_action", "operator=%s action=%s id=%s result=%s", operator_id,
           action, hex, result);
    if (err == HV_OK && queue[0] != '\0') {
        s_session *r = s_find_queue(b, queue);
        if (r != NULL)
            r->maybe_more = true;
    }
    if (err == HV_ENOTFOUND)
        return s_ops_error(HV_ENOTFOUND, "no dead letter with that id");
    if (err == HV_EEXPIRED)
        return s_ops_error(HV_EEXPIRED, "its time to live has passed: it cannot be delivered");
    if (err != HV_OK)
        return s_ops_error(err, hv_strerror(err));
    return json_pack("{s:s, s:s}", "id", hex, "result", strcmp(action, "requeue") == 0
                                                            ? "requeued"
                                                            : "purged");
}

/* Answers one operator's request (proto/PROTOCOL.md §5.4). */
static json_t *s_ops_request(hv_broker *b, const char *operator_id, const void *buf,
                             size_t len)
{
    char cmd[HV_CTL_CMD_MAX + 1];
    json_t *args = NULL, *reply = NULL;
    hv_errmsg e = {""};
    hv_err perr = hv_ctl_parse(buf, len, cmd, &args, &e);
    if (perr != HV_OK)
        return s_ops_error(perr, e.text);
    if (strcmp(cmd, "stats") == 0) {
        reply = s_stats_json(b);
    } else if (strcmp(cmd, "dead.list") == 0) {
        json_t *list = json_array();
        if (hv_store_dead_list(b->store, 1000, s_dead_one, list) != HV_OK)
            hv_log(HV_LOG_ERROR, "store_failed", "op=dead_list");
        reply = json_pack("{s:o}", "dead_letters", list);
    } else if (strcmp(cmd, "dead.requeue") == 0) {
        reply = s_dead_action(b, operator_id, "requeue", args);
    } else if (strcmp(cmd, "dead.purge") == 0) {
        reply = s_dead_action(b, operator_id, "purge", args);
    } else {
        reply = s_ops_error(HV_ETYPE, "unknown command; try stats, dead.list, dead.requeue "
                                      "or dead.purge");
    }
    json_decref(args);
    return reply;
}

/* Appends printf output to a growing buffer. */
static void s_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (*buf != NULL && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return;
        }
        size_t grown = (*cap ? *cap * 2 : 4096) + (size_t)n;
        char *p = realloc(*buf, grown);
        if (p == NULL)
            return;
        *buf = p;
        *cap = grown;
    }
}

/* The Prometheus text exposition of the snapshot in `st` (from
 * s_stats_json) and the broker's own histogram and flows. */
static char *s_metrics_text(hv_broker *b, json_t *st)
{
    char *m = NULL;
    size_t len = 0, cap = 0;
    const char *id = b->cfg.id;
    json_t *c = json_object_get(st, "counters");
    s_cat(&m, &len, &cap, "# HELP haven_messages_total Envelopes by what happened to them at "
          "this broker.\n# TYPE haven_messages_total counter\n");
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
        s_cat(&m, &len, &cap, "haven_messages_total{broker=\"%s\",event=\"%s\"} %lld\n", id,
              key, (long long)json_integer_value(v));
    s_cat(&m, &len, &cap, "# HELP haven_queue_depth Envelopes waiting, by queue (a node, or "
          "@broker for a peer).\n# TYPE haven_queue_depth gauge\n");
    json_object_foreach(json_object_get(st, "queues"), key, v)
        s_cat(&m, &len, &cap, "haven_queue_depth{broker=\"%s\",queue=\"%s\"} %lld\n", id, key,
              (long long)json_integer_value(v));
    json_t *store = json_object_get(st, "store");
    s_cat(&m, &len, &cap, "# HELP haven_queued Envelopes waiting in all.\n# TYPE haven_queued "
          "gauge\nhaven_queued{broker=\"%s\"} %lld\n", id,
          (long long)json_integer_value(json_object_get(store, "queued")));
    s_cat(&m, &len, &cap, "# HELP haven_dead_letters Dead letters held.\n# TYPE "
          "haven_dead_letters gauge\nhaven_dead_letters{broker=\"%s\"} %lld\n", id,
          (long long)json_integer_value(json_object_get(store, "dead_letters")));
    s_cat(&m, &len, &cap, "# HELP haven_peer_up Peer links, 1 when up.\n# TYPE haven_peer_up "
          "gauge\n");
    size_t i;
    json_array_foreach(json_object_get(st, "peers"), i, v) {
        const char *peer = json_string_value(json_object_get(v, "node"));
        s_cat(&m, &len, &cap,
              "haven_peer_up{broker=\"%s\",peer=\"%s\",direction=\"out\"} %d\n"
              "haven_peer_up{broker=\"%s\",peer=\"%s\",direction=\"in\"} %d\n",
              id, peer, json_is_true(json_object_get(v, "out_up")), id, peer,
              json_is_true(json_object_get(v, "in_up")));
    }
    s_cat(&m, &len, &cap, "# HELP haven_sessions Connected nodes.\n# TYPE haven_sessions "
          "gauge\nhaven_sessions{broker=\"%s\"} %zu\n", id,
          json_array_size(json_object_get(st, "sessions")));
    s_cat(&m, &len, &cap, "# HELP haven_flow_messages_total Envelopes stored, by the sender's "
          "and recipient's countries.\n# TYPE haven_flow_messages_total counter\n");
    for (size_t f = 0; f < b->n_flows; f++)
        s_cat(&m, &len, &cap,
              "haven_flow_messages_total{broker=\"%s\",from=\"%s\",to=\"%s\"} %llu\n", id,
              b->flows[f].from, b->flows[f].to, (unsigned long long)b->flows[f].count);
    s_cat(&m, &len, &cap, "# HELP haven_ack_latency_seconds Delivery to acknowledgement.\n"
          "# TYPE haven_ack_latency_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t k = 0; k < S_LAT_BUCKETS; k++) {
        cumulative += b->latency_buckets[k];
        s_cat(&m, &len, &cap, "haven_ack_latency_seconds_bucket{broker=\"%s\",le=\"%g\"} %llu\n",
              id, s_lat_le[k], (unsigned long long)cumulative);
    }
    cumulative += b->latency_buckets[S_LAT_BUCKETS];
    s_cat(&m, &len, &cap,
          "haven_ack_latency_seconds_bucket{broker=\"%s\",le=\"+Inf\"} %llu\n"
          "haven_ack_latency_seconds_sum{broker=\"%s\"} %.6f\n"
          "haven_ack_latency_seconds_count{broker=\"%s\"} %llu\n",
          id, (unsigned long long)cumulative, id, b->latency_sum_s, id,
          (unsigned long long)b->latency_count);
    return m;
}

/* Hands the HTTP thread a fresh snapshot. */
static void s_publish_http(hv_broker *b, int64_t now)
{
    if (b->http == NULL || now < b->next_publish)
        return;
    b->next_publish = now + S_PUBLISH_MS;
    json_t *st = s_stats_json(b);
    json_t *flows = json_array();
    for (size_t f = 0; f < b->n_flows; f++)
        json_array_append_new(flows, json_pack("{s:s, s:s, s:I}", "from", b->flows[f].from, "to",
                                               b->flows[f].to, "count",
                                               (json_int_t)b->flows[f].count));
    json_object_set_new(st, "flows", flows);
    json_object_set_new(st, "ack_latency",
                        json_pack("{s:I, s:f}", "count", (json_int_t)b->latency_count,
                                  "mean_ms", b->latency_count
                                                 ? 1000.0 * b->latency_sum_s /
                                                       (double)b->latency_count
                                                 : 0.0));
    char *metrics = s_metrics_text(b, st);
    char *json = json_dumps(st, JSON_COMPACT);
    if (metrics != NULL && json != NULL)
        hv_http_publish(b->http, metrics, json);
    free(metrics);
    free(json);
    json_decref(st);
}

/* Answers operators' requests on their socket. */
static void s_ops_serve(hv_broker *b)
{
    for (int n = 0; n < 16; n++) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&rid, b->ops, ZMQ_DONTWAIT) < 0 || !zmq_msg_more(&rid) ||
            zmq_msg_recv(&body, b->ops, 0) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            return;
        }
        while (zmq_msg_more(&body)) { /* one frame only; discard the rest */
            zmq_msg_close(&body);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, b->ops, 0) < 0)
                break;
        }
        const char *operator_id = zmq_msg_gets(&body, "User-Id");
        json_t *reply = s_ops_request(b, operator_id ? operator_id : "?", zmq_msg_data(&body),
                                      zmq_msg_size(&body));
        char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
        if (text != NULL) {
            zmq_send(b->ops, zmq_msg_data(&rid), zmq_msg_size(&rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(b->ops, text, strlen(text), ZMQ_DONTWAIT);
        }
        free(text);
        json_decref(reply);
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
    }
}

/* ------------------------------------------------------------ lifecycle */

/* Reads [federation] peers: each must be another broker of the registry
 * with a peers' endpoint. */
static hv_err s_peers_parse(hv_broker *b, const hv_node *self, hv_errmsg *e)
{
    const char *p = b->cfg.peers;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        if (b->n_peers == HV_PEERS_MAX)
            return hv_fail(e, HV_ECONFIG, "[federation] peers: more than %d brokers",
                           HV_PEERS_MAX);
        char id[HV_NODE_ID_MAX + 1];
        snprintf(id, sizeof id, "%.*s", (int)len, p);
        p += len;
        const hv_node *peer = hv_registry_find(b->reg, id);
        if (peer == NULL || peer->role != HV_ROLE_BROKER || strcmp(id, b->cfg.id) == 0)
            return hv_fail(e, HV_ECONFIG, "[federation] peers: '%s' is not another broker of "
                           "the registry", id);
        if (peer->endpoint_peers[0] == '\0')
            return hv_fail(e, HV_ECONFIG, "[federation] peers: broker '%s' has no peers "
                           "endpoint in the registry", id);
        if (!s_is_peer(b, id))
            snprintf(b->peer_ids[b->n_peers++], sizeof b->peer_ids[0], "%s", id);
    }
    if (b->n_peers > 0 && b->cfg.bind_peers[0] == '\0') {
        if (self->endpoint_peers[0] == '\0')
            return hv_fail(e, HV_ECONFIG, "[federation]: %s has no peers endpoint in the "
                           "registry and no bind is set", b->cfg.id);
        snprintf(b->cfg.bind_peers, sizeof b->cfg.bind_peers, "%s", self->endpoint_peers);
    }
    return HV_OK;
}

/* Everything the broker refuses at start that can be known without
 * opening the store or binding a socket: the keys, the registry and this
 * broker's place in it, [federation], [http] and the store's directory.
 * hv_broker_check (the daemon's -n) and hv_broker_open share it, so that a
 * configuration -n accepts is one the daemon starts with. Fills b->keys,
 * b->reg, b->authority_pk, b->peer_ids and the endpoints left to the
 * registry. */
static hv_err s_validate(hv_broker *b, hv_errmsg *e)
{
    const hv_broker_config *cfg = &b->cfg;
    hv_err err;
    char key_owner[HV_NODE_ID_MAX + 1];
    hv_pubkeys auth;
    if ((err = hv_keys_load_secret(cfg->keys, &b->keys, key_owner, e)) != HV_OK ||
        (err = hv_keys_load_public(cfg->authority, &auth, NULL, e)) != HV_OK)
        return err;
    memcpy(b->authority_pk, auth.sign, 32);
    if ((err = hv_registry_load_file(cfg->registry, b->authority_pk, (uint64_t)time(NULL), 0,
                                     &b->reg, e)) != HV_OK)
        return err;
    const hv_node *self = hv_registry_find(b->reg, cfg->id);
    if (strcmp(key_owner, cfg->id) != 0 || self == NULL || self->role != HV_ROLE_BROKER ||
        memcmp(self->keys.key_id, hv_keypair_public(b->keys)->key_id, 8) != 0)
        return hv_fail(e, HV_EAUTH, "%s is not a broker of the registry with these keys",
                       cfg->id);
    if (b->cfg.bind[0] == '\0')
        snprintf(b->cfg.bind, sizeof b->cfg.bind, "%s", self->endpoint_workers);
    if ((err = s_peers_parse(b, self, e)) != HV_OK)
        return err;
    if (cfg->http_bind[0] != '\0' &&
        (err = hv_http_check(cfg->http_bind, cfg->http_token, e)) != HV_OK)
        return err;
    /* The store is made (or opened) in its directory, with its -wal, -shm
     * and .audit files beside it. */
    if ((err = hv_file_can_create(cfg->store, "[broker] store", e)) != HV_OK)
        return err;
    if (access(cfg->store, F_OK) == 0 && access(cfg->store, R_OK | W_OK) != 0)
        return hv_fail(e, HV_EIO, "[broker] store: %s: %s", cfg->store, strerror(errno));
    return HV_OK;
}

hv_err hv_broker_check(const hv_broker_config *cfg, hv_errmsg *e)
{
    hv_broker *b = calloc(1, sizeof *b);
    if (b == NULL)
        return HV_ENOMEM;
    b->cfg = *cfg;
    hv_err err = s_validate(b, e);
    hv_broker_close(&b);
    return err;
}

hv_err hv_broker_open(hv_broker **out, const hv_broker_config *cfg, hv_errmsg *e)
{
    hv_broker *b = calloc(1, sizeof *b);
    if (b == NULL)
        return HV_ENOMEM;
    b->cfg = *cfg;
    hv_err err;
    if ((err = s_validate(b, e)) != HV_OK)
        goto fail;
    if ((err = hv_store_open(&b->store, cfg->store, e)) != HV_OK)
        goto fail;
    {
        char audit_path[PATH_MAX + 8];
        int repaired = 0;
        snprintf(audit_path, sizeof audit_path, "%s.audit", cfg->store);
        if ((err = hv_audit_open(&b->audit, audit_path, &repaired, e)) != HV_OK)
            goto fail;
        if (repaired)
            hv_log(HV_LOG_WARN, "audit_tail_repaired", "path=%s", audit_path);
        /* Records committed before a crash that the file had not got. */
        if ((err = hv_store_audit_replay(b->store, s_audit_replay_one, b->audit)) != HV_OK) {
            err = hv_fail(e, err, "%s: the audit records kept in the store do not continue "
                          "the audit log", audit_path);
            goto fail;
        }
        s_audit_sync(b, true);
        if ((err = hv_audit_sync_every(b->audit, S_AUDIT_SYNC_MS)) != HV_OK) {
            err = hv_fail(e, err, "cannot start the audit log's sync thread");
            goto fail;
        }
    }
    b->pending = calloc(cfg->batch, sizeof *b->pending);
    b->notify = calloc(cfg->batch, sizeof *b->notify);
    if (b->pending == NULL || b->notify == NULL) {
        err = HV_ENOMEM;
        goto fail;
    }

    b->ctx = zmq_ctx_new();
    if (b->ctx == NULL) {
        err = hv_fail(e, HV_EIO, "zmq: %s", zmq_strerror(errno));
        goto fail;
    }
    /* The ZAP handler exists before any CURVE socket binds. */
    if ((err = hv_zap_start(b->ctx, &b->zap, e)) != HV_OK)
        goto fail;
    b->router = zmq_socket(b->ctx, ZMQ_ROUTER);
    char secret[HV_Z85_KEY_LEN + 1];
    hv_keypair_transport_secret_z85(b->keys, secret);
    err = hv_zap_secure(b->router, secret, HV_ZAP_DOMAIN, e);
    if (err == HV_OK && b->n_peers > 0) {
        b->peer_router = zmq_socket(b->ctx, ZMQ_ROUTER);
        err = hv_zap_secure(b->peer_router, secret, HV_ZAP_DOMAIN_PEERS, e);
    }
    if (err == HV_OK && b->cfg.bind_ops[0] != '\0') {
        b->ops = zmq_socket(b->ctx, ZMQ_ROUTER);
        err = hv_zap_secure(b->ops, secret, HV_ZAP_DOMAIN_OPS, e);
    }
    if (err == HV_OK && b->cfg.bind_events[0] != '\0') {
        b->events = zmq_socket(b->ctx, ZMQ_XPUB);
        err = hv_zap_secure(b->events, secret, HV_ZAP_DOMAIN_OPS, e);
    }
    hv_memzero(secret, sizeof secret);
    if (err != HV_OK)
        goto fail;
    int one = 1, zero = 0, hwm = (int)cfg->hwm;
    int64_t maxmsg = (int64_t)cfg->max_message;
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(b->router, b->cfg.bind) != 0) {
        err = hv_fail(e, HV_EIO, "cannot bind %s: %s", b->cfg.bind, zmq_strerror(errno));
        goto fail;
    }
    if (b->peer_router != NULL) {
        zmq_setsockopt(b->peer_router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        zmq_setsockopt(b->peer_router, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(b->peer_router, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(b->peer_router, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(b->peer_router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        if (zmq_bind(b->peer_router, b->cfg.bind_peers) != 0) {
            err = hv_fail(e, HV_EIO, "cannot bind the peers' endpoint %s: %s",
                          b->cfg.bind_peers, zmq_strerror(errno));
            goto fail;
        }
        s_links_open(b, hv_mono_ms());
    }
    if (b->ops != NULL) {
        int small = 100;
        zmq_setsockopt(b->ops, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(b->ops, ZMQ_SNDHWM, &small, sizeof small);
        zmq_setsockopt(b->ops, ZMQ_RCVHWM, &small, sizeof small);
        int64_t small_msg = 65536;
        zmq_setsockopt(b->ops, ZMQ_MAXMSGSIZE, &small_msg, sizeof small_msg);
        if (zmq_bind(b->ops, b->cfg.bind_ops) != 0) {
            err = hv_fail(e, HV_EIO, "cannot bind the operators' endpoint %s: %s",
                          b->cfg.bind_ops, zmq_strerror(errno));
            goto fail;
        }
    }
    if (b->events != NULL) {
        int hwm_events = 10000;
        zmq_setsockopt(b->events, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(b->events, ZMQ_SNDHWM, &hwm_events, sizeof hwm_events);
        /* Every subscription comes up to the loop (s_events_watchers), and
         * every new connection first gets a welcome, so that an operator
         * learns it is connected (a PUB says nothing). */
        zmq_setsockopt(b->events, ZMQ_XPUB_VERBOSE, &one, sizeof one);
        char welcome[96];
        int wn = snprintf(welcome, sizeof welcome, "{\"event\":\"welcome\",\"broker\":\"%s\"}",
                          b->cfg.id);
        zmq_setsockopt(b->events, ZMQ_XPUB_WELCOME_MSG, welcome, (size_t)wn);
        if (zmq_bind(b->events, b->cfg.bind_events) != 0) {
            err = hv_fail(e, HV_EIO, "cannot bind the events endpoint %s: %s",
                          b->cfg.bind_events, zmq_strerror(errno));
            goto fail;
        }
    }
    if (b->cfg.http_bind[0] != '\0' &&
        (err = hv_http_start(&b->http, b->cfg.http_bind, b->cfg.http_token, e)) != HV_OK)
        goto fail;
    b->started_ms = hv_now_ms();
    *out = b;
    return HV_OK;
fail:
    hv_broker_close(&b);
    return err;
}

void hv_broker_stop(hv_broker *b) { b->stopping = 1; }

void hv_broker_reload(hv_broker *b) { b->reloading = 1; }

hv_err hv_broker_run(hv_broker *b)
{
    hv_store_stats st = {0, 0, 0, 0};
    if (hv_store_stats_get(b->store, &st) != HV_OK)
        return HV_ESTORE;
    hv_log(HV_LOG_INFO, "ready", "id=%s bind=%s registry_version=%llu queued=%lld dead=%lld "
           "retained=%lld replay_hours=%llu", b->cfg.id, b->cfg.bind,
           (unsigned long long)hv_registry_version(b->reg), (long long)st.queued,
           (long long)st.dead, (long long)st.retained, (unsigned long long)b->cfg.replay_hours);
    s_forget_inactive(b); /* revoked while this broker was down */
    zmq_pollitem_t items[5 + HV_PEERS_MAX];
    /* The workers' socket serves workers only: operators have their own. */
    hv_zap_policy policy = {HV_ROLE_BIT(HV_ROLE_INTAKE) | HV_ROLE_BIT(HV_ROLE_ROUTER) |
                                HV_ROLE_BIT(HV_ROLE_PROVIDER),
                            b->peer_ids, b->n_peers};
    while (!b->stopping) {
        size_t n_items = 0;
        items[n_items++] = (zmq_pollitem_t){b->zap, 0, ZMQ_POLLIN, 0};
        items[n_items++] = (zmq_pollitem_t){b->router, 0, ZMQ_POLLIN, 0};
        if (b->peer_router != NULL)
            items[n_items++] = (zmq_pollitem_t){b->peer_router, 0, ZMQ_POLLIN, 0};
        if (b->ops != NULL)
            items[n_items++] = (zmq_pollitem_t){b->ops, 0, ZMQ_POLLIN, 0};
        if (b->events != NULL)
            items[n_items++] = (zmq_pollitem_t){b->events, 0, ZMQ_POLLIN, 0};
        for (size_t i = 0; i < b->n_sessions && n_items < sizeof items / sizeof items[0]; i++)
            if (b->sessions[i].outgoing && b->sessions[i].sock != NULL)
                items[n_items++] = (zmq_pollitem_t){b->sessions[i].sock, 0, ZMQ_POLLIN, 0};
        long timeout = b->behind ? 0 : (long)(b->cfg.heartbeat_ms / 4);
        for (size_t i = 0; i < b->n_sessions; i++)
            if (b->sessions[i].ready && b->sessions[i].maybe_more &&
                b->sessions[i].n_flight < b->sessions[i].window)
                timeout = 10; /* a delivery is waiting for room or its backoff */
        if (b->group_start_us != 0) {
            int64_t left_us = b->group_start_us + (int64_t)b->cfg.group_ms * 1000 - hv_mono_us();
            long left = left_us <= 0 ? 0 : (long)((left_us + 999) / 1000);
            timeout = left < timeout ? left : timeout;
        }
        if (zmq_poll(items, (int)n_items, timeout) < 0 && errno != EINTR) {
            hv_log(HV_LOG_ERROR, "poll_failed", "error=\"%s\"", zmq_strerror(errno));
            return HV_EIO;
        }
        int64_t now = hv_mono_ms();
        if (b->reloading) {
            b->reloading = 0;
            s_reload(b);
        }
        if (items[0].revents & ZMQ_POLLIN)
            hv_zap_serve(b->zap, b->reg, (uint64_t)time(NULL), &policy);
        b->behind = s_drain(b, b->router, now) >= b->cfg.batch;
        if (b->peer_router != NULL && s_drain(b, b->peer_router, now) >= b->cfg.batch)
            b->behind = true;
        for (size_t i = 0; i < b->n_sessions; i++)
            if (b->sessions[i].outgoing)
                s_link_drain(b, &b->sessions[i], now);
        if (b->ops != NULL)
            s_ops_serve(b);
        if (b->events != NULL)
            s_events_watchers(b);
        s_rate_sample(b, now);
        s_publish_http(b, now);
        s_commit_and_reply(b, false);
        s_deliver(b, now);
        s_timers(b, now);
    }
    s_commit_and_reply(b, true);
    s_audit_sync(b, true);
    if (b->audit_synced > b->audit_released && (s_commit(b) != HV_OK))
        return HV_ESTORE;
    hv_log(HV_LOG_INFO, "stopped", "stored=%llu commits=%llu delivered=%llu acked=%llu "
           "forwarded=%llu refused=%llu redelivered=%llu expired=%llu",
           (unsigned long long)b->n_stored, (unsigned long long)b->n_commits,
           (unsigned long long)b->n_delivered,
           (unsigned long long)b->n_acked, (unsigned long long)b->n_forwarded,
           (unsigned long long)b->n_refused,
           (unsigned long long)b->n_redelivered, (unsigned long long)b->n_expired);
    return HV_OK;
}

void hv_broker_close(hv_broker **bp)
{
    if (bp == NULL || *bp == NULL)
        return;
    hv_broker *b = *bp;
    for (size_t i = 0; i < b->n_sessions; i++) {
        free(b->sessions[i].flight);
        if (b->sessions[i].outgoing && b->sessions[i].sock != NULL)
            zmq_close(b->sessions[i].sock);
    }
    free(b->sessions);
    free(b->pending);
    free(b->notify);
    if (b->router != NULL)
        zmq_close(b->router);
    if (b->peer_router != NULL)
        zmq_close(b->peer_router);
    if (b->ops != NULL)
        zmq_close(b->ops);
    if (b->events != NULL)
        zmq_close(b->events);
    hv_http_stop(&b->http);
    hv_audit_close(&b->audit);
    if (b->zap != NULL)
        zmq_close(b->zap);
    if (b->ctx != NULL)
        zmq_ctx_term(b->ctx);
    hv_store_close(&b->store);
    hv_registry_free(&b->reg);
    hv_keypair_free(&b->keys);
    free(b);
    *bp = NULL;
}
