/* The worker's control sockets: a request from the host's administrators
 * or, on the staff socket, from haven-web for a named person, checked
 * against the role table and answered (docs/CONTROL.md). */
#include "hv_worker_internal.h"

#include <string.h>

#include <jansson.h>
#include <zmq.h>

#include "hv_ctl.h"
#include "hv_evidence.h"
#include "hv_log.h"

static json_t *s_status(hv_worker *w)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:o*}", "node", w->cfg.id, "role",
                     hv_role_name(w->app->role), "country", w->self->country, "broker_ready",
                     hv_client_ready(w->client), "outbox",
                     (json_int_t)hv_client_outbox_size(w->client), "registry_version",
                     (json_int_t)hv_registry_version(w->reg), "registry_expires_at",
                     (json_int_t)hv_registry_expires_at(w->reg), "prekeys",
                     hv_prekeys_status(w->prekeys));
}

static json_t *s_ok(json_t *result, const char *text)
{
    return json_pack("{s:b, s:s, s:o}", "ok", 1, "text", text ? text : "", "result",
                     result ? result : json_object());
}


static json_t *s_refusal(hv_err err, const hv_errmsg *e, json_t *result)
{
    json_t *reply = json_pack("{s:b, s:s, s:i, s:s}", "ok", 0, "error", hv_errname(err), "code",
                              (int)err, "message", e->text[0] ? e->text : hv_strerror(err));
    if (reply != NULL && result != NULL)
        json_object_set_new(reply, "result", result);
    else
        json_decref(result);
    return reply;
}

/* Who the request acts as: on the staff socket the actor it must carry,
 * on the administrators' socket the host's administrator (an actor there
 * is ignored). */
static hv_err s_actor(hv_worker *w, hv_ctlsock *sock, json_t *actor, hv_actor *out,
                      hv_errmsg *e)
{
    if (!hv_ctlsock_is_staff(sock)) {
        hv_actor_host(w->cfg.id, out);
        return HV_OK;
    }
    return hv_actor_parse(actor, w->cfg.id, w->app->staff_roles, out, e);
}

/* The role table says whether `a` may run `cmd`. */
static hv_err s_permit(hv_worker *w, const hv_actor *a, const char *cmd, hv_errmsg *e)
{
    if (strcmp(cmd, "status") == 0)
        return HV_OK;
    if (strncmp(cmd, "evidence.", 9) == 0) /* the host's administrator's, not staff's */
        return a->role == HV_ACTOR_HOST
                   ? HV_OK
                   : hv_fail(e, HV_EFORBIDDEN, "evidence is for the host's administrator");
    unsigned roles = w->app->command_roles(cmd);
    if (roles == 0)
        return hv_fail(e, HV_EINVAL, "a%s %s does not know the command '%s'",
                       w->app->role == HV_ROLE_INTAKE ? "n" : "", hv_role_name(w->app->role),
                       cmd);
    if (!(roles & HV_ACTOR_BIT(a->role)))
        return hv_fail(e, HV_EFORBIDDEN, "a%s %s may not run %s here",
                       a->role == HV_ACTOR_ADMIN ? "n" : "", hv_actor_role_name(a->role), cmd);
    return HV_OK;
}

static void s_control(hv_worker *w, hv_ctlsock *sock)
{
    hv_ctl_peer peer;
    char *body = NULL;
    size_t len = 0;
    if (!hv_ctlsock_recv(sock, &peer, &body, &len))
        return;
    char cmd[HV_CTL_CMD_MAX + 1];
    json_t *args = NULL, *result = NULL, *actor_json = NULL, *reply = NULL;
    char *text = NULL;
    hv_errmsg e = {""};
    hv_actor actor;
    hv_actor_host(w->cfg.id, &actor);
    hv_err err = hv_ctl_parse_actor(body, len, cmd, &args, &actor_json, &e);
    free(body);
    if (err == HV_OK)
        err = s_actor(w, sock, actor_json, &actor, &e);
    json_decref(actor_json);
    bool heads = err == HV_OK && strcmp(cmd, "audit.heads") == 0;
    bool rotate = err == HV_OK && strcmp(cmd, "audit.rotate") == 0;
    if ((heads || rotate) && hv_ctlsock_is_staff(sock))
        err = hv_fail(&e, HV_EFORBIDDEN, "%s is for the host's administrator", cmd);
    else if (err == HV_OK && !heads && !rotate)
        err = s_permit(w, &actor, cmd, &e);
    if (err == HV_OK && heads) {
        if ((result = hv_witness_export(w->witness)) == NULL)
            err = hv_fail(&e, HV_ESTORE, "the store's audit heads cannot be read");
    } else if (err == HV_OK && rotate) {
        result = hv_witness_rotate(w->witness, w->audit, hv_keyring_current(w->ring, w->self),
                                   w->cfg.id, actor.by, &err, &e);
    } else if (err == HV_OK && strcmp(cmd, "status") == 0) {
        result = s_status(w);
    } else if (err == HV_OK && strncmp(cmd, "evidence.", 9) == 0) {
        err = hv_evidence_control(hv_client_db(w->client), w->cfg.id, cmd, args, &result, &text,
                                  &e);
    } else if (err == HV_OK && strcmp(cmd, "events.wait") == 0) {
        reply = hv_events_wait(w->waits, w, w->app->may_see, sock, &peer, &actor, args, &err,
                               &e);
        if (err == HV_OK && reply == NULL) { /* held: answered by hv_events_waits_serve */
            json_decref(args);
            return;
        }
    } else if (err == HV_OK) {
        if ((err = hv_client_begin(w->client)) == HV_OK)
            err = w->app->on_control(w, &actor, cmd, args, &result, &text, &e);
        if (err == HV_OK) {
            if (!hv_worker_commit(w))
                err = hv_fail(&e, HV_ESTORE, "the store could not commit");
        } else {
            hv_worker_rollback(w);
        }
    }
    json_decref(args);
    /* Who asked for what through haven-web, done or not: ids and names only. */
    if (err == HV_OK && hv_ctlsock_is_staff(sock) && strcmp(cmd, "status") != 0 &&
        strcmp(cmd, "events.wait") != 0)
        hv_log(HV_LOG_INFO, "control_request", "cmd=%s by=%s via=%s", cmd, actor.by, actor.via);
    if (err != HV_OK) {
        hv_log(HV_LOG_INFO, "control_refused", "cmd=%s code=%s by=%s via=%s", cmd,
               hv_errname(err), actor.by[0] ? actor.by : "-", actor.via[0] ? actor.via : "-");
        hv_worker_metrics_error(w->metrics, HV_WERR_CONTROL_REFUSED);
        reply = s_refusal(err, &e, result);
    } else if (reply == NULL) {
        reply = s_ok(result, text);
    }
    free(text);
    hv_ctlsock_reply(sock, &peer, reply);
}

void hv_worker_control_poll(hv_worker *w, long ms)
{
    zmq_pollitem_t items[2] = {{hv_ctlsock_zmq(w->ctl), 0, ZMQ_POLLIN, 0}};
    int n = 1;
    if (w->staff != NULL)
        items[n++] = (zmq_pollitem_t){hv_ctlsock_zmq(w->staff), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(items, n, ms) > 0) {
        if (items[0].revents & ZMQ_POLLIN)
            s_control(w, w->ctl);
        if (n > 1 && (items[1].revents & ZMQ_POLLIN))
            s_control(w, w->staff);
    }
    hv_events_waits_serve(w->waits, w, w->app->may_see, w->events_new);
    w->events_new = false;
}
