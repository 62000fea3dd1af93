/* haven audit verify: a node's audit log checked record by record, the
 * files it was rotated into as one chain, and against the heads its broker
 * witnessed (common/hv_audit.h, common/hv_audit_head.h), and the heads a
 * broker's store holds (audit heads --store). The worker's side (audit
 * heads through the worker, audit rotate) is in hv_cli_work.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_audit_head.h"
#include "hv_cli.h"
#include "hv_file.h"
#include "hv_json.h"
#include "hv_registry.h"
#include "hv_store_heads.h"

/* Reads and checks the heads file of --heads (signatures against the
 * registry of --authority/--registry). Caller owns `*heads`. */
static int s_load_heads(const opts *o, hv_audit_head **heads, size_t *n)
{
    const char *path = hv_cli_opt(o, "heads");
    hv_registry *reg = NULL;
    int rc = hv_cli_load_registry(o, &reg);
    if (rc != 0)
        return rc;
    uint8_t *text = NULL;
    size_t len = 0;
    hv_errmsg e = {""};
    hv_err err = hv_file_read(path, 64u * 1024 * 1024, &text, &len, &e);
    if (err == HV_OK)
        err = hv_audit_heads_parse((const char *)text, len, heads, n, &e);
    free(text);
    for (size_t i = 0; err == HV_OK && i < *n; i++) {
        err = hv_audit_head_verify_registry(&(*heads)[i], reg);
        if (err != HV_OK)
            hv_fail(&e, HV_ECRYPTO, "head %zu (record %llu of %s) is not signed by a key the "
                    "registry lists for %s", i + 1, (unsigned long long)(*heads)[i].seq,
                    (*heads)[i].node, (*heads)[i].node);
    }
    hv_registry_free(&reg);
    if (err == HV_OK && *n == 0)
        err = hv_fail(&e, HV_EDECODE, "no head in the file");
    if (err != HV_OK) {
        free(*heads);
        *heads = NULL;
        return hv_cli_report(path, err == HV_ENOTFOUND ? HV_ECRYPTO : err, &e);
    }
    return 0;
}

/* The files of `haven audit verify`, one after the other in one text;
 * `lines[i]` counts the lines up to the end of file i. A file after the
 * first must begin with a rotation record (hv_audit_rotate). */
static int s_read_logs(const opts *o, char **text, size_t *len, uint64_t *lines)
{
    *text = NULL;
    *len = 0;
    for (int i = 0; i < o->n_args; i++) {
        uint8_t *bytes = NULL;
        size_t n = 0;
        hv_errmsg e = {""};
        hv_err err = hv_file_read(o->args[i], 1024u * 1024 * 1024, &bytes, &n, &e);
        if (err != HV_OK) {
            free(*text);
            return hv_cli_report(o->args[i], err, &e);
        }
        const char *nl = memchr(bytes, '\n', n);
        static const char k[] = "\"event\":\"" HV_AUDIT_ROTATED "\",";
        if (i > 0 && (nl == NULL || memmem(bytes, (size_t)(nl - (char *)bytes), k,
                                           sizeof k - 1) == NULL)) {
            printf("%s: does not continue %s: its first record is not a rotation record "
                   "(HV_ECRYPTO)\n", o->args[i], o->args[i - 1]);
            free(bytes);
            free(*text);
            return EXIT_REFUSED;
        }
        char *grown = realloc(*text, *len + n + 1);
        if (grown == NULL) {
            free(bytes);
            free(*text);
            return hv_cli_report(o->args[i], HV_ENOMEM, NULL);
        }
        *text = grown;
        memcpy(*text + *len, bytes, n);
        *len += n;
        uint64_t count = 0;
        for (size_t j = 0; j < n; j++)
            count += bytes[j] == '\n';
        lines[i] = (i > 0 ? lines[i - 1] : 0) + count;
        free(bytes);
    }
    return 0;
}

/* haven audit verify FILE... [--heads HEADS]: checks a node's audit log
 * (and the files it was rotated into, in order), record by record, and
 * against the heads its broker witnessed. */
