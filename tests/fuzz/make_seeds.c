/* Writes the seed inputs of every fuzz target into DIR/<target>/, from
 * fixed keys so that reruns give the same files. The committed corpora in
 * tests/fuzz/corpus/ start from these and keep what the fuzzer found.
 * usage: make_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit_base.h"
#include "hv_audit.h"
#include "hv_audit_head.h"
#include "hv_control.h"
#include "hv_control_batch.h"
#include "hv_envelope.h"
#include "hv_evidence_bundle.h"
#include "hv_health.h"
#include "hv_keyring.h"
#include "hv_keys.h"
#include "hv_msg.h"
#include "hv_note.h"
#include "note_keys.h"
#include "hv_prekey.h"
#include "hv_registry.h"

static const char *s_dir;

static void s_write(const char *target, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/seed-%s", s_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static hv_keypair *s_keys(uint8_t base)
{
    uint8_t s[3][32];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 32; i++)
            s[k][i] = (uint8_t)(base + 16 * k + i);
    hv_keypair *kp = NULL;
    if (hv_keypair_from_seeds(&kp, s[0], s[1], s[2]) != HV_OK)
        exit(1);
    return kp;
}

static void s_hex(const uint8_t *b, char out[65])
{
    hv_hex(b, 32, out);
}

static const char *s_keys_json(const hv_keypair *kp, char *out, size_t cap)
{
    const hv_pubkeys *p = hv_keypair_public(kp);
    char s[65], b[65], t[65];
    s_hex(p->sign, s);
    s_hex(p->box, b);
    s_hex(p->transport, t);
    snprintf(out, cap, "{\"sign\":\"%s\",\"box\":\"%s\",\"transport\":\"%s\"}", s, b, t);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    s_dir = argv[1];
    mkdir(s_dir, 0755);
    hv_keypair *ngo = s_keys(1), *shelter = s_keys(60), *broker = s_keys(120),
               *authority = s_keys(180), *ngo_next = s_keys(200), *shelter_old = s_keys(220),
               *operator = s_keys(240);
    uint8_t *buf;
    size_t len;

    /* Envelopes of several types and sizes. */
    static const unsigned types[] = {HV_MSG_REFERRAL_REQUEST, HV_MSG_CASE_TRANSFER,
                                     HV_MSG_STATUS, HV_MSG_WITHDRAW};
    uint8_t *env_bytes = NULL;
    size_t env_len = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        hv_envelope env;
        hv_envelope_init(&env, types[i], "ngo.xa", hv_keypair_public(ngo), "shelter.xc",
                         hv_keypair_public(shelter));
        memset(env.referral, 0x42, sizeof env.referral);
        env.hops = (uint8_t)i;
        static const char pt[] = "{\"summary\":{\"needs\":[\"shelter\"],\"age_band\":\"18-25\"}}";
        if (hv_envelope_seal(&env, ngo, hv_keypair_public(shelter), (const uint8_t *)pt,
                             (i + 1) * 8 < sizeof pt ? (i + 1) * 8 : sizeof pt, &buf,
                             &len) != HV_OK)
            return 1;
        char name[32];
        snprintf(name, sizeof name, "%s", hv_msg_rule_get(types[i])->name);
        s_write("envelope", name, buf, len);
        if (env_bytes == NULL) {
            env_bytes = buf;
            env_len = len;
        } else {
            free(buf);
        }
    }

    /* Every control command. */
    for (unsigned cmd = 1; cmd <= HV_CMD_MAX; cmd++) {
        if (hv_cmd_name(cmd) == NULL)
            continue;
        hv_control m;
        memset(&m, 0, sizeof m);
        m.cmd = (uint8_t)cmd;
        strcpy(m.node_id, cmd == HV_CMD_READY ? "broker.xa" : "ngo.xa");
        m.credit = 64;
        m.heartbeat_ms = 1000;
        m.max_message = HV_CONTROL_MAX;
        m.attempt = 2;
        memset(m.msg_id, 0x33, sizeof m.msg_id);
        m.has_msg_id = true;
        m.code = HV_EFORBIDDEN;
        strcpy(m.text, "role intake may not send OFFER");
        m.envelope = env_bytes;
        m.envelope_len = env_len;
        m.bundle = env_bytes; /* opaque to the control codec */
        m.bundle_len = env_len < HV_CONTROL_BUNDLE_MAX ? env_len : HV_CONTROL_BUNDLE_MAX;
        if (cmd == HV_CMD_AUDIT_HEAD || cmd == HV_CMD_AUDIT_WITNESSED)
            m.bundle_len = m.bundle_len < HV_CONTROL_HEAD_MAX ? m.bundle_len
                                                              : HV_CONTROL_HEAD_MAX;
        m.has_prekey_id = true;
        memset(m.prekey_id, 0x44, sizeof m.prekey_id);
        m.summary = env_bytes; /* opaque to the control codec too */
        m.summary_len = env_len;
        m.header = env_bytes; /* NOTICE's header, opaque to the control codec as well */
        m.header_len = env_len < HV_CONTROL_NOTICE_HEADER_MAX ? env_len
                                                              : HV_CONTROL_NOTICE_HEADER_MAX;
        memset(m.digest, 0x55, sizeof m.digest);
        memset(m.sig, 0x66, sizeof m.sig);
        if (cmd == HV_CMD_BATCH) {
            /* A SEND, a STORED, a DELIVER, an ACK and a NACK in one frame,
             * made as the broker and the client make them. */
            static const unsigned inner[] = {HV_CMD_SEND, HV_CMD_STORED, HV_CMD_DELIVER,
                                             HV_CMD_ACK, HV_CMD_NACK};
            hv_control_batch bt = {0};
            for (size_t k = 0; k < sizeof inner / sizeof inner[0]; k++) {
                m.cmd = (uint8_t)inner[k];
                if (hv_control_batch_add(&bt, &m, HV_CONTROL_BATCH_BYTES) != HV_OK)
                    return 1;
            }
            const uint8_t *frame;
            hv_control_batch_frame(&bt, &frame, &len);
            s_write("control", "BATCH", frame, len);
            hv_control_batch_free(&bt);
            continue;
        }
        if (hv_control_encode(&m, &buf, &len) != HV_OK)
            return 1;
        s_write("control", hv_cmd_name(cmd), buf, len);
        free(buf);
        if (cmd == HV_CMD_READY || cmd == HV_CMD_HELLO) {
            /* With the features field of a batch-speaking node. */
            m.has_features = true;
            m.features = HV_FEATURE_BATCH;
            if (hv_control_encode(&m, &buf, &len) != HV_OK)
                return 1;
            s_write("control", cmd == HV_CMD_READY ? "READY_features" : "HELLO_features", buf,
                    len);
            free(buf);
            m.has_features = false;
        }
        if (cmd != HV_CMD_HELLO)
            continue;
        /* HELLO of a restored node, with its optional replay_since. */
        m.replay_since = 1764590400000ull;
        if (hv_control_encode(&m, &buf, &len) != HV_OK)
            return 1;
        s_write("control", "HELLO_replay", buf, len);
        free(buf);
    }

    /* Prekey bundles: a valid one, and one that is valid but expired. */
    {
        hv_keypair *node = s_keys(7);
        hv_prekey_bundle pb;
        memset(&pb, 0, sizeof pb);
        strcpy(pb.node, "legal.xc");
        memcpy(pb.key_id, hv_keypair_public(node)->key_id, HV_KEY_ID_BYTES);
        uint8_t sk[32];
        hv_box_keypair_generate(sk, pb.box_pk);
        hv_memzero(sk, sizeof sk);
        hv_prekey_id(pb.box_pk, pb.prekey_id);
        hv_prekey_schedule(1764590400ull, 7 * 86400, HV_TTL_MAX, &pb.not_before, &pb.not_after,
                           &pb.destroy_at);
        for (int k = 0; k < 2; k++) {
            if (k == 1)
                hv_prekey_schedule(1000, 1, 1, &pb.not_before, &pb.not_after, &pb.destroy_at);
            if (hv_prekey_sign(&pb, node) != HV_OK || hv_prekey_encode(&pb, &buf, &len) != HV_OK)
                return 1;
            s_write("prekey", k == 0 ? "bundle" : "bundle_old", buf, len);
            /* ...and inside PREKEY_PUT, for the control decoder. */
            hv_control m;
            memset(&m, 0, sizeof m);
            m.cmd = HV_CMD_PREKEY_PUT;
            m.bundle = buf;
            m.bundle_len = len;
            uint8_t *ctl;
            size_t ctl_len;
            if (k == 0 && hv_control_encode(&m, &ctl, &ctl_len) == HV_OK) {
                s_write("control", "PREKEY_PUT_bundle", ctl, ctl_len);
                free(ctl);
            }
            free(buf);
        }
        hv_keypair_free(&node);
    }

    /* Registry source and signed registry. */
    char kb[400], kn[400], ks[400], knx[400], kso[400], kop[400];
    char json[8192];
    int n = snprintf(
        json, sizeof json,
        "{\"network\":\"example-route\",\"version\":2,\"issued_at\":\"2026-11-01T00:00:00Z\","
        "\"expires_at\":\"2027-11-01T00:00:00Z\",\"nodes\":["
        "{\"id\":\"broker.xa\",\"role\":\"broker\",\"country\":\"XA\",\"organisation\":\"Example "
        "A\",\"endpoints\":{\"workers\":\"tcp://127.0.0.1:7101\",\"peers\":\"tcp://127.0.0.1:7102\"},"
        "\"keys\":%s,\"valid_from\":\"2026-11-01T00:00:00Z\",\"valid_until\":\"2027-11-01T00:00:00Z\"},"
        "{\"id\":\"ngo.xa\",\"role\":\"intake\",\"country\":\"XA\",\"organisation\":\"Example NGO\","
        "\"home\":\"broker.xa\",\"keys\":%s,\"next_keys\":%s,"
        "\"valid_from\":\"2026-11-01T00:00:00Z\",\"valid_until\":\"2027-11-01T00:00:00Z\"},"
        "{\"id\":\"ops.xa\",\"role\":\"operator\",\"country\":\"XA\",\"organisation\":"
        "\"Example Operators\",\"home\":\"broker.xa\",\"keys\":%s,\"scope\":[\"XC\"],"
        "\"valid_from\":\"2026-11-01T00:00:00Z\",\"valid_until\":\"2027-11-01T00:00:00Z\"},"
        "{\"id\":\"shelter.xc\",\"role\":\"provider\",\"country\":\"XC\",\"organisation\":\"Example "
        "Shelter\",\"home\":\"broker.xa\",\"services\":[\"shelter\",\"legal_aid\"],\"regions\":"
        "[\"Example Region\"],\"languages\":[\"en\",\"fr\"],\"accepts_minors\":true,\"capacity\":5,"
        "\"keys\":%s,\"valid_from\":\"2026-11-01T00:00:00Z\",\"valid_until\":\"2027-11-01T00:00:00Z\","
        "\"previous_keys\":%s,\"previous_until\":\"2026-12-01T00:00:00Z\",\"revoked\":false}]}",
        s_keys_json(broker, kb, sizeof kb), s_keys_json(ngo, kn, sizeof kn),
        s_keys_json(ngo_next, knx, sizeof knx), s_keys_json(operator, kop, sizeof kop),
        s_keys_json(shelter, ks, sizeof ks), s_keys_json(shelter_old, kso, sizeof kso));
    s_write("registry_json", "example", json, (size_t)n);
    hv_registry *reg = NULL;
    hv_errmsg e;
    if (hv_registry_from_json(json, (size_t)n, NULL, &reg, &e) != HV_OK) {
        fprintf(stderr, "make_seeds: %s\n", e.text);
        return 1;
    }
    if (hv_registry_sign(reg, authority, &buf, &len) != HV_OK)
        return 1;
    s_write("registry", "signed", buf, len);
    /* An evidence bundle that verifies (fuzz_evidence checks it with the
     * authority's key made here), and one that holds nothing. */
    {
        json_t *items = json_array();
        for (size_t i = 0; i < 2; i++) {
            hv_envelope env, dec;
            uint8_t *wire;
            size_t wire_len;
            hv_envelope_init(&env, i == 0 ? HV_MSG_CASE_TRANSFER : HV_MSG_WITHDRAW, "ngo.xa",
                             hv_keypair_public(ngo), "shelter.xc", hv_keypair_public(shelter));
            env.created_at_ms = 1796083200000ull + i; /* 2026-12-01 */
            memset(env.referral, 0x42, sizeof env.referral);
            static const char pt[] = "{}";
            if (hv_envelope_seal(&env, ngo, hv_keypair_public(shelter), (const uint8_t *)pt, 2,
                                 &wire, &wire_len) != HV_OK ||
                hv_envelope_decode(wire, wire_len, &dec) != HV_OK)
                return 1;
            hv_evidence_item it;
            memset(&it, 0, sizeof it);
            it.sent = true;
            memcpy(it.header, dec.header, dec.header_len);
            it.header_len = dec.header_len;
            hv_body_digest(dec.body, dec.body_len, it.body_digest);
            memcpy(it.sig, dec.sig, sizeof it.sig);
            it.verified_at_ms = env.created_at_ms;
            it.registry_version = 2;
            json_array_append_new(items, hv_evidence_item_json(&it));
            free(wire);
        }
        json_t *regs = json_array();
        json_array_append_new(regs, hv_evidence_registry_json(2, buf, len));
        json_t *b = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "format", HV_EVIDENCE_FORMAT,
                              "node", "ngo.xa", "referral", "42424242424242424242424242424242",
                              "exported_at", 1796086800, "registries", regs, "items", items);
        char *text = json_dumps(b, JSON_PRESERVE_ORDER);
        s_write("evidence", "verifies", text, strlen(text));
        free(text);
        json_decref(b);
        static const char empty[] = "{\"format\":\"haven-evidence/1\",\"node\":\"ngo.xa\","
                                    "\"referral\":\"42424242424242424242424242424242\","
                                    "\"exported_at\":0,\"registries\":[],\"items\":[]}";
        s_write("evidence", "empty", empty, sizeof empty - 1);
    }
    free(buf);
    if (hv_registry_encode_payload(reg, &buf, &len) != HV_OK)
        return 1;
    s_write("registry", "payload", buf, len);
    free(buf);
    hv_registry_free(&reg);

    /* Key files. */
    static const char secret[] =
        "# comment\nhaven-secret-keys v1\nid ngo.xa\n"
        "sign-seed 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n"
        "box-secret 1112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30\n"
        "transport-secret 2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40\n";
    s_write("keys", "secret", secret, sizeof secret - 1);
    s_write("keys", "public", kn, strlen(kn));
    /* A v2 file of two sets (a node mid-rotation), as hv_keys_write_ring
     * writes it, and one with a wrong key id. */
    {
        hv_keyring *ring = NULL;
        hv_keypair *first = s_keys(1), *second = s_keys(200);
        char path[4096];
        hv_errmsg ke = {""};
        snprintf(path, sizeof path, "%s/keys/seed-secret-v2", s_dir);
        if (hv_keyring_from_keypair(&ring, &first) != HV_OK ||
            hv_keyring_add(ring, &second) != HV_OK ||
            hv_keys_write_ring(path, "ngo.xa", ring, &ke) != HV_OK) {
            fprintf(stderr, "make_seeds: cannot write %s: %s\n", path, ke.text);
            return 1;
        }
        hv_keyring_free(&ring);
        FILE *f = fopen(path, "rb");
        char text[4096];
        size_t got = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        text[got] = '\0';
        char *set = strstr(text, "\nset ");
        if (set != NULL)
            memcpy(set + 5, "0000", 4);
        s_write("keys", "secret-v2-bad-kid", text, got);
    }

    /* Configuration. */
    static const char ini[] = "; broker\n[broker]\nid = broker.xa\nbind = tcp://127.0.0.1:7101\n"
                              "\n[store]\ninterval_ms = 5\nfsync = yes\n";
    s_write("config", "broker", ini, sizeof ini - 1);
    static const char ini_bad[] = "[broker]\nid = a\nid = b\nnonsense\n[x]\ny=z\n";
    s_write("config", "errors", ini_bad, sizeof ini_bad - 1);

    /* Application bodies: one of each type, prefixed by the type byte. */
    hv_summary sum = {.service = 0, .n_needs = 2, .urgency = 3, .age_band = 3, .sex = 1,
                      .n_languages = 2, .interpreter = true, .country = "XC",
                      .region = "Example Capital Region", .n_exclude = 1,
                      .respond_by = 4102358400u, .people = 1, .n_bands = 1,
                      .bands = {3}};
    sum.needs[0].category = 0;
    sum.needs[0].urgency = 3;
    sum.needs[1].category = 3;
    sum.needs[1].urgency = 2;
    strcpy(sum.languages[0], "ti");
    strcpy(sum.languages[1], "en");
    strcpy(sum.exclude[0], "clinic.xc");
    static const char case_json[] = "{\"schema\":\"haven-referral/1\"}";
    for (unsigned t = 1; t <= HV_MSG_TYPE_MAX; t++) {
        if (hv_msg_rule_get(t) == NULL)
            continue; /* a number reserved, not yet a type */
        static hv_msg m;
        if (hv_msg_rule_get(t) == NULL)
            continue; /* a number not assigned */
        memset(&m, 0, sizeof m);
        m.type = (uint8_t)t;
        m.summary = sum;
        if (t == HV_MSG_OFFER)
            m.summary.n_exclude = 0; /* the withhold list stays at the router */
        strcpy(m.node, "shelter.xc");
        m.at = 1795305600u;
        strcpy(m.code, t == HV_MSG_DECLINE          ? "no_capacity"
                       : t == HV_MSG_CANCEL         ? "no_longer_needed"
                       : t == HV_MSG_OFFER_WITHDRAWN ? "cancelled"
                       : t == HV_MSG_LEGAL_HOLD     ? "legal_claims"
                       : t == HV_MSG_MESSAGE_MARK   ? "delivered"
                                                    : "completed");
        static const uint8_t sealed[] = {0x5e, 0xa1, 0xed, 0x00, 0x01};
        if (t == HV_MSG_DECLINE) {
            m.sealed = sealed;
            m.sealed_len = sizeof sealed;
        }
        strcpy(m.text, "a reason or an outcome");
        m.n_reasons = 2;
        strcpy(m.reasons[0].node, "legal.xc");
        strcpy(m.reasons[0].text, "does not serve Example Coastal Region");
        strcpy(m.reasons[1].text, "the pathway lists nobody else");
        m.reasons[0].note = sealed;
        m.reasons[0].note_len = sizeof sealed;
        m.case_json = case_json;
        m.case_len = sizeof case_json - 1;
        m.n = 2;
        memset(m.hash, 0xab, sizeof m.hash);
        if (t == HV_MSG_PROGRESS) {
            strcpy(m.code, "declined");
            strcpy(m.reason, "no_capacity");
        }
        m.places_free = 2;
        m.places_total = 5;
        m.places_pending = 1;
        static const uint8_t pdf[] = "%PDF-1.7\n%%EOF\n";
        strcpy(m.attach.name, "report.pdf");
        strcpy(m.attach.type, "application/pdf");
        m.attach.size = sizeof pdf - 1;
        m.attach.chunks = 1;
        m.attach.data = pdf;
        m.attach.data_len = sizeof pdf - 1;
        uint8_t *body = NULL;
        size_t body_len = 0;
        if (hv_msg_encode(&m, &body, &body_len) != HV_OK)
            return 1;
        uint8_t *seed = malloc(body_len + 1);
        if (seed == NULL)
            return 1;
        seed[0] = (uint8_t)t;
        memcpy(seed + 1, body, body_len);
        s_write("msg", hv_msg_rule_get(t)->name, seed, body_len + 1);
        free(seed);
        free(body);
    }
    /* A group of three (issue 21): the 13-field summary, in a request and
     * in an offer. */
    for (unsigned t = HV_MSG_REFERRAL_REQUEST; t <= HV_MSG_OFFER; t++) {
        static hv_msg m;
        memset(&m, 0, sizeof m);
        m.type = (uint8_t)t;
        m.summary = sum;
        m.summary.people = 3;
        m.summary.n_bands = 3;
        m.summary.bands[1] = 1;
        m.summary.bands[2] = 1;
        if (t == HV_MSG_OFFER)
            m.summary.n_exclude = 0;
        strcpy(m.node, "ngo.xa");
        m.at = 1795305600u;
        uint8_t *body = NULL;
        size_t body_len = 0;
        if (hv_msg_encode(&m, &body, &body_len) != HV_OK)
            return 1;
        uint8_t *seed = malloc(body_len + 1);
        if (seed == NULL)
            return 1;
        seed[0] = (uint8_t)t;
        memcpy(seed + 1, body, body_len);
        s_write("msg", t == HV_MSG_OFFER ? "OFFER-group" : "REFERRAL_REQUEST-group", seed,
                body_len + 1);
        free(seed);
        free(body);
    }

    /* A decline note sealed by shelter.xc to ngo.xa (fuzz_note). */
    {
        hv_node intake, provider;
        hv_keyring *ring = NULL, *provider_ring = NULL;
        s_note_party(1, "ngo.xa", &intake, &ring);
        s_note_party(60, "shelter.xc", &provider, &provider_ring);
        uint8_t note[HV_NOTE_SEALED_MAX];
        size_t note_len = 0;
        if (hv_note_seal(provider_ring, &provider, &intake, s_note_referral,
                         "the person asked for a female caseworker", note, sizeof note,
                         &note_len) != HV_OK)
            return 1;
        s_write("note", "decline", note, note_len);
        if (hv_note_seal(provider_ring, &provider, &intake, s_note_referral, "", note,
                         sizeof note, &note_len) != HV_OK)
            return 1;
        s_write("note", "empty", note, note_len);
        hv_keyring_free(&ring);
        hv_keyring_free(&provider_ring);
    }

    /* Control requests. */
    static const char *const ctl[] = {
        "{\"cmd\":\"referral.list\",\"args\":{}}",
        "{\"cmd\":\"inbox.decline\",\"args\":{\"id\":\"0123456789ab\",\"reason\":\"other\"}}",
        "{\"cmd\":\"status\"}",
        "{\"cmd\":\"x\",\"args\":[],\"extra\":1}",
        /* The staff socket's: an actor, and a list's filters. */
        "{\"cmd\":\"referral.list\",\"args\":{\"state\":\"requested\",\"service\":"
        "\"shelter\",\"country\":\"XC\",\"assigned_to\":\"caseworker-2\",\"since\":"
        "\"2026-01-01\",\"until\":\"2026-12-31T00:00:00Z\",\"q\":\"XA-0042\",\"limit\":"
        "50,\"offset\":0},\"actor\":{\"staff\":\"caseworker-2\",\"role\":\"caseworker\","
        "\"via\":\"session\"}}",
        "{\"cmd\":\"referral.assign\",\"args\":{\"id\":\"0123456789ab\",\"staff\":"
        "\"caseworker-1\"},\"actor\":{\"staff\":\"supervisor-1\",\"role\":\"supervisor\","
        "\"via\":\"token:tok_01.ab\"}}",
        "{\"cmd\":\"status\",\"actor\":{\"staff\":\"host-admin\",\"role\":\"admin\","
        "\"via\":\"session\"}}",
        "{\"cmd\":\"events.wait\",\"args\":{\"after\":7,\"timeout_ms\":25000},\"actor\":"
        "{\"staff\":\"c-1\",\"role\":\"coordinator\",\"via\":\"session\",\"x\":1}}",
        "{\"cmd\":\"inbox.list\",\"args\":{\"limit\":0},\"actor\":\"supervisor-1\"}",
    };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "request-%zu", i);
        s_write("ctl", name, ctl[i], strlen(ctl[i]));
    }

    /* An audit log of three records. */
    char audit_path[4096];
    snprintf(audit_path, sizeof audit_path, "%s/audit", s_dir);
    mkdir(audit_path, 0755);
    snprintf(audit_path, sizeof audit_path, "%s/audit/seed-log", s_dir);
    remove(audit_path);
    hv_audit *audit = NULL;
    hv_errmsg ae = {""};
    uint8_t ref[16] = {0x5a};
    if (hv_audit_open(&audit, audit_path, NULL, &ae) != HV_OK ||
        hv_audit_append(audit, "shelter.xc", ref, "offered", "router.xc") != HV_OK ||
        hv_audit_append(audit, "shelter.xc", ref, "accepted", "shelter.xc") != HV_OK ||
        hv_audit_append(audit, "shelter.xc", ref, "received", "ngo.xa") != HV_OK)
        return 1;
    hv_audit_close(&audit);

    /* Signed heads of HV_AUDIT_BASE: one raw, and heads files followed by
     * "--" and the log they match, or a log cut before them. */
    {
        char base_path[4096];
        snprintf(base_path, sizeof base_path, "%s/audit_head-base.tmp", s_dir);
        hv_keypair *hk = s_keys(0x70);
        hv_audit_head hh[2];
        size_t first_len = (size_t)(strchr(HV_AUDIT_BASE, '\n') - HV_AUDIT_BASE) + 1;
        for (int k = 0; k < 2; k++) {
            FILE *hf = fopen(base_path, "wb");
            size_t blen = k == 0 ? first_len : sizeof HV_AUDIT_BASE - 1;
            if (hf == NULL || fwrite(HV_AUDIT_BASE, 1, blen, hf) != blen || fclose(hf) != 0 ||
                hv_audit_open(&audit, base_path, NULL, &ae) != HV_OK)
                return 1;
            memset(&hh[k], 0, sizeof hh[k]);
            strcpy(hh[k].node, "broker.xc");
            if (!hv_audit_tip(audit, &hh[k].seq, hh[k].hash, hh[k].file_id))
                return 1;
            hh[k].at_ms = 1796000000000ull + (uint64_t)k;
            hv_audit_head_sign(&hh[k], hk);
            hv_audit_close(&audit);
        }
        remove(base_path);
        hv_keypair_free(&hk);
        uint8_t raw[HV_AUDIT_HEAD_MAX];
        size_t raw_len = 0;
        char l1[2 * HV_AUDIT_HEAD_MAX + 2], l2[2 * HV_AUDIT_HEAD_MAX + 2], seed[4096];
        if (hv_audit_head_encode(&hh[1], raw, &raw_len) != HV_OK ||
            hv_audit_head_line(&hh[0], l1) != HV_OK || hv_audit_head_line(&hh[1], l2) != HV_OK)
            return 1;
        s_write("audit_head", "head", raw, raw_len);
        int sn = snprintf(seed, sizeof seed, "%s%s--\n%s", l1, l2, HV_AUDIT_BASE);
        s_write("audit_head", "match", seed, (size_t)sn);
        sn = snprintf(seed, sizeof seed, "%s--\n%.*s", l2, (int)first_len, HV_AUDIT_BASE);
        s_write("audit_head", "cut", seed, (size_t)sn);
        sn = snprintf(seed, sizeof seed, "%s%.40s\n--\n", l1, l2);
        s_write("audit_head", "bad-line", seed, (size_t)sn);
    }

    /* Kept records for recovery: two that continue HV_AUDIT_BASE, the same
     * after the base's own two (skipped), and one that does not chain. */
    snprintf(audit_path, sizeof audit_path, "%s/audit/base-log", s_dir);
    FILE *bf = fopen(audit_path, "wb");
    if (bf == NULL || fwrite(HV_AUDIT_BASE, 1, sizeof HV_AUDIT_BASE - 1, bf) !=
                          sizeof HV_AUDIT_BASE - 1 || fclose(bf) != 0)
        return 1;
    uint8_t msg[16] = {0x3d};
    const char *kept;
    size_t kept_len;
    uint64_t last;
    if (hv_audit_open(&audit, audit_path, NULL, &ae) != HV_OK ||
        hv_audit_add(audit, "broker.xc", msg, "stored", "ngo.xa") != HV_OK ||
        hv_audit_add(audit, "broker.xc", msg, "delivered", "shelter.xc") != HV_OK)
        return 1;
    hv_audit_pending(audit, &kept, &kept_len, &last);
    s_write("audit_recover", "continues", kept, kept_len);
    size_t both_len = sizeof HV_AUDIT_BASE - 1 + kept_len;
    char *both = malloc(both_len);
    memcpy(both, HV_AUDIT_BASE, sizeof HV_AUDIT_BASE - 1);
    memcpy(both + sizeof HV_AUDIT_BASE - 1, kept, kept_len);
    s_write("audit_recover", "after-base", both, both_len);
    free(both);
    const char *second = (const char *)memchr(kept, '\n', kept_len) + 1;
    s_write("audit_recover", "gap", second, kept_len - (size_t)(second - kept));
    hv_audit_close(&audit);
    remove(audit_path);

    /* Health summaries (issue 23): a transit broker with a link up and one
     * down, the same without links, and inside a HEALTH command. */
    {
        hv_health h;
        memset(&h, 0, sizeof h);
        strcpy(h.broker, "broker.xb");
        h.made_ms = 1764590400000ull;
        h.registry_version = 3;
        h.stored_mps = 1500;
        h.queued = 4;
        h.n_links = 2;
        strcpy(h.links[0].peer, "broker.xa");
        h.links[0].out_up = h.links[0].in_up = true;
        h.links[0].out_since_ms = h.links[0].in_since_ms = 1764590000000ull;
        strcpy(h.links[1].peer, "broker.xc");
        h.links[1].out_since_ms = 1764590280000ull;
        h.links[1].queued = 4;
        uint8_t *hb;
        size_t hlen;
        if (hv_health_encode(&h, &hb, &hlen) != HV_OK)
            return 1;
        s_write("health", "summary", hb, hlen);
        hv_control m;
        memset(&m, 0, sizeof m);
        m.cmd = HV_CMD_HEALTH;
        m.summary = hb;
        m.summary_len = hlen;
        uint8_t *cb;
        size_t clen;
        if (hv_control_encode(&m, &cb, &clen) != HV_OK)
            return 1;
        s_write("health", "in-control", cb, clen);
        free(cb);
        free(hb);
        h.n_links = 0;
        if (hv_health_encode(&h, &hb, &hlen) != HV_OK)
            return 1;
        s_write("health", "no-links", hb, hlen);
        free(hb);
    }

    free(env_bytes);
    hv_keypair_free(&ngo);
    hv_keypair_free(&shelter);
    hv_keypair_free(&broker);
    hv_keypair_free(&authority);
    hv_keypair_free(&ngo_next);
    hv_keypair_free(&shelter_old);
    hv_keypair_free(&operator);
    return 0;
}
