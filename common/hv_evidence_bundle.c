/* Evidence bundles: write, parse, verify; see hv_evidence_bundle.h. */
#include "hv_evidence_bundle.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_json.h"
#include "hv_text.h"

/* The largest integer a JSON number carries exactly (2^53). */
#define S_JSON_INT_MAX 9007199254740992.0

json_t *hv_evidence_registry_json(uint64_t version, const uint8_t *bytes, size_t len)
{
    char *hex = malloc(2 * len + 1);
    if (hex == NULL)
        return NULL;
    hv_hex(bytes, len, hex);
    json_t *j = json_pack("{s:I, s:s}", "version", (json_int_t)version, "signed", hex);
    free(hex);
    return j;
}

json_t *hv_evidence_item_json(const hv_evidence_item *it)
{
    hv_envelope h;
    if (hv_envelope_decode_header(it->header, it->header_len, &h) != HV_OK)
        return NULL;
    char id[33], kid[17], header[2 * HV_EVIDENCE_HEADER_MAX + 1], bd[65], sig[129];
    hv_hex(h.id, sizeof h.id, id);
    hv_hex(h.from_kid, sizeof h.from_kid, kid);
    hv_hex(it->header, it->header_len, header);
    hv_hex(it->body_digest, sizeof it->body_digest, bd);
    hv_hex(it->sig, sizeof it->sig, sig);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I}",
                     "direction", it->sent ? "sent" : "received", "type",
                     hv_msg_rule_get(h.type)->name, "id", id, "from", h.from, "to", h.to,
                     "created_at_ms", (json_int_t)h.created_at_ms, "from_kid", kid, "header",
                     header, "body_digest", bd, "signature", sig, "verified_at_ms",
                     (json_int_t)it->verified_at_ms, "registry_version",
                     (json_int_t)it->registry_version);
}

/* ---------------------------------------------------------------- parse */

/* Checks that `obj` is an object with exactly the `n` members `names`. */
static hv_err s_members(const hv_json *obj, const char *what, const char *const *names,
                        size_t n, hv_errmsg *e)
{
    if (obj == NULL || obj->type != HV_JSON_OBJECT)
        return hv_fail(e, HV_EDECODE, "%s is not an object", what);
    for (size_t i = 0; i < obj->n; i++) {
        size_t k = 0;
        while (k < n && strcmp(obj->items[i]->key, names[k]) != 0)
            k++;
        if (k == n)
            return hv_fail(e, HV_EDECODE, "%s: unknown member '%.40s'", what, obj->items[i]->key);
    }
    for (size_t k = 0; k < n; k++)
        if (hv_json_get(obj, names[k]) == NULL)
            return hv_fail(e, HV_EDECODE, "%s: member '%s' is missing", what, names[k]);
    return HV_OK;
}

static hv_err s_uint(const hv_json *obj, const char *what, const char *key, uint64_t *out,
                     hv_errmsg *e)
{
    const hv_json *v = hv_json_get(obj, key);
    if (v->type != HV_JSON_NUMBER || !v->is_int || v->num < 0 || v->num > S_JSON_INT_MAX)
        return hv_fail(e, HV_EDECODE, "%s: '%s' is not a whole number from 0 to 2^53", what,
                       key);
    *out = (uint64_t)v->num;
    return HV_OK;
}

static hv_err s_str(const hv_json *obj, const char *what, const char *key, const char **out,
                    hv_errmsg *e)
{
    const hv_json *v = hv_json_get(obj, key);
    if (v->type != HV_JSON_STRING)
        return hv_fail(e, HV_EDECODE, "%s: '%s' is not a string", what, key);
    *out = v->str;
    return HV_OK;
}

/* A hex string of exactly `len` bytes. */
static hv_err s_hex(const hv_json *obj, const char *what, const char *key, uint8_t *out,
                    size_t len, hv_errmsg *e)
{
    const char *s = NULL;
    hv_err err = s_str(obj, what, key, &s, e);
    if (err != HV_OK)
        return err;
    if (strlen(s) != 2 * len || hv_unhex(s, out, len) != HV_OK)
        return hv_fail(e, HV_EDECODE, "%s: '%s' is not %zu bytes of hex", what, key, len);
    return HV_OK;
}

