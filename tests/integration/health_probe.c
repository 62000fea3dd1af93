/* health_probe: opens a peer link to a broker as a given broker (as
 * peer_probe does), and once READY sends it one HEALTH (PROTOCOL.md §5.3),
 * then a HEARTBEAT, and reports whether the link stayed up: a summary the
 * broker will not keep is dropped, never a reason to close the link.
 * usage: health_probe KEY_FILE SERVER_PUB_FILE ENDPOINT NODE_ID KIND
 *   KIND garbage      a summary that does not decode
 *        about:ID     a valid summary made now by broker ID, without links
 * Exit codes: 0 the link stayed up for a second after, 1 no READY, an
 * ERROR or a BYE, 2 usage/system. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_health.h"
#include "hv_keys.h"
#include "hv_probe.h"

static void s_send(void *s, const hv_control *m)
{
    if (hv_probe_send(s, m, 0) == -2) {
        fprintf(stderr, "health_probe: cannot encode %s\n", hv_cmd_name(m->cmd));
        exit(2);
    }
}

/* The next message other than HEARTBEAT within `ms`: false on timeout. */
static bool s_recv(void *s, int ms, hv_control *m)
{
    int64_t deadline = hv_mono_ms() + ms;
    while (hv_mono_ms() < deadline) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        bool ok = zmq_msg_recv(&msg, s, 0) >= 0 &&
                  hv_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), m) == HV_OK;
        zmq_msg_close(&msg);
        if (ok && m->cmd != HV_CMD_HEARTBEAT)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc != 6 || hv_crypto_init() != HV_OK ||
        (strcmp(argv[5], "garbage") != 0 && strncmp(argv[5], "about:", 6) != 0)) {
        fprintf(stderr, "usage: health_probe KEY_FILE SERVER_PUB_FILE ENDPOINT NODE_ID "
                        "garbage|about:ID\n");
        return 2;
    }
    hv_keypair *kp = NULL;
    hv_pubkeys server;
    hv_errmsg e = {""};
    if (hv_keys_load_secret(argv[1], &kp, NULL, &e) != HV_OK ||
        hv_keys_load_public(argv[2], &server, NULL, &e) != HV_OK) {
        fprintf(stderr, "health_probe: %s\n", e.text);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    int rc = 1;
    void *s = hv_probe_connect(ctx, kp, &server, argv[3], false);
    if (s == NULL) {
        rc = 2;
        goto done;
    }
    hv_control m, hello = {.cmd = HV_CMD_HELLO, .credit = 1, .heartbeat_ms = 1000};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", argv[4]);
    s_send(s, &hello);
    if (!s_recv(s, 5000, &m) || m.cmd != HV_CMD_READY) {
        printf("no READY\n");
        goto done;
    }
    static const uint8_t garbage[] = {0x91, 0x01};
    uint8_t *summary = NULL;
    size_t summary_len = sizeof garbage;
    if (strncmp(argv[5], "about:", 6) == 0) {
        hv_health h;
        memset(&h, 0, sizeof h);
        snprintf(h.broker, sizeof h.broker, "%s", argv[5] + 6);
        h.made_ms = (uint64_t)hv_now_ms();
        h.registry_version = 1;
        if (hv_health_encode(&h, &summary, &summary_len) != HV_OK) {
            fprintf(stderr, "health_probe: not a broker id: %s\n", argv[5] + 6);
            rc = 2;
            goto done;
        }
    }
    hv_control health = {.cmd = HV_CMD_HEALTH, .summary = summary ? summary : garbage,
                         .summary_len = summary_len};
    s_send(s, &health);
    free(summary);
    hv_control hb = {.cmd = HV_CMD_HEARTBEAT};
    s_send(s, &hb);
    if (s_recv(s, 1000, &m)) {
        printf("%s", hv_cmd_name(m.cmd));
        if (m.cmd == HV_CMD_ERROR)
            printf(" %s: %s", hv_errname(m.code), m.text);
        printf("\n");
        goto done;
    }
    printf("link up after HEALTH\n");
    rc = 0;
done:
    zmq_close(s);
    zmq_ctx_term(ctx);
    hv_keypair_free(&kp);
    return rc;
}
