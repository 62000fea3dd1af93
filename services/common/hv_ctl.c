/* Local control protocol; see hv_ctl.h. */
#include "hv_ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* What a command name is made of: it goes into log lines as it is. */
#define S_CMD_CHARS "abcdefghijklmnopqrstuvwxyz0123456789._-"

static const char *const s_role_names[] = {"host", "caseworker", "supervisor", "admin",
                                           "coordinator"};

const char *hv_actor_role_name(hv_actor_role role)
{
    return (unsigned)role < sizeof s_role_names / sizeof s_role_names[0] ? s_role_names[role]
                                                                        : "?";
}

void hv_actor_host(const char *node, hv_actor *out)
{
    memset(out, 0, sizeof *out);
    out->role = HV_ACTOR_HOST;
    snprintf(out->staff, sizeof out->staff, "%s", HV_HOST_ADMIN);
    snprintf(out->via, sizeof out->via, "host");
    snprintf(out->by, sizeof out->by, "%s/%s", node, HV_HOST_ADMIN);
}

/* A string member of exactly the string's bytes (no NUL inside). */
static const char *s_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

hv_err hv_actor_parse(const json_t *j, const char *node, unsigned roles, hv_actor *out,
                      hv_errmsg *e)
{
    memset(out, 0, sizeof *out);
    if (j == NULL)
        return hv_fail(e, HV_EAUTH, "a request on the staff socket must name its \"actor\"");
    if (!json_is_object(j) || json_object_size(j) != 3)
        return hv_fail(e, HV_EAUTH, "\"actor\" must be an object of exactly staff, role and "
                       "via");
    const char *staff = s_str(j, "staff"), *role = s_str(j, "role"), *via = s_str(j, "via");
    if (staff == NULL || role == NULL || via == NULL)
        return hv_fail(e, HV_EAUTH, "\"actor\" must be an object of exactly staff, role and "
                       "via (strings)");
    if (!hv_staff_name_valid(staff))
        return hv_fail(e, HV_EAUTH, "actor: staff must be 1 to %d of a-z, 0-9, '.', '_', '-'",
                       HV_STAFF_MAX);
    if (strcmp(staff, HV_HOST_ADMIN) == 0)
        return hv_fail(e, HV_EAUTH, "actor: '%s' is the host's administrator, not staff",
                       HV_HOST_ADMIN);
    unsigned r;
    for (r = HV_ACTOR_CASEWORKER; r <= HV_ACTOR_COORDINATOR; r++)
        if (strcmp(role, s_role_names[r]) == 0)
            break;
    if (r > HV_ACTOR_COORDINATOR || !(roles & HV_ACTOR_BIT(r)))
        return hv_fail(e, HV_EAUTH, "actor: '%.20s' is not a staff role of this worker", role);
    size_t n = strlen(via);
    bool token = strncmp(via, "token:", 6) == 0 && n > 6 && n - 6 <= 64 &&
                 strspn(via + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789._-") == n - 6;
    if (strcmp(via, "session") != 0 && !token)
        return hv_fail(e, HV_EAUTH, "actor: via must be \"session\" or \"token:ID\"");
    if (!hv_node_id_valid_cstr(node))
        return hv_fail(e, HV_EAUTH, "actor: this node's id is not valid");
    out->role = (hv_actor_role)r;
    snprintf(out->staff, sizeof out->staff, "%s", staff);
    snprintf(out->via, sizeof out->via, "%s", via);
    snprintf(out->by, sizeof out->by, "%s/%s", node, staff);
    return HV_OK;
}

hv_err hv_ctl_parse(const void *buf, size_t len, char cmd[HV_CTL_CMD_MAX + 1], json_t **args,
                    hv_errmsg *e)
{
    return hv_ctl_parse_actor(buf, len, cmd, args, NULL, e);
}

hv_err hv_ctl_parse_actor(const void *buf, size_t len, char cmd[HV_CTL_CMD_MAX + 1],
                          json_t **args, json_t **actor, hv_errmsg *e)
{
    *args = NULL;
    if (actor != NULL)
        *actor = NULL;
    cmd[0] = '\0';
    if (len > HV_CTL_REQUEST_MAX)
        return hv_fail(e, HV_ETOOBIG, "request longer than %u bytes", HV_CTL_REQUEST_MAX);
    json_error_t jerr;
    json_t *req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL)
        return hv_fail(e, HV_EJSON, "request is not JSON: %s", jerr.text);
    hv_err err = HV_OK;
    json_t *c = json_object_get(req, "cmd");
    json_t *a = json_object_get(req, "args");
    const char *key;
    json_t *value;
    if (!json_is_object(req))
        err = hv_fail(e, HV_EJSON, "request must be an object");
    else if (!json_is_string(c) || json_string_length(c) == 0 ||
             json_string_length(c) > HV_CTL_CMD_MAX ||
             strspn(json_string_value(c), S_CMD_CHARS) != json_string_length(c))
        err = hv_fail(e, HV_EJSON, "\"cmd\" must be a command name of 1 to %d bytes of a-z, "
                      "0-9, '.', '_', '-'", HV_CTL_CMD_MAX);
    else if (a != NULL && !json_is_object(a))
        err = hv_fail(e, HV_EJSON, "\"args\" must be an object");
    json_object_foreach(req, key, value)
    {
        if (err == HV_OK && strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0 &&
            (actor == NULL || strcmp(key, "actor") != 0))
            err = hv_fail(e, HV_EJSON, "unknown member \"%.40s\" in request", key);
    }
    if (err == HV_OK) {
        snprintf(cmd, HV_CTL_CMD_MAX + 1, "%s", json_string_value(c));
        *args = a != NULL ? json_incref(a) : json_object();
        if (*args == NULL)
            err = HV_ENOMEM;
        json_t *who = json_object_get(req, "actor");
        if (err == HV_OK && actor != NULL && who != NULL)
            *actor = json_incref(who);
    }
    json_decref(req);
    return err;
}

