/* The broker's HTTP endpoint: the daemons' common one (common/hv_httpd.h)
 * with the broker's [http] section, its JSON stats and its dashboard page;
 * see hv_http.h. */
#include "hv_http.h"

#include <stdlib.h>

#include "hv_dashboard.h"
#include "hv_httpd.h"

struct hv_http {
    hv_httpd *d; /* the server */
};

hv_err hv_http_check(const char *bind, const char *token, const hv_http_limits *limits,
                     hv_errmsg *e)
{
    return hv_httpd_check("http", bind, token, limits, e);
}

hv_err hv_http_start(hv_http **out, const char *bind, const char *token,
                     const hv_http_limits *limits, hv_errmsg *e)
{
    *out = NULL;
    hv_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return HV_ENOMEM;
    hv_httpd_opts o = {.section = "http", .bind = bind, .token = token,
                       .page = hv_dashboard_html, .stats = true, .limits = limits};
    hv_err err = hv_httpd_start(&h->d, &o, e);
    if (err != HV_OK) {
        free(h);
        return err;
    }
    *out = h;
    return HV_OK;
}

void hv_http_publish(hv_http *h, const char *metrics, const char *stats_json)
{
    hv_httpd_publish(h->d, metrics, stats_json);
}

void hv_http_set_registry(hv_http *h, uint64_t version, uint64_t expires_at)
{
    hv_httpd_set_registry(h->d, version, expires_at);
}

void hv_http_set_fault(hv_http *h, const char *text)
{
    hv_httpd_set_fault(h->d, text);
}

void hv_http_stop(hv_http **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    hv_httpd_stop(&(*hp)->d);
    free(*hp);
    *hp = NULL;
}
