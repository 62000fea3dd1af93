/* A periodic thread; see hv_every.h. */
#include "hv_every.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct hv_every {
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop and kicked */
    pthread_cond_t wake;  /* signals stop, or a kick */
    bool stop;            /* hv_every_stop asked */
    bool kicked;          /* hv_every_kick since the last call began */
    bool sleeping;        /* idle, waiting for a kick: only then does a kick signal */
    unsigned every_ms;    /* the period */
    void (*fn)(void *);   /* hv_every_start's function, or NULL */
    bool (*until_idle)(void *); /* hv_every_start_until_idle's, or NULL */
    void *arg;            /* their argument */
};

/* Waits `ms` under e->lock, or until stop. A kick does not signal it
 * (the thread is not sleeping), so that work that keeps coming costs no
 * wake-up per commit and is still done once per period. */
static void s_wait(hv_every *e, unsigned ms)
{
    struct timespec until, now;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    until.tv_sec += ms / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    do {
        pthread_cond_timedwait(&e->wake, &e->lock, &until);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!e->stop && (now.tv_sec < until.tv_sec ||
                          (now.tv_sec == until.tv_sec && now.tv_nsec < until.tv_nsec)));
}

static void *s_run(void *arg)
{
    hv_every *e = arg;
    bool idle = false;
    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        /* Nothing was left to do: sleep until a kick says otherwise. */
        e->sleeping = idle;
        while (idle && !e->stop && !e->kicked)
            pthread_cond_wait(&e->wake, &e->lock);
        e->sleeping = false;
        s_wait(e, e->every_ms);
        if (e->stop)
            break;
        /* What was kicked for so far, this call sees. */
        e->kicked = false;
        pthread_mutex_unlock(&e->lock);
        bool more = true;
        if (e->until_idle != NULL)
            more = e->until_idle(e->arg);
        else
            e->fn(e->arg);
        pthread_mutex_lock(&e->lock);
        idle = !more && !e->kicked;
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static hv_err s_start(hv_every **out, unsigned every_ms, void (*fn)(void *),
                      bool (*until_idle)(void *), void *arg)
{
    if (every_ms == 0 || (fn == NULL && until_idle == NULL))
        return HV_EINVAL;
    hv_every *e = calloc(1, sizeof *e);
    if (e == NULL)
        return HV_ENOMEM;
    e->every_ms = every_ms;
    e->fn = fn;
    e->until_idle = until_idle;
    e->arg = arg;
    pthread_mutex_init(&e->lock, NULL);
    /* Timed on the monotonic clock: setting the wall clock moves no tick. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&e->thread, NULL, s_run, e) != 0) {
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->wake);
        free(e);
        return HV_EIO;
    }
    *out = e;
    return HV_OK;
}

hv_err hv_every_start(hv_every **out, unsigned every_ms, void (*fn)(void *), void *arg)
{
    return s_start(out, every_ms, fn, NULL, arg);
}

hv_err hv_every_start_until_idle(hv_every **out, unsigned every_ms, bool (*fn)(void *),
                                 void *arg)
{
    return s_start(out, every_ms, NULL, fn, arg);
}

void hv_every_kick(hv_every *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    e->kicked = true;
    if (e->sleeping)
        pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

void hv_every_stop(hv_every **ep)
{
    if (ep == NULL || *ep == NULL)
        return;
    hv_every *e = *ep;
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e);
    *ep = NULL;
}
