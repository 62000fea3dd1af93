/* Events for the live stream; see hv_events.h. */
#include "hv_events.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_db.h"
#include "hv_sql.h"
#include "hv_text.h"

const char hv_events_schema[] =
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at_s INTEGER NOT NULL, kind TEXT NOT NULL, referral BLOB NOT NULL,"
    "  state TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_referral ON events(referral);";

hv_err hv_events_add(hv_worker *w, const uint8_t referral[16], const char *kind,
                     const char *state)
{
    return hv_sql_exec(hv_worker_db(w),
                       "INSERT INTO events (at_s, kind, referral, state) VALUES (?1, ?2, ?3, ?4)",
                       "itrt", (int64_t)time(NULL), kind, referral, state);
}

hv_err hv_events_erase(hv_worker *w, const uint8_t referral[16])
{
    return hv_sql_exec(hv_worker_db(w), "DELETE FROM events WHERE referral = ?1", "r", referral);
}

hv_err hv_events_prune(hv_worker *w)
{
    return hv_sql_exec(hv_worker_db(w),
                       "DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?1", "i",
                       (int64_t)HV_EVENTS_KEEP);
}

bool hv_events_has(hv_worker *w, const uint8_t referral[16], const char *kind)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT 1 FROM events WHERE referral = ?1 AND kind = ?2", "rt",
                              referral, kind);
    bool has = st != NULL && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return has;
}

uint64_t hv_events_last(hv_worker *w)
{
    sqlite3_stmt *st = hv_sql(hv_worker_db(w), "SELECT coalesce(max(seq), 0) FROM events", "");
    uint64_t last = 0;
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
        last = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return last;
}

json_t *hv_events_after(hv_worker *w, const hv_actor *actor, hv_events_filter may_see,
                        uint64_t after, uint64_t *last)
{
    uint64_t newest = hv_events_last(w);
    *last = after > newest ? newest : after;
    json_t *list = json_array();
    sqlite3_stmt *st = hv_sql(hv_worker_db(w),
                              "SELECT seq, at_s, kind, referral, state FROM events WHERE seq > ?1 "
                              "ORDER BY seq LIMIT 1000",
                              "i", (int64_t)after);
    if (list == NULL || st == NULL) {
        json_decref(list);
        sqlite3_finalize(st);
        return NULL;
    }
    while (json_array_size(list) < HV_EVENTS_PAGE && sqlite3_step(st) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        *last = seq;
        if (sqlite3_column_bytes(st, 3) != 16)
            continue;
        const uint8_t *ref = sqlite3_column_blob(st, 3);
        if (may_see != NULL && !may_see(w, actor, ref))
            continue;
        char kind[16], state[32], hex[33], at[21];
        hv_sql_text(st, 2, kind, sizeof kind);
        hv_sql_text(st, 4, state, sizeof state);
        hv_ref_hex(ref, hex);
        hv_time_format((uint64_t)sqlite3_column_int64(st, 1), at);
        json_t *item = json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)seq, "kind",
                                 kind, "referral", hex, "state", state, "at", at);
        /* An open offer's deadline: when the answer is due, not what it is about. */
        uint64_t due;
        char by[21];
        if (item != NULL && (strcmp(kind, "offer") == 0 || strcmp(kind, "due_soon") == 0) &&
            hv_worker_answer_by(w, ref, &due)) {
            hv_time_format(due, by);
            json_object_set_new(item, "answer_by", json_string(by));
        }
        json_array_append_new(list, item);
    }
    sqlite3_finalize(st);
    return list;
}

/* ------------------------------------------------------------ waiting */

struct hv_events_waits {
    struct s_wait {
        hv_ctlsock *sock;   /* where it came from */
        hv_ctl_peer peer;   /* whom to answer */
        hv_actor actor;     /* who asks */
        uint64_t after;     /* events after this sequence number */
        int64_t deadline;   /* answer by then (hv_mono_ms) */
    } held[HV_EVENTS_WAITS_MAX]; /* the requests held */
    size_t n;                    /* how many */
};

hv_err hv_events_waits_new(hv_events_waits **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? HV_OK : HV_ENOMEM;
}

void hv_events_waits_free(hv_events_waits **ws)
{
    free(*ws);
    *ws = NULL;
}

/* The answer for a wait, or NULL when there is nothing yet and it may go
 * on waiting (not `final`). */
static json_t *s_answer(hv_worker *w, hv_events_filter may_see, const hv_actor *a,
                        uint64_t after, bool final)
{
    uint64_t last = after;
    json_t *list = hv_events_after(w, a, may_see, after, &last);
    if (list == NULL)
        return json_pack("{s:b, s:s, s:i, s:s}", "ok", 0, "error", hv_errname(HV_ESTORE),
                         "code", (int)HV_ESTORE, "message", "the events cannot be read");
    if (json_array_size(list) == 0 && last == after && !final) {
        json_decref(list);
        return NULL;
    }
    return json_pack("{s:b, s:s, s:{s:o, s:I}}", "ok", 1, "text", "", "result", "events", list,
                     "last", (json_int_t)last);
}

json_t *hv_events_wait(hv_events_waits *ws, hv_worker *w, hv_events_filter may_see,
                       hv_ctlsock *sock, const hv_ctl_peer *peer, const hv_actor *a,
                       json_t *args, hv_err *err, hv_errmsg *e)
{
    *err = HV_OK;
    json_t *after = json_object_get(args, "after"), *tmo = json_object_get(args, "timeout_ms");
    const char *key;
    json_t *value;
    json_object_foreach(args, key, value)
    {
        if (strcmp(key, "after") != 0 && strcmp(key, "timeout_ms") != 0) {
            *err = hv_fail(e, HV_EINVAL, "events.wait takes after and timeout_ms, not "
                           "\"%.40s\"", key);
            return NULL;
        }
    }
    if ((after != NULL && (!json_is_integer(after) || json_integer_value(after) < 0)) ||
        (tmo != NULL && (!json_is_integer(tmo) || json_integer_value(tmo) < 0 ||
                         json_integer_value(tmo) > HV_EVENTS_WAIT_MAX_MS))) {
        *err = hv_fail(e, HV_EINVAL, "\"after\" must be a sequence number and \"timeout_ms\" "
                       "0 to %d", HV_EVENTS_WAIT_MAX_MS);
        return NULL;
    }
    uint64_t from = after ? (uint64_t)json_integer_value(after) : 0;
    int64_t wait_ms = tmo ? json_integer_value(tmo) : 0;
    json_t *reply = s_answer(w, may_see, a, from, wait_ms == 0 || ws->n == HV_EVENTS_WAITS_MAX);
    if (reply == NULL) {
        struct s_wait *h = &ws->held[ws->n++];
        h->sock = sock;
        h->peer = *peer;
        h->actor = *a;
        h->after = from;
        h->deadline = hv_mono_ms() + wait_ms;
    }
    return reply;
}

void hv_events_waits_serve(hv_events_waits *ws, hv_worker *w, hv_events_filter may_see,
                           bool fresh)
{
    int64_t now = ws->n > 0 ? hv_mono_ms() : 0;
    for (size_t i = 0; i < ws->n;) {
        struct s_wait *h = &ws->held[i];
        bool due = now >= h->deadline;
        json_t *reply = fresh || due ? s_answer(w, may_see, &h->actor, h->after, due) : NULL;
        if (reply == NULL) {
            i++;
            continue;
        }
        hv_ctlsock_reply(h->sock, &h->peer, reply);
        ws->held[i] = ws->held[--ws->n];
    }
}
