/* Referral file checking; see hv_referral.h and docs/REFERRAL.md. */
#include "hv_referral.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_registry.h"

#define S_NAME_MAX 100
#define S_TEXT_MAX 1000
#define S_LONG_TEXT_MAX 20000

/* The check under way. */
typedef struct s_ck {
    hv_referral_check *out; /* errors and results */
    uint64_t now;           /* Unix seconds */
} s_ck;

static void s_err(s_ck *c, const hv_json *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_err(s_ck *c, const hv_json *at, const char *path, const char *fmt, ...)
{
    hv_referral_check *o = c->out;
    if (o->n_errors == HV_REFERRAL_ERRORS_MAX) {
        o->n_more++;
        return;
    }
    hv_referral_error *e = &o->errors[o->n_errors++];
    snprintf(e->path, sizeof e->path, "%s", path);
    e->line = at ? at->line : 1;
    e->col = at ? at->col : 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

/* "parent.key" or "key" at the top. */
static void s_path(char *out, size_t cap, const char *parent, const char *key)
{
    snprintf(out, cap, "%s%s%s", parent, parent[0] ? "." : "", key);
}

/* Reports members of `obj` that the schema does not know: a misspelt
 * member would otherwise be silently ignored. */
static void s_known(s_ck *c, const hv_json *obj, const char *path, const char *const *keys)
{
    for (size_t i = 0; i < obj->n; i++) {
        const hv_json *m = obj->items[i];
        bool known = false;
        for (size_t k = 0; keys[k] != NULL && !known; k++)
            known = strcmp(keys[k], m->key) == 0;
        if (!known) {
            char p[128];
            s_path(p, sizeof p, path, m->key);
            hv_json at = {.line = m->key_line, .col = m->key_col};
            s_err(c, &at, p, "unknown member \"%.60s\"", m->key);
        }
    }
}

/* Finds member `key` of `obj` and checks its type. Missing and required:
 * an error located at the object. Returns NULL when absent or wrong. */
static const hv_json *s_member(s_ck *c, const hv_json *obj, const char *path, const char *key,
                               hv_json_type type, bool required, char *p, size_t cap)
{
    s_path(p, cap, path, key);
    const hv_json *m = hv_json_get(obj, key);
    if (m == NULL) {
        if (required)
            s_err(c, obj, p, "missing required member \"%s\"", key);
        return NULL;
    }
    if (m->type != type) {
        s_err(c, m, p, "expected %s %s, found %s", type == HV_JSON_ARRAY || type == HV_JSON_OBJECT ? "an" : "a",
              hv_json_type_name(type), hv_json_type_name(m->type));
        return NULL;
    }
    return m;
}

static const char *s_string_value(s_ck *c, const hv_json *v, const char *p, size_t min,
                                  size_t max)
{
    if (v->type != HV_JSON_STRING) {
        s_err(c, v, p, "expected a string, found %s", hv_json_type_name(v->type));
        return NULL;
    }
    if (v->len < min || v->len > max) {
        if (min > 0 && v->len == 0)
            s_err(c, v, p, "must not be empty");
        else
            s_err(c, v, p, "expected at most %zu bytes, found %zu", max, v->len);
        return NULL;
    }
    return v->str;
}

static const char *s_string(s_ck *c, const hv_json *obj, const char *path, const char *key,
                            bool required, size_t max)
{
    char p[128];
    const hv_json *m = s_member(c, obj, path, key, HV_JSON_STRING, required, p, sizeof p);
    return m ? s_string_value(c, m, p, 1, max) : NULL;
}

/* One of `names` (NULL-terminated); returns its index or -1. */
static int s_enum_value(s_ck *c, const hv_json *v, const char *p, const char *const *names)
{
    if (v->type != HV_JSON_STRING) {
        s_err(c, v, p, "expected a string, found %s", hv_json_type_name(v->type));
        return -1;
    }
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], v->str) == 0)
            return i;
    char list[200] = "";
    for (int i = 0; names[i] != NULL; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    s_err(c, v, p, "expected one of %s; found \"%.40s\"", list, v->str);
    return -1;
}

static int s_enum(s_ck *c, const hv_json *obj, const char *path, const char *key,
                  bool required, const char *const *names)
{
    char p[128];
    const hv_json *m = s_member(c, obj, path, key, HV_JSON_STRING, required, p, sizeof p);
    return m ? s_enum_value(c, m, p, names) : -1;
}

