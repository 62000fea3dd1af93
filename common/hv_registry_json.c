/* The network authority's JSON source of the registry; the schema is in
 * proto/PROTOCOL.md §8.1. Every error names the JSON path of the value. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_file.h"
#include "hv_keys.h"
#include "hv_registry_internal.h"

/* Copies a required (or optional, when `required` is false) string field of
 * at most `cap - 1` bytes. `path` names the containing object. */
static hv_err s_string(json_t *obj, const char *path, const char *key, bool required, char *out,
                       size_t cap, hv_errmsg *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (!required) {
            out[0] = '\0';
            return HV_OK;
        }
        return hv_fail(e, HV_EREG_INVALID, "%s.%s: required string is missing", path, key);
    }
    if (!json_is_string(v))
        return hv_fail(e, HV_EREG_INVALID, "%s.%s: expected a string", path, key);
    size_t n = json_string_length(v);
    if (n >= cap || memchr(json_string_value(v), '\0', n) != NULL)
        return hv_fail(e, HV_EREG_INVALID, "%s.%s: expected at most %zu characters, no NUL",
                       path, key, cap - 1);
    memcpy(out, json_string_value(v), n + 1);
    return HV_OK;
}

static hv_err s_time(json_t *obj, const char *path, const char *key, uint64_t *out,
                     hv_errmsg *e)
{
    char buf[32];
    hv_err err = s_string(obj, path, key, true, buf, sizeof buf, e);
    if (err != HV_OK)
        return err;
    if (hv_time_parse(buf, out) != HV_OK)
        return hv_fail(e, HV_EREG_INVALID,
                       "%s.%s: expected a UTC time such as \"2026-11-01T00:00:00Z\", got \"%s\"",
                       path, key, buf);
    return HV_OK;
}

static hv_err s_uint(json_t *obj, const char *path, const char *key, bool required,
                     uint64_t max, uint64_t *out, hv_errmsg *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL && !required) {
        *out = 0;
        return HV_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return hv_fail(e, HV_EREG_INVALID, "%s.%s: expected an integer from 0 to %llu", path,
                       key, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return HV_OK;
}

static hv_err s_bool(json_t *obj, const char *path, const char *key, bool *out, hv_errmsg *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = false;
        return HV_OK;
    }
    if (!json_is_boolean(v))
        return hv_fail(e, HV_EREG_INVALID, "%s.%s: expected true or false", path, key);
    *out = json_is_true(v);
    return HV_OK;
}

/* Refuses keys not in `known` (NULL-terminated), so that a misspelt field
 * is an error instead of a silently missing value. */
static hv_err s_only_known(json_t *obj, const char *path, const char *const *known,
                           hv_errmsg *e)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        const char *const *k = known;
        while (*k != NULL && strcmp(*k, key) != 0)
            k++;
        if (*k == NULL)
            return hv_fail(e, HV_EREG_INVALID, "%s: unknown field \"%.64s\"", path, key);
    }
    return HV_OK;
}

static hv_err s_list(json_t *obj, const char *path, const char *key, char *items, size_t cap,
                     uint8_t *count, hv_errmsg *e)
{
    json_t *arr = json_object_get(obj, key);
    *count = 0;
    if (arr == NULL)
        return HV_OK;
    if (!json_is_array(arr) || json_array_size(arr) > HV_LIST_MAX)
        return hv_fail(e, HV_EREG_INVALID, "%s.%s: expected an array of at most %d strings",
                       path, key, HV_LIST_MAX);
    for (size_t k = 0; k < json_array_size(arr); k++) {
        json_t *v = json_array_get(arr, k);
        if (!json_is_string(v) || json_string_length(v) >= cap || json_string_length(v) == 0)
            return hv_fail(e, HV_EREG_INVALID, "%s.%s[%zu]: expected a string of 1 to %zu "
                           "characters", path, key, k, cap - 1);
        memcpy(items + k * cap, json_string_value(v), json_string_length(v) + 1);
    }
    *count = (uint8_t)json_array_size(arr);
    return HV_OK;
}

/* Reads the key set `field` (inline) or `field`_file (a .pub path relative
 * to the source) into `out`. `required` false: neither may be given, and
 * `*has` says which. */
