/* The peers benchmark against RabbitMQ (rabbitmq-c 0.11): a durable queue
 * of its own per run, classic or quorum; the producer publishes persistent
 * messages (delivery mode 2) on a confirm channel with at most `window`
 * unconfirmed, the consumer (a thread with its own connection) takes them
 * with a prefetch of `window` and acknowledges each one (hv_peer.h). */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "hv_peer.h"

#define S_DEADLINE_US (300 * 1000000LL) /* a run that takes longer has failed */

typedef struct s_consumer {
    int port;                 /* server's AMQP port */
    const char *queue;        /* queue name */
    unsigned prefetch;        /* basic.qos prefetch count */
    hv_peer_times *times;     /* where deliveries are marked (borrowed) */
    int ready;                /* 1: consuming, -1: failed (atomic) */
    int stop;                 /* set by the producer on its own failure (atomic) */
    int failed;               /* the consumer gave up */
} s_consumer;

/* "what: reply" when an RPC failed; returns true if it did. */
static bool s_failed(amqp_connection_state_t c, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return false;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        fprintf(stderr, "hv-bench-peers: RabbitMQ %s: %s\n", what, amqp_error_string2(r.library_error));
    else
        fprintf(stderr, "hv-bench-peers: RabbitMQ %s: the server refused (method 0x%08x)\n", what,
                r.reply.id);
    return true;
}

/* A connection with channel 1 open, or NULL (said why on stderr). The
 * caller owns the connection (s_close). */
static amqp_connection_state_t s_connect(int port)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = c != NULL ? amqp_tcp_socket_new(c) : NULL;
    if (sock == NULL || amqp_socket_open(sock, "127.0.0.1", port) != AMQP_STATUS_OK) {
        fprintf(stderr, "hv-bench-peers: cannot connect to RabbitMQ on port %d\n", port);
        goto fail;
    }
    amqp_rpc_reply_t r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "hv-bench-peers: RabbitMQ refused the login\n");
        goto fail;
    }
    amqp_channel_open(c, 1);
    if (s_failed(c, "channel.open"))
        goto fail;
    return c;
fail:
    if (c != NULL)
        amqp_destroy_connection(c);
    return NULL;
}

