/* haven's commands for keys, the network registry, sealed envelopes, the
 * broker client (send, recv) and audit logs. The catalogue of every command
 * and main() are in hv_cli_cmds.c; exit codes in hv_cli.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <zmq.h>

#include "hv_client.h"
#include "hv_control.h"
#include "hv_db.h"
#include "hv_crypto.h"
#include "hv_envelope.h"
#include "hv_file.h"
#include "hv_keys.h"
#include "hv_registry.h"
#include "hv_registry_expiry.h"
#include "hv_registry_held.h"

#include "hv_cli.h"
#include "hv_msg.h"

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

/* keygen --prune: rewrites DIR/ID.key without the sets the registry says
 * are spent (hv_keyring_spent), and says which. */
static int s_keygen_prune(const opts *o, const char *id, const char *dir)
{
    hv_registry *reg = NULL;
    int rc = hv_cli_load_registry(o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    char path[4096], owner[HV_NODE_ID_MAX + 1];
    snprintf(path, sizeof path, "%s/%s.key", dir, id);
    hv_keyring *ring = NULL;
    hv_err err = hv_keys_load_ring(path, &ring, owner, &e);
    const hv_node *node = hv_registry_find(reg, id);
    if (err == HV_OK && (strcmp(owner, id) != 0 || node == NULL))
        err = hv_fail(&e, HV_ENOTFOUND, "%s", strcmp(owner, id) != 0
                      ? "the key file holds another node's keys"
                      : "the registry does not list this node");
    if (err == HV_OK && hv_keyring_current(ring, node) == NULL)
        err = hv_fail(&e, HV_EAUTH, "%s does not hold the keys the registry calls current for "
                      "%s: nothing is pruned", path, id);
    if (err != HV_OK) {
        rc = hv_cli_report("keygen", err, &e);
        goto done;
    }
    uint64_t now = (uint64_t)time(NULL);
    int pruned = 0;
    for (size_t i = hv_keyring_count(ring); i-- > 0;) {
        if (!hv_keyring_spent(ring, i, node, now))
            continue;
        uint8_t kid[HV_KEY_ID_BYTES];
        char hex[2 * HV_KEY_ID_BYTES + 1];
        memcpy(kid, hv_keypair_public(hv_keyring_at(ring, i))->key_id, sizeof kid);
        hv_hex(kid, sizeof kid, hex);
        hv_keyring_drop(ring, kid);
        printf("destroyed key set %s\n", hex);
        pruned++;
    }
    if (pruned > 0 && (err = hv_keys_write_ring(path, id, ring, &e)) != HV_OK)
        rc = hv_cli_report("keygen", err, &e);
    else if (pruned == 0)
        printf("%s holds no spent key set\n", path);
done:
    hv_keyring_free(&ring);
    hv_registry_free(&reg);
    return rc;
}

int hv_cli_keygen(const opts *o)
{
    const char *id = hv_cli_need(o, "id"), *dir = hv_cli_need(o, "out");
    if (id == NULL || dir == NULL)
        return EXIT_USAGE;
    hv_errmsg e = {""};
    if (hv_cli_opt(o, "prune") != NULL)
        return s_keygen_prune(o, id, dir);
    if (hv_cli_opt(o, "rotate") != NULL) {
        hv_pubkeys next;
        hv_err err = hv_keys_rotate(id, dir, &next, &e);
        if (err != HV_OK)
            return hv_cli_report("keygen", err, &e);
        char kid[2 * HV_KEY_ID_BYTES + 1];
        hv_hex(next.key_id, HV_KEY_ID_BYTES, kid);
        printf("added key set %s to %s/%s.key (the current keys stay until the registry "
               "switches)\n", kid, dir, id);
        printf("wrote %s/%s.next.pub (give it to the network authority as next_keys)\n", dir,
               id);
        return 0;
    }
    hv_err err = hv_keys_generate(id, dir, &e);
    if (err != HV_OK)
        return hv_cli_report("keygen", err, &e);
    printf("wrote %s/%s.key (secret, mode 0600: keep it on this node)\n", dir, id);
    printf("wrote %s/%s.pub (public keys: give it to the network authority)\n", dir, id);
    return 0;
}

/* Loads the registry named by --registry, verified with --authority. */
int hv_cli_load_registry(const opts *o, hv_registry **reg)
{
    const char *auth = hv_cli_need(o, "authority"), *path = hv_cli_need(o, "registry");
    if (auth == NULL || path == NULL)
        return EXIT_USAGE;
    hv_errmsg e = {""};
    hv_pubkeys auth_keys;
    hv_err err = hv_keys_load_public(auth, &auth_keys, NULL, &e);
    if (err != HV_OK)
        return hv_cli_report("authority key", err, &e);
    err = hv_registry_load_file(path, auth_keys.sign, (uint64_t)time(NULL), 0, reg, &e);
    if (err != HV_OK)
        return hv_cli_report("registry refused", err, &e);
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
    static const char *const head[] = {"ID", "ROLE", "CC", "KEY ID", "HOME/ENDPOINT",
                                       "ORGANISATION", "VALID"};
    hv_cli_table *t = hv_cli_table_new(7, head);
    uint64_t now = (uint64_t)time(NULL);
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        char kid[17];
        hv_hex(n->keys.key_id, HV_KEY_ID_BYTES, kid);
        const char *row[] = {n->id, hv_role_name(n->role), n->country, kid,
                             n->role == HV_ROLE_BROKER ? n->endpoint_workers : n->home,
                             n->organisation,
                             n->revoked ? "REVOKED" : hv_node_active(n, now) ? "yes" : "NOT NOW"};
        hv_cli_table_add(t, row);
    }
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
    /* What each provider offers, under the table. */
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        if (n->role != HV_ROLE_PROVIDER)
            continue;
        printf("%s: services", n->id);
        for (unsigned s = 0; s < HV_SVC_COUNT; s++)
            if (n->services & (1u << s))
                printf(" %s", hv_service_name(s));
        printf("; languages");
        for (unsigned k = 0; k < n->n_languages; k++)
            printf(" %s", n->languages[k]);
        printf("; regions");
        for (unsigned k = 0; k < n->n_regions; k++)
            printf(" %s%s", n->regions[k], k + 1 < n->n_regions ? "," : "");
        printf("; minors %s; capacity %u\n", n->accepts_minors ? "yes" : "no", n->capacity);
    }
    /* Key rotations under way, and operators' scopes. */
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        char kid[17], until[21];
        if (n->has_next) {
            hv_hex(n->next_keys.key_id, HV_KEY_ID_BYTES, kid);
            printf("%s: next keys %s\n", n->id, kid);
        }
        if (n->has_previous) {
            hv_hex(n->previous_keys.key_id, HV_KEY_ID_BYTES, kid);
            hv_time_format(n->previous_until, until);
            printf("%s: previous keys %s honoured until %s\n", n->id, kid, until);
        }
        if (n->n_scope > 0) {
            printf("%s: may also act in", n->id);
            for (unsigned k = 0; k < n->n_scope; k++)
                printf(" %s", strcmp(n->scope[k], "*") == 0 ? "every country" : n->scope[k]);
            printf("\n");
        }
    }
}

