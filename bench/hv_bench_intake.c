/* Benchmark (not a test) of an intake holding many referrals (issue 24):
 *
 *   hv-bench-intake fill --store DB --keys KEY --referral FILE --count N
 *       [--router ID] [--provider ID]
 *     fills a stopped intake's store (one its daemon made: the schema is
 *     the daemon's) up to N referrals through the intake's own storing
 *     code: in_store_new, the case sealed at rest under a key of its own
 *     (hv_vault_put), and its history rows sealed as the daemon writes
 *     them (hv_history_insert). Referral i (from 0) was created 25 s after
 *     referral i-1, has the reference "REF-" and i in 7 digits, and is
 *     requested when i % 100 == 0, in_progress when i % 10 == 5, completed
 *     otherwise. No message is sent: the outbox stays empty.
 *
 *   hv-bench-intake time --socket SOCK [--requests R] [--expect N]
 *       [--url https://IP:PORT --ca CERT --token READ_TOKEN]
 *     times, R times each, through the intake's control socket and (with
 *     --url) through haven-web's API as the workbench calls it: the first
 *     page of 50, a page filtered by state, the page in the middle, the
 *     last page, one referral with its history (`show`), and a search by
 *     reference. With --expect N it checks the counts a store filled to N
 *     must give (the quick test runs it so) and exits 1 on any other.
 *
 * bench/intake_bench.sh sets up the daemons and runs both. */
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_bench_https.h"
#include "hv_crypto.h"
#include "hv_ctl.h"
#include "hv_file.h"
#include "hv_history.h"
#include "hv_keys.h"
#include "hv_sql.h"
#include "intake.h"

#define S_PAGE 50
#define S_SPACING_S 25 /* between two referrals' creation */
#define S_BATCH 5000   /* referrals per transaction while filling */

/* ---------------------------------------------------------------- fill */

/* The state of referral `i` (see the top of the file). */
static const char *s_state_of(long i)
{
    return i % 100 == 0 ? "requested" : i % 10 == 5 ? "in_progress" : "completed";
}

/* Referral `i`, its case and its history, in the open transaction. */
static hv_err s_fill_one(sqlite3 *db, const hv_keyring *ring, long i, uint64_t t0,
                         uint64_t now, const char *router, const char *provider,
                         const char *text, size_t len)
{
    in_ref r;
    memset(&r, 0, sizeof r);
    hv_random(r.id, 16);
    memcpy(r.case_id, r.id, 16);
    const char *state = s_state_of(i);
    snprintf(r.state, sizeof r.state, "%s", state);
    r.service = (unsigned)hv_service_from_name("shelter");
    memcpy(r.country, "XC", 3);
    snprintf(r.router, sizeof r.router, "%s", router);
    bool open = strcmp(state, "requested") == 0;
    if (!open)
        snprintf(r.provider, sizeof r.provider, "%s", provider);
    r.created = t0 + (uint64_t)i * S_SPACING_S;
    /* Nothing is due during the measurement: an open request's answer is
     * a month away and a case in progress reported on just now (the tick
     * would otherwise expire or mark them while the pages are timed). */
    r.respond_by = now + 30 * 86400;
    r.updated = strcmp(state, "completed") == 0 ? r.created + 86400 : now;
    if (i % 50 != 0)
        snprintf(r.assigned_to, sizeof r.assigned_to, "cw%02ld", i % 25);
    snprintf(r.reference, sizeof r.reference, "REF-%07ld", i);
    hv_err err = in_store_new(db, ring, &r, text, len);
    if (err == HV_OK)
        err = hv_history_insert(db, ring, r.id, "state", "requested", "ngo.bench/host",
                                "summary sent to the router", r.created);
    if (err == HV_OK && !open)
        err = hv_history_insert(db, ring, r.id, "state", "received", provider,
                                "signed receipt for the case", r.created + 3600);
    if (err == HV_OK && !open)
        err = hv_history_insert(db, ring, r.id, "state", state, provider,
                                "placed in the shelter", r.updated);
    return err;
}

