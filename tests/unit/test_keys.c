/* Key files: generation, loading, permission and format refusals. */
#include "hv_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "hv_keys.h"
#include "hv_keyring.h"
#include "hv_registry.h"

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


static hv_err s_parse_ring(const char *text, hv_errmsg *e)
{
    hv_keyring *ring = NULL;
    hv_err err = hv_keys_parse_ring(text, strlen(text), &ring, NULL, e);
    hv_keyring_free(&ring);
    return err;
}

/* A v1 file loads as a ring of one set whose storage key is the one v1
 * stores were encrypted under (derived from the box secret). */
static void test_v1_loads_as_ring(void **state)
{
    (void)state;
    hv_errmsg e = {""};
    hv_keyring *ring = NULL;
    const char *v1 = "haven-secret-keys v1\nid a\nsign-seed " S_HEX64 "\nbox-secret " S_HEX64
                     "\ntransport-secret " S_HEX64 "\n";
    assert_int_equal(hv_keys_parse_ring(v1, strlen(v1), &ring, NULL, &e), HV_OK);
    assert_int_equal(hv_keyring_count(ring), 1);
    uint8_t seed[32], want[32], got[32];
    memset(seed, 1, sizeof seed);
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_from_seeds(&kp, seed, seed, seed), HV_OK);
    hv_keypair_storage_key(kp, want);
    hv_keyring_storage_key(ring, got);
    assert_memory_equal(got, want, 32);
    assert_memory_equal(hv_keypair_public(hv_keyring_at(ring, 0)), hv_keypair_public(kp),
                        sizeof(hv_pubkeys));
    hv_keypair_free(&kp);
    hv_keyring_free(&ring);
}

/* keygen writes v2; --rotate adds sets (storage secret kept, next.pub
 * written) up to HV_KEYRING_MAX, then refuses; the one-set loader takes the
 * newest. */
static void test_rotate(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    hv_errmsg e = {""};
    assert_int_equal(hv_keys_generate("shelter.xc", dir, &e), HV_OK);
    char *key = s_path(dir, "shelter.xc.key"), *pub = s_path(dir, "shelter.xc.pub"),
         *next = s_path(dir, "shelter.xc.next.pub");
    hv_keyring *ring = NULL;
    char id[65];
    assert_int_equal(hv_keys_load_ring(key, &ring, id, &e), HV_OK);
    assert_string_equal(id, "shelter.xc");
    assert_int_equal(hv_keyring_count(ring), 1);
    uint8_t storage[32], after[32];
    hv_keyring_storage_key(ring, storage);
    hv_pubkeys first = *hv_keypair_public(hv_keyring_at(ring, 0)), p, rotated;
    hv_keyring_free(&ring);
    assert_int_equal(hv_keys_load_public(pub, &p, NULL, &e), HV_OK);
    assert_memory_equal(&p, &first, sizeof p);

    assert_int_equal(hv_keys_rotate("shelter.xc", dir, &rotated, &e), HV_OK);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(hv_keys_load_public(next, &p, id, &e), HV_OK);
    assert_string_equal(id, "shelter.xc");
    assert_memory_equal(&p, &rotated, sizeof p);
    assert_int_equal(hv_keys_load_ring(key, &ring, NULL, &e), HV_OK);
    assert_int_equal(hv_keyring_count(ring), 2);
    assert_memory_equal(hv_keypair_public(hv_keyring_at(ring, 0)), &first, sizeof first);
    assert_memory_equal(hv_keypair_public(hv_keyring_at(ring, 1)), &rotated, sizeof rotated);
    assert_int_equal(hv_keyring_index(ring, rotated.key_id), 1);
    hv_keyring_storage_key(ring, after);
    assert_memory_equal(after, storage, 32);
    hv_keyring_free(&ring);
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keys_load_secret(key, &kp, NULL, &e), HV_OK);
    assert_memory_equal(hv_keypair_public(kp), &rotated, sizeof rotated);
    hv_keypair_free(&kp);

    /* A second rotation before the first's next.pub was taken away. */
    assert_int_equal(hv_keys_rotate("shelter.xc", dir, NULL, &e), HV_EEXIST);
    assert_non_null(strstr(e.text, "next.pub already exists"));
    assert_int_equal(unlink(next), 0);
    assert_int_equal(hv_keys_rotate("shelter.xc", dir, NULL, &e), HV_OK);
    assert_int_equal(unlink(next), 0);
    assert_int_equal(hv_keys_rotate("shelter.xc", dir, NULL, &e), HV_EEXIST);
    assert_non_null(strstr(e.text, "holds 3 key sets"));
    /* Another node's id, no key file. */
    assert_int_equal(hv_keys_rotate("ngo.xa", dir, NULL, &e), HV_ENOTFOUND);
    assert_int_equal(hv_keys_rotate("../x", dir, NULL, &e), HV_EINVAL);
    hvt_rmdir(dir);
    free(dir);
    free(key);
    free(pub);
    free(next);
}