/* Returns 1 for true, 0 for false, -1 when absent or wrong. */
static int s_bool(s_ck *c, const hv_json *obj, const char *path, const char *key, bool required)
{
    char p[128];
    const hv_json *m = s_member(c, obj, path, key, HV_JSON_BOOL, required, p, sizeof p);
    return m ? (int)m->b : -1;
}

static bool s_int(s_ck *c, const hv_json *obj, const char *path, const char *key, long min,
                  long max, long *out)
{
    char p[128];
    const hv_json *m = s_member(c, obj, path, key, HV_JSON_NUMBER, true, p, sizeof p);
    if (m == NULL)
        return false;
    if (!m->is_int || m->num < (double)min || m->num > (double)max) {
        s_err(c, m, p, "expected a whole number from %ld to %ld", min, max);
        return false;
    }
    *out = (long)m->num;
    return true;
}

static const hv_json *s_array(s_ck *c, const hv_json *obj, const char *path, const char *key,
                              bool required, size_t min, size_t max, char *p, size_t cap)
{
    const hv_json *m = s_member(c, obj, path, key, HV_JSON_ARRAY, required, p, cap);
    if (m == NULL)
        return NULL;
    if (m->n < min) {
        s_err(c, m, p, "expected at least %zu entr%s", min, min == 1 ? "y" : "ies");
        return NULL;
    }
    if (m->n > max) {
        s_err(c, m, p, "expected at most %zu entries, found %zu", max, m->n);
        return NULL;
    }
    return m;
}

static const hv_json *s_object(s_ck *c, const hv_json *obj, const char *path, const char *key,
                               bool required, char *p, size_t cap)
{
    return s_member(c, obj, path, key, HV_JSON_OBJECT, required, p, cap);
}

/* ---------------------------------------------------------- value forms */

/* attachments: [{"file", "title"}], the documents that travel with the
 * case (issue 21). Only their shape here; the files themselves are read
 * by the CLI and checked by the intake (hv_attach.h). */
static void s_attachments(s_ck *c, const hv_json *root)
{
    char p[128], q[160];
    static const char *const akeys[] = {"file", "title", NULL};
    hv_referral_check *out = c->out;
    size_t cap = sizeof out->attachments / sizeof out->attachments[0];
    const hv_json *a = s_array(c, root, "", "attachments", false, 0, cap, p, sizeof p);
    for (size_t i = 0; a && i < a->n; i++) {
        snprintf(q, sizeof q, "attachments[%zu]", i);
        const hv_json *o = a->items[i];
        if (o->type != HV_JSON_OBJECT) {
            s_err(c, o, q, "expected an object with \"file\" and \"title\"");
            continue;
        }
        s_known(c, o, q, akeys);
        const char *file = s_string(c, o, q, "file", true, sizeof out->attachments[0].file - 1);
        const char *title = s_string(c, o, q, "title", false, sizeof out->attachments[0].title - 1);
        if (file == NULL)
            continue;
        snprintf(out->attachments[out->n_attachments].file, sizeof out->attachments[0].file,
                 "%s", file);
        snprintf(out->attachments[out->n_attachments].title, sizeof out->attachments[0].title,
                 "%s", title ? title : "");
        out->n_attachments++;
    }
}

static bool s_date_parse(const char *s, int *y, int *m, int *d)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    *y = atoi(s);
    *m = atoi(s + 5);
    *d = atoi(s + 8);
    if (*y < 1900 || *m < 1 || *m > 12 || *d < 1 || *d > days[*m - 1])
        return false;
    bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return !(*m == 2 && *d == 29 && !leap);
}

/* Whole years from y-m-d to the UTC date of `now`. */
static int s_age_years(int y, int m, int d, uint64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    int age = tm.tm_year + 1900 - y;
    if (tm.tm_mon + 1 < m || (tm.tm_mon + 1 == m && tm.tm_mday < d))
        age--;
    return age;
}

static bool s_country_ok(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* A BCP 47 tag in the simple form Haven uses: "ti", "ar", "pt-BR",
 * "sr-Latn": a 2-3 letter lowercase language, then up to two subtags. */
static bool s_language_ok(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n > HV_SUMMARY_LANG_MAX)
        return false;
    while (i < n && s[i] >= 'a' && s[i] <= 'z')
        i++;
    if (i < 2 || i > 3)
        return false;
    int subtags = 0;
    while (i < n) {
        if (s[i] != '-' || ++subtags > 2)
            return false;
        size_t start = ++i;
        while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                         (s[i] >= '0' && s[i] <= '9')))
            i++;
        if (i - start < 2 || i - start > 8)
            return false;
    }
    return true;
}

