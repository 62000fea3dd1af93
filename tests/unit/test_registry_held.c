/* The held registry (issue 19): the record's exact text and every refusal
 * of its parser; loading against it (older, another of the same version,
 * the very same, newer, -n writing nothing, the version in use as a floor);
 * and the expiry's levels, wording and once-a-day warnings. */
#include "hv_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "hv_crypto.h"
#include "hv_file.h"
#include "hv_keys.h"
#include "hv_log.h"
#include "hv_registry_expiry.h"
#include "hv_registry_held.h"
#include "hv_registry_internal.h"

#define S_NOW 1793491200ull /* 2026-11-01T00:00:00Z */
#define S_DAY 86400ull

static hv_keypair *s_authority, *s_broker;

/* Writes a signed one-broker registry of `version` to `path`; `org` makes
 * another registry of the same version. */
static void s_write_registry(const char *path, uint64_t version, const char *org)
{
    hv_registry *reg = NULL;
    assert_int_equal(hv_registry_alloc(1, &reg), HV_OK);
    snprintf(reg->network, sizeof reg->network, "example-route");
    reg->version = version;
    reg->issued_at = S_NOW - S_DAY;
    reg->expires_at = S_NOW + 30 * S_DAY;
    hv_node *n = &reg->nodes[0];
    snprintf(n->id, sizeof n->id, "broker.xc");
    n->role = HV_ROLE_BROKER;
    snprintf(n->country, sizeof n->country, "XC");
    snprintf(n->organisation, sizeof n->organisation, "%s", org);
    snprintf(n->endpoint_workers, sizeof n->endpoint_workers, "tcp://127.0.0.1:7301");
    n->keys = *hv_keypair_public(s_broker);
    n->valid_from = S_NOW - S_DAY;
    n->valid_until = S_NOW + 30 * S_DAY;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hv_registry_sign(reg, s_authority, &buf, &len), HV_OK);
    hvt_write_file(path, buf, len, 0644);
    free(buf);
    hv_registry_free(&reg);
}

static void s_hash_file(const char *path, uint8_t out[32])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hv_file_read(path, HV_REGISTRY_FILE_MAX, &buf, &len, NULL), HV_OK);
    hv_hash256(buf, len, out);
    free(buf);
}

static int s_setup(void **state)
{
    (void)state;
    assert_int_equal(hv_crypto_init(), HV_OK);
    assert_int_equal(hv_keypair_generate(&s_authority), HV_OK);
    assert_int_equal(hv_keypair_generate(&s_broker), HV_OK);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    hv_keypair_free(&s_authority);
    hv_keypair_free(&s_broker);
    return 0;
}

static void test_record_round_trip_and_exact_text(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/broker.db.registry-held", dir);
    hv_registry_held h = {18446744073709551615ull, {0}};
    for (int i = 0; i < 32; i++)
        h.hash[i] = (uint8_t)(i * 7 + 1);
    hv_errmsg e = {""};
    assert_int_equal(hv_registry_held_write(path, &h, &e), HV_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hv_file_read(path, 4096, &buf, &len, &e), HV_OK);
    const char *tail = "version 18446744073709551615\n"
                       "hash 01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da\n";
    assert_true(len > strlen(tail));
    assert_string_equal((char *)buf + len - strlen(tail), tail);
    assert_int_equal(buf[0], '#');
    free(buf);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    hv_registry_held back;
    assert_int_equal(hv_registry_held_read(path, &back, &e), HV_OK);
    assert_true(back.version == h.version);
    assert_memory_equal(back.hash, h.hash, 32);
    /* No temporary file is left beside it. */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    assert_int_equal(access(tmp, F_OK), -1);
    /* A missing record is nothing held. */
    snprintf(path, sizeof path, "%s/none.registry-held", dir);
    back.version = 9;
    assert_int_equal(hv_registry_held_read(path, &back, &e), HV_OK);
    assert_true(back.version == 0);
    hvt_rmdir(dir);
    free(dir);
}

