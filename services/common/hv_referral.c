/* Referral file checking; see hv_referral.h and docs/REFERRAL.md. */
#include "hv_referral.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_referral_ck.h"
#include "hv_registry.h"

/* ------------------------------------------------------------ sections */

static void s_subject(hv_rck *c, const hv_json *root, hv_rck_facts *f)
{
    char p[128];
    const hv_json *s = hv_rck_object(c, root, "", "subject", true, p, sizeof p);
    if (s != NULL)
        hv_rck_person(c, s, "subject", f, &c->out->summary, true);
}

static void s_child(hv_rck *c, const hv_json *root, hv_rck_facts *f)
{
    char p[128];
    f->minor = hv_rck_bool(c, root, "", "minor", true);
    int unaccompanied = hv_rck_bool(c, root, "", "unaccompanied", false);
    static const char *const gkeys[] = {"name", "relationship", "organisation", "contact", NULL};
    static const char *const pkeys[] = {"authority", "case_reference", "contact", NULL};
    const hv_json *g = hv_rck_object(c, root, "", "guardian", false, p, sizeof p);
    if (g != NULL) {
        hv_rck_known(c, g, "guardian", gkeys);
        (void)hv_rck_string(c, g, "guardian", "name", true, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, g, "guardian", "relationship", true, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, g, "guardian", "organisation", false, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, g, "guardian", "contact", false, 200);
    }
    const hv_json *cp = hv_rck_object(c, root, "", "child_protection", false, p, sizeof p);
    if (cp != NULL) {
        hv_rck_known(c, cp, "child_protection", pkeys);
        (void)hv_rck_string(c, cp, "child_protection", "authority", true, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, cp, "child_protection", "case_reference", false, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, cp, "child_protection", "contact", false, 200);
    }
    const hv_json *flag = hv_json_get(root, "minor");
    if (f->minor == 1 && hv_json_get(root, "guardian") == NULL &&
        hv_json_get(root, "child_protection") == NULL)
        hv_rck_err(c, flag, "minor",
              "a minor needs \"guardian\" or \"child_protection\" (who is responsible for the "
              "child)");
    if (unaccompanied == 1 && f->minor == 0)
        hv_rck_err(c, hv_json_get(root, "unaccompanied"), "unaccompanied",
              "\"unaccompanied\" applies to minors only, but \"minor\" is false");
    hv_rck_minor_age(c, flag, "minor", f, "the subject's");
}

static void s_situation(hv_rck *c, const hv_json *root)
{
    char p[128], q[160];
    static const char *const status[] = {"presumed", "formally_identified", NULL};
    static const char *const ikeys[] = {"status", "by", "date", NULL};
    const hv_json *id = hv_rck_object(c, root, "", "identification", true, p, sizeof p);
    if (id != NULL) {
        hv_rck_known(c, id, p, ikeys);
        (void)hv_rck_enum(c, id, p, "status", true, status);
        (void)hv_rck_string(c, id, p, "by", false, HV_RCK_NAME_MAX);
        const char *d = hv_rck_string(c, id, p, "date", false, 10);
        int y, m, dd;
        if (d != NULL && !hv_rck_date_parse(d, &y, &m, &dd))
            hv_rck_err(c, hv_json_get(id, "date"), "identification.date",
                  "expected a date YYYY-MM-DD, found \"%s\"", d);
    }
    static const char *const forms[] = {"sexual", "labour", "domestic_servitude",
                                        "forced_begging", "forced_criminality",
                                        "forced_marriage", "organ_removal", "other", NULL};
    const hv_json *ex = hv_rck_array(c, root, "", "exploitation", true, 0, 8, p, sizeof p);
    for (size_t i = 0; ex && i < ex->n; i++) {
        snprintf(q, sizeof q, "exploitation[%zu]", i);
        (void)hv_rck_enum_value(c, ex->items[i], q, forms);
    }
    (void)hv_rck_bool(c, root, "", "smuggled_migrant", true);
    static const char *const stages[] = {"identification", "first_assistance",
                                         "long_term_assistance", "return_and_social_inclusion",
                                         "proceedings", NULL};
    (void)hv_rck_enum(c, root, "", "stage", true, stages);
    (void)hv_rck_string(c, root, "", "narrative", false, HV_RCK_LONG_TEXT_MAX);
}