static const char *const s_services[] = {"shelter", "medical", "psychosocial", "legal_aid",
                                         "interpretation", "return", "documentation",
                                         "child_protection", "livelihood", "education",
                                         "family_tracing", NULL};
static const char *const s_urgencies[] = {"routine", "urgent", "immediate", NULL};
static const char *const s_sexes[] = {"female", "male", "other", "unknown", NULL};

/* ------------------------------------------------------------ sections */

/* Person-level facts the rules below need. */
typedef struct s_facts {
    int age;            /* from date_of_birth, or -1 */
    int age_min, age_max; /* from age_estimate, or -1 */
    const hv_json *age_at; /* where the age came from */
    int minor;          /* the file's flag: 1, 0 or -1 when missing */
} s_facts;

static void s_subject(s_ck *c, const hv_json *root, s_facts *f)
{
    static const char *const keys[] = {"names", "aliases", "date_of_birth", "age_estimate",
                                       "sex", "nationalities", "languages",
                                       "interpreter_needed", "safe_contact", NULL};
    char p[128], q[160];
    const hv_json *s = s_object(c, root, "", "subject", true, p, sizeof p);
    if (s == NULL)
        return;
    s_known(c, s, "subject", keys);
    hv_summary *sum = &c->out->summary;

    const hv_json *names = s_array(c, s, "subject", "names", true, 1, 8, p, sizeof p);
    for (size_t i = 0; names && i < names->n; i++) {
        static const char *const nkeys[] = {"given", "family", NULL};
        snprintf(q, sizeof q, "subject.names[%zu]", i);
        const hv_json *n = names->items[i];
        if (n->type != HV_JSON_OBJECT) {
            s_err(c, n, q, "expected an object with \"given\" and \"family\"");
            continue;
        }
        s_known(c, n, q, nkeys);
        (void)s_string(c, n, q, "given", true, S_NAME_MAX);
        (void)s_string(c, n, q, "family", false, S_NAME_MAX);
    }
    const hv_json *aliases = s_array(c, s, "subject", "aliases", false, 0, 8, p, sizeof p);
    for (size_t i = 0; aliases && i < aliases->n; i++) {
        snprintf(q, sizeof q, "subject.aliases[%zu]", i);
        (void)s_string_value(c, aliases->items[i], q, 1, S_NAME_MAX);
    }

    const hv_json *dob = hv_json_get(s, "date_of_birth");
    const hv_json *est = hv_json_get(s, "age_estimate");
    if (dob == NULL && est == NULL)
        s_err(c, s, "subject", "expected \"date_of_birth\" or \"age_estimate\"");
    if (dob != NULL && est != NULL)
        s_err(c, est, "subject.age_estimate",
              "give either \"date_of_birth\" or \"age_estimate\", not both");
    if (dob != NULL && est == NULL) {
        const char *v = s_string(c, s, "subject", "date_of_birth", true, 10);
        int y, m, d;
        if (v != NULL && !s_date_parse(v, &y, &m, &d))
            s_err(c, dob, "subject.date_of_birth", "expected a date YYYY-MM-DD, found \"%s\"", v);
        else if (v != NULL && (f->age = s_age_years(y, m, d, c->now)) < 0)
            s_err(c, dob, "subject.date_of_birth", "date of birth is in the future");
        else if (v != NULL)
            f->age_at = dob;
    }
    if (est != NULL && dob == NULL) {
        const hv_json *e = s_object(c, s, "subject", "age_estimate", true, p, sizeof p);
        static const char *const ekeys[] = {"min", "max", NULL};
        long lo, hi;
        if (e != NULL) {
            s_known(c, e, p, ekeys);
            bool ok = s_int(c, e, p, "min", 0, 120, &lo);
            ok = s_int(c, e, p, "max", 0, 120, &hi) && ok;
            if (ok && lo > hi)
                s_err(c, e, p, "\"min\" (%ld) is above \"max\" (%ld)", lo, hi);
            else if (ok) {
                f->age_min = (int)lo;
                f->age_max = (int)hi;
                f->age_at = e;
            }
        }
    }

    int sex = s_enum(c, s, "subject", "sex", true, s_sexes);
    if (sex >= 0)
        sum->sex = (uint8_t)(sex + 1);

    const hv_json *nat = s_array(c, s, "subject", "nationalities", true, 0, 4, p, sizeof p);
    for (size_t i = 0; nat && i < nat->n; i++) {
        snprintf(q, sizeof q, "subject.nationalities[%zu]", i);
        const char *v = s_string_value(c, nat->items[i], q, 1, 9);
        if (v != NULL && !s_country_ok(v) && strcmp(v, "stateless") != 0)
            s_err(c, nat->items[i], q,
                  "expected a country code of two capital letters or \"stateless\", found "
                  "\"%s\"", v);
    }

    const hv_json *langs =
        s_array(c, s, "subject", "languages", true, 1, HV_SUMMARY_LIST_MAX, p, sizeof p);
    for (size_t i = 0; langs && i < langs->n; i++) {
        snprintf(q, sizeof q, "subject.languages[%zu]", i);
        const char *v = s_string_value(c, langs->items[i], q, 1, 64);
        if (v != NULL && !s_language_ok(v))
            s_err(c, langs->items[i], q,
                  "expected a language tag such as \"ti\", \"ar\" or \"pt-BR\", found \"%.40s\"",
                  v);
        else if (v != NULL)
            snprintf(sum->languages[sum->n_languages++], sizeof sum->languages[0], "%s", v);
    }
    int interp = s_bool(c, s, "subject", "interpreter_needed", true);
    sum->interpreter = interp == 1;

    static const char *const methods[] = {"phone", "email", "in_person",
                                          "through_organisation", "none", NULL};
    static const char *const ckeys[] = {"method", "value", "notes", NULL};
    const hv_json *sc = s_object(c, s, "subject", "safe_contact", true, p, sizeof p);
    if (sc != NULL) {
        s_known(c, sc, p, ckeys);
        int method = s_enum(c, sc, p, "method", true, methods);
        bool needs_value = method >= 0 && method <= 1;
        const char *value = s_string(c, sc, p, "value", needs_value, 200);
        (void)value;
        (void)s_string(c, sc, p, "notes", false, S_TEXT_MAX);
    }
}

