/* Hash-chained audit log; see hv_audit.h. */
#include "hv_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hv_crypto.h"
#include "hv_db.h"
#include "hv_every.h"
#include "hv_file.h"
#include "hv_ids.h"

#define S_CONTEXT "haven/audit/v1"
#define S_EVENT_MAX 31
#define S_TAIL_BYTES (256u * 1024) /* about 800 records checked when a log is opened */

struct hv_audit {
    int fd;                /* the log, opened for appending */
    uint64_t seq;          /* last record's number, added ones included */
    uint8_t prev[32];      /* last record's hash, added ones included */
    uint64_t disk_seq;     /* the same, as written (atomic: read by the syncer) */
    uint64_t synced_seq;   /* last record known durable (atomic) */
    int sync_failed;       /* the latest fdatasync failed (atomic) */
    uint8_t disk_prev[32];
    off_t disk_size;       /* the file's length, as written */
    char *buf;             /* added records not yet written */
    size_t len, cap;       /* their length, allocated */
    hv_every *syncer;      /* the background syncer (hv_audit_sync_every), or NULL */
    bool has_first;        /* the file's first record is written (first is its hash) */
    uint8_t first[32];     /* hash of the file's first record: the file's id */
    uint8_t first_added[32]; /* the same for record 1 while it is only added */
    char path[4096];       /* the file's path (hv_audit_rotate) */
    int64_t at_second;     /* the second `at_text` says, or -1 */
    char at_text[48];      /* "YYYY-MM-DDTHH:MM:SS." of that second */
};

bool hv_staff_name_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= HV_STAFF_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

bool hv_audit_by_valid(const char *by)
{
    const char *slash = strchr(by, '/');
    if (slash == NULL)
        return hv_node_id_valid_cstr(by);
    return hv_node_id_valid(by, (size_t)(slash - by)) && hv_staff_name_valid(slash + 1);
}

static bool s_event_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= S_EVENT_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* Joins `n` strings into `out` (no NUL); returns the length or 0 when
 * they do not fit in `cap`. The broker writes a record or two per
 * envelope on its loop: this is snprintf's work without its parsing. */
static size_t s_join(char *out, size_t cap, const char *const *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(parts[i]);
        if (k > cap - len)
            return 0;
        memcpy(out + len, parts[i], k);
        len += k;
    }
    return len;
}

/* The hashed part of a line; returns its length or 0 when it does not fit. */
static size_t s_prefix(char *out, size_t cap, uint64_t seq, const char *at, const char *node,
                       const char *ref_hex, const char *event, const char *by,
                       const char *prev_hex)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)seq);
    const char *const parts[] = {
        "{\"seq\":", num, ",\"at\":\"", at, "\",\"node\":\"", node, "\",\"subject\":\"", ref_hex,
        "\",\"event\":\"", event, "\",\"by\":\"", by, "\",\"prev\":\"", prev_hex, "\""};
    return s_join(out, cap, parts, sizeof parts / sizeof parts[0]);
}

static void s_hash(const char *prefix, size_t len, uint8_t out[32])
{
    uint8_t buf[sizeof S_CONTEXT + HV_AUDIT_LINE_MAX];
    if (len > HV_AUDIT_LINE_MAX) {
        memset(out, 0, 32); /* no line is this long: it checks against nothing */
        return;
    }
    memcpy(buf, S_CONTEXT, sizeof S_CONTEXT); /* with its NUL: domain separation */
    memcpy(buf + sizeof S_CONTEXT, prefix, len);
    hv_hash256(buf, sizeof S_CONTEXT + len, out);
}

/* Formats `ms` as the records' time, "YYYY-MM-DDTHH:MM:SS.mmmZ": the
 * date and time once a second, the milliseconds each time. */