/* A hex string of 1 to `max` bytes, into `*out` (malloc'd). */
static hv_err s_hex_var(const hv_json *obj, const char *what, const char *key, size_t max,
                        uint8_t **out, size_t *len, hv_errmsg *e)
{
    const char *s = NULL;
    hv_err err = s_str(obj, what, key, &s, e);
    if (err != HV_OK)
        return err;
    size_t n = strlen(s);
    if (n == 0 || n % 2 != 0 || n / 2 > max)
        return hv_fail(e, HV_EDECODE, "%s: '%s' is not 1 to %zu bytes of hex", what, key, max);
    uint8_t *buf = malloc(n / 2);
    if (buf == NULL)
        return HV_ENOMEM;
    if (hv_unhex(s, buf, n / 2) != HV_OK) {
        free(buf);
        return hv_fail(e, HV_EDECODE, "%s: '%s' is not hex", what, key);
    }
    *out = buf;
    *len = n / 2;
    return HV_OK;
}

static hv_err s_parse_registry(const hv_json *j, size_t i, hv_evidence_registry *r,
                               hv_errmsg *e)
{
    static const char *const names[] = {"version", "signed"};
    char what[40];
    snprintf(what, sizeof what, "registries[%zu]", i);
    hv_err err = s_members(j, what, names, 2, e);
    if (err == HV_OK)
        err = s_uint(j, what, "version", &r->version, e);
    if (err == HV_OK && r->version == 0)
        err = hv_fail(e, HV_EDECODE, "%s: version 0", what);
    if (err == HV_OK)
        err = s_hex_var(j, what, "signed", HV_JSON_TEXT_MAX / 2, &r->bytes, &r->len, e);
    return err;
}

/* The item's fields for people must say what its header says. */
static hv_err s_agree(const hv_json *j, const char *what, const hv_evidence_item *it,
                      const uint8_t referral[16], hv_errmsg *e)
{
    const hv_envelope *h = &it->hdr;
    const char *type = NULL, *from = NULL, *to = NULL;
    uint8_t id[16], kid[8];
    uint64_t created;
    hv_err err;
    if ((err = s_str(j, what, "type", &type, e)) != HV_OK ||
        (err = s_str(j, what, "from", &from, e)) != HV_OK ||
        (err = s_str(j, what, "to", &to, e)) != HV_OK ||
        (err = s_hex(j, what, "id", id, sizeof id, e)) != HV_OK ||
        (err = s_hex(j, what, "from_kid", kid, sizeof kid, e)) != HV_OK ||
        (err = s_uint(j, what, "created_at_ms", &created, e)) != HV_OK)
        return err;
    const char *field = NULL;
    if (strcmp(type, hv_msg_rule_get(h->type)->name) != 0)
        field = "type";
    else if (strcmp(from, h->from) != 0)
        field = "from";
    else if (strcmp(to, h->to) != 0)
        field = "to";
    else if (memcmp(id, h->id, sizeof id) != 0)
        field = "id";
    else if (memcmp(kid, h->from_kid, sizeof kid) != 0)
        field = "from_kid";
    else if (created != h->created_at_ms)
        field = "created_at_ms";
    else if (memcmp(referral, h->referral, 16) != 0)
        field = "referral";
    if (field != NULL)
        return hv_fail(e, HV_EDECODE, "%s: '%s' differs from its signed header", what, field);
    return HV_OK;
}