/* v2's refusals, each named after what it stops. */
static void test_v2_format(void **state)
{
    (void)state;
    hv_errmsg e = {""};
    hv_keypair *kp = NULL;
    uint8_t seed[32];
    memset(seed, 1, sizeof seed);
    assert_int_equal(hv_keypair_from_seeds(&kp, seed, seed, seed), HV_OK);
    char kid[17];
    hv_hex(hv_keypair_public(kp)->key_id, 8, kid);
    hv_keypair_free(&kp);
    char set[512], text[2048];
    snprintf(set, sizeof set, "set %s\nsign-seed " S_HEX64 "\nbox-secret " S_HEX64
             "\ntransport-secret " S_HEX64 "\n", kid);
    const char *head = "haven-secret-keys v2\nid a\nstorage-secret " S_HEX64 "\n";
    snprintf(text, sizeof text, "%s%s", head, set);
    assert_int_equal(s_parse_ring(text, &e), HV_OK);
    /* a copy error in a set */
    snprintf(text, sizeof text, "%sset 0000000000000000\n%s", head, strchr(set, '\n') + 1);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "key id does not match"));
    /* the same set twice */
    snprintf(text, sizeof text, "%s%s%s", head, set, set);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "the same key set twice"));
    /* a lost storage secret */
    snprintf(text, sizeof text, "haven-secret-keys v2\nid a\n%s", set);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "come first"));
    assert_int_equal(s_parse_ring("haven-secret-keys v2\nid a\n", &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "storage-secret"));
    /* no set at all */
    assert_int_equal(s_parse_ring(head, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "no key set"));
    /* a half set */
    snprintf(text, sizeof text, "%sset %s\nsign-seed " S_HEX64 "\n", head, kid);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "missing field 'box-secret' in the set of line 4"));
    /* a seed outside any set */
    snprintf(text, sizeof text, "%ssign-seed " S_HEX64 "\n%s", head, set);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "misplaced"));
    /* two ids, an id after the sets, a repeated storage secret */
    snprintf(text, sizeof text, "%sid a\n%s", head, set);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    snprintf(text, sizeof text, "%s%sid a\n", head, set);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    snprintf(text, sizeof text, "%sstorage-secret " S_HEX64 "\n%s", head, set);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "repeated field 'storage-secret'"));
    /* a short storage secret, a short key id */
    assert_int_equal(s_parse_ring("haven-secret-keys v2\nid a\nstorage-secret 01\n", &e),
                     HV_EKEYFORMAT);
    snprintf(text, sizeof text, "%sset 01\n", head);
    assert_int_equal(s_parse_ring(text, &e), HV_EKEYFORMAT);
    /* an unknown version */
    assert_int_equal(s_parse_ring("haven-secret-keys v3\nid a\n", &e), HV_EKEYFORMAT);
}

/* More sets than a ring holds: four distinct sets in one file. */
static void test_v2_too_many_sets(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    hv_errmsg e = {""};
    assert_int_equal(hv_keys_generate("a", dir, &e), HV_OK);
    char *next = s_path(dir, "a.next.pub"), *key = s_path(dir, "a.key");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hv_keys_rotate("a", dir, NULL, &e), HV_OK);
        unlink(next);
    }
    /* append a fourth set by hand */
    hv_keyring *ring = NULL;
    assert_int_equal(hv_keys_load_ring(key, &ring, NULL, &e), HV_OK);
    FILE *f = fopen(key, "a");
    assert_non_null(f);
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_from_seeds(&kp, seed, seed, seed), HV_OK);
    char kid[17];
    hv_hex(hv_keypair_public(kp)->key_id, 8, kid);
    fprintf(f, "set %s\nsign-seed %s\nbox-secret %s\ntransport-secret %s\n", kid,
            "0707070707070707070707070707070707070707070707070707070707070707",
            "0707070707070707070707070707070707070707070707070707070707070707",
            "0707070707070707070707070707070707070707070707070707070707070707");
    fclose(f);
    hv_keyring_free(&ring);
    assert_int_equal(hv_keys_load_ring(key, &ring, NULL, &e), HV_EKEYFORMAT);
    assert_non_null(strstr(e.text, "more key sets than a key file may hold"));
    assert_null(ring);
    hv_keypair_free(&kp);
    hvt_rmdir(dir);
    free(dir);
    free(next);
    free(key);
}

