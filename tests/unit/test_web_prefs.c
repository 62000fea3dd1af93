/* haven-web's preferences: the language chosen from Accept-Language and
 * the time zone names accepted (hv_web_prefs). */
#include "hv_test.h"

#include <sys/stat.h>

#include "hv_web_prefs.h"

static void test_language_from_the_browser(void **state)
{
    (void)state;
    assert_string_equal(hv_web_lang_from_accept(NULL), "en");
    assert_string_equal(hv_web_lang_from_accept(""), "en");
    assert_string_equal(hv_web_lang_from_accept("fr-FR,fr;q=0.9,en;q=0.8"), "fr");
    assert_string_equal(hv_web_lang_from_accept("de-DE, ar;q=0.5, en;q=0.4"), "ar");
    assert_string_equal(hv_web_lang_from_accept("AR-tn"), "ar");
    /* The highest q wins whatever the order; the first among equals. */
    assert_string_equal(hv_web_lang_from_accept("en;q=0.2, fr;q=0.7"), "fr");
    assert_string_equal(hv_web_lang_from_accept("fr, ar"), "fr");
    /* q=0 is "not this one"; nothing supported is English. */
    assert_string_equal(hv_web_lang_from_accept("fr;q=0, de"), "en");
    assert_string_equal(hv_web_lang_from_accept("*"), "en");
    /* A malformed q does not count; neither does a longer tag. */
    assert_string_equal(hv_web_lang_from_accept("fr;q=2, ar;q=0.1"), "ar");
    assert_string_equal(hv_web_lang_from_accept("fr;q=1.5, ar;q=0.1"), "ar");
    assert_string_equal(hv_web_lang_from_accept("fra, ar;q=0.1"), "ar");
    assert_string_equal(hv_web_lang_from_accept("en;q=1.000,fr;q=0.999"), "en");
}

static void test_languages(void **state)
{
    (void)state;
    assert_true(hv_web_lang_ok("en") && hv_web_lang_ok("fr") && hv_web_lang_ok("ar"));
    assert_false(hv_web_lang_ok("de") || hv_web_lang_ok("EN") || hv_web_lang_ok("") ||
                 hv_web_lang_ok(NULL) || hv_web_lang_ok("en-GB"));
}

static void test_time_zones(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/Africa", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/Africa/Tunis", dir);
    hvt_write_file(path, "TZif", 4, 0644);
    snprintf(path, sizeof path, "%s/Etc", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/Etc/GMT+1", dir);
    hvt_write_file(path, "TZif", 4, 0644);
    assert_true(hv_web_tz_ok("Africa/Tunis", dir));
    assert_true(hv_web_tz_ok("Etc/GMT+1", dir));
    assert_false(hv_web_tz_ok("Africa", dir));        /* a folder */
    assert_false(hv_web_tz_ok("Africa/Lagos", dir));  /* no such file */
    assert_false(hv_web_tz_ok("../Africa/Tunis", dir));
    assert_false(hv_web_tz_ok("Africa//Tunis", dir));
    assert_false(hv_web_tz_ok("/Africa/Tunis", dir));
    assert_false(hv_web_tz_ok("Africa/Tunis/", dir));
    assert_false(hv_web_tz_ok("Africa/Tun is", dir));
    assert_false(hv_web_tz_ok("", dir));
    assert_false(hv_web_tz_ok(NULL, dir));
    char longname[HV_WEB_TZ_MAX + 2];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(hv_web_tz_ok(longname, NULL));
    longname[HV_WEB_TZ_MAX] = '\0';
    assert_true(hv_web_tz_ok(longname, NULL)); /* the form alone */
    hvt_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_language_from_the_browser),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_time_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
