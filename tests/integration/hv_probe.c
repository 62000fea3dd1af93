/* See hv_probe.h. */
#include "hv_probe.h"

#include <stdlib.h>
#include <zmq.h>

#include "hv_crypto.h"

void *hv_probe_connect(void *ctx, const hv_keypair *kp, const hv_pubkeys *server,
                       const char *endpoint, bool unbounded)
{
    char server_z85[HV_Z85_KEY_LEN + 1], public_z85[HV_Z85_KEY_LEN + 1],
        secret_z85[HV_Z85_KEY_LEN + 1];
    hv_z85_key(server->transport, server_z85);
    hv_z85_key(hv_keypair_public(kp)->transport, public_z85);
    hv_keypair_transport_secret_z85(kp, secret_z85);
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (s == NULL) {
        hv_memzero(secret_z85, sizeof secret_z85);
        return NULL;
    }
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (unbounded) {
        zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    }
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_z85, HV_Z85_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, public_z85, HV_Z85_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret_z85, HV_Z85_KEY_LEN);
    hv_memzero(secret_z85, sizeof secret_z85);
    if (zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

int hv_probe_send(void *s, const hv_control *m, int flags)
{
    uint8_t *buf;
    size_t len;
    if (hv_control_encode(m, &buf, &len) != HV_OK)
        return -2;
    int rc = zmq_send(s, buf, len, flags);
    free(buf);
    return rc;
}
