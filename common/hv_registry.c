/* Registry model, validation, signed encoding and lookups;
 * proto/PROTOCOL.md §8. */
#include "hv_registry_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_file.h"
#include "hv_mp.h"

#define S_MAGIC "haven-registry"
/* Payload format 2 added next_keys, previous_keys, previous_until and scope
 * to each node (PROTOCOL.md §8.2); a format-1 registry is signed again. */
#define S_FORMAT 2
#define S_SIG_CONTEXT "haven/registry/v1"
#define S_PAYLOAD_FIELDS 6
#define S_NODE_FIELDS 22

static const char *const s_services[HV_SVC_COUNT] = {
    "shelter",        "medical",          "psychosocial", "legal_aid",
    "interpretation", "return",           "documentation", "child_protection",
    "livelihood",     "education",        "family_tracing",
};

const char *hv_service_name(unsigned svc) { return svc < HV_SVC_COUNT ? s_services[svc] : NULL; }

int hv_service_from_name(const char *name)
{
    for (int i = 0; i < HV_SVC_COUNT; i++)
        if (strcmp(name, s_services[i]) == 0)
            return i;
    return -1;
}

hv_err hv_registry_alloc(size_t n_nodes, hv_registry **out)
{
    hv_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return HV_ENOMEM;
    reg->nodes = calloc(n_nodes > 0 ? n_nodes : 1, sizeof *reg->nodes);
    if (reg->nodes == NULL) {
        free(reg);
        return HV_ENOMEM;
    }
    reg->n_nodes = n_nodes;
    *out = reg;
    return HV_OK;
}

void hv_registry_free(hv_registry **reg)
{
    if (reg == NULL || *reg == NULL)
        return;
    free((*reg)->nodes);
    free(*reg);
    *reg = NULL;
}

static bool s_country_valid(const char *c)
{
    return c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] == '\0';
}

/* An endpoint is a ZeroMQ tcp:// or ipc:// address without spaces. */
static bool s_endpoint_valid(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0)
        return false;
    if (strlen(ep) <= 6)
        return false;
    for (const char *p = ep; *p; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return true;
}

/* A language tag: 2-16 characters of letters, digits and '-'. */
static bool s_language_valid(const char *l)
{
    size_t n = strlen(l);
    if (n < 2 || n > HV_LANGUAGE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = l[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c == '-' && i > 0)))
            return false;
    }
    return true;
}

/* Writes up to three key sets of `n` to `out`: current, next, previous. */
static size_t s_key_sets(const hv_node *n, const hv_pubkeys *out[3])
{
    size_t k = 0;
    out[k++] = &n->keys;
    if (n->has_next)
        out[k++] = &n->next_keys;
    if (n->has_previous)
        out[k++] = &n->previous_keys;
    return k;
}

static bool s_share_transport(const hv_node *a, const hv_node *b)
{
    const hv_pubkeys *ka[3], *kb[3];
    size_t na = s_key_sets(a, ka), nb = s_key_sets(b, kb);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (memcmp(ka[i]->transport, kb[j]->transport, HV_PK_BYTES) == 0)
                return true;
    return false;
}

/* A node's next and previous keys are usable keys, distinct from its
 * current keys in all three parts (a rotation that kept the transport key
 * would leave an old session standing), and scope belongs to operators. */
