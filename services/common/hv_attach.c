/* Documents with a case: storage at the intake and the provider; see
 * hv_attach.h and proto/PROTOCOL.md §9.3. */
#include "hv_attach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_attach_type.h"
#include "hv_crypto.h"
#include "hv_keyring.h"
#include "hv_referral.h"
#include "hv_sql.h"
#include "hv_text.h"

#define S_MIB (1024.0 * 1024.0)

/* What a sealed piece is bound to: its owner (referral or upload), the
 * document's number (0xFF for an upload's part) and the piece's index. */
static void s_ad(uint8_t ad[21], const uint8_t owner[16], unsigned n, uint32_t idx)
{
    memcpy(ad, owner, 16);
    ad[16] = (uint8_t)n;
    ad[17] = (uint8_t)(idx >> 24);
    ad[18] = (uint8_t)(idx >> 16);
    ad[19] = (uint8_t)(idx >> 8);
    ad[20] = (uint8_t)idx;
}

#define S_UPLOAD_N 0xFF

/* Seals (`seal`) or opens one chunk of `owner`'s document `n` under the
 * node's storage key, bound to where it belongs (s_ad). */
static hv_err s_crypt(bool seal, const hv_keyring *keys, const uint8_t owner[16], unsigned n,
                      uint32_t idx, const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t ad[21], *storage = hv_secure_alloc(32);
    if (storage == NULL)
        return HV_ENOMEM;
    hv_keyring_storage_key(keys, storage);
    s_ad(ad, owner, n, idx);
    hv_err err = seal ? hv_aead_seal(storage, ad, sizeof ad, in, len, out, out_len)
                      : hv_aead_open(storage, ad, sizeof ad, in, len, out, out_len);
    hv_secure_free(storage);
    return err;
}

static void s_mib(char *out, size_t cap, uint64_t bytes)
{
    snprintf(out, cap, "%.1f MiB", (double)bytes / S_MIB);
}

/* ------------------------------------------------------------- intake */

static hv_err s_upload_read(sqlite3 *db, const hv_keyring *keys, const uint8_t id[16],
                            uint64_t size, uint8_t **out);

/* The type of the whole upload `id` by its content, for "check": a file
 * that is none of the accepted types is refused now, at the caseworker's
 * field, rather than at the submission. The refusal rolls back the control
 * transaction, so its last part is not kept: the upload stays incomplete,
 * can never be submitted, and goes with the other stale ones. */
static hv_err s_upload_type(sqlite3 *db, const hv_keyring *keys, const uint8_t id[16],
                            uint64_t size, const char *name, const char **type, hv_errmsg *e)
{
    uint8_t *doc = NULL;
    hv_err err = s_upload_read(db, keys, id, size, &doc);
    if (err != HV_OK)
        return err;
    *type = hv_attach_sniff(doc, (size_t)size);
    hv_memzero(doc, (size_t)size);
    free(doc);
    if (*type == NULL)
        return hv_fail(e, HV_ETYPE, "%s is not a " HV_ATTACH_TYPES_TEXT " document by its "
                       "content (whatever its name says)", name);
    return HV_OK;
}