static void s_format_at(hv_audit *a, int64_t ms, char at[64])
{
    int64_t second = ms / 1000;
    if (second != a->at_second) {
        time_t t = (time_t)second;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(a->at_text, sizeof a->at_text, "%04d-%02d-%02dT%02d:%02d:%02d.",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        a->at_second = second;
    }
    int milli = (int)(ms % 1000);
    size_t n = strlen(a->at_text);
    memcpy(at, a->at_text, n);
    at[n] = (char)('0' + milli / 100);
    at[n + 1] = (char)('0' + milli / 10 % 10);
    at[n + 2] = (char)('0' + milli % 10);
    at[n + 3] = 'Z';
    at[n + 4] = '\0';
}

/* Checks one line (without its newline) against the chain so far. */
static const char *s_check_line(const char *line, size_t len, uint64_t seq,
                                const uint8_t prev[32], uint8_t hash_out[32])
{
    char seq_s[21], at[25], node[HV_NODE_ID_MAX + 1], ref[33], event[S_EVENT_MAX + 1],
        by[HV_BY_MAX + 1], prev_hex[65], hash_hex[65], copy[HV_AUDIT_LINE_MAX + 1];
    if (len > HV_AUDIT_LINE_MAX)
        return "record longer than a record can be";
    memcpy(copy, line, len);
    copy[len] = '\0';
    int end = -1;
    int got = sscanf(copy,
                     "{\"seq\":%20[0-9],\"at\":\"%24[0-9T:.Z-]\",\"node\":\"%64[a-z0-9._-]\","
                     "\"subject\":\"%32[0-9a-f]\",\"event\":\"%31[a-z_]\","
                     "\"by\":\"%129[a-z0-9._/-]\",\"prev\":\"%64[0-9a-f]\","
                     "\"hash\":\"%64[0-9a-f]\"}%n",
                     seq_s, at, node, ref, event, by, prev_hex, hash_hex, &end);
    if (got != 8 || end != (int)len || !hv_audit_by_valid(by))
        return "not a well-formed record";
    char prefix[HV_AUDIT_LINE_MAX + 1];
    size_t plen = s_prefix(prefix, sizeof prefix - 1, strtoull(seq_s, NULL, 10), at, node, ref,
                           event, by, prev_hex);
    char expect[HV_AUDIT_LINE_MAX + 80];
    snprintf(expect, sizeof expect, "%.*s,\"hash\":\"%s\"}", (int)plen, prefix, hash_hex);
    if (plen == 0 || strcmp(expect, copy) != 0)
        return "not in canonical form";
    if (strtoull(seq_s, NULL, 10) != seq)
        return "sequence number out of order (a record removed or inserted before it)";
    char want_prev[65];
    hv_hex(prev, 32, want_prev);
    if (strcmp(prev_hex, want_prev) != 0)
        return "does not chain to the record before it (a record removed, inserted or "
               "altered before it)";
    s_hash(prefix, plen, hash_out);
    char got_hash[65];
    hv_hex(hash_out, 32, got_hash);
    if (strcmp(got_hash, hash_hex) != 0)
        return "its hash does not match its content (the record was altered)";
    return NULL;
}

/* True when `line` is a rotation record: the first of a file that
 * continues another (hv_audit_rotate). */
static bool s_is_rotation(const char *line, size_t len)
{
    static const char k[] = "\"event\":\"" HV_AUDIT_ROTATED "\",";
    return memmem(line, len, k, sizeof k - 1) != NULL;
}

/* The "subject" of a record as 16 bytes. */
static bool s_subject(const char *line, size_t len, uint8_t out[16])
{
    static const char k[] = "\"subject\":\"";
    const char *p = memmem(line, len, k, sizeof k - 1);
    char hex[33];
    if (p == NULL || (size_t)(line + len - p) < sizeof k - 1 + 32)
        return false;
    memcpy(hex, p + sizeof k - 1, 32);
    hex[32] = '\0';
    return hv_unhex(hex, out, 16) == HV_OK;
}

/* Checks whole lines of `text` that continue a chain whose last record is
 * number `seq0` with hash `prev0`; `out` counts the lines checked. A
 * rotation record must name the file before it (the first 16 bytes of the
 * hash of that file's first record, when known: `seg` non-NULL). */
static hv_err s_verify_from(const char *text, size_t len, uint64_t seq0, const uint8_t prev0[32],
                            const uint8_t *seg, hv_audit_result *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->last_hash, prev0, 32);
    uint8_t seg_first[32];
    bool seg_known = seg != NULL;
    if (seg_known)
        memcpy(seg_first, seg, 32);
    size_t pos = 0;
    uint64_t line_no = 0;
    out->first_seq = seq0 + 1;
    out->last_seq = seq0;
    while (pos < len) {
        line_no++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (nl == NULL) {
            out->broken_line = line_no;
            snprintf(out->why, sizeof out->why, "last record cut short (no end of line)");
            return HV_ECRYPTO;
        }
        uint8_t hash[32], named[16];
        size_t ll = (size_t)(nl - (text + pos));
        const char *why = s_check_line(text + pos, ll, seq0 + out->records + 1, out->last_hash,
                                       hash);
        bool rotation = why == NULL && s_is_rotation(text + pos, ll);
        if (rotation && seg_known &&
            (!s_subject(text + pos, ll, named) || memcmp(named, seg_first, 16) != 0))
            why = "a rotation record that does not name the file before it";
        if (why != NULL) {
            out->broken_line = line_no;
            snprintf(out->why, sizeof out->why, "%s", why);
            return HV_ECRYPTO;
        }
        if (rotation || (line_no == 1 && seq0 == 0)) {
            memcpy(seg_first, hash, 32); /* a file starts here */
            seg_known = true;
        }
        memcpy(out->last_hash, hash, 32);
        out->records++;
        out->last_seq++;
        pos = (size_t)(nl - text) + 1;
    }
    return HV_OK;
}

