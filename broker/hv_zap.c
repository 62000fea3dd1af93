/* ZAP handler; see hv_zap.h and ZeroMQ RFC 27/ZAP. */
#include "hv_zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "hv_crypto.h"
#include "hv_log.h"

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

static void s_reply(void *zap, const zmq_msg_t *request_id, const char *status,
                    const char *text, const char *user)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
             ZMQ_SNDMORE);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

static bool s_frame_is(zmq_msg_t *m, const char *s)
{
    return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

static bool s_listed(const hv_zap_policy *p, const char *id)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (strcmp(p->peers[i], id) == 0)
            return true;
    return false;
}

int hv_zap_serve(void *zap, const hv_registry *reg, uint64_t now, const hv_zap_policy *policy)
{
    int answered = 0;
    for (;;) {
        zmq_msg_t f[S_FRAMES + 1];
        int n = s_recv_request(zap, f);
        if (n < 0)
            return answered;
        const char *why = NULL;
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
        if (n != S_FRAMES || !s_frame_is(&f[0], "1.0"))
            why = "malformed ZAP request";
        else if (!peers && !ops && !s_frame_is(&f[2], HV_ZAP_DOMAIN))
            why = "wrong ZAP domain";
        else if (!s_frame_is(&f[5], "CURVE") || zmq_msg_size(&f[6]) != 32)
            why = "not CurveZMQ";
        else if ((node = hv_registry_find_by_transport(reg, zmq_msg_data(&f[6]))) == NULL)
            why = "key not in the registry";
        else if (node->revoked)
            why = "node revoked";
        else if (!hv_node_active(node, now))
            why = "node not valid now";
        else if (ops && node->role != HV_ROLE_OPERATOR)
            why = "not an operator";
        else if (!peers && !ops && !(policy->roles & HV_ROLE_BIT(node->role)))
            why = "role not served on this socket";
        else if (peers && (node->role != HV_ROLE_BROKER || !s_listed(policy, node->id)))
            why = "not a broker this broker peers with";
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        {
            /* A REP socket must answer before it can read the next request. */
            const zmq_msg_t *request_id = n >= 2 ? &f[1] : &empty;
            if (why == NULL) {
                s_reply(zap, request_id, "200", "OK", node->id);
                hv_log(HV_LOG_INFO, "peer_admitted", "node=%s address=%s", node->id, address);
            } else {
                s_reply(zap, request_id, "400", why, "");
                char key[17] = "?";
                if (n == S_FRAMES && zmq_msg_size(&f[6]) == 32)
                    hv_hex(zmq_msg_data(&f[6]), 8, key);
                hv_log(HV_LOG_WARN, "peer_refused", "reason=\"%s\" key=%s... node=%s address=%s",
                       why, key, node ? node->id : "-", address);
            }
        }
        zmq_msg_close(&empty);
        for (int i = 0; i < n && i < S_FRAMES + 1; i++)
            zmq_msg_close(&f[i]);
        answered++;
    }
}