static int s_fill(const char *store, const char *keys, const char *file, long count,
                  const char *router, const char *provider)
{
    hv_errmsg e = {{0}};
    char *text = NULL;
    size_t len = 0;
    hv_keyring *ring = NULL;
    sqlite3 *db = NULL;
    int rc = 1;
    if (hv_file_read(file, 1 << 20, (uint8_t **)&text, &len, &e) != HV_OK ||
        hv_keys_load_ring(keys, &ring, NULL, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-intake: %s\n", e.text);
        goto done;
    }
    /* The daemon's store, made by the daemon (its schema, WAL mode); the
     * fill's own durability does not matter, only the result's. */
    if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-200000", NULL, NULL,
                     NULL) != SQLITE_OK) {
        fprintf(stderr, "hv-bench-intake: %s: %s\n", store, sqlite3_errmsg(db));
        goto done;
    }
    int64_t have = 0;
    if (hv_sql_int(db, &have, "SELECT count(*) FROM referrals", "") != HV_OK)
        goto done;
    uint64_t now = (uint64_t)time(NULL);
    /* The same for every fill up to 1.1 M, and within the intake's default
     * retention (365 days: 1.1 M referrals 25 s apart span 318): a store
     * the retention erased while it was timed would measure the erasure. */
    uint64_t t0 = now - 1100000ULL * S_SPACING_S;
    double start = hv_bench_ms();
    hv_err err = HV_OK;
    for (long i = (long)have; err == HV_OK && i < count; i += S_BATCH) {
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            goto done;
        for (long k = i; err == HV_OK && k < count && k < i + S_BATCH; k++)
            err = s_fill_one(db, ring, k, t0, now, router, provider, text, len);
        if (err != HV_OK || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "hv-bench-intake: storing failed: %s (%s)\n", hv_errname(err),
                    sqlite3_errmsg(db));
            goto done;
        }
    }
    if (count > have)
        printf("filled %ld referrals in %.1f s (%.0f µs each)\n", count - (long)have,
               (hv_bench_ms() - start) / 1e3,
               (hv_bench_ms() - start) * 1e3 / (double)(count - have));
    rc = 0;
done:
    sqlite3_close_v2(db);
    hv_keyring_free(&ring);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- time */

enum s_op { S_FIRST, S_STATE, S_MIDDLE, S_LAST, S_SHOW, S_SEARCH, S_OPS };

static const char *const s_op_name[S_OPS] = {
    [S_FIRST] = "first page of 50",     [S_STATE] = "page filtered by state",
    [S_MIDDLE] = "page in the middle",  [S_LAST] = "last page",
    [S_SHOW] = "show one (with history)", [S_SEARCH] = "search by reference",
};

typedef struct s_run {
    long total;        /* referrals in the store */
    long expect;       /* --expect, or -1 */
    json_t *ids;       /* ids seen on the pages, for show */
    int failures;      /* counts that were not as expected */
} s_run;

/* The request of `op` (repetition `k`): control arguments and the API's path. */
static json_t *s_args(const s_run *x, enum s_op op, int k, char *path, size_t cap)
{
    long off = op == S_MIDDLE ? x->total / 2 : x->total > S_PAGE ? x->total - S_PAGE : 0;
    char q[32];
    const char *id;
    switch (op) {
    case S_FIRST:
        snprintf(path, cap, "/api/v1/referrals?limit=%d", S_PAGE);
        return json_pack("{s:i}", "limit", S_PAGE);
    case S_STATE:
        snprintf(path, cap, "/api/v1/referrals?state=requested&limit=%d", S_PAGE);
        return json_pack("{s:s, s:i}", "state", "requested", "limit", S_PAGE);
    case S_MIDDLE:
    case S_LAST:
        snprintf(path, cap, "/api/v1/referrals?limit=%d&offset=%ld", S_PAGE, off);
        return json_pack("{s:i, s:I}", "limit", S_PAGE, "offset", (json_int_t)off);
    case S_SHOW:
        id = json_string_value(json_array_get(x->ids, (size_t)rand() %
                                                          (json_array_size(x->ids) + !json_array_size(x->ids))));
        snprintf(path, cap, "/api/v1/referrals/%s", id ? id : "000000");
        return json_pack("{s:s}", "id", id ? id : "000000");
    case S_SEARCH:
        snprintf(q, sizeof q, "REF-%07ld", x->total ? (long)((unsigned)rand() % x->total) : 0L);
        (void)k;
        snprintf(path, cap, "/api/v1/referrals?q=%s&limit=%d", q, S_PAGE);
        return json_pack("{s:s, s:i}", "q", q, "limit", S_PAGE);
    case S_OPS:
        break;
    }
    return NULL;
}