static void s_print_registry_json(const hv_registry *reg, bool verified)
{
    printf("{\"network\":");
    hv_cli_print_json_string(hv_registry_network(reg));
    printf(",\"version\":%llu,\"issued_at\":%llu,\"expires_at\":%llu,\"verified\":%s,\"nodes\":[",
           (unsigned long long)hv_registry_version(reg),
           (unsigned long long)hv_registry_issued_at(reg),
           (unsigned long long)hv_registry_expires_at(reg), verified ? "true" : "false");
    for (size_t i = 0; i < hv_registry_count(reg); i++) {
        const hv_node *n = hv_registry_node(reg, i);
        char kid[17];
        hv_hex(n->keys.key_id, HV_KEY_ID_BYTES, kid);
        printf("%s{\"id\":", i ? "," : "");
        hv_cli_print_json_string(n->id);
        printf(",\"role\":\"%s\",\"country\":\"%s\",\"organisation\":", hv_role_name(n->role),
               n->country);
        hv_cli_print_json_string(n->organisation);
        printf(",\"home\":");
        hv_cli_print_json_string(n->home);
        printf(",\"key_id\":\"%s\",\"revoked\":%s", kid, n->revoked ? "true" : "false");
        if (n->has_next) {
            hv_hex(n->next_keys.key_id, HV_KEY_ID_BYTES, kid);
            printf(",\"next_key_id\":\"%s\"", kid);
        }
        if (n->has_previous) {
            hv_hex(n->previous_keys.key_id, HV_KEY_ID_BYTES, kid);
            printf(",\"previous_key_id\":\"%s\",\"previous_until\":%llu", kid,
                   (unsigned long long)n->previous_until);
        }
        if (n->n_scope > 0) {
            printf(",\"scope\":[");
            for (unsigned k = 0; k < n->n_scope; k++)
                printf("%s\"%s\"", k ? "," : "", n->scope[k]);
            printf("]");
        }
        printf("}");
    }
    printf("]}\n");
}

