/* The benchmarks' HTTPS client; see hv_bench_https.h. */
#include "hv_bench_https.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double hv_bench_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int hv_bench_connect(hv_bench_conn *c, const char *host, unsigned port, const char *ca)
{
    memset(c, 0, sizeof *c);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
        gnutls_certificate_set_x509_trust_file(c->cred, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
        gnutls_init(&c->tls, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(c->tls) < 0 ||
        gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred) < 0)
        return -1;
    gnutls_session_set_verify_cert(c->tls, host, 0);
    gnutls_transport_set_int(c->tls, c->fd);
    int rc;
    do
        rc = gnutls_handshake(c->tls);
    while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    if (rc < 0) {
        fprintf(stderr, "TLS handshake: %s\n", gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

void hv_bench_close(hv_bench_conn *c)
{
    if (c->tls != NULL) {
        gnutls_bye(c->tls, GNUTLS_SHUT_RDWR);
        gnutls_deinit(c->tls);
    }
    if (c->cred != NULL)
        gnutls_certificate_free_credentials(c->cred);
    if (c->fd > 0)
        close(c->fd);
}

int hv_bench_request(hv_bench_conn *c, const char *method, const char *path,
                     const char *headers, const char *body, char **out)
{
    *out = NULL;
    char req[4096];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: "
                     "%zu\r\n\r\n%s", method, path, headers, body ? strlen(body) : 0,
                     body ? body : "");
    if (n < 0 || (size_t)n >= sizeof req || gnutls_record_send(c->tls, req, (size_t)n) != n)
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;
    long want = -1;
    while (buf != NULL) {
        if (len == cap && (buf = realloc(buf, (cap *= 2) + 1)) == NULL)
            return -1;
        ssize_t r = gnutls_record_recv(c->tls, buf + len, cap - len);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)r;
        buf[len] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length: ");
            want = cl != NULL && cl < end ? atol(cl + 18) : 0;
        }
        if (end != NULL && (long)(len - (size_t)(end + 4 - buf)) >= want)
            break;
    }
    if (buf == NULL)
        return -1;
    int status = atoi(buf + 9);
    *out = strdup(end + 4);
    free(buf);
    return status;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void hv_bench_report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, s_cmp);
    printf("%-44s n=%-5d p50 %8.2f ms   p99 %8.2f ms   max %8.2f ms\n", what, n, t[n / 2],
           t[(int)((n - 1) * 0.99)], t[n - 1]);
}

