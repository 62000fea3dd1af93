/* A worker's metrics; see hv_worker_metrics.h. */
#include "hv_worker_metrics.h"

#include <stdlib.h>
#include <time.h>

#include "hv_db.h"
#include "hv_httpd.h"
#include "hv_prom.h"

#define S_PUBLISH_MS 1000 /* one snapshot a second */

struct hv_worker_metrics {
    hv_httpd *http;                  /* the endpoint, or NULL when off */
    int64_t next_publish;            /* monotonic ms of the next snapshot */
    uint64_t errors[HV_WERR_COUNT];  /* by kind */
    uint64_t erasures;               /* committed erasures */
};

static const char *const s_kind[HV_WERR_COUNT] = {
    [HV_WERR_MESSAGE_REFUSED] = "message_refused",
    [HV_WERR_MESSAGE_DEFERRED] = "message_deferred",
    [HV_WERR_UNDELIVERABLE] = "undeliverable",
    [HV_WERR_CONTROL_REFUSED] = "control_refused",
    [HV_WERR_STORE] = "store_failed",
    [HV_WERR_AUDIT] = "audit_failed",
};

hv_err hv_worker_metrics_check(const char *bind, const char *token,
                               const hv_http_limits *limits, hv_errmsg *e)
{
    if (bind[0] == '\0')
        return token[0] == '\0' ? HV_OK
                                : hv_fail(e, HV_ECONFIG, "[metrics] token: only with bind");
    return hv_httpd_check("metrics", bind, token, limits, e);
}

hv_err hv_worker_metrics_open(hv_worker_metrics **out, const char *bind, const char *token,
                              const hv_http_limits *limits, hv_errmsg *e)
{
    *out = NULL;
    hv_err err = hv_worker_metrics_check(bind, token, limits, e);
    if (err != HV_OK)
        return err;
    hv_worker_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return HV_ENOMEM;
    if (bind[0] != '\0') {
        hv_httpd_opts o = {.section = "metrics", .bind = bind, .token = token,
                           .limits = limits};
        if ((err = hv_httpd_start(&m->http, &o, e)) != HV_OK) {
            free(m);
            return err;
        }
    }
    *out = m;
    return HV_OK;
}

void hv_worker_metrics_error(hv_worker_metrics *m, hv_worker_error kind)
{
    if (m != NULL && kind < HV_WERR_COUNT)
        m->errors[kind]++;
}

void hv_worker_metrics_erased(hv_worker_metrics *m, unsigned n)
{
    if (m != NULL)
        m->erasures += n;
}

/* One row of `sql` with two integers, or false (none, or the store failed). */
static bool s_row2(sqlite3 *db, const char *sql, int64_t *a, int64_t *b, bool *b_null)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        *a = sqlite3_column_int64(st, 0);
        *b_null = sqlite3_column_type(st, 1) == SQLITE_NULL;
        *b = *b_null ? 0 : sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return ok;
}

#define S_L(...) ((const char *const[]){"node", src->node, "role", src->role, __VA_ARGS__})

