/* Strict JSON reader with positions; see hv_json.h. */
#include "hv_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_mp.h"

/* Duplicate names are looked for by scanning, so objects stay small. */
#define S_MEMBERS_MAX 1024

/* The parser's cursor. */
typedef struct s_parser {
    const char *pos, *end;  /* next byte, one past the last */
    const char *line_start; /* first byte of the current line */
    uint32_t line;          /* current line, 1-based */
    hv_json_error *err;     /* where a failure is described */
    bool failed;            /* a failure was recorded */
    hv_err code;            /* and its code */
} s_parser;

static uint32_t s_col(const s_parser *p, const char *at)
{
    return (uint32_t)(at - p->line_start) + 1;
}

static void s_fail_at(s_parser *p, const char *at, hv_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_fail_at(s_parser *p, const char *at, hv_err code, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->code = code;
    if (p->err != NULL) {
        p->err->line = p->line;
        p->err->col = s_col(p, at);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err->text, sizeof p->err->text, fmt, ap);
        va_end(ap);
    }
}

/* Describes the byte at the cursor for an error message. */
static const char *s_found(const s_parser *p, char buf[16])
{
    if (p->pos >= p->end)
        return "end of input";
    unsigned char ch = (unsigned char)*p->pos;
    if (ch >= 0x20 && ch < 0x7f && ch != '\'')
        snprintf(buf, 16, "'%c'", ch);
    else
        snprintf(buf, 16, "byte 0x%02x", ch);
    return buf;
}

