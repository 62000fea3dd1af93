/* haven-web's configuration; see hv_web_config.h. */
#include "hv_web_config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hv_config.h"
#include "hv_version.h"

#define F(sec, key, type, req, min, max, field, expect)                                        \
    {sec, key, type, req, min, max, offsetof(hv_web_config, field),                            \
     sizeof(((hv_web_config *)0)->field), expect}

static const hv_cfg_field s_fields[] = {
    F("web", "node", HV_CFG_STRING, true, 0, 0, node, "the worker's node id"),
    F("web", "listen", HV_CFG_STRING, true, 0, 0, listen, "IPV4:PORT"),
    F("web", "tls_cert", HV_CFG_STRING, false, 0, 0, tls_cert, "a PEM certificate file"),
    F("web", "tls_key", HV_CFG_STRING, false, 0, 0, tls_key, "a PEM private key file"),
    F("web", "assets", HV_CFG_STRING, false, 0, 0, assets, "the pages' folder"),
    F("web", "connection_timeout_s", HV_CFG_UINT, false, 1, 3600, connection_timeout_s,
      "seconds"),
    F("web", "connections_per_address", HV_CFG_UINT, false, 1, 1000, connections_per_address,
      "a count"),
    F("web", "connections", HV_CFG_UINT, false, 1, 1000, connections, "a count"),
    F("web", "head_timeout_s", HV_CFG_UINT, false, 1, 3600, head_timeout_s, "seconds"),
    F("web", "body_timeout_s", HV_CFG_UINT, false, 1, 3600, body_timeout_s, "seconds"),
    F("worker", "staff_socket", HV_CFG_STRING, true, 0, 0, worker_socket,
      "the worker's staff control socket"),
    F("worker", "kind", HV_CFG_STRING, true, 0, 0, kind_name, "intake, provider or router"),
    F("store", "path", HV_CFG_STRING, true, 0, 0, store, "haven-web's store file"),
    F("store", "audit", HV_CFG_STRING, true, 0, 0, audit, "haven-web's audit log"),
    F("session", "idle_timeout_s", HV_CFG_UINT, false, 1, 86400, idle_s, "seconds"),
    F("session", "absolute_timeout_s", HV_CFG_UINT, false, 1, 7 * 86400, absolute_s,
      "seconds"),
    F("auth", "totp_required_for_caseworkers", HV_CFG_BOOL, false, 0, 0, totp_caseworkers,
      "true or false"),
    F("auth", "max_failures", HV_CFG_UINT, false, 1, 1000, max_failures, "a count"),
    F("auth", "address_max_failures", HV_CFG_UINT, false, 1, 100000, address_max_failures,
      "a count"),
    F("auth", "lockout_s", HV_CFG_UINT, false, 1, 7 * 86400, lockout_s, "seconds"),
    F("auth", "argon2_ops", HV_CFG_UINT, false, 1, 32, argon2_ops, "passes, 1 to 32"),
    F("auth", "argon2_mem_kib", HV_CFG_UINT, false, 8, 4u * 1024 * 1024, argon2_mem_kib,
      "KiB, 8 to 4194304"),
    F("notify", "command", HV_CFG_STRING, false, 0, 0, notify_command, "a program"),
    F("notify", "staff", HV_CFG_STRING, false, 0, 0, notify_staff,
      "the staff account whose view the notices follow"),
};

bool hv_web_role_valid(const hv_web_config *c, const char *role)
{
    if (strcmp(role, "admin") == 0)
        return true;
    if (c->kind == HV_WEB_ROUTER)
        return strcmp(role, "coordinator") == 0;
    return strcmp(role, "caseworker") == 0 || strcmp(role, "supervisor") == 0;
}

bool hv_web_role_needs_totp(const hv_web_config *c, const char *role)
{
    if (strcmp(role, "caseworker") == 0 || strcmp(role, "coordinator") == 0)
        return c->totp_caseworkers;
    return true;
}