static bool s_chain_before(const char *line, size_t len, uint64_t *seq, uint8_t prev[32]);

hv_err hv_audit_verify(const char *text, size_t len, hv_audit_result *out)
{
    uint8_t prev0[32] = {0};
    uint64_t seq0 = 0;
    /* A file that continues a rotated one starts where that one ended. */
    const char *nl = memchr(text, '\n', len);
    if (nl != NULL && s_is_rotation(text, (size_t)(nl - text)) &&
        !s_chain_before(text, (size_t)(nl - text), &seq0, prev0)) {
        seq0 = 0;
        memset(prev0, 0, 32);
    }
    return s_verify_from(text, len, seq0, prev0, NULL, out);
}

/* Where the chain stands at the start of `line` (a whole record): the
 * number before its own and the hash it names as "prev". */
static bool s_chain_before(const char *line, size_t len, uint64_t *seq, uint8_t prev[32])
{
    char copy[HV_AUDIT_LINE_MAX + 1];
    if (len > HV_AUDIT_LINE_MAX)
        return false;
    memcpy(copy, line, len);
    copy[len] = '\0';
    unsigned long long n = 0;
    const char *p = strstr(copy, ",\"prev\":\"");
    char hex[65];
    if (sscanf(copy, "{\"seq\":%llu,", &n) != 1 || n == 0 || p == NULL ||
        sscanf(p, ",\"prev\":\"%64[0-9a-f]\"", hex) != 1 || hv_unhex(hex, prev, 32) != HV_OK)
        return false;
    *seq = n - 1;
    return true;
}

/* The hash the log's first record names (its file id): read from `text` when
 * the window starts at the file's start, else from the file. */
static bool s_first_hash(const char *path, const char *text, size_t start, size_t end,
                         uint8_t out[32])
{
    char line[HV_AUDIT_LINE_MAX + 1];
    size_t n = 0;
    if (start == 0) {
        n = end < sizeof line ? end : sizeof line;
        memcpy(line, text, n);
    } else {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? pread(fd, line, sizeof line, 0) : -1;
        if (fd >= 0)
            close(fd);
        if (got <= 0)
            return false;
        n = (size_t)got;
    }
    /* Only read, not checked: opening does not check the whole chain
     * (hv_audit_verify does), and a head names the file by what it holds. */
    const char *nl = memchr(line, '\n', n);
    static const char k[] = ",\"hash\":\"";
    size_t tail = sizeof k - 1 + 64 + 2, ll = nl ? (size_t)(nl - line) : 0;
    char hex[65];
    if (nl == NULL || ll < tail || memcmp(line + ll - tail, k, sizeof k - 1) != 0)
        return false;
    memcpy(hex, line + ll - 66, 64);
    hex[64] = '\0';
    return hv_unhex(hex, out, 32) == HV_OK;
}