hv_err hv_attach_put(hv_worker *w, const hv_actor *a, json_t *args, json_t **result,
                     char **text, hv_errmsg *e)
{
    (void)text;
    sqlite3 *db = hv_worker_db(w);
    const char *name = json_string_value(json_object_get(args, "name"));
    json_t *data_j = json_object_get(args, "data");
    json_t *size_j = json_object_get(args, "size"), *off_j = json_object_get(args, "offset");
    json_t *up_j = json_object_get(args, "upload");
    if (name == NULL || name[0] == '\0' || strlen(name) > HV_ATTACH_NAME_MAX ||
        strchr(name, '/') != NULL)
        return hv_fail(e, HV_EINVAL, "\"name\" (the file's name, 1 to %d bytes, no '/') is "
                       "required", HV_ATTACH_NAME_MAX);
    if (!json_is_string(data_j) || !json_is_integer(size_j) || !json_is_integer(off_j) ||
        (up_j != NULL && !json_is_string(up_j)))
        return hv_fail(e, HV_EINVAL, "\"size\", \"offset\" (numbers) and \"data\" (base64) are "
                       "required");
    json_int_t size = json_integer_value(size_j), offset = json_integer_value(off_j);
    uint64_t max_doc = (uint64_t)hv_worker_cfg(w)->attachment_max_mib * 1024 * 1024;
    char lim[32], got_s[32];
    s_mib(lim, sizeof lim, max_doc);
    if (size <= 0)
        return hv_fail(e, HV_EINVAL, "%s is empty", name);
    if ((uint64_t)size > max_doc) {
        s_mib(got_s, sizeof got_s, (uint64_t)size);
        return hv_fail(e, HV_ETOOBIG, "%s is %s; a document may be at most %s "
                       "(attachment_max_mib)", name, got_s, lim);
    }
    size_t b64_len = json_string_length(data_j);
    if (b64_len > (HV_ATTACH_PART_MAX / 3 + 1) * 4)
        return hv_fail(e, HV_ETOOBIG, "a part may hold at most %u bytes", HV_ATTACH_PART_MAX);
    uint8_t *part = malloc(HV_ATTACH_PART_MAX), *sealed = NULL;
    size_t part_len = 0, sealed_len = 0;
    uint8_t upload[16];
    hv_err err = HV_OK;
    if (part == NULL)
        return HV_ENOMEM;
    if (hv_b64_decode(json_string_value(data_j), b64_len, part, HV_ATTACH_PART_MAX,
                      &part_len) != HV_OK || part_len == 0) {
        err = hv_fail(e, HV_EINVAL, "\"data\" is not base64 of 1 to %u bytes",
                      HV_ATTACH_PART_MAX);
        goto done;
    }
    int64_t got = 0;
    if (up_j == NULL) {
        if (offset != 0) {
            err = hv_fail(e, HV_EINVAL, "the first part of an upload starts at offset 0");
            goto done;
        }
        hv_random(upload, 16);
        err = hv_sql_exec(db, "INSERT INTO attach_uploads (id, staff, name, size, got, "
                          "created_s) VALUES (?1, ?2, ?3, ?4, 0, ?5)", "rttii", upload,
                          a->staff, name, (int64_t)size, (int64_t)time(NULL));
    } else {
        if (hv_ref_parse(json_string_value(up_j), upload) != HV_OK) {
            err = hv_fail(e, HV_EINVAL, "\"upload\" must be an upload's id (32 hex digits)");
            goto done;
        }
        int64_t want = 0;
        err = hv_sql_int(db, &want, "SELECT size FROM attach_uploads WHERE id = ?1 AND "
                         "staff = ?2", "rt", upload, a->staff);
        if (err == HV_OK)
            err = hv_sql_int(db, &got, "SELECT got FROM attach_uploads WHERE id = ?1", "r",
                             upload);
        if (err == HV_ENOTFOUND) {
            err = hv_fail(e, HV_ENOTFOUND, "no upload %s of yours here (an upload is kept %d "
                          "minutes)", json_string_value(up_j), HV_ATTACH_UPLOAD_TTL_S / 60);
            goto done;
        }
        if (err == HV_OK && want != size) {
            err = hv_fail(e, HV_EINVAL, "the upload of %s is of %lld bytes, not %lld", name,
                          (long long)want, (long long)size);
            goto done;
        }
    }
    if (err != HV_OK)
        goto done;
    if (offset != got) {
        err = hv_fail(e, HV_EINVAL, "the next part of %s starts at offset %lld, not %lld", name,
                      (long long)got, (long long)offset);
        goto done;
    }
    if ((uint64_t)got + part_len > (uint64_t)size) {
        err = hv_fail(e, HV_ETOOBIG, "%s is longer than the %lld bytes it was announced as",
                      name, (long long)size);
        goto done;
    }
    int64_t idx = 0;
    if ((err = hv_sql_int(db, &idx, "SELECT count(*) FROM attach_parts WHERE upload = ?1", "r",
                          upload)) != HV_OK ||
        (err = s_crypt(true, hv_worker_keys(w), upload, S_UPLOAD_N, (uint32_t)idx, part, part_len,
                       &sealed, &sealed_len)) != HV_OK ||
        (err = hv_sql_exec(db, "INSERT INTO attach_parts (upload, idx, sealed) VALUES (?1, ?2, "
                           "?3)", "rix", upload, idx, sealed, sealed_len)) != HV_OK ||
        (err = hv_sql_exec(db, "UPDATE attach_uploads SET got = got + ?2 WHERE id = ?1", "ri",
                           upload, (int64_t)part_len)) != HV_OK)
        goto done;
    char hex[33];
    hv_ref_hex(upload, hex);
    got += (int64_t)part_len;
    const char *type = NULL;
    if (got == size && json_is_true(json_object_get(args, "check")) &&
        (err = s_upload_type(db, hv_worker_keys(w), upload, (uint64_t)size, name, &type, e)) !=
            HV_OK)
        goto done;
    *result = json_pack("{s:s, s:I}", "upload", hex, "got", (json_int_t)got);
    if (*result != NULL && type != NULL)
        json_object_set_new(*result, "type", json_string(type));
    if (*result == NULL)
        err = HV_ENOMEM;
done:
    hv_memzero(part, HV_ATTACH_PART_MAX);
    free(part);
    free(sealed);
    return err;
}

