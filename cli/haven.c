/* haven: the command-line tool for keys, the network registry and sealed
 * envelopes. Later issues add the referral, inbox and operator commands.
 *
 * Exit codes: 0 success; 1 the input was refused (invalid, unsigned,
 * expired, tampered...); 2 usage error; 3 system error (I/O, memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <zmq.h>

#include "hv_audit.h"
#include "hv_client.h"
#include "hv_control.h"
#include "hv_db.h"
#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_file.h"
#include "hv_keys.h"
#include "hv_registry.h"

#include "hv_cli.h"

static const char s_usage[] =
    "usage:\n"
    "  haven keygen --id NODE_ID --out DIR\n"
    "  haven registry sign --authority AUTH.key --in network.json --out network.reg\n"
    "  haven registry verify --authority AUTH.pub [--held-version N] network.reg\n"
    "  haven registry show [--json] network.reg\n"
    "  haven seal --key SENDER.key --authority AUTH.pub --registry network.reg\n"
    "             --to NODE_ID --type TYPE [--referral HEX32] [--ttl SECONDS]\n"
    "             --in PLAINTEXT --out ENVELOPE\n"
    "  haven open --key RECIPIENT.key --authority AUTH.pub --registry network.reg\n"
    "             --in ENVELOPE [--out PLAINTEXT]\n"
    "  haven send --key KEY --authority AUTH.pub --registry network.reg [--store DB]\n"
    "             [--timeout SECONDS] ENVELOPE...\n"
    "  haven recv --key KEY --authority AUTH.pub --registry network.reg [--store DB]\n"
    "             [--count N (0: only notices)] [--timeout SECONDS] [--out DIR]\n"
    "  haven stats --key OPERATOR.key --authority AUTH.pub --registry network.reg\n"
    "             --broker BROKER_ID --endpoint ENDPOINT [--json]\n"
    "  haven deadletters list|show ID|requeue ID|purge ID --key OPERATOR.key --authority AUTH.pub\n"
    "             --registry network.reg --broker BROKER_ID --endpoint ENDPOINT [--json]\n"
    "  haven monitor --key OPERATOR.key --authority AUTH.pub --registry network.reg\n"
    "             --broker BROKER_ID --endpoint EVENTS_ENDPOINT [--country CC]\n"
    "             [--type TYPE] [--event EVENT] [--count N] [--timeout SECONDS] [--json]\n"
    "  haven audit verify AUDIT_LOG\n"
    HV_CLI_WORK_USAGE HV_CLI_STAFF_USAGE
    "exit codes: 0 ok, 1 refused, 2 usage, 3 system error\n";

/* Parses argv; `flags` lists options that take no value. Returns false and
 * prints why on a usage error. */
bool hv_cli_parse(int argc, char **argv, const char *const *allowed, const char *const *flags,
                    opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (o->positional != NULL) {
                fprintf(stderr, "haven: unexpected argument '%s'\n", a);
                return false;
            }
            o->positional = a;
            continue;
        }
        const char *name = a + 2;
        bool known = false, flag = false;
        for (const char *const *k = allowed; *k; k++)
            known = known || strcmp(*k, name) == 0;
        for (const char *const *k = flags; k && *k; k++)
            flag = flag || strcmp(*k, name) == 0;
        if (!known && !flag) {
            fprintf(stderr, "haven: unknown option '%s'\n", a);
            return false;
        }
        if (o->count == (int)(sizeof o->names / sizeof o->names[0]))
            return false;
        o->names[o->count] = name;
        if (flag) {
            o->values[o->count++] = "";
        } else if (i + 1 < argc) {
            o->values[o->count++] = argv[++i];
        } else {
            fprintf(stderr, "haven: option '%s' needs a value\n", a);
            return false;
        }
    }
    return true;
}

const char *hv_cli_opt(const opts *o, const char *name)
{
    for (int i = 0; i < o->count; i++)
        if (strcmp(o->names[i], name) == 0)
            return o->values[i];
    return NULL;
}

/* Returns the option's value, or prints that it is required and NULL. */
static const char *s_need(const opts *o, const char *name)
{
    const char *v = hv_cli_opt(o, name);
    if (v == NULL)
        fprintf(stderr, "haven: option --%s is required\n%s", name, s_usage);
    return v;
}

/* Maps an error to an exit code and prints it with its explanation. */
static int s_report(const char *what, hv_err err, const hv_errmsg *e)
{
    fprintf(stderr, "haven: %s: %s (%s)%s%s\n", what, hv_strerror(err), hv_errname(err),
            e->text[0] ? ": " : "", e->text);
    return err == HV_EIO || err == HV_ENOMEM ? EXIT_SYSTEM : EXIT_REFUSED;
}

/* Reads a whole file, or standard input for "-". */
static hv_err s_read_all(const char *path, uint8_t **out, size_t *len, size_t max)
{
    if (strcmp(path, "-") == 0)
        return hv_file_read_stream(stdin, max, out, len);
    return hv_file_read(path, max, out, len, NULL);
}

static hv_err s_write_all(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (f == NULL)
        return HV_EIO;
    bool ok = fwrite(buf, 1, len, f) == len;
    ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
    return ok ? HV_OK : HV_EIO;
}

