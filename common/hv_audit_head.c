/* Signed heads of an audit log; see hv_audit_head.h. */
#include "hv_audit_head.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_file.h"
#include "hv_mp.h"
#include "hv_registry.h"

#define S_VERSION 1
#define S_FIELDS 8
#define S_TAIL_BYTES (256u * 1024) /* as hv_audit_open's window */
#define S_LOG_MAX (1024u * 1024 * 1024)

/* The array of 7 that is signed, or the whole head with `with_sig`. */
static hv_err s_encode(const hv_audit_head *h, bool with_sig, uint8_t out[HV_AUDIT_HEAD_MAX],
                       size_t *len)
{
    if (!hv_node_id_valid_cstr(h->node) || h->seq == 0)
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    hv_mp_write_array(&w, with_sig ? S_FIELDS : S_FIELDS - 1);
    hv_mp_write_uint(&w, S_VERSION);
    hv_mp_write_cstr(&w, h->node);
    hv_mp_write_bin(&w, h->file_id, 32);
    hv_mp_write_uint(&w, h->seq);
    hv_mp_write_bin(&w, h->hash, 32);
    hv_mp_write_uint(&w, h->at_ms);
    hv_mp_write_bin(&w, h->key_id, HV_KEY_ID_BYTES);
    if (with_sig)
        hv_mp_write_bin(&w, h->sig, HV_SIG_BYTES);
    uint8_t *buf = NULL;
    size_t n = 0;
    if ((err = hv_mp_writer_take(&w, &buf, &n)) != HV_OK)
        return err;
    if (n > HV_AUDIT_HEAD_MAX) {
        free(buf);
        return HV_EINVAL;
    }
    memcpy(out, buf, n);
    *len = n;
    free(buf);
    return HV_OK;
}

void hv_audit_head_sign(hv_audit_head *h, const hv_keypair *kp)
{
    memcpy(h->key_id, hv_keypair_public(kp)->key_id, HV_KEY_ID_BYTES);
    uint8_t msg[HV_AUDIT_HEAD_MAX];
    size_t n = 0;
    if (s_encode(h, false, msg, &n) != HV_OK) {
        memset(h->sig, 0, sizeof h->sig); /* verifies for no key */
        return;
    }
    hv_sign(kp, HV_AUDIT_HEAD_CONTEXT, msg, n, h->sig);
}

hv_err hv_audit_head_encode(const hv_audit_head *h, uint8_t out[HV_AUDIT_HEAD_MAX], size_t *len)
{
    return s_encode(h, true, out, len);
}

hv_err hv_audit_head_decode(const uint8_t *buf, size_t len, hv_audit_head *out)
{
    memset(out, 0, sizeof *out);
    if (len > HV_AUDIT_HEAD_MAX)
        return HV_ETOOBIG;
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint32_t n;
    uint64_t v;
    hv_err err;
    if ((err = hv_mp_read_array(&r, &n)) != HV_OK)
        return err;
    if (n != S_FIELDS)
        return HV_EDECODE;
    if ((err = hv_mp_read_uint(&r, &v)) != HV_OK)
        return err;
    if (v != S_VERSION)
        return HV_EVERSION;
    if ((err = hv_mp_read_cstr(&r, out->node, sizeof out->node)) != HV_OK ||
        (err = hv_mp_read_bin_exact(&r, out->file_id, 32)) != HV_OK ||
        (err = hv_mp_read_uint(&r, &out->seq)) != HV_OK ||
        (err = hv_mp_read_bin_exact(&r, out->hash, 32)) != HV_OK ||
        (err = hv_mp_read_uint(&r, &out->at_ms)) != HV_OK ||
        (err = hv_mp_read_bin_exact(&r, out->key_id, HV_KEY_ID_BYTES)) != HV_OK ||
        (err = hv_mp_read_bin_exact(&r, out->sig, HV_SIG_BYTES)) != HV_OK)
        return err;
    if (!hv_node_id_valid_cstr(out->node) || out->seq == 0)
        return HV_EDECODE;
    if ((err = hv_mp_read_end(&r)) != HV_OK)
        return err;
    /* Only the canonical encoding: what is signed is what is read. */
    uint8_t again[HV_AUDIT_HEAD_MAX];
    size_t alen = 0;
    if (s_encode(out, true, again, &alen) != HV_OK || alen != len || memcmp(again, buf, len) != 0)
        return HV_EDECODE;
    return HV_OK;
}

