/* The operators' commands: `haven stats`, `haven deadletters` and
 * `haven monitor`, which talk to a broker's operators' and events
 * endpoints as an operator node (CurveZMQ, pinned to the broker's
 * registered key). They see metadata only, never a case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <zmq.h>

#include "hv_cli.h"
#include "hv_client.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_keys.h"
#include "hv_registry.h"

/* Prints a broker's snapshot for people. */
static void s_print_stats(json_t *r)
{
    int64_t now = json_integer_value(json_object_get(r, "now_ms"));
    int64_t up = (now - json_integer_value(json_object_get(r, "started_ms"))) / 1000;
    json_t *st = json_object_get(r, "store"), *c = json_object_get(r, "counters");
    char expiry[96];
    hv_cli_registry_expiry(json_integer_value(json_object_get(r, "registry_expires_at")),
                           expiry, sizeof expiry);
    printf("%s (%s), up %lldh%02lldm%02llds, registry v%lld%s\n",
           json_string_value(json_object_get(r, "broker")),
           json_string_value(json_object_get(r, "country")), (long long)(up / 3600),
           (long long)(up / 60 % 60), (long long)(up % 60),
           (long long)json_integer_value(json_object_get(r, "registry_version")), expiry);
    printf("queued %lld, dead letters %lld, notices waiting %lld\n",
           (long long)json_integer_value(json_object_get(st, "queued")),
           (long long)json_integer_value(json_object_get(st, "dead_letters")),
           (long long)json_integer_value(json_object_get(st, "notices")));
    const char *key;
    json_t *v;
    static const char *const q_head[] = {"  QUEUE", "WAITING"};
    hv_cli_table *t = hv_cli_table_new(2, q_head);
    json_object_foreach(json_object_get(r, "queues"), key, v) {
        char name[300], n[24];
        snprintf(name, sizeof name, "  %s", key);
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
        const char *row[] = {name, n};
        hv_cli_table_add(t, row);
    }
    if (json_object_size(json_object_get(r, "queues")) > 0)
        hv_cli_table_print(t);
    hv_cli_table_free(&t);
    printf("since start: stored %lld, delivered %lld, acked %lld, forwarded %lld, refused %lld, "
           "redelivered %lld, expired %lld\n",
           (long long)json_integer_value(json_object_get(c, "stored")),
           (long long)json_integer_value(json_object_get(c, "delivered")),
           (long long)json_integer_value(json_object_get(c, "acked")),
           (long long)json_integer_value(json_object_get(c, "forwarded")),
           (long long)json_integer_value(json_object_get(c, "refused")),
           (long long)json_integer_value(json_object_get(c, "redelivered")),
           (long long)json_integer_value(json_object_get(c, "expired")));
    json_t *rates = json_object_get(r, "rates_per_s"), *pct = json_object_get(r,
                                                                             "ack_latency_ms_at_most");
    printf("last %.0f s: %.1f stored/s, %.1f delivered/s, %.1f acked/s\n",
           json_real_value(json_object_get(rates, "window_s")),
           json_real_value(json_object_get(rates, "stored")),
           json_real_value(json_object_get(rates, "delivered")),
           json_real_value(json_object_get(rates, "acked")));
    if (json_is_real(json_object_get(pct, "p50")))
        printf("ack latency: p50 <= %g ms, p90 <= %g ms, p99 <= %g ms\n",
               json_real_value(json_object_get(pct, "p50")),
               json_is_real(json_object_get(pct, "p90")) ? json_real_value(json_object_get(pct, "p90")) : -1,
               json_is_real(json_object_get(pct, "p99")) ? json_real_value(json_object_get(pct, "p99")) : -1);
    size_t i;
    printf("peers:\n");
    static const char *const p_head[] = {"  PEER", "CC", "LINK OUT", "LINK IN", "QUEUED",
                                         "IN FLIGHT"};
    t = hv_cli_table_new(6, p_head);
    json_array_foreach(json_object_get(r, "peers"), i, v) {
        char node[80], queued[24], flight[24];
        snprintf(node, sizeof node, "  %s", json_string_value(json_object_get(v, "node")));
        snprintf(queued, sizeof queued, "%lld",
                 (long long)json_integer_value(json_object_get(v, "queued")));
        snprintf(flight, sizeof flight, "%lld",
                 (long long)json_integer_value(json_object_get(v, "in_flight")));
        const char *row[] = {node, json_string_value(json_object_get(v, "country")),
                             json_is_true(json_object_get(v, "out_up")) ? "UP" : "DOWN",
                             json_is_true(json_object_get(v, "in_up")) ? "up" : "down", queued,
                             flight};
        hv_cli_table_add(t, row);
    }
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
    printf("connected nodes:\n");
    static const char *const s_head[] = {"  NODE", "ROLE", "CC", "IN FLIGHT", "WINDOW"};
    t = hv_cli_table_new(5, s_head);
    json_array_foreach(json_object_get(r, "sessions"), i, v) {
        char node[80], flight[24], window[24];
        snprintf(node, sizeof node, "  %s", json_string_value(json_object_get(v, "node")));
        snprintf(flight, sizeof flight, "%lld",
                 (long long)json_integer_value(json_object_get(v, "in_flight")));
        snprintf(window, sizeof window, "%lld",
                 (long long)json_integer_value(json_object_get(v, "window")));
        const char *row[] = {node, json_string_value(json_object_get(v, "role")),
                             json_string_value(json_object_get(v, "country")), flight, window};
        hv_cli_table_add(t, row);
    }
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
}