/* Reads upload `id` whole into `*out` (malloc; caller wipes and frees). */
static hv_err s_upload_read(sqlite3 *db, const hv_keyring *keys, const uint8_t id[16],
                            uint64_t size, uint8_t **out)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return HV_ENOMEM;
    sqlite3_stmt *st = hv_sql(db, "SELECT idx, sealed FROM attach_parts WHERE upload = ?1 "
                              "ORDER BY idx", "r", id);
    hv_err err = st == NULL ? HV_ESTORE : HV_OK;
    uint64_t at = 0;
    int rc;
    while (err == HV_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t *pt = NULL;
        size_t len = 0;
        err = s_crypt(false, keys, id, S_UPLOAD_N, (uint32_t)sqlite3_column_int64(st, 0),
                      sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &pt, &len);
        if (err == HV_OK && at + len > size)
            err = HV_ESTORE;
        if (err == HV_OK) {
            memcpy(buf + at, pt, len);
            at += len;
        }
        hv_secure_free(pt);
    }
    sqlite3_finalize(st);
    if (err == HV_OK && at != size)
        err = HV_ESTORE;
    if (err != HV_OK) {
        hv_memzero(buf, size);
        free(buf);
        return err;
    }
    *out = buf;
    return HV_OK;
}

/* Cuts `doc` into sealed chunks of document `n` of `referral`. */
static hv_err s_store_chunks(sqlite3 *db, const hv_keyring *keys, const uint8_t referral[16],
                             unsigned n, const uint8_t *doc, uint64_t size)
{
    hv_err err = HV_OK;
    for (uint64_t at = 0, idx = 0; err == HV_OK && at < size; at += HV_ATTACH_CHUNK, idx++) {
        uint64_t len = size - at < HV_ATTACH_CHUNK ? size - at : HV_ATTACH_CHUNK;
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        err = s_crypt(true, keys, referral, n, (uint32_t)idx, doc + at, (size_t)len, &sealed,
                      &sealed_len);
        if (err == HV_OK)
            err = hv_sql_exec(db, "INSERT INTO attach_chunks (referral, n, idx, sealed) "
                              "VALUES (?1, ?2, ?3, ?4)", "riix", referral, (int64_t)n,
                              (int64_t)idx, sealed, sealed_len);
        free(sealed);
    }
    return err;
}

