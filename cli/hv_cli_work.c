/* `haven referral|inbox|pathway|status`: the commands caseworkers and
 * agencies use, talking to their local worker over its control socket
 * (services/common/hv_ctl.h). Human output by default, the worker's JSON
 * with --json. Exit codes as for every haven command: 0 done, 1 refused
 * (the answer says why), 2 usage, 3 the worker cannot be reached. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_cli.h"
#include "hv_ctl.h"
#include "hv_file.h"
#include "hv_referral.h"
#include "hv_worker.h"

#define S_TIMEOUT_MS 10000

/* Prints the located errors of a referral file, one per line, in the form
 * compilers use so that editors can jump to them. */
static void s_print_errors(const char *file, json_t *errors)
{
    size_t i;
    json_t *err;
    json_array_foreach(errors, i, err)
    {
        const char *path = json_string_value(json_object_get(err, "path"));
        fprintf(stderr, "%s:%lld:%lld: %s%s%s\n", file,
                (long long)json_integer_value(json_object_get(err, "line")),
                (long long)json_integer_value(json_object_get(err, "column")),
                path && path[0] ? path : "", path && path[0] ? ": " : "",
                json_string_value(json_object_get(err, "message")));
    }
}

static json_t *s_check_json(const hv_referral_check *c)
{
    json_t *list = json_array();
    for (size_t i = 0; i < c->n_errors; i++) {
        const hv_referral_error *e = &c->errors[i];
        json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s}", "path", e->path, "line",
                                              (int)e->line, "column", (int)e->col, "message",
                                              e->text));
    }
    return list;
}

/* Checks a referral file locally. Returns 0 when valid, else an exit code
 * (errors printed). `*text` gets the file's content when not NULL. */
static int s_check_file(const char *file, bool json_out, char **text, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    hv_errmsg e = {""};
    hv_err err = hv_file_read(file, HV_JSON_TEXT_MAX, &buf, &n, &e);
    if (err != HV_OK) {
        return hv_cli_report("referral file", err, &e);
    }
    hv_referral_check *c = calloc(1, sizeof *c);
    if (c == NULL) {
        free(buf);
        return EXIT_SYSTEM;
    }
    err = hv_referral_check_text((const char *)buf, n, (uint64_t)time(NULL), c);
    int rc = 0;
    if (err != HV_OK) {
        json_t *errors = s_check_json(c);
        if (json_out) {
            json_t *out = json_pack("{s:b, s:s, s:o, s:I}", "ok", 0, "file", file, "errors",
                                    errors, "more", (json_int_t)c->n_more);
            json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("\n");
            json_decref(out);
        } else {
            s_print_errors(file, errors);
            json_decref(errors);
            size_t total = c->n_errors + c->n_more;
            fprintf(stderr, "%s: %zu error%s%s; nothing was sent (%s)\n", file, total,
                    total == 1 ? "" : "s", c->n_more ? " (the first ones shown)" : "",
                    hv_errname(err));
        }
        rc = hv_cli_exit_code(err);
    }
    free(c);
    if (rc == 0 && text != NULL) {
        *text = (char *)buf;
        *len = n;
    } else {
        free(buf);
    }
    return rc;
}

/* Says why a file or socket of the worker's cannot be used by this user,
 * before any ZeroMQ call (an ipc connect does not report EACCES: it would
 * wait for the timeout). Returns 0 or EXIT_SYSTEM after printing why. */
static int s_access(const char *path, int mode)
{
    if (access(path, mode) == 0)
        return 0;
    if (errno == EACCES || errno == EPERM)
        fprintf(stderr, "haven: permission denied on %s: ask your administrator to add you to "
                "group haven (HV_EPERM)\n", path);
    else if (errno == ENOENT && mode != R_OK)
        fprintf(stderr, "haven: no control socket at %s: is the worker running? "
                "(HV_ENOTFOUND)\n", path);
    else
        fprintf(stderr, "haven: %s: %s (%s)\n", path, strerror(errno),
                errno == ENOENT ? "HV_ENOTFOUND" : "HV_EIO");
    return errno == ENOENT && mode == R_OK ? EXIT_REFUSED : EXIT_SYSTEM;
}

