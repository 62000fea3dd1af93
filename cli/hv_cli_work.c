/* `haven referral|inbox|pathway|status`: the commands caseworkers and
 * agencies use, talking to their local worker over its control socket
 * (services/common/hv_ctl.h). Human output by default, the worker's JSON
 * with --json. Exit codes as for every haven command: 0 done, 1 refused
 * (the answer says why), 2 usage, 3 the worker cannot be reached. */
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

static int s_usage(void)
{
    fprintf(stderr, "usage:\n" HV_CLI_WORK_USAGE);
    return EXIT_USAGE;
}

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
        fprintf(stderr, "haven: %s: %s\n", file, e.text[0] ? e.text : hv_strerror(err));
        return err == HV_ETOOBIG ? EXIT_REFUSED : EXIT_SYSTEM;
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
            fprintf(stderr, "%s: %zu error%s%s; nothing was sent\n", file, total,
                    total == 1 ? "" : "s",
                    c->n_more ? " (the first ones shown)" : "");
        }
        rc = err == HV_ENOMEM ? EXIT_SYSTEM : EXIT_REFUSED;
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

static int s_socket(const opts *o, char *out, size_t cap)
{
    const char *sock = hv_cli_opt(o, "socket");
    const char *config = hv_cli_opt(o, "config");
    if (sock != NULL) {
        snprintf(out, cap, "%s", sock);
        return 0;
    }
    if (config == NULL) {
        fprintf(stderr, "haven: --config WORKER.ini (or --socket PATH) is required\n");
        return EXIT_USAGE;
    }
    hv_worker_config *cfg = calloc(1, sizeof *cfg);
    hv_errmsg e = {""};
    hv_err err = cfg ? hv_worker_config_load(config, cfg, &e) : HV_ENOMEM;
    if (err == HV_OK)
        snprintf(out, cap, "%s", cfg->control);
    else
        fprintf(stderr, "haven: %s\n", e.text[0] ? e.text : hv_strerror(err));
    free(cfg);
    return err == HV_OK ? 0 : EXIT_REFUSED;
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
    if (err != HV_OK) {
        fprintf(stderr, "haven: %s\n", e.text);
        return EXIT_SYSTEM;
    }
    bool json_out = hv_cli_opt(o, "json") != NULL;
    bool ok = json_is_true(json_object_get(reply, "ok"));
    json_t *result = json_object_get(reply, "result");
    if (ok && out_path != NULL) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f == NULL || json_dumpf(result, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
            fputc('\n', f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "haven: cannot write %s (it must not exist yet)\n", out_path);
            if (f == NULL && fd >= 0)
                close(fd);
            rc = EXIT_SYSTEM;
        } else {
            printf("written to %s (mode 0600): it holds the full case, keep it safe\n",
                   out_path);
        }
    } else if (json_out) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
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

static const char *const s_common[] = {"config", "socket", "reason", "note", "state", "out",
                                       NULL};
static const char *const s_flags[] = {"json", "case", NULL};

static int s_referral(const char *sub, const opts *o)
{
    const char *id = o->positional;
    bool json_out = hv_cli_opt(o, "json") != NULL;
    if (strcmp(sub, "check") == 0) {
        if (id == NULL)
            return s_usage();
        int rc = s_check_file(id, json_out, NULL, NULL);
        if (rc == 0)
            printf(json_out ? "{\"ok\": true, \"file\": \"%s\"}\n" : "%s: valid referral\n", id);
        return rc;
    }
    if (strcmp(sub, "submit") == 0) {
        if (id == NULL)
            return s_usage();
        char *text = NULL;
        size_t len = 0;
        int rc = s_check_file(id, json_out, &text, &len);
        if (rc != 0)
            return rc;
        json_t *args = json_pack("{s:s%}", "case", text, len);
        free(text);
        return s_call(o, "referral.submit", args, id, NULL);
    }
    if (strcmp(sub, "list") == 0)
        return s_call(o, "referral.list", json_object(), NULL, NULL);
    if (id == NULL)
        return s_usage();
    if (strcmp(sub, "show") == 0)
        return s_call(o, "referral.show",
                      json_pack("{s:s, s:b}", "id", id, "case", hv_cli_opt(o, "case") != NULL),
                      NULL, NULL);
    if (strcmp(sub, "withdraw") == 0) {
        const char *reason = hv_cli_opt(o, "reason");
        if (reason == NULL) {
            fprintf(stderr, "haven: withdraw needs --reason TEXT\n");
            return EXIT_USAGE;
        }
        return s_call(o, "referral.withdraw", json_pack("{s:s, s:s}", "id", id, "reason", reason),
                      NULL, NULL);
    }
    return s_usage();
}

