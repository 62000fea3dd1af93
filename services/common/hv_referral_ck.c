/* Referral file checking: the primitives (hv_referral_ck.h).
 * Values are checked in place; errors carry the location of the value. */
#include "hv_referral_ck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_registry.h"

void hv_rck_err(hv_rck *c, const hv_json *at, const char *path, const char *fmt, ...)
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
void hv_rck_path(char *out, size_t cap, const char *parent, const char *key)
{
    snprintf(out, cap, "%s%s%s", parent, parent[0] ? "." : "", key);
}

/* Reports members of `obj` that the schema does not know: a misspelt
 * member would otherwise be silently ignored. */
void hv_rck_known(hv_rck *c, const hv_json *obj, const char *path, const char *const *keys)
{
    for (size_t i = 0; i < obj->n; i++) {
        const hv_json *m = obj->items[i];
        bool known = false;
        for (size_t k = 0; keys[k] != NULL && !known; k++)
            known = strcmp(keys[k], m->key) == 0;
        if (!known) {
            char p[128];
            hv_rck_path(p, sizeof p, path, m->key);
            hv_json at = {.line = m->key_line, .col = m->key_col};
            hv_rck_err(c, &at, p, "unknown member \"%.60s\"", m->key);
        }
    }
}

/* Finds member `key` of `obj` and checks its type. Missing and required:
 * an error located at the object. Returns NULL when absent or wrong. */
const hv_json *hv_rck_member(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                               hv_json_type type, bool required, char *p, size_t cap)
{
    hv_rck_path(p, cap, path, key);
    const hv_json *m = hv_json_get(obj, key);
    if (m == NULL) {
        if (required)
            hv_rck_err(c, obj, p, "missing required member \"%s\"", key);
        return NULL;
    }
    if (m->type != type) {
        hv_rck_err(c, m, p, "expected %s %s, found %s", type == HV_JSON_ARRAY || type == HV_JSON_OBJECT ? "an" : "a",
              hv_json_type_name(type), hv_json_type_name(m->type));
        return NULL;
    }
    return m;
}

const char *hv_rck_string_value(hv_rck *c, const hv_json *v, const char *p, size_t min,
                                  size_t max)
{
    if (v->type != HV_JSON_STRING) {
        hv_rck_err(c, v, p, "expected a string, found %s", hv_json_type_name(v->type));
        return NULL;
    }
    if (v->len < min || v->len > max) {
        if (min > 0 && v->len == 0)
            hv_rck_err(c, v, p, "must not be empty");
        else
            hv_rck_err(c, v, p, "expected at most %zu bytes, found %zu", max, v->len);
        return NULL;
    }
    return v->str;
}

const char *hv_rck_string(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                            bool required, size_t max)
{
    char p[128];
    const hv_json *m = hv_rck_member(c, obj, path, key, HV_JSON_STRING, required, p, sizeof p);
    return m ? hv_rck_string_value(c, m, p, 1, max) : NULL;
}

/* One of `names` (NULL-terminated); returns its index or -1. */
int hv_rck_enum_value(hv_rck *c, const hv_json *v, const char *p, const char *const *names)
{
    if (v->type != HV_JSON_STRING) {
        hv_rck_err(c, v, p, "expected a string, found %s", hv_json_type_name(v->type));
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
    hv_rck_err(c, v, p, "expected one of %s; found \"%.40s\"", list, v->str);
    return -1;
}

int hv_rck_enum(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                  bool required, const char *const *names)
{
    char p[128];
    const hv_json *m = hv_rck_member(c, obj, path, key, HV_JSON_STRING, required, p, sizeof p);
    return m ? hv_rck_enum_value(c, m, p, names) : -1;
}

/* Returns 1 for true, 0 for false, -1 when absent or wrong. */
int hv_rck_bool(hv_rck *c, const hv_json *obj, const char *path, const char *key, bool required)
{
    char p[128];
    const hv_json *m = hv_rck_member(c, obj, path, key, HV_JSON_BOOL, required, p, sizeof p);
    return m ? (int)m->b : -1;
}

bool hv_rck_int(hv_rck *c, const hv_json *obj, const char *path, const char *key, long min,
                  long max, long *out)
{
    char p[128];
    const hv_json *m = hv_rck_member(c, obj, path, key, HV_JSON_NUMBER, true, p, sizeof p);
    if (m == NULL)
        return false;
    if (!m->is_int || m->num < (double)min || m->num > (double)max) {
        hv_rck_err(c, m, p, "expected a whole number from %ld to %ld", min, max);
        return false;
    }
    *out = (long)m->num;
    return true;
}

const hv_json *hv_rck_array(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                              bool required, size_t min, size_t max, char *p, size_t cap)
{
    const hv_json *m = hv_rck_member(c, obj, path, key, HV_JSON_ARRAY, required, p, cap);
    if (m == NULL)
        return NULL;
    if (m->n < min) {
        hv_rck_err(c, m, p, "expected at least %zu entr%s", min, min == 1 ? "y" : "ies");
        return NULL;
    }
    if (m->n > max) {
        hv_rck_err(c, m, p, "expected at most %zu entries, found %zu", max, m->n);
        return NULL;
    }
    return m;
}

const hv_json *hv_rck_object(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                               bool required, char *p, size_t cap)
{
    return hv_rck_member(c, obj, path, key, HV_JSON_OBJECT, required, p, cap);
}

/* ---------------------------------------------------------- value forms */

bool hv_rck_date_parse(const char *s, int *y, int *m, int *d)
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
int hv_rck_age_years(int y, int m, int d, uint64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    int age = tm.tm_year + 1900 - y;
    if (tm.tm_mon + 1 < m || (tm.tm_mon + 1 == m && tm.tm_mday < d))
        age--;
    return age;
}

bool hv_rck_country_ok(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* A BCP 47 tag in the simple form Haven uses: "ti", "ar", "pt-BR",
 * "sr-Latn": a 2-3 letter lowercase language, then up to two subtags. */
bool hv_rck_language_ok(const char *s)
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

const char *const hv_rck_services[] = {"shelter", "medical", "psychosocial", "legal_aid",
                                         "interpretation", "return", "documentation",
                                         "child_protection", "livelihood", "education",
                                         "family_tracing", NULL};
const char *const hv_rck_urgencies[] = {"routine", "urgent", "immediate", NULL};
const char *const hv_rck_sexes[] = {"female", "male", "other", "unknown", NULL};

int hv_rck_timestamp(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                       bool required, uint64_t *out)
{
    char p[128];
    const char *v = hv_rck_string(c, obj, path, key, required, 20);
    if (v == NULL)
        return -1;
    if (hv_time_parse(v, out) != HV_OK) {
        hv_rck_path(p, sizeof p, path, key);
        hv_rck_err(c, hv_json_get(obj, key), p,
              "expected a UTC time YYYY-MM-DDTHH:MM:SSZ, found \"%s\"", v);
        return -1;
    }
    return 0;
}

/* The coarse band for the summary, consistent with the minor flag. */
uint8_t hv_rck_band(const hv_rck_facts *f)
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