static hv_err s_validate_rotation(const hv_node *n, hv_errmsg *e)
{
    const hv_pubkeys *sets[3];
    size_t k = s_key_sets(n, sets);
    for (size_t i = 1; i < k; i++) {
        const char *which = sets[i] == &n->next_keys ? "next_keys" : "previous_keys";
        if (!hv_pubkeys_valid(sets[i]))
            return hv_fail(e, HV_EKEYFORMAT, "node %s: %s: a public key is not a usable key",
                           n->id, which);
        for (size_t j = 0; j < i; j++)
            if (memcmp(sets[i]->sign, sets[j]->sign, HV_PK_BYTES) == 0 ||
                memcmp(sets[i]->box, sets[j]->box, HV_PK_BYTES) == 0 ||
                memcmp(sets[i]->transport, sets[j]->transport, HV_PK_BYTES) == 0)
                return hv_fail(e, HV_EREG_INVALID,
                               "node %s: %s repeats a key of another key set (each key set "
                               "must be new in all three keys)",
                               n->id, which);
    }
    if (n->has_previous != (n->previous_until != 0))
        return hv_fail(e, HV_EREG_INVALID,
                       "node %s: previous_keys and previous_until go together", n->id);
    if (n->n_scope > 0 && n->role != HV_ROLE_OPERATOR)
        return hv_fail(e, HV_EREG_INVALID, "node %s: scope belongs to operators only", n->id);
    for (unsigned i = 0; i < n->n_scope; i++)
        if (strcmp(n->scope[i], "*") != 0 && !s_country_valid(n->scope[i]))
            return hv_fail(e, HV_EREG_INVALID,
                           "node %s: scope[%u] must be a country code such as XA, or \"*\"",
                           n->id, i);
    return HV_OK;
}

static hv_err s_validate_node(const hv_registry *reg, size_t i, hv_errmsg *e)
{
    const hv_node *n = &reg->nodes[i];
    const char *id = n->id;
    if (!hv_node_id_valid_cstr(id))
        return hv_fail(e, HV_EREG_INVALID, "nodes[%zu]: invalid id", i);
    if (hv_role_name(n->role) == NULL)
        return hv_fail(e, HV_EREG_ROLE,
                       "node %s: unknown role %u (expected broker, intake, router, provider "
                       "or operator)",
                       id, n->role);
    if (!s_country_valid(n->country))
        return hv_fail(e, HV_EREG_INVALID,
                       "node %s: country must be an ISO 3166-1 alpha-2 code such as XA", id);
    if (n->organisation[0] == '\0')
        return hv_fail(e, HV_EREG_INVALID, "node %s: organisation is empty", id);
    if (!hv_pubkeys_valid(&n->keys))
        return hv_fail(e, HV_EKEYFORMAT, "node %s: a public key is not a usable key", id);
    if (n->valid_from >= n->valid_until)
        return hv_fail(e, HV_EREG_INVALID, "node %s: valid_from must be before valid_until", id);
    hv_err err = s_validate_rotation(n, e);
    if (err != HV_OK)
        return err;

    for (size_t j = 0; j < i; j++) {
        if (strcmp(reg->nodes[j].id, id) == 0)
            return hv_fail(e, HV_EREG_DUPLICATE, "node id %s appears twice", id);
        /* One transport key is one identity at the broker's door, in
         * whichever key set of a node it is listed. */
        if (s_share_transport(&reg->nodes[j], n))
            return hv_fail(e, HV_EREG_DUPLICATE, "nodes %s and %s share a transport key",
                           reg->nodes[j].id, id);
    }

    if (n->role == HV_ROLE_BROKER) {
        if (n->home[0] != '\0')
            return hv_fail(e, HV_EREG_INVALID, "broker %s: a broker has no home broker", id);
        if (!s_endpoint_valid(n->endpoint_workers))
            return hv_fail(e, HV_EREG_INVALID,
                           "broker %s: endpoints.workers must be a tcp:// or ipc:// address", id);
        if (n->endpoint_peers[0] != '\0' && !s_endpoint_valid(n->endpoint_peers))
            return hv_fail(e, HV_EREG_INVALID,
                           "broker %s: endpoints.peers must be a tcp:// or ipc:// address", id);
    } else {
        if (n->endpoint_workers[0] != '\0' || n->endpoint_peers[0] != '\0')
            return hv_fail(e, HV_EREG_INVALID, "node %s: only brokers have endpoints", id);
        const hv_registry *r = reg;
        const hv_node *home = NULL;
        for (size_t j = 0; j < r->n_nodes && home == NULL; j++)
            if (strcmp(r->nodes[j].id, n->home) == 0)
                home = &r->nodes[j];
        if (n->home[0] == '\0' || home == NULL || home->role != HV_ROLE_BROKER)
            return hv_fail(e, HV_EREG_HOME, "node %s: home broker '%s' is not a broker in the "
                           "registry", id, n->home);
    }

    if (n->role == HV_ROLE_PROVIDER) {
        if (n->services == 0)
            return hv_fail(e, HV_EREG_INVALID, "provider %s: lists no services", id);
        if (n->services >> HV_SVC_COUNT)
            return hv_fail(e, HV_EREG_INVALID, "provider %s: unknown service", id);
        for (unsigned k = 0; k < n->n_regions; k++)
            if (n->regions[k][0] == '\0')
                return hv_fail(e, HV_EREG_INVALID, "provider %s: empty region name", id);
        for (unsigned k = 0; k < n->n_languages; k++)
            if (!s_language_valid(n->languages[k]))
                return hv_fail(e, HV_EREG_INVALID, "provider %s: invalid language tag '%s'",
                               id, n->languages[k]);
    } else if (n->services != 0 || n->n_regions != 0 || n->n_languages != 0 ||
               n->accepts_minors || n->capacity != 0) {
        return hv_fail(e, HV_EREG_INVALID,
                       "node %s: services, regions, languages, accepts_minors and capacity "
                       "belong to providers only",
                       id);
    }
    return HV_OK;
}

