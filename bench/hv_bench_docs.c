/* haven-bench --documents: documents in chunks through the broker's
 * custody; see hv_bench_docs.h and docs/BENCHMARKS.md. */
#include "hv_bench_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_envelope.h"
#include "hv_msg.h"

/* As the intake sends (services/intake/intake.c S_CHUNKS_PER_ROUND). */
#define S_ROUND 2
#define S_SMALL 2048 /* the small referral's plaintext, bytes */

static int64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The envelopes of one run: chunks 0..n-1, then the small one at n. */
typedef struct s_set {
    size_t n;            /* chunks */
    uint8_t **wire;      /* sealed envelopes, n + 1 */
    size_t *len;         /* their lengths */
    uint8_t (*id)[16];   /* their ids */
    int64_t *stored_us;  /* when the broker's STORED came, 0 before */
    size_t stored;       /* how many came */
} s_set;

static void s_on_stored(void *arg, const uint8_t id[16])
{
    s_set *s = arg;
    for (size_t i = s->n + 1; i-- > 0;) /* the newest first: the small one, the window */
        if (s->stored_us[i] == 0 && memcmp(s->id[i], id, 16) == 0) {
            s->stored_us[i] = s_now_us();
            s->stored++;
            return;
        }
}

static void s_die(const char *what)
{
    fprintf(stderr, "haven-bench: %s\n", what);
    exit(1);
}

/* Seals a document of `size` bytes as ATTACHMENT chunks and a small
 * CASE_TRANSFER after them, fresh ids each time. */
static void s_seal(const hv_bench_docs_env *env, size_t size, s_set *s)
{
    memset(s, 0, sizeof *s);
    s->n = (size + HV_ATTACH_CHUNK - 1) / HV_ATTACH_CHUNK;
    s->wire = calloc(s->n + 1, sizeof *s->wire);
    s->len = calloc(s->n + 1, sizeof *s->len);
    s->id = calloc(s->n + 1, sizeof *s->id);
    s->stored_us = calloc(s->n + 1, sizeof *s->stored_us);
    uint8_t *doc = malloc(size);
    if (s->wire == NULL || s->len == NULL || s->id == NULL || s->stored_us == NULL || doc == NULL)
        s_die("out of memory");
    memcpy(doc, "%PDF-1.7\n", 9);
    for (size_t i = 9; i < size; i++)
        doc[i] = (uint8_t)('a' + i % 26);
    memcpy(doc + size - 7, "\n%%EOF\n", 7);
    static hv_msg m;
    memset(&m, 0, sizeof m);
    m.type = HV_MSG_ATTACHMENT;
    strcpy(m.attach.name, "bench.pdf");
    strcpy(m.attach.type, "application/pdf");
    m.attach.size = size;
    m.attach.chunks = (uint32_t)s->n;
    hv_hash256(doc, size, m.attach.digest);
    for (size_t i = 0; i <= s->n; i++) {
        bool small = i == s->n;
        static const char case_json[S_SMALL + 1] = "{}";
        if (small) {
            memset(&m, 0, sizeof m);
            m.type = HV_MSG_CASE_TRANSFER;
            m.case_json = case_json;
            m.case_len = S_SMALL;
        } else {
            m.attach.index = (uint32_t)i;
            m.attach.data = doc + i * HV_ATTACH_CHUNK;
            m.attach.data_len = i + 1 < s->n ? HV_ATTACH_CHUNK : size - i * HV_ATTACH_CHUNK;
        }
        uint8_t *body = NULL;
        size_t body_len = 0;
        hv_envelope e;
        hv_envelope_init(&e, m.type, env->intake_id, hv_keypair_public(env->intake_keys),
                         env->provider_id, hv_keypair_public(env->provider_keys));
        if (hv_msg_encode(&m, &body, &body_len) != HV_OK ||
            hv_envelope_seal(&e, env->intake_keys, hv_keypair_public(env->provider_keys), body,
                             body_len, &s->wire[i], &s->len[i]) != HV_OK)
            s_die("cannot seal a chunk");
        memcpy(s->id[i], e.id, 16);
        free(body);
    }
    free(doc);
}

static void s_free(s_set *s)
{
    for (size_t i = 0; s->wire != NULL && i <= s->n; i++)
        free(s->wire[i]);
    free(s->wire);
    free(s->len);
    free(s->id);
    free(s->stored_us);
    memset(s, 0, sizeof *s);
}

