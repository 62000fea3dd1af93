/* Preferences' values; see hv_web_prefs.h. */
#include "hv_web_prefs.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const s_langs[] = {"en", "fr", "ar"};
#define S_NLANGS (sizeof s_langs / sizeof s_langs[0])

bool hv_web_lang_ok(const char *lang)
{
    for (size_t i = 0; lang != NULL && i < S_NLANGS; i++)
        if (strcmp(lang, s_langs[i]) == 0)
            return true;
    return false;
}

/* The q value of one item's parameters `p` (after the tag, up to `end`), in
 * thousandths: 1000 when absent, -1 when malformed. */
static int s_q(const char *p, const char *end)
{
    while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
        p++;
    if (p == end)
        return 1000;
    if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
        return -1;
    p += 2;
    int whole = *p == '1' ? 1 : *p == '0' ? 0 : -1;
    if (whole < 0)
        return -1;
    p++;
    int milli = 0, digits = 0;
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
            milli = milli * 10 + (*p - '0');
        for (int d = digits; d < 3; d++)
            milli *= 10;
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p != end || (whole == 1 && milli != 0))
        return -1;
    return whole * 1000 + milli;
}

const char *hv_web_lang_from_accept(const char *header)
{
    const char *best = "en";
    int best_q = 0;
    for (const char *item = header; item != NULL && *item != '\0';) {
        const char *end = strchr(item, ',');
        if (end == NULL)
            end = item + strlen(item);
        while (item < end && (*item == ' ' || *item == '\t'))
            item++;
        size_t tag = strcspn(item, ";,- \t");
        const char *params = item + tag;
        while (params < end && *params != ';')
            params++; /* the rest of the tag: a region, a script */
        int q = s_q(params, end);
        for (size_t i = 0; i < S_NLANGS && tag == 2; i++)
            if ((item[0] | 0x20) == s_langs[i][0] && (item[1] | 0x20) == s_langs[i][1] &&
                q > best_q) {
                best = s_langs[i];
                best_q = q;
            }
        item = *end == ',' ? end + 1 : end;
    }
    return best;
}

bool hv_web_tz_ok(const char *tz, const char *dir)
{
    size_t n = tz != NULL ? strlen(tz) : 0;
    if (n == 0 || n > HV_WEB_TZ_MAX || tz[0] == '/' || tz[n - 1] == '/' ||
        strstr(tz, "//") != NULL ||
        strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") != n)
        return false;
    if (dir == NULL)
        return true;
    /* The form allows no "." at all, so the name stays under `dir`. */
    char path[sizeof HV_WEB_TZ_DIR + HV_WEB_TZ_MAX + 2];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, tz) >= sizeof path)
        return false;
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}