char *hv_worker_metrics_text(hv_worker_metrics *m, const hv_worker_metrics_src *src)
{
    hv_prom p = {0};
    int64_t now_ms = hv_now_ms(), n = 0, v = 0;
    bool null = true;
    hv_prom_family(&p, "haven_worker_broker_up", "gauge",
                   "1 while the worker's session with its home broker is up.");
    hv_prom_sample(&p, "haven_worker_broker_up", S_L(NULL, NULL), 2,
                   hv_client_ready(src->client));
    hv_prom_family(&p, "haven_worker_outbox_depth", "gauge",
                   "Messages in the outbox that the broker has not yet STORED.");
    hv_prom_sample(&p, "haven_worker_outbox_depth", S_L(NULL, NULL), 2,
                   (double)hv_client_outbox_size(src->client));
    hv_prom_family(&p, "haven_worker_outbox_oldest_age_seconds", "gauge",
                   "Seconds since the oldest message in the outbox was queued (0 when empty).");
    double age = 0;
    if (s_row2(src->db, "SELECT count(*), min(queued_ms) FROM outbox", &n, &v, &null) && !null &&
        now_ms > v)
        age = (double)(now_ms - v) / 1000.0;
    hv_prom_sample(&p, "haven_worker_outbox_oldest_age_seconds", S_L(NULL, NULL), 2, age);
    if (src->states_sql != NULL) {
        hv_prom_family(&p, "haven_worker_referrals", "gauge",
                       "Referrals held, by their state in this worker.");
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(src->db, src->states_sql, -1, &st, NULL) == SQLITE_OK)
            while (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
                hv_prom_sample(&p, "haven_worker_referrals",
                               S_L("state", (const char *)sqlite3_column_text(st, 0)), 3,
                               (double)sqlite3_column_int64(st, 1));
        sqlite3_finalize(st);
    }
    if (src->offers_sql != NULL) {
        n = 0;
        null = true;
        (void)s_row2(src->db, src->offers_sql, &n, &v, &null);
        hv_prom_family(&p, "haven_worker_offers_pending", "gauge",
                       "Offers waiting for a provider's answer.");
        hv_prom_sample(&p, "haven_worker_offers_pending", S_L(NULL, NULL), 2, (double)n);
        hv_prom_family(&p, "haven_worker_offer_answer_by_seconds", "gauge",
                       "Seconds until the soonest answer-by of a pending offer (negative: "
                       "overdue); absent when none is pending.");
        if (n > 0 && !null)
            hv_prom_sample(&p, "haven_worker_offer_answer_by_seconds", S_L(NULL, NULL), 2,
                           (double)(v - (int64_t)time(NULL)));
    }
    if (src->overdue_sql != NULL) {
        n = 0;
        null = true;
        (void)s_row2(src->db, src->overdue_sql, &n, &v, &null);
        hv_prom_family(&p, "haven_worker_referrals_overdue", "gauge",
                       "Referrals past a deadline of their state (docs/REFERRAL.md, deadlines).");
        hv_prom_sample(&p, "haven_worker_referrals_overdue", S_L(NULL, NULL), 2, (double)n);
    }
    hv_prom_family(&p, "haven_worker_erasures_total", "counter",
                   "Cases and drafts erased (key destroyed, rows deleted) since start.");
    hv_prom_sample(&p, "haven_worker_erasures_total", S_L(NULL, NULL), 2, (double)m->erasures);
    hv_prom_family(&p, "haven_worker_errors_total", "counter", "Errors since start, by kind.");
    for (unsigned k = 0; k < HV_WERR_COUNT; k++)
        hv_prom_sample(&p, "haven_worker_errors_total", S_L("kind", s_kind[k]), 3,
                       (double)m->errors[k]);
    hv_prom_build_info(&p, src->program, S_L(NULL, NULL), 2);
    hv_prom_process(&p, S_L(NULL, NULL), 2);
    return hv_prom_take(&p);
}

void hv_worker_metrics_publish(hv_worker_metrics *m, const hv_worker_metrics_src *src,
                               int64_t now)
{
    if (m == NULL || m->http == NULL || now < m->next_publish)
        return;
    m->next_publish = now + S_PUBLISH_MS;
    char *text = hv_worker_metrics_text(m, src);
    if (src->reg != NULL)
        hv_httpd_set_registry(m->http, hv_registry_version(src->reg),
                              hv_registry_expires_at(src->reg));
    if (text != NULL)
        hv_httpd_publish(m->http, text, NULL);
    free(text);
}

void hv_worker_metrics_close(hv_worker_metrics **mp)
{
    if (mp == NULL || *mp == NULL)
        return;
    hv_httpd_stop(&(*mp)->http);
    free(*mp);
    *mp = NULL;
}
