/* A test tool, built only with the tests: publishes a prekey bundle at a
 * broker the way a worker (or, on the peers' endpoint, a peer broker)
 * does, and prints the broker's answer.
 *   prekey_put KEY_FILE SERVER_PUB ENDPOINT NODE KID_PUB SIGN_KEY
 * connects with KEY_FILE's transport key and says HELLO as its node, then
 * sends PREKEY_PUT of a fresh bundle for NODE that names the key id of
 * KID_PUB (a .pub file) and is signed with SIGN_KEY (a .key file): with
 * NODE's own files an honest bundle, with another's a forgery.
 * Prints "PREKEY" or "PREKEY_REFUSED HV_…: text". Exit: 0 an answer came,
 * 1 none within 10 s (or HELLO refused), 2 usage or system error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "hv_control.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_keys.h"
#include "hv_prekey.h"
#include "hv_probe.h"

int main(int argc, char **argv)
{
    if (argc != 7 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: prekey_put KEY_FILE SERVER_PUB ENDPOINT NODE KID_PUB SIGN_KEY\n");
        return 2;
    }
    hv_keypair *kp = NULL, *signer = NULL;
    hv_pubkeys server, kid;
    char me[HV_NODE_ID_MAX + 1];
    hv_errmsg e = {""};
    if (hv_keys_load_secret(argv[1], &kp, me, &e) != HV_OK ||
        hv_keys_load_public(argv[2], &server, NULL, &e) != HV_OK ||
        hv_keys_load_public(argv[5], &kid, NULL, &e) != HV_OK ||
        hv_keys_load_secret(argv[6], &signer, NULL, &e) != HV_OK) {
        fprintf(stderr, "prekey_put: %s\n", e.text);
        return 2;
    }
    hv_prekey_bundle b;
    memset(&b, 0, sizeof b);
    snprintf(b.node, sizeof b.node, "%s", argv[4]);
    memcpy(b.key_id, kid.key_id, HV_KEY_ID_BYTES);
    uint8_t sk[32];
    hv_box_keypair_generate(sk, b.box_pk);
    hv_memzero(sk, sizeof sk); /* nobody will open what is sealed to it */
    hv_prekey_id(b.box_pk, b.prekey_id);
    hv_prekey_schedule((uint64_t)time(NULL), 3600, 3600, &b.not_before, &b.not_after,
                       &b.destroy_at);
    uint8_t *bundle = NULL;
    size_t bundle_len = 0;
    if (hv_prekey_sign(&b, signer) != HV_OK || hv_prekey_encode(&b, &bundle, &bundle_len) != HV_OK)
        return 2;

    void *ctx = zmq_ctx_new();
    int rc = 2;
    void *s = hv_probe_connect(ctx, kp, &server, argv[3], false);
    if (s == NULL)
        goto done;
    hv_control hello = {.cmd = HV_CMD_HELLO, .credit = 1, .heartbeat_ms = 1000};
    snprintf(hello.node_id, sizeof hello.node_id, "%s", me);
    if (hv_probe_send(s, &hello, 0) < 0)
        goto done;
    rc = 1;
    bool ready = false;
    int64_t deadline = hv_mono_ms() + 10000;
    while (rc == 1 && hv_mono_ms() < deadline) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        hv_control m;
        memset(&m, 0, sizeof m);
        if (zmq_msg_recv(&msg, s, 0) >= 0 &&
            hv_control_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) == HV_OK) {
            if (m.cmd == HV_CMD_READY && !ready) {
                ready = true;
                hv_control put = {.cmd = HV_CMD_PREKEY_PUT, .bundle = bundle,
                                  .bundle_len = bundle_len};
                if (hv_probe_send(s, &put, 0) < 0)
                    rc = 2;
            } else if (m.cmd == HV_CMD_ERROR) {
                printf("ERROR %s: %s\n", hv_errname(m.code), m.text);
                break;
            } else if (m.cmd == HV_CMD_PREKEY_REFUSED) {
                printf("PREKEY_REFUSED %s: %s\n", hv_errname(m.code), m.text);
                rc = 0;
            } else if (m.cmd == HV_CMD_PREKEY && m.bundle_len == bundle_len &&
                       memcmp(m.bundle, bundle, bundle_len) == 0) {
                printf("PREKEY\n"); /* our own bundle, confirmed */
                rc = 0;
            }
        }
        zmq_msg_close(&msg);
    }
    if (rc == 1)
        printf("no answer\n");
done:
    zmq_close(s);
    zmq_ctx_term(ctx);
    free(bundle);
    hv_keypair_free(&kp);
    hv_keypair_free(&signer);
    return rc;
}
