/* List filters; see hv_listq.h. */
#include "hv_listq.h"

#include <stdio.h>
#include <string.h>

#include "hv_registry.h"

bool hv_listq_reference_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HV_LISTQ_Q_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* "YYYY-MM-DD" or a full UTC time; `end` moves a date to the next day. */
static hv_err s_date(const char *v, bool end, uint64_t *out)
{
    char full[24];
    if (strlen(v) == 10) {
        snprintf(full, sizeof full, "%sT00:00:00Z", v);
        if (hv_time_parse(full, out) != HV_OK)
            return HV_EINVAL;
        if (end)
            *out += 86400;
        return HV_OK;
    }
    return strlen(v) == 20 && hv_time_parse(v, out) == HV_OK ? HV_OK : HV_EINVAL;
}

static const char *s_text(const json_t *v)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

hv_err hv_listq_parse(const json_t *args, const char *const *extra, hv_listq *out,
                      hv_errmsg *e)
{
    memset(out, 0, sizeof *out);
    out->service = -1;
    out->limit = HV_LISTQ_LIMIT_DEFAULT;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v)
    {
        const char *t = s_text(v);
        if (strcmp(key, "limit") == 0 || strcmp(key, "offset") == 0) {
            bool lim = key[0] == 'l';
            int64_t lo = lim ? 1 : 0, hi = lim ? HV_LISTQ_LIMIT_MAX : 1000000;
            if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
                return hv_fail(e, HV_EINVAL, "\"%s\" must be a whole number from %lld to %lld",
                               key, (long long)lo, (long long)hi);
            *(lim ? &out->limit : &out->offset) = json_integer_value(v);
            continue;
        }
        bool known = false;
        for (int i = 0; extra != NULL && extra[i] != NULL; i++)
            known = known || strcmp(key, extra[i]) == 0;
        if (known)
            continue;
        if (strcmp(key, "state") == 0) {
            if (t == NULL || t[0] == '\0' || strlen(t) >= sizeof out->state ||
                strspn(t, "abcdefghijklmnopqrstuvwxyz_") != strlen(t))
                return hv_fail(e, HV_EINVAL, "\"state\" must be a state name");
            snprintf(out->state, sizeof out->state, "%s", t);
        } else if (strcmp(key, "service") == 0) {
            if (t == NULL || (out->service = hv_service_from_name(t)) < 0)
                return hv_fail(e, HV_EINVAL, "\"service\" must be a service name (shelter, "
                               "legal_aid, ...)");
        } else if (strcmp(key, "country") == 0) {
            if (t == NULL || strlen(t) != 2 || strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 2)
                return hv_fail(e, HV_EINVAL, "\"country\" must be a country code such as XC");
            memcpy(out->country, t, 3);
        } else if (strcmp(key, "assigned_to") == 0) {
            if (t == NULL || (t[0] != '\0' && !hv_staff_name_valid(t)))
                return hv_fail(e, HV_EINVAL, "\"assigned_to\" must be a staff name, or \"\" "
                               "for nobody");
            snprintf(out->assigned_to, sizeof out->assigned_to, "%s", t);
            out->by_assignee = true;
            out->unassigned = t[0] == '\0';
        } else if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
            bool until = key[0] == 'u';
            if (t == NULL || s_date(t, until, until ? &out->until : &out->since) != HV_OK)
                return hv_fail(e, HV_EINVAL, "\"%s\" must be a date YYYY-MM-DD or a time "
                               "YYYY-MM-DDTHH:MM:SSZ", key);
        } else if (strcmp(key, "q") == 0) {
            if (t == NULL || !hv_listq_reference_valid(t))
                return hv_fail(e, HV_EINVAL, "\"q\" must be 1 to %d characters",
                               HV_LISTQ_Q_MAX);
            snprintf(out->q, sizeof out->q, "%s", t);
        } else {
            return hv_fail(e, HV_EINVAL, "a list does not take \"%.40s\"", key);
        }
    }
    return HV_OK;
}