/* The control socket: --socket, or the one the worker's --config names. */
static int s_socket(const opts *o, char *out, size_t cap)
{
    const char *sock = hv_cli_opt(o, "socket");
    if (sock == NULL) {
        const char *config = hv_cli_opt(o, "config");
        if (config == NULL)
            return hv_cli_usage_error(o, "option --config is required (or --socket, "
                                         "HAVEN_CONFIG, or 'config' in the profile)");
        int rc = s_access(config, R_OK);
        if (rc != 0)
            return rc;
        hv_worker_config *cfg = calloc(1, sizeof *cfg);
        hv_errmsg e = {""};
        hv_err err = cfg ? hv_worker_config_load(config, cfg, &e) : HV_ENOMEM;
        if (err == HV_OK)
            snprintf(out, cap, "%s", cfg->control);
        free(cfg);
        if (err != HV_OK)
            return hv_cli_report("worker configuration", err, &e);
    } else {
        snprintf(out, cap, "%s", sock);
    }
    return s_access(out, R_OK | W_OK);
}

int hv_cli_worker_socket(const opts *o, char *out, size_t cap)
{
    return s_socket(o, out, cap);
}

/* Prints the lists of referral.list and inbox.list as tables that fit the
 * terminal, from the worker's JSON. Returns false for other commands. */
static bool s_table(const char *cmd, json_t *result)
{
    bool refs = strcmp(cmd, "referral.list") == 0, inbox = strcmp(cmd, "inbox.list") == 0;
    if (!refs && !inbox)
        return false;
    static const char *const ref_head[] = {"REFERRAL", "STATE", "SERVICE", "COUNTRY",
                                           "PROVIDER", "DUE"};
    static const char *const inbox_head[] = {"REFERRAL", "OFFER", "CASE", "SERVICE",
                                             "URGENCY", "AGE"};
    hv_cli_table *t = hv_cli_table_new(6, refs ? ref_head : inbox_head);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(result, refs ? "referrals" : "inbox"), i, r) {
#define S_STR(obj, key) json_string_value(json_object_get(obj, key))
        if (refs) {
            /* DUE: the deadline of its state, OVERDUE once it passed. */
            const char *due = json_object_get(r, "overdue") != NULL ? "OVERDUE"
                              : S_STR(r, "due")                     ? S_STR(r, "due")
                                                                    : "-";
            const char *row[] = {S_STR(r, "id"),      S_STR(r, "state"),
                                 S_STR(r, "service"), S_STR(r, "country"),
                                 S_STR(r, "provider"), due};
            hv_cli_table_add(t, row);
        } else {
            json_t *sum = json_object_get(r, "summary");
            char age[48];
            snprintf(age, sizeof age, "%s%s", S_STR(sum, "age_band") ? S_STR(sum, "age_band") : "",
                     json_is_true(json_object_get(sum, "minor")) ? " (minor)" : "");
            const char *row[] = {S_STR(r, "id"), S_STR(r, "offer"), S_STR(r, "case"),
                                 S_STR(sum, "service"), S_STR(sum, "urgency"), age};
            hv_cli_table_add(t, row);
        }
#undef S_STR
    }
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
    return true;
}

/* Sends one command and prints the answer. `file` names the referral file
 * for located errors; `out_path`, when set, receives the result as JSON
 * (mode 0600) instead of standard output. */