/* Opens a ZeroMQ socket of `type` to a broker's operators' endpoint
 * (--endpoint) as the operator node whose key is --key: CurveZMQ, pinned
 * to the registered key of --broker, connected. The caller closes
 * `*sock` and terminates `*ctx`. Returns an exit code. */
static int s_operator_socket(const opts *o, int type, void **ctx, void **sock)
{
    *ctx = *sock = NULL;
    const char *key = hv_cli_need(o, "key"), *broker = hv_cli_need(o, "broker"),
               *endpoint = hv_cli_need(o, "endpoint");
    if (key == NULL || broker == NULL || endpoint == NULL)
        return EXIT_USAGE;
    hv_registry *reg = NULL;
    hv_keypair *kp = NULL;
    int rc = hv_cli_load_registry(o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    char me_id[HV_NODE_ID_MAX + 1] = "";
    hv_err err = hv_keys_load_secret(key, &kp, me_id, &e);
    const hv_node *b = hv_registry_find(reg, broker);
    const hv_node *me = err == HV_OK ? hv_registry_find(reg, me_id) : NULL;
    if (err != HV_OK) {
        rc = hv_cli_report("key", err, &e);
    } else if (b == NULL || b->role != HV_ROLE_BROKER) {
        snprintf(e.text, sizeof e.text, "'%s' is not a broker of the registry", broker);
        rc = hv_cli_report("operators", HV_ENOTFOUND, &e);
    } else if (me != NULL && me->role == HV_ROLE_OPERATOR && !hv_node_in_scope(me, b->country)) {
        /* The broker refuses it at the handshake, which a client sees only
         * as silence: say why instead of waiting for the timeout. */
        char scope[3 * (HV_LIST_MAX + 1) + 1];
        int used = snprintf(scope, sizeof scope, "%s", me->country);
        for (unsigned i = 0; i < me->n_scope && used > 0 && (size_t)used < sizeof scope; i++)
            used += snprintf(scope + used, sizeof scope - (size_t)used, ", %s", me->scope[i]);
        fprintf(stderr, "haven: %s may act only on brokers of %s (its scope in the registry); "
                "%s is in %s (HV_EFORBIDDEN)\n", me->id, scope, b->id, b->country);
        rc = EXIT_REFUSED;
    }
    if (rc == 0) {
        char server[HV_Z85_KEY_LEN + 1], public[HV_Z85_KEY_LEN + 1],
            secret[HV_Z85_KEY_LEN + 1];
        hv_z85_key(b->keys.transport, server);
        hv_z85_key(hv_keypair_public(kp)->transport, public);
        hv_keypair_transport_secret_z85(kp, secret);
        *ctx = zmq_ctx_new();
        *sock = zmq_socket(*ctx, type);
        int zero = 0;
        zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(*sock, ZMQ_CURVE_SERVERKEY, server, HV_Z85_KEY_LEN);
        zmq_setsockopt(*sock, ZMQ_CURVE_PUBLICKEY, public, HV_Z85_KEY_LEN);
        zmq_setsockopt(*sock, ZMQ_CURVE_SECRETKEY, secret, HV_Z85_KEY_LEN);
        hv_memzero(secret, sizeof secret);
        if (zmq_connect(*sock, endpoint) != 0) {
            fprintf(stderr, "haven: cannot connect to %s: %s (HV_EIO)\n", endpoint,
                    zmq_strerror(errno));
            zmq_close(*sock);
            zmq_ctx_term(*ctx);
            *ctx = *sock = NULL;
            rc = EXIT_SYSTEM;
        }
    }
    hv_keypair_free(&kp);
    hv_registry_free(&reg);
    return rc;
}

/* Sends one request to a broker's operators' endpoint as an operator node
 * (CurveZMQ, pinned to the broker's registered key) and returns the JSON
 * answer in `*reply`. Returns an exit code. */
static int s_ops_call(const opts *o, const char *cmd, json_t *args, json_t **reply)
{
    *reply = NULL;
    void *ctx, *sock;
    int rc = s_operator_socket(o, ZMQ_DEALER, &ctx, &sock);
    if (rc != 0)
        return rc;
    const char *broker = hv_cli_opt(o, "broker"), *endpoint = hv_cli_opt(o, "endpoint");
    int timeout = hv_cli_timeout_ms(o, 5);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    json_t *req = json_pack("{s:s, s:O}", "cmd", cmd, "args", args);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (text == NULL || zmq_send(sock, text, strlen(text), 0) < 0) {
        fprintf(stderr, "haven: cannot reach %s (HV_EIO)\n", endpoint);
        rc = EXIT_SYSTEM;
    } else if (zmq_msg_recv(&msg, sock, 0) < 0) {
        fprintf(stderr, "haven: no answer from %s within %d ms (not an operator of the "
                "registry, or the broker has no operators' endpoint there) (HV_ETIMEOUT)\n",
                endpoint, timeout);
        rc = EXIT_SYSTEM;
    } else if ((*reply = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, NULL)) == NULL) {
        fprintf(stderr, "haven: unreadable answer from %s (HV_EJSON)\n", endpoint);
        rc = EXIT_REFUSED;
    } else if (json_object_get(*reply, "error") != NULL) {
        const char *code = json_string_value(json_object_get(*reply, "code"));
        fprintf(stderr, "haven: %s: %s (%s)\n", broker,
                json_string_value(json_object_get(*reply, "error")), code ? code : "HV_EPROTO");
        rc = EXIT_REFUSED;
    }
    free(text);
    zmq_msg_close(&msg);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

/* haven stats: a broker's snapshot, for operators. */
int hv_cli_stats(const opts *o)
{
    json_t *args = json_object(), *reply = NULL;
    int rc = s_ops_call(o, "stats", args, &reply);
    json_decref(args);
    if (rc == 0 && hv_cli_opt(o, "json") != NULL)
        hv_cli_print_json(reply);
    else if (rc == 0)
        s_print_stats(reply);
    json_decref(reply);
    return rc;
}

/* haven deadletters list | requeue ID | purge ID: a broker's dead letters
 * (metadata only), for operators; every action is recorded at the broker. */
int hv_cli_deadletters(const opts *o)
{
    const char *sub = o->cmd->sub;
    bool show = strcmp(sub, "show") == 0;
    bool list = strcmp(sub, "list") == 0 || show;
    json_t *args = list ? json_object() : json_pack("{s:s}", "id", o->positional), *reply = NULL;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "dead.%s", list ? "list" : sub);
    int rc = s_ops_call(o, cmd, args, &reply);
    json_decref(args);
    if (rc == 0 && show) {
        /* One dead letter's whole metadata, found in the listing. */
        size_t i;
        json_t *d, *found = NULL;
        json_array_foreach(json_object_get(reply, "dead_letters"), i, d)
            if (strcmp(json_string_value(json_object_get(d, "id")), o->positional) == 0)
                found = d;
        if (found == NULL) {
            fprintf(stderr, "haven: no dead letter %s (HV_ENOTFOUND)\n", o->positional);
            rc = EXIT_REFUSED;
        } else {
            hv_cli_print_json(found);
        }
    } else if (rc == 0 && hv_cli_opt(o, "json") != NULL) {
        hv_cli_print_json(reply);
    } else if (rc == 0 && list) {
        static const char *const head[] = {"MESSAGE", "TYPE", "SENDER", "RECIPIENT", "CODE",
                                           "DIED", "REASON"};
        static const char *const keys[] = {"id", "type", "sender", "recipient", "code",
                                           "died", "reason"};
        hv_cli_table *t = hv_cli_table_new(7, head);
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(reply, "dead_letters"), i, d) {
            const char *row[7];
            for (int k = 0; k < 7; k++)
                row[k] = json_string_value(json_object_get(d, keys[k]));
            hv_cli_table_add(t, row);
        }
        hv_cli_table_print(t);
        hv_cli_table_free(&t);
    } else if (rc == 0) {
        printf("%s %s\n", json_string_value(json_object_get(reply, "id")),
               json_string_value(json_object_get(reply, "result")));
    }
    json_decref(reply);
    return rc;
}

