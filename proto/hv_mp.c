/* Strict msgpack reader and canonical writer; see hv_mp.h and
 * proto/PROTOCOL.md §2 for the encoding rules. */
#include "hv_mp.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

void hv_mp_reader_init(hv_mp_reader *r, const void *buf, size_t len)
{
    r->pos = buf;
    r->end = r->pos + len;
}

static size_t s_remaining(const hv_mp_reader *r) { return (size_t)(r->end - r->pos); }

/* Reads a big-endian integer of `n` bytes (1, 2, 4 or 8). */
static hv_err s_read_be(hv_mp_reader *r, size_t n, uint64_t *v)
{
    if (n > s_remaining(r))
        return HV_ETRUNCATED;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | r->pos[i];
    r->pos += n;
    *v = x;
    return HV_OK;
}

static hv_err s_read_tag(hv_mp_reader *r, uint8_t *tag)
{
    if (s_remaining(r) < 1)
        return HV_ETRUNCATED;
    *tag = *r->pos++;
    return HV_OK;
}

/* Reads a length after a tag that has fixed (inline), 8-, 16- and 32-bit
 * forms, insisting on the shortest form. `fix_max` is the largest length the
 * inline form holds (0 when there is none); `has8` says whether an 8-bit
 * form exists. */
static hv_err s_read_len(hv_mp_reader *r, uint8_t tag, uint8_t fix_base, uint8_t fix_mask,
                         uint32_t fix_max, int t8, int t16, int t32, uint32_t *len)
{
    uint64_t v;
    hv_err err;
    if (fix_max > 0 && (tag & (uint8_t)~fix_mask) == fix_base) {
        *len = tag & fix_mask;
        return HV_OK;
    }
    if (t8 >= 0 && tag == t8) {
        if ((err = s_read_be(r, 1, &v)) != HV_OK)
            return err;
        if (v <= fix_max && fix_max > 0)
            return HV_EDECODE;
    } else if (tag == t16) {
        if ((err = s_read_be(r, 2, &v)) != HV_OK)
            return err;
        if (v <= (t8 >= 0 ? 0xff : fix_max))
            return HV_EDECODE;
    } else if (tag == t32) {
        if ((err = s_read_be(r, 4, &v)) != HV_OK)
            return err;
        if (v <= 0xffff)
            return HV_EDECODE;
    } else {
        return HV_EDECODE;
    }
    *len = (uint32_t)v;
    return HV_OK;
}

hv_err hv_mp_read_array(hv_mp_reader *r, uint32_t *count)
{
    uint8_t tag;
    hv_err err = s_read_tag(r, &tag);
    if (err != HV_OK)
        return err;
    return s_read_len(r, tag, 0x90, 0x0f, 15, -1, 0xdc, 0xdd, count);
}

hv_err hv_mp_read_uint(hv_mp_reader *r, uint64_t *v)
{
    uint8_t tag;
    hv_err err = s_read_tag(r, &tag);
    if (err != HV_OK)
        return err;
    if (tag <= 0x7f) {
        *v = tag;
        return HV_OK;
    }
    static const struct {
        uint8_t tag;    /* msgpack type byte */
        size_t width;   /* payload bytes */
        uint64_t floor; /* values at or below this have a shorter form */
    } forms[] = {{0xcc, 1, 0x7f}, {0xcd, 2, 0xff}, {0xce, 4, 0xffff}, {0xcf, 8, 0xffffffff}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        if (tag != forms[i].tag)
            continue;
        if ((err = s_read_be(r, forms[i].width, v)) != HV_OK)
            return err;
        return *v <= forms[i].floor ? HV_EDECODE : HV_OK;
    }
    return HV_EDECODE;
}

hv_err hv_mp_read_uint_max(hv_mp_reader *r, uint64_t max, uint64_t *v)
{
    hv_err err = hv_mp_read_uint(r, v);
    if (err == HV_OK && *v > max)
        return HV_ETOOBIG;
    return err;
}

hv_err hv_mp_read_bool(hv_mp_reader *r, bool *v)
{
    uint8_t tag;
    hv_err err = s_read_tag(r, &tag);
    if (err != HV_OK)
        return err;
    if (tag != 0xc2 && tag != 0xc3)
        return HV_EDECODE;
    *v = tag == 0xc3;
    return HV_OK;
}

hv_err hv_mp_read_str(hv_mp_reader *r, size_t max, const char **s, size_t *len)
{
    uint8_t tag;
    uint32_t n;
    hv_err err = s_read_tag(r, &tag);
    if (err != HV_OK)
        return err;
    if ((err = s_read_len(r, tag, 0xa0, 0x1f, 31, 0xd9, 0xda, 0xdb, &n)) != HV_OK)
        return err;
    if (n > max)
        return HV_ETOOBIG;
    if (n > s_remaining(r))
        return HV_ETRUNCATED;
    *s = (const char *)r->pos;
    *len = n;
    r->pos += n;
    return HV_OK;
}

