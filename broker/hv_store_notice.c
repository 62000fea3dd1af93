/* The broker store's part for notices that cross a border (PROTOCOL.md
 * §5.3 "Notices across borders"): the dead envelope a NOTICE proves its
 * origin with, the sender a dedup row still names, and a notice kept for
 * a sender on a peer's word. Statements prepared per call: a notice is
 * rare, and the prepared set of hv_store.c stays as it is. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "hv_store_internal.h"

hv_err hv_store_dead_envelope(hv_store *s, const uint8_t id[16], uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT envelope FROM dead_letters WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return HV_ESTORE;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv_err err = rc == SQLITE_DONE ? HV_ENOTFOUND : rc == SQLITE_ROW ? HV_OK : HV_ESTORE;
    if (err == HV_OK) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (n == 0 || b == NULL)
            err = HV_ENOTFOUND;
        else if ((*out = malloc(n)) == NULL)
            err = HV_ENOMEM;
        else {
            memcpy(*out, b, n);
            *len = n;
        }
    }
    sqlite3_finalize(st);
    return err;
}

hv_err hv_store_dedup_sender(hv_store *s, const uint8_t id[16], char sender[HV_NODE_ID_MAX + 1],
                             bool *found)
{
    *found = false;
    sender[0] = '\0';
    sqlite3_stmt *st = s->stmt[S_DEDUP_GET];
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *snd = (const char *)sqlite3_column_text(st, 0);
        if (snd != NULL && strlen(snd) <= HV_NODE_ID_MAX) {
            strcpy(sender, snd);
            *found = true;
        }
    }
    return hv_store_done(st, rc);
}

hv_err hv_store_notice_keep(hv_store *s, const char *node, const uint8_t id[16], unsigned code,
                            const char *reason)
{
    sqlite3_stmt *st = s->stmt[S_BURY_NOTICE];
    sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, (int)code);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT);
    return hv_store_done(st, sqlite3_step(st));
}
