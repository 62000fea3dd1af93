/* Referral file checking: the people of a case (hv_referral_ck.h). The
 * subject and each family member have the same person record; a family
 * member also has a relationship to the subject, a minor flag checked
 * against their age, a guardian or child protection when a minor, and
 * their own consent when an adult (docs/REFERRAL.md "Families"). */
#include "hv_referral_ck.h"

#include <stdio.h>
#include <string.h>

void hv_rck_person(hv_rck *c, const hv_json *s, const char *path, hv_rck_facts *f,
                   hv_summary *sum, bool contact_required)
{
    static const char *const keys[] = {"names", "aliases", "date_of_birth", "age_estimate",
                                       "sex", "nationalities", "languages",
                                       "interpreter_needed", "safe_contact", NULL};
    char p[160], q[192];
    hv_rck_known(c, s, path, keys);

    const hv_json *names = hv_rck_array(c, s, path, "names", true, 1, 8, p, sizeof p);
    for (size_t i = 0; names && i < names->n; i++) {
        static const char *const nkeys[] = {"given", "family", NULL};
        snprintf(q, sizeof q, "%s.names[%zu]", path, i);
        const hv_json *n = names->items[i];
        if (n->type != HV_JSON_OBJECT) {
            hv_rck_err(c, n, q, "expected an object with \"given\" and \"family\"");
            continue;
        }
        hv_rck_known(c, n, q, nkeys);
        (void)hv_rck_string(c, n, q, "given", true, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, n, q, "family", false, HV_RCK_NAME_MAX);
    }
    const hv_json *aliases = hv_rck_array(c, s, path, "aliases", false, 0, 8, p, sizeof p);
    for (size_t i = 0; aliases && i < aliases->n; i++) {
        snprintf(q, sizeof q, "%s.aliases[%zu]", path, i);
        (void)hv_rck_string_value(c, aliases->items[i], q, 1, HV_RCK_NAME_MAX);
    }

    const hv_json *dob = hv_json_get(s, "date_of_birth");
    const hv_json *est = hv_json_get(s, "age_estimate");
    if (dob == NULL && est == NULL)
        hv_rck_err(c, s, path, "expected \"date_of_birth\" or \"age_estimate\"");
    if (dob != NULL && est != NULL) {
        hv_rck_path(q, sizeof q, path, "age_estimate");
        hv_rck_err(c, est, q, "give either \"date_of_birth\" or \"age_estimate\", not both");
    }
    if (dob != NULL && est == NULL) {
        const char *v = hv_rck_string(c, s, path, "date_of_birth", true, 10);
        int y, m, d;
        hv_rck_path(q, sizeof q, path, "date_of_birth");
        if (v != NULL && !hv_rck_date_parse(v, &y, &m, &d))
            hv_rck_err(c, dob, q, "expected a date YYYY-MM-DD, found \"%s\"", v);
        else if (v != NULL && (f->age = hv_rck_age_years(y, m, d, c->now)) < 0)
            hv_rck_err(c, dob, q, "date of birth is in the future");
        else if (v != NULL)
            f->age_at = dob;
    }
    if (est != NULL && dob == NULL) {
        const hv_json *e = hv_rck_object(c, s, path, "age_estimate", true, p, sizeof p);
        static const char *const ekeys[] = {"min", "max", NULL};
        long lo, hi;
        if (e != NULL) {
            hv_rck_known(c, e, p, ekeys);
            bool ok = hv_rck_int(c, e, p, "min", 0, 120, &lo);
            ok = hv_rck_int(c, e, p, "max", 0, 120, &hi) && ok;
            if (ok && lo > hi)
                hv_rck_err(c, e, p, "\"min\" (%ld) is above \"max\" (%ld)", lo, hi);
            else if (ok) {
                f->age_min = (int)lo;
                f->age_max = (int)hi;
                f->age_at = e;
            }
        }
    }

    int sex = hv_rck_enum(c, s, path, "sex", true, hv_rck_sexes);
    if (sex >= 0 && sum != NULL)
        sum->sex = (uint8_t)(sex + 1);

    const hv_json *nat = hv_rck_array(c, s, path, "nationalities", true, 0, 4, p, sizeof p);
    for (size_t i = 0; nat && i < nat->n; i++) {
        snprintf(q, sizeof q, "%s.nationalities[%zu]", path, i);
        const char *v = hv_rck_string_value(c, nat->items[i], q, 1, 9);
        if (v != NULL && !hv_rck_country_ok(v) && strcmp(v, "stateless") != 0)
            hv_rck_err(c, nat->items[i], q,
                  "expected a country code of two capital letters or \"stateless\", found "
                  "\"%s\"", v);
    }

    const hv_json *langs =
        hv_rck_array(c, s, path, "languages", true, 1, HV_SUMMARY_LIST_MAX, p, sizeof p);
    for (size_t i = 0; langs && i < langs->n; i++) {
        snprintf(q, sizeof q, "%s.languages[%zu]", path, i);
        const char *v = hv_rck_string_value(c, langs->items[i], q, 1, 64);
        if (v != NULL && !hv_rck_language_ok(v))
            hv_rck_err(c, langs->items[i], q,
                  "expected a language tag such as \"ti\", \"ar\" or \"pt-BR\", found \"%.40s\"",
                  v);
        else if (v != NULL && sum != NULL)
            snprintf(sum->languages[sum->n_languages++], sizeof sum->languages[0], "%s", v);
    }
    int interp = hv_rck_bool(c, s, path, "interpreter_needed", true);
    if (sum != NULL)
        sum->interpreter = interp == 1;

    static const char *const methods[] = {"phone", "email", "in_person",
                                          "through_organisation", "none", NULL};
    static const char *const ckeys[] = {"method", "value", "notes", NULL};
    const hv_json *sc = hv_rck_object(c, s, path, "safe_contact", contact_required, p, sizeof p);
    if (sc != NULL) {
        hv_rck_known(c, sc, p, ckeys);
        int method = hv_rck_enum(c, sc, p, "method", true, methods);
        bool needs_value = method >= 0 && method <= 1;
        const char *value = hv_rck_string(c, sc, p, "value", needs_value, 200);
        (void)value;
        (void)hv_rck_string(c, sc, p, "notes", false, HV_RCK_TEXT_MAX);
    }
}