hv_err hv_audit_open(hv_audit **out, const char *path, int *repaired, hv_errmsg *e)
{
    *out = NULL;
    if (repaired != NULL)
        *repaired = 0;
    /* Only the end of the log is read: opening must not take longer as
     * the log grows. The whole chain is `haven audit verify`'s job. */
    char *text = malloc(S_TAIL_BYTES);
    if (text == NULL)
        return HV_ENOMEM;
    size_t size = 0, len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno != ENOENT) {
        free(text);
        return hv_fail(e, HV_EIO, "%s: cannot read the audit log: %s", path, strerror(errno));
    }
    if (fd >= 0) {
        size = fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
        len = size < S_TAIL_BYTES ? size : S_TAIL_BYTES;
        ssize_t got = pread(fd, text, len, (off_t)(size - len));
        close(fd);
        if (got != (ssize_t)len) {
            free(text);
            return hv_fail(e, HV_EIO, "%s: cannot read the audit log", path);
        }
    }
    /* The window starts at a record boundary; a last line without its end
     * of line is what a crash leaves, and is cut off. */
    size_t start = 0;
    if (len < size) {
        const char *nl = memchr(text, '\n', len);
        start = nl ? (size_t)(nl - text) + 1 : len;
    }
    const char *last_nl = len > start ? memrchr(text + start, '\n', len - start) : NULL;
    size_t end = last_nl ? (size_t)(last_nl - text) + 1 : start;
    size_t keep = size - (len - end);
    if (end < len && repaired != NULL)
        *repaired = 1;
    uint64_t seq0 = 0;
    uint8_t prev0[32] = {0};
    const char *first_nl = end > start ? memchr(text + start, '\n', end - start) : NULL;
    /* From the window's first record, or a rotated file's. */
    bool from_line = start > 0 || (first_nl != NULL &&
                                   s_is_rotation(text, (size_t)(first_nl - text)));
    bool ok = !from_line || (first_nl != NULL &&
                             s_chain_before(text + start, (size_t)(first_nl - (text + start)),
                                            &seq0, prev0));
    hv_audit_result r;
    if (!ok || (start == end && start > 0) ||
        s_verify_from(text + start, end - start, seq0, prev0, NULL, &r) != HV_OK) {
        free(text);
        if (!ok || start == end)
            return hv_fail(e, HV_ECRYPTO, "%s: audit log broken: no whole record at its end",
                           path);
        if (start == 0 && seq0 == 0)
            return hv_fail(e, HV_ECRYPTO, "%s:%llu: audit log broken: %s", path,
                           (unsigned long long)r.broken_line, r.why);
        return hv_fail(e, HV_ECRYPTO, "%s: record %llu: audit log broken: %s", path,
                       (unsigned long long)(seq0 + r.broken_line), r.why);
    }
    uint8_t first[32];
    bool has_first = end > 0 && s_first_hash(path, text, start, end, first);
    free(text);
    r.records = r.last_seq;
    hv_audit *a = calloc(1, sizeof *a);
    if (a == NULL)
        return HV_ENOMEM;
    a->at_second = -1;
    snprintf(a->path, sizeof a->path, "%s", path);
    a->has_first = has_first;
    if (has_first)
        memcpy(a->first, first, 32);
    a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->fd < 0 || (keep < size && ftruncate(a->fd, (off_t)keep) != 0)) {
        hv_audit_close(&a);
        return hv_fail(e, HV_EIO, "%s: cannot open the audit log: %s", path, strerror(errno));
    }
    a->disk_size = (off_t)keep;
    a->seq = a->disk_seq = r.records;
    memcpy(a->prev, r.last_hash, 32);
    memcpy(a->disk_prev, r.last_hash, 32);
    *out = a;
    return HV_OK;
}

void hv_audit_close(hv_audit **a)
{
    if (a == NULL || *a == NULL)
        return;
    hv_every_stop(&(*a)->syncer);
    if ((*a)->fd >= 0)
        close((*a)->fd);
    free((*a)->buf);
    free(*a);
    *a = NULL;
}

hv_err hv_audit_add(hv_audit *a, const char *node, const uint8_t subject[16],
                    const char *event, const char *by)
{
    if (!hv_node_id_valid_cstr(node) || !hv_audit_by_valid(by) || !s_event_ok(event))
        return HV_EINVAL;
    uint8_t zero[16] = {0};
    char ref[33], prev[65], at[64], prefix[HV_AUDIT_LINE_MAX + 1];
    hv_hex(subject ? subject : zero, 16, ref);
    hv_hex(a->prev, 32, prev);
    s_format_at(a, hv_now_ms(), at);
    size_t plen = s_prefix(prefix, sizeof prefix - 1, a->seq + 1, at, node, ref, event, by, prev);
    if (plen == 0)
        return HV_EINVAL;
    prefix[plen] = '\0';
    uint8_t hash[32];
    s_hash(prefix, plen, hash);
    char hash_hex[65], line[HV_AUDIT_LINE_MAX + 2];
    hv_hex(hash, 32, hash_hex);
    const char *const parts[] = {prefix, ",\"hash\":\"", hash_hex, "\"}\n"};
    size_t n = s_join(line, sizeof line - 1, parts, sizeof parts / sizeof parts[0]);
    if (n == 0)
        return HV_EINVAL;
    if (a->len + (size_t)n > a->cap) {
        size_t cap = (a->cap ? a->cap * 2 : 4096) + (size_t)n;
        char *grown = realloc(a->buf, cap);
        if (grown == NULL)
            return HV_ENOMEM;
        a->buf = grown;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, line, (size_t)n);
    a->len += (size_t)n;
    a->seq++;
    memcpy(a->prev, hash, 32);
    if (a->seq == 1 || strcmp(event, HV_AUDIT_ROTATED) == 0)
        memcpy(a->first_added, hash, 32);
    return HV_OK;
}