hv_err hv_ctl_call(const char *socket_path, const char *cmd, json_t *args, int timeout_ms,
                   json_t **reply, hv_errmsg *e)
{
    return hv_ctl_call_as(socket_path, cmd, args, NULL, timeout_ms, reply, e);
}

hv_err hv_ctl_call_as(const char *socket_path, const char *cmd, json_t *args,
                      const hv_actor *actor, int timeout_ms, json_t **reply, hv_errmsg *e)
{
    *reply = NULL;
    json_t *a = args != NULL ? json_incref(args) : json_object();
    json_t *req = json_pack("{s:s, s:o}", "cmd", cmd, "args", a);
    if (req != NULL && actor != NULL &&
        json_object_set_new(req, "actor",
                            json_pack("{s:s, s:s, s:s}", "staff", actor->staff, "role",
                                      hv_actor_role_name(actor->role), "via", actor->via)) != 0) {
        json_decref(req);
        req = NULL;
    }
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL)
        return HV_ENOMEM;
    void *ctx = zmq_ctx_new();
    hv_err err = ctx != NULL ? hv_ctl_exchange(ctx, socket_path, text, timeout_ms, reply, e)
                             : hv_fail(e, HV_EIO, "cannot create a ZeroMQ context");
    free(text);
    if (ctx != NULL)
        zmq_ctx_term(ctx);
    return err;
}

hv_err hv_ctl_exchange(void *ctx, const char *socket_path, const char *request, int timeout_ms,
                       json_t **reply, hv_errmsg *e)
{
    *reply = NULL;
    void *s = zmq_socket(ctx, ZMQ_REQ);
    hv_err err = HV_OK;
    char endpoint[4200];
    snprintf(endpoint, sizeof endpoint, "ipc://%s", socket_path);
    int zero = 0;
    if (s == NULL) {
        err = hv_fail(e, HV_EIO, "cannot create a ZeroMQ socket");
        goto done;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    if (zmq_connect(s, endpoint) != 0 || zmq_send(s, request, strlen(request), 0) < 0) {
        err = hv_fail(e, HV_EIO, "cannot reach the worker at %s", socket_path);
        goto done;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, s, 0) < 0) {
        zmq_msg_close(&msg);
        err = errno == EAGAIN
                  ? hv_fail(e, HV_ETIMEOUT, "no answer from the worker at %s within %d ms "
                            "(is it running?)", socket_path, timeout_ms)
                  : hv_fail(e, HV_EIO, "cannot read from %s", socket_path);
        goto done;
    }
    json_error_t jerr;
    *reply = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, &jerr);
    zmq_msg_close(&msg);
    if (*reply == NULL || !json_is_object(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        err = hv_fail(e, HV_EJSON, "the worker's answer is not a JSON object");
    }
done:
    if (s != NULL)
        zmq_close(s);
    return err;
}
