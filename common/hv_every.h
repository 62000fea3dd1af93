/* A thread that calls one function every N milliseconds until stopped:
 * the broker's checkpointer and the audit log's syncer, work that must
 * not hold up the thread that asked for it. */
#ifndef HV_EVERY_H
#define HV_EVERY_H

#include <stdbool.h>

#include "hv_err.h"

typedef struct hv_every hv_every;

/* Starts calling `fn(arg)` every `every_ms` (> 0) on a new thread.
 * HV_EINVAL for 0 ms, HV_ENOMEM, HV_EIO when the thread cannot start. */
HV_MUST_CHECK hv_err hv_every_start(hv_every **out, unsigned every_ms, void (*fn)(void *),
                                    void *arg);

/* As hv_every_start, for work that is at times all done: `fn` returns
 * true when more may be due (it is called again every_ms later) and false
 * when it found nothing left to do; the thread then sleeps until
 * hv_every_kick says there is work again, and calls `fn` every_ms after
 * that. An idle process so stops waking every_ms for nothing (issue 24:
 * an idle broker's checkpointer and audit syncer woke 70 times a second). */
HV_MUST_CHECK hv_err hv_every_start_until_idle(hv_every **out, unsigned every_ms,
                                               bool (*fn)(void *), void *arg);

/* There is work for `e`'s function again (a commit, a write): wakes the
 * thread if it sleeps. Cheap enough for every commit; safe on NULL. */
void hv_every_kick(hv_every *e);

/* Wakes the thread, waits for a call under way to return, and frees it.
 * Safe on NULL and twice. */
void hv_every_stop(hv_every **e);

#endif