hv_err hv_audit_head_verify(const hv_audit_head *h, const uint8_t sign_pk[32])
{
    uint8_t msg[HV_AUDIT_HEAD_MAX];
    size_t n = 0;
    if (s_encode(h, false, msg, &n) != HV_OK)
        return HV_ECRYPTO;
    return hv_verify(sign_pk, HV_AUDIT_HEAD_CONTEXT, msg, n, h->sig);
}

hv_err hv_audit_head_verify_registry(const hv_audit_head *h, const hv_registry *reg)
{
    const hv_node *node = hv_registry_find(reg, h->node);
    /* A head stays checkable after its key set was rotated out of use: any
     * set the registry still lists for the node, whatever the date. */
    const hv_pubkeys *keys = NULL;
    if (node != NULL) {
        if (memcmp(node->keys.key_id, h->key_id, HV_KEY_ID_BYTES) == 0)
            keys = &node->keys;
        else if (node->has_next && memcmp(node->next_keys.key_id, h->key_id,
                                          HV_KEY_ID_BYTES) == 0)
            keys = &node->next_keys;
        else if (node->has_previous && memcmp(node->previous_keys.key_id, h->key_id,
                                              HV_KEY_ID_BYTES) == 0)
            keys = &node->previous_keys;
    }
    if (keys == NULL)
        return HV_ENOTFOUND;
    return hv_audit_head_verify(h, keys->sign);
}

hv_err hv_audit_head_line(const hv_audit_head *h, char out[2 * HV_AUDIT_HEAD_MAX + 2])
{
    uint8_t buf[HV_AUDIT_HEAD_MAX];
    size_t n = 0;
    hv_err err = hv_audit_head_encode(h, buf, &n);
    if (err != HV_OK)
        return err;
    hv_hex(buf, n, out);
    out[2 * n] = '\n';
    out[2 * n + 1] = '\0';
    return HV_OK;
}

hv_err hv_audit_heads_parse(const char *text, size_t len, hv_audit_head **out, size_t *n,
                            hv_errmsg *e)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0, pos = 0, line = 0;
    hv_audit_head *heads = NULL;
    while (pos < len) {
        line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char hex[2 * HV_AUDIT_HEAD_MAX + 1];
        uint8_t bin[HV_AUDIT_HEAD_MAX];
        hv_audit_head h;
        if (ll == 0 || ll % 2 != 0 || ll > 2 * HV_AUDIT_HEAD_MAX || *n >= HV_AUDIT_HEADS_MAX)
            goto bad;
        memcpy(hex, text + pos, ll);
        hex[ll] = '\0';
        if (hv_unhex(hex, bin, ll / 2) != HV_OK || hv_audit_head_decode(bin, ll / 2, &h) != HV_OK)
            goto bad;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            hv_audit_head *grown = realloc(heads, cap * sizeof *heads);
            if (grown == NULL) {
                free(heads);
                *n = 0;
                return HV_ENOMEM;
            }
            heads = grown;
        }
        heads[(*n)++] = h;
        pos += ll + (nl ? 1 : 0);
    }
    *out = heads;
    return HV_OK;
bad:
    free(heads);
    *n = 0;
    return hv_fail(e, HV_EDECODE, "line %zu is not a signed audit head", line);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of Unix ms. */
static void s_time(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[24];
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%03uZ", day, (unsigned)(ms % 1000));
}

/* A record's field: the 64 hex digits of "hash" and the node id. */
static bool s_line_hash(const char *line, size_t len, uint8_t hash[32])
{
    static const char k[] = ",\"hash\":\"";
    size_t tail = sizeof k - 1 + 64 + 2; /* ,"hash":"<64>"} */
    if (len < tail || memcmp(line + len - tail, k, sizeof k - 1) != 0)
        return false;
    char hex[65];
    memcpy(hex, line + len - 66, 64);
    hex[64] = '\0';
    return hv_unhex(hex, hash, 32) == HV_OK;
}