static void s_child(s_ck *c, const hv_json *root, s_facts *f)
{
    char p[128];
    f->minor = s_bool(c, root, "", "minor", true);
    int unaccompanied = s_bool(c, root, "", "unaccompanied", false);
    static const char *const gkeys[] = {"name", "relationship", "organisation", "contact", NULL};
    static const char *const pkeys[] = {"authority", "case_reference", "contact", NULL};
    const hv_json *g = s_object(c, root, "", "guardian", false, p, sizeof p);
    if (g != NULL) {
        s_known(c, g, "guardian", gkeys);
        (void)s_string(c, g, "guardian", "name", true, S_NAME_MAX);
        (void)s_string(c, g, "guardian", "relationship", true, S_NAME_MAX);
        (void)s_string(c, g, "guardian", "organisation", false, S_NAME_MAX);
        (void)s_string(c, g, "guardian", "contact", false, 200);
    }
    const hv_json *cp = s_object(c, root, "", "child_protection", false, p, sizeof p);
    if (cp != NULL) {
        s_known(c, cp, "child_protection", pkeys);
        (void)s_string(c, cp, "child_protection", "authority", true, S_NAME_MAX);
        (void)s_string(c, cp, "child_protection", "case_reference", false, S_NAME_MAX);
        (void)s_string(c, cp, "child_protection", "contact", false, 200);
    }
    const hv_json *flag = hv_json_get(root, "minor");
    if (f->minor == 1 && hv_json_get(root, "guardian") == NULL &&
        hv_json_get(root, "child_protection") == NULL)
        s_err(c, flag, "minor",
              "a minor needs \"guardian\" or \"child_protection\" (who is responsible for the "
              "child)");
    if (unaccompanied == 1 && f->minor == 0)
        s_err(c, hv_json_get(root, "unaccompanied"), "unaccompanied",
              "\"unaccompanied\" applies to minors only, but \"minor\" is false");
    /* The flag must agree with the age: the summary's minor flag decides
     * whether a child is offered to an adult service. */
    if (f->minor == 0 && (f->age >= 0 ? f->age < 18 : (f->age_max >= 0 && f->age_max < 18)))
        s_err(c, flag, "minor", "\"minor\" is false but the subject's age is under 18");
    if (f->minor == 1 && (f->age >= 0 ? f->age >= 18 : f->age_min >= 18))
        s_err(c, flag, "minor", "\"minor\" is true but the subject's age is 18 or over");
}

