/* Benchmark (not a test) of haven-web in front of a real intake: sign-in
 * latency at the configured Argon2id cost, and API latency p50/p99 of a
 * page of 50 referrals (GET /api/v1/referrals?limit=50&offset=...) and of
 * one referral with its history (GET /api/v1/referrals/ID), with COUNT
 * referrals in the store (submitted first through the worker's
 * administrators' socket when fewer are there). One HTTPS connection
 * (GnuTLS, kept alive), requests one after another.
 * bench/web_bench.sh sets up the daemons and runs it.
 *
 * usage: hv-bench-web --url https://127.0.0.1:PORT --ca CERT.pem
 *          --name STAFF --password PW --token READ_TOKEN
 *          --socket WORKER_CONTROL.sock --referral FILE.json
 *          [--count 10000] [--requests 500] [--signins 20] */
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_bench_https.h"
#include "hv_ctl.h"
#include "hv_file.h"

static json_int_t s_total(const char *sock)
{
    json_t *reply = NULL;
    hv_errmsg e = {{0}};
    json_t *args = json_pack("{s:i}", "limit", 1);
    json_int_t total = -1;
    if (hv_ctl_call(sock, "referral.list", args, 30000, &reply, &e) == HV_OK)
        total = json_integer_value(json_object_get(json_object_get(reply, "result"), "total"));
    json_decref(args);
    json_decref(reply);
    return total;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"url", 1, NULL, 'u'}, {"ca", 1, NULL, 'a'}, {"name", 1, NULL, 'n'},
        {"password", 1, NULL, 'p'}, {"token", 1, NULL, 't'}, {"socket", 1, NULL, 's'},
        {"referral", 1, NULL, 'r'}, {"count", 1, NULL, 'c'}, {"requests", 1, NULL, 'q'},
        {"signins", 1, NULL, 'i'}, {NULL, 0, NULL, 0}};
    const char *url = NULL, *ca = NULL, *name = NULL, *pw = NULL, *token = NULL, *sock = NULL,
               *file = NULL;
    int count = 10000, requests = 500, signins = 20, opt;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'a': ca = optarg; break;
        case 'n': name = optarg; break;
        case 'p': pw = optarg; break;
        case 't': token = optarg; break;
        case 's': sock = optarg; break;
        case 'r': file = optarg; break;
        case 'c': count = atoi(optarg); break;
        case 'q': requests = atoi(optarg); break;
        case 'i': signins = atoi(optarg); break;
        default: return 2;
        }
    }
    char host[64];
    unsigned port = 0;
    if (!url || !ca || !name || !pw || !token || !sock || !file || requests < 1 ||
        signins < 1 || sscanf(url, "https://%63[0-9.]:%u", host, &port) != 2) {
        fprintf(stderr, "usage: hv-bench-web --url https://IP:PORT --ca CERT --name STAFF "
                        "--password PW --token TOKEN --socket SOCK --referral FILE "
                        "[--count N] [--requests N] [--signins N]\n");
        return 2;
    }
    char *text = NULL;
    size_t len = 0;
    hv_errmsg e = {{0}};
    if (hv_file_read(file, 1 << 20, (uint8_t **)&text, &len, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-web: %s\n", e.text);
        return 1;
    }
    /* 1. the store: COUNT referrals */
    json_int_t have = s_total(sock);
    if (have < 0) {
        fprintf(stderr, "hv-bench-web: the worker at %s does not answer\n", sock);
        return 1;
    }
    double t0 = hv_bench_ms();
    json_t *args = json_pack("{s:s%}", "case", text, len);
    for (json_int_t i = have; i < count; i++) {
        json_t *reply = NULL;
        if (hv_ctl_call(sock, "referral.submit", args, 30000, &reply, &e) != HV_OK ||
            !json_is_true(json_object_get(reply, "ok"))) {
            fprintf(stderr, "hv-bench-web: submit %lld failed\n", (long long)i);
            return 1;
        }
        json_decref(reply);
    }
    json_decref(args);
    if (count > have)
        printf("submitted %lld referrals in %.1f s\n", (long long)(count - have),
               (hv_bench_ms() - t0) / 1e3);
    printf("referrals in the store: %lld\n", (long long)s_total(sock));
    gnutls_global_init();
    hv_bench_conn c;
    if (hv_bench_connect(&c, host, port, ca) != 0) {
        fprintf(stderr, "hv-bench-web: cannot connect to %s\n", url);
        return 1;
    }
    double *t = calloc((size_t)(requests > signins ? requests : signins), sizeof *t);
    char body[512], hdr[256], *out = NULL;
    /* 2. sign-in */
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, pw);
    for (int i = 0; i < signins; i++) {
        double s = hv_bench_ms();
        int st = hv_bench_request(&c, "POST", "/api/v1/session", "Content-Type: application/json\r\n",
                           body, &out);
        t[i] = hv_bench_ms() - s;
        free(out);
        if (st != 201) {
            fprintf(stderr, "hv-bench-web: sign-in answered %d\n", st);
            return 1;
        }
    }
    hv_bench_report("sign-in (POST /api/v1/session)", t, signins);
    /* 3. a page of 50 */
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    json_t *ids = json_array();
    for (int i = 0; i < requests; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/referrals?limit=50&offset=%d",
                 (int)((unsigned)rand() % (unsigned)(count > 50 ? count - 50 : 1)));
        double s = hv_bench_ms();
        int st = hv_bench_request(&c, "GET", path, hdr, NULL, &out);
        t[i] = hv_bench_ms() - s;
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        json_t *items = json_object_get(j, "items");
        if (st != 200 || json_array_size(items) == 0) {
            fprintf(stderr, "hv-bench-web: list answered %d: %.200s\n", st, out ? out : "");
            return 1;
        }
        if (json_array_size(ids) < (size_t)requests)
            json_array_append(ids, json_object_get(json_array_get(items, 0), "id"));
        json_decref(j);
        free(out);
    }
    hv_bench_report("list, a page of 50 (GET /api/v1/referrals)", t, requests);
    /* 4. one referral with its history */
    for (int i = 0; i < requests; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/referrals/%s",
                 json_string_value(json_array_get(ids, (size_t)i % json_array_size(ids))));
        double s = hv_bench_ms();
        int st = hv_bench_request(&c, "GET", path, hdr, NULL, &out);
        t[i] = hv_bench_ms() - s;
        free(out);
        if (st != 200) {
            fprintf(stderr, "hv-bench-web: show answered %d\n", st);
            return 1;
        }
    }
    hv_bench_report("show (GET /api/v1/referrals/ID)", t, requests);
    /* 5. the same page straight from the worker (its administrators'
     * socket, no HTTP, no TLS): what haven-web adds is the difference. */
    for (int i = 0; i < requests; i++) {
        json_t *a = json_pack("{s:i, s:i}", "limit", 50, "offset",
                              (int)((unsigned)rand() % (unsigned)(count > 50 ? count - 50 : 1)));
        json_t *reply = NULL;
        double s = hv_bench_ms();
        hv_err err = hv_ctl_call(sock, "referral.list", a, 30000, &reply, &e);
        t[i] = hv_bench_ms() - s;
        json_decref(a);
        json_decref(reply);
        if (err != HV_OK)
            return 1;
    }
    hv_bench_report("the worker alone: referral.list, 50", t, requests);
    json_decref(ids);
    free(t);
    free(text);
    hv_bench_close(&c);
    gnutls_global_deinit();
    return 0;
}
