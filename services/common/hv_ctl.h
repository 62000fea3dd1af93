/* The local control protocol between the `haven` CLI and a worker daemon
 * (docs/CONTROL.md): one JSON request, one JSON reply, over ZeroMQ (REQ
 * clients, a ROUTER worker) on a Unix socket that only the worker's user
 * may open (mode 0600), or, for haven-web, the staff socket (0660, its
 * group), where every request names its actor.
 *
 *   request: {"cmd": "referral.list", "args": {...}}
 *            {"cmd": ..., "args": ..., "actor": {"staff": "caseworker-2",
 *             "role": "caseworker", "via": "session"}}   (the staff socket)
 *   reply:   {"ok": true, "text": "for people", "result": {...}}
 *            {"ok": false, "error": "HV_EJSON", "code": 14, "message": "...",
 *             "result": {...}}      (result optional: e.g. located errors) */
#ifndef HV_CTL_H
#define HV_CTL_H

#include <jansson.h>
#include <stddef.h>

#include "hv_audit.h"
#include "hv_err.h"

#define HV_CTL_CMD_MAX 32
#define HV_CTL_REQUEST_MAX (4u * 1024 * 1024)
#define HV_CTL_VIA_MAX 70 /* "session" or "token:" and 1..64 bytes */

/* Who a request acts as. Values are stable: they are bits of role tables. */
typedef enum hv_actor_role {
    HV_ACTOR_HOST = 0,        /* the host's administrator, on the `control` socket */
    HV_ACTOR_CASEWORKER = 1,  /* intake, provider */
    HV_ACTOR_SUPERVISOR = 2,  /* intake, provider */
    HV_ACTOR_ADMIN = 3,       /* every worker: manages staff, sees no case content */
    HV_ACTOR_COORDINATOR = 4, /* router */
} hv_actor_role;

#define HV_ACTOR_BIT(r) (1u << (r))
/* The staff name the host's administrator is written with; no staff
 * member may have it. */
#define HV_HOST_ADMIN "host-admin"

/* The person behind a request. Plain data. */
typedef struct hv_actor {
    hv_actor_role role;               /* what they may do */
    char staff[HV_STAFF_MAX + 1];     /* their name ("host-admin" for the host) */
    char via[HV_CTL_VIA_MAX + 1];     /* "session", "token:ID", or "host" */
    char by[HV_BY_MAX + 1];           /* NODE/STAFF, as history and audit write it */
} hv_actor;

/* The role's name ("caseworker", ...; "host" for HV_ACTOR_HOST). */
const char *hv_actor_role_name(hv_actor_role role);

/* The host's administrator at node `node`. */
void hv_actor_host(const char *node, hv_actor *out);

/* Reads the "actor" member of a staff request (`j`, borrowed, may be NULL)
 * for the worker `node`, whose staff roles are the bits `roles`
 * (HV_ACTOR_BIT). Exactly the members staff, role and via; staff 1..64 of
 * [a-z0-9._-] and not "host-admin"; role one of `roles`; via "session" or
 * "token:" and 1..64 of [A-Za-z0-9._-]. Returns HV_OK or HV_EAUTH with the
 * reason in `e`. */
HV_MUST_CHECK hv_err hv_actor_parse(const json_t *j, const char *node, unsigned roles,
                                    hv_actor *out, hv_errmsg *e);

/* Parses a request. A command is 1..HV_CTL_CMD_MAX bytes of [a-z0-9._-].
 * On HV_OK, `cmd` holds the command and `*args` a new
 * reference to its arguments object (an empty one when absent). Returns
 * HV_OK, HV_ETOOBIG or HV_EJSON with the reason in `e`. */
HV_MUST_CHECK hv_err hv_ctl_parse(const void *buf, size_t len, char cmd[HV_CTL_CMD_MAX + 1],
                                  json_t **args, hv_errmsg *e);

/* As hv_ctl_parse, and a request may also carry "actor": `*actor` gets a
 * new reference to it (any JSON value, unchecked: see hv_actor_parse), or
 * NULL when absent. On an error nothing is returned. */
HV_MUST_CHECK hv_err hv_ctl_parse_actor(const void *buf, size_t len,
                                        char cmd[HV_CTL_CMD_MAX + 1], json_t **args,
                                        json_t **actor, hv_errmsg *e);

/* Sends `cmd` with `args` (borrowed, may be NULL) to the worker listening
 * at `socket_path` and waits up to `timeout_ms` for the reply. Caller owns
 * `*reply`. Returns HV_OK (whatever the reply says), HV_ETIMEOUT when the
 * worker does not answer, HV_EIO, HV_EJSON for an unreadable reply. */
HV_MUST_CHECK hv_err hv_ctl_call(const char *socket_path, const char *cmd, json_t *args,
                                 int timeout_ms, json_t **reply, hv_errmsg *e);

/* As hv_ctl_call, on behalf of `actor` (borrowed; NULL for none): the
 * request carries it as {"staff", "role", "via"}, as the staff socket
 * requires (haven-web's calls). */
HV_MUST_CHECK hv_err hv_ctl_call_as(const char *socket_path, const char *cmd, json_t *args,
                                    const hv_actor *actor, int timeout_ms, json_t **reply,
                                    hv_errmsg *e);

/* Sends one request (`request`, JSON text, borrowed) to the worker at
 * `socket_path` over a REQ socket of the ZeroMQ context `ctx` (borrowed:
 * a caller that makes many calls keeps one) and waits up to `timeout_ms`
 * for the reply. Caller owns `*reply`. Returns as hv_ctl_call. */
HV_MUST_CHECK hv_err hv_ctl_exchange(void *ctx, const char *socket_path, const char *request,
                                     int timeout_ms, json_t **reply, hv_errmsg *e);

#endif