/* Checks the answer of `op` against a store filled to x->expect. */
static void s_check(s_run *x, enum s_op op, json_t *res, const json_t *args)
{
    json_t *items = json_object_get(res, "items");
    long total = (long)json_integer_value(json_object_get(res, "total"));
    long n = (long)json_array_size(items), want_total = -1, want_n = -1;
    for (size_t i = 0; op != S_SHOW && i < json_array_size(items) && json_array_size(x->ids) < 200;
         i++)
        json_array_append(x->ids, json_object_get(json_array_get(items, i), "id"));
    if (x->expect < 0)
        return;
    long all = x->expect, requested = (all + 99) / 100;
    switch (op) {
    case S_FIRST: want_total = all; want_n = all < S_PAGE ? all : S_PAGE; break;
    case S_STATE:
        want_total = requested;
        want_n = requested < S_PAGE ? requested : S_PAGE;
        break;
    case S_MIDDLE: want_total = all; want_n = all - all / 2 < S_PAGE ? all - all / 2 : S_PAGE;
        break;
    case S_LAST: want_total = all; want_n = all < S_PAGE ? all : S_PAGE; break;
    case S_SEARCH: {
        want_total = 1;
        want_n = 1;
        const char *ref = json_string_value(json_object_get(json_array_get(items, 0), "reference"));
        const char *q = json_string_value(json_object_get(args, "q"));
        if (ref == NULL || q == NULL || strcmp(ref, q) != 0) {
            fprintf(stderr, "hv-bench-intake: search %s found %s\n", q ? q : "?",
                    ref ? ref : "nothing");
            x->failures++;
        }
        break;
    }
    case S_SHOW:
        if (json_array_size(json_object_get(res, "history")) < 1) {
            fprintf(stderr, "hv-bench-intake: show gave no history\n");
            x->failures++;
        }
        return;
    case S_OPS:
        return;
    }
    if (total != want_total || n != want_n) {
        fprintf(stderr, "hv-bench-intake: %s: total %ld, %ld items; expected %ld, %ld\n",
                s_op_name[op], total, n, want_total, want_n);
        x->failures++;
    }
    /* The order of creation: each page starts with referral `first` and
     * runs on one by one (referral i has REF-i). */
    long first = op == S_FIRST ? 0 : op == S_MIDDLE ? all / 2 : op == S_LAST ? all - want_n : -1;
    for (long i = 0; first >= 0 && i < n; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "REF-%07ld", first + i);
        const char *got = json_string_value(json_object_get(json_array_get(items, (size_t)i),
                                                            "reference"));
        if (got == NULL || strcmp(got, ref) != 0) {
            fprintf(stderr, "hv-bench-intake: %s: item %ld is %s, not %s\n", s_op_name[op], i,
                    got ? got : "nothing", ref);
            x->failures++;
            break;
        }
    }
}

