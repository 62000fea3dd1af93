/* peer_probe: tries to open a peer link to a broker as a given node, the
 * way a broker's own link does (CurveZMQ client, HELLO), and reports
 * whether the broker answered READY within the time limit.
 * usage: peer_probe KEY_FILE SERVER_PUB_FILE ENDPOINT NODE_ID SECONDS
 * Exit codes: 0 READY, 1 refused (no READY, or an ERROR), 2 usage/system. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_keys.h"
#include "hv_probe.h"

int main(int argc, char **argv)
{
    if (argc != 6 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: peer_probe KEY_FILE SERVER_PUB_FILE ENDPOINT NODE_ID SECONDS\n");
        return 2;
    }
    hv_keypair *kp = NULL;
    hv_pubkeys server;
    hv_errmsg e = {""};
    if (hv_keys_load_secret(argv[1], &kp, NULL, &e) != HV_OK ||
        hv_keys_load_public(argv[2], &server, NULL, &e) != HV_OK) {
        fprintf(stderr, "peer_probe: %s\n", e.text);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *s = hv_probe_connect(ctx, kp, &server, argv[3], false);
    int rc = 2;
    if (s == NULL)
        goto done;
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 1, .heartbeat_ms = 1000};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", argv[4]);
    (void)hv_probe_send(s, &hello, ZMQ_DONTWAIT); /* a refused link shows as no READY */
    int64_t deadline = hv_mono_ms() + atoi(argv[5]) * 1000;
    rc = 1;
    while (hv_mono_ms() < deadline) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        hv_control m;
        memset(&m, 0, sizeof m);
        if (zmq_msg_recv(&msg, s, 0) >= 0 &&
            hv_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) == HV_OK) {
            if (m.cmd == HV_CMD_READY) {
                printf("READY from %s\n", m.node_id);
                rc = 0;
            } else if (m.cmd == HV_CMD_ERROR) {
                printf("ERROR %s: %s\n", hv_errname(m.code), m.text);
            }
        }
        zmq_msg_close(&msg);
        if (rc == 0 || m.cmd == HV_CMD_ERROR)
            break;
    }
    if (rc == 1)
        printf("no READY\n");
done:
    zmq_close(s);
    zmq_ctx_term(ctx);
    hv_keypair_free(&kp);
    return rc;
}