static void s_send(hv_client *c, s_set *s, size_t i)
{
    if (hv_client_send(c, s->wire[i], s->len[i]) != HV_OK)
        s_die("cannot queue a chunk");
}

static void s_wait_all(hv_client *c, s_set *s)
{
    int64_t deadline = s_now_us() + 600 * 1000000LL;
    while (s->stored < s->n + 1 && s_now_us() < deadline)
        if (hv_client_poll(c, 1) != HV_OK)
            s_die("poll");
    if (s->stored < s->n + 1)
        s_die("the broker did not store everything within 10 minutes");
}

/* All chunks queued at once, the small one last: the broker's custody
 * rate for chunk envelopes, and what a small message behind them waits. */
static void s_all_at_once(hv_client *c, s_set *s, double *mbps, double *small_ms)
{
    hv_client_on_stored(c, s_on_stored, s);
    int64_t t0 = s_now_us();
    if (hv_client_send_many(c, (const uint8_t *const *)s->wire, s->len, s->n) != HV_OK)
        s_die("cannot queue the chunks");
    int64_t t_small = s_now_us();
    s_send(c, s, s->n);
    s_wait_all(c, s);
    int64_t last = 0;
    for (size_t i = 0; i < s->n; i++)
        last = s->stored_us[i] > last ? s->stored_us[i] : last;
    size_t bytes = 0;
    for (size_t i = 0; i < s->n; i++)
        bytes += s->len[i];
    *mbps = (double)bytes / 1e6 / ((double)(last - t0) / 1e6);
    *small_ms = (double)(s->stored_us[s->n] - t_small) / 1000.0;
}

/* The intake's way: S_ROUND chunks, then the next ones once those are
 * STORED; the small one is queued when half the document has gone. */
static void s_windowed(hv_client *c, s_set *s, double *mbps, double *small_ms)
{
    hv_client_on_stored(c, s_on_stored, s);
    int64_t t0 = s_now_us(), t_small = 0;
    size_t queued = 0;
    while (s->stored < s->n + 1) {
        size_t chunks_stored = s->stored - (s->stored_us[s->n] != 0 ? 1 : 0);
        if (queued < s->n && chunks_stored == queued)
            for (int k = 0; k < S_ROUND && queued < s->n; k++)
                s_send(c, s, queued++);
        if (t_small == 0 && queued >= s->n / 2) {
            t_small = s_now_us();
            s_send(c, s, s->n);
        }
        if (hv_client_poll(c, 1) != HV_OK)
            s_die("poll");
    }
    int64_t last = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < s->n; i++) {
        last = s->stored_us[i] > last ? s->stored_us[i] : last;
        bytes += s->len[i];
    }
    *mbps = (double)bytes / 1e6 / ((double)(last - t0) / 1e6);
    *small_ms = (double)(s->stored_us[s->n] - t_small) / 1000.0;
}

void hv_bench_docs(const hv_bench_docs_env *env)
{
    size_t size = env->mib * 1024 * 1024;
    printf("\nDocuments: one of %zu MiB in %u-byte chunks (ATTACHMENT), each an envelope in "
           "the broker's custody\n", env->mib, HV_ATTACH_CHUNK);
    hv_client *c = env->client(env->intake_id, env->intake_keys, 64);
    s_set s;
    double raw_mbps, raw_small, win_mbps, win_small;
    s_seal(env, size, &s);
    s_all_at_once(c, &s, &raw_mbps, &raw_small);
    double chunk_ms = (double)s.len[0] / 1e6 / raw_mbps * 1000.0;
    printf("  all chunks queued at once (the machine's custody limit): %8.1f MB/s\n", raw_mbps);
    printf("    a small referral queued behind them waits %8.1f ms for STORED\n", raw_small);
    s_free(&s);
    s_seal(env, size, &s);
    s_windowed(c, &s, &win_mbps, &win_small);
    printf("  %d chunks at a time, the next once STORED (as the intake): %8.1f MB/s = %.0f%% "
           "of the limit\n", S_ROUND, win_mbps, 100.0 * win_mbps / raw_mbps);
    printf("    a small referral queued mid-document waits %8.1f ms for STORED = %.1f chunk "
           "times (one chunk: %.1f ms)\n", win_small, win_small / chunk_ms, chunk_ms);
    s_free(&s);
    hv_client_close(&c);
}