hv_err hv_registry_validate(const hv_registry *reg, hv_errmsg *e)
{
    if (reg->network[0] == '\0')
        return hv_fail(e, HV_EREG_INVALID, "network name is empty");
    if (reg->version == 0)
        return hv_fail(e, HV_EREG_INVALID, "version must be 1 or more");
    if (reg->issued_at >= reg->expires_at)
        return hv_fail(e, HV_EREG_INVALID, "issued_at must be before expires_at");
    if (reg->n_nodes > HV_REGISTRY_NODES_MAX)
        return hv_fail(e, HV_EREG_INVALID, "more than %d nodes", HV_REGISTRY_NODES_MAX);
    /* Validate all roles first so that a bad role is reported as such even
     * when it is also some other node's home. */
    for (size_t i = 0; i < reg->n_nodes; i++)
        if (hv_role_name(reg->nodes[i].role) == NULL)
            return s_validate_node(reg, i, e);
    for (size_t i = 0; i < reg->n_nodes; i++) {
        hv_err err = s_validate_node(reg, i, e);
        if (err != HV_OK)
            return err;
    }
    return HV_OK;
}

/* An optional key set: a binary of sign || box || transport, or empty. */
static void s_write_keys(hv_mp_writer *w, const hv_pubkeys *k)
{
    uint8_t b[3 * HV_PK_BYTES] = {0};
    if (k == NULL) {
        hv_mp_write_bin(w, b, 0);
        return;
    }
    memcpy(b, k->sign, HV_PK_BYTES);
    memcpy(b + HV_PK_BYTES, k->box, HV_PK_BYTES);
    memcpy(b + 2 * HV_PK_BYTES, k->transport, HV_PK_BYTES);
    hv_mp_write_bin(w, b, sizeof b);
}

static hv_err s_read_keys(hv_mp_reader *r, bool *has, hv_pubkeys *k)
{
    const uint8_t *b;
    size_t len;
    hv_err err = hv_mp_read_bin(r, 3 * HV_PK_BYTES, &b, &len);
    if (err != HV_OK)
        return err;
    if (len != 0 && len != 3 * HV_PK_BYTES)
        return HV_EDECODE;
    *has = len != 0;
    if (*has) {
        memcpy(k->sign, b, HV_PK_BYTES);
        memcpy(k->box, b + HV_PK_BYTES, HV_PK_BYTES);
        memcpy(k->transport, b + 2 * HV_PK_BYTES, HV_PK_BYTES);
        hv_key_id(k->sign, k->box, k->transport, k->key_id);
    }
    return HV_OK;
}