hv_err hv_attach_take(hv_worker *w, const hv_actor *a, const uint8_t referral[16],
                      const hv_referral_check *c, json_t *list, uint64_t max_doc,
                      uint64_t max_case, bool last, hv_errmsg *e)
{
    sqlite3 *db = hv_worker_db(w);
    size_t n_list = json_array_size(list);
    if (list != NULL && !json_is_array(list))
        return hv_fail(e, HV_EINVAL, "\"attachments\" must be a list of uploads");
    if (n_list != c->n_attachments)
        return hv_fail(e, HV_EINVAL, "the referral file names %u document%s; %zu %s uploaded",
                       c->n_attachments, c->n_attachments == 1 ? "" : "s", n_list,
                       n_list == 1 ? "was" : "were");
    uint64_t total = 0;
    hv_err err = HV_OK;
    for (size_t i = 0; err == HV_OK && i < n_list; i++) {
        json_t *it = json_array_get(list, i);
        const char *up = json_string_value(json_object_get(it, "upload"));
        const char *file = c->attachments[i].file;
        uint8_t id[16];
        if (up == NULL || hv_ref_parse(up, id) != HV_OK)
            return hv_fail(e, HV_EINVAL, "attachments[%zu] (%s): \"upload\" is required", i,
                           file);
        sqlite3_stmt *st = hv_sql(db, "SELECT name, size, got FROM attach_uploads WHERE id = "
                                  "?1 AND staff = ?2", "rt", id, a->staff);
        if (st == NULL)
            return HV_ESTORE;
        char name[HV_ATTACH_NAME_MAX + 1] = "";
        int64_t size = -1, got = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            hv_sql_text(st, 0, name, sizeof name);
            size = sqlite3_column_int64(st, 1);
            got = sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        char lim[32], have[32];
        if (size < 0)
            return hv_fail(e, HV_ENOTFOUND, "attachments[%zu] (%s): no such upload of yours",
                           i, file);
        if (got != size)
            return hv_fail(e, HV_EINVAL, "attachments[%zu] (%s): only %lld of %lld bytes were "
                           "uploaded", i, file, (long long)got, (long long)size);
        if ((uint64_t)size > max_doc) {
            s_mib(lim, sizeof lim, max_doc);
            s_mib(have, sizeof have, (uint64_t)size);
            return hv_fail(e, HV_ETOOBIG, "attachments[%zu] (%s) is %s; a document may be at "
                           "most %s (attachment_max_mib)", i, file, have, lim);
        }
        total += (uint64_t)size;
        if (total > max_case) {
            s_mib(lim, sizeof lim, max_case);
            s_mib(have, sizeof have, total);
            return hv_fail(e, HV_ETOOBIG, "attachments[%zu] (%s) brings the case's documents "
                           "to %s; a case may carry at most %s (case_attachments_max_mib)", i,
                           file, have, lim);
        }
        uint8_t *doc = NULL;
        if ((err = s_upload_read(db, hv_worker_keys(w), id, (uint64_t)size, &doc)) != HV_OK)
            return err;
        const char *type = hv_attach_sniff(doc, (size_t)size);
        uint8_t digest[32];
        hv_hash256(doc, (size_t)size, digest);
        if (type == NULL)
            err = hv_fail(e, HV_ETYPE, "attachments[%zu] (%s) is not a " HV_ATTACH_TYPES_TEXT
                          " document by its content (whatever its name says)", i, file);
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        if (err == HV_OK && base[0] == '\0')
            err = hv_fail(e, HV_EINVAL, "attachments[%zu]: \"%s\" names no file", i, file);
        if (err == HV_OK)
            err = s_store_chunks(db, hv_worker_keys(w), referral, (unsigned)i, doc,
                                 (uint64_t)size);
        hv_memzero(doc, (size_t)size);
        free(doc);
        uint64_t chunks = ((uint64_t)size + HV_ATTACH_CHUNK - 1) / HV_ATTACH_CHUNK;
        if (err == HV_OK)
            err = hv_sql_exec(db, "INSERT INTO attach_docs (referral, n, name, title, type, "
                              "size, chunks, digest, state, sent, updated_s) VALUES (?1, ?2, "
                              "?3, ?4, ?5, ?6, ?7, ?8, 'complete', 0, ?9)", "ritttiixi",
                              referral, (int64_t)i, base, c->attachments[i].title, type,
                              size, (int64_t)chunks, digest, (size_t)32, (int64_t)time(NULL));
        if (err == HV_OK && last)
            err = hv_sql_exec(db, "DELETE FROM attach_parts WHERE upload = ?1", "r", id);
        if (err == HV_OK && last)
            err = hv_sql_exec(db, "DELETE FROM attach_uploads WHERE id = ?1", "r", id);
    }
    return err;
}

bool hv_attach_pending(sqlite3 *db, const uint8_t referral[16])
{
    int64_t n = 0;
    return hv_sql_int(db, &n, "SELECT count(*) FROM attach_docs WHERE referral = ?1 AND "
                      "sent < chunks", "r", referral) == HV_OK && n > 0;
}

