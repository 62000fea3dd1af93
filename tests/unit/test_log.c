/* Log lines: one event per line, ts= level= event= then the caller's pairs. */
#include "hv_test.h"

#include <regex.h>
#include <unistd.h>

#include "hv_log.h"

static char *s_capture(void (*fn)(void))
{
    char *dir = hvt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/log", dir);
    int saved = dup(2);
    assert_non_null(freopen(path, "w", stderr));
    fn();
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 4096);
    assert_true(fread(text, 1, 4095, f) > 0);
    fclose(f);
    hvt_rmdir(dir);
    free(dir);
    return text;
}

static void s_log_some(void)
{
    hv_log_set_level(HV_LOG_INFO);
    hv_log(HV_LOG_INFO, "registry_loaded", "version=%d nodes=%d", 3, 10);
    hv_log(HV_LOG_DEBUG, "hidden", "x=1");
    hv_log(HV_LOG_ERROR, "store_failed", NULL);
}

static void test_format(void **state)
{
    (void)state;
    char *text = s_capture(s_log_some);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "level=info event=registry_loaded version=3 nodes=10\n"
                             "ts=[^ ]+ level=error event=store_failed\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, text, 0, NULL, 0) != 0)
        fail_msg("unexpected log output:\n%s", text);
    regfree(&re);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_format)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
