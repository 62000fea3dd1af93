/* A test tool, built only with the tests: tries to open a stolen
 * envelope with every key a worker still holds — each key set of its key
 * file and each prekey secret left in its store — through the same code
 * the worker opens its mail with (services/common/hv_prekeys.h).
 *   prekey_open WORKER_INI ENVELOPE_FILE
 * Prints "opened held=N" or "HV_…: held=N" (N: prekey secrets in the
 * store). Exit: 0 opened, 1 not opened, 2 usage or system error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_file.h"
#include "hv_keys.h"
#include "hv_prekeys.h"
#include "hv_worker.h"

int main(int argc, char **argv)
{
    if (argc != 3 || hv_crypto_init() != HV_OK) {
        fprintf(stderr, "usage: prekey_open WORKER_INI ENVELOPE_FILE\n");
        return 2;
    }
    hv_worker_config cfg;
    hv_errmsg e = {""};
    hv_keyring *ring = NULL;
    hv_pubkeys auth;
    hv_registry *reg = NULL;
    sqlite3 *db = NULL;
    hv_prekeys *pk = NULL;
    uint8_t *wire = NULL, *pt = NULL;
    size_t wire_len = 0, pt_len = 0;
    int rc = 2;
    if (hv_worker_config_load(argv[1], &cfg, &e) != HV_OK ||
        hv_keys_load_ring(cfg.keys, &ring, NULL, &e) != HV_OK ||
        hv_keys_load_public(cfg.authority, &auth, NULL, &e) != HV_OK ||
        hv_registry_load_file(cfg.registry, auth.sign, (uint64_t)time(NULL), 0, &reg, &e) !=
            HV_OK ||
        hv_file_read(argv[2], HV_ENVELOPE_MAX, &wire, &wire_len, &e) != HV_OK) {
        fprintf(stderr, "prekey_open: %s\n", e.text);
        goto done;
    }
    hv_envelope env;
    const hv_node *sender, *self;
    const hv_pubkeys *sender_keys;
    if (hv_envelope_decode(wire, wire_len, &env) != HV_OK ||
        (sender = hv_registry_find(reg, env.from)) == NULL ||
        (sender_keys = hv_node_keys_by_id(sender, env.from_kid, (uint64_t)time(NULL), NULL)) ==
            NULL ||
        (self = hv_registry_find(reg, cfg.id)) == NULL) {
        fprintf(stderr, "prekey_open: %s is not an envelope from a registered node\n", argv[2]);
        goto done;
    }
    if (sqlite3_open_v2(cfg.store, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        hv_prekeys_new(&pk, db, NULL, cfg.id, 1, 1) != HV_OK) {
        fprintf(stderr, "prekey_open: cannot open %s\n", cfg.store);
        goto done;
    }
    hv_prekeys_registry(pk, reg, ring, self);
    sqlite3_stmt *st = NULL;
    int held = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM prekey_own", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        held = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    /* Each long-term set as the last resort, whatever the registry says. */
    hv_err err = HV_ECRYPTO;
    for (size_t i = 0; err != HV_OK && i < hv_keyring_count(ring); i++) {
        hv_err tried = hv_prekeys_open(pk, &env, hv_keyring_at(ring, i), sender_keys->sign, &pt,
                                       &pt_len);
        if (tried == HV_OK || err == HV_ECRYPTO)
            err = tried;
    }
    if (err == HV_OK) {
        printf("opened held=%d\n", held);
        rc = 0;
    } else {
        printf("%s: held=%d\n", hv_errname(err), held);
        rc = 1;
    }
done:
    if (pt != NULL) {
        hv_memzero(pt, pt_len);
        free(pt);
    }
    free(wire);
    hv_prekeys_free(&pk);
    if (db != NULL)
        sqlite3_close(db);
    hv_registry_free(&reg);
    hv_keyring_free(&ring);
    return rc;
}
