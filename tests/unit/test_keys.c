/* Key files: generation, loading, permission and format refusals. */
#include "hv_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "hv_keys.h"

static char *s_path(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void test_generate_and_load(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    hv_errmsg e = {""};
    assert_int_equal(hv_keys_generate("ngo.xa", dir, &e), HV_OK);
    char *key = s_path(dir, "ngo.xa.key"), *pub = s_path(dir, "ngo.xa.pub");
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    hv_keypair *kp = NULL;
    char id[65];
    assert_int_equal(hv_keys_load_secret(key, &kp, id, &e), HV_OK);
    assert_string_equal(id, "ngo.xa");
    hv_pubkeys pk;
    char pub_id[65];
    assert_int_equal(hv_keys_load_public(pub, &pk, pub_id, &e), HV_OK);
    assert_string_equal(pub_id, "ngo.xa");
    assert_memory_equal(&pk, hv_keypair_public(kp), sizeof pk);
    hv_keypair_free(&kp);
    /* Never overwritten. */
    assert_int_equal(hv_keys_generate("ngo.xa", dir, &e), HV_EEXIST);
    assert_non_null(strstr(e.text, "refusing to overwrite"));
    /* Invalid ids are refused before anything is written. */
    assert_int_equal(hv_keys_generate("../escape", dir, &e), HV_EINVAL);
    assert_int_equal(hv_keys_generate("", dir, &e), HV_EINVAL);
    hvt_rmdir(dir);
    free(dir);
    free(key);
    free(pub);
}

static void test_permissions_refused(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    hv_errmsg e = {""};
    assert_int_equal(hv_keys_generate("shelter.xc", dir, &e), HV_OK);
    char *key = s_path(dir, "shelter.xc.key");
    hv_keypair *kp = NULL;
    static const unsigned modes[] = {0640, 0604, 0644, 0660, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(key, modes[i]), 0);
        assert_int_equal(hv_keys_load_secret(key, &kp, NULL, &e), HV_EKEYPERM);
        assert_null(kp);
        assert_non_null(strstr(e.text, "chmod 600"));
    }
    assert_int_equal(chmod(key, 0400), 0);
    assert_int_equal(hv_keys_load_secret(key, &kp, NULL, &e), HV_OK);
    hv_keypair_free(&kp);
    hvt_rmdir(dir);
    free(dir);
    free(key);
}

static hv_err s_parse(const char *text, hv_errmsg *e)
{
    hv_keypair *kp = NULL;
    hv_err err = hv_keys_parse_secret(text, strlen(text), &kp, NULL, e);
    hv_keypair_free(&kp);
    return err;
}

#define S_HEX64 "0101010101010101010101010101010101010101010101010101010101010101"

static void test_secret_format(void **state)
{
    (void)state;
    hv_errmsg e = {""};
    assert_int_equal(s_parse("haven-secret-keys v1\nid a\nsign-seed " S_HEX64
                             "\nbox-secret " S_HEX64 "\ntransport-secret " S_HEX64 "\n",
                             &e),
                     HV_OK);
    assert_int_equal(s_parse("", &e), HV_EKEYFORMAT);
    assert_int_equal(s_parse("not a key\n", &e), HV_EKEYFORMAT);
    assert_int_equal(s_parse("haven-secret-keys v1\nid a\nsign-seed " S_HEX64 "\n", &e),
                     HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "missing field 'box-secret'"));
    assert_int_equal(s_parse("haven-secret-keys v1\nid a\nsign-seed 0101\nbox-secret " S_HEX64
                             "\ntransport-secret " S_HEX64 "\n",
                             &e),
                     HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "line 3"));
    assert_int_equal(s_parse("haven-secret-keys v1\nid a\nid a\n", &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "repeated"));
    assert_int_equal(s_parse("haven-secret-keys v1\nid a\ncolour blue\n", &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "unknown"));
}

static void test_public_format(void **state)
{
    (void)state;
    hv_errmsg e = {""};
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_generate(&kp), HV_OK);
    const hv_pubkeys *p = hv_keypair_public(kp);
    char *s = hvt_hex(p->sign, 32), *b = hvt_hex(p->box, 32), *t = hvt_hex(p->transport, 32),
         *k = hvt_hex(p->key_id, 8);
    char text[1024];
    hv_pubkeys out;
    snprintf(text, sizeof text, "{\"id\":\"n1\",\"key_id\":\"%s\",\"sign\":\"%s\",\"box\":\"%s\","
             "\"transport\":\"%s\"}", k, s, b, t);
    assert_int_equal(hv_keys_parse_public(text, strlen(text), &out, NULL, &e), HV_OK);
    assert_memory_equal(&out, p, sizeof out);
    /* A key id that does not match (a copy error) is refused. */
    snprintf(text, sizeof text, "{\"key_id\":\"0000000000000000\",\"sign\":\"%s\",\"box\":\"%s\","
             "\"transport\":\"%s\"}", s, b, t);
    assert_int_equal(hv_keys_parse_public(text, strlen(text), &out, NULL, &e), HV_EKEYFORMAT);
    /* Short hex. */
    snprintf(text, sizeof text, "{\"sign\":\"%.62s\",\"box\":\"%s\",\"transport\":\"%s\"}", s, b,
             t);
    assert_int_equal(hv_keys_parse_public(text, strlen(text), &out, NULL, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "'sign'"));
    /* Well-formed hex of an unusable key (all zeros). */
    snprintf(text, sizeof text, "{\"sign\":\"%s\",\"box\":\"%064d\",\"transport\":\"%s\"}", s,
             0, t);
    assert_int_equal(hv_keys_parse_public(text, strlen(text), &out, NULL, &e), HV_EKEYFORMAT);
    assert_string_equal(e.text, "public keys: a key is not a usable public key");
    /* Not JSON at all: located. */
    assert_int_equal(hv_keys_parse_public("{\"sign\": ", 9, &out, NULL, &e), HV_EJSON);
    assert_non_null(strstr(e.text, "line 1"));
    free(s);
    free(b);
    free(t);
    free(k);
    hv_keypair_free(&kp);
}

int main(void)
{
    assert_int_equal(hv_crypto_init(), HV_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_load),
        cmocka_unit_test(test_permissions_refused),
        cmocka_unit_test(test_secret_format),
        cmocka_unit_test(test_public_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