/* haven monitor: a live tail of a broker's events, for operators. */
int hv_cli_monitor(const opts *o)
{
    const char *country = hv_cli_opt(o, "country"), *type = hv_cli_opt(o, "type"),
               *event = hv_cli_opt(o, "event");
    unsigned long long count = 0;
    if (hv_cli_uint(o, "count", 0, 1000000000, &count) != 0)
        return EXIT_REFUSED;
    void *ctx, *sock;
    int rc = s_operator_socket(o, ZMQ_SUB, &ctx, &sock);
    if (rc != 0)
        return rc;
    zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0);
    bool json_out = hv_cli_opt(o, "json") != NULL;
    int64_t deadline = hv_cli_opt(o, "timeout") ? hv_mono_ms() + hv_cli_timeout_ms(o, 0) : 0;
    unsigned long long shown = 0;
    while (rc == 0 && (count == 0 || shown < count) && (deadline == 0 || hv_mono_ms() < deadline)) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        json_t *ev = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, NULL);
        const char *f_ev = json_string_value(json_object_get(ev, "event"));
        if (f_ev != NULL && strcmp(f_ev, "welcome") == 0) {
            /* Connected; our subscription went out first, and takes effect
             * when the broker reads it. */
            const char *from = json_string_value(json_object_get(ev, "broker"));
            fprintf(stderr, "haven: watching the events of %s\n", from ? from : "the broker");
            json_decref(ev);
            zmq_msg_close(&msg);
            continue;
        }
        const char *f_type = json_string_value(json_object_get(ev, "type"));
        const char *f_from = json_string_value(json_object_get(ev, "from"));
        const char *f_to = json_string_value(json_object_get(ev, "to"));
        bool match = ev != NULL && f_ev != NULL && f_type != NULL && f_from != NULL &&
                     f_to != NULL && (event == NULL || strcmp(event, f_ev) == 0) &&
                     (type == NULL || strcmp(type, f_type) == 0) &&
                     (country == NULL || strcmp(country, f_from) == 0 ||
                      strcmp(country, f_to) == 0);
        if (match && json_out) {
            printf("%.*s\n", (int)zmq_msg_size(&msg), (const char *)zmq_msg_data(&msg));
        } else if (match) {
            int64_t at = json_integer_value(json_object_get(ev, "at_ms"));
            time_t t = (time_t)(at / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            int64_t lat = json_integer_value(json_object_get(ev, "latency_ms"));
            const char *code = json_string_value(json_object_get(ev, "code"));
            char extra[64] = "";
            if (lat >= 0)
                snprintf(extra, sizeof extra, "  %lld ms", (long long)lat);
            if (code != NULL && code[0] != '\0')
                snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "  %s", code);
            printf("%02d:%02d:%02d.%03d  %-11s %-17s %2s -> %-2s %7lld B%s\n", tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (int)(at % 1000), f_ev, f_type, f_from, f_to,
                   (long long)json_integer_value(json_object_get(ev, "bytes")), extra);
        }
        fflush(stdout);
        if (match)
            shown++;
        json_decref(ev);
        zmq_msg_close(&msg);
    }
    if (rc == 0 && count > 0 && shown < count) {
        fprintf(stderr, "haven: %llu of %llu events before the timeout (HV_ETIMEOUT)\n", shown,
                count);
        rc = EXIT_REFUSED;
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

