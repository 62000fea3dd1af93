/* Helpers shared by the unit tests: hex, temporary directories, and golden
 * vector files ("name = hex" lines, '#' comments). */
#ifndef HV_TEST_H
#define HV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Decodes `hex` into a fresh malloc'd buffer; fails the test on bad hex. */
uint8_t *hvt_unhex(const char *hex, size_t *len);

/* Returns a malloc'd lower-case hex string of `len` bytes. */
char *hvt_hex(const uint8_t *bin, size_t len);

/* Creates a fresh directory under $TMPDIR (or /tmp); caller frees the path
 * and may remove it with hvt_rmdir. */
char *hvt_tmpdir(void);

/* Removes a directory tree made by hvt_tmpdir. */
void hvt_rmdir(const char *dir);

/* Writes `len` bytes to `path` with `mode`; fails the test on error. */
void hvt_write_file(const char *path, const void *buf, size_t len, unsigned mode);

struct hv_keypair;

/* Deterministic key pairs for tests and vectors: the three seeds are filled
 * with `base + 16*k + i`. Caller frees with hv_keypair_free. */
struct hv_keypair *hvt_keys(uint8_t base);

struct hv_keyring;

/* A key ring of the one set hvt_keys(base) (storage secret derived from it,
 * as a v1 key file's). Caller frees it with hv_keyring_free. */
struct hv_keyring *hvt_ring(uint8_t base);

/* A golden vector file: named hex values. */
typedef struct hvt_vectors {
    char names[64][48];  /* value names */
    char *values[64];    /* hex strings, malloc'd */
    size_t count;        /* entries */
    const char *path;    /* file it came from */
} hvt_vectors;

/* Loads tests/vectors/NAME (found through HV_VECTOR_DIR). */
void hvt_vectors_load(hvt_vectors *v, const char *name);

/* Returns the bytes of `name` (malloc'd) and their length; fails if absent. */
uint8_t *hvt_vectors_get(const hvt_vectors *v, const char *name, size_t *len);

/* Asserts that `got` equals the vector `name`. When the environment sets
 * HV_UPDATE_VECTORS=1, records `got` instead (for deliberate format
 * changes, reviewed in the diff). */
void hvt_vectors_check(hvt_vectors *v, const char *name, const uint8_t *got, size_t len);

/* Writes the vectors back if any were updated, then frees them. */
void hvt_vectors_finish(hvt_vectors *v);

#endif
