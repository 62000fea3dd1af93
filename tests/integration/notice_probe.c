/* notice_probe: opens a peer link to a broker as a given broker, the way
 * a broker's own link does, and sends it one NOTICE (PROTOCOL.md §5.3)
 * about a message it makes up: from FROM to TO, with their registered key
 * ids, signed with SIGNER_KEY's signing key (FROM's own for a genuine
 * proof, any other for a forged one). Prints the broker's answer: "STORED"
 * or "ERROR HV_...: text", and the message id (hex) on the first line.
 * usage: notice_probe LINK_KEY SERVER_PUB ENDPOINT BROKER_ID SIGNER_KEY
 *                     FROM_PUB TO_PUB SECONDS
 * Exit codes: 0 STORED, 1 ERROR or no answer, 2 usage/system. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_envelope.h"
#include "hv_keys.h"
#include "hv_probe.h"

static int s_await(void *s, uint8_t cmd, hv_control *m, int64_t deadline)
{
    while (hv_mono_ms() < deadline) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int got = zmq_msg_recv(&msg, s, 0) >= 0 &&
                  hv_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), m) == HV_OK;
        zmq_msg_close(&msg);
        if (got && (m->cmd == cmd || m->cmd == HV_CMD_ERROR))
            return m->cmd == cmd ? 0 : 1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 9 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: notice_probe LINK_KEY SERVER_PUB ENDPOINT BROKER_ID SIGNER_KEY "
                        "FROM_PUB TO_PUB SECONDS\n");
        return 2;
    }
    hv_keypair *kp = NULL, *signer = NULL;
    hv_pubkeys server, from_keys, to_keys;
    char from[HV_NODE_ID_MAX + 1], to[HV_NODE_ID_MAX + 1];
    hv_errmsg e = {""};
    if (hv_keys_load_secret(argv[1], &kp, NULL, &e) != HV_OK ||
        hv_keys_load_public(argv[2], &server, NULL, &e) != HV_OK ||
        hv_keys_load_secret(argv[5], &signer, NULL, &e) != HV_OK ||
        hv_keys_load_public(argv[6], &from_keys, from, &e) != HV_OK ||
        hv_keys_load_public(argv[7], &to_keys, to, &e) != HV_OK) {
        fprintf(stderr, "notice_probe: %s\n", e.text);
        hv_keypair_free(&kp);
        hv_keypair_free(&signer);
        return 2;
    }
    int rc = 2;
    void *ctx = zmq_ctx_new();
    void *s = hv_probe_connect(ctx, kp, &server, argv[3], false);
    uint8_t *header = NULL;
    size_t header_len = 0;
    if (s == NULL)
        goto done;
    hv_envelope env;
    hv_envelope_init(&env, HV_MSG_REFERRAL_REQUEST, from, &from_keys, to, &to_keys);
    hv_random(env.referral, sizeof env.referral);
    env.ttl_s = 60;
    if (hv_envelope_encode_header(&env, &header, &header_len) != HV_OK)
        goto done;
    hv_control m = {.cmd = HV_CMD_HELLO, .credit = 1, .heartbeat_ms = 1000};
    snprintf(m.node_id, sizeof m.node_id, "%s", argv[4]);
    (void)hv_probe_send(s, &m, ZMQ_DONTWAIT);
    int64_t deadline = hv_mono_ms() + atoi(argv[8]) * 1000;
    rc = 1;
    hv_control a;
    char idhex[33];
    hv_hex(env.id, 16, idhex);
    printf("id %s\n", idhex);
    if (s_await(s, HV_CMD_READY, &a, deadline) != 0) {
        printf("no READY\n");
        goto done;
    }
    memset(&m, 0, sizeof m);
    m.cmd = HV_CMD_NOTICE;
    m.code = HV_EEXPIRED;
    m.header = header;
    m.header_len = header_len;
    hv_random(m.digest, sizeof m.digest);
    hv_seal_sign_digest(signer, header, header_len, m.digest, m.sig);
    snprintf(m.text, sizeof m.text, "time to live passed before delivery");
    if (hv_probe_send(s, &m, 0) < 0) {
        printf("NOTICE not sent\n");
        goto done;
    }
    if (s_await(s, HV_CMD_STORED, &a, deadline) == 0) {
        printf("STORED\n");
        rc = 0;
    } else if (a.cmd == HV_CMD_ERROR) {
        printf("ERROR %s: %s\n", hv_errname(a.code), a.text);
    } else {
        printf("no answer\n");
    }
done:
    free(header);
    if (s != NULL)
        zmq_close(s);
    zmq_ctx_term(ctx);
    hv_keypair_free(&kp);
    hv_keypair_free(&signer);
    return rc;
}
