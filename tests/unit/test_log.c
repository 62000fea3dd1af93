/* Log lines: one event per line, ts= level= event= then the caller's pairs. */
#include "hv_test.h"

#include <regex.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_log.h"

static char *s_capture(void (*fn)(void))
{
    char *dir = hvt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/log", dir);
    int saved = dup(2);
    assert_non_null(freopen(path, "w", stderr));
    hv_log_reset_sink();
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

/* Points JOURNAL_STREAM at the file stderr now is, as systemd does for a
 * service whose StandardError= is the journal, then logs. */
static void s_log_as_journal_child(void)
{
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    hv_log_reset_sink();
    hv_log_set_level(HV_LOG_DEBUG);
    hv_log(HV_LOG_DEBUG, "d", NULL);
    hv_log(HV_LOG_INFO, "i", NULL);
    hv_log(HV_LOG_WARN, "w", "k=v");
    hv_log(HV_LOG_ERROR, "e", NULL);
    /* A program's own messages take the same prefix. */
    fprintf(stderr, "%susage: x\n", hv_log_journal_prefix(HV_LOG_ERROR));
    unsetenv("JOURNAL_STREAM");
    hv_log_reset_sink();
}

static void test_journal_priorities(void **state)
{
    (void)state;
    char *text = s_capture(s_log_as_journal_child);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^<7>ts=[^ ]+ level=debug event=d\n"
                             "<6>ts=[^ ]+ level=info event=i\n"
                             "<4>ts=[^ ]+ level=warn event=w k=v\n"
                             "<3>ts=[^ ]+ level=error event=e\n"
                             "<3>usage: x\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, text, 0, NULL, 0) != 0)
        fail_msg("unexpected log output:\n%s", text);
    regfree(&re);
    free(text);
}

/* A JOURNAL_STREAM inherited from a parent whose stderr was the journal
 * must not prefix lines that now go to a file or terminal. */
static void s_log_with_stale_stream(void)
{
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", v, 1);
    hv_log_reset_sink();
    hv_log_set_level(HV_LOG_INFO);
    hv_log(HV_LOG_WARN, "w", NULL);
    setenv("JOURNAL_STREAM", "garbage", 1);
    hv_log_reset_sink();
    hv_log(HV_LOG_ERROR, "e", NULL);
    fprintf(stderr, "%susage: x\n", hv_log_journal_prefix(HV_LOG_ERROR));
    unsetenv("JOURNAL_STREAM");
    hv_log_reset_sink();
}

static void test_no_prefix_when_stderr_is_not_the_journal(void **state)
{
    (void)state;
    char *text = s_capture(s_log_with_stale_stream);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^ts=[^ ]+ level=warn event=w\n"
                             "ts=[^ ]+ level=error event=e\n"
                             "usage: x\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, text, 0, NULL, 0) != 0)
        fail_msg("unexpected log output:\n%s", text);
    regfree(&re);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_format),
                                       cmocka_unit_test(test_journal_priorities),
                                       cmocka_unit_test(test_no_prefix_when_stderr_is_not_the_journal)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