static hv_err s_keys(json_t *node, const char *path, const char *base_dir, const char *field,
                     bool required, const char *node_id, hv_pubkeys *out, bool *has,
                     hv_errmsg *e)
{
    char file_field[32], where[96];
    snprintf(file_field, sizeof file_field, "%s_file", field);
    json_t *keys = json_object_get(node, field);
    json_t *file = json_object_get(node, file_field);
    hv_err err;
    *has = keys != NULL || file != NULL;
    if (!required && !*has)
        return HV_OK;
    if ((keys == NULL) == (file == NULL))
        return hv_fail(e, HV_EREG_INVALID, "%s: give exactly one of \"%s\" or \"%s\"", path,
                       field, file_field);
    snprintf(where, sizeof where, "%s.%s", path, keys != NULL ? field : file_field);
    char key_owner[HV_NODE_ID_MAX + 1] = "";
    if (keys != NULL) {
        err = hv_keys_from_json(keys, out, json_object_get(keys, "id") ? key_owner : NULL, e);
    } else {
        if (!json_is_string(file))
            return hv_fail(e, HV_EREG_INVALID, "%s: expected a path", where);
        if (base_dir == NULL)
            return hv_fail(e, HV_EREG_INVALID, "%s: not allowed here", where);
        char full[PATH_MAX];
        const char *f = json_string_value(file);
        bool as_is = f[0] == '/' || strcmp(base_dir, ".") == 0;
        if ((size_t)snprintf(full, sizeof full, "%s%s%s", as_is ? "" : base_dir,
                             as_is ? "" : "/", f) >= sizeof full)
            return hv_fail(e, HV_EREG_INVALID, "%s: path too long", where);
        err = hv_keys_load_public(full, out, key_owner, e);
    }
    if (err != HV_OK)
        return hv_fail_prefix(e, err, required ? path : where);
    if (key_owner[0] != '\0' && strcmp(key_owner, node_id) != 0)
        return hv_fail(e, HV_EREG_INVALID, "%s: the keys belong to node \"%s\", not \"%s\"",
                       where, key_owner, node_id);
    return HV_OK;
}

/* An operator's scope: country codes, or "*" for every country. */
static hv_err s_scope(json_t *node, const char *path, hv_node *n, hv_errmsg *e)
{
    json_t *arr = json_object_get(node, "scope");
    if (arr == NULL)
        return HV_OK;
    if (!json_is_array(arr) || json_array_size(arr) > HV_LIST_MAX)
        return hv_fail(e, HV_EREG_INVALID, "%s.scope: expected an array of at most %d country "
                       "codes", path, HV_LIST_MAX);
    for (size_t k = 0; k < json_array_size(arr); k++) {
        json_t *v = json_array_get(arr, k);
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 2)
            return hv_fail(e, HV_EREG_INVALID,
                           "%s.scope[%zu]: expected a country code such as \"XA\", or \"*\"",
                           path, k);
        memcpy(n->scope[k], json_string_value(v), json_string_length(v) + 1);
    }
    n->n_scope = (uint8_t)json_array_size(arr);
    return HV_OK;
}