hv_err hv_audit_flush(hv_audit *a)
{
    hv_err err = hv_audit_write(a);
    if (err != HV_OK)
        hv_audit_discard(a); /* the chain goes on from what the file holds */
    else
        err = hv_audit_sync(a, NULL);
    return err;
}

void hv_audit_pending(const hv_audit *a, const char **text, size_t *len, uint64_t *last_seq)
{
    *text = a->buf;
    *len = a->len;
    *last_seq = a->seq;
}

hv_err hv_audit_write(hv_audit *a)
{
    if (a->len == 0)
        return HV_OK;
    /* One write with O_APPEND: a crash leaves at most the tail cut short. */
    ssize_t w = write(a->fd, a->buf, a->len);
    if (w != (ssize_t)a->len) {
        /* Leave no partial record behind: the next write starts clean. */
        if (w > 0)
            (void)!ftruncate(a->fd, a->disk_size);
        return HV_EIO;
    }
    a->disk_size += (off_t)a->len;
    a->len = 0;
    if (!a->has_first && a->seq >= 1) {
        memcpy(a->first, a->first_added, 32); /* record 1, or the rotation record */
        a->has_first = true;
    }
    __atomic_store_n(&a->disk_seq, a->seq, __ATOMIC_RELEASE);
    memcpy(a->disk_prev, a->prev, 32);
    hv_every_kick(a->syncer); /* records to make durable */
    return HV_OK;
}

void hv_audit_discard(hv_audit *a)
{
    a->len = 0;
    a->seq = a->disk_seq;
    memcpy(a->prev, a->disk_prev, 32);
}