/* Reads the operator's scope: at most HV_LIST_MAX strings of 1-2 bytes. */
static hv_err s_read_scope(hv_mp_reader *r, hv_node *n)
{
    uint32_t count;
    hv_err err = hv_mp_read_array(r, &count);
    if (err != HV_OK)
        return err;
    if (count > HV_LIST_MAX)
        return HV_ETOOBIG;
    for (uint32_t k = 0; k < count; k++)
        if ((err = hv_mp_read_cstr(r, n->scope[k], sizeof n->scope[k])) != HV_OK)
            return err;
    n->n_scope = (uint8_t)count;
    return HV_OK;
}

hv_err hv_registry_encode_payload(const hv_registry *reg, uint8_t **out, size_t *len)
{
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    hv_mp_write_array(&w, S_PAYLOAD_FIELDS);
    hv_mp_write_uint(&w, S_FORMAT);
    hv_mp_write_cstr(&w, reg->network);
    hv_mp_write_uint(&w, reg->version);
    hv_mp_write_uint(&w, reg->issued_at);
    hv_mp_write_uint(&w, reg->expires_at);
    hv_mp_write_array(&w, (uint32_t)reg->n_nodes);
    for (size_t i = 0; i < reg->n_nodes; i++) {
        const hv_node *n = &reg->nodes[i];
        hv_mp_write_array(&w, S_NODE_FIELDS);
        hv_mp_write_cstr(&w, n->id);
        hv_mp_write_uint(&w, n->role);
        hv_mp_write_cstr(&w, n->country);
        hv_mp_write_cstr(&w, n->organisation);
        hv_mp_write_cstr(&w, n->home);
        hv_mp_write_cstr(&w, n->endpoint_workers);
        hv_mp_write_cstr(&w, n->endpoint_peers);
        hv_mp_write_bin(&w, n->keys.sign, HV_PK_BYTES);
        hv_mp_write_bin(&w, n->keys.box, HV_PK_BYTES);
        hv_mp_write_bin(&w, n->keys.transport, HV_PK_BYTES);
        hv_mp_write_uint(&w, n->valid_from);
        hv_mp_write_uint(&w, n->valid_until);
        hv_mp_write_bool(&w, n->revoked);
        hv_mp_write_uint(&w, n->services);
        hv_mp_write_array(&w, n->n_regions);
        for (unsigned k = 0; k < n->n_regions; k++)
            hv_mp_write_cstr(&w, n->regions[k]);
        hv_mp_write_array(&w, n->n_languages);
        for (unsigned k = 0; k < n->n_languages; k++)
            hv_mp_write_cstr(&w, n->languages[k]);
        hv_mp_write_bool(&w, n->accepts_minors);
        hv_mp_write_uint(&w, n->capacity);
        s_write_keys(&w, n->has_next ? &n->next_keys : NULL);
        s_write_keys(&w, n->has_previous ? &n->previous_keys : NULL);
        hv_mp_write_uint(&w, n->previous_until);
        hv_mp_write_array(&w, n->n_scope);
        for (unsigned k = 0; k < n->n_scope; k++)
            hv_mp_write_cstr(&w, n->scope[k]);
    }
    return hv_mp_writer_take(&w, out, len);
}

/* Reads an array of at most HV_LIST_MAX strings of capacity `cap` each. */
static hv_err s_read_list(hv_mp_reader *r, char *items, size_t cap, uint8_t *count)
{
    uint32_t n;
    hv_err err = hv_mp_read_array(r, &n);
    if (err != HV_OK)
        return err;
    if (n > HV_LIST_MAX)
        return HV_ETOOBIG;
    for (uint32_t k = 0; k < n; k++)
        if ((err = hv_mp_read_cstr(r, items + k * cap, cap)) != HV_OK)
            return err;
    *count = (uint8_t)n;
    return HV_OK;
}

