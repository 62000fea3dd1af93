/* Whole-file reading: the size limit, empty and missing files. */
#include "hv_test.h"

#include "hv_file.h"

static void test_limits(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/f", dir);
    size_t size = 10000; /* more than one read buffer */
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 31);
    hvt_write_file(path, data, size, 0644);
    uint8_t *buf = NULL;
    size_t len = 0;
    hv_errmsg e = {""};
    assert_int_equal(hv_file_read(path, size, &buf, &len, &e), HV_OK);
    assert_int_equal(len, size);
    assert_memory_equal(buf, data, size);
    assert_int_equal(buf[size], 0); /* NUL after the bytes */
    free(buf);
    assert_int_equal(hv_file_read(path, size - 1, &buf, &len, &e), HV_ETOOBIG);
    assert_non_null(strstr(e.text, "is larger than 9999 bytes"));
    hvt_write_file(path, "", 0, 0644);
    assert_int_equal(hv_file_read(path, 0, &buf, &len, &e), HV_OK);
    assert_int_equal(len, 0);
    assert_int_equal(buf[0], 0);
    free(buf);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(hv_file_read(path, 100, &buf, &len, &e), HV_ENOTFOUND);
    free(data);
    hvt_rmdir(dir);
    free(dir);
}

static void test_dir_of_a_path(void **state)
{
    (void)state;
    char dir[64];
    hv_file_dir("/var/lib/haven/ngo-xa.db", dir, sizeof dir);
    assert_string_equal(dir, "/var/lib/haven");
    hv_file_dir("ngo-xa.db", dir, sizeof dir);
    assert_string_equal(dir, ".");
    hv_file_dir("/ngo-xa.db", dir, sizeof dir);
    assert_string_equal(dir, "/");
    hv_file_dir("staff/ngo-xa.staff.sock", dir, sizeof dir);
    assert_string_equal(dir, "staff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_limits),
                                       cmocka_unit_test(test_dir_of_a_path)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