static int cmd_keygen(int argc, char **argv)
{
    static const char *const allowed[] = {"id", "out", NULL};
    opts o;
    if (!hv_cli_parse(argc, argv, allowed, NULL, &o) || o.positional != NULL)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    const char *id = s_need(&o, "id"), *dir = s_need(&o, "out");
    if (id == NULL || dir == NULL)
        return EXIT_USAGE;
    hv_errmsg e = {""};
    hv_err err = hv_keys_generate(id, dir, &e);
    if (err != HV_OK)
        return s_report("keygen", err, &e);
    printf("wrote %s/%s.key (secret, mode 0600: keep it on this node)\n", dir, id);
    printf("wrote %s/%s.pub (public keys: give it to the network authority)\n", dir, id);
    return 0;
}

/* Loads the registry named by --registry, verified with --authority. */
static int s_load_registry(const opts *o, hv_registry **reg)
{
    const char *auth = s_need(o, "authority"), *path = s_need(o, "registry");
    if (auth == NULL || path == NULL)
        return EXIT_USAGE;
    hv_errmsg e = {""};
    hv_pubkeys auth_keys;
    hv_err err = hv_keys_load_public(auth, &auth_keys, NULL, &e);
    if (err != HV_OK)
        return s_report("authority key", err, &e);
    err = hv_registry_load_file(path, auth_keys.sign, (uint64_t)time(NULL), 0, reg, &e);
    if (err != HV_OK)
        return s_report("registry refused", err, &e);
    return 0;
}

static void s_print_registry_text(const hv_registry *reg, const char *status)
{
    char t1[21], t2[21];
    hv_time_format(hv_registry_issued_at(reg), t1);
    hv_time_format(hv_registry_expires_at(reg), t2);
    printf("network  %s\nversion  %llu\nissued   %s\nexpires  %s\nstatus   %s\nnodes    %zu\n\n",
           hv_registry_network(reg), (unsigned long long)hv_registry_version(reg), t1, t2,
           status, hv_registry_count(reg));
    printf("%-24s %-9s %-2s %-16s %-20s %s\n", "ID", "ROLE", "CC", "KEY ID", "HOME/ENDPOINT",
           "ORGANISATION");
    uint64_t now = (uint64_t)time(NULL);
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        char kid[17];
        hv_hex(n->keys.key_id, HV_KEY_ID_BYTES, kid);
        printf("%-24s %-9s %-2s %-16s %-20s %s%s\n", n->id, hv_role_name(n->role), n->country,
               kid, n->role == HV_ROLE_BROKER ? n->endpoint_workers : n->home, n->organisation,
               n->revoked ? " [REVOKED]" : hv_node_active(n, now) ? "" : " [NOT VALID NOW]");
        if (n->role != HV_ROLE_PROVIDER)
            continue;
        printf("%-24s services:", "");
        for (unsigned s = 0; s < HV_SVC_COUNT; s++)
            if (n->services & (1u << s))
                printf(" %s", hv_service_name(s));
        printf("; languages:");
        for (unsigned k = 0; k < n->n_languages; k++)
            printf(" %s", n->languages[k]);
        printf("; regions:");
        for (unsigned k = 0; k < n->n_regions; k++)
            printf(" %s%s", n->regions[k], k + 1 < n->n_regions ? "," : "");
        printf("; minors: %s; capacity: %u\n", n->accepts_minors ? "yes" : "no", n->capacity);
    }
}

/* Prints a JSON string with the characters JSON requires escaped. */
static void s_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void s_print_registry_json(const hv_registry *reg, bool verified)
{
    printf("{\"network\":");
    s_json_str(hv_registry_network(reg));
    printf(",\"version\":%llu,\"issued_at\":%llu,\"expires_at\":%llu,\"verified\":%s,\"nodes\":[",
           (unsigned long long)hv_registry_version(reg),
           (unsigned long long)hv_registry_issued_at(reg),
           (unsigned long long)hv_registry_expires_at(reg), verified ? "true" : "false");
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        char kid[17];
        hv_hex(n->keys.key_id, HV_KEY_ID_BYTES, kid);
        printf("%s{\"id\":", i ? "," : "");
        s_json_str(n->id);
        printf(",\"role\":\"%s\",\"country\":\"%s\",\"organisation\":", hv_role_name(n->role),
               n->country);
        s_json_str(n->organisation);
        printf(",\"home\":");
        s_json_str(n->home);
        printf(",\"key_id\":\"%s\",\"revoked\":%s}", kid, n->revoked ? "true" : "false");
    }
    printf("]}\n");
}