void hv_rck_minor_age(hv_rck *c, const hv_json *flag, const char *path, const hv_rck_facts *f,
                      const char *who)
{
    /* The flag must agree with the age: the summary's minor flag decides
     * whether a child is offered to an adult service. */
    if (f->minor == 0 && (f->age >= 0 ? f->age < 18 : (f->age_max >= 0 && f->age_max < 18)))
        hv_rck_err(c, flag, path, "\"minor\" is false but %s age is under 18", who);
    if (f->minor == 1 && (f->age >= 0 ? f->age >= 18 : f->age_min >= 18))
        hv_rck_err(c, flag, path, "\"minor\" is true but %s age is 18 or over", who);
}

static const char *const s_relationships[] = {"child", "sibling", "spouse", "parent", "other",
                                              NULL};

/* An adult family member's own consent to be referred with the subject. */
static void s_member_consent(hv_rck *c, const hv_json *m, const char *path, bool minor)
{
    char p[160];
    static const char *const keys[] = {"services", "obtained_at", "obtained_by", NULL};
    const hv_json *cs = hv_rck_object(c, m, path, "consent", false, p, sizeof p);
    if (minor) {
        if (cs != NULL)
            hv_rck_err(c, cs, p,
                       "a minor is covered by their guardian's consent: remove \"consent\"");
        return;
    }
    if (cs == NULL) {
        if (hv_json_get(m, "consent") == NULL)
            hv_rck_err(c, m, p,
                       "missing required member \"consent\" (an adult family member gives "
                       "their own consent)");
        return;
    }
    hv_rck_known(c, cs, p, keys);
    int given = hv_rck_bool(c, cs, p, "services", true);
    if (given == 1) {
        uint64_t at;
        if (hv_rck_timestamp(c, cs, p, "obtained_at", true, &at) == 0 && at > c->now) {
            char q[192];
            hv_rck_path(q, sizeof q, p, "obtained_at");
            hv_rck_err(c, hv_json_get(cs, "obtained_at"), q,
                       "consent cannot be recorded as obtained in the future");
        }
        (void)hv_rck_string(c, cs, p, "obtained_by", true, HV_RCK_NAME_MAX);
    } else if (given == 0 && !c->out->consent_override) {
        hv_rck_err(c, hv_json_get(cs, "services"), p,
                   "this family member has not consented (\"services\": false): remove them "
                   "from the referral, or record the case's \"consent.override\"");
    }
}

/* Who is responsible for a minor member: the subject, another (adult)
 * member, a named person, or child protection. `minors` holds every
 * member's flag so that a guardian who is a member can be checked. */