static hv_err s_decode_node(hv_mp_reader *r, hv_node *n)
{
    uint32_t count;
    uint64_t v;
    hv_err err;
#define S_TRY(expr)                                                                            \
    do {                                                                                       \
        if ((err = (expr)) != HV_OK)                                                           \
            return err;                                                                        \
    } while (0)
    S_TRY(hv_mp_read_array(r, &count));
    if (count != S_NODE_FIELDS)
        return HV_EDECODE;
    S_TRY(hv_mp_read_cstr(r, n->id, sizeof n->id));
    S_TRY(hv_mp_read_uint_max(r, UINT8_MAX, &v));
    n->role = (uint8_t)v;
    S_TRY(hv_mp_read_cstr(r, n->country, sizeof n->country));
    S_TRY(hv_mp_read_cstr(r, n->organisation, sizeof n->organisation));
    S_TRY(hv_mp_read_cstr(r, n->home, sizeof n->home));
    S_TRY(hv_mp_read_cstr(r, n->endpoint_workers, sizeof n->endpoint_workers));
    S_TRY(hv_mp_read_cstr(r, n->endpoint_peers, sizeof n->endpoint_peers));
    S_TRY(hv_mp_read_bin_exact(r, n->keys.sign, HV_PK_BYTES));
    S_TRY(hv_mp_read_bin_exact(r, n->keys.box, HV_PK_BYTES));
    S_TRY(hv_mp_read_bin_exact(r, n->keys.transport, HV_PK_BYTES));
    hv_key_id(n->keys.sign, n->keys.box, n->keys.transport, n->keys.key_id);
    S_TRY(hv_mp_read_uint(r, &n->valid_from));
    S_TRY(hv_mp_read_uint(r, &n->valid_until));
    S_TRY(hv_mp_read_bool(r, &n->revoked));
    S_TRY(hv_mp_read_uint_max(r, UINT32_MAX, &v));
    n->services = (uint32_t)v;
    S_TRY(s_read_list(r, &n->regions[0][0], sizeof n->regions[0], &n->n_regions));
    S_TRY(s_read_list(r, &n->languages[0][0], sizeof n->languages[0], &n->n_languages));
    S_TRY(hv_mp_read_bool(r, &n->accepts_minors));
    S_TRY(hv_mp_read_uint_max(r, UINT32_MAX, &v));
    n->capacity = (uint32_t)v;
    S_TRY(s_read_keys(r, &n->has_next, &n->next_keys));
    S_TRY(s_read_keys(r, &n->has_previous, &n->previous_keys));
    S_TRY(hv_mp_read_uint(r, &n->previous_until));
    S_TRY(s_read_scope(r, n));
#undef S_TRY
    return HV_OK;
}