static int cmd_registry(int argc, char **argv)
{
    if (argc < 1)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    const char *sub = argv[0];
    static const char *const allowed[] = {"authority", "in", "out", "held-version", NULL};
    static const char *const flags[] = {"json", NULL};
    opts o;
    if (!hv_cli_parse(argc - 1, argv + 1, allowed, flags, &o))
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    hv_errmsg e = {""};
    hv_err err;
    hv_registry *reg = NULL;
    int rc = 0;

    if (strcmp(sub, "sign") == 0) {
        const char *auth = s_need(&o, "authority"), *in = s_need(&o, "in"),
                   *out = s_need(&o, "out");
        if (auth == NULL || in == NULL || out == NULL)
            return EXIT_USAGE;
        hv_keypair *kp = NULL;
        if ((err = hv_keys_load_secret(auth, &kp, NULL, &e)) != HV_OK)
            return s_report("authority key", err, &e);
        if ((err = hv_registry_from_json_file(in, &reg, &e)) != HV_OK) {
            hv_keypair_free(&kp);
            return s_report("registry source refused", err, &e);
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        err = hv_registry_sign(reg, kp, &buf, &len);
        hv_keypair_free(&kp);
        if (err == HV_OK && (err = s_write_all(out, buf, len)) != HV_OK)
            snprintf(e.text, sizeof e.text, "cannot write %s", out);
        free(buf);
        if (err != HV_OK)
            rc = s_report("registry sign", err, &e);
        else
            printf("signed %s: network %s version %llu, %zu nodes -> %s\n", in,
                   hv_registry_network(reg), (unsigned long long)hv_registry_version(reg),
                   hv_registry_count(reg), out);
    } else if (strcmp(sub, "verify") == 0 || strcmp(sub, "show") == 0) {
        bool verify = strcmp(sub, "verify") == 0;
        const char *auth = hv_cli_opt(&o, "authority");
        if (o.positional == NULL || (verify && auth == NULL))
            return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
        uint8_t *buf = NULL;
        size_t len = 0;
        if ((err = s_read_all(o.positional, &buf, &len, HV_REGISTRY_FILE_MAX)) != HV_OK) {
            snprintf(e.text, sizeof e.text, "cannot read %s", o.positional);
            return s_report("registry", err, &e);
        }
        if (auth != NULL) {
            hv_pubkeys auth_keys;
            uint64_t held = 0;
            const char *held_s = hv_cli_opt(&o, "held-version");
            if (held_s != NULL)
                held = strtoull(held_s, NULL, 10);
            err = hv_keys_load_public(auth, &auth_keys, NULL, &e);
            if (err == HV_OK)
                err = hv_registry_load(buf, len, auth_keys.sign, (uint64_t)time(NULL), held, &reg,
                                       &e);
        } else {
            err = hv_registry_decode_unverified(buf, len, &reg, &e);
        }
        free(buf);
        if (err != HV_OK) {
            rc = s_report(verify ? "registry refused" : "registry", err, &e);
        } else if (verify) {
            char t[21];
            hv_time_format(hv_registry_expires_at(reg), t);
            printf("%s: valid: network %s version %llu, %zu nodes, signed by the authority, "
                   "expires %s\n",
                   o.positional, hv_registry_network(reg),
                   (unsigned long long)hv_registry_version(reg), hv_registry_count(reg), t);
        } else if (hv_cli_opt(&o, "json") != NULL) {
            s_print_registry_json(reg, auth != NULL);
        } else {
            s_print_registry_text(reg, auth != NULL ? "signature verified"
                                                    : "signature NOT checked (use verify)");
        }
    } else {
        fprintf(stderr, "haven: unknown registry command '%s'\n%s", sub, s_usage);
        return EXIT_USAGE;
    }
    hv_registry_free(&reg);
    return rc;
}

static int cmd_seal(int argc, char **argv)
{
    static const char *const allowed[] = {"key", "authority", "registry", "to", "type",
                                          "referral", "ttl", "in", "out", NULL};
    opts o;
    if (!hv_cli_parse(argc, argv, allowed, NULL, &o) || o.positional != NULL)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    const char *key = s_need(&o, "key"), *to = s_need(&o, "to"), *type_s = s_need(&o, "type"),
               *in = s_need(&o, "in"), *out = s_need(&o, "out");
    if (key == NULL || to == NULL || type_s == NULL || in == NULL || out == NULL)
        return EXIT_USAGE;
    unsigned type = hv_msg_type_from_name(type_s);
    if (type == 0) {
        fprintf(stderr, "haven: unknown message type '%s'\n", type_s);
        return EXIT_USAGE;
    }
    hv_registry *reg = NULL;
    int rc = s_load_registry(&o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_keypair *kp = NULL;
    char self[HV_NODE_ID_MAX + 1];
    uint8_t *pt = NULL, *wire = NULL;
    size_t pt_len = 0, wire_len = 0;
    hv_err err = hv_keys_load_secret(key, &kp, self, &e);
    if (err != HV_OK) {
        rc = s_report("key", err, &e);
        goto done;
    }
    const hv_node *from = hv_registry_find(reg, self), *rcpt = hv_registry_find(reg, to);
    if (from == NULL || rcpt == NULL || !hv_node_active(rcpt, (uint64_t)time(NULL))) {
        snprintf(e.text, sizeof e.text, "node '%s' is not an active node of the registry",
                 from == NULL ? self : to);
        rc = s_report("seal", HV_ENOTFOUND, &e);
        goto done;
    }
    if ((err = s_read_all(in, &pt, &pt_len, HV_PLAINTEXT_MAX)) != HV_OK) {
        snprintf(e.text, sizeof e.text, "cannot read %s", in);
        rc = s_report("seal", err, &e);
        goto done;
    }
    hv_envelope env;
    hv_envelope_init(&env, type, self, hv_keypair_public(kp), to, &rcpt->keys);
    const char *ref = hv_cli_opt(&o, "referral"), *ttl = hv_cli_opt(&o, "ttl");
    if (ref == NULL)
        hv_random(env.referral, sizeof env.referral);
    else if (hv_unhex(ref, env.referral, sizeof env.referral) != HV_OK) {
        fprintf(stderr, "haven: --referral must be 32 hex digits\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (ttl != NULL)
        env.ttl_s = (uint32_t)strtoul(ttl, NULL, 10);
    if ((err = hv_envelope_seal(&env, kp, &rcpt->keys, pt, pt_len, &wire, &wire_len)) != HV_OK ||
        (err = s_write_all(out, wire, wire_len)) != HV_OK) {
        rc = s_report("seal", err, &e);
        goto done;
    }
    char id[33];
    hv_hex(env.id, sizeof env.id, id);
    fprintf(stderr, "sealed %s %s -> %s: id %s, %zu bytes plaintext, %zu bytes envelope\n",
            type_s, self, to, id, pt_len, wire_len);
done:
    if (pt != NULL)
        hv_memzero(pt, pt_len);
    free(pt);
    free(wire);
    hv_keypair_free(&kp);
    hv_registry_free(&reg);
    return rc;
}

static int cmd_open(int argc, char **argv)
{
    static const char *const allowed[] = {"key", "authority", "registry", "in", "out", NULL};
    opts o;
    if (!hv_cli_parse(argc, argv, allowed, NULL, &o) || o.positional != NULL)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    const char *key = s_need(&o, "key"), *in = s_need(&o, "in");
    const char *out = hv_cli_opt(&o, "out") ? hv_cli_opt(&o, "out") : "-";
    if (key == NULL || in == NULL)
        return EXIT_USAGE;
    hv_registry *reg = NULL;
    int rc = s_load_registry(&o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_keypair *kp = NULL;
    char self[HV_NODE_ID_MAX + 1];
    uint8_t *wire = NULL, *pt = NULL;
    size_t wire_len = 0, pt_len = 0;
    hv_envelope env;
    hv_err err = hv_keys_load_secret(key, &kp, self, &e);
    if (err != HV_OK) {
        rc = s_report("key", err, &e);
        goto done;
    }
    if ((err = s_read_all(in, &wire, &wire_len, HV_ENVELOPE_MAX)) != HV_OK ||
        (err = hv_envelope_decode(wire, wire_len, &env)) != HV_OK) {
        snprintf(e.text, sizeof e.text, "%s is not a valid envelope", in);
        rc = s_report("open", err, &e);
        goto done;
    }
    const hv_node *sender = hv_registry_find(reg, env.from);
    if (sender == NULL) {
        snprintf(e.text, sizeof e.text, "sender '%s' is not in the registry", env.from);
        rc = s_report("open", HV_ENOTFOUND, &e);
        goto done;
    }
    if ((err = hv_envelope_open(&env, self, kp, sender->keys.sign, &pt, &pt_len)) != HV_OK ||
        (err = s_write_all(out, pt, pt_len)) != HV_OK) {
        rc = s_report("open", err, &e);
        goto done;
    }
    fprintf(stderr, "opened %s from %s: signature and MAC verified, %zu bytes plaintext\n",
            hv_msg_rule_get(env.type)->name, env.from, pt_len);
done:
    if (pt != NULL)
        hv_memzero(pt, pt_len);
    free(pt);
    free(wire);
    hv_keypair_free(&kp);
    hv_registry_free(&reg);
    return rc;
}

/* Opens a broker client for the node whose key is --key, at its home
 * broker as the registry names it. */
static int s_client(const opts *o, hv_registry **reg, hv_keypair **kp, char *self,
                    hv_client **client)
{
    const char *key = s_need(o, "key");
    if (key == NULL)
        return EXIT_USAGE;
    int rc = s_load_registry(o, reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_err err = hv_keys_load_secret(key, kp, self, &e);
    if (err != HV_OK)
        return s_report("key", err, &e);
    const hv_node *me = hv_registry_find(*reg, self);
    const hv_node *home = me ? hv_registry_find(*reg, me->home) : NULL;
    if (home == NULL) {
        snprintf(e.text, sizeof e.text, "node '%s' has no home broker in the registry", self);
        return s_report("connect", HV_ENOTFOUND, &e);
    }
    char store[4096];
    const char *store_opt = hv_cli_opt(o, "store");
    snprintf(store, sizeof store, "%s", store_opt ? store_opt : "");
    if (store_opt == NULL)
        snprintf(store, sizeof store, "haven-%s.db", self);
    hv_client_config cfg = {.node_id = self, .keys = *kp, .endpoint = home->endpoint_workers,
                            .store_path = store};
    memcpy(cfg.broker_transport_pk, home->keys.transport, 32);
    if ((err = hv_client_open(client, &cfg, &e)) != HV_OK)
        return s_report("connect", err, &e);
    return 0;
}

static int s_timeout_ms(const opts *o, int fallback_s)
{
    const char *t = hv_cli_opt(o, "timeout");
    double s = t ? atof(t) : fallback_s;
    return s > 0 ? (int)(s * 1000) : fallback_s * 1000;
}

static int cmd_send(int argc, char **argv)
{
    static const char *const allowed[] = {"key", "authority", "registry", "store", "timeout",
                                          NULL};
    opts o;
    memset(&o, 0, sizeof o);
    /* Several positional arguments: split them off first. */
    char *files[256];
    int n_files = 0, n_opts = 0;
    char *optv[32];
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 && n_opts + 2 <= 32) {
            optv[n_opts++] = argv[i];
            if (i + 1 < argc)
                optv[n_opts++] = argv[++i];
        } else if (n_files < 256) {
            files[n_files++] = argv[i];
        }
    }
    if (!hv_cli_parse(n_opts, optv, allowed, NULL, &o) || n_files == 0)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    hv_registry *reg = NULL;
    hv_keypair *kp = NULL;
    hv_client *client = NULL;
    char self[HV_NODE_ID_MAX + 1] = "";
    int rc = s_client(&o, &reg, &kp, self, &client);
    hv_errmsg e = {""};
    for (int i = 0; rc == 0 && i < n_files; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        hv_err err = s_read_all(files[i], &buf, &len, HV_ENVELOPE_MAX);
        if (err == HV_OK)
            err = hv_client_send(client, buf, len);
        free(buf);
        if (err != HV_OK) {
            snprintf(e.text, sizeof e.text, "%s", files[i]);
            rc = s_report("send", err, &e);
        }
    }
    /* Wait until the broker has every envelope in custody. */
    int64_t deadline = hv_mono_ms() + s_timeout_ms(&o, 30);
    while (rc == 0 && hv_client_outbox_size(client) > 0 && hv_mono_ms() < deadline)
        if (hv_client_poll(client, 100) != HV_OK)
            rc = EXIT_SYSTEM;
    hv_notice n;
    while (client != NULL && hv_client_notice(client, &n)) {
        char id[33];
        hv_hex(n.id, 16, id);
        fprintf(stderr, "haven: refused %s: %s (%s)\n", id, n.text, hv_errname(n.code));
        rc = EXIT_REFUSED;
    }
    size_t left = client ? hv_client_outbox_size(client) : 0;
    if (rc == 0 && left > 0) {
        fprintf(stderr, "haven: %zu envelope(s) not yet stored by the broker; they stay in the "
                "outbox and go out on the next run\n", left);
        rc = EXIT_REFUSED;
    } else if (rc == 0) {
        printf("%d envelope(s) stored by %s's broker\n", n_files, self);
    }
    hv_client_close(&client);
    hv_keypair_free(&kp);
    hv_registry_free(&reg);
    return rc;
}

/* Prints what the broker reported about this node's messages: refusals by
 * their recipients, expiries. */
static void s_print_notices(hv_client *client)
{
    hv_notice n;
    while (client != NULL && hv_client_notice(client, &n)) {
        char id[33];
        hv_hex(n.id, 16, id);
        printf("notice: message %s: %s (%s)\n", id, n.text, hv_errname(n.code));
    }
}

static int cmd_recv(int argc, char **argv)
{
    static const char *const allowed[] = {"key", "authority", "registry", "store", "timeout",
                                          "count", "out", NULL};
    opts o;
    if (!hv_cli_parse(argc, argv, allowed, NULL, &o) || o.positional != NULL)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    long count = hv_cli_opt(&o, "count") ? atol(hv_cli_opt(&o, "count")) : 1;
    const char *dir = hv_cli_opt(&o, "out");
    hv_registry *reg = NULL;
    hv_keypair *kp = NULL;
    hv_client *client = NULL;
    char self[HV_NODE_ID_MAX + 1] = "";
    int rc = s_client(&o, &reg, &kp, self, &client);
    long got = 0;
    int64_t deadline = hv_mono_ms() + s_timeout_ms(&o, 10);
    /* --count 0 listens until the timeout, for notices only. */
    while (rc == 0 && (got < count || count == 0)) {
        int64_t left = deadline - hv_mono_ms();
        hv_delivery *d = NULL;
        hv_err err = left > 0 ? hv_client_recv(client, (int)(left < 100 ? left : 100), &d)
                              : HV_ETIMEOUT;
        s_print_notices(client);
        if (err == HV_ETIMEOUT && left > 100)
            continue;
        if (err == HV_ETIMEOUT)
            break;
        if (err != HV_OK) {
            rc = EXIT_SYSTEM;
            break;
        }
        char id[33];
        hv_hex(d->env.id, 16, id);
        if (dir != NULL) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.env", dir, id);
            if (s_write_all(path, d->bytes, d->len) != HV_OK) {
                fprintf(stderr, "haven: cannot write %s\n", path);
                hv_delivery_free(&d); /* unanswered: delivered again next time */
                rc = EXIT_SYSTEM;
                break;
            }
        }
        printf("received %s from %s id %s (%zu bytes, attempt %u)\n",
               hv_msg_rule_get(d->env.type)->name, d->env.from, id, d->len, d->attempt);
        if (hv_client_ack(client, &d) != HV_OK) {
            rc = EXIT_SYSTEM;
            break;
        }
        got++;
    }
    if (client != NULL && hv_client_flush(client) != HV_OK)
        rc = EXIT_SYSTEM;
    if (rc == 0 && got < count) {
        fprintf(stderr, "haven: received %ld of %ld before the timeout\n", got, count);
        rc = EXIT_REFUSED;
    }
    hv_client_close(&client);
    hv_keypair_free(&kp);
    hv_registry_free(&reg);
    return rc;
}

/* Prints a broker's snapshot for people. */
static void s_print_stats(json_t *r)
{
    int64_t now = json_integer_value(json_object_get(r, "now_ms"));
    int64_t up = (now - json_integer_value(json_object_get(r, "started_ms"))) / 1000;
    json_t *st = json_object_get(r, "store"), *c = json_object_get(r, "counters");
    printf("%s (%s), up %lldh%02lldm%02llds, registry v%lld\n",
           json_string_value(json_object_get(r, "broker")),
           json_string_value(json_object_get(r, "country")), (long long)(up / 3600),
           (long long)(up / 60 % 60), (long long)(up % 60),
           (long long)json_integer_value(json_object_get(r, "registry_version")));
    printf("queued %lld, dead letters %lld, notices waiting %lld\n",
           (long long)json_integer_value(json_object_get(st, "queued")),
           (long long)json_integer_value(json_object_get(st, "dead_letters")),
           (long long)json_integer_value(json_object_get(st, "notices")));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(r, "queues"), key, v)
        printf("  %-24s %lld waiting\n", key, (long long)json_integer_value(v));
    printf("since start: stored %lld, delivered %lld, acked %lld, forwarded %lld, refused %lld, "
           "redelivered %lld, expired %lld\n",
           (long long)json_integer_value(json_object_get(c, "stored")),
           (long long)json_integer_value(json_object_get(c, "delivered")),
           (long long)json_integer_value(json_object_get(c, "acked")),
           (long long)json_integer_value(json_object_get(c, "forwarded")),
           (long long)json_integer_value(json_object_get(c, "refused")),
           (long long)json_integer_value(json_object_get(c, "redelivered")),
           (long long)json_integer_value(json_object_get(c, "expired")));
    json_t *rates = json_object_get(r, "rates_per_s"), *pct = json_object_get(r,
                                                                             "ack_latency_ms_at_most");
    printf("last %.0f s: %.1f stored/s, %.1f delivered/s, %.1f acked/s\n",
           json_real_value(json_object_get(rates, "window_s")),
           json_real_value(json_object_get(rates, "stored")),
           json_real_value(json_object_get(rates, "delivered")),
           json_real_value(json_object_get(rates, "acked")));
    if (json_is_real(json_object_get(pct, "p50")))
        printf("ack latency: p50 <= %g ms, p90 <= %g ms, p99 <= %g ms\n",
               json_real_value(json_object_get(pct, "p50")),
               json_is_real(json_object_get(pct, "p90")) ? json_real_value(json_object_get(pct, "p90")) : -1,
               json_is_real(json_object_get(pct, "p99")) ? json_real_value(json_object_get(pct, "p99")) : -1);
    size_t i;
    printf("peers:\n");
    json_array_foreach(json_object_get(r, "peers"), i, v)
        printf("  %-12s %s  link out %s, link in %s, %lld queued for it, %lld in flight\n",
               json_string_value(json_object_get(v, "node")),
               json_string_value(json_object_get(v, "country")),
               json_is_true(json_object_get(v, "out_up")) ? "UP" : "DOWN",
               json_is_true(json_object_get(v, "in_up")) ? "up" : "down",
               (long long)json_integer_value(json_object_get(v, "queued")),
               (long long)json_integer_value(json_object_get(v, "in_flight")));
    printf("connected nodes:\n");
    json_array_foreach(json_object_get(r, "sessions"), i, v)
        printf("  %-16s %-8s %s  %lld in flight of %lld\n",
               json_string_value(json_object_get(v, "node")),
               json_string_value(json_object_get(v, "role")),
               json_string_value(json_object_get(v, "country")),
               (long long)json_integer_value(json_object_get(v, "in_flight")),
               (long long)json_integer_value(json_object_get(v, "window")));
}

/* Opens a ZeroMQ socket of `type` to a broker's operators' endpoint
 * (--endpoint) as the operator node whose key is --key: CurveZMQ, pinned
 * to the registered key of --broker, connected. The caller closes
 * `*sock` and terminates `*ctx`. Returns an exit code. */
static int s_operator_socket(const opts *o, int type, void **ctx, void **sock)
{
    *ctx = *sock = NULL;
    const char *key = s_need(o, "key"), *broker = s_need(o, "broker"),
               *endpoint = s_need(o, "endpoint");
    if (key == NULL || broker == NULL || endpoint == NULL)
        return EXIT_USAGE;
    hv_registry *reg = NULL;
    hv_keypair *kp = NULL;
    int rc = s_load_registry(o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_err err = hv_keys_load_secret(key, &kp, NULL, &e);
    const hv_node *b = hv_registry_find(reg, broker);
    if (err != HV_OK) {
        rc = s_report("key", err, &e);
    } else if (b == NULL || b->role != HV_ROLE_BROKER) {
        snprintf(e.text, sizeof e.text, "'%s' is not a broker of the registry", broker);
        rc = s_report("operators", HV_ENOTFOUND, &e);
    }
    if (rc == 0) {
        char server[HV_Z85_KEY_LEN + 1], public[HV_Z85_KEY_LEN + 1],
            secret[HV_Z85_KEY_LEN + 1];
        hv_z85_key(b->keys.transport, server);
        hv_z85_key(hv_keypair_public(kp)->transport, public);
        hv_keypair_transport_secret_z85(kp, secret);
        *ctx = zmq_ctx_new();
        *sock = zmq_socket(*ctx, type);
        int zero = 0;
        zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(*sock, ZMQ_CURVE_SERVERKEY, server, HV_Z85_KEY_LEN);
        zmq_setsockopt(*sock, ZMQ_CURVE_PUBLICKEY, public, HV_Z85_KEY_LEN);
        zmq_setsockopt(*sock, ZMQ_CURVE_SECRETKEY, secret, HV_Z85_KEY_LEN);
        hv_memzero(secret, sizeof secret);
        if (zmq_connect(*sock, endpoint) != 0) {
            fprintf(stderr, "haven: cannot connect to %s\n", endpoint);
            zmq_close(*sock);
            zmq_ctx_term(*ctx);
            *ctx = *sock = NULL;
            rc = EXIT_SYSTEM;
        }
    }
    hv_keypair_free(&kp);
    hv_registry_free(&reg);
    return rc;
}

/* Sends one request to a broker's operators' endpoint as an operator node
 * (CurveZMQ, pinned to the broker's registered key) and returns the JSON
 * answer in `*reply`. Returns an exit code. */
static int s_ops_call(const opts *o, const char *cmd, json_t *args, json_t **reply)
{
    *reply = NULL;
    void *ctx, *sock;
    int rc = s_operator_socket(o, ZMQ_DEALER, &ctx, &sock);
    if (rc != 0)
        return rc;
    const char *broker = hv_cli_opt(o, "broker"), *endpoint = hv_cli_opt(o, "endpoint");
    int timeout = s_timeout_ms(o, 5);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    json_t *req = json_pack("{s:s, s:O}", "cmd", cmd, "args", args);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (text == NULL || zmq_send(sock, text, strlen(text), 0) < 0) {
        fprintf(stderr, "haven: cannot reach %s\n", endpoint);
        rc = EXIT_SYSTEM;
    } else if (zmq_msg_recv(&msg, sock, 0) < 0) {
        fprintf(stderr, "haven: no answer from %s within %d ms (not an operator of the "
                "registry, or the broker has no operators' endpoint there)\n", endpoint,
                timeout);
        rc = EXIT_SYSTEM;
    } else if ((*reply = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, NULL)) == NULL) {
        fprintf(stderr, "haven: unreadable answer from %s\n", endpoint);
        rc = EXIT_REFUSED;
    } else if (json_object_get(*reply, "error") != NULL) {
        fprintf(stderr, "haven: %s: %s\n", broker,
                json_string_value(json_object_get(*reply, "error")));
        rc = EXIT_REFUSED;
    }
    free(text);
    zmq_msg_close(&msg);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

static const char *const s_ops_allowed[] = {"key", "authority", "registry", "broker",
                                            "endpoint", "timeout", NULL};
static const char *const s_json_flag[] = {"json", NULL};

/* haven stats: a broker's snapshot, for operators. */
static int cmd_stats(int argc, char **argv)
{
    opts o;
    if (!hv_cli_parse(argc, argv, s_ops_allowed, s_json_flag, &o) || o.positional != NULL)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    json_t *args = json_object(), *reply = NULL;
    int rc = s_ops_call(&o, "stats", args, &reply);
    json_decref(args);
    if (rc == 0 && hv_cli_opt(&o, "json") != NULL) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
    } else if (rc == 0) {
        s_print_stats(reply);
    }
    json_decref(reply);
    return rc;
}

/* haven deadletters list | requeue ID | purge ID: a broker's dead letters
 * (metadata only), for operators; every action is recorded at the broker. */
static int cmd_deadletters(int argc, char **argv)
{
    if (argc < 1)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    const char *sub = argv[0];
    opts o;
    if (!hv_cli_parse(argc - 1, argv + 1, s_ops_allowed, s_json_flag, &o))
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    bool show = strcmp(sub, "show") == 0;
    bool list = strcmp(sub, "list") == 0 || show;
    if ((!list && strcmp(sub, "requeue") != 0 && strcmp(sub, "purge") != 0) ||
        ((strcmp(sub, "list") == 0) != (o.positional == NULL)))
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    json_t *args = list ? json_object() : json_pack("{s:s}", "id", o.positional), *reply = NULL;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "dead.%s", list ? "list" : sub);
    int rc = s_ops_call(&o, cmd, args, &reply);
    json_decref(args);
    if (rc == 0 && show) {
        /* One dead letter's whole metadata, found in the listing. */
        size_t i;
        json_t *d, *found = NULL;
        json_array_foreach(json_object_get(reply, "dead_letters"), i, d)
            if (strcmp(json_string_value(json_object_get(d, "id")), o.positional) == 0)
                found = d;
        if (found == NULL) {
            fprintf(stderr, "haven: no dead letter %s\n", o.positional);
            rc = EXIT_REFUSED;
        } else {
            json_dumpf(found, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("\n");
        }
    } else if (rc == 0 && hv_cli_opt(&o, "json") != NULL) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
    } else if (rc == 0 && list) {
        size_t i;
        json_t *d;
        printf("%-32s  %-16s %-14s -> %-14s %-14s %s\n", "MESSAGE", "TYPE", "SENDER",
               "RECIPIENT", "CODE", "DIED");
        json_array_foreach(json_object_get(reply, "dead_letters"), i, d)
            printf("%-32s  %-16s %-14s -> %-14s %-14s %s\n    %s\n",
                   json_string_value(json_object_get(d, "id")),
                   json_string_value(json_object_get(d, "type")),
                   json_string_value(json_object_get(d, "sender")),
                   json_string_value(json_object_get(d, "recipient")),
                   json_string_value(json_object_get(d, "code")),
                   json_string_value(json_object_get(d, "died")),
                   json_string_value(json_object_get(d, "reason")));
    } else if (rc == 0) {
        printf("%s %s\n", json_string_value(json_object_get(reply, "id")),
               json_string_value(json_object_get(reply, "result")));
    }
    json_decref(reply);
    return rc;
}

/* haven monitor: a live tail of a broker's events, for operators. */
static int cmd_monitor(int argc, char **argv)
{
    static const char *const allowed[] = {"key", "authority", "registry", "broker", "endpoint",
                                          "country", "type", "event", "count", "timeout", NULL};
    static const char *const flags[] = {"json", NULL};
    opts o;
    if (!hv_cli_parse(argc, argv, allowed, flags, &o) || o.positional != NULL)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    const char *country = hv_cli_opt(&o, "country"), *type = hv_cli_opt(&o, "type"),
               *event = hv_cli_opt(&o, "event");
    long count = hv_cli_opt(&o, "count") ? atol(hv_cli_opt(&o, "count")) : 0;
    void *ctx, *sock;
    int rc = s_operator_socket(&o, ZMQ_SUB, &ctx, &sock);
    if (rc != 0)
        return rc;
    zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0);
    bool json_out = hv_cli_opt(&o, "json") != NULL;
    int64_t deadline = hv_cli_opt(&o, "timeout") ? hv_mono_ms() + s_timeout_ms(&o, 0) : 0;
    long shown = 0;
    while (rc == 0 && (count == 0 || shown < count) && (deadline == 0 || hv_mono_ms() < deadline)) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        json_t *ev = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, NULL);
        const char *f_ev = json_string_value(json_object_get(ev, "event"));
        if (f_ev != NULL && strcmp(f_ev, "welcome") == 0) {
            /* Connected; our subscription went out first, and takes effect
             * when the broker reads it. */
            const char *from = json_string_value(json_object_get(ev, "broker"));
            fprintf(stderr, "haven: watching the events of %s\n", from ? from : "the broker");
            json_decref(ev);
            zmq_msg_close(&msg);
            continue;
        }
        const char *f_type = json_string_value(json_object_get(ev, "type"));
        const char *f_from = json_string_value(json_object_get(ev, "from"));
        const char *f_to = json_string_value(json_object_get(ev, "to"));
        bool match = ev != NULL && f_ev != NULL && f_type != NULL && f_from != NULL &&
                     f_to != NULL && (event == NULL || strcmp(event, f_ev) == 0) &&
                     (type == NULL || strcmp(type, f_type) == 0) &&
                     (country == NULL || strcmp(country, f_from) == 0 ||
                      strcmp(country, f_to) == 0);
        if (match && json_out) {
            printf("%.*s\n", (int)zmq_msg_size(&msg), (const char *)zmq_msg_data(&msg));
        } else if (match) {
            int64_t at = json_integer_value(json_object_get(ev, "at_ms"));
            time_t t = (time_t)(at / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            int64_t lat = json_integer_value(json_object_get(ev, "latency_ms"));
            const char *code = json_string_value(json_object_get(ev, "code"));
            char extra[64] = "";
            if (lat >= 0)
                snprintf(extra, sizeof extra, "  %lld ms", (long long)lat);
            if (code != NULL && code[0] != '\0')
                snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "  %s", code);
            printf("%02d:%02d:%02d.%03d  %-11s %-17s %2s -> %-2s %7lld B%s\n", tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (int)(at % 1000), f_ev, f_type, f_from, f_to,
                   (long long)json_integer_value(json_object_get(ev, "bytes")), extra);
        }
        fflush(stdout);
        if (match)
            shown++;
        json_decref(ev);
        zmq_msg_close(&msg);
    }
    if (rc == 0 && count > 0 && shown < count) {
        fprintf(stderr, "haven: %ld of %ld events before the timeout\n", shown, count);
        rc = EXIT_REFUSED;
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

/* haven audit verify FILE: checks a node's audit log, record by record. */
static int cmd_audit(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "verify") != 0)
        return fprintf(stderr, "%s", s_usage), EXIT_USAGE;
    uint8_t *text = NULL;
    size_t len = 0;
    hv_errmsg e = {""};
    hv_err err = hv_file_read(argv[1], 1024u * 1024 * 1024, &text, &len, &e);
    if (err != HV_OK)
        return s_report(argv[1], err, &e);
    hv_audit_result r;
    err = hv_audit_verify((const char *)text, len, &r);
    free(text);
    if (err == HV_OK) {
        printf("%s: %llu records, chain intact\n", argv[1], (unsigned long long)r.records);
        return 0;
    }
    printf("%s:%llu: broken: %s (%llu records before it are intact)\n", argv[1],
           (unsigned long long)r.broken_line, r.why, (unsigned long long)r.records);
    return EXIT_REFUSED;
}

