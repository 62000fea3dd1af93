/* Benchmark (not a test) of whole referrals across the example network
 * (issue 24): N referrals submitted at once at the NGO in XA, each offered
 * by XC's router to the shelter in XC, accepted there as soon as the offer
 * is seen, its case transferred end to end and received, and the signed
 * receipt back at the NGO. For each N it prints p50/p99/max of every step
 * and of the whole, and referrals per second.
 *
 * Three threads, each with its own control requests (hv_ctl_call opens a
 * socket per call): the submitter (referral.submit at the intake, one
 * after another, as fast as the intake answers), the provider's follower
 * (events.wait at the provider: "offered" is answered by inbox.accept at
 * once, "received" is the case stored there) and the intake's follower
 * (events.wait: "received" is the receipt). Times are this program's
 * monotonic clock when it saw the event.
 *
 * usage: hv-bench-referral --intake NGO.sock --provider SHELTER.sock
 *          --referral FILE.json [--inflight 10,100,1000] [--timeout-s 600]
 * bench/referral_bench.sh sets up the three brokers and the workers. */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_bench_https.h"
#include "hv_ctl.h"
#include "hv_file.h"

/* What was seen of one referral, by id. */
typedef struct s_ref {
    char id[33];       /* the referral */
    double submit0;    /* referral.submit sent */
    double submitted;  /* ...answered */
    double offered;    /* the offer seen at the provider */
    double accepted;   /* inbox.accept answered */
    double cased;      /* the case received at the provider */
    double receipt;    /* the receipt received at the intake */
} s_ref;

typedef struct s_round {
    const char *intake, *provider; /* control sockets */
    s_ref *refs;                   /* n of them, ids filled as seen */
    int n;                         /* referrals in this round */
    pthread_mutex_t lock;          /* guards refs and the counts */
    int n_cased, n_receipts;       /* seen so far */
    double deadline;               /* monotonic ms to give up at */
    int failures;                  /* requests that failed */
} s_round;

/* The entry of `id`, made when new (under the lock); NULL when all n are
 * taken by other ids (a referral not of this round). */
static s_ref *s_ref_of(s_round *r, const char *id)
{
    for (int i = 0; i < r->n; i++) {
        if (r->refs[i].id[0] == '\0') {
            snprintf(r->refs[i].id, sizeof r->refs[i].id, "%s", id);
            return &r->refs[i];
        }
        if (strcmp(r->refs[i].id, id) == 0)
            return &r->refs[i];
    }
    return NULL;
}

/* The newest event's number at `sock`. */
static json_int_t s_events_last(const char *sock)
{
    json_t *args = json_pack("{s:I, s:i}", "after", (json_int_t)1 << 60, "timeout_ms", 0);
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    json_int_t last = -1;
    if (hv_ctl_call(sock, "events.wait", args, 30000, &reply, &e) == HV_OK)
        last = json_integer_value(json_object_get(json_object_get(reply, "result"), "last"));
    json_decref(args);
    json_decref(reply);
    return last;
}

typedef struct s_follow {
    s_round *r;        /* the round */
    bool provider;     /* the provider's follower, else the intake's */
    json_int_t after;  /* the event to wait after */
} s_follow;