hv_err hv_registry_decode_payload(const uint8_t *buf, size_t len, hv_registry **out,
                                  hv_errmsg *e)
{
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint32_t count, n_nodes;
    uint64_t format;
    char network[HV_NETWORK_NAME_MAX + 1];
    hv_registry *reg = NULL;
    hv_err err;

    if ((err = hv_mp_read_array(&r, &count)) != HV_OK)
        goto malformed;
    if (count != S_PAYLOAD_FIELDS) {
        err = HV_EDECODE;
        goto malformed;
    }
    if ((err = hv_mp_read_uint(&r, &format)) != HV_OK)
        goto malformed;
    if (format != S_FORMAT)
        return hv_fail(e, HV_EVERSION,
                       "registry format %llu is not supported (expected %d; have the "
                       "authority sign the registry again with this version of haven)",
                       (unsigned long long)format, S_FORMAT);
    uint64_t version, issued_at, expires_at;
    if ((err = hv_mp_read_cstr(&r, network, sizeof network)) != HV_OK ||
        (err = hv_mp_read_uint(&r, &version)) != HV_OK ||
        (err = hv_mp_read_uint(&r, &issued_at)) != HV_OK ||
        (err = hv_mp_read_uint(&r, &expires_at)) != HV_OK ||
        (err = hv_mp_read_array(&r, &n_nodes)) != HV_OK)
        goto malformed;
    /* Bound the allocation by the limit and by what the bytes left can
     * hold: an encoded node takes more than 100 bytes (three keys alone). */
    if (n_nodes > HV_REGISTRY_NODES_MAX) {
        err = HV_ETOOBIG;
        goto malformed;
    }
    if (n_nodes > (size_t)(r.end - r.pos) / 100) {
        err = HV_ETRUNCATED;
        goto malformed;
    }
    if ((err = hv_registry_alloc(n_nodes, &reg)) != HV_OK)
        return err;
    strcpy(reg->network, network);
    reg->version = version;
    reg->issued_at = issued_at;
    reg->expires_at = expires_at;
    for (size_t i = 0; i < n_nodes; i++)
        if ((err = s_decode_node(&r, &reg->nodes[i])) != HV_OK)
            goto malformed;
    if ((err = hv_mp_read_end(&r)) != HV_OK)
        goto malformed;
    if ((err = hv_registry_validate(reg, e)) != HV_OK) {
        hv_registry_free(&reg);
        return err;
    }
    *out = reg;
    return HV_OK;

malformed:
    hv_registry_free(&reg);
    return hv_fail(e, err, "registry content is malformed: %s", hv_strerror(err));
}

/* Splits the signed container into payload and signature. */
static hv_err s_unwrap(const uint8_t *buf, size_t len, const uint8_t **payload,
                       size_t *payload_len, uint8_t sig[HV_SIG_BYTES], hv_errmsg *e)
{
    if (len > HV_REGISTRY_FILE_MAX)
        return hv_fail(e, HV_ETOOBIG, "registry file larger than %u bytes", HV_REGISTRY_FILE_MAX);
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint32_t count;
    const char *magic;
    size_t magic_len;
    uint64_t format;
    hv_err err;
    if ((err = hv_mp_read_array(&r, &count)) != HV_OK || count != 4 ||
        (err = hv_mp_read_str(&r, 32, &magic, &magic_len)) != HV_OK ||
        magic_len != strlen(S_MAGIC) || memcmp(magic, S_MAGIC, magic_len) != 0)
        return hv_fail(e, err != HV_OK ? err : HV_EDECODE, "not a Haven signed registry");
    if ((err = hv_mp_read_uint(&r, &format)) != HV_OK)
        return hv_fail(e, err, "signed registry is malformed: %s", hv_strerror(err));
    if (format != S_FORMAT)
        return hv_fail(e, HV_EVERSION, "signed registry format %llu is not supported",
                       (unsigned long long)format);
    if ((err = hv_mp_read_bin(&r, HV_REGISTRY_FILE_MAX, payload, payload_len)) != HV_OK ||
        (err = hv_mp_read_bin_exact(&r, sig, HV_SIG_BYTES)) != HV_OK ||
        (err = hv_mp_read_end(&r)) != HV_OK)
        return hv_fail(e, err, "signed registry is malformed: %s", hv_strerror(err));
    return HV_OK;
}

hv_err hv_registry_sign_payload(const uint8_t *payload, size_t payload_len,
                                const hv_keypair *authority, uint8_t **out, size_t *len)
{
    uint8_t sig[HV_SIG_BYTES];
    hv_sign(authority, S_SIG_CONTEXT, payload, payload_len, sig);
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    hv_mp_write_array(&w, 4);
    hv_mp_write_cstr(&w, S_MAGIC);
    hv_mp_write_uint(&w, S_FORMAT);
    hv_mp_write_bin(&w, payload, payload_len);
    hv_mp_write_bin(&w, sig, HV_SIG_BYTES);
    return hv_mp_writer_take(&w, out, len);
}