/* Reads what the node whose store is `store` holds. A missing record is
 * none held; one that cannot be read is said on stderr and not used; a
 * damaged one refuses, as the node itself would. */
static hv_err s_node_held(const char *store, char held_path[PATH_MAX], hv_registry_held *held,
                          hv_errmsg *e)
{
    if (hv_registry_held_path(store, held_path, PATH_MAX) != HV_OK)
        return hv_fail(e, HV_EINVAL, "%s: path too long", store);
    hv_err err = hv_registry_held_read(held_path, held, e);
    if (err == HV_EIO) {
        fprintf(stderr, "haven registry verify: not checked against the node: %s\n", e->text);
        held_path[0] = '\0';
        return HV_OK;
    }
    return err;
}

/* Says how soon `reg` expires, from HV_REGISTRY_WARN_DAYS before. */
static void s_print_expiry(const hv_registry *reg)
{
    int64_t left = hv_registry_seconds_left(reg, (uint64_t)time(NULL));
    if (hv_registry_expiry_level(left) == HV_EXPIRY_FINE)
        return;
    char human[32];
    hv_registry_expiry_human(left, human, sizeof human);
    printf("warning: it expires in %s: get the next registry from your network authority\n",
           human);
}

int hv_cli_registry(const opts *o)
{
    const char *sub = o->cmd->sub;
    hv_errmsg e = {""};
    hv_err err;
    hv_registry *reg = NULL;
    int rc = 0;

    if (strcmp(sub, "sign") == 0) {
        const char *auth = hv_cli_need(o, "authority"), *in = hv_cli_need(o, "in"),
                   *out = hv_cli_need(o, "out");
        if (auth == NULL || in == NULL || out == NULL)
            return EXIT_USAGE;
        hv_keypair *kp = NULL;
        if ((err = hv_keys_load_secret(auth, &kp, NULL, &e)) != HV_OK)
            return hv_cli_report("authority key", err, &e);
        if ((err = hv_registry_from_json_file(in, &reg, &e)) != HV_OK) {
            hv_keypair_free(&kp);
            return hv_cli_report("registry source refused", err, &e);
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        err = hv_registry_sign(reg, kp, &buf, &len);
        hv_keypair_free(&kp);
        if (err == HV_OK && (err = s_write_all(out, buf, len)) != HV_OK)
            snprintf(e.text, sizeof e.text, "cannot write %s", out);
        free(buf);
        if (err != HV_OK)
            rc = hv_cli_report("registry sign", err, &e);
        else
            printf("signed %s: network %s version %llu, %zu nodes -> %s\n", in,
                   hv_registry_network(reg), (unsigned long long)hv_registry_version(reg),
                   hv_registry_count(reg), out);
    } else if (strcmp(sub, "verify") == 0 || strcmp(sub, "show") == 0) {
        bool verify = strcmp(sub, "verify") == 0;
        const char *auth = verify ? hv_cli_need(o, "authority") : hv_cli_opt(o, "authority");
        if (verify && auth == NULL)
            return EXIT_USAGE;
        uint8_t *buf = NULL;
        size_t len = 0;
        if ((err = s_read_all(o->positional, &buf, &len, HV_REGISTRY_FILE_MAX)) != HV_OK) {
            snprintf(e.text, sizeof e.text, "cannot read %s", o->positional);
            return hv_cli_report("registry", err, &e);
        }
        /* What the node holds, when its store is named (verify only). */
        hv_registry_held node = {0, {0}};
        char held_path[PATH_MAX] = "";
        const char *node_store = verify ? hv_cli_opt(o, "node-store") : NULL;
        if (node_store != NULL && (err = s_node_held(node_store, held_path, &node, &e)) != HV_OK) {
            free(buf);
            return hv_cli_report("registry refused", err, &e);
        }
        if (auth != NULL) {
            hv_pubkeys auth_keys;
            unsigned long long held = 0;
            if (hv_cli_uint(o, "held-version", 0, UINT64_MAX, &held) != 0) {
                free(buf);
                return EXIT_REFUSED;
            }
            err = hv_keys_load_public(auth, &auth_keys, NULL, &e);
            if (err == HV_OK &&
                (err = hv_registry_load(buf, len, auth_keys.sign, (uint64_t)time(NULL), held,
                                        &reg, &e)) != HV_OK)
                hv_fail_prefix(&e, err, o->positional);
            uint8_t hash[32];
            hv_hash256(buf, len, hash);
            if (err == HV_OK && held_path[0] != '\0' &&
                (err = hv_registry_held_check(o->positional, hv_registry_version(reg), hash,
                                              held_path, &node, &e)) != HV_OK)
                hv_registry_free(&reg);
        } else if ((err = hv_registry_decode_unverified(buf, len, &reg, &e)) != HV_OK) {
            hv_fail_prefix(&e, err, o->positional);
        }
        free(buf);
        if (err != HV_OK) {
            rc = hv_cli_report(verify ? "registry refused" : "registry", err, &e);
        } else if (verify && hv_cli_opt(o, "json") != NULL) {
            char t[21];
            hv_time_format(hv_registry_expires_at(reg), t);
            json_t *j = json_pack("{s:b, s:s, s:s, s:I, s:I, s:s, s:I}", "valid", 1, "file",
                                  o->positional, "network", hv_registry_network(reg), "version",
                                  (json_int_t)hv_registry_version(reg), "nodes",
                                  (json_int_t)hv_registry_count(reg), "expires", t,
                                  "expiry_seconds",
                                  (json_int_t)hv_registry_seconds_left(reg, (uint64_t)time(NULL)));
            if (held_path[0] != '\0')
                json_object_set_new(j, "held_version", json_integer((json_int_t)node.version));
            hv_cli_print_json(j);
            json_decref(j);
        } else if (verify) {
            char t[21];
            hv_time_format(hv_registry_expires_at(reg), t);
            printf("%s: valid: network %s version %llu, %zu nodes, signed by the authority, "
                   "expires %s\n",
                   o->positional, hv_registry_network(reg),
                   (unsigned long long)hv_registry_version(reg), hv_registry_count(reg), t);
            s_print_expiry(reg);
            if (held_path[0] != '\0' && node.version == 0)
                printf("the node holds no registry yet (no %s): it will accept this one\n",
                       held_path);
            else if (held_path[0] != '\0')
                printf("the node holds version %llu (%s): %s\n",
                       (unsigned long long)node.version, held_path,
                       node.version == hv_registry_version(reg)
                           ? "this very registry"
                           : "this one is newer and will be accepted");
        } else if (hv_cli_opt(o, "json") != NULL) {
            s_print_registry_json(reg, auth != NULL);
        } else {
            s_print_registry_text(reg, auth != NULL ? "signature verified"
                                                    : "signature NOT checked (use verify)");
        }
    }
    hv_registry_free(&reg);
    return rc;
}

int hv_cli_seal(const opts *o)
{
    const char *key = hv_cli_need(o, "key"), *to = hv_cli_need(o, "to"), *type_s = hv_cli_need(o, "type"),
               *in = hv_cli_need(o, "in"), *out = hv_cli_need(o, "out");
    if (key == NULL || to == NULL || type_s == NULL || in == NULL || out == NULL)
        return EXIT_USAGE;
    unsigned type = hv_msg_type_from_name(type_s);
    if (type == 0) {
        fprintf(stderr, "haven seal: --type: unknown message type '%s' (HV_ETYPE)\n", type_s);
        return EXIT_REFUSED;
    }
    hv_registry *reg = NULL;
    int rc = hv_cli_load_registry(o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_keyring *ring = NULL;
    char self[HV_NODE_ID_MAX + 1];
    uint8_t *pt = NULL, *wire = NULL;
    size_t pt_len = 0, wire_len = 0;
    hv_err err = hv_keys_load_ring(key, &ring, self, &e);
    if (err != HV_OK) {
        rc = hv_cli_report("key", err, &e);
        goto done;
    }
    const hv_node *from = hv_registry_find(reg, self), *rcpt = hv_registry_find(reg, to);
    if (from == NULL || rcpt == NULL || !hv_node_active(rcpt, (uint64_t)time(NULL))) {
        snprintf(e.text, sizeof e.text, "node '%s' is not an active node of the registry",
                 from == NULL ? self : to);
        rc = hv_cli_report("seal", HV_ENOTFOUND, &e);
        goto done;
    }
    if ((err = s_read_all(in, &pt, &pt_len, HV_PLAINTEXT_MAX)) != HV_OK) {
        snprintf(e.text, sizeof e.text, "cannot read %s", in);
        rc = hv_cli_report("seal", err, &e);
        goto done;
    }
    /* Signed with the set the registry calls current, as a worker signs. */
    const hv_keypair *kp = hv_keyring_current(ring, from);
    if (kp == NULL)
        kp = hv_keyring_at(ring, hv_keyring_count(ring) - 1);
    hv_envelope env;
    hv_envelope_init(&env, type, self, hv_keypair_public(kp), to, &rcpt->keys);
    const char *ref = hv_cli_opt(o, "referral"), *ttl = hv_cli_opt(o, "ttl");
    if (ref == NULL)
        hv_random(env.referral, sizeof env.referral);
    else if (hv_unhex(ref, env.referral, sizeof env.referral) != HV_OK) {
        fprintf(stderr, "haven seal: --referral: '%s' is not 32 hex digits (HV_EINVAL)\n", ref);
        rc = EXIT_REFUSED;
        goto done;
    }
    unsigned long long ttl_s = 0;
    if (ttl != NULL && hv_cli_uint(o, "ttl", 0, UINT32_MAX, &ttl_s) != 0) {
        rc = EXIT_REFUSED;
        goto done;
    }
    if (ttl != NULL)
        env.ttl_s = (uint32_t)ttl_s;
    if ((err = hv_envelope_seal(&env, kp, &rcpt->keys, pt, pt_len, &wire, &wire_len)) != HV_OK ||
        (err = s_write_all(out, wire, wire_len)) != HV_OK) {
        rc = hv_cli_report("seal", err, &e);
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
    hv_keyring_free(&ring);
    hv_registry_free(&reg);
    return rc;
}

int hv_cli_open(const opts *o)
{
    const char *key = hv_cli_need(o, "key"), *in = hv_cli_need(o, "in");
    const char *out = hv_cli_opt(o, "out") ? hv_cli_opt(o, "out") : "-";
    if (key == NULL || in == NULL)
        return EXIT_USAGE;
    hv_registry *reg = NULL;
    int rc = hv_cli_load_registry(o, &reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_keyring *ring = NULL;
    char self[HV_NODE_ID_MAX + 1];
    uint8_t *wire = NULL, *pt = NULL;
    size_t wire_len = 0, pt_len = 0;
    hv_envelope env;
    hv_err err = hv_keys_load_ring(key, &ring, self, &e);
    if (err != HV_OK) {
        rc = hv_cli_report("key", err, &e);
        goto done;
    }
    if ((err = s_read_all(in, &wire, &wire_len, HV_ENVELOPE_MAX)) != HV_OK ||
        (err = hv_envelope_decode(wire, wire_len, &env)) != HV_OK) {
        snprintf(e.text, sizeof e.text, "%s is not a valid envelope", in);
        rc = hv_cli_report("open", err, &e);
        goto done;
    }
    const hv_node *sender = hv_registry_find(reg, env.from);
    if (sender == NULL) {
        snprintf(e.text, sizeof e.text, "sender '%s' is not in the registry", env.from);
        rc = hv_cli_report("open", HV_ENOTFOUND, &e);
        goto done;
    }
    /* Opened with the held set its to_kid names, checked by the sender's
     * set its from_kid names (a node rotating holds several); without
     * either, with the newest and the current, so that the signature and
     * the MAC are checked first, as always (HV_ECRYPTO before HV_EADDRESS). */
    const hv_keypair *kp = hv_keyring_find(ring, env.to_kid);
    if (kp == NULL)
        kp = hv_keyring_at(ring, hv_keyring_count(ring) - 1);
    const hv_pubkeys *from_keys = hv_node_keys_by_id(sender, env.from_kid, (uint64_t)time(NULL),
                                                     NULL);
    if (from_keys == NULL)
        from_keys = &sender->keys;
    if ((err = hv_envelope_open(&env, self, kp, from_keys->sign, &pt, &pt_len)) != HV_OK ||
        (err = s_write_all(out, pt, pt_len)) != HV_OK) {
        rc = hv_cli_report("open", err, &e);
        goto done;
    }
    fprintf(stderr, "opened %s from %s: signature and MAC verified, %zu bytes plaintext\n",
            hv_msg_rule_get(env.type)->name, env.from, pt_len);
done:
    if (pt != NULL)
        hv_memzero(pt, pt_len);
    free(pt);
    free(wire);
    hv_keyring_free(&ring);
    hv_registry_free(&reg);
    return rc;
}

/* Opens a broker client for the node whose key is --key, at its home
 * broker as the registry names it. */
static int s_client(const opts *o, hv_registry **reg, hv_keyring **ring, char *self,
                    hv_client **client)
{
    const char *key = hv_cli_need(o, "key");
    if (key == NULL)
        return EXIT_USAGE;
    int rc = hv_cli_load_registry(o, reg);
    if (rc != 0)
        return rc;
    hv_errmsg e = {""};
    hv_err err = hv_keys_load_ring(key, ring, self, &e);
    if (err != HV_OK)
        return hv_cli_report("key", err, &e);
    const hv_node *me = hv_registry_find(*reg, self);
    const hv_node *home = me ? hv_registry_find(*reg, me->home) : NULL;
    if (home == NULL) {
        snprintf(e.text, sizeof e.text, "node '%s' has no home broker in the registry", self);
        return hv_cli_report("connect", HV_ENOTFOUND, &e);
    }
    char store[4096];
    const char *store_opt = hv_cli_opt(o, "store");
    snprintf(store, sizeof store, "%s", store_opt ? store_opt : "");
    if (store_opt == NULL)
        snprintf(store, sizeof store, "haven-%s.db", self);
    /* The transport key the registry lists newest for the node, as a worker's. */
    const hv_keypair *transport = hv_keyring_transport(*ring, me);
    if (transport == NULL)
        transport = hv_keyring_at(*ring, hv_keyring_count(*ring) - 1);
    hv_client_config cfg = {.node_id = self, .keys = transport, .endpoint = home->endpoint_workers,
                            .store_path = store};
    memcpy(cfg.broker_transport_pk, home->keys.transport, 32);
    if ((err = hv_client_open(client, &cfg, &e)) != HV_OK)
        return hv_cli_report("connect", err, &e);
    return 0;
}

int hv_cli_timeout_ms(const opts *o, int fallback_s)
{
    const char *t = hv_cli_opt(o, "timeout");
    double s = t ? atof(t) : fallback_s;
    return s > 0 ? (int)(s * 1000) : fallback_s * 1000;
}

int hv_cli_send(const opts *o)
{
    const char *const *files = o->args;
    int n_files = o->n_args;
    hv_registry *reg = NULL;
    hv_keyring *ring = NULL;
    hv_client *client = NULL;
    char self[HV_NODE_ID_MAX + 1] = "";
    int rc = s_client(o, &reg, &ring, self, &client);
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
            rc = hv_cli_report("send", err, &e);
        }
    }
    /* Wait until the broker has every envelope in custody. */
    int64_t deadline = hv_mono_ms() + hv_cli_timeout_ms(o, 30);
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
                "outbox and go out on the next run (HV_ETIMEOUT)\n", left);
        rc = EXIT_REFUSED;
    } else if (rc == 0) {
        printf("%d envelope(s) stored by %s's broker\n", n_files, self);
    }
    hv_client_close(&client);
    hv_keyring_free(&ring);
    hv_registry_free(&reg);
    return rc;
}