static hv_err s_parse_item(const hv_json *j, size_t i, const uint8_t referral[16],
                           hv_evidence_item *it, hv_errmsg *e)
{
    static const char *const names[] = {"direction", "type", "id", "from", "to",
                                        "created_at_ms", "from_kid", "header", "body_digest",
                                        "signature", "verified_at_ms", "registry_version"};
    char what[40];
    snprintf(what, sizeof what, "items[%zu]", i);
    const char *dir = NULL;
    uint8_t *hdr = NULL;
    hv_err err;
    if ((err = s_members(j, what, names, sizeof names / sizeof names[0], e)) != HV_OK ||
        (err = s_str(j, what, "direction", &dir, e)) != HV_OK)
        return err;
    if (strcmp(dir, "sent") != 0 && strcmp(dir, "received") != 0)
        return hv_fail(e, HV_EDECODE, "%s: direction is neither 'sent' nor 'received'", what);
    it->sent = strcmp(dir, "sent") == 0;
    if ((err = s_hex_var(j, what, "header", HV_EVIDENCE_HEADER_MAX, &hdr, &it->header_len,
                         e)) != HV_OK)
        return err;
    memcpy(it->header, hdr, it->header_len);
    free(hdr);
    if ((err = hv_envelope_decode_header(it->header, it->header_len, &it->hdr)) != HV_OK)
        return hv_fail(e, HV_EDECODE, "%s: the header does not decode (%s)", what,
                       hv_errname(err));
    it->hdr.header = NULL; /* the item may move */
    if ((err = s_hex(j, what, "body_digest", it->body_digest, sizeof it->body_digest, e)) !=
            HV_OK ||
        (err = s_hex(j, what, "signature", it->sig, sizeof it->sig, e)) != HV_OK ||
        (err = s_uint(j, what, "verified_at_ms", &it->verified_at_ms, e)) != HV_OK ||
        (err = s_uint(j, what, "registry_version", &it->registry_version, e)) != HV_OK)
        return err;
    return s_agree(j, what, it, referral, e);
}

hv_err hv_evidence_parse(const uint8_t *buf, size_t len, hv_evidence_bundle **out,
                         hv_errmsg *e)
{
    static const char *const names[] = {"format", "node", "referral", "exported_at",
                                        "registries", "items"};
    hv_json *root = NULL;
    hv_json_error je;
    hv_err err = hv_json_parse((const char *)buf, len, &root, &je);
    if (err == HV_EJSON)
        return hv_fail(e, err, "line %u, column %u: %s", je.line, je.col, je.text);
    if (err != HV_OK)
        return err == HV_ETOOBIG ? hv_fail(e, err, "the bundle is over %u bytes",
                                           HV_JSON_TEXT_MAX)
                                 : err;
    hv_evidence_bundle *b = calloc(1, sizeof *b);
    const char *s = NULL;
    if (b == NULL) {
        err = HV_ENOMEM;
        goto fail;
    }
    if (root->type != HV_JSON_OBJECT) {
        err = hv_fail(e, HV_EDECODE, "the bundle is not an object");
        goto fail;
    }
    const hv_json *fmt = hv_json_get(root, "format");
    if (fmt == NULL || fmt->type != HV_JSON_STRING || strcmp(fmt->str, HV_EVIDENCE_FORMAT)) {
        err = hv_fail(e, HV_EVERSION, "not a %s bundle", HV_EVIDENCE_FORMAT);
        goto fail;
    }
    if ((err = s_members(root, "the bundle", names, sizeof names / sizeof names[0], e)) !=
            HV_OK ||
        (err = s_str(root, "the bundle", "node", &s, e)) != HV_OK)
        goto fail;
    if (!hv_node_id_valid_cstr(s)) {
        err = hv_fail(e, HV_EDECODE, "the bundle: 'node' is not a node id");
        goto fail;
    }
    snprintf(b->node, sizeof b->node, "%s", s);
    if ((err = s_hex(root, "the bundle", "referral", b->referral, 16, e)) != HV_OK ||
        (err = s_uint(root, "the bundle", "exported_at", &b->exported_at, e)) != HV_OK)
        goto fail;
    const hv_json *regs = hv_json_get(root, "registries"), *items = hv_json_get(root, "items");
    if (regs->type != HV_JSON_ARRAY || items->type != HV_JSON_ARRAY) {
        err = hv_fail(e, HV_EDECODE, "the bundle: 'registries' and 'items' must be arrays");
        goto fail;
    }
    if (regs->n > HV_EVIDENCE_REGISTRIES_MAX || items->n > HV_EVIDENCE_ITEMS_MAX) {
        err = hv_fail(e, HV_ETOOBIG, "the bundle holds more than %d registries or %d items",
                      HV_EVIDENCE_REGISTRIES_MAX, HV_EVIDENCE_ITEMS_MAX);
        goto fail;
    }
    b->registries = calloc(regs->n ? regs->n : 1, sizeof *b->registries);
    b->items = calloc(items->n ? items->n : 1, sizeof *b->items);
    if (b->registries == NULL || b->items == NULL) {
        err = HV_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < regs->n; i++) {
        if ((err = s_parse_registry(regs->items[i], i, &b->registries[i], e)) != HV_OK)
            goto fail;
        b->n_registries++;
        for (size_t k = 0; k < i; k++)
            if (b->registries[k].version == b->registries[i].version) {
                err = hv_fail(e, HV_EDECODE, "registries[%zu]: version %" PRIu64 " twice", i,
                              b->registries[i].version);
                goto fail;
            }
    }
    for (size_t i = 0; i < items->n; i++) {
        if ((err = s_parse_item(items->items[i], i, b->referral, &b->items[i], e)) != HV_OK)
            goto fail;
        b->n_items++;
    }
    hv_json_free(&root);
    *out = b;
    return HV_OK;
fail:
    hv_json_free(&root);
    hv_evidence_bundle_free(&b);
    return err;
}