static void s_situation(s_ck *c, const hv_json *root)
{
    char p[128], q[160];
    static const char *const status[] = {"presumed", "formally_identified", NULL};
    static const char *const ikeys[] = {"status", "by", "date", NULL};
    const hv_json *id = s_object(c, root, "", "identification", true, p, sizeof p);
    if (id != NULL) {
        s_known(c, id, p, ikeys);
        (void)s_enum(c, id, p, "status", true, status);
        (void)s_string(c, id, p, "by", false, S_NAME_MAX);
        const char *d = s_string(c, id, p, "date", false, 10);
        int y, m, dd;
        if (d != NULL && !s_date_parse(d, &y, &m, &dd))
            s_err(c, hv_json_get(id, "date"), "identification.date",
                  "expected a date YYYY-MM-DD, found \"%s\"", d);
    }
    static const char *const forms[] = {"sexual", "labour", "domestic_servitude",
                                        "forced_begging", "forced_criminality",
                                        "forced_marriage", "organ_removal", "other", NULL};
    const hv_json *ex = s_array(c, root, "", "exploitation", true, 0, 8, p, sizeof p);
    for (size_t i = 0; ex && i < ex->n; i++) {
        snprintf(q, sizeof q, "exploitation[%zu]", i);
        (void)s_enum_value(c, ex->items[i], q, forms);
    }
    (void)s_bool(c, root, "", "smuggled_migrant", true);
    static const char *const stages[] = {"identification", "first_assistance",
                                         "long_term_assistance", "return_and_social_inclusion",
                                         "proceedings", NULL};
    (void)s_enum(c, root, "", "stage", true, stages);
    (void)s_string(c, root, "", "narrative", false, S_LONG_TEXT_MAX);
}

static void s_needs(s_ck *c, const hv_json *root)
{
    char p[128], q[160];
    hv_summary *sum = &c->out->summary;
    static const char *const nkeys[] = {"category", "urgency", "note", NULL};
    const hv_json *needs = s_array(c, root, "", "needs", true, 1, HV_NEEDS_MAX, p, sizeof p);
    for (size_t i = 0; needs && i < needs->n; i++) {
        snprintf(q, sizeof q, "needs[%zu]", i);
        const hv_json *n = needs->items[i];
        if (n->type != HV_JSON_OBJECT) {
            s_err(c, n, q, "expected an object with \"category\" and \"urgency\"");
            continue;
        }
        s_known(c, n, q, nkeys);
        int cat = s_enum(c, n, q, "category", true, s_services);
        int urg = s_enum(c, n, q, "urgency", true, s_urgencies);
        (void)s_string(c, n, q, "note", false, S_TEXT_MAX);
        if (cat >= 0 && urg >= 0) {
            unsigned k = sum->n_needs++;
            sum->needs[k].category = (uint8_t)cat;
            sum->needs[k].urgency = (uint8_t)(urg + 1);
            if (sum->needs[k].urgency > sum->urgency)
                sum->urgency = sum->needs[k].urgency;
        }
    }
}

static void s_risk(s_ck *c, const hv_json *root)
{
    char p[128], q[160];
    hv_summary *sum = &c->out->summary;
    static const char *const levels[] = {"low", "medium", "high", "critical", NULL};
    static const char *const rkeys[] = {"level", "safety_plan", "withhold_from", NULL};
    static const char *const wkeys[] = {"organisation", "reason", NULL};
    const hv_json *r = s_object(c, root, "", "risk", true, p, sizeof p);
    if (r == NULL)
        return;
    s_known(c, r, "risk", rkeys);
    (void)s_enum(c, r, "risk", "level", true, levels);
    (void)s_string(c, r, "risk", "safety_plan", false, S_LONG_TEXT_MAX);
    const hv_json *w =
        s_array(c, r, "risk", "withhold_from", false, 0, HV_SUMMARY_LIST_MAX, p, sizeof p);
    for (size_t i = 0; w && i < w->n; i++) {
        snprintf(q, sizeof q, "risk.withhold_from[%zu]", i);
        const hv_json *o = w->items[i];
        if (o->type != HV_JSON_OBJECT) {
            s_err(c, o, q, "expected an object with \"organisation\" and \"reason\"");
            continue;
        }
        s_known(c, o, q, wkeys);
        const char *org = s_string(c, o, q, "organisation", true, HV_NODE_ID_MAX);
        (void)s_string(c, o, q, "reason", true, S_TEXT_MAX);
        if (org != NULL && !hv_node_id_valid_cstr(org))
            s_err(c, hv_json_get(o, "organisation"), q,
                  "expected the organisation's node id in the registry, such as "
                  "\"shelter.xc\", found \"%.40s\"", org);
        else if (org != NULL)
            snprintf(sum->exclude[sum->n_exclude++], sizeof sum->exclude[0], "%s", org);
    }
}