static void s_needs(hv_rck *c, const hv_json *root)
{
    char p[128], q[160];
    hv_summary *sum = &c->out->summary;
    static const char *const nkeys[] = {"category", "urgency", "note", NULL};
    const hv_json *needs = hv_rck_array(c, root, "", "needs", true, 1, HV_NEEDS_MAX, p, sizeof p);
    for (size_t i = 0; needs && i < needs->n; i++) {
        snprintf(q, sizeof q, "needs[%zu]", i);
        const hv_json *n = needs->items[i];
        if (n->type != HV_JSON_OBJECT) {
            hv_rck_err(c, n, q, "expected an object with \"category\" and \"urgency\"");
            continue;
        }
        hv_rck_known(c, n, q, nkeys);
        int cat = hv_rck_enum(c, n, q, "category", true, hv_rck_services);
        int urg = hv_rck_enum(c, n, q, "urgency", true, hv_rck_urgencies);
        (void)hv_rck_string(c, n, q, "note", false, HV_RCK_TEXT_MAX);
        if (cat >= 0 && urg >= 0) {
            unsigned k = sum->n_needs++;
            sum->needs[k].category = (uint8_t)cat;
            sum->needs[k].urgency = (uint8_t)(urg + 1);
            if (sum->needs[k].urgency > sum->urgency)
                sum->urgency = sum->needs[k].urgency;
        }
    }
}

static void s_risk(hv_rck *c, const hv_json *root)
{
    char p[128], q[160];
    hv_summary *sum = &c->out->summary;
    static const char *const levels[] = {"low", "medium", "high", "critical", NULL};
    static const char *const rkeys[] = {"level", "safety_plan", "withhold_from", NULL};
    static const char *const wkeys[] = {"organisation", "reason", NULL};
    const hv_json *r = hv_rck_object(c, root, "", "risk", true, p, sizeof p);
    if (r == NULL)
        return;
    hv_rck_known(c, r, "risk", rkeys);
    (void)hv_rck_enum(c, r, "risk", "level", true, levels);
    (void)hv_rck_string(c, r, "risk", "safety_plan", false, HV_RCK_LONG_TEXT_MAX);
    const hv_json *w =
        hv_rck_array(c, r, "risk", "withhold_from", false, 0, HV_SUMMARY_LIST_MAX, p, sizeof p);
    for (size_t i = 0; w && i < w->n; i++) {
        snprintf(q, sizeof q, "risk.withhold_from[%zu]", i);
        const hv_json *o = w->items[i];
        if (o->type != HV_JSON_OBJECT) {
            hv_rck_err(c, o, q, "expected an object with \"organisation\" and \"reason\"");
            continue;
        }
        hv_rck_known(c, o, q, wkeys);
        const char *org = hv_rck_string(c, o, q, "organisation", true, HV_NODE_ID_MAX);
        (void)hv_rck_string(c, o, q, "reason", true, HV_RCK_TEXT_MAX);
        if (org != NULL && !hv_node_id_valid_cstr(org))
            hv_rck_err(c, hv_json_get(o, "organisation"), q,
                  "expected the organisation's node id in the registry, such as "
                  "\"shelter.xc\", found \"%.40s\"", org);
        else if (org != NULL)
            snprintf(sum->exclude[sum->n_exclude++], sizeof sum->exclude[0], "%s", org);
    }
}


/* request: the service (v1), or 1..8 services of one case (v2, or
 * "service" for one). */