static void *s_follower(void *arg)
{
    s_follow *f = arg;
    s_round *r = f->r;
    const char *sock = f->provider ? r->provider : r->intake;
    hv_errmsg e = {{0}};
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool done = (f->provider ? r->n_cased : r->n_receipts) >= r->n;
        pthread_mutex_unlock(&r->lock);
        if (done || hv_bench_ms() > r->deadline)
            break;
        json_t *args = json_pack("{s:I, s:i}", "after", f->after, "timeout_ms", 1000);
        json_t *reply = NULL;
        if (hv_ctl_call(sock, "events.wait", args, 30000, &reply, &e) != HV_OK) {
            json_decref(args);
            pthread_mutex_lock(&r->lock);
            r->failures++;
            pthread_mutex_unlock(&r->lock);
            break;
        }
        json_decref(args);
        double now = hv_bench_ms();
        json_t *res = json_object_get(reply, "result"), *ev;
        size_t i;
        json_array_foreach(json_object_get(res, "events"), i, ev)
        {
            const char *id = json_string_value(json_object_get(ev, "referral"));
            const char *state = json_string_value(json_object_get(ev, "state"));
            if (id == NULL || state == NULL)
                continue;
            bool offered = f->provider && strcmp(state, "offered") == 0;
            bool received = strcmp(state, "received") == 0;
            if (!offered && !received)
                continue;
            pthread_mutex_lock(&r->lock);
            s_ref *x = s_ref_of(r, id);
            if (x != NULL && offered && x->offered == 0)
                x->offered = now;
            if (x != NULL && received && f->provider && x->cased == 0) {
                x->cased = now;
                r->n_cased++;
            }
            if (x != NULL && received && !f->provider && x->receipt == 0) {
                x->receipt = now;
                r->n_receipts++;
            }
            pthread_mutex_unlock(&r->lock);
            if (x == NULL || !offered)
                continue;
            /* The shelter takes every offer as soon as it sees it. */
            json_t *a = json_pack("{s:s}", "id", id), *ar = NULL;
            hv_err err = hv_ctl_call(sock, "inbox.accept", a, 30000, &ar, &e);
            double t = hv_bench_ms();
            if (err != HV_OK || !json_is_true(json_object_get(ar, "ok"))) {
                fprintf(stderr, "hv-bench-referral: accept %s: %s\n", id,
                        err != HV_OK ? e.text
                                     : json_string_value(json_object_get(ar, "error")));
            }
            pthread_mutex_lock(&r->lock);
            r->failures += err != HV_OK || !json_is_true(json_object_get(ar, "ok"));
            x->accepted = t;
            pthread_mutex_unlock(&r->lock);
            json_decref(a);
            json_decref(ar);
        }
        f->after = json_integer_value(json_object_get(res, "last"));
        json_decref(reply);
    }
    return NULL;
}

/* Prints p50/p99/max of `b - a` over the referrals that have both. */
static void s_step(const char *what, const s_round *r, size_t a, size_t b)
{
    double *t = calloc((size_t)r->n, sizeof *t);
    int k = 0;
    for (int i = 0; i < r->n; i++) {
        const double *x = (const double *)((const char *)&r->refs[i] + a);
        const double *y = (const double *)((const char *)&r->refs[i] + b);
        if (*x > 0 && *y > 0)
            t[k++] = *y - *x;
    }
    char line[128];
    snprintf(line, sizeof line, "  %s", what);
    if (k > 0)
        hv_bench_report(line, t, k);
    else
        printf("%-44s none\n", line);
    free(t);
}