hv_err hv_attach_next(sqlite3 *db, const hv_keyring *keys, const uint8_t referral[16],
                      hv_msg *m, uint8_t **buf)
{
    *buf = NULL;
    sqlite3_stmt *st = hv_sql(db, "SELECT d.n, d.name, d.title, d.type, d.size, d.chunks, "
                              "d.digest, d.sent, c.sealed FROM attach_docs d JOIN attach_chunks "
                              "c ON c.referral = d.referral AND c.n = d.n AND c.idx = d.sent "
                              "WHERE d.referral = ?1 AND d.sent < d.chunks ORDER BY d.n LIMIT 1",
                              "r", referral);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? HV_ENOTFOUND : HV_ESTORE;
    }
    memset(m, 0, sizeof *m);
    m->type = HV_MSG_ATTACHMENT;
    hv_attach_chunk *a = &m->attach;
    a->n = (uint8_t)sqlite3_column_int(st, 0);
    hv_sql_text(st, 1, a->name, sizeof a->name);
    hv_sql_text(st, 2, a->title, sizeof a->title);
    hv_sql_text(st, 3, a->type, sizeof a->type);
    a->size = (uint64_t)sqlite3_column_int64(st, 4);
    a->chunks = (uint32_t)sqlite3_column_int64(st, 5);
    if (sqlite3_column_bytes(st, 6) == 32)
        memcpy(a->digest, sqlite3_column_blob(st, 6), 32);
    a->index = (uint32_t)sqlite3_column_int64(st, 7);
    hv_err err = s_crypt(false, keys, referral, a->n, a->index, sqlite3_column_blob(st, 8),
                         (size_t)sqlite3_column_bytes(st, 8), buf, &a->data_len);
    sqlite3_finalize(st);
    if (err != HV_OK)
        return err;
    a->data = *buf;
    return hv_sql_exec(db, "UPDATE attach_docs SET sent = sent + 1, updated_s = ?3 WHERE "
                       "referral = ?1 AND n = ?2", "rii", referral, (int64_t)a->n,
                       (int64_t)time(NULL));
}

hv_err hv_attach_expire_uploads(sqlite3 *db, uint64_t now)
{
    int64_t cutoff = (int64_t)now - HV_ATTACH_UPLOAD_TTL_S;
    hv_err err = hv_sql_exec(db, "DELETE FROM attach_parts WHERE upload IN (SELECT id FROM "
                             "attach_uploads WHERE created_s < ?1)", "i", cutoff);
    if (err == HV_OK)
        err = hv_sql_exec(db, "DELETE FROM attach_uploads WHERE created_s < ?1", "i", cutoff);
    return err;
}

/* ----------------------------------------------------------- provider */

/* Reassembles and checks document `n`: size, digest, type. */
static hv_err s_verify(sqlite3 *db, const hv_keyring *keys, const uint8_t referral[16],
                       const hv_attach_chunk *a, char *why, size_t cap)
{
    uint8_t *doc = malloc((size_t)a->size);
    if (doc == NULL)
        return HV_ENOMEM;
    sqlite3_stmt *st = hv_sql(db, "SELECT idx, sealed FROM attach_chunks WHERE referral = ?1 "
                              "AND n = ?2 ORDER BY idx", "ri", referral, (int64_t)a->n);
    hv_err err = st == NULL ? HV_ESTORE : HV_OK;
    uint64_t at = 0;
    why[0] = '\0';
    while (err == HV_OK && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t *pt = NULL;
        size_t len = 0;
        err = s_crypt(false, keys, referral, a->n, (uint32_t)sqlite3_column_int64(st, 0),
                      sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &pt, &len);
        if (err == HV_OK && at + len <= a->size)
            memcpy(doc + at, pt, len);
        at += len;
        hv_secure_free(pt);
    }
    sqlite3_finalize(st);
    if (err == HV_OK) {
        uint8_t digest[32];
        const char *type = at == a->size ? hv_attach_sniff(doc, (size_t)a->size) : NULL;
        if (at != a->size)
            snprintf(why, cap, "its chunks hold %llu bytes, not %llu", (unsigned long long)at,
                     (unsigned long long)a->size);
        else if (hv_hash256(doc, (size_t)a->size, digest),
                 hv_memcmp_ct(digest, a->digest, 32) != 0)
            snprintf(why, cap, "its digest differs from the one the intake sent");
        else if (type == NULL || strcmp(type, a->type) != 0)
            snprintf(why, cap, "its content is %s, not the %s it was sent as",
                     type ? type : "no accepted type", a->type);
    }
    hv_memzero(doc, (size_t)(at < a->size ? at : a->size));
    free(doc);
    return err;
}

