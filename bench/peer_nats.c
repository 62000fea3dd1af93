/* The peers benchmark against NATS JetStream (nats.c 3.4): a stream of its
 * own per run with file storage; the producer publishes asynchronously with
 * at most `window` publishes not yet acknowledged by the stream, the
 * consumer (its own connection) is a durable push consumer with explicit
 * acks and MaxAckPending `window`, and acknowledges each message
 * (hv_peer.h). */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_peer.h"

#define S_DEADLINE_US (300 * 1000000LL) /* a run that takes longer has failed */

static int s_errors; /* publishes the stream refused (atomic) */

static void s_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    hv_peer_times *t = closure;
    if (pa != NULL && pae == NULL)
        hv_peer_mark_conf(t, hv_peer_index(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg)));
    else
        __atomic_add_fetch(&s_errors, 1, __ATOMIC_RELAXED);
    natsMsg_Destroy(msg);
}

static void s_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    hv_peer_times *t = closure;
    hv_peer_mark_recv(t, hv_peer_index(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg)));
    if (natsMsg_Ack(msg, NULL) != NATS_OK)
        __atomic_add_fetch(&s_errors, 1, __ATOMIC_RELAXED);
    natsMsg_Destroy(msg);
}

/* Says what failed, with NATS's text for `s`; returns true if it failed. */
static bool s_bad(natsStatus s, const char *what)
{
    if (s == NATS_OK)
        return false;
    fprintf(stderr, "hv-bench-peers: NATS %s: %s\n", what, natsStatus_GetText(s));
    return true;
}

hv_peer_result hv_peer_nats_run(int port, pid_t server, const hv_peer_load *load)
{
    hv_peer_result res = {0};
    hv_peer_times t = {0};
    char url[64], stream[32], subject[40];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    snprintf(stream, sizeof stream, "HVBENCH%d", load->run_id);
    snprintf(subject, sizeof subject, "hvbench.%d", load->run_id);
    uint8_t *body = calloc(1, load->size < 8 ? 8 : load->size);
    natsConnection *pnc = NULL, *cnc = NULL;
    jsCtx *pjs = NULL, *cjs = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    bool made = false;
    __atomic_store_n(&s_errors, 0, __ATOMIC_RELAXED);
    if (body == NULL || !hv_peer_times_init(&t, load->n))
        goto fail;
    memset(body + 8, 'x', load->size > 8 ? load->size - 8 : 0);
    if (s_bad(natsConnection_ConnectTo(&pnc, url), "producer connect") ||
        s_bad(natsConnection_ConnectTo(&cnc, url), "consumer connect"))
        goto fail;
    jsOptions po;
    jsOptions_Init(&po);
    /* The library's own limit stays above ours, so that it never stalls a
     * publish that our window allowed. */
    po.PublishAsync.MaxPending = (int64_t)load->window * 2 + 64;
    po.PublishAsync.StallWait = 10000;
    po.PublishAsync.AckHandler = s_on_ack;
    po.PublishAsync.AckHandlerClosure = &t;
    if (s_bad(natsConnection_JetStream(&pjs, pnc, &po), "producer JetStream") ||
        s_bad(natsConnection_JetStream(&cjs, cnc, NULL), "consumer JetStream"))
        goto fail;
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[1] = {subject};
    sc.Name = stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    jsStreamInfo *si = NULL;
    if (s_bad(js_AddStream(&si, pjs, &sc, NULL, &jerr), "add stream"))
        goto fail;
    jsStreamInfo_Destroy(si);
    made = true;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.ManualAck = true;
    so.Config.Durable = "hvbench";
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = load->window;
    if (s_bad(js_Subscribe(&sub, cjs, subject, s_on_msg, &t, NULL, &so, &jerr), "subscribe"))
        goto fail;

    hv_peer_cpu cpu0 = hv_peer_cpu_now(&server, 1);
    int64_t start = hv_peer_now_us();
    size_t sent = 0;
    while (__atomic_load_n(&t.confirmed, __ATOMIC_ACQUIRE) < t.n ||
           __atomic_load_n(&t.received, __ATOMIC_ACQUIRE) < t.n) {
        if (__atomic_load_n(&s_errors, __ATOMIC_RELAXED) > 0) {
            fprintf(stderr, "hv-bench-peers: NATS refused a publish or an ack\n");
            goto fail;
        }
        if (hv_peer_now_us() - start > S_DEADLINE_US) {
            fprintf(stderr, "hv-bench-peers: NATS run: no end in 300 s\n");
            goto fail;
        }
        size_t may = hv_peer_allowed(load, &t, sent, start);
        for (size_t j = 0; j < may; j++, sent++) {
            hv_peer_stamp(body, sent);
            t.sent[sent] = hv_peer_now_us();
            if (s_bad(js_PublishAsync(pjs, subject, body, (int)load->size, NULL), "publish"))
                goto fail;
        }
        if (may == 0) { /* the handlers run on threads of the library */
            long wait = hv_peer_wait_us(load, &t, sent, start);
            usleep(wait >= 5000 ? 100 : (useconds_t)(wait > 0 ? wait : 1));
        }
    }
    hv_peer_cpu cpu1 = hv_peer_cpu_now(&server, 1);
    hv_peer_result_fill(&res, &t, start, cpu0, cpu1);
fail:
    if (sub != NULL) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    if (made)
        (void)s_bad(js_DeleteStream(pjs, stream, NULL, &jerr), "delete stream");
    jsCtx_Destroy(cjs);
    jsCtx_Destroy(pjs);
    natsConnection_Destroy(cnc);
    natsConnection_Destroy(pnc);
    hv_peer_times_free(&t);
    free(body);
    return res;
}
