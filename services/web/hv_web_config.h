/* haven-web's configuration file (deploy/example/web-ngo-xa.ini,
 * docs/OPERATIONS.md "haven-web"): where it listens, its TLS pair, the
 * worker's staff control socket, its own store and audit log, session and
 * sign-in limits, and the notify command. Relative paths are relative to
 * the file. Read by the daemon and by `haven staff`. */
#ifndef HV_WEB_CONFIG_H
#define HV_WEB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_err.h"

#define HV_WEB_PATH_MAX 1024

/* Which worker this haven-web stands beside; it decides the roles. */
typedef enum hv_web_kind {
    HV_WEB_INTAKE = 1,   /* caseworker, supervisor, admin; /referrals */
    HV_WEB_PROVIDER = 2, /* caseworker, supervisor, admin; /inbox */
    HV_WEB_ROUTER = 3,   /* coordinator, admin; /pathway */
} hv_web_kind;

/* Plain data; fields are filled by hv_web_config_load. */
typedef struct hv_web_config {
    char node[65];                      /* [web] node: the worker's node id, e.g. ngo.xa */
    char listen[80];                    /* [web] listen: IPV4:PORT */
    char tls_cert[HV_WEB_PATH_MAX];     /* [web] tls_cert: PEM certificate, "" for plain */
    char tls_key[HV_WEB_PATH_MAX];      /* [web] tls_key: PEM private key */
    char assets[HV_WEB_PATH_MAX];       /* [web] assets: the pages' folder; default the
                                           package's (HV_WEB_ASSETS_DEFAULT) when it exists */
    uint64_t connection_timeout_s;      /* [web] connection_timeout_s (default 10) */
    uint64_t connections_per_address;   /* [web] connections_per_address (default 32) */
    uint64_t connections;               /* [web] connections in all (default 256) */
    uint64_t head_timeout_s;            /* [web] head_timeout_s: a request's head (10) */
    uint64_t body_timeout_s;            /* [web] body_timeout_s: its body (120) */
    char worker_socket[HV_WEB_PATH_MAX]; /* [worker] staff_socket */
    char kind_name[16];                 /* [worker] kind: intake, provider, router */
    hv_web_kind kind;                   /* the same, decoded */
    char store[HV_WEB_PATH_MAX];        /* [store] path: haven-web's SQLite */
    char audit[HV_WEB_PATH_MAX];        /* [store] audit: haven-web's audit log */
    uint64_t idle_s;                    /* [session] idle_timeout_s (default 900) */
    uint64_t absolute_s;                /* [session] absolute_timeout_s (default 43200) */
    bool totp_caseworkers;              /* [auth] totp_required_for_caseworkers */
    uint64_t max_failures;              /* [auth] max_failures: account lockout after */
    uint64_t address_max_failures;      /* [auth] address_max_failures */
    uint64_t lockout_s;                 /* [auth] lockout_s */
    uint64_t argon2_ops;                /* [auth] argon2_ops */
    uint64_t argon2_mem_kib;            /* [auth] argon2_mem_kib */
    char notify_command[HV_WEB_PATH_MAX]; /* [notify] command, "" for none */
    char notify_staff[65];              /* [notify] staff: whose view the events follow */
    /* derived */
    char host[64];                      /* listen's address */
    unsigned port;                      /* listen's port */
    bool loopback;                      /* host is 127.0.0.0/8 */
    bool tls;                           /* a certificate is configured */
} hv_web_config;

/* Reads and checks `path` into `out`. Returns HV_OK, HV_ENOTFOUND or
 * HV_ECONFIG with the reason in `e` (plain HTTP on a non-loopback address
 * is refused here). */
HV_MUST_CHECK hv_err hv_web_config_load(const char *path, hv_web_config *out, hv_errmsg *e);

/* As hv_web_config_load, from `text`; `path` names the file (messages,
 * and the directory relative paths are taken from). */
HV_MUST_CHECK hv_err hv_web_config_parse(const char *text, const char *path, hv_web_config *out,
                                         hv_errmsg *e);

/* True when `role` is one of this kind's roles. */
bool hv_web_role_valid(const hv_web_config *c, const char *role);

/* True when this role must give a TOTP code to sign in. */
bool hv_web_role_needs_totp(const hv_web_config *c, const char *role);

#endif
