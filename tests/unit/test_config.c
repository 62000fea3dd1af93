/* INI configuration: values, and every error located by file and line. */
#include "hv_test.h"

#include <stddef.h>

#include "hv_config.h"

typedef struct example_cfg {
    char id[65];        /* node id */
    uint64_t heartbeat; /* ms */
    bool fsync;         /* durability switch */
    char bind[256];     /* endpoint */
} example_cfg;

static const hv_cfg_field s_fields[] = {
    {"node", "id", HV_CFG_STRING, true, 0, 0, offsetof(example_cfg, id), 65, "a node id"},
    {"node", "heartbeat_ms", HV_CFG_UINT, false, 100, 60000, offsetof(example_cfg, heartbeat), 0,
     "milliseconds from 100 to 60000"},
    {"store", "fsync", HV_CFG_BOOL, false, 0, 0, offsetof(example_cfg, fsync), 0, "yes or no"},
    {"net", "bind", HV_CFG_STRING, false, 0, 0, offsetof(example_cfg, bind), 256,
     "a ZeroMQ endpoint such as tcp://127.0.0.1:7101"},
};
#define S_N (sizeof s_fields / sizeof s_fields[0])

static hv_err s_parse(const char *text, example_cfg *c, hv_errmsg *e)
{
    memset(c, 0, sizeof *c);
    c->heartbeat = 1000;
    return hv_config_parse(text, "broker.ini", s_fields, S_N, c, e);
}

static void test_values(void **state)
{
    (void)state;
    example_cfg c;
    hv_errmsg e = {""};
    assert_int_equal(s_parse("; example\n[node]\nid = broker.xa\n\n[store]\nfsync = yes\n", &c, &e),
                     HV_OK);
    assert_string_equal(c.id, "broker.xa");
    assert_int_equal(c.heartbeat, 1000); /* default kept */
    assert_true(c.fsync);
    assert_string_equal(c.bind, "");
}

static void test_errors_are_located(void **state)
{
    (void)state;
    example_cfg c;
    hv_errmsg e = {""};
    assert_int_equal(s_parse("[node]\nid = a\nheartbeat_ms = 5\n", &c, &e), HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini:3: key 'heartbeat_ms' in [node]: expected "
                                "milliseconds from 100 to 60000, got '5'");
    assert_int_equal(s_parse("[node]\nid = a\n[store]\nfsync = maybe\n", &c, &e), HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini:4: key 'fsync' in [store]: expected yes or no, "
                                "got 'maybe'");
    assert_int_equal(s_parse("[node]\nid = a\nbnid = b\n", &c, &e), HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini:3: unknown key 'bnid' in [node]");
    assert_int_equal(s_parse("[node]\nid = a\n[nodes]\nid = b\n", &c, &e), HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini:4: key 'id' is in unknown section [nodes]");
    assert_int_equal(s_parse("[node]\nid = a\n; x\nid = b\n", &c, &e), HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini:4: key 'id' in [node] is given twice");
    assert_int_equal(s_parse("[node]\nthis line has no equals sign\nid = a\n", &c, &e),
                     HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini:2: syntax error: expected [section], key = value "
                                "or a ; comment");
    assert_int_equal(s_parse("[store]\nfsync = no\n", &c, &e), HV_ECONFIG);
    assert_string_equal(e.text, "broker.ini: key 'id' in [node] is required: expected a node id");
    /* The first error wins when there are several. */
    assert_int_equal(s_parse("[node]\nid = a\nheartbeat_ms = x\nbroken\n", &c, &e), HV_ECONFIG);
    assert_non_null(strstr(e.text, "broker.ini:3:"));
    assert_int_equal(s_parse("[node]\nbroken\nid = a\nheartbeat_ms = x\n", &c, &e), HV_ECONFIG);
    assert_non_null(strstr(e.text, "broker.ini:2: syntax error"));
}

static void test_file(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/x.ini", dir);
    hvt_write_file(path, "[node]\nid = broker.xc\n", 22, 0644);
    example_cfg c;
    memset(&c, 0, sizeof c);
    hv_errmsg e = {""};
    assert_int_equal(hv_config_load(path, s_fields, S_N, &c, &e), HV_OK);
    assert_string_equal(c.id, "broker.xc");
    hvt_write_file(path, "[node]\nid = \n", 13, 0644);
    assert_int_equal(hv_config_load(path, s_fields, S_N, &c, &e), HV_ECONFIG);
    assert_non_null(strstr(e.text, "x.ini:2: key 'id' in [node]: expected a node id"));
    snprintf(path, sizeof path, "%s/missing.ini", dir);
    assert_int_equal(hv_config_load(path, s_fields, S_N, &c, &e), HV_ENOTFOUND);
    hvt_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors_are_located),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