static void test_parser_refuses_what_it_does_not_write(void **state)
{
    (void)state;
    static const char hash[] = "hash "
                               "01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da\n";
    static const struct {
        const char *text;
        hv_err want;
    } cases[] = {
        {"", HV_EDECODE},
        {"# only a comment\n", HV_EDECODE},
        {"version 7\n", HV_EDECODE},                  /* no hash */
        {"version 0\n%s", HV_EDECODE},                /* 0 is "none", never written */
        {"version 07\n%s", HV_EDECODE},               /* leading zero */
        {"version -7\n%s", HV_EDECODE},
        {"version 18446744073709551616\n%s", HV_EDECODE}, /* 2^64 */
        {"version 7 \n%s", HV_EDECODE},
        {"version 7\r\n%s", HV_EDECODE},
        {"Version 7\n%s", HV_EDECODE},
        {"%sversion 7\n", HV_EDECODE},                /* order */
        {"version 7\nhash 01080F161D242B323940474E555C636A71787F868D949BA2A9B0B7BEC5CCD3DA\n",
         HV_EDECODE},                                 /* upper case */
        {"version 7\nhash 01080f\n", HV_EDECODE},
        {"version 7\nhash "
         "01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da",
         HV_EDECODE},                                 /* no final newline */
        {"version 7\n%s\n", HV_ETRAILING},
        {"version 7\n%sversion 8\n", HV_ETRAILING},
        {"# a\n#\nversion 7\n%s", HV_OK},
        {"version 7\n%s", HV_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* "%s" in a case stands for the hash line. */
        char text[512];
        const char *at = strstr(cases[i].text, "%s");
        if (at == NULL)
            snprintf(text, sizeof text, "%s", cases[i].text);
        else
            snprintf(text, sizeof text, "%.*s%s%s", (int)(at - cases[i].text), cases[i].text,
                     hash, at + 2);
        hv_registry_held h;
        hv_err got = hv_registry_held_parse((const uint8_t *)text, strlen(text), &h);
        if (got != cases[i].want)
            fail_msg("case %zu (%s): %s, expected %s", i, cases[i].text, hv_errname(got),
                     hv_errname(cases[i].want));
        if (got == HV_OK)
            assert_true(h.version == 7);
    }
    char big[HV_REGISTRY_HELD_FILE_MAX + 2];
    memset(big, '#', sizeof big);
    hv_registry_held h;
    assert_int_equal(hv_registry_held_parse((const uint8_t *)big, sizeof big, &h), HV_ETOOBIG);
}

static void test_damaged_record_refuses(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    char store[512], held[600], reg_path[600];
    snprintf(store, sizeof store, "%s/node.db", dir);
    snprintf(held, sizeof held, "%s.registry-held", store);
    snprintf(reg_path, sizeof reg_path, "%s/network.reg", dir);
    s_write_registry(reg_path, 2, "Example C");
    hvt_write_file(held, "version 2\n", 10, 0644);
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    assert_int_equal(hv_registry_held_load(reg_path, store, hv_keypair_public(s_authority)->sign,
                                           S_NOW, 0, true, &reg, &e),
                     HV_EDECODE);
    assert_null(reg);
    char want[4096];
    snprintf(want, sizeof want,
             "%s is damaged (not what this node writes): it records the registry this node "
             "has accepted; restore it from a backup, or remove it once your network "
             "authority has confirmed which registry is current",
             held);
    assert_string_equal(e.text, want);
    hvt_rmdir(dir);
    free(dir);
}

static void test_load_against_the_held_registry(void **state)
{
    (void)state;
    char *dir = hvt_tmpdir();
    char store[512], held_path[600], v1[600], v2[600], v2b[600], v3[600];
    snprintf(store, sizeof store, "%s/node.db", dir);
    snprintf(held_path, sizeof held_path, "%s.registry-held", store);
    snprintf(v1, sizeof v1, "%s/v1.reg", dir);
    snprintf(v2, sizeof v2, "%s/v2.reg", dir);
    snprintf(v2b, sizeof v2b, "%s/v2b.reg", dir);
    snprintf(v3, sizeof v3, "%s/v3.reg", dir);
    s_write_registry(v1, 1, "Example C");
    s_write_registry(v2, 2, "Example C");
    s_write_registry(v2b, 2, "Example C, renamed");
    s_write_registry(v3, 3, "Example C");
    const uint8_t *pk = hv_keypair_public(s_authority)->sign;
    hv_registry *reg = NULL;
    hv_errmsg e = {""};
    hv_registry_held held;

    /* First start: nothing held; version 2 is taken and recorded. */
    assert_int_equal(hv_registry_held_load(v2, store, pk, S_NOW, 0, true, &reg, &e), HV_OK);
    assert_true(hv_registry_version(reg) == 2);
    hv_registry_free(&reg);
    uint8_t h2[32], h2b[32], h3[32];
    s_hash_file(v2, h2);
    s_hash_file(v2b, h2b);
    s_hash_file(v3, h3);
    assert_int_equal(hv_registry_held_read(held_path, &held, &e), HV_OK);
    assert_true(held.version == 2);
    assert_memory_equal(held.hash, h2, 32);

    /* Older: refused, the record unchanged. */
    assert_int_equal(hv_registry_held_load(v1, store, pk, S_NOW, 0, true, &reg, &e),
                     HV_EREG_ROLLBACK);
    assert_null(reg);
    char want[4096];
    snprintf(want, sizeof want,
             "%s is registry version 1, older than version 2 that this node has already "
             "accepted (recorded in %s); a node never goes back to an older registry, which "
             "could bring back a revoked node: get the current registry from your network "
             "authority and put it at %s",
             v1, held_path, v1);
    assert_string_equal(e.text, want);

    /* Another of the same version: refused, both hashes' first 16 hex. */
    assert_int_equal(hv_registry_held_load(v2b, store, pk, S_NOW, 0, true, &reg, &e),
                     HV_EREG_ROLLBACK);
    char hb[65], ha[65];
    hv_hex(h2b, 32, hb);
    hv_hex(h2, 32, ha);
    snprintf(want, sizeof want,
             "%s is registry version 2 with hash %.16s, but this node has accepted another "
             "registry of version 2, hash %.16s (recorded in %s); two registries with one "
             "version are an authority's error or a forgery: get the current registry from "
             "your network authority; if the authority really reissued version 2, ask it to "
             "sign the new one as version 3",
             v2b, hb, ha, held_path);
    assert_string_equal(e.text, want);

    /* The very same registry: taken, nothing written. */
    struct stat before, after;
    assert_int_equal(stat(held_path, &before), 0);
    assert_int_equal(hv_registry_held_load(v2, store, pk, S_NOW, 2, true, &reg, &e), HV_OK);
    hv_registry_free(&reg);

    /* Newer at -n (record false): accepted, not recorded. */
    assert_int_equal(hv_registry_held_load(v3, store, pk, S_NOW, 0, false, &reg, &e), HV_OK);
    hv_registry_free(&reg);
    assert_int_equal(stat(held_path, &after), 0);
    assert_true(before.st_ino == after.st_ino && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    assert_int_equal(hv_registry_held_read(held_path, &held, &e), HV_OK);
    assert_true(held.version == 2);

    /* Newer at start: recorded before the caller has it. */
    assert_int_equal(hv_registry_held_load(v3, store, pk, S_NOW, 2, true, &reg, &e), HV_OK);
    hv_registry_free(&reg);
    assert_int_equal(hv_registry_held_read(held_path, &held, &e), HV_OK);
    assert_true(held.version == 3);
    assert_memory_equal(held.hash, h3, 32);

    /* The version in use is a floor even with the record gone. */
    assert_int_equal(unlink(held_path), 0);
    assert_int_equal(hv_registry_held_load(v2, store, pk, S_NOW, 3, true, &reg, &e),
                     HV_EREG_ROLLBACK);
    assert_non_null(strstr(e.text, "older than version 3"));

    /* The signature is checked before anything is compared or written. */
    hv_keypair *other = NULL;
    assert_int_equal(hv_keypair_generate(&other), HV_OK);
    assert_int_equal(hv_registry_held_load(v3, store, hv_keypair_public(other)->sign, S_NOW, 0,
                                           true, &reg, &e),
                     HV_EREG_SIGNATURE);
    hv_keypair_free(&other);
    assert_int_equal(access(held_path, F_OK), -1);
    /* And the dates: an expired registry is refused, as before. */
    assert_int_equal(hv_registry_held_load(v3, store, pk, S_NOW + 31 * S_DAY, 0, true, &reg, &e),
                     HV_EREG_EXPIRED);
    hvt_rmdir(dir);
    free(dir);
}

static void test_expiry_levels_and_words(void **state)
{
    (void)state;
    assert_int_equal(hv_registry_expiry_level(14 * 86400), HV_EXPIRY_FINE);
    assert_int_equal(hv_registry_expiry_level(14 * 86400 - 1), HV_EXPIRY_WARN);
    assert_int_equal(hv_registry_expiry_level(3 * 86400), HV_EXPIRY_WARN);
    assert_int_equal(hv_registry_expiry_level(3 * 86400 - 1), HV_EXPIRY_DEGRADED);
    assert_int_equal(hv_registry_expiry_level(1), HV_EXPIRY_DEGRADED);
    assert_int_equal(hv_registry_expiry_level(0), HV_EXPIRY_EXPIRED);
    assert_int_equal(hv_registry_expiry_level(-5), HV_EXPIRY_EXPIRED);
    char s[32];
    hv_registry_expiry_human(2 * 86400 - 60, s, sizeof s);
    assert_string_equal(s, "1 day");
    hv_registry_expiry_human(10 * 86400, s, sizeof s);
    assert_string_equal(s, "10 days");
    hv_registry_expiry_human(7200, s, sizeof s);
    assert_string_equal(s, "2 hours");
    hv_registry_expiry_human(61, s, sizeof s);
    assert_string_equal(s, "1 minute");
    hv_registry_expiry_human(-10, s, sizeof s);
    assert_string_equal(s, "0 minutes");
}

/* Runs the watch over a registry expiring at S_NOW + 10 days, at the
 * times given, and returns what it logged (malloc'd). */
static char *s_watch_log(const uint64_t *times, size_t n)
{
    char *dir = hvt_tmpdir();
    char path[512], reg_path[512];
    snprintf(path, sizeof path, "%s/log", dir);
    snprintf(reg_path, sizeof reg_path, "%s/r.reg", dir);
    hv_registry *reg = NULL;
    assert_int_equal(hv_registry_alloc(0, &reg), HV_OK);
    reg->version = 5;
    reg->expires_at = S_NOW + 10 * S_DAY;
    int saved = dup(2);
    assert_non_null(freopen(path, "w", stderr));
    hv_log_reset_sink();
    hv_expiry_watch w;
    memset(&w, 0, sizeof w);
    for (size_t i = 0; i < n; i++)
        (void)hv_registry_expiry_watch(&w, reg, times[i]);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    hv_log_reset_sink();
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(hv_file_read(path, 65536, &text, &len, NULL), HV_OK);
    hv_registry_free(&reg);
    hvt_rmdir(dir);
    free(dir);
    return (char *)text;
}

static size_t s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_warned_at_start_then_once_a_day(void **state)
{
    (void)state;
    /* Outside the 14 days: nothing. */
    uint64_t far[] = {S_NOW - 20 * S_DAY, S_NOW - 5 * S_DAY};
    char *text = s_watch_log(far, 2);
    assert_string_equal(text, "");
    free(text);
    /* At start (10 days left), every tick of the next day, then the next
     * day, then under 3 days at once (an error), then expired. */
    uint64_t times[] = {S_NOW,          S_NOW + 1,          S_NOW + 3600,
                        S_NOW + S_DAY - 1, S_NOW + S_DAY,   S_NOW + S_DAY + 5,
                        S_NOW + 7 * S_DAY + 1, S_NOW + 7 * S_DAY + 2, S_NOW + 10 * S_DAY};
    text = s_watch_log(times, sizeof times / sizeof times[0]);
    assert_int_equal(s_count(text, "event=registry_expiring"), 4);
    assert_int_equal(s_count(text, "level=warn event=registry_expiring version=5 "
                                   "expires=2026-11-11T00:00:00Z days_left=10 seconds_left=864000 "
                                   "detail=\"the registry expires in 10 days, at "
                                   "2026-11-11T00:00:00Z; get the next registry from your "
                                   "network authority\"\n"),
                     1);
    assert_int_equal(s_count(text, "level=warn event=registry_expiring version=5 "
                                   "expires=2026-11-11T00:00:00Z days_left=9 "),
                     1);
    assert_int_equal(s_count(text, "level=error event=registry_expiring version=5 "
                                   "expires=2026-11-11T00:00:00Z days_left=2 "
                                   "seconds_left=259199 "),
                     1);
    assert_int_equal(s_count(text, "level=error event=registry_expiring version=5 "
                                   "expires=2026-11-11T00:00:00Z days_left=0 seconds_left=0 "
                                   "detail=\"the registry expired at 2026-11-11T00:00:00Z; "),
                     1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip_and_exact_text),
        cmocka_unit_test(test_parser_refuses_what_it_does_not_write),
        cmocka_unit_test(test_damaged_record_refuses),
        cmocka_unit_test(test_load_against_the_held_registry),
        cmocka_unit_test(test_expiry_levels_and_words),
        cmocka_unit_test(test_warned_at_start_then_once_a_day),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