static hv_err s_node(json_t *node, size_t i, const char *base_dir, hv_node *n, hv_errmsg *e)
{
    static const char *const known[] = {
        "id",        "role",        "country",  "organisation", "home",      "endpoints",
        "keys",      "keys_file",   "valid_from", "valid_until", "revoked",  "services",
        "regions",   "languages",   "accepts_minors", "capacity", "next_keys",
        "next_keys_file", "previous_keys", "previous_keys_file", "previous_until", "scope",
        NULL};
    char path[48];
    snprintf(path, sizeof path, "nodes[%zu]", i);
    if (!json_is_object(node))
        return hv_fail(e, HV_EREG_INVALID, "%s: expected an object", path);
    hv_err err;
    char role[16];
    uint64_t capacity;
    bool has_keys;
    if ((err = s_only_known(node, path, known, e)) != HV_OK ||
        (err = s_string(node, path, "id", true, n->id, sizeof n->id, e)) != HV_OK)
        return err;
    if (!hv_node_id_valid_cstr(n->id))
        return hv_fail(e, HV_EREG_INVALID,
                       "%s.id: \"%s\" is not a node id (1-64 of a-z 0-9 . _ -, starting with "
                       "a letter or digit)",
                       path, n->id);
    if ((err = s_string(node, path, "role", true, role, sizeof role, e)) != HV_OK)
        return err;
    n->role = (uint8_t)hv_role_from_name(role);
    if (n->role == 0)
        return hv_fail(e, HV_EREG_ROLE,
                       "%s.role: unknown role \"%s\" (expected broker, intake, router, provider "
                       "or operator)",
                       path, role);
    if ((err = s_string(node, path, "country", true, n->country, sizeof n->country, e)) ||
        (err = s_string(node, path, "organisation", true, n->organisation,
                        sizeof n->organisation, e)) ||
        (err = s_string(node, path, "home", false, n->home, sizeof n->home, e)) ||
        (err = s_keys(node, path, base_dir, "keys", true, n->id, &n->keys, &has_keys, e)) ||
        (err = s_keys(node, path, base_dir, "next_keys", false, n->id, &n->next_keys,
                      &n->has_next, e)) ||
        (err = s_keys(node, path, base_dir, "previous_keys", false, n->id, &n->previous_keys,
                      &n->has_previous, e)) ||
        (err = s_scope(node, path, n, e)) ||
        (err = s_time(node, path, "valid_from", &n->valid_from, e)) ||
        (err = s_time(node, path, "valid_until", &n->valid_until, e)) ||
        (err = s_bool(node, path, "revoked", &n->revoked, e)) ||
        (err = s_list(node, path, "regions", &n->regions[0][0], sizeof n->regions[0],
                      &n->n_regions, e)) ||
        (err = s_list(node, path, "languages", &n->languages[0][0], sizeof n->languages[0],
                      &n->n_languages, e)) ||
        (err = s_bool(node, path, "accepts_minors", &n->accepts_minors, e)) ||
        (err = s_uint(node, path, "capacity", false, UINT32_MAX, &capacity, e)))
        return err;
    n->capacity = (uint32_t)capacity;
    if (json_object_get(node, "previous_until") != NULL &&
        (err = s_time(node, path, "previous_until", &n->previous_until, e)) != HV_OK)
        return err;

    json_t *eps = json_object_get(node, "endpoints");
    if (eps != NULL) {
        static const char *const ep_known[] = {"workers", "peers", NULL};
        char ep_path[64];
        snprintf(ep_path, sizeof ep_path, "%s.endpoints", path);
        if (!json_is_object(eps))
            return hv_fail(e, HV_EREG_INVALID, "%s: expected an object", ep_path);
        if ((err = s_only_known(eps, ep_path, ep_known, e)) ||
            (err = s_string(eps, ep_path, "workers", true, n->endpoint_workers,
                            sizeof n->endpoint_workers, e)) ||
            (err = s_string(eps, ep_path, "peers", false, n->endpoint_peers,
                            sizeof n->endpoint_peers, e)))
            return err;
    }

    json_t *svcs = json_object_get(node, "services");
    if (svcs != NULL) {
        if (!json_is_array(svcs))
            return hv_fail(e, HV_EREG_INVALID, "%s.services: expected an array", path);
        for (size_t k = 0; k < json_array_size(svcs); k++) {
            json_t *v = json_array_get(svcs, k);
            int svc = json_is_string(v) ? hv_service_from_name(json_string_value(v)) : -1;
            if (svc < 0)
                return hv_fail(e, HV_EREG_INVALID,
                               "%s.services[%zu]: unknown service (expected one of shelter, "
                               "medical, psychosocial, legal_aid, interpretation, return, "
                               "documentation, child_protection, livelihood, education, "
                               "family_tracing)",
                               path, k);
            n->services |= 1u << svc;
        }
    }
    return HV_OK;
}

hv_err hv_registry_from_json(const char *text, size_t len, const char *base_dir,
                             hv_registry **out, hv_errmsg *e)
{
    static const char *const known[] = {"network", "version", "issued_at", "expires_at",
                                        "nodes", NULL};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return hv_fail(e, HV_EJSON, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    hv_registry *reg = NULL;
    hv_err err;
    json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_object(root)) {
        err = hv_fail(e, HV_EREG_INVALID, "$: expected an object");
        goto fail;
    }
    if ((err = s_only_known(root, "$", known, e)) != HV_OK)
        goto fail;
    if (!json_is_array(nodes) || json_array_size(nodes) > HV_REGISTRY_NODES_MAX) {
        err = hv_fail(e, HV_EREG_INVALID, "$.nodes: expected an array of at most %d nodes",
                      HV_REGISTRY_NODES_MAX);
        goto fail;
    }
    if ((err = hv_registry_alloc(json_array_size(nodes), &reg)) != HV_OK)
        goto fail;
    if ((err = s_string(root, "$", "network", true, reg->network, sizeof reg->network, e)) ||
        (err = s_uint(root, "$", "version", true, (uint64_t)INT64_MAX, &reg->version, e)) ||
        (err = s_time(root, "$", "issued_at", &reg->issued_at, e)) ||
        (err = s_time(root, "$", "expires_at", &reg->expires_at, e)))
        goto fail;
    for (size_t i = 0; i < reg->n_nodes; i++)
        if ((err = s_node(json_array_get(nodes, i), i, base_dir, &reg->nodes[i], e)) != HV_OK)
            goto fail;
    if ((err = hv_registry_validate(reg, e)) != HV_OK)
        goto fail;
    json_decref(root);
    *out = reg;
    return HV_OK;

fail:
    json_decref(root);
    hv_registry_free(&reg);
    return err;
}

hv_err hv_registry_from_json_file(const char *path, hv_registry **out, hv_errmsg *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_err err = hv_file_read(path, HV_REGISTRY_FILE_MAX, &buf, &len, e);
    if (err != HV_OK)
        return err;
    /* keys_file paths are relative to the source file's directory. */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (dir[0] == '\0')
        snprintf(dir, sizeof dir, "/");
    err = hv_registry_from_json((const char *)buf, len, dir, out, e);
    free(buf);
    if (err != HV_OK)
        hv_fail_prefix(e, err, path);
    return err;
}
