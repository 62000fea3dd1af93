/* Rate limits for log lines about refused traffic; see hv_lograte.h. */
#include "hv_lograte.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_db.h"
#include "hv_log.h"

/* One event and peer in its window. */
typedef struct s_slot {
    char event[32];     /* "" when the slot is free */
    char peer[64];      /* printable: anything else became '?' */
    int64_t since_ms;   /* the window's start */
    int64_t last_ms;    /* the latest line, for eviction */
    unsigned passed;    /* lines written in the window */
    uint64_t left_out;  /* lines only counted */
} s_slot;

struct hv_lograte {
    s_slot *slots;        /* the table */
    size_t n_slots;       /* its size */
    unsigned burst;       /* lines per window */
    int64_t window_ms;    /* the window */
    hv_lograte_sink sink; /* where summaries go */
    void *cls;            /* its closure */
    bool own_slots;       /* `slots` was allocated (not the process's table) */
};

static void s_log_sink(void *cls, const char *event, const char *peer, uint64_t count,
                       int64_t window_ms)
{
    (void)cls;
    hv_log(HV_LOG_WARN, "log_suppressed", "of=%s peer=%s count=%llu window_s=%lld", event,
           peer, (unsigned long long)count, (long long)((window_ms + 999) / 1000));
}

hv_err hv_lograte_open(hv_lograte **out, size_t slots, unsigned burst, int64_t window_ms,
                       hv_lograte_sink sink, void *cls)
{
    *out = NULL;
    if (slots < 1 || slots > 65536 || window_ms < 1)
        return HV_EINVAL;
    hv_lograte *r = calloc(1, sizeof *r);
    if (r == NULL || (r->slots = calloc(slots, sizeof *r->slots)) == NULL) {
        free(r);
        return HV_ENOMEM;
    }
    r->n_slots = slots;
    r->burst = burst;
    r->window_ms = window_ms;
    r->sink = sink != NULL ? sink : s_log_sink;
    r->cls = cls;
    r->own_slots = true;
    *out = r;
    return HV_OK;
}

static void s_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = (src[i] > ' ' && src[i] < 0x7f && src[i] != '"') ? src[i] : '?';
    dst[i] = '\0';
}

/* Writes the slot's summary, if anything was left out, and frees it. */
static size_t s_retire(hv_lograte *r, s_slot *k, int64_t now_ms)
{
    size_t n = 0;
    if (k->left_out > 0) {
        int64_t span = now_ms - k->since_ms;
        r->sink(r->cls, k->event, k->peer, k->left_out, span < r->window_ms ? span : r->window_ms);
        n = 1;
    }
    memset(k, 0, sizeof *k);
    return n;
}

bool hv_lograte_check(hv_lograte *r, const char *event, const char *peer, int64_t now_ms)
{
    char ev[sizeof ((s_slot *)0)->event], pe[sizeof ((s_slot *)0)->peer];
    s_copy(ev, sizeof ev, event);
    s_copy(pe, sizeof pe, peer);
    if (ev[0] == '\0')
        snprintf(ev, sizeof ev, "?");
    s_slot *k = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < r->n_slots && k == NULL; i++) {
        s_slot *s = &r->slots[i];
        if (s->event[0] == '\0') {
            if (free_slot == NULL)
                free_slot = s;
        } else if (strcmp(s->event, ev) == 0 && strcmp(s->peer, pe) == 0) {
            k = s;
        } else if (oldest == NULL || s->last_ms < oldest->last_ms) {
            oldest = s;
        }
    }
    if (k != NULL && now_ms - k->since_ms >= r->window_ms) {
        s_retire(r, k, now_ms); /* the window ended: a new one begins */
    } else if (k == NULL) {
        k = free_slot;
        if (k == NULL) { /* full: the one seen longest ago makes room */
            k = oldest;
            s_retire(r, k, now_ms);
        }
    }
    if (k->event[0] == '\0') {
        memcpy(k->event, ev, sizeof ev);
        memcpy(k->peer, pe, sizeof pe);
        k->since_ms = now_ms;
    }
    k->last_ms = now_ms;
    if (k->passed < r->burst) {
        k->passed++;
        return true;
    }
    k->left_out++;
    return false;
}

size_t hv_lograte_flush_at(hv_lograte *r, int64_t now_ms, bool all)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_slots; i++) {
        s_slot *k = &r->slots[i];
        if (k->event[0] != '\0' && (all || now_ms - k->since_ms >= r->window_ms))
            n += s_retire(r, k, now_ms);
    }
    return n;
}

void hv_lograte_close(hv_lograte **rp)
{
    if (rp == NULL || *rp == NULL)
        return;
    if ((*rp)->own_slots)
        free((*rp)->slots);
    free(*rp);
    *rp = NULL;
}

/* The process's table: static, so that it costs no allocation and cannot
 * fail. */
static s_slot s_proc_slots[HV_LOGRATE_SLOTS];
static hv_lograte s_proc = {s_proc_slots, HV_LOGRATE_SLOTS, HV_LOGRATE_BURST,
                            HV_LOGRATE_WINDOW_MS, s_log_sink, NULL, false};
static pthread_mutex_t s_proc_lock = PTHREAD_MUTEX_INITIALIZER;

bool hv_lograte_pass(const char *event, const char *peer)
{
    pthread_mutex_lock(&s_proc_lock);
    bool ok = hv_lograte_check(&s_proc, event, peer, hv_mono_ms());
    pthread_mutex_unlock(&s_proc_lock);
    return ok;
}

void hv_lograte_flush(bool all)
{
    /* A daemon's loop calls this on every turn: the table is looked at
     * once a second at most. */
    static int64_t next_ms;
    int64_t now = hv_mono_ms();
    pthread_mutex_lock(&s_proc_lock);
    if (all || now >= next_ms) {
        next_ms = now + 1000;
        hv_lograte_flush_at(&s_proc, now, all);
    }
    pthread_mutex_unlock(&s_proc_lock);
}