hv_err hv_attach_receive(sqlite3 *db, const hv_keyring *keys, const uint8_t referral[16],
                         const hv_attach_chunk *a, char *what, size_t cap, hv_errmsg *e)
{
    what[0] = '\0';
    sqlite3_stmt *st = hv_sql(db, "SELECT name, title, type, size, chunks, digest, state FROM "
                              "attach_docs WHERE referral = ?1 AND n = ?2", "ri", referral,
                              (int64_t)a->n);
    if (st == NULL)
        return HV_ESTORE;
    int rc = sqlite3_step(st);
    bool known = rc == SQLITE_ROW, same = false;
    char state[16] = "";
    if (known) {
        char name[HV_ATTACH_NAME_MAX + 1], title[HV_ATTACH_TITLE_MAX + 1], type[32];
        hv_sql_text(st, 0, name, sizeof name);
        hv_sql_text(st, 1, title, sizeof title);
        hv_sql_text(st, 2, type, sizeof type);
        hv_sql_text(st, 6, state, sizeof state);
        same = strcmp(name, a->name) == 0 && strcmp(title, a->title) == 0 &&
               strcmp(type, a->type) == 0 && (uint64_t)sqlite3_column_int64(st, 3) == a->size &&
               (uint32_t)sqlite3_column_int64(st, 4) == a->chunks &&
               sqlite3_column_bytes(st, 5) == 32 &&
               memcmp(sqlite3_column_blob(st, 5), a->digest, 32) == 0;
    }
    sqlite3_finalize(st);
    if (!known && rc != SQLITE_DONE)
        return HV_ESTORE;
    if (known && !same)
        return hv_fail(e, HV_EPROTO, "chunk %u of document %u describes another document than "
                       "its earlier chunks", a->index, a->n);
    if (known && strcmp(state, "incomplete") != 0)
        return HV_OK; /* complete or refused already: a copy changes nothing */
    hv_err err = HV_OK;
    if (!known)
        err = hv_sql_exec(db, "INSERT INTO attach_docs (referral, n, name, title, type, size, "
                          "chunks, digest, state, updated_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                          "?7, ?8, 'incomplete', ?9)", "ritttiixi", referral,
                          (int64_t)a->n, a->name, a->title, a->type, (int64_t)a->size,
                          (int64_t)a->chunks, a->digest, (size_t)32, (int64_t)time(NULL));
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (err == HV_OK)
        err = s_crypt(true, keys, referral, a->n, a->index, a->data, a->data_len, &sealed,
                      &sealed_len);
    if (err == HV_OK)
        err = hv_sql_exec(db, "INSERT INTO attach_chunks (referral, n, idx, sealed) VALUES (?1, "
                          "?2, ?3, ?4) ON CONFLICT DO NOTHING", "riix", referral,
                          (int64_t)a->n, (int64_t)a->index, sealed, sealed_len);
    free(sealed);
    int64_t have = 0;
    if (err == HV_OK)
        err = hv_sql_int(db, &have, "SELECT count(*) FROM attach_chunks WHERE referral = ?1 AND "
                         "n = ?2", "ri", referral, (int64_t)a->n);
    if (err != HV_OK || (uint64_t)have < a->chunks)
        return err;
    char why[160];
    if ((err = s_verify(db, keys, referral, a, why, sizeof why)) != HV_OK)
        return err;
    if (why[0] != '\0') {
        /* Refused and recorded; its chunks go, so nothing of it is shown. */
        snprintf(what, cap, "document %u (%s) refused: %s", a->n + 1, a->name, why);
        err = hv_sql_exec(db, "DELETE FROM attach_chunks WHERE referral = ?1 AND n = ?2", "ri",
                          referral, (int64_t)a->n);
        if (err == HV_OK)
            err = hv_sql_exec(db, "UPDATE attach_docs SET state = 'refused', updated_s = ?3 "
                              "WHERE referral = ?1 AND n = ?2", "rii", referral, (int64_t)a->n,
                              (int64_t)time(NULL));
        return err;
    }
    snprintf(what, cap, "document %u (%s, %s, %llu bytes) received whole; digest checked",
             a->n + 1, a->name, a->type, (unsigned long long)a->size);
    return hv_sql_exec(db, "UPDATE attach_docs SET state = 'complete', updated_s = ?3 WHERE "
                       "referral = ?1 AND n = ?2", "rii", referral, (int64_t)a->n,
                       (int64_t)time(NULL));
}