int main(int argc, char **argv)
{
    if (hv_crypto_init() != HV_OK) {
        fprintf(stderr, "haven: cannot initialise libsodium\n");
        return EXIT_SYSTEM;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "%s", s_usage);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(cmd, "registry") == 0)
        return cmd_registry(argc - 2, argv + 2);
    if (strcmp(cmd, "seal") == 0)
        return cmd_seal(argc - 2, argv + 2);
    if (strcmp(cmd, "open") == 0)
        return cmd_open(argc - 2, argv + 2);
    if (strcmp(cmd, "send") == 0)
        return cmd_send(argc - 2, argv + 2);
    if (strcmp(cmd, "recv") == 0)
        return cmd_recv(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit(argc - 2, argv + 2);
    if (strcmp(cmd, "deadletters") == 0)
        return cmd_deadletters(argc - 2, argv + 2);
    if (strcmp(cmd, "monitor") == 0)
        return cmd_monitor(argc - 2, argv + 2);
    if (strcmp(cmd, "referral") == 0 || strcmp(cmd, "inbox") == 0 ||
        strcmp(cmd, "pathway") == 0 || strcmp(cmd, "status") == 0)
        return hv_cli_work(cmd, argc - 2, argv + 2);
    if (strcmp(cmd, "staff") == 0 || strcmp(cmd, "web") == 0) /* haven-web (cli/hv_cli_staff.c) */
        return cmd[0] == 's' ? hv_cli_staff(argc - 2, argv + 2) : hv_cli_web(argc - 2, argv + 2);
    fprintf(stderr, "haven: unknown command '%s'\n%s", cmd, s_usage);
    return EXIT_USAGE;
}