void hv_evidence_bundle_free(hv_evidence_bundle **b)
{
    if (b == NULL || *b == NULL)
        return;
    for (size_t i = 0; i < (*b)->n_registries; i++)
        free((*b)->registries[i].bytes);
    free((*b)->registries);
    free((*b)->items);
    free(*b);
    *b = NULL;
}

/* --------------------------------------------------------------- verify */

/* Loads registry `i` of the bundle: the authority's signature, checked at
 * the registry's own issue time (its dates are checked against each
 * message's time instead), and the version the bundle states. */
static hv_err s_load_registry(const hv_evidence_registry *r,
                              const uint8_t authority_pk[HV_PK_BYTES], hv_registry **out,
                              hv_errmsg *e)
{
    hv_registry *peek = NULL;
    hv_errmsg sub = {""};
    hv_err err = hv_registry_decode_unverified(r->bytes, r->len, &peek, &sub);
    if (err != HV_OK)
        return hv_fail(e, err, "registry v%" PRIu64 ": not a signed registry: %s", r->version,
                       sub.text[0] ? sub.text : hv_strerror(err));
    uint64_t issued = hv_registry_issued_at(peek);
    hv_registry_free(&peek);
    if ((err = hv_registry_load(r->bytes, r->len, authority_pk, issued, 0, out, &sub)) != HV_OK)
        return hv_fail(e, err, "registry v%" PRIu64 ": %s", r->version,
                       err == HV_EREG_SIGNATURE ? "the authority's signature does not verify"
                                                : (sub.text[0] ? sub.text : hv_strerror(err)));
    if (hv_registry_version(*out) != r->version) {
        err = hv_fail(e, HV_EREG_INVALID, "registry v%" PRIu64 ": the file is version %" PRIu64,
                      r->version, hv_registry_version(*out));
        hv_registry_free(out);
    }
    return err;
}

static const char *s_slot_name(hv_key_slot s)
{
    return s == HV_KEYS_NEXT ? "next" : s == HV_KEYS_PREVIOUS ? "previous" : "current";
}

