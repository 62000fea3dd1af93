/* A periodic thread; see hv_every.h. */
#include "hv_every.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct hv_every {
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop */
    pthread_cond_t wake;  /* signals stop */
    bool stop;
    unsigned every_ms;
    void (*fn)(void *);
    void *arg;
};

static void *s_run(void *arg)
{
    hv_every *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)(e->every_ms % 1000) * 1000000L;
        until.tv_sec += e->every_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&e->wake, &e->lock, &until);
        if (e->stop)
            break;
        pthread_mutex_unlock(&e->lock);
        e->fn(e->arg);
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

hv_err hv_every_start(hv_every **out, unsigned every_ms, void (*fn)(void *), void *arg)
{
    if (every_ms == 0 || fn == NULL)
        return HV_EINVAL;
    hv_every *e = calloc(1, sizeof *e);
    if (e == NULL)
        return HV_ENOMEM;
    e->every_ms = every_ms;
    e->fn = fn;
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