static int s_round_run(const char *intake, const char *provider, json_t *submit, int n,
                       int timeout_s)
{
    s_round r = {.intake = intake, .provider = provider, .n = n};
    r.refs = calloc((size_t)n, sizeof *r.refs);
    pthread_mutex_init(&r.lock, NULL);
    s_follow fp = {&r, true, s_events_last(provider)}, fi = {&r, false, s_events_last(intake)};
    if (fp.after < 0 || fi.after < 0) {
        fprintf(stderr, "hv-bench-referral: the workers do not answer events.wait\n");
        return 1;
    }
    r.deadline = hv_bench_ms() + timeout_s * 1000.0;
    pthread_t tp, ti;
    pthread_create(&tp, NULL, s_follower, &fp);
    pthread_create(&ti, NULL, s_follower, &fi);
    double start = hv_bench_ms();
    hv_errmsg e = {{0}};
    for (int i = 0; i < n; i++) {
        json_t *reply = NULL;
        double t0 = hv_bench_ms();
        hv_err err = hv_ctl_call(intake, "referral.submit", submit, 30000, &reply, &e);
        double t1 = hv_bench_ms();
        const char *id = json_string_value(
            json_object_get(json_object_get(reply, "result"), "id"));
        if (err != HV_OK || id == NULL) {
            fprintf(stderr, "hv-bench-referral: submit: %s\n",
                    err != HV_OK ? e.text : json_string_value(json_object_get(reply, "error")));
            r.failures++;
            json_decref(reply);
            break;
        }
        pthread_mutex_lock(&r.lock);
        s_ref *x = s_ref_of(&r, id);
        if (x != NULL) {
            x->submit0 = t0;
            x->submitted = t1;
        }
        pthread_mutex_unlock(&r.lock);
        json_decref(reply);
    }
    double submitted = hv_bench_ms();
    pthread_join(tp, NULL);
    pthread_join(ti, NULL);
    double last_case = 0, last_receipt = 0;
    for (int i = 0; i < n; i++) {
        if (r.refs[i].cased > last_case)
            last_case = r.refs[i].cased;
        if (r.refs[i].receipt > last_receipt)
            last_receipt = r.refs[i].receipt;
    }
    printf("%d referrals in flight: submitted in %.0f ms; %d cases received at the provider, "
           "%d receipts at the intake\n", n, submitted - start, r.n_cased, r.n_receipts);
    s_step("submit (referral.submit answered)", &r, offsetof(s_ref, submit0),
           offsetof(s_ref, submitted));
    s_step("submitted -> offer seen at the provider", &r, offsetof(s_ref, submitted),
           offsetof(s_ref, offered));
    s_step("offer seen -> accept answered", &r, offsetof(s_ref, offered),
           offsetof(s_ref, accepted));
    s_step("accepted -> case received at the provider", &r, offsetof(s_ref, accepted),
           offsetof(s_ref, cased));
    s_step("case received -> receipt at the intake", &r, offsetof(s_ref, cased),
           offsetof(s_ref, receipt));
    s_step("whole: submit -> case received", &r, offsetof(s_ref, submit0),
           offsetof(s_ref, cased));
    s_step("whole: submit -> receipt at the intake", &r, offsetof(s_ref, submit0),
           offsetof(s_ref, receipt));
    if (last_case > 0)
        printf("  rate: %.1f referrals/s to the case received (%.1f s from the first submit "
               "to the last case), %.1f/s to the receipt\n", r.n_cased * 1e3 / (last_case - start),
               (last_case - start) / 1e3,
               last_receipt > 0 ? r.n_receipts * 1e3 / (last_receipt - start) : 0.0);
    int rc = r.failures > 0 || r.n_cased < n || r.n_receipts < n;
    pthread_mutex_destroy(&r.lock);
    free(r.refs);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"intake", 1, NULL, 'i'}, {"provider", 1, NULL, 'p'}, {"referral", 1, NULL, 'r'},
        {"inflight", 1, NULL, 'n'}, {"timeout-s", 1, NULL, 't'}, {NULL, 0, NULL, 0}};
    const char *intake = NULL, *provider = NULL, *file = NULL;
    char inflight[128] = "10,100,1000";
    int timeout_s = 600, opt;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'i': intake = optarg; break;
        case 'p': provider = optarg; break;
        case 'r': file = optarg; break;
        case 'n': snprintf(inflight, sizeof inflight, "%s", optarg); break;
        case 't': timeout_s = atoi(optarg); break;
        default: return 2;
        }
    }
    if (intake == NULL || provider == NULL || file == NULL || timeout_s < 1) {
        fprintf(stderr, "usage: hv-bench-referral --intake SOCK --provider SOCK --referral FILE "
                        "[--inflight 10,100,1000] [--timeout-s 600]\n");
        return 2;
    }
    char *text = NULL;
    size_t len = 0;
    hv_errmsg e = {{0}};
    if (hv_file_read(file, 1 << 20, (uint8_t **)&text, &len, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-referral: %s\n", e.text);
        return 1;
    }
    json_t *submit = json_pack("{s:s%}", "case", text, len);
    int rc = 0;
    for (char *tok = strtok(inflight, ","); tok != NULL && rc == 0; tok = strtok(NULL, ",")) {
        int n = atoi(tok);
        if (n < 1 || n > 100000) {
            fprintf(stderr, "hv-bench-referral: --inflight takes counts from 1 to 100000\n");
            return 2;
        }
        rc = s_round_run(intake, provider, submit, n, timeout_s);
    }
    json_decref(submit);
    free(text);
    return rc;
}