static int s_call(const opts *o, const char *cmd, json_t *args, const char *file,
                  const char *out_path)
{
    char sock[4096];
    int rc = s_socket(o, sock, sizeof sock);
    if (rc != 0) {
        json_decref(args);
        return rc;
    }
    json_t *reply = NULL;
    hv_errmsg e = {""};
    hv_err err = hv_ctl_call(sock, cmd, args, S_TIMEOUT_MS, &reply, &e);
    json_decref(args);
    if (err != HV_OK)
        return hv_cli_report("worker", err, &e);
    bool json_out = hv_cli_opt(o, "json") != NULL;
    bool ok = json_is_true(json_object_get(reply, "ok"));
    json_t *result = json_object_get(reply, "result");
    if (ok && out_path != NULL) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f == NULL || json_dumpf(result, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
            fputc('\n', f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "haven: cannot write %s (it must not exist yet): %s (%s)\n",
                    out_path, strerror(errno), errno == EEXIST ? "HV_EEXIST" : "HV_EIO");
            if (f == NULL && fd >= 0)
                close(fd);
            rc = errno == EEXIST ? EXIT_REFUSED : EXIT_SYSTEM;
        } else {
            printf("written to %s (mode 0600): it holds the full case, keep it safe\n",
                   out_path);
        }
    } else if (json_out) {
        hv_cli_print_json(reply);
    } else if (ok && s_table(cmd, result)) {
        /* printed as a table that fits the terminal */
    } else if (ok) {
        fputs(json_string_value(json_object_get(reply, "text")), stdout);
    } else {
        json_t *errors = json_object_get(result, "errors");
        if (errors != NULL)
            s_print_errors(file ? file : "referral", errors);
        fprintf(stderr, "haven: %s (%s)\n", json_string_value(json_object_get(reply, "message")),
                json_string_value(json_object_get(reply, "error")));
    }
    if (!ok)
        rc = EXIT_REFUSED;
    json_decref(reply);
    return rc;
}

/* --------------------------------------------------------------- commands */

int hv_cli_referral(const opts *o)
{
    const char *sub = o->cmd->sub, *id = o->positional;
    bool json_out = hv_cli_opt(o, "json") != NULL;
    if (strcmp(sub, "check") == 0) {
        int rc = s_check_file(id, json_out, NULL, NULL);
        if (rc == 0 && json_out) {
            json_t *j = json_pack("{s:b, s:s}", "ok", 1, "file", id);
            hv_cli_print_json(j);
            json_decref(j);
        } else if (rc == 0) {
            printf("%s: valid referral\n", id);
        }
        return rc;
    }
    if (strcmp(sub, "submit") == 0) {
        char sock[4096];
        int rc = s_socket(o, sock, sizeof sock); /* before the file: a usage error first */
        if (rc != 0)
            return rc;
        char *text = NULL;
        size_t len = 0;
        if ((rc = s_check_file(id, json_out, &text, &len)) != 0)
            return rc;
        /* The documents it names go first; the submission takes them. */
        json_t *uploads = NULL;
        if ((rc = hv_cli_attach_upload(sock, id, text, len, &uploads)) != 0) {
            free(text);
            return rc;
        }
        json_t *args = json_pack("{s:s%}", "case", text, len);
        free(text);
        if (uploads != NULL)
            json_object_set_new(args, "attachments", uploads);
        return s_call(o, "referral.submit", args, id, NULL);
    }
    if (strcmp(sub, "list") == 0)
        return s_call(o, "referral.list", json_object(), NULL, NULL);
    if (strcmp(sub, "show") == 0)
        return s_call(o, "referral.show",
                      json_pack("{s:s, s:b}", "id", id, "case", hv_cli_opt(o, "case") != NULL),
                      NULL, NULL);
    /* withdraw, cancel, erase: what each requires is a usage error when
     * missing. */
    const char *need = strcmp(sub, "cancel") == 0 ? "code" : "reason";
    if (hv_cli_need(o, need) == NULL)
        return EXIT_USAGE;
    json_t *args = json_pack("{s:s}", "id", id);
    const char *names[] = {"reason", "code"};
    for (size_t i = 0; i < 2; i++)
        if (hv_cli_opt(o, names[i]) != NULL)
            json_object_set_new(args, names[i], json_string(hv_cli_opt(o, names[i])));
    char cmd[32];
    snprintf(cmd, sizeof cmd, "referral.%s", sub);
    return s_call(o, cmd, args, NULL, NULL);
}

int hv_cli_case_show(const opts *o)
{
    return s_call(o, "case.show", json_pack("{s:s}", "case", o->positional), NULL, NULL);
}