static void s_request(hv_rck *c, const hv_json *rq)
{
    char p[128], q[160];
    hv_referral_check *o = c->out;
    static const char *const v1keys[] = {"service", "reason", "respond_by", NULL};
    static const char *const v2keys[] = {"service", "services", "reason", "respond_by", NULL};
    hv_rck_known(c, rq, "request", c->version >= 2 ? v2keys : v1keys);
    const hv_json *many = c->version >= 2 ? hv_json_get(rq, "services") : NULL;
    if (many != NULL && hv_json_get(rq, "service") != NULL) {
        hv_rck_err(c, many, "request.services",
                   "give either \"service\" or \"services\", not both");
    } else if (many != NULL) {
        const hv_json *a = hv_rck_array(c, rq, "request", "services", true, 1,
                                        HV_REFERRAL_SERVICES_MAX, p, sizeof p);
        for (size_t i = 0; a && i < a->n; i++) {
            snprintf(q, sizeof q, "request.services[%zu]", i);
            int svc = hv_rck_enum_value(c, a->items[i], q, hv_rck_services);
            bool again = false;
            for (unsigned k = 0; svc >= 0 && k < o->n_services; k++)
                again = again || o->services[k] == svc;
            if (again)
                hv_rck_err(c, a->items[i], q, "\"%s\" is already requested",
                           hv_rck_services[svc]);
            else if (svc >= 0)
                o->services[o->n_services++] = (uint8_t)svc;
        }
    } else {
        int svc = hv_rck_enum(c, rq, "request", "service", true, hv_rck_services);
        if (svc >= 0)
            o->services[o->n_services++] = (uint8_t)svc;
    }
    if (o->n_services > 0)
        o->summary.service = o->services[0];
    (void)hv_rck_string(c, rq, "request", "reason", true, HV_RCK_TEXT_MAX);
    uint64_t by;
    if (hv_rck_timestamp(c, rq, "request", "respond_by", true, &by) == 0) {
        if (by <= c->now)
            hv_rck_err(c, hv_json_get(rq, "respond_by"), "request.respond_by",
                       "\"respond_by\" is in the past");
        else
            o->summary.respond_by = by;
    }
}

static void s_consent_request(hv_rck *c, const hv_json *root)
{
    char p[128], q[160];
    hv_referral_check *o = c->out;
    static const char *const ckeys[] = {"services", "share_with", "obtained_from",
                                        "obtained_at", "obtained_by", "legal_basis",
                                        "override", NULL};
    static const char *const from[] = {"individual", "caregiver", NULL};
    static const char *const bases[] = {"consent", "vital_interests", "legal_obligation",
                                        "best_interests_of_child", NULL};
    const hv_json *rq = hv_rck_object(c, root, "", "request", true, p, sizeof p);
    if (rq != NULL)
        s_request(c, rq);
    const hv_json *cs = hv_rck_object(c, root, "", "consent", true, p, sizeof p);
    if (cs == NULL)
        return;
    hv_rck_known(c, cs, "consent", ckeys);
    int given = hv_rck_bool(c, cs, "consent", "services", true);
    const hv_json *share = hv_rck_array(c, cs, "consent", "share_with", given == 1, 0,
                                   HV_SUMMARY_LIST_MAX, p, sizeof p);
    for (size_t i = 0; share && i < share->n; i++) {
        snprintf(q, sizeof q, "consent.share_with[%zu]", i);
        int svc = hv_rck_enum_value(c, share->items[i], q, hv_rck_services);
        if (svc >= 0)
            o->share[o->n_share++] = (uint8_t)svc;
    }
    int basis = hv_rck_enum(c, cs, "consent", "legal_basis", true, bases);
    const hv_json *ov = hv_rck_object(c, cs, "consent", "override", false, p, sizeof p);
    if (given == 1) {
        (void)hv_rck_enum(c, cs, "consent", "obtained_from", true, from);
        uint64_t at;
        if (hv_rck_timestamp(c, cs, "consent", "obtained_at", true, &at) == 0 && at > c->now)
            hv_rck_err(c, hv_json_get(cs, "obtained_at"), "consent.obtained_at",
                  "consent cannot be recorded as obtained in the future");
        (void)hv_rck_string(c, cs, "consent", "obtained_by", true, HV_RCK_NAME_MAX);
        if (ov != NULL)
            hv_rck_err(c, ov, "consent.override",
                  "an override is only for a referral made without consent, but "
                  "\"services\" is true");
        for (unsigned k = 0; share != NULL && k < o->n_services; k++)
            if (!hv_referral_consent_covers(o, o->services[k]))
                hv_rck_err(c, share, "consent.share_with",
                           "consent does not cover sharing with a \"%s\" service, which the "
                           "request asks for", hv_rck_services[o->services[k]]);
    } else if (given == 0) {
        /* No consent: only an explicit override with a reason lets it go. */
        if (ov == NULL) {
            hv_rck_err(c, cs, "consent",
                  "no consent for services (\"services\": false) and no \"override\" with a "
                  "reason: the referral cannot be made");
        } else {
            static const char *const okeys[] = {"reason", "authorised_by", NULL};
            hv_rck_known(c, ov, "consent.override", okeys);
            (void)hv_rck_string(c, ov, "consent.override", "reason", true, HV_RCK_TEXT_MAX);
            (void)hv_rck_string(c, ov, "consent.override", "authorised_by", true, HV_RCK_NAME_MAX);
            o->consent_override = true;
        }
        /* An override stands on a basis other than the consent it lacks. */
        if (ov != NULL && basis == 0)
            hv_rck_err(c, hv_json_get(cs, "legal_basis"), "consent.legal_basis",
                       "an override needs a legal basis other than \"consent\": "
                       "\"vital_interests\", \"legal_obligation\" or "
                       "\"best_interests_of_child\"");
    }
}