static void s_defaults(hv_web_config *out)
{
    memset(out, 0, sizeof *out);
    out->connection_timeout_s = 10;
    out->connections_per_address = 32; /* an office of staff behind one address */
    out->connections = 256;            /* one thread each */
    out->head_timeout_s = 10;
    out->body_timeout_s = 120;         /* 1 MiB on a slow office link */
    out->idle_s = 15 * 60;
    out->absolute_s = 12 * 3600;
    out->max_failures = 5;
    out->address_max_failures = 20;
    out->lockout_s = 15 * 60;
    out->argon2_ops = 3;
    out->argon2_mem_kib = 64 * 1024;
}

static hv_err s_check(const char *path, hv_web_config *out, hv_errmsg *e);

hv_err hv_web_config_load(const char *path, hv_web_config *out, hv_errmsg *e)
{
    s_defaults(out);
    hv_err err = hv_config_load(path, s_fields, sizeof s_fields / sizeof s_fields[0], out, e);
    return err != HV_OK ? err : s_check(path, out, e);
}

hv_err hv_web_config_parse(const char *text, const char *path, hv_web_config *out,
                           hv_errmsg *e)
{
    s_defaults(out);
    hv_err err = hv_config_parse(text, path, s_fields, sizeof s_fields / sizeof s_fields[0],
                                 out, e);
    return err != HV_OK ? err : s_check(path, out, e);
}

/* Resolves the paths and checks what the schema cannot. */
static hv_err s_check(const char *path, hv_web_config *out, hv_errmsg *e)
{
    hv_err err;
    char *paths[] = {out->tls_cert, out->tls_key, out->assets, out->worker_socket,
                     out->store, out->audit};
    struct stat sb;
    if (out->assets[0] == '\0' && stat(HV_WEB_ASSETS_DEFAULT, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(out->assets, sizeof out->assets, "%s", HV_WEB_ASSETS_DEFAULT);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (paths[i][0] != '\0' &&
            (err = hv_config_resolve_paths(path, &paths[i], 1, HV_WEB_PATH_MAX, e)) != HV_OK)
            return err;
    if (out->connections_per_address > out->connections)
        return hv_fail(e, HV_ECONFIG, "%s: [web] connections_per_address: expected at most "
                       "connections (%llu)", path, (unsigned long long)out->connections);
    if (strcmp(out->kind_name, "intake") == 0)
        out->kind = HV_WEB_INTAKE;
    else if (strcmp(out->kind_name, "provider") == 0)
        out->kind = HV_WEB_PROVIDER;
    else if (strcmp(out->kind_name, "router") == 0)
        out->kind = HV_WEB_ROUTER;
    else
        return hv_fail(e, HV_ECONFIG, "%s: [worker] kind: expected intake, provider or router, "
                       "got '%s'", path, out->kind_name);
    const char *colon = strrchr(out->listen, ':');
    struct in_addr a;
    if (colon == NULL || (size_t)(colon - out->listen) >= sizeof out->host ||
        sscanf(colon + 1, "%u", &out->port) != 1 || out->port == 0 || out->port > 65535)
        return hv_fail(e, HV_ECONFIG, "%s: [web] listen: expected IPV4:PORT, got '%s'", path,
                       out->listen);
    snprintf(out->host, sizeof out->host, "%.*s", (int)(colon - out->listen), out->listen);
    if (inet_pton(AF_INET, out->host, &a) != 1)
        return hv_fail(e, HV_ECONFIG, "%s: [web] listen: '%s' is not an IPv4 address", path,
                       out->host);
    out->loopback = (ntohl(a.s_addr) >> 24) == 127;
    if ((out->tls_cert[0] == '\0') != (out->tls_key[0] == '\0'))
        return hv_fail(e, HV_ECONFIG, "%s: [web] tls_cert and tls_key go together", path);
    out->tls = out->tls_cert[0] != '\0';
    if (!out->tls && !out->loopback)
        return hv_fail(e, HV_ECONFIG, "%s: [web] listen: %s is not a loopback address; plain "
                       "HTTP is allowed only on loopback, set tls_cert and tls_key (haven web "
                       "self-signed makes a pair)", path, out->host);
    if (out->notify_command[0] != '\0' && out->notify_staff[0] == '\0')
        return hv_fail(e, HV_ECONFIG, "%s: [notify] command needs [notify] staff", path);
    return HV_OK;
}
