/* hv-bench-store-check: what checking a broker's store costs (a benchmark
 * program, not a test; docs/BENCHMARKS.md, "Checking a store at open").
 *
 * Fills a broker store (the broker's own hv_store, its page size and
 * settings) with N queued envelopes of SIZE bytes for a few recipients,
 * closes it, then measures, each on a cold page cache for the file
 * (posix_fadvise DONTNEED after an fsync: no root needed) and again warm:
 *   - reading the file once (read(2), 1 MiB at a time): the machine's own
 *     limit for anything that looks at every page;
 *   - PRAGMA quick_check alone, and hv_db_check, which every store runs
 *     when it is opened: the file read once in order, then quick_check;
 *   - hv_store_open as a whole (quick_check, WAL truncation, counting the
 *     replay window, preparing statements);
 *   - PRAGMA integrity_check, what --check-store runs.
 *
 * usage: hv-bench-store-check [--messages N] [--size BYTES] [--dir DIR] [--keep]
 *   defaults: 1,000,000 envelopes of 1,024 bytes in a new directory under
 *   $TMPDIR (or /tmp), deleted afterwards unless --keep. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_db.h"
#include "hv_store.h"

#define S_TXN 10000 /* envelopes a transaction while filling */

static double s_ms(int64_t us) { return (double)us / 1000.0; }

/* Drops the file's pages from the page cache (they are clean after the
 * fsync), so that the next read comes from the disk. */
static void s_cold(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fdatasync(fd);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

/* Reads the whole file once; returns microseconds, -1 on error. */
static int64_t s_read_once(const char *path, long long *bytes)
{
    static char buf[1 << 20];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int64_t t0 = hv_mono_us();
    long long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    int64_t took = hv_mono_us() - t0;
    close(fd);
    *bytes = total;
    return n < 0 ? -1 : took;
}

static int s_fill(const char *path, long n, size_t size)
{
    hv_errmsg e = {""};
    hv_store *s = NULL;
    if (hv_store_open(&s, path, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-store-check: %s\n", e.text);
        return -1;
    }
    uint8_t *env = malloc(size);
    if (env == NULL) {
        hv_store_close(&s);
        return -1;
    }
    /* Bytes that do not compress, as sealed envelopes are. */
    for (size_t i = 0; i < size; i++)
        env[i] = (uint8_t)((i * 2654435761u) >> 13);
    static const char *const rcpt[] = {"shelter-a.xc", "shelter-b.xc", "legal.xc", "@broker.xa"};
    int64_t t0 = hv_mono_us(), now = hv_now_ms();
    hv_err err = HV_OK;
    for (long i = 0; err == HV_OK && i < n; i++) {
        uint8_t id[16] = {0};
        memcpy(id, &i, sizeof i);
        memcpy(env, &i, sizeof i);
        hv_stored m = {.id = id, .sender = "ngo.xc", .recipient = rcpt[i % 4], .type = 2,
                       .envelope = env, .envelope_len = size,
                       .expires_ms = now + 7 * 86400000LL, .referral = id};
        bool dup;
        if ((err = hv_store_begin(s)) == HV_OK)
            err = hv_store_put(s, &m, now, &dup);
        if (err == HV_OK && (i + 1) % S_TXN == 0)
            err = hv_store_commit(s);
    }
    if (err == HV_OK)
        err = hv_store_commit(s);
    printf("filled:            %ld envelopes of %zu bytes in %.1f s\n", n, size,
           (double)(hv_mono_us() - t0) / 1e6);
    free(env);
    hv_store_close(&s);
    return err == HV_OK ? 0 : -1;
}

/* One measurement of each, cold or warm. */
static int s_measure(const char *path, bool cold)
{
    const char *how = cold ? "cold" : "warm";
    long long bytes = 0;
    if (cold)
        s_cold(path);
    int64_t read_us = s_read_once(path, &bytes);
    if (read_us < 0)
        return -1;
    printf("%s read once:    %8.1f ms  (%.0f MiB, %.0f MiB/s)\n", how, s_ms(read_us),
           (double)bytes / 1048576.0, (double)bytes / 1048576.0 / ((double)read_us / 1e6));
    hv_db_checked q, f;
    hv_errmsg e = {""};
    /* SQLite's own, without the read ahead of hv_db_check. */
    if (cold)
        s_cold(path);
    sqlite3 *db = NULL;
    int64_t raw_us = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        int64_t t0 = hv_mono_us();
        if (sqlite3_exec(db, "PRAGMA quick_check(20)", NULL, NULL, NULL) == SQLITE_OK)
            raw_us = hv_mono_us() - t0;
    }
    sqlite3_close_v2(db);
    printf("%s quick_check:  %8.1f ms  (SQLite's alone; %.2f x the read)\n", how, s_ms(raw_us),
           (double)raw_us / (double)read_us);
    if (cold)
        s_cold(path);
    if (hv_db_check_path(path, HV_DB_QUICK, &q, NULL, NULL, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-store-check: %s\n", e.text);
        return -1;
    }
    printf("%s hv_db_check:  %8.1f ms  (read ahead %.1f ms, then quick_check; %lld pages of "
           "%lld bytes; %.2f x the read)\n",
           how, s_ms(q.took_us), s_ms(q.ahead_us), (long long)q.pages, (long long)q.page_size,
           (double)q.took_us / (double)read_us);
    if (cold)
        s_cold(path);
    hv_store *s = NULL;
    int64_t t0 = hv_mono_us();
    if (hv_store_open(&s, path, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-store-check: %s\n", e.text);
        return -1;
    }
    int64_t open_us = hv_mono_us() - t0;
    hv_store_close(&s);
    printf("%s store open:   %8.1f ms  (hv_store_open, its quick_check included)\n", how,
           s_ms(open_us));
    if (cold)
        s_cold(path);
    if (hv_db_check_path(path, HV_DB_FULL, &f, NULL, NULL, &e) != HV_OK) {
        fprintf(stderr, "hv-bench-store-check: %s\n", e.text);
        return -1;
    }
    printf("%s integrity:    %8.1f ms  (--check-store; %.2f x the read)\n", how,
           s_ms(f.took_us), (double)f.took_us / (double)read_us);
    return 0;
}

int main(int argc, char **argv)
{
    long n = 1000000;
    size_t size = 1024;
    const char *dir = NULL;
    bool keep = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
            n = atol(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else {
            fprintf(stderr, "usage: hv-bench-store-check [--messages N] [--size BYTES] "
                            "[--dir DIR] [--keep]\n");
            return 2;
        }
    }
    if (n <= 0 || size < 16 || size > 1 << 20) {
        fprintf(stderr, "hv-bench-store-check: --messages > 0, --size 16 to 1048576\n");
        return 2;
    }
    char tmpl[512], path[600];
    if (dir == NULL) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpl, sizeof tmpl, "%s/hvcheck.XXXXXX", t ? t : "/tmp");
        if ((dir = mkdtemp(tmpl)) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    }
    snprintf(path, sizeof path, "%s/broker.db", dir);
    int rc = s_fill(path, n, size) == 0 && s_measure(path, true) == 0 &&
                     s_measure(path, false) == 0
                 ? 0
                 : 1;
    struct stat st;
    if (stat(path, &st) == 0)
        printf("file:              %s, %.0f MiB\n", path, (double)st.st_size / 1048576.0);
    if (!keep) {
        char side[620];
        unlink(path);
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
        if (dir == tmpl)
            rmdir(dir);
    }
    return rc;
}