static int s_timestamp(s_ck *c, const hv_json *obj, const char *path, const char *key,
                       bool required, uint64_t *out)
{
    char p[128];
    const char *v = s_string(c, obj, path, key, required, 20);
    if (v == NULL)
        return -1;
    if (hv_time_parse(v, out) != HV_OK) {
        s_path(p, sizeof p, path, key);
        s_err(c, hv_json_get(obj, key), p,
              "expected a UTC time YYYY-MM-DDTHH:MM:SSZ, found \"%s\"", v);
        return -1;
    }
    return 0;
}

static void s_consent_request(s_ck *c, const hv_json *root)
{
    char p[128], q[160];
    hv_referral_check *o = c->out;
    static const char *const ckeys[] = {"services", "share_with", "obtained_from",
                                        "obtained_at", "obtained_by", "legal_basis",
                                        "override", NULL};
    static const char *const from[] = {"individual", "caregiver", NULL};
    static const char *const bases[] = {"consent", "vital_interests", "legal_obligation",
                                        "best_interests_of_child", NULL};
    int requested = -1;
    const hv_json *rq = s_object(c, root, "", "request", true, p, sizeof p);
    if (rq != NULL) {
        static const char *const rkeys[] = {"service", "reason", "respond_by", NULL};
        s_known(c, rq, "request", rkeys);
        requested = s_enum(c, rq, "request", "service", true, s_services);
        (void)s_string(c, rq, "request", "reason", true, S_TEXT_MAX);
        uint64_t by;
        if (s_timestamp(c, rq, "request", "respond_by", true, &by) == 0) {
            if (by <= c->now)
                s_err(c, hv_json_get(rq, "respond_by"), "request.respond_by",
                      "\"respond_by\" is in the past");
            else
                o->summary.respond_by = by;
        }
        if (requested >= 0)
            o->summary.service = (uint8_t)requested;
    }

    const hv_json *cs = s_object(c, root, "", "consent", true, p, sizeof p);
    if (cs == NULL)
        return;
    s_known(c, cs, "consent", ckeys);
    int given = s_bool(c, cs, "consent", "services", true);
    const hv_json *share = s_array(c, cs, "consent", "share_with", given == 1, 0,
                                   HV_SUMMARY_LIST_MAX, p, sizeof p);
    bool covers = false;
    for (size_t i = 0; share && i < share->n; i++) {
        snprintf(q, sizeof q, "consent.share_with[%zu]", i);
        int svc = s_enum_value(c, share->items[i], q, s_services);
        if (svc >= 0) {
            o->share[o->n_share++] = (uint8_t)svc;
            covers = covers || svc == requested;
        }
    }
    (void)s_enum(c, cs, "consent", "legal_basis", true, bases);
    const hv_json *ov = s_object(c, cs, "consent", "override", false, p, sizeof p);
    if (given == 1) {
        (void)s_enum(c, cs, "consent", "obtained_from", true, from);
        uint64_t at;
        if (s_timestamp(c, cs, "consent", "obtained_at", true, &at) == 0 && at > c->now)
            s_err(c, hv_json_get(cs, "obtained_at"), "consent.obtained_at",
                  "consent cannot be recorded as obtained in the future");
        (void)s_string(c, cs, "consent", "obtained_by", true, S_NAME_MAX);
        if (ov != NULL)
            s_err(c, ov, "consent.override",
                  "an override is only for a referral made without consent, but "
                  "\"services\" is true");
        if (share != NULL && requested >= 0 && !covers)
            s_err(c, share, "consent.share_with",
                  "consent does not cover sharing with a \"%s\" service, which the request "
                  "asks for", s_services[requested]);
    } else if (given == 0) {
        /* No consent: only an explicit override with a reason lets it go. */
        if (ov == NULL) {
            s_err(c, cs, "consent",
                  "no consent for services (\"services\": false) and no \"override\" with a "
                  "reason: the referral cannot be made");
        } else {
            static const char *const okeys[] = {"reason", "authorised_by", NULL};
            s_known(c, ov, "consent.override", okeys);
            (void)s_string(c, ov, "consent.override", "reason", true, S_TEXT_MAX);
            (void)s_string(c, ov, "consent.override", "authorised_by", true, S_NAME_MAX);
            o->consent_override = true;
        }
    }
}

