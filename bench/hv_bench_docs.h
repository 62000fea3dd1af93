/* haven-bench --documents MIB (bench/hv_bench_docs.c): documents in
 * chunks through the broker's custody (issue 21). */
#ifndef HV_BENCH_DOCS_H
#define HV_BENCH_DOCS_H

#include <stddef.h>
#include <stdint.h>

#include "hv_client.h"
#include "hv_crypto.h"

/* What the broker benchmark has set up: a broker running, an intake node
 * and a provider node in its registry (all borrowed). */
typedef struct hv_bench_docs_env {
    const char *intake_id;          /* the sender */
    const hv_keypair *intake_keys;  /* its keys */
    const char *provider_id;        /* the recipient (never connected: custody only) */
    const hv_keypair *provider_keys; /* its keys */
    /* Opens a client of node `id` with `window` deliveries in flight. */
    hv_client *(*client)(const char *id, const hv_keypair *kp, uint32_t window);
    size_t mib;                     /* the document's size, MiB */
} hv_bench_docs_env;

/* Runs the three measurements and prints them: the raw custody rate of
 * chunk envelopes (all queued at once), the rate the intake's way (a few
 * chunks at a time, the next ones when the broker has STORED those), and
 * the latency to STORED of a small CASE_TRANSFER queued in the middle of
 * the document, both ways, beside one chunk's time. */
void hv_bench_docs(const hv_bench_docs_env *env);

#endif
