/* notify_command: a program of the office's own (e-mail, SMS) run for
 * every event the worker reports to the [notify] staff account, with one
 * content-free JSON object on its standard input:
 *   {"event":"offer","node":"shelter.xc","referral":"HEX","state":"offered",
 *    "at":"..."}
 * Never case content: events carry ids and states only, and only those
 * members are passed on. Runs on a thread of its own. */
#ifndef HV_WEB_NOTIFY_H
#define HV_WEB_NOTIFY_H

#include "hv_err.h"
#include "hv_web_config.h"
#include "hv_web_store.h"

typedef struct hv_web_notify hv_web_notify;

/* Starts following events as `c->notify_staff` (who must exist). */
HV_MUST_CHECK hv_err hv_web_notify_start(hv_web_notify **out, const hv_web_config *c,
                                         hv_web_store *s, volatile int *stopping,
                                         hv_errmsg *e);

/* Stops (within one wait of the worker); safe on NULL and twice. */
void hv_web_notify_stop(hv_web_notify **n);

#endif
