/* The daemon shell shared by the intake, router and provider workers
 * (DESIGN §5): configuration, keys, registry, the broker connection with
 * its durable outbox, the local control socket, timers and signals. A
 * worker supplies an hv_worker_app with its tables and handlers; the shell
 * opens and checks every incoming message before the handler sees it, and
 * runs each handler inside one store transaction together with what it
 * sends and the acknowledgement of what it received.
 *
 * Configuration (INI, paths relative to the file):
 *   [worker]  id, keys, authority, registry, store, control, control_group,
 *             log_level, staff_control, staff_group (the staff socket, for
 *             haven-web)
 *   [staff]   all_caseworkers_see_all     (providers only)
 *   [timing]  heartbeat_ms, dead_after_ms, tick_ms
 *   [router]  offer_timeout_s              (routers only)
 *   [provider] retention_days, places, capacity_every_s (providers only)
 *   [intake] retention_days, attachment_max_mib, case_attachments_max_mib (intakes only)
 *   [prekeys] lifetime_days (or lifetime_s), keep_s (hv_prekeys.h)
 *   [pathway] SERVICE = provider, provider (routers only, in priority order)
 *   [metrics] bind, token                   (Prometheus text, hv_worker_metrics.h) */
#ifndef HV_WORKER_H
#define HV_WORKER_H

#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv_client.h"
#include "hv_crypto.h"
#include "hv_ctl.h"
#include "hv_envelope.h"
#include "hv_err.h"
#include "hv_httpguard.h"
#include "hv_keyring.h"
#include "hv_msg.h"
#include "hv_registry.h"
#include "hv_text.h" /* hv_ref_hex, hv_ref_parse, hv_time_human, hv_strcat: once here */

#define HV_PATHWAY_LINE_MAX 1024

typedef struct hv_worker_config {
    char id[HV_NODE_ID_MAX + 1];  /* this node */
    char keys[PATH_MAX];          /* its .key file */
    char authority[PATH_MAX];     /* the authority's .pub file */
    char registry[PATH_MAX];      /* the signed registry */
    char store[PATH_MAX];         /* the SQLite store */
    char control[PATH_MAX];       /* the control socket */
    bool control_group;           /* the socket is 0660 (group) rather than 0600 */
    char staff_control[PATH_MAX]; /* the staff control socket, or "" */
    char staff_group[64];         /* the Unix group given the staff socket, or "" */
    bool all_caseworkers_see_all; /* provider: every caseworker sees every item */
    char log_level[16];           /* debug, info, warn, error */
    uint64_t heartbeat_ms;        /* to the broker */
    uint64_t dead_after_ms;       /* broker silent this long: reconnect */
    uint64_t tick_ms;             /* how often deadlines are looked at */
    uint64_t offer_timeout_s;     /* router: how long a provider has to answer */
    uint64_t retention_days;      /* provider: keep a closed case this long, then erase */
    uint64_t intake_retention_days; /* [intake] retention_days: the same at an intake; 0:
                                       until erased by hand */
    uint64_t receipt_hours;       /* intake [deadlines]: a transferred case's receipt due */
    uint64_t receipt_s;           /* ...in seconds (tests), 0: receipt_hours */
    uint64_t confirm_days;        /* intake: a cancel's or withdrawal's confirmation due */
    uint64_t confirm_s;           /* ...in seconds (tests), 0: confirm_days */
    uint64_t review_days;         /* intake: an open case without a STATUS this long: review */
    uint64_t review_s;            /* ...in seconds (tests), 0: review_days */
    uint64_t places;              /* provider: its places, 0: the registry's capacity */
    uint64_t capacity_every_s;    /* provider: publish its free places at least this often */
    uint64_t attachment_max_mib;  /* intake: the largest document, MiB (20) */
    uint64_t case_attachments_max_mib; /* intake: all documents of a case, MiB (50) */
    uint64_t prekey_days;         /* a new prekey this often (days) */
    uint64_t prekey_s;            /* ...or this often (seconds; tests), 0: prekey_days */
    uint64_t prekey_keep_s;       /* messages sealed to a prekey honoured this long */
    char pathway[HV_SVC_COUNT][HV_PATHWAY_LINE_MAX]; /* router: providers per service */
    uint64_t audit_head_every;    /* [audit] sign the log's head every N records */
    uint64_t audit_head_s;        /* ...and S seconds after a record was added */
    char metrics_bind[64];        /* [metrics] bind HOST:PORT, or "" (off) */
    char metrics_token[129];      /* [metrics] token, or "" (loopback only) */
    hv_http_limits metrics_limits; /* [metrics] connections and deadlines (issue 20) */
} hv_worker_config;