static void s_member_guardian(hv_rck *c, const hv_json *m, const char *path, size_t self,
                              bool minor, const int *minors, size_t n, int subject_minor)
{
    char p[160], q[192];
    static const char *const gkeys[] = {"subject", "member", "name", "relationship",
                                        "organisation", "contact", NULL};
    static const char *const pkeys[] = {"authority", "case_reference", "contact", NULL};
    const hv_json *g = hv_rck_object(c, m, path, "guardian", false, p, sizeof p);
    if (g != NULL && !minor)
        hv_rck_err(c, g, p, "\"guardian\" applies to minors only, but \"minor\" is false");
    else if (g != NULL) {
        hv_rck_known(c, g, p, gkeys);
        const hv_json *gs = hv_json_get(g, "subject");
        const hv_json *gm = hv_json_get(g, "member");
        if (gs != NULL && gm != NULL)
            hv_rck_err(c, gm, p, "give either \"subject\" or \"member\", not both");
        else if (gs != NULL) {
            hv_rck_path(q, sizeof q, p, "subject");
            if (gs->type != HV_JSON_BOOL || !gs->b)
                hv_rck_err(c, gs, q, "expected true (the subject is the guardian)");
            else if (subject_minor == 1)
                hv_rck_err(c, gs, q,
                           "the subject is a minor and cannot be a guardian: name an adult, "
                           "or \"child_protection\"");
        } else if (gm != NULL) {
            long k;
            if (hv_rck_int(c, g, p, "member", 0, (long)n - 1 < 0 ? 0 : (long)n - 1, &k)) {
                hv_rck_path(q, sizeof q, p, "member");
                if ((size_t)k == self)
                    hv_rck_err(c, gm, q, "a person cannot be their own guardian");
                else if ((size_t)k < n && minors[k] != 0)
                    hv_rck_err(c, gm, q,
                               "family_members[%ld] is not an adult and cannot be a guardian",
                               k);
            }
        } else {
            (void)hv_rck_string(c, g, p, "name", true, HV_RCK_NAME_MAX);
            (void)hv_rck_string(c, g, p, "relationship", true, HV_RCK_NAME_MAX);
            (void)hv_rck_string(c, g, p, "organisation", false, HV_RCK_NAME_MAX);
            (void)hv_rck_string(c, g, p, "contact", false, 200);
        }
    }
    const hv_json *cp = hv_rck_object(c, m, path, "child_protection", false, p, sizeof p);
    if (cp != NULL && !minor)
        hv_rck_err(c, cp, p,
                   "\"child_protection\" applies to minors only, but \"minor\" is false");
    else if (cp != NULL) {
        hv_rck_known(c, cp, p, pkeys);
        (void)hv_rck_string(c, cp, p, "authority", true, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, cp, p, "case_reference", false, HV_RCK_NAME_MAX);
        (void)hv_rck_string(c, cp, p, "contact", false, 200);
    }
    if (minor && hv_json_get(m, "guardian") == NULL && hv_json_get(m, "child_protection") == NULL) {
        hv_rck_path(q, sizeof q, path, "minor");
        hv_rck_err(c, hv_json_get(m, "minor"), q,
                   "a minor needs \"guardian\" (such as {\"subject\": true}) or "
                   "\"child_protection\"");
    }
}

static void s_family(hv_rck *c, const hv_json *root, const hv_rck_facts *subject)
{
    char p[160], path[64], q[192];
    static const char *const keys[] = {"subject", "relationship", "minor", "guardian",
                                       "child_protection", "consent", NULL};
    hv_referral_check *o = c->out;
    const hv_json *fm = hv_rck_array(c, root, "", "family_members", false, 0,
                                     HV_GROUP_MAX - 1, p, sizeof p);
    int minors[HV_GROUP_MAX];
    for (size_t i = 0; fm && i < fm->n; i++) {
        const hv_json *mj = hv_json_get(fm->items[i], "minor");
        minors[i] = mj && mj->type == HV_JSON_BOOL ? (int)mj->b : -1;
    }
    for (size_t i = 0; fm && i < fm->n; i++) {
        const hv_json *m = fm->items[i];
        snprintf(path, sizeof path, "family_members[%zu]", i);
        if (m->type != HV_JSON_OBJECT) {
            hv_rck_err(c, m, path, "expected an object with \"subject\", \"relationship\" and "
                                   "\"minor\"");
            continue;
        }
        hv_rck_known(c, m, path, keys);
        hv_rck_facts f = {-1, -1, -1, NULL, -1};
        const hv_json *s = hv_rck_object(c, m, path, "subject", true, p, sizeof p);
        if (s != NULL)
            hv_rck_person(c, s, p, &f, NULL, false);
        (void)hv_rck_enum(c, m, path, "relationship", true, s_relationships);
        f.minor = hv_rck_bool(c, m, path, "minor", true);
        hv_rck_path(q, sizeof q, path, "minor");
        hv_rck_minor_age(c, hv_json_get(m, "minor"), q, &f, "this person's");
        if (f.minor >= 0) {
            s_member_guardian(c, m, path, i, f.minor == 1, minors, fm->n, subject->minor);
            s_member_consent(c, m, path, f.minor == 1);
        }
        o->member_bands[o->people++] = hv_rck_band(&f);
    }
}