int hv_cli_audit(const opts *o)
{
    bool json_out = hv_cli_opt(o, "json") != NULL;
    hv_audit_head *heads = NULL;
    size_t n_heads = 0;
    if (hv_cli_opt(o, "heads") != NULL) {
        int rc = s_load_heads(o, &heads, &n_heads);
        if (rc != 0)
            return rc;
    }
    char name[1024] = "";
    for (int i = 0; i < o->n_args; i++)
        snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", i ? " + " : "",
                 o->args[i]);
    uint64_t lines[HV_CLI_ARGS_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = s_read_logs(o, &text, &len, lines);
    if (rc != 0) {
        free(heads);
        return rc;
    }
    hv_audit_result r;
    hv_audit_heads_result hr;
    memset(&hr, 0, sizeof hr);
    hv_err err = hv_audit_verify(text ? text : "", len, &r);
    hv_err herr = HV_OK;
    if (err == HV_OK && heads != NULL)
        herr = hv_audit_check_heads(text ? text : "", len, r.last_seq, heads, n_heads, &hr);
    free(text);
    free(heads);
    /* A break's line, in the file that holds it. */
    const char *file = o->args[0];
    uint64_t line = r.broken_line;
    for (int i = 0; err != HV_OK && i < o->n_args; i++)
        if (r.broken_line <= lines[i] || i == o->n_args - 1) {
            file = o->args[i];
            line = r.broken_line - (i > 0 ? lines[i - 1] : 0);
            break;
        }
    char span[64] = "";
    if (r.first_seq != 1 && r.records > 0)
        snprintf(span, sizeof span, " (%llu to %llu)", (unsigned long long)r.first_seq,
                 (unsigned long long)r.last_seq);
    if (json_out) {
        json_t *j = json_pack("{s:s, s:b, s:I}", "file", name, "intact",
                              err == HV_OK && herr == HV_OK, "records", (json_int_t)r.records);
        if (j != NULL && err != HV_OK) {
            json_object_set_new(j, "broken_file", json_string(file));
            json_object_set_new(j, "broken_line", json_integer((json_int_t)line));
            json_object_set_new(j, "why", json_string(r.why));
            json_object_set_new(j, "code", json_string(hv_errname(err)));
        }
        if (j != NULL && err == HV_OK) {
            json_object_set_new(j, "first_record", json_integer((json_int_t)r.first_seq));
            json_object_set_new(j, "last_record", json_integer((json_int_t)r.last_seq));
            json_object_set_new(j, "witnessed", json_boolean(n_heads > 0));
            json_object_set_new(j, "heads_matched", json_integer((json_int_t)hr.matched));
        }
        if (j != NULL && herr != HV_OK) {
            json_object_set_new(j, "first_bad_record", json_integer((json_int_t)hr.first_bad));
            json_object_set_new(j, "why", json_string(hr.why));
            json_object_set_new(j, "code", json_string(hv_errname(herr)));
        }
        hv_cli_print_json(j);
        json_decref(j);
        err = err != HV_OK ? err : herr;
    } else if (err != HV_OK) {
        printf("%s:%llu: broken: %s (%llu records before it are intact) (%s)\n", file,
               (unsigned long long)line, r.why, (unsigned long long)r.records,
               hv_errname(err));
    } else if (herr != HV_OK) {
        printf("%s: record %llu no longer matches the witnessed heads: %s (%s)\n", name,
               (unsigned long long)hr.first_bad, hr.why, hv_errname(herr));
        err = herr;
    } else if (n_heads > 0) {
        printf("%s: %llu records%s, chain intact, matches %llu witnessed heads (the latest "
               "at record %llu)\n", name, (unsigned long long)r.records, span,
               (unsigned long long)hr.matched, (unsigned long long)hr.latest_seq);
    } else {
        printf("%s: %llu records%s, chain intact (not checked against witnessed heads)\n",
               name, (unsigned long long)r.records, span);
    }
    return hv_cli_exit_code(err);
}

/* The node whose log STORE.audit is (its first record's "node"), for
 * --node's default: a broker's own id. */