typedef struct hv_worker hv_worker;

/* A column that a store made by an older version may lack; the shell adds
 * it at start (ALTER TABLE ... ADD COLUMN). */
typedef struct hv_worker_column {
    const char *table; /* the table */
    const char *name;  /* the column */
    const char *decl;  /* its type and default, e.g. "TEXT NOT NULL DEFAULT ''" */
} hv_worker_column;

/* What a worker daemon adds to the shell. Handlers run inside a store
 * transaction; see each for what its return value does. */
typedef struct hv_worker_app {
    const char *name;   /* program name, e.g. "haven-intake" */
    const char *what;   /* one line for --help: what the daemon is */
    unsigned role;      /* the registry role this worker must have */
    const char *schema; /* its tables: CREATE ... IF NOT EXISTS */
    const hv_worker_column *columns; /* added since; ends with {NULL}; may be NULL */
    /* CREATE INDEX ... IF NOT EXISTS statements run after `columns` are
     * added, so that an index may name a column added since; may be NULL. */
    const char *indexes;
    unsigned staff_roles; /* the staff roles it knows (HV_ACTOR_BIT) */
    /* For haven_worker_referrals{state} (hv_worker_metrics.h): SQL whose
     * rows are (state, count) of the referrals this worker holds. */
    const char *metrics_states_sql;
    /* For haven_worker_offers_pending and _offer_answer_by_seconds: SQL
     * whose one row is (count, soonest answer-by in Unix seconds) of the
     * offers waiting for an answer; NULL for a worker that makes none. */
    const char *metrics_offers_sql;
    /* For haven_worker_referrals_overdue: SQL whose one row is the count
     * of referrals past a deadline; NULL for a worker that keeps none. */
    const char *metrics_overdue_sql;

    /* The role table: which actors (HV_ACTOR_BIT, HV_ACTOR_HOST included)
     * may run `cmd`; 0 for a command this worker does not know. The shell
     * refuses the others (HV_EFORBIDDEN) before on_control runs, and
     * "status" is for everyone. */
    unsigned (*command_roles)(const char *cmd);

    /* True when `actor` may see `referral` at all (events.wait); a
     * referral the actor may not see answers as one that does not exist. */
    bool (*may_see)(hv_worker *w, const hv_actor *actor, const uint8_t referral[16]);

    /* When an answer to `referral` is due (UNIX seconds), for the events of
     * an open offer (a provider's); false when none is. May be NULL. */
    bool (*answer_by)(hv_worker *w, const uint8_t referral[16], uint64_t *when);

    /* A message addressed to this node, its signature, MAC and body
     * already checked. HV_OK: committed and acknowledged. HV_ESTORE or
     * HV_ENOMEM: rolled back; the broker delivers it again. Any other
     * code: rolled back, recorded as refused and answered with NACK(code,
     * e->text), which reaches the sender as a notice. */
    hv_err (*on_message)(hv_worker *w, const hv_envelope *env, const hv_msg *m, hv_errmsg *e);

    /* A control request by `actor` (the host's administrator on the
     * `control` socket, a staff member on the staff socket), whose role
     * the role table allows. Sets `*result` (owned by the shell
     * afterwards, may stay NULL) and `*text` (malloc'd human-readable
     * answer, may stay NULL). HV_OK commits; anything else rolls back and
     * is reported with e->text (and `*result`, e.g. a list of errors). */
    hv_err (*on_control)(hv_worker *w, const hv_actor *actor, const char *cmd, json_t *args,
                         json_t **result, char **text, hv_errmsg *e);

    /* Called every tick_ms with the time (Unix seconds) to act on
     * deadlines. HV_OK commits, anything else rolls back. */
    hv_err (*on_tick)(hv_worker *w, uint64_t now);

    /* The broker reports something about a message this node sent (its
     * TTL passed, it was refused). HV_OK commits. */
    hv_err (*on_notice)(hv_worker *w, const hv_notice *n);
} hv_worker_app;