static bool s_line_node(const char *line, size_t len, char node[HV_NODE_ID_MAX + 1])
{
    static const char k[] = "\"node\":\"";
    const char *p = memmem(line, len, k, sizeof k - 1);
    if (p == NULL)
        return false;
    p += sizeof k - 1;
    const char *q = memchr(p, '"', len - (size_t)(p - line));
    if (q == NULL || q - p > HV_NODE_ID_MAX)
        return false;
    memcpy(node, p, (size_t)(q - p));
    node[q - p] = '\0';
    return true;
}

/* The record's number at the start of a line, or 0. */
static uint64_t s_line_seq(const char *line, size_t len)
{
    char head[32];
    size_t h = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, line, h);
    head[h] = '\0';
    unsigned long long seq = 0;
    return sscanf(head, "{\"seq\":%llu,", &seq) == 1 ? seq : 0;
}

/* The line of `text` that holds record `seq`, by its number. */
static bool s_find(const char *text, size_t len, uint64_t seq, const char **line, size_t *ll)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (nl != NULL && s_line_seq(text + pos, n) == seq) {
            *line = text + pos;
            *ll = n;
            return true;
        }
        pos += n + 1;
    }
    return false;
}

static int s_by_seq(const void *a, const void *b)
{
    const hv_audit_head *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

static bool s_line_rotation(const char *line, size_t len)
{
    static const char k[] = "\"event\":\"" HV_AUDIT_ROTATED "\",";
    return memmem(line, len, k, sizeof k - 1) != NULL;
}

/* Checks head `h` at its record (`line`, in the file that begins with the
 * record `seg_seq` of hash `seg`); false with `out` filled when it does not
 * match. */
static bool s_check_one(const hv_audit_head *h, const char *node, const char *line, size_t ll,
                        const uint8_t seg[32], uint64_t seg_seq, uint64_t good,
                        hv_audit_heads_result *out)
{
    char at[32], want[65], got[65];
    uint8_t hash[32];
    s_time(h->at_ms, at);
    if (strcmp(node, h->node) != 0) {
        out->first_bad = seg_seq;
        snprintf(out->why, sizeof out->why, "record %llu is %s's, the witnessed heads are "
                 "%s's: another node's log (a swapped file)", (unsigned long long)seg_seq,
                 node, h->node);
        return false;
    }
    if (memcmp(seg, h->file_id, 32) != 0) {
        out->first_bad = seg_seq;
        snprintf(out->why, sizeof out->why, "record %llu is not the first record of the "
                 "witnessed log: another file in its place (a swapped file)",
                 (unsigned long long)seg_seq);
        return false;
    }
    if (!s_line_hash(line, ll, hash) || memcmp(hash, h->hash, 32) != 0) {
        out->first_bad = h->seq;
        hv_hex(h->hash, 32, want);
        hv_hex(hash, 32, got);
        snprintf(out->why, sizeof out->why, "record %llu differs from its witnessed head: "
                 "the chain was rewritten after record %llu (a rewritten chain; record %llu "
                 "has hash %.16s..., the head signed %s witnessed %.16s...)",
                 (unsigned long long)h->seq, (unsigned long long)(good ? good : seg_seq),
                 (unsigned long long)h->seq, got, at, want);
        return false;
    }
    return true;
}

hv_err hv_audit_check_heads(const char *text, size_t len, uint64_t last_seq,
                            const hv_audit_head *heads, size_t n, hv_audit_heads_result *out)
{
    memset(out, 0, sizeof *out);
    hv_audit_head *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (sorted == NULL)
        return HV_ENOMEM;
    if (n > 0) { /* `heads` may be NULL when there are none */
        memcpy(sorted, heads, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, s_by_seq);
    }
    if (n > 0) {
        out->latest_seq = sorted[n - 1].seq;
        out->latest_at_ms = sorted[n - 1].at_ms;
    }
    /* One pass over the records, the heads in order of seq beside it. */
    char node[HV_NODE_ID_MAX + 1] = "";
    uint8_t seg[32] = {0};
    uint64_t seg_seq = 0, good = 0, first_seq = 0;
    size_t i = 0, pos = 0;
    hv_err err = HV_OK;
    while (pos < len && err == HV_OK) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (nl == NULL)
            break;
        const char *line = text + pos;
        size_t ll = (size_t)(nl - line);
        uint64_t seq = s_line_seq(line, ll);
        if (seq > last_seq)
            break;
        if (first_seq == 0) {
            first_seq = seq;
            (void)s_line_node(line, ll, node);
            /* Heads of files before the first one given are not checked. */
            while (i < n && sorted[i].seq < first_seq) {
                i++;
                out->skipped++;
            }
        }
        if (seg_seq == 0 || s_line_rotation(line, ll)) {
            (void)s_line_hash(line, ll, seg);
            seg_seq = seq;
        }
        for (; i < n && sorted[i].seq == seq && err == HV_OK; i++) {
            if (s_check_one(&sorted[i], node, line, ll, seg, seg_seq, good, out)) {
                good = seq;
                out->matched++;
            } else {
                err = HV_ECRYPTO;
            }
        }
        pos += ll + 1;
    }
    if (err == HV_OK && i < n) {
        /* Heads beyond the log's end: what was witnessed and is gone. */
        char at[32];
        s_time(out->latest_at_ms, at);
        uint64_t end = first_seq ? last_seq : 0;
        out->first_bad = end + 1;
        if (end == 0)
            snprintf(out->why, sizeof out->why, "the log holds no record, records 1 to %llu "
                     "are missing (a cut tail; the head signed %s witnessed record %llu)",
                     (unsigned long long)out->latest_seq, at,
                     (unsigned long long)out->latest_seq);
        else
            snprintf(out->why, sizeof out->why, "the log ends at record %llu, records %llu to "
                     "%llu are missing (a cut tail; the head signed %s witnessed record %llu)",
                     (unsigned long long)end, (unsigned long long)end + 1,
                     (unsigned long long)out->latest_seq, at,
                     (unsigned long long)out->latest_seq);
        err = HV_ECRYPTO;
    }
    free(sorted);
    return err;
}