static void s_destination(hv_rck *c, const hv_json *root)
{
    char p[128];
    static const char *const dkeys[] = {"country", "region", NULL};
    const hv_json *d = hv_rck_object(c, root, "", "destination", true, p, sizeof p);
    if (d == NULL)
        return;
    hv_rck_known(c, d, "destination", dkeys);
    const char *country = hv_rck_string(c, d, "destination", "country", true, 2);
    if (country != NULL && !hv_rck_country_ok(country))
        hv_rck_err(c, hv_json_get(d, "country"), "destination.country",
              "expected a country code of two capital letters, found \"%s\"", country);
    else if (country != NULL)
        memcpy(c->out->summary.country, country, 3);
    const char *region = hv_rck_string(c, d, "destination", "region", false, HV_SUMMARY_REGION_MAX);
    if (region != NULL)
        snprintf(c->out->summary.region, sizeof c->out->summary.region, "%s", region);
}


static int s_error_order(const void *a, const void *b)
{
    const hv_referral_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    int by_path = strcmp(x->path, y->path);
    return by_path != 0 ? by_path : strcmp(x->text, y->text);
}

hv_err hv_referral_check_text(const char *text, size_t len, uint64_t now,
                              hv_referral_check *out)
{
    memset(out, 0, sizeof *out);
    hv_rck c = {out, now, 0};
    hv_json *root = NULL;
    hv_json_error jerr;
    hv_err err = hv_json_parse(text, len, &root, &jerr);
    if (err == HV_ENOMEM)
        return err;
    if (err != HV_OK) {
        hv_json at = {.line = jerr.line, .col = jerr.col};
        hv_rck_err(&c, &at, "", "%s", jerr.text);
        return err == HV_ETOOBIG ? HV_ETOOBIG : HV_EJSON;
    }
    if (root->type != HV_JSON_OBJECT) {
        hv_rck_err(&c, root, "", "expected an object at the top, found %s",
              hv_json_type_name(root->type));
        hv_json_free(&root);
        return HV_EJSON;
    }
    /* Version 1 keeps its members: the new ones are unknown there. */
    static const char *const v1keys[] = {"schema", "subject", "minor", "unaccompanied",
                                         "guardian", "child_protection", "identification",
                                         "exploitation", "smuggled_migrant", "stage", "needs",
                                         "risk", "consent", "request", "destination",
                                         "narrative", NULL};
    static const char *const v2keys[] = {"schema", "subject", "minor", "unaccompanied",
                                         "guardian", "child_protection", "identification",
                                         "exploitation", "smuggled_migrant", "stage", "needs",
                                         "risk", "consent", "request", "destination",
                                         "narrative", "family_members", "placement",
                                         "attachments", NULL};
    const char *schema = hv_rck_string(&c, root, "", "schema", true, 64);
    if (schema != NULL && strcmp(schema, HV_REFERRAL_SCHEMA) == 0)
        c.version = 1;
    else if (schema != NULL && strcmp(schema, HV_REFERRAL_SCHEMA_2) == 0)
        c.version = 2;
    else if (schema != NULL)
        hv_rck_err(&c, hv_json_get(root, "schema"), "schema",
                   "expected \"" HV_REFERRAL_SCHEMA "\" or \"" HV_REFERRAL_SCHEMA_2
                   "\", found \"%.40s\"", schema);
    /* A file whose schema is wrong or missing is checked as the newest. */
    if (c.version == 0)
        c.version = 2;
    hv_rck_known(&c, root, "", c.version == 1 ? v1keys : v2keys);
    out->version = (uint8_t)c.version;
    hv_rck_facts f = {-1, -1, -1, NULL, -1};
    s_subject(&c, root, &f);
    s_child(&c, root, &f);
    s_situation(&c, root);
    s_needs(&c, root);
    s_risk(&c, root);
    s_consent_request(&c, root);
    s_destination(&c, root);
    hv_rck_group(&c, root, &f);
    out->summary.minor = f.minor == 1;
    out->summary.age_band = hv_rck_band(&f);
    out->summary.people = out->people;
    out->summary.n_bands = out->people;
    memcpy(out->summary.bands, out->member_bands, out->people);
    hv_json_free(&root);
    if (out->n_errors > 0) {
        qsort(out->errors, out->n_errors, sizeof out->errors[0], s_error_order);
        return HV_EJSON;
    }
    return HV_OK;
}