json_t *hv_attach_list(sqlite3 *db, const uint8_t referral[16], bool intake)
{
    json_t *items = json_array();
    sqlite3_stmt *st = hv_sql(db, "SELECT d.n, d.name, d.title, d.type, d.size, d.digest, "
                              "d.state, d.chunks, d.sent, (SELECT count(*) FROM attach_chunks c "
                              "WHERE c.referral = d.referral AND c.n = d.n) FROM attach_docs d "
                              "WHERE d.referral = ?1 ORDER BY d.n", "r", referral);
    if (items == NULL || st == NULL) {
        sqlite3_finalize(st);
        json_decref(items);
        return NULL;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        char name[HV_ATTACH_NAME_MAX + 1], title[HV_ATTACH_TITLE_MAX + 1], type[32], state[16];
        char digest[65] = "";
        hv_sql_text(st, 1, name, sizeof name);
        hv_sql_text(st, 2, title, sizeof title);
        hv_sql_text(st, 3, type, sizeof type);
        hv_sql_text(st, 6, state, sizeof state);
        const uint8_t *d = sqlite3_column_blob(st, 5);
        for (int i = 0; d && i < 32 && sqlite3_column_bytes(st, 5) == 32; i++)
            snprintf(digest + 2 * i, 3, "%02x", d[i]);
        int64_t chunks = sqlite3_column_int64(st, 7);
        int64_t have = intake ? sqlite3_column_int64(st, 8) : sqlite3_column_int64(st, 9);
        if (intake) /* the intake's copy is whole; what counts is how far it went */
            snprintf(state, sizeof state, "%s", have >= chunks ? "sent" : "sending");
        json_array_append_new(items, json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I}",
                                               "n", sqlite3_column_int(st, 0) + 1, "name", name,
                                               "title", title, "type", type, "size",
                                               (json_int_t)sqlite3_column_int64(st, 4),
                                               "digest", digest, "state", state, "chunks",
                                               (json_int_t)chunks, "have", (json_int_t)have));
    }
    sqlite3_finalize(st);
    return json_pack("{s:o}", "items", items);
}

hv_err hv_attach_read(sqlite3 *db, const hv_keyring *keys, const uint8_t referral[16],
                      unsigned n, uint64_t offset, uint64_t length, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int64_t size = -1;
    hv_err err = hv_sql_int(db, &size, "SELECT size FROM attach_docs WHERE referral = ?1 AND "
                            "n = ?2 AND state = 'complete'", "ri", referral, (int64_t)n);
    if (err != HV_OK)
        return err;
    if (offset > (uint64_t)size)
        return HV_EINVAL;
    if (length > HV_ATTACH_READ_MAX)
        length = HV_ATTACH_READ_MAX;
    if (length > (uint64_t)size - offset)
        length = (uint64_t)size - offset;
    uint8_t *buf = hv_secure_alloc(length ? (size_t)length : 1);
    if (buf == NULL)
        return HV_ENOMEM;
    uint64_t end = offset + length;
    sqlite3_stmt *st = hv_sql(db, "SELECT idx, sealed FROM attach_chunks WHERE referral = ?1 "
                              "AND n = ?2 AND idx >= ?3 AND idx <= ?4 ORDER BY idx", "riii",
                              referral, (int64_t)n, (int64_t)(offset / HV_ATTACH_CHUNK),
                              (int64_t)(end ? (end - 1) / HV_ATTACH_CHUNK : 0));
    err = st == NULL ? HV_ESTORE : HV_OK;
    while (err == HV_OK && length > 0 && sqlite3_step(st) == SQLITE_ROW) {
        uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
        uint8_t *pt = NULL;
        size_t pt_len = 0;
        err = s_crypt(false, keys, referral, n, (uint32_t)idx, sqlite3_column_blob(st, 1),
                      (size_t)sqlite3_column_bytes(st, 1), &pt, &pt_len);
        uint64_t base = idx * HV_ATTACH_CHUNK;
        if (err == HV_OK) {
            uint64_t from = offset > base ? offset - base : 0;
            uint64_t to = end - base < pt_len ? end - base : pt_len;
            if (to > from)
                memcpy(buf + (base + from - offset), pt + from, (size_t)(to - from));
        }
        hv_secure_free(pt);
    }
    sqlite3_finalize(st);
    if (err != HV_OK) {
        hv_secure_free(buf);
        return err;
    }
    *out = buf;
    *len = (size_t)length;
    return HV_OK;
}

hv_err hv_attach_erase(sqlite3 *db, const uint8_t referral[16])
{
    hv_err err = hv_sql_exec(db, "DELETE FROM attach_chunks WHERE referral = ?1", "r", referral);
    if (err == HV_OK)
        err = hv_sql_exec(db, "DELETE FROM attach_docs WHERE referral = ?1", "r", referral);
    return err;
}