/* Prints what the broker reported about this node's messages: refusals by
 * their recipients, expiries; with `json_out` one JSON object a line. */
static void s_print_notices(hv_client *client, bool json_out)
{
    hv_notice n;
    while (client != NULL && hv_client_notice(client, &n)) {
        char id[33];
        hv_hex(n.id, 16, id);
        if (json_out) {
            json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "event", "notice", "id", id, "code",
                                  hv_errname(n.code), "text", n.text);
            char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (line != NULL)
                printf("%s\n", line);
            free(line);
            json_decref(j);
        } else {
            printf("notice: message %s: %s (%s)\n", id, n.text, hv_errname(n.code));
        }
    }
}

int hv_cli_recv(const opts *o)
{
    bool json_out = hv_cli_opt(o, "json") != NULL;
    unsigned long long count = 1;
    if (hv_cli_uint(o, "count", 1, 1000000000, &count) != 0)
        return EXIT_REFUSED;
    const char *dir = hv_cli_opt(o, "out");
    hv_registry *reg = NULL;
    hv_keyring *ring = NULL;
    hv_client *client = NULL;
    char self[HV_NODE_ID_MAX + 1] = "";
    int rc = s_client(o, &reg, &ring, self, &client);
    unsigned long long got = 0;
    int64_t deadline = hv_mono_ms() + hv_cli_timeout_ms(o, 10);
    /* --count 0 listens until the timeout, for notices only. */
    while (rc == 0 && (got < count || count == 0)) {
        int64_t left = deadline - hv_mono_ms();
        hv_delivery *d = NULL;
        hv_err err = left > 0 ? hv_client_recv(client, (int)(left < 100 ? left : 100), &d)
                              : HV_ETIMEOUT;
        s_print_notices(client, json_out);
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
                fprintf(stderr, "haven: cannot write %s: %s (HV_EIO)\n", path, strerror(errno));
                hv_delivery_free(&d); /* unanswered: delivered again next time */
                rc = EXIT_SYSTEM;
                break;
            }
        }
        if (json_out) {
            json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i}", "event", "received", "type",
                                  hv_msg_rule_get(d->env.type)->name, "from", d->env.from, "id",
                                  id, "bytes", (json_int_t)d->len, "attempt", (int)d->attempt);
            char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (line != NULL)
                printf("%s\n", line);
            free(line);
            json_decref(j);
        } else {
            printf("received %s from %s id %s (%zu bytes, attempt %u)\n",
                   hv_msg_rule_get(d->env.type)->name, d->env.from, id, d->len, d->attempt);
        }
        if (hv_client_ack(client, &d) != HV_OK) {
            rc = EXIT_SYSTEM;
            break;
        }
        got++;
    }
    if (client != NULL && hv_client_flush(client) != HV_OK)
        rc = EXIT_SYSTEM;
    if (rc == 0 && got < count) {
        fprintf(stderr, "haven: received %llu of %llu before the timeout (HV_ETIMEOUT)\n", got,
                count);
        rc = EXIT_REFUSED;
    }
    hv_client_close(&client);
    hv_keyring_free(&ring);
    hv_registry_free(&reg);
    return rc;
}