hv_err hv_audit_sync(hv_audit *a, uint64_t *synced_seq)
{
    /* After a failed fdatasync the kernel may have dropped what it could
     * not write, and a later one can succeed without it: once failed, the
     * file is never again reported durable (the broker keeps its copies). */
    if (__atomic_load_n(&a->sync_failed, __ATOMIC_ACQUIRE))
        return hv_audit_synced(a, synced_seq);
    uint64_t upto = __atomic_load_n(&a->disk_seq, __ATOMIC_ACQUIRE);
    uint64_t had = __atomic_load_n(&a->synced_seq, __ATOMIC_ACQUIRE);
    if (upto != had) {
        if (fdatasync(a->fd) != 0) {
            __atomic_store_n(&a->sync_failed, 1, __ATOMIC_RELEASE);
            return HV_EIO;
        }
        /* Two syncs may race (the syncer and a last one at exit): keep the higher. */
        while (had < upto && !__atomic_compare_exchange_n(&a->synced_seq, &had, upto, false,
                                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            ;
    }
    return hv_audit_synced(a, synced_seq);
}

hv_err hv_audit_synced(hv_audit *a, uint64_t *synced_seq)
{
    if (synced_seq != NULL)
        *synced_seq = __atomic_load_n(&a->synced_seq, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&a->sync_failed, __ATOMIC_ACQUIRE) ? HV_EIO : HV_OK;
}

/* Syncs what was written. Returns false when nothing is left to sync (or
 * a sync failed, after which none is tried again): the syncer then sleeps
 * until the next write's kick instead of waking 20 times a second. */
static bool s_sync_now(void *arg)
{
    hv_audit *a = arg;
    (void)!hv_audit_sync(a, NULL); /* a failure is reported by hv_audit_synced */
    return !__atomic_load_n(&a->sync_failed, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&a->disk_seq, __ATOMIC_ACQUIRE) !=
               __atomic_load_n(&a->synced_seq, __ATOMIC_ACQUIRE);
}

hv_err hv_audit_sync_every(hv_audit *a, unsigned every_ms)
{
    if (a->syncer != NULL)
        return HV_EINVAL;
    return hv_every_start_until_idle(&a->syncer, every_ms, s_sync_now, a);
}

void hv_audit_sync_stop(hv_audit *a) { hv_every_stop(&a->syncer); }

hv_err hv_audit_recover(hv_audit *a, const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (nl == NULL)
            return HV_ECRYPTO;
        size_t n = (size_t)(nl - (text + pos));
        char head[40]; /* the text need not end with a NUL: read a copy */
        size_t h = n < sizeof head - 1 ? n : sizeof head - 1;
        memcpy(head, text + pos, h);
        head[h] = '\0';
        unsigned long long seq = 0;
        if (sscanf(head, "{\"seq\":%llu,", &seq) != 1)
            return HV_ECRYPTO;
        if (seq > a->seq) {
            uint8_t hash[32];
            if (s_check_line(text + pos, n, a->seq + 1, a->prev, hash) != NULL)
                return HV_ECRYPTO;
            if (a->len + n + 1 > a->cap) {
                size_t cap = a->cap * 2 + n + 1 + 4096;
                char *grown = realloc(a->buf, cap);
                if (grown == NULL)
                    return HV_ENOMEM;
                a->buf = grown;
                a->cap = cap;
            }
            memcpy(a->buf + a->len, text + pos, n + 1);
            a->len += n + 1;
            a->seq++;
            memcpy(a->prev, hash, 32);
            if (a->seq == 1)
                memcpy(a->first_added, hash, 32);
        }
        pos += n + 1;
    }
    return hv_audit_write(a);
}

hv_err hv_audit_append(hv_audit *a, const char *node, const uint8_t subject[16],
                       const char *event, const char *by)
{
    hv_err err = hv_audit_add(a, node, subject, event, by);
    return err == HV_OK ? hv_audit_flush(a) : err;
}

bool hv_audit_tip(const hv_audit *a, uint64_t *seq, uint8_t hash[32], uint8_t file_id[32])
{
    *seq = a->disk_seq;
    memcpy(hash, a->disk_prev, 32);
    memcpy(file_id, a->first, 32);
    return a->has_first;
}

hv_err hv_audit_rotate(hv_audit *a, const char *node, const char *by, char *old_path, size_t cap,
                       hv_errmsg *e)
{
    if (a->syncer != NULL || a->len != 0 || !a->has_first)
        return hv_fail(e, HV_EINVAL, "%s: %s", a->path,
                       a->has_first ? "the log is written by a syncer or has records pending"
                                    : "an empty log is not rotated");
    if (fdatasync(a->fd) != 0)
        return hv_fail(e, HV_EIO, "%s: cannot sync the audit log: %s", a->path,
                       strerror(errno));
    int n = snprintf(old_path, cap, "%s.%llu", a->path, (unsigned long long)a->disk_seq);
    if (n <= 0 || (size_t)n >= cap)
        return hv_fail(e, HV_EINVAL, "%s: the rotated file's name is too long", a->path);
    if (access(old_path, F_OK) == 0)
        return hv_fail(e, HV_EEXIST, "%s already exists", old_path);
    if (rename(a->path, old_path) != 0)
        return hv_fail(e, HV_EIO, "%s: cannot rename the audit log to %s: %s", a->path,
                       old_path, strerror(errno));
    int fd = open(a->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        hv_err err = hv_fail(e, HV_EIO, "%s: cannot create the new audit log: %s", a->path,
                             strerror(errno));
        (void)!rename(old_path, a->path); /* go on in the old file */
        return err;
    }
    close(a->fd);
    a->fd = fd;
    a->disk_size = 0;
    a->has_first = false;
    /* The new file's first record: the chain goes on, naming the old file. */
    uint8_t old_id[32];
    memcpy(old_id, a->first, 32);
    hv_err err = hv_audit_add(a, node, old_id, HV_AUDIT_ROTATED, by);
    if (err == HV_OK)
        err = hv_audit_flush(a);
    /* The renamed and the new entry durable in the directory. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", a->path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    int dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (err != HV_OK)
        return hv_fail(e, err, "%s: cannot write the new audit log's first record", a->path);
    return HV_OK;
}
