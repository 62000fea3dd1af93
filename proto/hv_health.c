/* Health summary codec; proto/PROTOCOL.md §5.3 ("Health"). */
#include "hv_health.h"

#include <stdlib.h>
#include <string.h>

#include "hv_mp.h"

#define S_FIELDS 10      /* elements of a summary */
#define S_LINK_FIELDS 6  /* elements of one link */

/* True when link `i`'s peer is neither the broker nor an earlier link's. */
static bool s_link_distinct(const hv_health *h, uint32_t i)
{
    if (strcmp(h->links[i].peer, h->broker) == 0)
        return false;
    for (uint32_t k = 0; k < i; k++)
        if (strcmp(h->links[k].peer, h->links[i].peer) == 0)
            return false;
    return true;
}

/* Checks every limit, so that encode never produces what decode refuses. */
static bool s_valid(const hv_health *h)
{
    if (!hv_node_id_valid_cstr(h->broker) || h->made_ms > HV_HEALTH_TIME_MAX ||
        h->registry_version > HV_HEALTH_TIME_MAX || h->stored_mps > HV_HEALTH_RATE_MAX ||
        h->delivered_mps > HV_HEALTH_RATE_MAX || h->acked_mps > HV_HEALTH_RATE_MAX ||
        h->queued > HV_HEALTH_TIME_MAX || h->dead > HV_HEALTH_TIME_MAX ||
        h->n_links > HV_HEALTH_LINKS_MAX)
        return false;
    for (uint32_t i = 0; i < h->n_links; i++) {
        const hv_health_link *l = &h->links[i];
        if (!hv_node_id_valid_cstr(l->peer) || l->out_since_ms > HV_HEALTH_TIME_MAX ||
            l->in_since_ms > HV_HEALTH_TIME_MAX || l->queued > HV_HEALTH_TIME_MAX ||
            !s_link_distinct(h, i))
            return false;
    }
    return true;
}

hv_err hv_health_encode(const hv_health *h, uint8_t **out, size_t *len)
{
    if (!s_valid(h))
        return HV_EINVAL;
    hv_mp_writer w;
    hv_err err = hv_mp_writer_init(&w);
    if (err != HV_OK)
        return err;
    hv_mp_write_array(&w, S_FIELDS);
    hv_mp_write_uint(&w, HV_HEALTH_VERSION);
    hv_mp_write_cstr(&w, h->broker);
    hv_mp_write_uint(&w, h->made_ms);
    hv_mp_write_uint(&w, h->registry_version);
    hv_mp_write_uint(&w, h->stored_mps);
    hv_mp_write_uint(&w, h->delivered_mps);
    hv_mp_write_uint(&w, h->acked_mps);
    hv_mp_write_uint(&w, h->queued);
    hv_mp_write_uint(&w, h->dead);
    hv_mp_write_array(&w, h->n_links);
    for (uint32_t i = 0; i < h->n_links; i++) {
        const hv_health_link *l = &h->links[i];
        hv_mp_write_array(&w, S_LINK_FIELDS);
        hv_mp_write_cstr(&w, l->peer);
        hv_mp_write_bool(&w, l->out_up);
        hv_mp_write_bool(&w, l->in_up);
        hv_mp_write_uint(&w, l->out_since_ms);
        hv_mp_write_uint(&w, l->in_since_ms);
        hv_mp_write_uint(&w, l->queued);
    }
    err = hv_mp_writer_take(&w, out, len);
    if (err == HV_OK && *len > HV_HEALTH_MAX) {
        free(*out);
        *out = NULL;
        return HV_EINVAL; /* cannot happen within the limits above */
    }
    return err;
}

hv_err hv_health_decode(const uint8_t *buf, size_t len, hv_health *out)
{
    if (len > HV_HEALTH_MAX)
        return HV_ETOOBIG;
    hv_mp_reader r;
    hv_mp_reader_init(&r, buf, len);
    uint32_t n;
    uint64_t v;
    hv_err err;
    memset(out, 0, sizeof *out);

#define S_TRY(expr)                                                                            \
    do {                                                                                       \
        if ((err = (expr)) != HV_OK)                                                           \
            return err;                                                                        \
    } while (0)
#define S_UINT(field, max)                                                                     \
    do {                                                                                       \
        S_TRY(hv_mp_read_uint_max(&r, (max), &v));                                             \
        (field) = v;                                                                           \
    } while (0)

    S_TRY(hv_mp_read_array(&r, &n));
    if (n < 1)
        return HV_EDECODE;
    S_TRY(hv_mp_read_uint(&r, &v));
    if (v != HV_HEALTH_VERSION)
        return HV_EVERSION;
    if (n != S_FIELDS)
        return HV_EDECODE;
    S_TRY(hv_mp_read_cstr(&r, out->broker, sizeof out->broker));
    if (!hv_node_id_valid_cstr(out->broker))
        return HV_EDECODE;
    S_UINT(out->made_ms, HV_HEALTH_TIME_MAX);
    S_UINT(out->registry_version, HV_HEALTH_TIME_MAX);
    S_UINT(out->stored_mps, HV_HEALTH_RATE_MAX);
    S_UINT(out->delivered_mps, HV_HEALTH_RATE_MAX);
    S_UINT(out->acked_mps, HV_HEALTH_RATE_MAX);
    S_UINT(out->queued, HV_HEALTH_TIME_MAX);
    S_UINT(out->dead, HV_HEALTH_TIME_MAX);
    S_TRY(hv_mp_read_array(&r, &n));
    if (n > HV_HEALTH_LINKS_MAX)
        return HV_ETOOBIG;
    out->n_links = n;
    for (uint32_t i = 0; i < out->n_links; i++) {
        hv_health_link *l = &out->links[i];
        uint32_t fields;
        S_TRY(hv_mp_read_array(&r, &fields));
        if (fields != S_LINK_FIELDS)
            return HV_EDECODE;
        S_TRY(hv_mp_read_cstr(&r, l->peer, sizeof l->peer));
        if (!hv_node_id_valid_cstr(l->peer) || !s_link_distinct(out, i))
            return HV_EDECODE;
        S_TRY(hv_mp_read_bool(&r, &l->out_up));
        S_TRY(hv_mp_read_bool(&r, &l->in_up));
        S_UINT(l->out_since_ms, HV_HEALTH_TIME_MAX);
        S_UINT(l->in_since_ms, HV_HEALTH_TIME_MAX);
        S_UINT(l->queued, HV_HEALTH_TIME_MAX);
    }
#undef S_UINT
#undef S_TRY
    return hv_mp_read_end(&r);
}
