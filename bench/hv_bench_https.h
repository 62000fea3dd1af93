/* A small HTTPS client for the benchmarks that time haven-web
 * (hv_bench_web.c, hv_bench_intake.c): one kept-alive TLS connection
 * (GnuTLS, trusting one certificate), requests one after another, and the
 * p50/p99 line they print. Not for tests: no timeouts. */
#ifndef HV_BENCH_HTTPS_H
#define HV_BENCH_HTTPS_H

#include <gnutls/gnutls.h>

typedef struct hv_bench_conn {
    int fd;                                 /* TCP */
    gnutls_session_t tls;                   /* the session over it */
    gnutls_certificate_credentials_t cred;  /* trusts the CA given */
} hv_bench_conn;

/* Monotonic milliseconds. */
double hv_bench_ms(void);

/* Connects to HOST:PORT (an IPv4 address) trusting `ca` (a PEM file);
 * 0 or -1. Call gnutls_global_init first. */
int hv_bench_connect(hv_bench_conn *c, const char *host, unsigned port, const char *ca);

/* Closes what hv_bench_connect opened. */
void hv_bench_close(hv_bench_conn *c);

/* One request (`headers` "" or lines ending in CRLF, `body` may be NULL);
 * returns the status (or -1) and the body in `*out` (caller frees). */
int hv_bench_request(hv_bench_conn *c, const char *method, const char *path,
                     const char *headers, const char *body, char **out);

/* Sorts `t` (n > 0 times in ms) and prints "WHAT n= p50 p99 max". */
void hv_bench_report(const char *what, double *t, int n);

#endif