/* Reads `len` bytes of `path` at `off` into a new buffer. */
static hv_err s_pread(const char *path, off_t off, size_t len, char **out)
{
    *out = malloc(len + 1);
    if (*out == NULL)
        return HV_ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? pread(fd, *out, len, off) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)len) {
        free(*out);
        *out = NULL;
        return HV_EIO;
    }
    return HV_OK;
}

hv_err hv_audit_check_start(const char *path, const hv_audit_head *head, hv_errmsg *e)
{
    struct stat st;
    size_t size = 0;
    if (stat(path, &st) == 0)
        size = (size_t)st.st_size;
    else if (errno != ENOENT)
        return hv_fail(e, HV_EIO, "%s: cannot read the audit log: %s", path, strerror(errno));
    char want[65], got[65];
    hv_hex(head->hash, 32, want);
    char *text = NULL;
    hv_err err;
    /* The first record: the file's id. */
    size_t flen = size < HV_AUDIT_LINE_MAX + 1 ? size : HV_AUDIT_LINE_MAX + 1;
    if (size == 0)
        return hv_fail(e, HV_ECRYPTO, "%s: audit log shorter than its last witnessed head: "
                       "record %llu expected, the log is empty", path,
                       (unsigned long long)head->seq);
    if ((err = s_pread(path, 0, flen, &text)) != HV_OK)
        return hv_fail(e, err, "%s: cannot read the audit log", path);
    const char *nl = memchr(text, '\n', flen);
    uint8_t hash[32];
    char node[HV_NODE_ID_MAX + 1] = "";
    bool first_ok = nl != NULL && s_line_hash(text, (size_t)(nl - text), hash) &&
                    s_line_node(text, (size_t)(nl - text), node);
    bool rotation = first_ok && s_line_rotation(text, (size_t)(nl - text));
    uint64_t rot_seq = 0;
    uint8_t rot_prev[32] = {0}, rot_subject[16] = {0};
    if (rotation) {
        char copy[HV_AUDIT_LINE_MAX + 1], prev_hex[65], subj_hex[33];
        size_t ll = (size_t)(nl - text);
        memcpy(copy, text, ll);
        copy[ll] = '\0';
        const char *p = strstr(copy, ",\"prev\":\""), *q = strstr(copy, "\"subject\":\"");
        rot_seq = s_line_seq(copy, ll);
        rotation = p != NULL && q != NULL &&
                   sscanf(p, ",\"prev\":\"%64[0-9a-f]\"", prev_hex) == 1 &&
                   sscanf(q, "\"subject\":\"%32[0-9a-f]\"", subj_hex) == 1 &&
                   hv_unhex(prev_hex, rot_prev, 32) == HV_OK &&
                   hv_unhex(subj_hex, rot_subject, 16) == HV_OK;
    }
    free(text);
    bool same_file = first_ok && strcmp(node, head->node) == 0 &&
                     memcmp(hash, head->file_id, 32) == 0;
    if (!same_file && first_ok && strcmp(node, head->node) == 0 && rotation) {
        /* Rotated since the head: the new file must go on from it exactly. */
        if (rot_seq == head->seq + 1 && memcmp(rot_prev, head->hash, 32) == 0 &&
            memcmp(rot_subject, head->file_id, 16) == 0)
            return HV_OK;
    }
    if (!same_file) {
        char fid[65];
        hv_hex(head->file_id, 32, fid);
        if (!first_ok)
            memset(hash, 0, 32);
        hv_hex(hash, 32, got);
        return hv_fail(e, HV_ECRYPTO, "%s: audit log is not the one its last witnessed head "
                       "names (record %llu of %s): its first record expected with hash "
                       "%.16s..., found %.16s... of %s", path, (unsigned long long)head->seq,
                       head->node, fid, got, node[0] ? node : "no node");
    }
    /* The head's record: at the end, usually; the whole log when not. */
    size_t tlen = size < S_TAIL_BYTES ? size : S_TAIL_BYTES;
    if ((err = s_pread(path, (off_t)(size - tlen), tlen, &text)) != HV_OK)
        return hv_fail(e, err, "%s: cannot read the audit log", path);
    const char *line = NULL;
    size_t ll = 0;
    bool found = s_find(text, tlen, head->seq, &line, &ll);
    /* The last whole record's number: what the file holds. */
    uint64_t last = 0;
    const char *end = memrchr(text, '\n', tlen);
    if (end != NULL) {
        const char *prev = end > text ? memrchr(text, '\n', (size_t)(end - text)) : NULL;
        const char *start = prev ? prev + 1 : text;
        last = s_line_seq(start, (size_t)(end - start));
    }
    uint64_t first_in_window = 0;
    {
        const char *p = text;
        if (tlen < size) {
            const char *n1 = memchr(text, '\n', tlen);
            p = n1 ? n1 + 1 : text + tlen;
        }
        const char *n2 = memchr(p, '\n', tlen - (size_t)(p - text));
        if (n2 != NULL)
            first_in_window = s_line_seq(p, (size_t)(n2 - p));
    }
    if (!found && head->seq < first_in_window && tlen < size) {
        free(text);
        size_t all = 0;
        uint8_t *bytes = NULL;
        if ((err = hv_file_read(path, S_LOG_MAX, &bytes, &all, e)) != HV_OK)
            return err;
        text = (char *)bytes;
        found = s_find(text, all, head->seq, &line, &ll);
    }
    if (!found || !s_line_hash(line, ll, hash)) {
        free(text);
        if (last < head->seq)
            return hv_fail(e, HV_ECRYPTO, "%s: audit log shorter than its last witnessed "
                           "head: record %llu expected, the log ends at record %llu", path,
                           (unsigned long long)head->seq, (unsigned long long)last);
        return hv_fail(e, HV_ECRYPTO, "%s: audit log differs from its last witnessed head: "
                       "record %llu expected with hash %.16s..., not found", path,
                       (unsigned long long)head->seq, want);
    }
    free(text);
    if (memcmp(hash, head->hash, 32) != 0) {
        hv_hex(hash, 32, got);
        return hv_fail(e, HV_ECRYPTO, "%s: audit log differs from its last witnessed head: "
                       "record %llu expected with hash %.16s..., found %.16s...", path,
                       (unsigned long long)head->seq, want, got);
    }
    return HV_OK;
}
