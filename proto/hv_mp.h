/* Strict msgpack reading and canonical msgpack writing.
 *
 * Reading goes through a cursor over a byte range; every read is checked
 * against the bytes remaining before anything is touched, every string and
 * binary has a caller-given maximum, and only the shortest encoding of each
 * value is accepted. That last rule makes the encoding canonical: a value has
 * exactly one byte form, so decode-then-encode reproduces the input and a
 * signature over encoded bytes covers exactly one meaning.
 *
 * Writing uses msgpack-c's packer, which always emits the shortest form. */
#ifndef HV_MP_H
#define HV_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"

/* A read cursor. Fields are private; it lives on the stack. */
typedef struct hv_mp_reader {
    const uint8_t *pos; /* next byte to read */
    const uint8_t *end; /* one past the last byte */
} hv_mp_reader;

/* Starts reading `len` bytes at `buf` (borrowed, must outlive the reader). */
void hv_mp_reader_init(hv_mp_reader *r, const void *buf, size_t len);

/* Each reader below returns HV_OK, HV_ETRUNCATED when the input ends early,
 * HV_EDECODE for a wrong type or non-shortest form, or HV_ETOOBIG when a
 * length exceeds `max`. On error the cursor position is unspecified. */
HV_MUST_CHECK hv_err hv_mp_read_array(hv_mp_reader *r, uint32_t *count);
HV_MUST_CHECK hv_err hv_mp_read_uint(hv_mp_reader *r, uint64_t *v);
HV_MUST_CHECK hv_err hv_mp_read_bool(hv_mp_reader *r, bool *v);
/* Reads an unsigned integer and fails with HV_ETOOBIG when it is above max. */
HV_MUST_CHECK hv_err hv_mp_read_uint_max(hv_mp_reader *r, uint64_t max, uint64_t *v);
/* Strings: `*s` points into the input (borrowed), not NUL-terminated. */
HV_MUST_CHECK hv_err hv_mp_read_str(hv_mp_reader *r, size_t max, const char **s, size_t *len);
/* Reads a string into `out` (capacity `cap`, NUL-terminated); the string
 * must be valid UTF-8 without NUL bytes and shorter than `cap`. */
HV_MUST_CHECK hv_err hv_mp_read_cstr(hv_mp_reader *r, char *out, size_t cap);
/* Binary: `*b` points into the input (borrowed). */
HV_MUST_CHECK hv_err hv_mp_read_bin(hv_mp_reader *r, size_t max, const uint8_t **b, size_t *len);
/* Reads a binary of exactly `len` bytes into `out`. */
HV_MUST_CHECK hv_err hv_mp_read_bin_exact(hv_mp_reader *r, uint8_t *out, size_t len);
/* Returns HV_OK when every byte was consumed, HV_ETRAILING otherwise. */
HV_MUST_CHECK hv_err hv_mp_read_end(const hv_mp_reader *r);

/* True when `s[0..len)` is valid UTF-8 with no NUL byte. */
bool hv_utf8_valid(const char *s, size_t len);

/* A growable output buffer. Fields are private; it lives on the stack. */
typedef struct hv_mp_writer {
    void *sbuf;  /* msgpack_sbuffer * */
    void *pk;    /* msgpack_packer * */
    bool failed; /* an allocation failed; every later write is skipped */
} hv_mp_writer;

/* Starts an empty writer. Returns HV_ENOMEM on allocation failure. */
HV_MUST_CHECK hv_err hv_mp_writer_init(hv_mp_writer *w);
/* Frees the writer's buffer unless it was taken with hv_mp_writer_take. */
void hv_mp_writer_free(hv_mp_writer *w);
/* Writers record failure in `w->failed`; check once with hv_mp_writer_take. */
void hv_mp_write_array(hv_mp_writer *w, uint32_t count);
void hv_mp_write_uint(hv_mp_writer *w, uint64_t v);
void hv_mp_write_bool(hv_mp_writer *w, bool v);
void hv_mp_write_str(hv_mp_writer *w, const char *s, size_t len);
void hv_mp_write_cstr(hv_mp_writer *w, const char *s);
void hv_mp_write_bin(hv_mp_writer *w, const void *b, size_t len);
/* Writes only the tag and length of a `len`-byte bin, for a caller that
 * places the `len` bytes after the writer's output itself (a sealed body
 * written straight into its envelope). */
void hv_mp_write_bin_header(hv_mp_writer *w, size_t len);
/* Hands the encoded bytes to the caller (who frees them with free()) and
 * frees the writer. Returns HV_ENOMEM if any write failed, in which case
 * nothing is handed over. */
HV_MUST_CHECK hv_err hv_mp_writer_take(hv_mp_writer *w, uint8_t **out, size_t *len);

#endif
