/* Notes sealed end to end through a third party (hv_note.h): the intake
 * opens what the provider sealed to it; the router that carries a note
 * can neither read it, move it to another referral, alter it nor forge
 * one; a note for another intake does not open. */
#include "hv_test.h"

#include "hv_note.h"

#define S_NOW 1795305600u

static const uint8_t s_ref[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

typedef struct s_party {
    hv_node node;      /* as the registry lists it */
    hv_keyring *ring;  /* its secrets */
} s_party;

static void s_make(s_party *p, const char *id)
{
    hv_keypair *kp = NULL;
    assert_int_equal(hv_keypair_generate(&kp), HV_OK);
    memset(&p->node, 0, sizeof p->node);
    snprintf(p->node.id, sizeof p->node.id, "%s", id);
    p->node.keys = *hv_keypair_public(kp);
    assert_int_equal(hv_keyring_from_keypair(&p->ring, &kp), HV_OK);
}

typedef struct s_world {
    s_party intake, provider, router, other;
} s_world;

static int s_setup(void **state)
{
    assert_int_equal(hv_crypto_init(), HV_OK);
    s_world *w = calloc(1, sizeof *w);
    s_make(&w->intake, "ngo.xa");
    s_make(&w->provider, "shelter.xc");
    s_make(&w->router, "router.xc");
    s_make(&w->other, "ngo.xb");
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    s_world *w = *state;
    hv_keyring_free(&w->intake.ring);
    hv_keyring_free(&w->provider.ring);
    hv_keyring_free(&w->router.ring);
    hv_keyring_free(&w->other.ring);
    free(w);
    return 0;
}

static const char s_text[] = "NOTE-MARKER the person asked for a female caseworker";

static void s_seal(s_world *w, uint8_t *out, size_t *len)
{
    assert_int_equal(hv_note_seal(w->provider.ring, &w->provider.node, &w->intake.node, s_ref,
                                  s_text, out, HV_NOTE_SEALED_MAX, len),
                     HV_OK);
}

static void test_intake_opens_provider_note(void **state)
{
    s_world *w = *state;
    uint8_t note[HV_NOTE_SEALED_MAX];
    size_t len;
    s_seal(w, note, &len);
    assert_int_equal(len, HV_NOTE_OVERHEAD + strlen(s_text));
    /* Not in plain text on the way. */
    assert_null(memmem(note, len, "NOTE-MARKER", 11));
    char text[HV_MSG_TEXT_MAX + 1];
    assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->provider.node, s_ref,
                                  note, len, S_NOW, text, sizeof text),
                     HV_OK);
    assert_string_equal(text, s_text);
}

static void test_note_not_readable_by_router(void **state)
{
    s_world *w = *state;
    uint8_t note[HV_NOTE_SEALED_MAX];
    size_t len;
    s_seal(w, note, &len);
    char text[HV_MSG_TEXT_MAX + 1] = "untouched";
    /* The router's keys open nothing, even named as the recipient. */
    assert_int_equal(hv_note_open(w->router.ring, &w->router.node, &w->provider.node, s_ref,
                                  note, len, S_NOW, text, sizeof text),
                     HV_ECRYPTO);
    /* Another intake neither. */
    assert_int_equal(hv_note_open(w->other.ring, &w->other.node, &w->provider.node, s_ref,
                                  note, len, S_NOW, text, sizeof text),
                     HV_ECRYPTO);
    assert_string_equal(text, "untouched");
}

static void test_note_moved_altered_or_forged_refused(void **state)
{
    s_world *w = *state;
    uint8_t note[HV_NOTE_SEALED_MAX];
    size_t len;
    s_seal(w, note, &len);
    char text[HV_MSG_TEXT_MAX + 1];
    /* Moved to another referral. */
    uint8_t other_ref[16];
    memcpy(other_ref, s_ref, 16);
    other_ref[15] ^= 1;
    assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->provider.node, other_ref,
                                  note, len, S_NOW, text, sizeof text),
                     HV_ECRYPTO);
    /* Passed off as another provider's. */
    assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->router.node, s_ref, note,
                                  len, S_NOW, text, sizeof text),
                     HV_ECRYPTO);
    /* Any byte flipped. */
    for (size_t i = 0; i < len; i++) {
        note[i] ^= 0x20;
        assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->provider.node, s_ref,
                                      note, len, S_NOW, text, sizeof text),
                         HV_ECRYPTO);
        note[i] ^= 0x20;
    }
    /* Forged by the router under the provider's name: its signature fails. */
    uint8_t forged[HV_NOTE_SEALED_MAX];
    size_t forged_len;
    hv_node posing = w->router.node;
    snprintf(posing.id, sizeof posing.id, "shelter.xc");
    assert_int_equal(hv_note_seal(w->router.ring, &posing, &w->intake.node, s_ref, "forged",
                                  forged, sizeof forged, &forged_len),
                     HV_OK);
    assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->provider.node, s_ref,
                                  forged, forged_len, S_NOW, text, sizeof text),
                     HV_ECRYPTO);
    /* Cut short. */
    for (size_t cut = 0; cut < HV_NOTE_OVERHEAD; cut++)
        assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->provider.node, s_ref,
                                      note, cut, S_NOW, text, sizeof text),
                         HV_EDECODE);
}

static void test_note_limits(void **state)
{
    s_world *w = *state;
    char *big = malloc(HV_MSG_TEXT_MAX + 2);
    memset(big, 'a', HV_MSG_TEXT_MAX + 1);
    big[HV_MSG_TEXT_MAX + 1] = '\0';
    uint8_t note[HV_NOTE_SEALED_MAX];
    size_t len;
    assert_int_equal(hv_note_seal(w->provider.ring, &w->provider.node, &w->intake.node, s_ref,
                                  big, note, sizeof note, &len),
                     HV_EINVAL);
    big[HV_MSG_TEXT_MAX] = '\0';
    assert_int_equal(hv_note_seal(w->provider.ring, &w->provider.node, &w->intake.node, s_ref,
                                  big, note, sizeof note, &len),
                     HV_OK);
    assert_true(len <= HV_NOTE_SEALED_MAX);
    char text[HV_MSG_TEXT_MAX + 1];
    assert_int_equal(hv_note_open(w->intake.ring, &w->intake.node, &w->provider.node, s_ref,
                                  note, len, S_NOW, text, sizeof text),
                     HV_OK);
    assert_int_equal(strlen(text), HV_MSG_TEXT_MAX);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intake_opens_provider_note),
        cmocka_unit_test(test_note_not_readable_by_router),
        cmocka_unit_test(test_note_moved_altered_or_forged_refused),
        cmocka_unit_test(test_note_limits),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