static void s_placement(hv_rck *c, const hv_json *root)
{
    char p[160];
    static const char *const keys[] = {"keep_together", "split_reason", NULL};
    hv_referral_check *o = c->out;
    o->keep_together = true;
    const hv_json *pl = hv_rck_object(c, root, "", "placement", false, p, sizeof p);
    if (pl == NULL)
        return;
    hv_rck_known(c, pl, p, keys);
    int together = hv_rck_bool(c, pl, p, "keep_together", true);
    const hv_json *why = hv_json_get(pl, "split_reason");
    if (together == 0) {
        o->keep_together = false;
        if (why == NULL)
            hv_rck_err(c, hv_json_get(pl, "keep_together"), "placement.keep_together",
                       "placing the group apart is the caseworker's explicit choice: give "
                       "\"split_reason\"");
        else
            (void)hv_rck_string(c, pl, p, "split_reason", true, HV_RCK_TEXT_MAX);
    } else if (together == 1 && why != NULL) {
        hv_rck_err(c, why, "placement.split_reason",
                   "\"split_reason\" is only for \"keep_together\": false");
    }
}

/* A relative path inside the case's folder: no leading "/", no ".."
 * component, no NUL byte (the documents module opens it). */
static bool s_relative_path_ok(const char *s, size_t len)
{
    if (strlen(s) != len || s[0] == '/')
        return false;
    for (const char *at = s; *at != '\0';) {
        size_t part = strcspn(at, "/");
        if (part == 2 && at[0] == '.' && at[1] == '.')
            return false;
        at += part;
        if (*at == '/')
            at++;
    }
    return true;
}

static void s_attachments(hv_rck *c, const hv_json *root)
{
    char p[160], q[64], r[192];
    static const char *const keys[] = {"file", "title", NULL};
    hv_referral_check *o = c->out;
    const hv_json *at = hv_rck_array(c, root, "", "attachments", false, 0,
                                     HV_REFERRAL_ATTACHMENTS_MAX, p, sizeof p);
    for (size_t i = 0; at && i < at->n; i++) {
        const hv_json *a = at->items[i];
        snprintf(q, sizeof q, "attachments[%zu]", i);
        if (a->type != HV_JSON_OBJECT) {
            hv_rck_err(c, a, q, "expected an object with \"file\" and \"title\"");
            continue;
        }
        hv_rck_known(c, a, q, keys);
        const char *file = hv_rck_string(c, a, q, "file", true, 255);
        const char *title = hv_rck_string(c, a, q, "title", true, 200);
        const hv_json *fj = hv_json_get(a, "file");
        if (file != NULL && !s_relative_path_ok(file, fj->len)) {
            hv_rck_path(r, sizeof r, q, "file");
            hv_rck_err(c, fj, r,
                       "expected a path relative to the referral file, without \"..\" or a "
                       "NUL byte, such as \"example-medical-report.pdf\"");
            continue;
        }
        if (file == NULL || title == NULL)
            continue;
        snprintf(o->attachments[o->n_attachments].file, sizeof o->attachments[0].file, "%s",
                 file);
        snprintf(o->attachments[o->n_attachments].title, sizeof o->attachments[0].title, "%s",
                 title);
        o->n_attachments++;
    }
}

void hv_rck_group(hv_rck *c, const hv_json *root, const hv_rck_facts *subject)
{
    hv_referral_check *o = c->out;
    o->people = 1;
    o->member_bands[0] = hv_rck_band(subject);
    o->keep_together = true;
    if (c->version < 2)
        return;
    s_family(c, root, subject);
    s_placement(c, root);
    s_attachments(c, root);
}