static void s_skip_ws(s_parser *p)
{
    while (p->pos < p->end) {
        char ch = *p->pos;
        if (ch == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (ch != ' ' && ch != '\t' && ch != '\r') {
            return;
        }
        p->pos++;
    }
}

static hv_json *s_node(s_parser *p, hv_json_type type, const char *at)
{
    hv_json *j = calloc(1, sizeof *j);
    if (j == NULL) {
        s_fail_at(p, at, HV_ENOMEM, "out of memory");
        return NULL;
    }
    j->type = type;
    j->line = p->line;
    j->col = s_col(p, at);
    return j;
}

static bool s_literal(s_parser *p, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(p->end - p->pos) < n || memcmp(p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static int s_hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static size_t s_utf8_put(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads a string at the cursor (which is on the opening quote). The
 * decoded text never grows beyond the escaped text, so one allocation of
 * the raw length suffices. */
static char *s_string(s_parser *p, size_t *out_len)
{
    const char *start = p->pos++;
    const char *q = p->pos;
    while (q < p->end && *q != '"') {
        if (*q == '\\' && q + 1 < p->end)
            q++;
        else if (*q == '\n')
            break;
        q++;
    }
    if (q >= p->end || *q != '"') {
        s_fail_at(p, start, HV_EJSON, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(q - p->pos) + 1);
    if (out == NULL) {
        s_fail_at(p, start, HV_ENOMEM, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (p->pos < q) {
        unsigned char ch = (unsigned char)*p->pos;
        if (ch < 0x20) {
            s_fail_at(p, p->pos, HV_EJSON, "control character in string (escape it)");
            goto fail;
        }
        if (ch != '\\') {
            out[n++] = (char)ch;
            p->pos++;
            continue;
        }
        const char *esc = p->pos;
        char e = p->pos[1];
        p->pos += 2;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            int hi = q - p->pos >= 4 ? s_hex4(p->pos) : -1;
            if (hi < 0) {
                s_fail_at(p, esc, HV_EJSON, "\\u must be followed by 4 hex digits");
                goto fail;
            }
            p->pos += 4;
            unsigned cp = (unsigned)hi;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                s_fail_at(p, esc, HV_EJSON, "lone low surrogate in \\u escape");
                goto fail;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo = q - p->pos >= 6 && p->pos[0] == '\\' && p->pos[1] == 'u'
                             ? s_hex4(p->pos + 2)
                             : -1;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    s_fail_at(p, esc, HV_EJSON, "high surrogate without its low surrogate");
                    goto fail;
                }
                p->pos += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
            }
            if (cp == 0) {
                s_fail_at(p, esc, HV_EJSON, "\\u0000 is not allowed in strings");
                goto fail;
            }
            n += s_utf8_put(out + n, cp);
            break;
        }
        default:
            s_fail_at(p, esc, HV_EJSON, "unknown escape sequence");
            goto fail;
        }
    }
    out[n] = '\0';
    if (!hv_utf8_valid(out, n)) {
        s_fail_at(p, start, HV_EJSON, "string is not valid UTF-8");
        goto fail;
    }
    p->pos = q + 1;
    *out_len = n;
    return out;
fail:
    free(out);
    return NULL;
}

static bool s_digit(char c) { return c >= '0' && c <= '9'; }

static hv_json *s_number(s_parser *p)
{
    const char *start = p->pos, *q = p->pos;
    bool is_int = true;
    if (q < p->end && *q == '-')
        q++;
    if (q < p->end && *q == '0') {
        q++;
    } else if (q < p->end && s_digit(*q)) {
        while (q < p->end && s_digit(*q))
            q++;
    } else {
        s_fail_at(p, start, HV_EJSON, "expected a digit");
        return NULL;
    }
    if (q < p->end && *q == '.') {
        is_int = false;
        q++;
        if (q >= p->end || !s_digit(*q)) {
            s_fail_at(p, q, HV_EJSON, "expected a digit after '.'");
            return NULL;
        }
        while (q < p->end && s_digit(*q))
            q++;
    }
    if (q < p->end && (*q == 'e' || *q == 'E')) {
        is_int = false;
        q++;
        if (q < p->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= p->end || !s_digit(*q)) {
            s_fail_at(p, q, HV_EJSON, "expected a digit in the exponent");
            return NULL;
        }
        while (q < p->end && s_digit(*q))
            q++;
    }
    char buf[64];
    size_t n = (size_t)(q - start);
    if (n >= sizeof buf) {
        s_fail_at(p, start, HV_EJSON, "number too long");
        return NULL;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) {
        s_fail_at(p, start, HV_EJSON, "number out of range");
        return NULL;
    }
    hv_json *j = s_node(p, HV_JSON_NUMBER, start);
    if (j == NULL)
        return NULL;
    j->num = v;
    j->is_int = is_int;
    p->pos = q;
    return j;
}

static hv_json *s_value(s_parser *p, int depth);

static bool s_push(s_parser *p, hv_json *parent, hv_json *child, size_t *cap)
{
    if (parent->n == *cap) {
        size_t grown = *cap ? *cap * 2 : 4;
        hv_json **items = realloc(parent->items, grown * sizeof *items);
        if (items == NULL) {
            s_fail_at(p, p->pos, HV_ENOMEM, "out of memory");
            return false;
        }
        parent->items = items;
        *cap = grown;
    }
    parent->items[parent->n++] = child;
    return true;
}

static hv_json *s_array(s_parser *p, int depth)
{
    hv_json *arr = s_node(p, HV_JSON_ARRAY, p->pos);
    if (arr == NULL)
        return NULL;
    size_t cap = 0;
    p->pos++;
    s_skip_ws(p);
    if (p->pos < p->end && *p->pos == ']') {
        p->pos++;
        return arr;
    }
    for (;;) {
        hv_json *item = s_value(p, depth + 1);
        if (item == NULL || !s_push(p, arr, item, &cap)) {
            hv_json_free(&item);
            goto fail;
        }
        s_skip_ws(p);
        char found[16];
        if (p->pos < p->end && *p->pos == ',') {
            p->pos++;
            s_skip_ws(p);
            if (p->pos < p->end && *p->pos == ']') {
                s_fail_at(p, p->pos, HV_EJSON, "trailing comma before ']'");
                goto fail;
            }
            continue;
        }
        if (p->pos < p->end && *p->pos == ']') {
            p->pos++;
            return arr;
        }
        s_fail_at(p, p->pos, HV_EJSON, "expected ',' or ']', found %s", s_found(p, found));
        goto fail;
    }
fail:
    hv_json_free(&arr);
    return NULL;
}

static hv_json *s_object(s_parser *p, int depth)
{
    hv_json *obj = s_node(p, HV_JSON_OBJECT, p->pos);
    if (obj == NULL)
        return NULL;
    size_t cap = 0;
    p->pos++;
    s_skip_ws(p);
    if (p->pos < p->end && *p->pos == '}') {
        p->pos++;
        return obj;
    }
    for (;;) {
        char found[16];
        if (p->pos >= p->end || *p->pos != '"') {
            s_fail_at(p, p->pos, HV_EJSON, "expected a member name in double quotes, found %s",
                      s_found(p, found));
            goto fail;
        }
        const char *key_at = p->pos;
        uint32_t key_line = p->line, key_col = s_col(p, key_at);
        size_t key_len;
        char *key = s_string(p, &key_len);
        if (key == NULL)
            goto fail;
        if (obj->n >= S_MEMBERS_MAX) {
            s_fail_at(p, key_at, HV_EJSON, "more than %d members in one object",
                      S_MEMBERS_MAX);
            free(key);
            goto fail;
        }
        if (hv_json_get(obj, key) != NULL) {
            s_fail_at(p, key_at, HV_EJSON, "duplicate member \"%.60s\"", key);
            free(key);
            goto fail;
        }
        s_skip_ws(p);
        if (p->pos >= p->end || *p->pos != ':') {
            s_fail_at(p, p->pos, HV_EJSON, "expected ':' after the member name, found %s",
                      s_found(p, found));
            free(key);
            goto fail;
        }
        p->pos++;
        hv_json *item = s_value(p, depth + 1);
        if (item == NULL || !s_push(p, obj, item, &cap)) {
            free(key);
            hv_json_free(&item);
            goto fail;
        }
        item->key = key;
        item->key_line = key_line;
        item->key_col = key_col;
        s_skip_ws(p);
        if (p->pos < p->end && *p->pos == ',') {
            p->pos++;
            s_skip_ws(p);
            if (p->pos < p->end && *p->pos == '}') {
                s_fail_at(p, p->pos, HV_EJSON, "trailing comma before '}'");
                goto fail;
            }
            continue;
        }
        if (p->pos < p->end && *p->pos == '}') {
            p->pos++;
            return obj;
        }
        s_fail_at(p, p->pos, HV_EJSON, "expected ',' or '}', found %s", s_found(p, found));
        goto fail;
    }
fail:
    hv_json_free(&obj);
    return NULL;
}

static hv_json *s_value(s_parser *p, int depth)
{
    s_skip_ws(p);
    char found[16];
    if (depth > HV_JSON_DEPTH_MAX) {
        s_fail_at(p, p->pos, HV_EJSON, "nested more than %d deep", HV_JSON_DEPTH_MAX);
        return NULL;
    }
    if (p->pos >= p->end) {
        s_fail_at(p, p->pos, HV_EJSON, "expected a value, found end of input");
        return NULL;
    }
    const char *at = p->pos;
    switch (*p->pos) {
    case '{':
        return s_object(p, depth);
    case '[':
        return s_array(p, depth);
    case '"': {
        hv_json *j = s_node(p, HV_JSON_STRING, at);
        if (j == NULL)
            return NULL;
        if ((j->str = s_string(p, &j->len)) == NULL)
            hv_json_free(&j);
        return j;
    }
    case 't':
    case 'f':
    case 'n': {
        hv_json_type t = *at == 'n' ? HV_JSON_NULL : HV_JSON_BOOL;
        if (s_literal(p, "true") || s_literal(p, "false") || s_literal(p, "null")) {
            hv_json *j = s_node(p, t, at);
            if (j != NULL)
                j->b = *at == 't';
            return j;
        }
        break;
    }
    default:
        if (*at == '-' || s_digit(*at))
            return s_number(p);
    }
    s_fail_at(p, at, HV_EJSON, "expected a value, found %s", s_found(p, found));
    return NULL;
}

hv_err hv_json_parse(const char *text, size_t len, hv_json **out, hv_json_error *err)
{
    *out = NULL;
    if (err != NULL)
        memset(err, 0, sizeof *err);
    if (len > HV_JSON_TEXT_MAX) {
        if (err != NULL) {
            err->line = 1;
            err->col = 1;
            snprintf(err->text, sizeof err->text, "text longer than %u bytes",
                     HV_JSON_TEXT_MAX);
        }
        return HV_ETOOBIG;
    }
    s_parser p = {text, text + len, text, 1, err, false, HV_OK};
    /* A UTF-8 byte order mark is tolerated: editors add it. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.pos += 3;
    hv_json *root = s_value(&p, 1);
    if (root != NULL) {
        s_skip_ws(&p);
        if (p.pos < p.end) {
            s_fail_at(&p, p.pos, HV_EJSON, "unexpected text after the value");
            hv_json_free(&root);
        }
    }
    if (root == NULL)
        return p.failed ? p.code : HV_EJSON;
    *out = root;
    return HV_OK;
}

void hv_json_free(hv_json **j)
{
    if (j == NULL || *j == NULL)
        return;
    hv_json *v = *j;
    for (size_t i = 0; i < v->n; i++)
        hv_json_free(&v->items[i]);
    free(v->items);
    free(v->key);
    free(v->str);
    free(v);
    *j = NULL;
}

const hv_json *hv_json_get(const hv_json *obj, const char *key)
{
    if (obj == NULL || obj->type != HV_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->items[i]->key, key) == 0)
            return obj->items[i];
    return NULL;
}

const char *hv_json_type_name(hv_json_type t)
{
    switch (t) {
    case HV_JSON_NULL: return "null";
    case HV_JSON_BOOL: return "boolean";
    case HV_JSON_NUMBER: return "number";
    case HV_JSON_STRING: return "string";
    case HV_JSON_ARRAY: return "array";
    case HV_JSON_OBJECT: return "object";
    }
    return "value";
}