hv_err hv_registry_sign(const hv_registry *reg, const hv_keypair *authority, uint8_t **out,
                        size_t *len)
{
    uint8_t *payload;
    size_t payload_len;
    hv_err err = hv_registry_encode_payload(reg, &payload, &payload_len);
    if (err != HV_OK)
        return err;
    err = hv_registry_sign_payload(payload, payload_len, authority, out, len);
    free(payload);
    return err;
}

hv_err hv_registry_load(const uint8_t *buf, size_t len,
                        const uint8_t authority_sign_pk[HV_PK_BYTES], uint64_t now,
                        uint64_t held_version, hv_registry **out, hv_errmsg *e)
{
    const uint8_t *payload;
    size_t payload_len;
    uint8_t sig[HV_SIG_BYTES];
    hv_err err = s_unwrap(buf, len, &payload, &payload_len, sig, e);
    if (err != HV_OK)
        return err;
    /* Nothing inside is decoded before the authority's signature holds. */
    if (hv_verify(authority_sign_pk, S_SIG_CONTEXT, payload, payload_len, sig) != HV_OK)
        return hv_fail(e, HV_EREG_SIGNATURE,
                       "registry signature does not verify with the pinned authority key");
    hv_registry *reg = NULL;
    if ((err = hv_registry_decode_payload(payload, payload_len, &reg, e)) != HV_OK)
        return err;
    char t1[21], t2[21];
    if (now < reg->issued_at || now >= reg->expires_at) {
        hv_time_format(reg->issued_at, t1);
        hv_time_format(reg->expires_at, t2);
        err = hv_fail(e, HV_EREG_EXPIRED,
                      "registry version %llu is valid from %s until %s, not now; ask the "
                      "network authority for a current one",
                      (unsigned long long)reg->version, t1, t2);
    } else if (reg->version < held_version) {
        err = hv_fail(e, HV_EREG_ROLLBACK,
                      "registry version %llu is older than version %llu already held",
                      (unsigned long long)reg->version, (unsigned long long)held_version);
    }
    if (err != HV_OK) {
        hv_registry_free(&reg);
        return err;
    }
    *out = reg;
    return HV_OK;
}

hv_err hv_registry_load_file(const char *path, const uint8_t authority_sign_pk[HV_PK_BYTES],
                             uint64_t now, uint64_t held_version, hv_registry **out,
                             hv_errmsg *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_err err = hv_file_read(path, HV_REGISTRY_FILE_MAX, &buf, &len, e);
    if (err != HV_OK)
        return err;
    err = hv_registry_load(buf, len, authority_sign_pk, now, held_version, out, e);
    free(buf);
    if (err != HV_OK)
        hv_fail_prefix(e, err, path); /* which file, for the operator */
    return err;
}

hv_err hv_registry_decode_unverified(const uint8_t *buf, size_t len, hv_registry **out,
                                     hv_errmsg *e)
{
    const uint8_t *payload;
    size_t payload_len;
    uint8_t sig[HV_SIG_BYTES];
    hv_err err = s_unwrap(buf, len, &payload, &payload_len, sig, e);
    if (err != HV_OK)
        return err;
    return hv_registry_decode_payload(payload, payload_len, out, e);
}

const char *hv_registry_network(const hv_registry *reg) { return reg->network; }
uint64_t hv_registry_version(const hv_registry *reg) { return reg->version; }
uint64_t hv_registry_issued_at(const hv_registry *reg) { return reg->issued_at; }
uint64_t hv_registry_expires_at(const hv_registry *reg) { return reg->expires_at; }
size_t hv_registry_count(const hv_registry *reg) { return reg->n_nodes; }

const hv_node *hv_registry_node(const hv_registry *reg, size_t index)
{
    return index < reg->n_nodes ? &reg->nodes[index] : NULL;
}

/* Linear lookups: registries hold hundreds of nodes, and brokers cache the
 * result per connection. */
