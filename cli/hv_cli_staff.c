/* `haven staff ...` and `haven web self-signed`: haven-web's accounts,
 * kept in its own store (services/web/hv_web_store.h), for the host's
 * administrator. Passwords are read from the terminal without echo, or,
 * when standard input is not a terminal, as one line from it (scripts,
 * tests). Every change is written to haven-web's audit log as the
 * host's administrator (NODE/host-admin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hv_cli.h"
#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_web_audit.h"
#include "hv_web_auth.h"
#include "hv_web_cert.h"
#include "hv_web_config.h"
#include "hv_web_store.h"

/* Reads one line without its newline into `out`; with echo off when
 * standard input is a terminal. */
static bool s_read_line(const char *prompt, char *out, size_t cap)
{
    bool tty = isatty(0);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        if (tcgetattr(0, &old) != 0)
            return false;
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(out, (int)cap, stdin) != NULL;
    if (tty) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok;
}

static int s_new_password(const hv_web_config *c, char hash[HV_PWHASH_STR_MAX])
{
    char *pw = hv_secure_alloc(HV_WEB_PASSWORD_MAX + 2);
    char *again = hv_secure_alloc(HV_WEB_PASSWORD_MAX + 2);
    int rc = EXIT_REFUSED;
    hv_errmsg e = {{0}};
    if (pw == NULL || again == NULL)
        goto done;
    if (!s_read_line("new password: ", pw, HV_WEB_PASSWORD_MAX + 2)) {
        fprintf(stderr, "haven: no password given\n");
        goto done;
    }
    if (isatty(0) && (!s_read_line("again: ", again, HV_WEB_PASSWORD_MAX + 2) ||
                      strcmp(pw, again) != 0)) {
        fprintf(stderr, "haven: the two passwords differ\n");
        goto done;
    }
    if (hv_web_password_ok(pw, &e) != HV_OK || hv_web_password_hash(c, pw, hash, &e) != HV_OK) {
        fprintf(stderr, "haven: %s\n", e.text);
        goto done;
    }
    rc = 0;
done:
    hv_secure_free(pw);
    hv_secure_free(again);
    return rc;
}

static int s_report(hv_err err, const char *name)
{
    if (err == HV_OK)
        return 0;
    if (err == HV_ENOTFOUND)
        fprintf(stderr, "haven: no staff member '%s' (HV_ENOTFOUND)\n", name);
    else if (err == HV_EEXIST)
        fprintf(stderr, "haven: the name '%s' is taken (HV_EEXIST)\n", name);
    else
        fprintf(stderr, "haven: %s (%s)\n", hv_strerror(err), hv_errname(err));
    return hv_cli_exit_code(err);
}

/* Prints the staff list as a table for people. */
static void s_print_staff(const json_t *list)
{
    static const char *const headers[] = {"NAME", "ROLE", "TOTP", "STATE"};
    hv_cli_table *t = hv_cli_table_new(4, headers);
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
    {
        const char *state = json_is_true(json_object_get(s, "disabled")) ? "disabled"
                            : json_is_true(json_object_get(s, "locked")) ? "locked"
                                                                          : "active";
        const char *cells[4] = {json_string_value(json_object_get(s, "name")),
                                json_string_value(json_object_get(s, "role")),
                                json_is_true(json_object_get(s, "totp")) ? "yes" : "no", state};
        hv_cli_table_add(t, cells);
    }
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
}