hv_err hv_mp_read_cstr(hv_mp_reader *r, char *out, size_t cap)
{
    const char *s;
    size_t len;
    hv_err err = hv_mp_read_str(r, cap - 1, &s, &len);
    if (err != HV_OK)
        return err;
    if (!hv_utf8_valid(s, len))
        return HV_EDECODE;
    memcpy(out, s, len);
    out[len] = '\0';
    return HV_OK;
}

hv_err hv_mp_read_bin(hv_mp_reader *r, size_t max, const uint8_t **b, size_t *len)
{
    uint8_t tag;
    uint32_t n;
    hv_err err = s_read_tag(r, &tag);
    if (err != HV_OK)
        return err;
    if ((err = s_read_len(r, tag, 0, 0, 0, 0xc4, 0xc5, 0xc6, &n)) != HV_OK)
        return err;
    if (n > max)
        return HV_ETOOBIG;
    if (n > s_remaining(r))
        return HV_ETRUNCATED;
    *b = r->pos;
    *len = n;
    r->pos += n;
    return HV_OK;
}

hv_err hv_mp_read_bin_exact(hv_mp_reader *r, uint8_t *out, size_t len)
{
    const uint8_t *b;
    size_t n;
    hv_err err = hv_mp_read_bin(r, len, &b, &n);
    if (err != HV_OK)
        return err;
    if (n != len)
        return HV_EDECODE;
    memcpy(out, b, len);
    return HV_OK;
}

hv_err hv_mp_read_end(const hv_mp_reader *r)
{
    return s_remaining(r) == 0 ? HV_OK : HV_ETRAILING;
}

bool hv_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (extra > len - i - 1)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* Refuse overlong forms, surrogates and values past U+10FFFF. */
        static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

hv_err hv_mp_writer_init(hv_mp_writer *w)
{
    w->failed = false;
    w->sbuf = msgpack_sbuffer_new();
    if (w->sbuf == NULL)
        return HV_ENOMEM;
    w->pk = msgpack_packer_new(w->sbuf, msgpack_sbuffer_write);
    if (w->pk == NULL) {
        msgpack_sbuffer_free(w->sbuf);
        w->sbuf = NULL;
        return HV_ENOMEM;
    }
    return HV_OK;
}

void hv_mp_writer_free(hv_mp_writer *w)
{
    if (w->pk != NULL)
        msgpack_packer_free(w->pk);
    if (w->sbuf != NULL)
        msgpack_sbuffer_free(w->sbuf);
    w->pk = NULL;
    w->sbuf = NULL;
}

static void s_check(hv_mp_writer *w, int rc)
{
    if (rc != 0)
        w->failed = true;
}

void hv_mp_write_array(hv_mp_writer *w, uint32_t count)
{
    if (!w->failed)
        s_check(w, msgpack_pack_array(w->pk, count));
}

void hv_mp_write_uint(hv_mp_writer *w, uint64_t v)
{
    if (!w->failed)
        s_check(w, msgpack_pack_uint64(w->pk, v));
}

void hv_mp_write_bool(hv_mp_writer *w, bool v)
{
    if (!w->failed)
        s_check(w, v ? msgpack_pack_true(w->pk) : msgpack_pack_false(w->pk));
}

void hv_mp_write_str(hv_mp_writer *w, const char *s, size_t len)
{
    if (w->failed)
        return;
    s_check(w, msgpack_pack_str(w->pk, len));
    if (!w->failed && len > 0)
        s_check(w, msgpack_pack_str_body(w->pk, s, len));
}

void hv_mp_write_cstr(hv_mp_writer *w, const char *s) { hv_mp_write_str(w, s, strlen(s)); }

void hv_mp_write_bin(hv_mp_writer *w, const void *b, size_t len)
{
    if (w->failed)
        return;
    s_check(w, msgpack_pack_bin(w->pk, len));
    if (!w->failed && len > 0)
        s_check(w, msgpack_pack_bin_body(w->pk, b, len));
}

void hv_mp_write_bin_header(hv_mp_writer *w, size_t len)
{
    if (!w->failed)
        s_check(w, msgpack_pack_bin(w->pk, len));
}

hv_err hv_mp_writer_take(hv_mp_writer *w, uint8_t **out, size_t *len)
{
    if (w->failed) {
        hv_mp_writer_free(w);
        return HV_ENOMEM;
    }
    msgpack_sbuffer *sb = w->sbuf;
    *len = sb->size;
    *out = (uint8_t *)msgpack_sbuffer_release(sb);
    if (*out == NULL) {
        /* An empty buffer has no allocation; hand back a real one. */
        *out = malloc(1);
        if (*out == NULL) {
            hv_mp_writer_free(w);
            return HV_ENOMEM;
        }
    }
    hv_mp_writer_free(w);
    return HV_OK;
}