/* The registry's word on which set does what. */
static void test_ring_follows_registry(void **state)
{
    (void)state;
    hv_keyring *ring = hvt_ring(1);
    hv_keypair *b = hvt_keys(40), *c = hvt_keys(80), *d = hvt_keys(120);
    hv_pubkeys ka = *hv_keypair_public(hv_keyring_at(ring, 0)), kb = *hv_keypair_public(b),
               kc = *hv_keypair_public(c);
    assert_int_equal(hv_keyring_add(ring, &b), HV_OK);
    assert_null(b);
    hv_keypair *b2 = hvt_keys(40);
    assert_int_equal(hv_keyring_add(ring, &b2), HV_EEXIST);
    hv_keypair_free(&b2);
    hv_node node;
    memset(&node, 0, sizeof node);
    uint64_t now = 1000000;
    /* step 1: registry lists a only; b is held but not yet listed */
    node.keys = ka;
    assert_ptr_equal(hv_keyring_current(ring, &node), hv_keyring_at(ring, 0));
    assert_ptr_equal(hv_keyring_transport(ring, &node), hv_keyring_at(ring, 0));
    assert_null(hv_keyring_for_kid(ring, &node, kb.key_id, now));
    assert_false(hv_keyring_spent(ring, 0, &node, now));
    assert_false(hv_keyring_spent(ring, 1, &node, now)); /* newer than current: kept */
    /* step 2: b listed as next: transport moves, b opens */
    node.has_next = true;
    node.next_keys = kb;
    assert_ptr_equal(hv_keyring_transport(ring, &node), hv_keyring_at(ring, 1));
    assert_ptr_equal(hv_keyring_current(ring, &node), hv_keyring_at(ring, 0));
    assert_ptr_equal(hv_keyring_for_kid(ring, &node, kb.key_id, now), hv_keyring_at(ring, 1));
    /* step 3: b current, a previous until now + 10 */
    node.has_next = false;
    node.keys = kb;
    node.has_previous = true;
    node.previous_keys = ka;
    node.previous_until = now + 10;
    assert_ptr_equal(hv_keyring_current(ring, &node), hv_keyring_at(ring, 1));
    assert_ptr_equal(hv_keyring_for_kid(ring, &node, ka.key_id, now), hv_keyring_at(ring, 0));
    assert_false(hv_keyring_spent(ring, 0, &node, now));
    /* step 4: the grace ends */
    assert_null(hv_keyring_for_kid(ring, &node, ka.key_id, now + 10));
    assert_true(hv_keyring_spent(ring, 0, &node, now + 10));
    assert_false(hv_keyring_spent(ring, 1, &node, now + 10));
    /* compromise: c current at once, no previous: a spent at once */
    node.has_previous = false;
    assert_true(hv_keyring_spent(ring, 0, &node, now));
    assert_int_equal(hv_keyring_add(ring, &c), HV_OK);
    node.keys = kc;
    assert_true(hv_keyring_spent(ring, 1, &node, now));
    assert_null(hv_keyring_for_kid(ring, &node, kb.key_id, now));
    /* a full ring; dropping */
    assert_int_equal(hv_keyring_add(ring, &d), HV_ETOOBIG);
    assert_non_null(d);
    hv_keypair_free(&d);
    assert_int_equal(hv_keyring_drop(ring, ka.key_id), HV_OK);
    assert_int_equal(hv_keyring_drop(ring, ka.key_id), HV_ENOTFOUND);
    assert_int_equal(hv_keyring_count(ring), 2);
    assert_int_equal(hv_keyring_index(ring, kc.key_id), 1);
    assert_null(hv_keyring_at(ring, 2));
    /* a registry that lists none of the held sets: nothing is current, so
     * nothing is spent either (the worker refuses such a registry) */
    memset(node.keys.key_id, 0xee, HV_KEY_ID_BYTES);
    assert_null(hv_keyring_current(ring, &node));
    assert_null(hv_keyring_transport(ring, &node));
    assert_false(hv_keyring_spent(ring, 0, &node, now));
    hv_keyring_free(&ring);
    hv_keyring_free(&ring); /* safe twice */
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
        cmocka_unit_test(test_v1_loads_as_ring),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_v2_format),
        cmocka_unit_test(test_v2_too_many_sets),
        cmocka_unit_test(test_ring_follows_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