/* Reads a worker's configuration file; relative paths become relative to
 * its directory. Returns HV_OK, HV_ENOTFOUND or HV_ECONFIG ("FILE:LINE: ..."). */
HV_MUST_CHECK hv_err hv_worker_config_load(const char *path, hv_worker_config *cfg,
                                           hv_errmsg *e);

/* Runs the daemon: parses its command line (common/hv_daemon_args.h), opens everything, serves until
 * SIGTERM/SIGINT. Returns the process exit code. */
int hv_worker_main(int argc, char **argv, const hv_worker_app *app);

/* Accessors for handlers; everything returned is borrowed. */
sqlite3 *hv_worker_db(hv_worker *w);
const hv_registry *hv_worker_registry(const hv_worker *w);
const hv_node *hv_worker_self(const hv_worker *w);
/* The node's key ring (every set its key file holds, and the storage
 * secret its vault uses); which set does what is the registry's word
 * (hv_keyring_current, _transport, _for_kid). */
const hv_keyring *hv_worker_keys(const hv_worker *w);
const hv_worker_config *hv_worker_cfg(const hv_worker *w);

/* When an answer to `referral` is due, as the worker's answer_by says;
 * false when it has none or none is due. */
bool hv_worker_answer_by(hv_worker *w, const uint8_t referral[16], uint64_t *when);

/* Seals `m` to `to` and queues it in the outbox within the current
 * transaction. `ttl_s` is capped at the protocol maximum. Writes the new
 * message id to `id_out` when not NULL. Returns HV_OK, HV_ENOTFOUND (no
 * such active node), HV_EINVAL, HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_worker_send(hv_worker *w, const char *to, const uint8_t referral[16],
                                    const hv_msg *m, uint32_t ttl_s, uint8_t id_out[16]);

/* True while the outbox still holds a message about `referral` that the
 * broker has not STORED (the broker unreachable, or not yet answered):
 * the pages' "waiting to be sent". */
bool hv_worker_outbox_waiting(hv_worker *w, const uint8_t referral[16]);

/* Asks for the store's write-ahead log to be truncated after the current
 * transaction commits: used after erasing a case, so that its pages do not
 * linger in the log. Each call is one erasure for the metrics
 * (haven_worker_erasures_total), counted if the transaction commits. */
void hv_worker_purge_after_commit(hv_worker *w);

/* Finds the referral in `table` (its `id` column) whose id starts with the
 * hex `prefix` (6 to 32 digits, any case). Returns HV_OK, HV_ENOTFOUND,
 * HV_EINVAL (not hex, or ambiguous), HV_ESTORE. */
HV_MUST_CHECK hv_err hv_worker_find(hv_worker *w, const char *table, const char *prefix,
                                    uint8_t out[16], hv_errmsg *e);

/* As hv_worker_find among the rows for which the SQL condition `visible`
 * holds (NULL: all), with `staff` bound as ?2 in it: a row outside it is
 * not found, with the same answer as a missing one, and does not make a
 * prefix ambiguous. */
HV_MUST_CHECK hv_err hv_worker_find_visible(hv_worker *w, const char *table, const char *prefix,
                                            const char *visible, const char *staff,
                                            uint8_t out[16], hv_errmsg *e);

/* Records in the node's audit log (STORE.audit, see hv_audit.h) that
 * `referral` entered state `event` because of `by` (a node id, or
 * NODE/STAFF for a person; see hv_audit.h); written once the
 * current transaction commits. hv_history_add calls it for every
 * transition. */
HV_MUST_CHECK hv_err hv_worker_audit(hv_worker *w, const uint8_t referral[16], const char *event,
                                     const char *by);

#endif