static int s_time(const char *sock, const char *url, const char *ca, const char *token,
                  int requests, long expect)
{
    hv_errmsg e = {{0}};
    s_run x = {.expect = expect, .ids = json_array()};
    json_t *reply = NULL, *args = json_pack("{s:i}", "limit", 1);
    if (hv_ctl_call(sock, "referral.list", args, 60000, &reply, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-intake: %s does not answer: %s\n", sock, e.text);
        return 1;
    }
    x.total = (long)json_integer_value(json_object_get(json_object_get(reply, "result"),
                                                      "total"));
    json_decref(reply);
    json_decref(args);
    printf("referrals in the store: %ld\n", x.total);
    double *t = calloc((size_t)requests, sizeof *t);
    char path[256], what[96];
    for (int op = 0; op < S_OPS; op++) {
        for (int k = 0; k < requests; k++) {
            args = s_args(&x, (enum s_op)op, k, path, sizeof path);
            const char *cmd = op == S_SHOW ? "referral.show" : "referral.list";
            double s = hv_bench_ms();
            hv_err err = hv_ctl_call(sock, cmd, args, 60000, &reply, &e);
            t[k] = hv_bench_ms() - s;
            if (err != HV_OK || !json_is_true(json_object_get(reply, "ok"))) {
                fprintf(stderr, "hv-bench-intake: %s failed: %s\n", cmd, e.text);
                x.failures++;
            } else {
                s_check(&x, (enum s_op)op, json_object_get(reply, "result"), args);
            }
            json_decref(reply);
            json_decref(args);
        }
        snprintf(what, sizeof what, "control socket: %s", s_op_name[op]);
        hv_bench_report(what, t, requests);
    }
    char host[64];
    unsigned port = 0;
    if (url != NULL && sscanf(url, "https://%63[0-9.]:%u", host, &port) == 2) {
        gnutls_global_init();
        hv_bench_conn c;
        char hdr[256], *out = NULL;
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token ? token : "");
        if (hv_bench_connect(&c, host, port, ca) != 0) {
            fprintf(stderr, "hv-bench-intake: cannot connect to %s\n", url);
            return 1;
        }
        for (int op = 0; op < S_OPS; op++) {
            for (int k = 0; k < requests; k++) {
                args = s_args(&x, (enum s_op)op, k, path, sizeof path);
                double s = hv_bench_ms();
                int st = hv_bench_request(&c, "GET", path, hdr, NULL, &out);
                t[k] = hv_bench_ms() - s;
                json_t *j = out ? json_loads(out, 0, NULL) : NULL;
                if (st != 200 || j == NULL) {
                    fprintf(stderr, "hv-bench-intake: GET %s answered %d\n", path, st);
                    x.failures++;
                } else {
                    s_check(&x, (enum s_op)op, j, args);
                }
                json_decref(j);
                json_decref(args);
                free(out);
            }
            snprintf(what, sizeof what, "haven-web: %s", s_op_name[op]);
            hv_bench_report(what, t, requests);
        }
        hv_bench_close(&c);
        gnutls_global_deinit();
    }
    free(t);
    json_decref(x.ids);
    if (x.failures > 0)
        printf("%d answers were not as a store of %ld referrals gives\n", x.failures, expect);
    return x.failures > 0;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"store", 1, NULL, 'S'}, {"keys", 1, NULL, 'k'},     {"referral", 1, NULL, 'r'},
        {"count", 1, NULL, 'c'}, {"router", 1, NULL, 'R'},   {"provider", 1, NULL, 'P'},
        {"socket", 1, NULL, 's'}, {"requests", 1, NULL, 'q'}, {"expect", 1, NULL, 'x'},
        {"url", 1, NULL, 'u'},   {"ca", 1, NULL, 'a'},       {"token", 1, NULL, 't'},
        {NULL, 0, NULL, 0}};
    const char *store = NULL, *keys = NULL, *file = NULL, *sock = NULL, *url = NULL,
               *ca = NULL, *token = NULL, *router = "router.xc", *provider = "shelter-a.xc";
    long count = -1, expect = -1;
    int requests = 20, opt;
    const char *mode = argc > 1 ? argv[1] : "";
    optind = 2;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'S': store = optarg; break;
        case 'k': keys = optarg; break;
        case 'r': file = optarg; break;
        case 'c': count = atol(optarg); break;
        case 'R': router = optarg; break;
        case 'P': provider = optarg; break;
        case 's': sock = optarg; break;
        case 'q': requests = atoi(optarg); break;
        case 'x': expect = atol(optarg); break;
        case 'u': url = optarg; break;
        case 'a': ca = optarg; break;
        case 't': token = optarg; break;
        default: return 2;
        }
    }
    if (hv_crypto_init() != HV_OK)
        return 1;
    if (strcmp(mode, "fill") == 0 && store && keys && file && count >= 0)
        return s_fill(store, keys, file, count, router, provider);
    if (strcmp(mode, "time") == 0 && sock && requests > 0 && (url == NULL || ca != NULL))
        return s_time(sock, url, ca, token, requests, expect);
    fprintf(stderr, "usage: hv-bench-intake fill --store DB --keys KEY --referral FILE --count N "
                    "[--router ID] [--provider ID]\n"
                    "       hv-bench-intake time --socket SOCK [--requests R] [--expect N] "
                    "[--url https://IP:PORT --ca CERT --token TOKEN]\n");
    return 2;
}
