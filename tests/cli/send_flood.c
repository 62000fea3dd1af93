/* A test tool, built only with the tests: a node that floods its broker
 * with SENDs the broker must refuse (issue 20), over real CURVE.
 *   send_flood KEY_FILE SERVER_PUB ENDPOINT FROM TO_PUB COUNT
 * connects with KEY_FILE's keys, says HELLO as KEY_FILE's node, waits for
 * READY, then sends COUNT envelopes that claim to come from FROM (another
 * node: spoofed, refused HV_EAUTH), addressed to TO_PUB's node, each with a
 * fresh id, keeping at most 500 unanswered.
 * Prints "sent N errors M HV_EAUTH K". Exit: 0 every SEND was answered
 * with an ERROR within 120 s, 1 not, 2 usage or system error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_keys.h"
#include "hv_msg.h"
#include "hv_probe.h"

#define S_WINDOW 500

int main(int argc, char **argv)
{
    if (argc != 7 || hv_crypto_init() != HV_OK || atol(argv[6]) <= 0) {
        fprintf(stderr, "usage: send_flood KEY_FILE SERVER_PUB ENDPOINT FROM TO_PUB COUNT\n");
        return 2;
    }
    long count = atol(argv[6]);
    hv_keypair *kp = NULL;
    hv_pubkeys server, to;
    char me[HV_NODE_ID_MAX + 1], to_id[HV_NODE_ID_MAX + 1];
    hv_errmsg e = {""};
    if (hv_keys_load_secret(argv[1], &kp, me, &e) != HV_OK ||
        hv_keys_load_public(argv[2], &server, NULL, &e) != HV_OK ||
        hv_keys_load_public(argv[5], &to, to_id, &e) != HV_OK) {
        fprintf(stderr, "send_flood: %s\n", e.text);
        return 2;
    }
    /* One sealed envelope; each SEND carries it under a fresh id (the
     * broker refuses the spoofed sender before it looks further). */
    hv_envelope env;
    hv_envelope_init(&env, HV_MSG_STATUS, argv[4], hv_keypair_public(kp), to_id, &to);
    env.ttl_s = 3600;
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    const uint8_t pt[] = "synthetic status note";
    hv_envelope sealed;
    if (hv_envelope_seal(&env, kp, &to, pt, sizeof pt, &wire, &wire_len) != HV_OK ||
        hv_envelope_decode(wire, wire_len, &sealed) != HV_OK) {
        fprintf(stderr, "send_flood: cannot seal\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    int rc = 2;
    void *s = hv_probe_connect(ctx, kp, &server, argv[3], true);
    if (s == NULL)
        goto done;
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 1, .heartbeat_ms = 1000};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", me);
    if (hv_probe_send(s, &hello, 0) < 0)
        goto done;
    rc = 1;
    bool ready = false;
    long sent = 0, errors = 0, eauth = 0;
    int64_t deadline = hv_mono_ms() + 120000;
    while (errors < count && hv_mono_ms() < deadline) {
        while (ready && sent < count && sent - errors < S_WINDOW) {
            hv_random(sealed.id, sizeof sealed.id);
            uint8_t *one = NULL;
            size_t one_len = 0;
            if (hv_envelope_encode(&sealed, &one, &one_len) != HV_OK)
                goto done;
            hv_control m = {.cmd = HV_CMD_SEND, .envelope = one, .envelope_len = one_len};
            int r = hv_probe_send(s, &m, 0);
            free(one);
            if (r < 0)
                goto done;
            sent++;
        }
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        hv_control m;
        memset(&m, 0, sizeof m);
        if (zmq_msg_recv(&msg, s, 0) >= 0 &&
            hv_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) == HV_OK) {
            if (m.cmd == HV_CMD_READY)
                ready = true;
            else if (m.cmd == HV_CMD_ERROR && ready) {
                errors++;
                eauth += m.code == HV_EAUTH;
            } else if (m.cmd == HV_CMD_ERROR) {
                fprintf(stderr, "send_flood: HELLO refused: %s\n", m.text);
                zmq_msg_close(&msg);
                goto done;
            }
        }
        zmq_msg_close(&msg);
    }
    printf("sent %ld errors %ld HV_EAUTH %ld\n", sent, errors, eauth);
    rc = errors == count ? 0 : 1;
done:
    zmq_close(s);
    zmq_ctx_term(ctx);
    free(wire);
    hv_keypair_free(&kp);
    return rc;
}
