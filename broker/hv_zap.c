/* ZAP handler; see hv_zap.h and ZeroMQ RFC 27/ZAP. */
#include "hv_zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "hv_crypto.h"
#include "hv_log.h"
#include "hv_trust.h"
#include "hv_lograte.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft option in 4.3.4's header, built in */
#endif

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_FRAMES 7 /* version, request id, domain, address, identity, mechanism, key */

hv_err hv_zap_start(void *ctx, void **out, hv_errmsg *e)
{
    void *zap = zmq_socket(ctx, ZMQ_REP);
    int zero = 0;
    if (zap == NULL)
        return hv_fail(e, HV_EIO, "zap: %s", zmq_strerror(errno));
    zmq_setsockopt(zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(zap, S_ZAP_ENDPOINT) != 0) {
        hv_err err = hv_fail(e, HV_EIO, "zap: cannot bind %s: %s", S_ZAP_ENDPOINT,
                             zmq_strerror(errno));
        zmq_close(zap);
        return err;
    }
    *out = zap;
    return HV_OK;
}

hv_err hv_zap_secure(void *socket, const char *secret_z85, const char *domain, hv_errmsg *e)
{
    int one = 1, check = 0;
    size_t len = sizeof check;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, secret_z85, 40) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        return hv_fail(e, HV_EAUTH, "cannot make a CURVE server: %s", zmq_strerror(errno));
    /* Refuse to run open if this libzmq ignored the enforcement option. */
    if (zmq_getsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &check, &len) != 0 || check != 1)
        return hv_fail(e, HV_EAUTH, "this libzmq does not enforce ZAP; refusing to start");
    return HV_OK;
}

/* Receives one request's frames; returns how many (or -1 when none). */
static int s_recv_request(void *zap, zmq_msg_t frames[S_FRAMES + 1])
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *m = n < S_FRAMES + 1 ? &frames[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            return n == 0 ? -1 : n;
        }
        more = zmq_msg_more(m);
        if (m == &scratch)
            zmq_msg_close(m);
        n++;
    }
    return n;
}

/* Answers one request; an admission carries the connection's transport
 * key as ZMTP metadata (RFC 27: the last frame), one property: a name of
 * one length byte, a value of four length bytes, big-endian. */
static void s_reply(void *zap, const zmq_msg_t *request_id, const char *status,
                    const char *text, const char *user, const uint8_t *key)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
             ZMQ_SNDMORE);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
    if (key == NULL) {
        zmq_send(zap, "", 0, 0);
        return;
    }
    uint8_t meta[1 + sizeof HV_ZAP_KEY_PROPERTY + 4 + 64];
    size_t name = strlen(HV_ZAP_KEY_PROPERTY), n = 0;
    meta[n++] = (uint8_t)name;
    memcpy(meta + n, HV_ZAP_KEY_PROPERTY, name);
    n += name;
    meta[n++] = 0;
    meta[n++] = 0;
    meta[n++] = 0;
    meta[n++] = 64;
    char hex[65];
    hv_trust_key_format(key, hex);
    memcpy(meta + n, hex, 64);
    n += 64;
    zmq_send(zap, meta, n, 0);
}

static bool s_frame_is(zmq_msg_t *m, const char *s)
{
    return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

int hv_zap_serve(void *zap, const hv_registry *reg, uint64_t now, const hv_trust_self *self)
{
    int answered = 0;
    for (;;) {
        zmq_msg_t f[S_FRAMES + 1];
        int n = s_recv_request(zap, f);
        if (n < 0)
            return answered;
        const char *why = NULL;
        char reason[HV_TRUST_WHY_MAX] = "";
        const hv_node *node = NULL;
        char address[64] = "?";
        if (n >= 4) {
            size_t len = zmq_msg_size(&f[3]) < sizeof address - 1 ? zmq_msg_size(&f[3])
                                                                   : sizeof address - 1;
            memcpy(address, zmq_msg_data(&f[3]), len);
            address[len] = '\0';
        }
        bool peers = n == S_FRAMES && s_frame_is(&f[2], HV_ZAP_DOMAIN_PEERS);
        bool ops = n == S_FRAMES && s_frame_is(&f[2], HV_ZAP_DOMAIN_OPS);
        hv_door door = peers ? HV_DOOR_PEERS : ops ? HV_DOOR_OPS : HV_DOOR_WORKERS;
        if (n != S_FRAMES || !s_frame_is(&f[0], "1.0"))
            why = "malformed ZAP request";
        else if (!peers && !ops && !s_frame_is(&f[2], HV_ZAP_DOMAIN))
            why = "wrong ZAP domain";
        else if (!s_frame_is(&f[5], "CURVE") || zmq_msg_size(&f[6]) != 32)
            why = "not CurveZMQ";
        else if (hv_trust_admit(reg, self, door, NULL, zmq_msg_data(&f[6]), now, &node, reason) !=
                 HV_OK)
            why = reason;
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        {
            /* A REP socket must answer before it can read the next request. */
            const zmq_msg_t *request_id = n >= 2 ? &f[1] : &empty;
            if (why == NULL) {
                s_reply(zap, request_id, "200", "OK", node->id, zmq_msg_data(&f[6]));
                hv_log(HV_LOG_INFO, "peer_admitted", "node=%s address=%s door=%s", node->id,
                       address, peers ? "peers" : ops ? "operators" : "workers");
            } else {
                s_reply(zap, request_id, "400", why, "", NULL);
                char key[17] = "?";
                if (n == S_FRAMES && zmq_msg_size(&f[6]) == 32)
                    hv_hex(zmq_msg_data(&f[6]), 8, key);
                /* Per address and key: libzmq retries a refused handshake
                 * every 100 ms, and two clients behind one address differ. */
                char who[80];
                snprintf(who, sizeof who, "%s/%s", address, key);
                if (hv_lograte_pass("peer_refused", who))
                    hv_log(HV_LOG_WARN, "peer_refused",
                           "reason=\"%s\" key=%s... node=%s address=%s", why, key,
                           node ? node->id : "-", address);
            }
        }
        zmq_msg_close(&empty);
        for (int i = 0; i < n && i < S_FRAMES + 1; i++)
            zmq_msg_close(&f[i]);
        answered++;
    }
}