const hv_node *hv_registry_find(const hv_registry *reg, const char *id)
{
    for (size_t i = 0; i < reg->n_nodes; i++)
        if (strcmp(reg->nodes[i].id, id) == 0)
            return &reg->nodes[i];
    return NULL;
}

const hv_node *hv_registry_find_by_transport(const hv_registry *reg, const uint8_t pk[32])
{
    for (size_t i = 0; i < reg->n_nodes; i++)
        if (hv_node_keys_by_transport(&reg->nodes[i], pk, NULL) != NULL)
            return &reg->nodes[i];
    return NULL;
}

const hv_pubkeys *hv_node_keys_by_id(const hv_node *node, const uint8_t kid[HV_KEY_ID_BYTES],
                                     uint64_t now, hv_key_slot *slot)
{
    const hv_pubkeys *found = NULL;
    hv_key_slot which = HV_KEYS_NONE;
    if (memcmp(node->keys.key_id, kid, HV_KEY_ID_BYTES) == 0) {
        found = &node->keys;
        which = HV_KEYS_CURRENT;
    } else if (node->has_next && memcmp(node->next_keys.key_id, kid, HV_KEY_ID_BYTES) == 0) {
        found = &node->next_keys;
        which = HV_KEYS_NEXT;
    } else if (node->has_previous && now < node->previous_until &&
               memcmp(node->previous_keys.key_id, kid, HV_KEY_ID_BYTES) == 0) {
        found = &node->previous_keys;
        which = HV_KEYS_PREVIOUS;
    }
    if (slot != NULL)
        *slot = which;
    return found;
}

const hv_pubkeys *hv_node_keys_by_transport(const hv_node *node, const uint8_t pk[32],
                                            hv_key_slot *slot)
{
    const hv_pubkeys *found = NULL;
    hv_key_slot which = HV_KEYS_NONE;
    if (memcmp(node->keys.transport, pk, HV_PK_BYTES) == 0) {
        found = &node->keys;
        which = HV_KEYS_CURRENT;
    } else if (node->has_next && memcmp(node->next_keys.transport, pk, HV_PK_BYTES) == 0) {
        found = &node->next_keys;
        which = HV_KEYS_NEXT;
    }
    if (slot != NULL)
        *slot = which;
    return found;
}

bool hv_node_in_scope(const hv_node *op, const char *country)
{
    if (strcmp(op->country, country) == 0)
        return true;
    for (unsigned i = 0; i < op->n_scope; i++)
        if (strcmp(op->scope[i], "*") == 0 || strcmp(op->scope[i], country) == 0)
            return true;
    return false;
}

bool hv_node_active(const hv_node *node, uint64_t now)
{
    return !node->revoked && now >= node->valid_from && now < node->valid_until;
}

size_t hv_registry_providers(const hv_registry *reg, const char *country, hv_service svc,
                             uint64_t now, const hv_node **out, size_t max)
{
    size_t found = 0;
    for (size_t i = 0; i < reg->n_nodes; i++) {
        const hv_node *n = &reg->nodes[i];
        if (n->role != HV_ROLE_PROVIDER || strcmp(n->country, country) != 0 ||
            !(n->services & (1u << svc)) || !hv_node_active(n, now))
            continue;
        if (found < max)
            out[found] = n;
        found++;
    }
    return found;
}

void hv_time_format(uint64_t t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 21, "@%llu", (unsigned long long)t);
}

hv_err hv_time_parse(const char *s, uint64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strlen(s) != 20)
        return HV_EINVAL;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0' || tm.tm_year < 70)
        return HV_EINVAL;
    time_t t = timegm(&tm);
    if (t < 0)
        return HV_EINVAL;
    /* Refuse dates that normalise to another day, e.g. 2026-02-30. */
    char back[21];
    hv_time_format((uint64_t)t, back);
    if (strcmp(back, s) != 0)
        return HV_EINVAL;
    *out = (uint64_t)t;
    return HV_OK;
}
