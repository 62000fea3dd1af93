/* `haven evidence show|export|verify` (issue 20): what proves, after the
 * case is erased, who sent a referral, a receipt or an outcome. show and
 * export ask the worker over its control socket (the host's
 * administrator's socket: evidence.show, evidence.export, docs/CONTROL.md);
 * verify reads a bundle (common/hv_evidence_bundle.h) and needs only the
 * authority's public key, on any machine. Exit codes as for every haven
 * command: 0 done (verify: every item holds), 1 refused (verify: the first
 * item or registry that fails is named), 2 usage, 3 system. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_cli.h"
#include "hv_evidence_bundle.h"
#include "hv_file.h"
#include "hv_json.h"
#include "hv_keys.h"
#include "hv_text.h"

#define S_TIMEOUT_MS 30000
#define S_MESSAGES(n) ((n) == 1 ? "message" : "messages")
#define S_REGISTRIES(n) ((n) == 1 ? "registry" : "registries")

/* Asks the worker for `cmd` about the referral of the command line.
 * Returns 0 with `*reply` (the caller's), or an exit code after printing. */
static int s_ask(const opts *o, const char *cmd, json_t **reply)
{
    return hv_cli_ask(o, cmd, json_pack("{s:s}", "referral", o->positional),
                      S_TIMEOUT_MS, "evidence", reply);
}

static int s_show(const opts *o)
{
    json_t *reply = NULL;
    int rc = s_ask(o, "evidence.show", &reply);
    if (rc != 0)
        return rc;
    if (hv_cli_opt(o, "json") != NULL)
        hv_cli_print_json(reply);
    else
        fputs(json_string_value(json_object_get(reply, "text")), stdout);
    json_decref(reply);
    return 0;
}

static int s_export(const opts *o)
{
    const char *out = hv_cli_need(o, "out");
    if (out == NULL)
        return EXIT_USAGE;
    json_t *reply = NULL;
    int rc = s_ask(o, "evidence.export", &reply);
    if (rc != 0)
        return rc;
    json_t *bundle = json_object_get(reply, "result");
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL || json_dumpf(bundle, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "haven: cannot write %s (it must not exist yet): %s (%s)\n", out,
                strerror(errno), errno == EEXIST ? "HV_EEXIST" : "HV_EIO");
        if (f == NULL && fd >= 0)
            close(fd);
        rc = errno == EEXIST ? EXIT_REFUSED : EXIT_SYSTEM;
    } else {
        size_t n_items = json_array_size(json_object_get(bundle, "items"));
        size_t n_regs = json_array_size(json_object_get(bundle, "registries"));
        printf("evidence of referral %s: %zu %s, %zu signed %s, written to %s\n",
               json_string_value(json_object_get(bundle, "referral")), n_items,
               S_MESSAGES(n_items), n_regs, S_REGISTRIES(n_regs), out);
    }
    json_decref(reply);
    return rc;
}

static const char *s_slot(hv_key_slot s)
{
    return s == HV_KEYS_NEXT ? "next" : s == HV_KEYS_PREVIOUS ? "previous" : "current";
}

/* One line per verified item. */
static void s_print_item(void *ctx, const hv_evidence_checked *c)
{
    (void)ctx;
    const hv_envelope *h = &c->item->hdr;
    char at[21], kid[17];
    hv_time_format(h->created_at_ms / 1000, at);
    hv_hex(h->from_kid, sizeof h->from_kid, kid);
    printf("item %zu: %s %s %s \u2192 %s, signed by %s (%s) with its %s key %s in registry "
           "v%" PRIu64 "\n", c->index, at, hv_msg_rule_get(h->type)->name, h->from, h->to,
           h->from, c->organisation, s_slot(c->slot), kid, c->item->registry_version);
}

static int s_verify(const opts *o)
{
    const char *auth = hv_cli_need(o, "authority");
    if (auth == NULL)
        return EXIT_USAGE;
    hv_errmsg e = {""};
    hv_pubkeys auth_keys;
    hv_err err = hv_keys_load_public(auth, &auth_keys, NULL, &e);
    if (err != HV_OK)
        return hv_cli_report("authority key", err, &e);
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((err = hv_file_read(o->positional, HV_JSON_TEXT_MAX, &buf, &len, &e)) != HV_OK)
        return hv_cli_report("evidence bundle", err, &e);
    hv_evidence_bundle *b = NULL;
    err = hv_evidence_parse(buf, len, &b, &e);
    free(buf);
    if (err != HV_OK)
        return hv_cli_report("evidence bundle", err, &e);
    size_t failed = 0;
    err = hv_evidence_verify(b, auth_keys.sign, s_print_item, NULL, &failed, &e);
    char ref[33], at[21];
    hv_ref_hex(b->referral, ref);
    hv_time_format(b->exported_at, at);
    if (err == HV_OK)
        printf("verified: referral %s, %zu %s, %zu signed %s, exported by %s at %s\n", ref,
               b->n_items, S_MESSAGES(b->n_items), b->n_registries, S_REGISTRIES(b->n_registries),
               b->node, at);
    hv_evidence_bundle_free(&b);
    fflush(stdout); /* the items that held come before the one that does not */
    if (err != HV_OK)
        return hv_cli_report("evidence", err, &e);
    return 0;
}

int hv_cli_evidence(const opts *o)
{
    const char *sub = o->cmd->sub;
    if (strcmp(sub, "show") == 0)
        return s_show(o);
    if (strcmp(sub, "export") == 0)
        return s_export(o);
    return s_verify(o);
}