int hv_cli_inbox(const opts *o)
{
    const char *sub = o->cmd->sub, *id = o->positional;
    if (strcmp(sub, "list") == 0)
        return s_call(o, "inbox.list", json_object(), NULL, NULL);
    /* What each sub-command requires is a usage error when missing. */
    const char *required = strcmp(sub, "decline") == 0  ? "reason"
                           : strcmp(sub, "status") == 0 ? "state"
                           : strcmp(sub, "export") == 0 ? "out"
                                                        : NULL;
    if (required != NULL && hv_cli_need(o, required) == NULL)
        return EXIT_USAGE;
    json_t *args = json_pack("{s:s}", "id", id);
    const char *names[] = {"reason", "note", "state"};
    for (size_t i = 0; i < 3; i++)
        if (hv_cli_opt(o, names[i]) != NULL)
            json_object_set_new(args, names[i], json_string(hv_cli_opt(o, names[i])));
    if (strcmp(sub, "export") == 0)
        return s_call(o, "inbox.export", args, NULL, hv_cli_opt(o, "out"));
    char cmd[32];
    snprintf(cmd, sizeof cmd, "inbox.%s", sub);
    return s_call(o, cmd, args, NULL, NULL);
}

/* haven case hold / release: a provider's legal hold on a case. */
int hv_cli_hold(const opts *o)
{
    const char *sub = o->cmd->sub;
    bool hold = strcmp(sub, "hold") == 0;
    if (hold && (hv_cli_need(o, "basis") == NULL || hv_cli_need(o, "reason") == NULL))
        return EXIT_USAGE;
    json_t *args = json_pack("{s:s}", "id", o->positional);
    if (hold) {
        json_object_set_new(args, "basis", json_string(hv_cli_opt(o, "basis")));
        json_object_set_new(args, "reason", json_string(hv_cli_opt(o, "reason")));
    }
    return s_call(o, hold ? "case.hold" : "case.release", args, NULL, NULL);
}

int hv_cli_pathway(const opts *o)
{
    return s_call(o, "pathway.show", json_object(), NULL, NULL);
}

int hv_cli_status(const opts *o)
{
    if (hv_cli_opt(o, "json") != NULL)
        return s_call(o, "status", json_object(), NULL, NULL);
    /* The worker's status has no text form of its own. */
    char sock[4096];
    int rc = s_socket(o, sock, sizeof sock);
    if (rc != 0)
        return rc;
    json_t *reply = NULL;
    hv_errmsg e = {""};
    hv_err err = hv_ctl_call(sock, "status", NULL, S_TIMEOUT_MS, &reply, &e);
    if (err != HV_OK)
        return hv_cli_report("worker", err, &e);
    json_t *r = json_object_get(reply, "result");
    char expiry[96];
    hv_cli_registry_expiry(json_integer_value(json_object_get(r, "registry_expires_at")),
                           expiry, sizeof expiry);
    printf("%s (%s in %s): broker %s, %lld waiting in the outbox, registry v%lld%s\n",
           json_string_value(json_object_get(r, "node")),
           json_string_value(json_object_get(r, "role")),
           json_string_value(json_object_get(r, "country")),
           json_is_true(json_object_get(r, "broker_ready")) ? "connected" : "not connected",
           (long long)json_integer_value(json_object_get(r, "outbox")),
           (long long)json_integer_value(json_object_get(r, "registry_version")), expiry);
    /* Forward secrecy at rest (PROTOCOL §4.1): what an operator watches. */
    json_t *pk = json_object_get(r, "prekeys");
    const char *newest = json_string_value(json_object_get(pk, "newest"));
    if (json_is_object(pk))
        printf("prekeys: %lld held, newest %s, bundles of %zu nodes known, %lld sealed to a "
               "long-term key for want of one\n",
               (long long)json_integer_value(json_object_get(pk, "own")),
               newest != NULL && newest[0] != '\0' ? newest : "-",
               json_object_size(json_object_get(pk, "known")),
               (long long)json_integer_value(json_object_get(pk, "sealed_long_term")));
    json_decref(reply);
    return 0;
}

/* One control call and its refusal printed, for every command that asks
 * a worker (hv_cli.h). */