static void s_close(amqp_connection_state_t *c)
{
    if (*c == NULL)
        return;
    amqp_channel_close(*c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(*c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(*c);
    *c = NULL;
}

static void *s_consume(void *arg)
{
    s_consumer *k = arg;
    amqp_connection_state_t c = s_connect(k->port);
    if (c == NULL)
        goto fail;
    amqp_basic_qos(c, 1, 0, (uint16_t)(k->prefetch > 65535 ? 65535 : k->prefetch), 0);
    if (s_failed(c, "basic.qos"))
        goto fail;
    amqp_basic_consume(c, 1, amqp_cstring_bytes(k->queue), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    if (s_failed(c, "basic.consume"))
        goto fail;
    __atomic_store_n(&k->ready, 1, __ATOMIC_RELEASE);
    int64_t t0 = hv_peer_now_us();
    hv_peer_times *t = k->times;
    while (__atomic_load_n(&t->received, __ATOMIC_ACQUIRE) < t->n &&
           !__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
        if (hv_peer_now_us() - t0 > S_DEADLINE_US) {
            fprintf(stderr, "hv-bench-peers: RabbitMQ consumer: no end in 300 s\n");
            goto fail;
        }
        amqp_envelope_t env;
        struct timeval tv = {0, 100000};
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
            continue;
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            fprintf(stderr, "hv-bench-peers: RabbitMQ consumer: delivery failed\n");
            goto fail;
        }
        hv_peer_mark_recv(t, hv_peer_index(env.message.body.bytes, env.message.body.len));
        int rc = amqp_basic_ack(c, 1, env.delivery_tag, 0);
        amqp_destroy_envelope(&env);
        if (rc != AMQP_STATUS_OK) {
            fprintf(stderr, "hv-bench-peers: RabbitMQ consumer: ack: %s\n", amqp_error_string2(rc));
            goto fail;
        }
    }
    s_close(&c);
    return NULL;
fail:
    k->failed = 1;
    __atomic_store_n(&k->ready, -1, __ATOMIC_RELEASE);
    if (c != NULL)
        amqp_destroy_connection(c);
    return NULL;
}

/* Reads the confirms that have arrived, waiting up to `wait_us` for the
 * first; marks them (a multiple ack confirms every tag up to its own; tag
 * i+1 is message i). Returns false on a nack or a broken connection. */
static bool s_read_confirms(amqp_connection_state_t c, hv_peer_times *t, size_t *low, long wait_us)
{
    /* The wait itself in ppoll: rabbitmq-c's own timeout returned at once
     * for waits of a millisecond (the producer spun at 15,000 polls/s). */
    if (wait_us > 0 && !amqp_frames_enqueued(c) && !amqp_data_in_buffer(c)) {
        struct pollfd p = {.fd = amqp_get_sockfd(c), .events = POLLIN};
        struct timespec ts = {0, wait_us * 1000};
        (void)ppoll(&p, 1, &ts, NULL);
    }
    for (;;) {
        amqp_frame_t f;
        struct timeval tv = {0, 0};
        int rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
        if (rc == AMQP_STATUS_TIMEOUT)
            return true;
        if (rc != AMQP_STATUS_OK) {
            fprintf(stderr, "hv-bench-peers: RabbitMQ producer: %s\n", amqp_error_string2(rc));
            return false;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            fprintf(stderr, "hv-bench-peers: RabbitMQ nacked a message\n");
            return false;
        }
        if (f.payload.method.id != AMQP_BASIC_ACK_METHOD)
            continue;
        const amqp_basic_ack_t *ack = f.payload.method.decoded;
        size_t tag = (size_t)ack->delivery_tag;
        if (ack->multiple)
            for (size_t i = *low; i < tag && i < t->n; i++)
                hv_peer_mark_conf(t, i);
        else if (tag >= 1)
            hv_peer_mark_conf(t, tag - 1);
        while (*low < t->n && t->conf[*low] != 0)
            (*low)++;
    }
}

hv_peer_result hv_peer_rabbit_run(int port, bool quorum, pid_t server, const hv_peer_load *load)
{
    hv_peer_result res = {0};
    hv_peer_times t = {0};
    char queue[64];
    snprintf(queue, sizeof queue, "hv-bench-%s-%d", quorum ? "quorum" : "classic", load->run_id);
    uint8_t *body = calloc(1, load->size < 8 ? 8 : load->size);
    amqp_connection_state_t c = NULL;
    s_consumer k = {.port = port, .queue = queue, .prefetch = load->window, .times = &t};
    bool started = false;
    pthread_t th;
    if (body == NULL || !hv_peer_times_init(&t, load->n))
        goto fail;
    memset(body + 8, 'x', load->size > 8 ? load->size - 8 : 0);
    if ((c = s_connect(port)) == NULL)
        goto fail;
    amqp_table_entry_t type = {.key = amqp_cstring_bytes("x-queue-type"),
                               .value = {.kind = AMQP_FIELD_KIND_UTF8,
                                         .value.bytes = amqp_cstring_bytes("quorum")}};
    amqp_table_t args = {quorum ? 1 : 0, quorum ? &type : NULL};
    amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, args);
    if (s_failed(c, "queue.declare"))
        goto fail;
    amqp_confirm_select(c, 1);
    if (s_failed(c, "confirm.select"))
        goto fail;
    if (pthread_create(&th, NULL, s_consume, &k) != 0)
        goto fail;
    started = true;
    int64_t w0 = hv_peer_now_us();
    while (__atomic_load_n(&k.ready, __ATOMIC_ACQUIRE) == 0 && hv_peer_now_us() - w0 < 10000000)
        (void)s_read_confirms(c, &t, &(size_t){0}, 5000); /* nothing to confirm yet */
    if (__atomic_load_n(&k.ready, __ATOMIC_ACQUIRE) != 1)
        goto fail;

    amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
                                     .delivery_mode = AMQP_DELIVERY_PERSISTENT};
    hv_peer_cpu cpu0 = hv_peer_cpu_now(&server, 1);
    int64_t start = hv_peer_now_us();
    size_t sent = 0, low = 0;
    while (__atomic_load_n(&t.confirmed, __ATOMIC_ACQUIRE) < t.n ||
           __atomic_load_n(&t.received, __ATOMIC_ACQUIRE) < t.n) {
        if (k.failed || hv_peer_now_us() - start > S_DEADLINE_US)
            goto fail;
        size_t may = hv_peer_allowed(load, &t, sent, start);
        for (size_t j = 0; j < may; j++, sent++) {
            hv_peer_stamp(body, sent);
            t.sent[sent] = hv_peer_now_us();
            amqp_bytes_t b = {load->size, body};
            int rc = amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0,
                                        &props, b);
            if (rc != AMQP_STATUS_OK) {
                fprintf(stderr, "hv-bench-peers: RabbitMQ publish: %s\n", amqp_error_string2(rc));
                goto fail;
            }
        }
        if (!s_read_confirms(c, &t, &low, may > 0 ? 0 : hv_peer_wait_us(load, &t, sent, start)))
            goto fail;
    }
    hv_peer_cpu cpu1 = hv_peer_cpu_now(&server, 1);
    pthread_join(th, NULL);
    started = false;
    hv_peer_result_fill(&res, &t, start, cpu0, cpu1);
    amqp_queue_delete(c, 1, amqp_cstring_bytes(queue), 0, 0);
    (void)s_failed(c, "queue.delete");
    s_close(&c);
    hv_peer_times_free(&t);
    free(body);
    return res;
fail:
    __atomic_store_n(&k.stop, 1, __ATOMIC_RELEASE);
    if (started)
        pthread_join(th, NULL);
    if (c != NULL)
        amqp_destroy_connection(c);
    hv_peer_times_free(&t);
    free(body);
    res.ok = false;
    return res;
}