bool hv_referral_consent_covers(const hv_referral_check *c, unsigned svc)
{
    if (c->consent_override)
        return true;
    for (unsigned i = 0; i < c->n_share; i++)
        if (c->share[i] == svc)
            return true;
    return false;
}

json_t *hv_summary_json(const hv_summary *s)
{
    char by[21];
    hv_time_format(s->respond_by, by);
    json_t *needs = json_array(), *langs = json_array(), *excl = json_array();
    for (unsigned i = 0; needs && i < s->n_needs; i++)
        json_array_append_new(needs, json_pack("{s:s, s:s}", "category",
                                               hv_service_name(s->needs[i].category), "urgency",
                                               hv_urgency_name(s->needs[i].urgency)));
    for (unsigned i = 0; langs && i < s->n_languages; i++)
        json_array_append_new(langs, json_string(s->languages[i]));
    for (unsigned i = 0; excl && i < s->n_exclude; i++)
        json_array_append_new(excl, json_string(s->exclude[i]));
    json_t *bands = json_array();
    for (unsigned i = 0; bands && i < s->n_bands; i++)
        json_array_append_new(bands, json_string(hv_age_band_name(s->bands[i])));
    return json_pack("{s:s, s:o, s:s, s:s, s:s, s:b, s:o, s:b, s:s, s:s, s:o, s:s, s:i, s:o}",
                     "service", hv_service_name(s->service), "needs", needs, "urgency",
                     hv_urgency_name(s->urgency), "age_band", hv_age_band_name(s->age_band),
                     "sex", hv_sex_name(s->sex), "minor", s->minor, "languages", langs,
                     "interpreter", s->interpreter, "country", s->country, "region", s->region,
                     "exclude", excl, "respond_by", by, "people", (int)s->people, "bands",
                     bands);
}
