/* The pieces of referral file checking (hv_referral.h) shared by its
 * modules: hv_referral.c (the file and its v1 sections), hv_referral_group.c
 * (the people of a case: subject, family members, placement, attachments).
 * Internal to those files; nothing else includes it.
 *
 * Each check takes the check under way, the JSON value and its path, adds
 * located errors to c->out and returns what it read (NULL or -1 when the
 * value is absent or wrong). Returned strings borrow from the parsed file. */
#ifndef HV_REFERRAL_CK_H
#define HV_REFERRAL_CK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_json.h"
#include "hv_referral.h"

#define HV_RCK_NAME_MAX 100
#define HV_RCK_TEXT_MAX 1000
#define HV_RCK_LONG_TEXT_MAX 20000

/* The check under way. */
typedef struct hv_rck {
    hv_referral_check *out; /* errors and results */
    uint64_t now;           /* Unix seconds */
    unsigned version;       /* 1 or 2: the file's schema, 0 when unreadable */
} hv_rck;

/* Person-level facts the rules need. */
typedef struct hv_rck_facts {
    int age;               /* from date_of_birth, or -1 */
    int age_min, age_max;  /* from age_estimate, or -1 */
    const hv_json *age_at; /* where the age came from */
    int minor;             /* the file's flag: 1, 0 or -1 when missing */
} hv_rck_facts;

/* Service, urgency and sex names in hv_service / hv_urgency / hv_sex order
 * (NULL-terminated). */
extern const char *const hv_rck_services[];
extern const char *const hv_rck_urgencies[];
extern const char *const hv_rck_sexes[];

/* Adds an error at `at` (NULL: line 1, column 1). */
void hv_rck_err(hv_rck *c, const hv_json *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "parent.key", or "key" at the top. */
void hv_rck_path(char *out, size_t cap, const char *parent, const char *key);
/* Reports members of `obj` not in `keys` (NULL-terminated). */
void hv_rck_known(hv_rck *c, const hv_json *obj, const char *path, const char *const *keys);
/* Member `key` of `obj` of type `type`; its path in `p`. */
const hv_json *hv_rck_member(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                             hv_json_type type, bool required, char *p, size_t cap);
const char *hv_rck_string_value(hv_rck *c, const hv_json *v, const char *p, size_t min,
                                size_t max);
const char *hv_rck_string(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                          bool required, size_t max);
int hv_rck_enum_value(hv_rck *c, const hv_json *v, const char *p, const char *const *names);
int hv_rck_enum(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                bool required, const char *const *names);
/* 1 for true, 0 for false, -1 when absent or wrong. */
int hv_rck_bool(hv_rck *c, const hv_json *obj, const char *path, const char *key, bool required);
bool hv_rck_int(hv_rck *c, const hv_json *obj, const char *path, const char *key, long min,
                long max, long *out);
const hv_json *hv_rck_array(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                            bool required, size_t min, size_t max, char *p, size_t cap);
const hv_json *hv_rck_object(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                             bool required, char *p, size_t cap);
bool hv_rck_date_parse(const char *s, int *y, int *m, int *d);
/* Whole years from y-m-d to the UTC date of `now`. */
int hv_rck_age_years(int y, int m, int d, uint64_t now);
bool hv_rck_country_ok(const char *s);
bool hv_rck_language_ok(const char *s);
/* A UTC time "YYYY-MM-DDTHH:MM:SSZ": 0 and *out, or -1. */
int hv_rck_timestamp(hv_rck *c, const hv_json *obj, const char *path, const char *key,
                     bool required, uint64_t *out);
/* The coarse age band of a person, consistent with their minor flag. */
uint8_t hv_rck_band(const hv_rck_facts *f);

/* hv_referral_group.c. One person's record at `path` ("subject",
 * "family_members[0].subject"): names, age, sex, nationalities, languages,
 * interpreter, safe contact (required for the subject only). `sum` receives
 * the subject's summary fields; NULL for a family member. */
void hv_rck_person(hv_rck *c, const hv_json *s, const char *path, hv_rck_facts *f,
                   hv_summary *sum, bool contact_required);
/* The minor flag of a person against their age: `flag` is where the flag
 * is, `path` its path, `who` "the subject's" or "this person's". */
void hv_rck_minor_age(hv_rck *c, const hv_json *flag, const char *path, const hv_rck_facts *f,
                      const char *who);
/* v2: family_members, placement and attachments of the file; fills
 * people, member_bands, keep_together, attachments and the summary's group.
 * `subject` holds the subject's facts. */
void hv_rck_group(hv_rck *c, const hv_json *root, const hv_rck_facts *subject);

#endif
