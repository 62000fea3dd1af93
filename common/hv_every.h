/* A thread that calls one function every N milliseconds until stopped:
 * the broker's checkpointer and the audit log's syncer, work that must
 * not hold up the thread that asked for it. */
#ifndef HV_EVERY_H
#define HV_EVERY_H

#include "hv_err.h"

typedef struct hv_every hv_every;

/* Starts calling `fn(arg)` every `every_ms` (> 0) on a new thread.
 * HV_EINVAL for 0 ms, HV_ENOMEM, HV_EIO when the thread cannot start. */
HV_MUST_CHECK hv_err hv_every_start(hv_every **out, unsigned every_ms, void (*fn)(void *),
                                    void *arg);

/* Wakes the thread, waits for a call under way to return, and frees it.
 * Safe on NULL and twice. */
void hv_every_stop(hv_every **e);

#endif