int hv_cli_ask_at(const char *sock, const char *cmd, json_t *args, int timeout_ms,
                  const char *what, json_t **reply)
{
    hv_errmsg e = {""};
    hv_err err = hv_ctl_call(sock, cmd, args, timeout_ms, reply, &e);
    json_decref(args);
    if (err != HV_OK)
        return hv_cli_report("worker", err, &e);
    if (json_is_true(json_object_get(*reply, "ok")))
        return 0;
    const char *name = json_string_value(json_object_get(*reply, "error"));
    fprintf(stderr, "haven: %s%s%s (%s)\n", what ? what : "", what ? ": " : "",
            json_string_value(json_object_get(*reply, "message")), name ? name : "?");
    json_int_t code = json_integer_value(json_object_get(*reply, "code"));
    json_decref(*reply);
    *reply = NULL;
    return code != 0 ? hv_cli_exit_code((hv_err)code) : EXIT_REFUSED;
}

int hv_cli_ask(const opts *o, const char *cmd, json_t *args, int timeout_ms, const char *what,
               json_t **reply)
{
    char sock[4096];
    int rc = s_socket(o, sock, sizeof sock);
    if (rc != 0) {
        json_decref(args);
        return rc;
    }
    return hv_cli_ask_at(sock, cmd, args, timeout_ms, what, reply);
}

/* haven audit heads --config W.ini --out F: the heads of the node's audit
 * log that its broker witnessed, as a heads file for `audit verify --heads`. */
int hv_cli_audit_heads(const opts *o)
{
    const char *out_path = hv_cli_need(o, "out");
    if (out_path == NULL)
        return EXIT_USAGE;
    json_t *reply = NULL;
    int rc = hv_cli_ask(o, "audit.heads", NULL, S_TIMEOUT_MS, NULL, &reply);
    if (rc != 0)
        return rc;
    json_t *result = json_object_get(reply, "result");
    json_t *heads = json_object_get(result, "heads");
    if (json_array_size(heads) == 0) {
        fprintf(stderr, "haven: the broker has witnessed no head of this node's audit log yet "
                "(signed up to record %lld) (HV_ENOTFOUND)\n",
                (long long)json_integer_value(json_object_get(result, "signed_seq")));
        json_decref(reply);
        return EXIT_REFUSED;
    }
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    size_t i;
    json_t *h;
    bool ok = f != NULL;
    json_array_foreach(heads, i, h) {
        if (ok && fprintf(f, "%s\n", json_string_value(h) ? json_string_value(h) : "") < 0)
            ok = false;
    }
    if (f != NULL && fclose(f) != 0)
        ok = false;
    else if (f == NULL && fd >= 0)
        close(fd);
    if (!ok) {
        fprintf(stderr, "haven: cannot write %s (it must not exist yet): %s (%s)\n", out_path,
                strerror(errno), errno == EEXIST ? "HV_EEXIST" : "HV_EIO");
        json_decref(reply);
        return errno == EEXIST ? EXIT_REFUSED : EXIT_SYSTEM;
    }
    printf("wrote %zu heads to %s (witnessed by the broker up to record %lld)\n",
           json_array_size(heads), out_path,
           (long long)json_integer_value(json_object_get(result, "witnessed_seq")));
    json_decref(reply);
    return 0;
}

/* haven audit rotate --config W.ini: the worker rotates its audit log. */
int hv_cli_audit_rotate(const opts *o)
{
    json_t *reply = NULL;
    int rc = hv_cli_ask(o, "audit.rotate", NULL, S_TIMEOUT_MS, NULL, &reply);
    if (rc != 0)
        return rc;
    json_t *r = json_object_get(reply, "result");
    printf("rotated: %s holds the records up to %lld; %s goes on from record %lld\n",
           json_string_value(json_object_get(r, "old")),
           (long long)json_integer_value(json_object_get(r, "old_last")),
           json_string_value(json_object_get(r, "log")),
           (long long)json_integer_value(json_object_get(r, "new_first")));
    json_decref(reply);
    return 0;
}
