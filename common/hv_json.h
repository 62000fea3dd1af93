/* A strict JSON reader (RFC 8259) that remembers where every value is.
 *
 * jansson, which Haven uses to write JSON, reports the position of a
 * syntax error but not of a value that parses and is then found wrong; a
 * caseworker fixing a referral file needs "line 14, column 9" for that
 * too. This reader builds a small tree in which every value carries its
 * line and column, so that a schema check can locate each error.
 *
 * Strict: one value per text, no comments, no trailing commas, duplicate
 * member names refused, strings valid UTF-8 without NUL, nesting at most
 * HV_JSON_DEPTH_MAX deep, text at most HV_JSON_TEXT_MAX bytes. */
#ifndef HV_JSON_H
#define HV_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"

#define HV_JSON_TEXT_MAX (1024u * 1024)
#define HV_JSON_DEPTH_MAX 32

typedef enum hv_json_type {
    HV_JSON_NULL = 1,
    HV_JSON_BOOL = 2,
    HV_JSON_NUMBER = 3,
    HV_JSON_STRING = 4,
    HV_JSON_ARRAY = 5,
    HV_JSON_OBJECT = 6,
} hv_json_type;

/* One value. Fields are public and read-only; the tree owns everything. */
typedef struct hv_json {
    hv_json_type type;       /* what it is */
    uint32_t line, col;      /* where it starts, 1-based (col counts bytes) */
    char *key;               /* member name when inside an object, else NULL */
    uint32_t key_line, key_col; /* where the member name starts */
    char *str;               /* HV_JSON_STRING: NUL-terminated value */
    size_t len;              /* HV_JSON_STRING: its length in bytes */
    double num;              /* HV_JSON_NUMBER: the value */
    bool is_int;             /* HV_JSON_NUMBER: written without fraction or exponent */
    bool b;                  /* HV_JSON_BOOL: the value */
    struct hv_json **items;  /* HV_JSON_ARRAY/OBJECT: elements or members, in order */
    size_t n;                /* how many */
} hv_json;

/* Where and why a text is not JSON. */
typedef struct hv_json_error {
    uint32_t line, col;   /* position of the offending byte, 1-based */
    char text[160];       /* what was expected there */
} hv_json_error;

/* Parses `text[0..len)`. Caller owns `*out` (hv_json_free). Returns HV_OK,
 * HV_ETOOBIG (longer than HV_JSON_TEXT_MAX), HV_EJSON with `err` filled,
 * or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_json_parse(const char *text, size_t len, hv_json **out,
                                   hv_json_error *err);

/* Frees the tree and sets `*j` to NULL; safe on NULL and twice. */
void hv_json_free(hv_json **j);

/* The member `key` of an object, or NULL (also when `obj` is not an object). */
const hv_json *hv_json_get(const hv_json *obj, const char *key);

/* The name of a type ("string", "object", ...). */
const char *hv_json_type_name(hv_json_type t);

#endif