static void s_destination(s_ck *c, const hv_json *root)
{
    char p[128];
    static const char *const dkeys[] = {"country", "region", NULL};
    const hv_json *d = s_object(c, root, "", "destination", true, p, sizeof p);
    if (d == NULL)
        return;
    s_known(c, d, "destination", dkeys);
    const char *country = s_string(c, d, "destination", "country", true, 2);
    if (country != NULL && !s_country_ok(country))
        s_err(c, hv_json_get(d, "country"), "destination.country",
              "expected a country code of two capital letters, found \"%s\"", country);
    else if (country != NULL)
        memcpy(c->out->summary.country, country, 3);
    const char *region = s_string(c, d, "destination", "region", false, HV_SUMMARY_REGION_MAX);
    if (region != NULL)
        snprintf(c->out->summary.region, sizeof c->out->summary.region, "%s", region);
}

/* The coarse band for the summary, consistent with the minor flag. */
static uint8_t s_band(const s_facts *f)
{
    int age = f->age >= 0 ? f->age : f->age_min;
    if (f->minor == 1 && age >= 18)
        age = 17;
    if (f->minor == 0 && age < 18)
        age = 18;
    if (age < 12)
        return HV_AGE_0_11;
    if (age < 18)
        return HV_AGE_12_17;
    if (age < 25)
        return HV_AGE_18_24;
    if (age < 40)
        return HV_AGE_25_39;
    if (age < 60)
        return HV_AGE_40_59;
    return HV_AGE_60_UP;
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
    s_ck c = {out, now};
    hv_json *root = NULL;
    hv_json_error jerr;
    hv_err err = hv_json_parse(text, len, &root, &jerr);
    if (err == HV_ENOMEM)
        return err;
    if (err != HV_OK) {
        hv_json at = {.line = jerr.line, .col = jerr.col};
        s_err(&c, &at, "", "%s", jerr.text);
        return err == HV_ETOOBIG ? HV_ETOOBIG : HV_EJSON;
    }
    if (root->type != HV_JSON_OBJECT) {
        s_err(&c, root, "", "expected an object at the top, found %s",
              hv_json_type_name(root->type));
        hv_json_free(&root);
        return HV_EJSON;
    }
    static const char *const keys[] = {"schema", "subject", "minor", "unaccompanied",
                                       "guardian", "child_protection", "identification",
                                       "exploitation", "smuggled_migrant", "stage", "needs",
                                       "risk", "consent", "request", "destination",
                                       "narrative", "attachments", NULL};
    s_known(&c, root, "", keys);
    const char *schema = s_string(&c, root, "", "schema", true, 64);
    if (schema != NULL && strcmp(schema, HV_REFERRAL_SCHEMA) != 0)
        s_err(&c, hv_json_get(root, "schema"), "schema",
              "expected \"" HV_REFERRAL_SCHEMA "\", found \"%.40s\"", schema);
    s_facts f = {-1, -1, -1, NULL, -1};
    s_subject(&c, root, &f);
    s_child(&c, root, &f);
    s_situation(&c, root);
    s_needs(&c, root);
    s_risk(&c, root);
    s_consent_request(&c, root);
    s_destination(&c, root);
    s_attachments(&c, root);
    out->summary.minor = f.minor == 1;
    out->summary.age_band = s_band(&f);
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
    return json_pack("{s:s, s:o, s:s, s:s, s:s, s:b, s:o, s:b, s:s, s:s, s:o, s:s}", "service",
                     hv_service_name(s->service), "needs", needs, "urgency",
                     hv_urgency_name(s->urgency), "age_band", hv_age_band_name(s->age_band),
                     "sex", hv_sex_name(s->sex), "minor", s->minor, "languages", langs,
                     "interpreter", s->interpreter, "country", s->country, "region", s->region,
                     "exclude", excl, "respond_by", by);
}