static bool s_log_node(const char *store, char *node, size_t cap)
{
    char path[4096 + 8];
    snprintf(path, sizeof path, "%s.audit", store);
    FILE *f = fopen(path, "r");
    char line[HV_AUDIT_LINE_MAX + 2];
    bool ok = f != NULL && fgets(line, sizeof line, f) != NULL;
    if (f != NULL)
        fclose(f);
    const char *at = ok ? strstr(line, "\"node\":\"") : NULL;
    const char *end = at != NULL ? strchr(at + 8, '"') : NULL;
    if (end == NULL || (size_t)(end - (at + 8)) >= cap)
        return false;
    memcpy(node, at + 8, (size_t)(end - (at + 8)));
    node[end - (at + 8)] = '\0';
    return hv_node_id_valid_cstr(node);
}

typedef struct s_out {
    FILE *f;
    const char *node;
    uint64_t last;
    bool io_failed;
} s_out;

/* One head of the store as a line of the heads file: decoded first, so
 * that only a canonical head of the node asked for is written. */
static int s_put_head(void *arg, uint64_t seq, const uint8_t *bytes, size_t len)
{
    s_out *o = arg;
    hv_audit_head h;
    char line[2 * HV_AUDIT_HEAD_MAX + 2];
    if (hv_audit_head_decode(bytes, len, &h) != HV_OK || h.seq != seq ||
        strcmp(h.node, o->node) != 0 || hv_audit_head_line(&h, line) != HV_OK)
        return 1;
    if (fputs(line, o->f) < 0) {
        o->io_failed = true;
        return 1;
    }
    o->last = seq;
    return 0;
}

/* haven audit heads --store STORE [--node NODE] --out F: the heads a
 * broker's store holds for NODE (the broker's own by default), read-only. */
static int s_store_heads(const opts *o)
{
    const char *store = hv_cli_opt(o, "store");
    const char *out_path = hv_cli_need(o, "out");
    if (out_path == NULL)
        return EXIT_USAGE;
    char node[HV_NODE_ID_MAX + 1];
    const char *want = hv_cli_opt(o, "node");
    if (want != NULL && !hv_node_id_valid_cstr(want)) {
        fprintf(stderr, "haven: --node: '%s' is not a node id (HV_EINVAL)\n", want);
        return EXIT_USAGE;
    }
    if (want != NULL)
        snprintf(node, sizeof node, "%s", want);
    else if (!s_log_node(store, node, sizeof node)) {
        fprintf(stderr, "haven: %s.audit cannot be read to learn the broker's id: give "
                "--node (HV_ENOTFOUND)\n", store);
        return EXIT_REFUSED;
    }
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int saved = errno;
        fprintf(stderr, "haven: cannot write %s (it must not exist yet): %s (%s)\n", out_path,
                strerror(saved), saved == EEXIST ? "HV_EEXIST" : "HV_EIO");
        return saved == EEXIST ? EXIT_REFUSED : EXIT_SYSTEM;
    }
    s_out so = {fdopen(fd, "w"), node, 0, false};
    if (so.f == NULL) {
        close(fd);
        unlink(out_path);
        return hv_cli_report(out_path, HV_EIO, NULL);
    }
    size_t n = 0;
    hv_errmsg e = {""};
    hv_err err = hv_store_heads_read(store, node, s_put_head, &so, &n, &e);
    if (fclose(so.f) != 0 || so.io_failed) {
        err = HV_EIO;
        hv_fail(&e, HV_EIO, "%s: cannot write the heads", out_path);
    }
    if (err == HV_OK && n == 0) {
        err = HV_ENOTFOUND;
        hv_fail(&e, err, "%s holds no head of %s's audit log", store, node);
    }
    if (err != HV_OK) {
        unlink(out_path);
        fprintf(stderr, "haven: %s (%s)\n", e.text, hv_errname(err));
        return err == HV_EIO ? EXIT_SYSTEM : EXIT_REFUSED;
    }
    printf("wrote %zu heads of %s's audit log to %s (from %s, up to record %llu)\n", n, node,
           out_path, store, (unsigned long long)so.last);
    return 0;
}

/* haven audit heads: from a broker's store (--store), or through a worker. */
int hv_cli_audit_heads_any(const opts *o)
{
    if (hv_cli_opt(o, "store") != NULL)
        return s_store_heads(o);
    if (hv_cli_opt(o, "node") != NULL) {
        fprintf(stderr, "haven: --node is for --store (HV_EINVAL)\n");
        return EXIT_USAGE;
    }
    return hv_cli_audit_heads(o);
}
