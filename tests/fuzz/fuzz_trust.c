/* Fuzz target: the broker's trust decision (broker/hv_trust.h) and the
 * transport key it reads from ZAP metadata. Input: one byte for the door
 * and whether a node id is given, then the metadata value (up to a NUL),
 * then the node id. Against a fixed registry, an admission must mean the
 * key is the node's current or next transport key, the node active, and
 * the door's rule kept (role, home, peering, scope); a refusal must say
 * why; a key that parses must format back to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "hv_trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_NOW 1900000000u /* inside every node's validity window below */

/* Keys: %Kn is the key set made from seeds of bytes n, n + 64 and n + 128
 * (hv_keypair_from_seeds); ngo.xa's next keys are 19, shelter.xc's
 * previous 36. */
static const char *const s_json =
    "{\"network\":\"fuzz\",\"version\":1,\"issued_at\":\"2020-01-01T00:00:00Z\","
    "\"expires_at\":\"2090-01-01T00:00:00Z\",\"nodes\":["
    "{\"id\":\"broker.xc\",\"role\":\"broker\",\"country\":\"XC\",\"organisation\":\"B\","
    "\"endpoints\":{\"workers\":\"tcp://127.0.0.1:1\"},\"keys\":%K1,%V},"
    "{\"id\":\"broker.xa\",\"role\":\"broker\",\"country\":\"XA\",\"organisation\":\"B\","
    "\"endpoints\":{\"workers\":\"tcp://127.0.0.1:2\"},\"keys\":%K2,%V},"
    "{\"id\":\"ngo.xa\",\"role\":\"intake\",\"country\":\"XA\",\"organisation\":\"N\","
    "\"home\":\"broker.xc\",\"keys\":%K3,\"next_keys\":%K19,%V},"
    "{\"id\":\"shelter.xc\",\"role\":\"provider\",\"country\":\"XC\",\"organisation\":\"S\","
    "\"home\":\"broker.xa\",\"services\":[\"shelter\"],\"capacity\":1,\"keys\":%K4,"
    "\"previous_keys\":%K36,\"previous_until\":\"2080-01-01T00:00:00Z\",%V},"
    "{\"id\":\"ops.xa\",\"role\":\"operator\",\"country\":\"XA\",\"organisation\":\"O\","
    "\"home\":\"broker.xa\",\"scope\":[\"XC\"],\"keys\":%K5,%V},"
    "{\"id\":\"ops.xb\",\"role\":\"operator\",\"country\":\"XB\",\"organisation\":\"O\","
    "\"home\":\"broker.xa\",\"keys\":%K6,%V},"
    "{\"id\":\"gone.xc\",\"role\":\"router\",\"country\":\"XC\",\"organisation\":\"G\","
    "\"home\":\"broker.xc\",\"revoked\":true,\"keys\":%K7,%V}]}";

/* Expands %Kn (a key set of bytes n) and %V (validity) in s_json. */
static char *s_expand(void)
{
    size_t cap = 16384, len = 0;
    char *out = malloc(cap);
    for (const char *p = s_json; *p != '\0';) {
        if (p[0] == '%' && p[1] == 'V') {
            len += (size_t)snprintf(out + len, cap - len,
                                    "\"valid_from\":\"2020-01-01T00:00:00Z\","
                                    "\"valid_until\":\"2090-01-01T00:00:00Z\"");
            p += 2;
        } else if (p[0] == '%' && p[1] == 'K') {
            char *end;
            unsigned long b = strtoul(p + 2, &end, 10);
            char hex[65];
            uint8_t seed[3][32];
            for (int i = 0; i < 3; i++)
                memset(seed[i], (int)(b + (unsigned long)i * 64), 32);
            hv_keypair *kp = NULL;
            if (hv_keypair_from_seeds(&kp, seed[0], seed[1], seed[2]) != HV_OK)
                abort();
            const hv_pubkeys *pub = hv_keypair_public(kp);
            const uint8_t *k[3] = {pub->sign, pub->box, pub->transport};
            const char *names[] = {"sign", "box", "transport"};
            len += (size_t)snprintf(out + len, cap - len, "{");
            for (int i = 0; i < 3; i++) {
                hv_hex(k[i], 32, hex);
                len += (size_t)snprintf(out + len, cap - len, "%s\"%s\":\"%s\"", i ? "," : "",
                                        names[i], hex);
            }
            hv_keypair_free(&kp);
            len += (size_t)snprintf(out + len, cap - len, "}");
            p = end;
        } else {
            out[len++] = *p++;
        }
    }
    out[len] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hv_registry *reg;
    if (reg == NULL) {
        if (hv_crypto_init() != HV_OK)
            abort();
        char *json = s_expand();
        hv_errmsg e;
        if (hv_registry_from_json(json, strlen(json), NULL, &reg, &e) != HV_OK)
            abort(); /* the fixed registry itself is wrong */
        free(json);
    }
    if (size < 1)
        return 0;
    hv_door door = (hv_door)((data[0] & 3) % 3);
    bool by_id = (data[0] & 4) != 0;
    char text[128] = "", id[HV_NODE_ID_MAX + 1] = "";
    size_t i = 1, k = 0;
    while (i < size && data[i] != 0 && k < sizeof text - 1)
        text[k++] = (char)data[i++];
    text[k] = '\0';
    i++;
    for (k = 0; i < size && k < sizeof id - 1; i++)
        id[k++] = (char)data[i];
    id[k] = '\0';

    uint8_t pk[32];
    if (hv_trust_key_parse(text, pk) != HV_OK)
        return 0;
    char again[65];
    hv_trust_key_format(pk, again);
    for (size_t c = 0; c < 64; c++)
        if (again[c] != (text[c] >= 'A' && text[c] <= 'F' ? text[c] - 'A' + 'a' : text[c]))
            abort();

    hv_trust_self self;
    memset(&self, 0, sizeof self);
    strcpy(self.id, "broker.xc");
    strcpy(self.country, "XC");
    self.roles = HV_ROLE_BIT(HV_ROLE_INTAKE) | HV_ROLE_BIT(HV_ROLE_ROUTER) |
                 HV_ROLE_BIT(HV_ROLE_PROVIDER);
    strcpy(self.peers[0], "broker.xa");
    self.n_peers = 1;
    const hv_node *node = NULL;
    char why[HV_TRUST_WHY_MAX];
    hv_err err = hv_trust_admit(reg, &self, door, by_id ? id : NULL, pk, S_NOW, &node, why);
    if (err == HV_OK) {
        if (node == NULL || why[0] != '\0' || !hv_node_active(node, S_NOW) ||
            hv_node_keys_by_transport(node, pk, NULL) == NULL)
            abort();
        if (by_id && strcmp(node->id, id) != 0)
            abort();
        if (door == HV_DOOR_WORKERS && (strcmp(node->home, "broker.xc") != 0 ||
                                        node->role == HV_ROLE_BROKER ||
                                        node->role == HV_ROLE_OPERATOR))
            abort();
        if (door == HV_DOOR_PEERS && strcmp(node->id, "broker.xa") != 0)
            abort();
        if (door == HV_DOOR_OPS &&
            (node->role != HV_ROLE_OPERATOR || !hv_node_in_scope(node, "XC")))
            abort();
    } else if ((err != HV_EAUTH && err != HV_EFORBIDDEN) || why[0] == '\0' ||
               strlen(why) >= HV_TRUST_WHY_MAX) {
        abort();
    }
    return 0;
}