static int s_inbox(const char *sub, const opts *o)
{
    const char *id = o->positional;
    if (strcmp(sub, "list") == 0)
        return s_call(o, "inbox.list", json_object(), NULL, NULL);
    if (id == NULL)
        return s_usage();
    json_t *args = json_pack("{s:s}", "id", id);
    const char *names[] = {"reason", "note", "state"};
    for (size_t i = 0; i < 3; i++)
        if (hv_cli_opt(o, names[i]) != NULL)
            json_object_set_new(args, names[i], json_string(hv_cli_opt(o, names[i])));
    if (strcmp(sub, "export") == 0) {
        const char *out = hv_cli_opt(o, "out");
        if (out == NULL) {
            json_decref(args);
            fprintf(stderr, "haven: export needs --out FILE.json\n");
            return EXIT_USAGE;
        }
        return s_call(o, "inbox.export", args, NULL, out);
    }
    if (strcmp(sub, "show") == 0 || strcmp(sub, "accept") == 0 || strcmp(sub, "decline") == 0 ||
        strcmp(sub, "status") == 0) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "inbox.%s", sub);
        return s_call(o, cmd, args, NULL, NULL);
    }
    json_decref(args);
    return s_usage();
}

int hv_cli_work(const char *cmd, int argc, char **argv)
{
    const char *sub = "";
    if (strcmp(cmd, "status") != 0) {
        if (argc < 1)
            return s_usage();
        sub = argv[0];
        argc--;
        argv++;
    }
    opts o;
    if (!hv_cli_parse(argc, argv, s_common, s_flags, &o))
        return s_usage();
    if (strcmp(cmd, "referral") == 0)
        return s_referral(sub, &o);
    if (strcmp(cmd, "inbox") == 0)
        return s_inbox(sub, &o);
    if (strcmp(cmd, "pathway") == 0 && strcmp(sub, "show") == 0)
        return s_call(&o, "pathway.show", json_object(), NULL, NULL);
    if (strcmp(cmd, "status") == 0) {
        if (hv_cli_opt(&o, "json") == NULL) {
            /* The worker's status has no text form of its own. */
            char sock[4096];
            int rc = s_socket(&o, sock, sizeof sock);
            json_t *reply = NULL;
            hv_errmsg e = {""};
            if (rc != 0)
                return rc;
            if (hv_ctl_call(sock, "status", NULL, S_TIMEOUT_MS, &reply, &e) != HV_OK) {
                fprintf(stderr, "haven: %s\n", e.text);
                return EXIT_SYSTEM;
            }
            json_t *r = json_object_get(reply, "result");
            printf("%s (%s in %s): broker %s, %lld waiting in the outbox, registry v%lld\n",
                   json_string_value(json_object_get(r, "node")),
                   json_string_value(json_object_get(r, "role")),
                   json_string_value(json_object_get(r, "country")),
                   json_is_true(json_object_get(r, "broker_ready")) ? "connected"
                                                                     : "not connected",
                   (long long)json_integer_value(json_object_get(r, "outbox")),
                   (long long)json_integer_value(json_object_get(r, "registry_version")));
            json_decref(reply);
            return 0;
        }
        return s_call(&o, "status", json_object(), NULL, NULL);
    }
    return s_usage();
}