int hv_cli_staff(const opts *o)
{
    const char *sub = o->cmd->sub, *config = hv_cli_need(o, "config");
    const char *name = hv_cli_opt(o, "name"), *role = hv_cli_opt(o, "role");
    const char *addr = hv_cli_opt(o, "address");
    bool json_out = hv_cli_opt(o, "json") != NULL;
    if (config == NULL)
        return EXIT_USAGE;
    hv_web_config cfg;
    hv_errmsg e = {{0}};
    hv_err err = hv_web_config_load(config, &cfg, &e);
    if (err != HV_OK) {
        fprintf(stderr, "haven: %s\n", e.text);
        return EXIT_REFUSED;
    }
    bool needs_name = strcmp(sub, "list") != 0 && !(strcmp(sub, "unlock") == 0 && addr);
    bool needs_role = strcmp(sub, "add") == 0 || strcmp(sub, "role") == 0;
    if (needs_name && name == NULL)
        return hv_cli_usage_error(o, "option --name is required");
    if (needs_role && role == NULL)
        return hv_cli_usage_error(o, "option --role is required");
    if (needs_name && !hv_web_name_valid(name)) {
        fprintf(stderr, "haven: --name: '%s' is not a staff name: 1 to 64 of a-z 0-9 . _ - "
                "(not host-admin) (HV_EINVAL)\n", name);
        return EXIT_REFUSED;
    }
    if (needs_role && !hv_web_role_valid(&cfg, role)) {
        fprintf(stderr, "haven: --role: '%s' is not a role here: %s (HV_EINVAL)\n", role,
                cfg.kind == HV_WEB_ROUTER ? "coordinator or admin"
                                          : "caseworker, supervisor or admin");
        return EXIT_REFUSED;
    }
    hv_web_store *st = NULL;
    if ((err = hv_web_store_open(&st, cfg.store, &e)) != HV_OK) {
        fprintf(stderr, "haven: %s: %s\n", cfg.store, e.text);
        return EXIT_SYSTEM;
    }
    char hash[HV_PWHASH_STR_MAX];
    int rc = EXIT_USAGE;
    if (strcmp(sub, "add") == 0) {
        if ((rc = s_new_password(&cfg, hash)) == 0) {
            err = hv_web_staff_add(st, name, role, hash);
            if (err == HV_OK &&
                (err = hv_web_audit_about(&cfg, "staff_added", "host-admin", name)) == HV_OK)
                err = hv_web_audit_about(&cfg, "role_changed", "host-admin", name);
            if ((rc = s_report(err, name)) == 0)
                printf("added %s (%s) at %s%s\n", name, role, cfg.node,
                       hv_web_role_needs_totp(&cfg, role)
                           ? "; this role signs in with TOTP: haven staff enrol-totp"
                           : "");
        }
    } else if (strcmp(sub, "list") == 0) {
        json_t *list = NULL;
        if ((err = hv_web_staff_list(st, hv_now_ms(), &list)) == HV_OK) {
            if (json_out)
                hv_cli_print_json(list);
            else
                s_print_staff(list);
        }
        json_decref(list);
        rc = s_report(err, "");
    } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        bool off = sub[0] == 'd';
        err = hv_web_staff_set_disabled(st, name, off);
        if (err == HV_OK && off)
            err = hv_web_session_delete_staff(st, name);
        if (err == HV_OK)
            err = hv_web_audit_about(&cfg, off ? "staff_disabled" : "staff_enabled",
                                     "host-admin", name);
        if ((rc = s_report(err, name)) == 0)
            printf("%s %s\n", off ? "disabled" : "enabled", name);
    } else if (strcmp(sub, "reset-password") == 0) {
        hv_web_staff s;
        if ((rc = s_report(hv_web_staff_get(st, name, &s), name)) == 0 &&
            (rc = s_new_password(&cfg, hash)) == 0) {
            err = hv_web_staff_set_password(st, name, hash);
            if (err == HV_OK)
                err = hv_web_session_delete_staff(st, name);
            if (err == HV_OK)
                err = hv_web_audit_about(&cfg, "password_reset", "host-admin", name);
            if ((rc = s_report(err, name)) == 0)
                printf("password of %s reset; their sessions are ended\n", name);
        }
        hv_memzero(&s, sizeof s);
    } else if (strcmp(sub, "enrol-totp") == 0) {
        char uri[512], b32[64];
        if ((err = hv_web_totp_enrol(&cfg, st, name, "host-admin", uri, b32, &e)) == HV_OK) {
            printf("%s\nsecret: %s\n(shown once: scan the URI or type the secret into an "
                   "authenticator app)\n", uri, b32);
            hv_memzero(b32, sizeof b32);
            hv_memzero(uri, sizeof uri);
        }
        rc = s_report(err, name);
    } else if (strcmp(sub, "unlock") == 0) {
        err = addr != NULL ? hv_web_addr_clear(st, addr) : hv_web_staff_clear(st, name);
        if (err == HV_OK)
            err = hv_web_audit_about(&cfg, addr ? "address_unlocked" : "unlock", "host-admin",
                                     addr ? NULL : name);
        if (err == HV_ENOTFOUND && addr != NULL) {
            fprintf(stderr, "haven: the address %s is not throttled\n", addr);
            rc = EXIT_REFUSED;
        } else if ((rc = s_report(err, name)) == 0) {
            printf("unlocked %s\n", addr ? addr : name);
        }
    } else if (strcmp(sub, "role") == 0) {
        err = hv_web_staff_set_role(st, name, role);
        if (err == HV_OK)
            err = hv_web_audit_about(&cfg, "role_changed", "host-admin", name);
        if ((rc = s_report(err, name)) == 0)
            printf("%s is now %s\n", name, role);
    }
    hv_memzero(hash, sizeof hash);
    hv_web_store_close(&st);
    hv_web_audit_close();
    return rc;
}

int hv_cli_web(const opts *o)
{
    const char *out = hv_cli_need(o, "out"), *host = hv_cli_opt(o, "host");
    if (out == NULL)
        return EXIT_USAGE;
    hv_errmsg e = {{0}};
    if (hv_web_cert_self_signed(out, host, &e) != HV_OK) {
        fprintf(stderr, "haven: %s\n", e.text);
        return EXIT_REFUSED;
    }
    printf("wrote %s/cert.pem and %s/key.pem (self-signed, one year; replace with a "
           "certificate of your own CA when you can)\n", out, out);
    return 0;
}