/* Checks one item against the bundle's registries (`regs`, as loaded). */
static hv_err s_verify_item(const hv_evidence_bundle *b, hv_registry *const *regs, size_t i,
                            hv_evidence_checked *c, hv_errmsg *e)
{
    const hv_evidence_item *it = &b->items[i];
    const hv_envelope *h = &it->hdr;
    const char *type = hv_msg_rule_get(h->type)->name;
    char label[200], at[21], kid[17];
    snprintf(label, sizeof label, "item %zu (%s %s \u2192 %s)", i + 1, type, h->from, h->to);
    uint64_t t = h->created_at_ms / 1000;
    hv_time_format(t, at);
    hv_hex(h->from_kid, sizeof h->from_kid, kid);
    const hv_registry *reg = NULL;
    for (size_t k = 0; k < b->n_registries; k++)
        if (b->registries[k].version == it->registry_version)
            reg = regs[k];
    uint64_t v = it->registry_version;
    if (reg == NULL)
        return hv_fail(e, HV_EAUTH, "%s: registry v%" PRIu64 " is not in the bundle", label, v);
    if (t < hv_registry_issued_at(reg) || t >= hv_registry_expires_at(reg)) {
        char t1[21], t2[21];
        hv_time_format(hv_registry_issued_at(reg), t1);
        hv_time_format(hv_registry_expires_at(reg), t2);
        return hv_fail(e, HV_EREG_EXPIRED, "%s: sent at %s, outside registry v%" PRIu64
                       "'s validity (%s until %s)", label, at, v, t1, t2);
    }
    const hv_node *n = hv_registry_find(reg, h->from);
    if (n == NULL)
        return hv_fail(e, HV_EAUTH, "%s: registry v%" PRIu64 " does not list the signer '%s'",
                       label, v, h->from);
    if (!hv_node_active(n, t))
        return hv_fail(e, HV_EAUTH, "%s: '%s' was not an active node at %s in registry v%" PRIu64
                       " (revoked, or outside its validity)", label, h->from, at, v);
    hv_key_slot slot = HV_KEYS_NONE;
    const hv_pubkeys *keys = hv_node_keys_by_id(n, h->from_kid, t, &slot);
    if (keys == NULL)
        return hv_fail(e, HV_EAUTH, "%s: key %s is not a key registry v%" PRIu64
                       " lists for '%s' at %s", label, kid, v, h->from, at);
    if (!(hv_msg_rule_get(h->type)->sender_roles & HV_ROLE_BIT(n->role)))
        return hv_fail(e, HV_EFORBIDDEN, "%s: a%s %s may not send %s", label,
                       strchr("aeiou", hv_role_name(n->role)[0]) ? "n" : "",
                       hv_role_name(n->role), type);
    if (hv_seal_verify_digest(keys->sign, it->header, it->header_len, it->body_digest,
                              it->sig) != HV_OK)
        return hv_fail(e, HV_ECRYPTO, "%s: the signature does not verify with %s's %s key %s "
                       "in registry v%" PRIu64, label, h->from, s_slot_name(slot), kid, v);
    c->item = it;
    c->index = i + 1;
    c->slot = slot;
    c->organisation = n->organisation;
    return HV_OK;
}

hv_err hv_evidence_verify(const hv_evidence_bundle *b, const uint8_t authority_pk[HV_PK_BYTES],
                          void (*each)(void *ctx, const hv_evidence_checked *c), void *ctx,
                          size_t *failed, hv_errmsg *e)
{
    hv_registry *regs[HV_EVIDENCE_REGISTRIES_MAX] = {NULL};
    hv_err err = HV_OK;
    if (failed != NULL)
        *failed = 0;
    for (size_t k = 0; k < b->n_registries && err == HV_OK; k++)
        err = s_load_registry(&b->registries[k], authority_pk, &regs[k], e);
    for (size_t i = 0; i < b->n_items && err == HV_OK; i++) {
        hv_evidence_checked c;
        if ((err = s_verify_item(b, regs, i, &c, e)) != HV_OK) {
            if (failed != NULL)
                *failed = i + 1;
        } else if (each != NULL) {
            each(ctx, &c);
        }
    }
    for (size_t k = 0; k < b->n_registries; k++)
        hv_registry_free(&regs[k]);
    return err;
}
