/* The events a worker offers haven-web's live stream (`events.wait`), and
 * the waits on them. Events are a
 * sequence-numbered table in the store, written in the same transaction
 * as the transition it reports, so that a rolled-back transition has no
 * event and events survive a restart. An event holds a referral id, a
 * kind and a state; never content. The table keeps the last
 * HV_EVENTS_KEEP events. */
#ifndef HV_EVENTS_H
#define HV_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "hv_ctl.h"
#include "hv_ctlsock.h"
#include "hv_worker.h"

#define HV_EVENTS_KEEP 10000
#define HV_EVENTS_PAGE 100     /* events in one answer at most */
#define HV_EVENTS_WAITS_MAX 32 /* events.wait requests held at once */
#define HV_EVENTS_WAIT_MAX_MS 60000 /* the longest events.wait */

/* The table; part of every worker's schema. */
extern const char hv_events_schema[];

/* Records that `referral` entered `state`; `kind` is "offer", "status",
 * "due_soon" or "progress" (an intake told of an offer's outcome: `state`
 * is the event, or "EVENT:CODE"). Runs in the caller's transaction. */
HV_MUST_CHECK hv_err hv_events_add(hv_worker *w, const uint8_t referral[16], const char *kind,
                                   const char *state);

/* Forgets the events of `referral` (erasure). */
HV_MUST_CHECK hv_err hv_events_erase(hv_worker *w, const uint8_t referral[16]);

/* Keeps the last HV_EVENTS_KEEP events. */
HV_MUST_CHECK hv_err hv_events_prune(hv_worker *w);

/* True when an event of `kind` for `referral` is held. */
bool hv_events_has(hv_worker *w, const uint8_t referral[16], const char *kind);

/* The sequence number of the newest event (0 when none). */
uint64_t hv_events_last(hv_worker *w);

/* Whether `actor` may see `referral` (the worker's rule). */
typedef bool (*hv_events_filter)(hv_worker *w, const hv_actor *actor, const uint8_t referral[16]);

/* Up to HV_EVENTS_PAGE events after `after` that `may_see` lets `actor`
 * see, as {"seq","kind","referral","state","at"} (caller owns the array;
 * NULL when out of memory or the store fails). `*last` gets the sequence
 * number to wait after next: the newest event looked at, or the newest
 * held when `after` is beyond it (a store that started again). */
json_t *hv_events_after(hv_worker *w, const hv_actor *actor, hv_events_filter may_see,
                        uint64_t after, uint64_t *last);

/* The events.wait requests a worker holds. */
typedef struct hv_events_waits hv_events_waits;

/* Caller owns `*out`. Returns HV_OK or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_events_waits_new(hv_events_waits **out);

/* Frees; held requests go unanswered (their clients time out). Safe on
 * NULL and twice. */
void hv_events_waits_free(hv_events_waits **ws);

/* events.wait {"after": SEQ, "timeout_ms": 0..HV_EVENTS_WAIT_MAX_MS} from
 * `peer` on `sock` (borrowed; must outlive the wait) by `a`. Returns the
 * reply to send now (caller owns): events after SEQ that `a` may see,
 * none when the wait is 0 or HV_EVENTS_WAITS_MAX are held already.
 * Returns NULL with `*err` HV_OK when the request is held, to be answered
 * by hv_events_waits_serve; NULL with `*err` set (HV_EINVAL) for bad
 * arguments. */
json_t *hv_events_wait(hv_events_waits *ws, hv_worker *w, hv_events_filter may_see,
                       hv_ctlsock *sock, const hv_ctl_peer *peer, const hv_actor *a,
                       json_t *args, hv_err *err, hv_errmsg *e);

/* Answers the held requests that have events now (looked for only when
 * `fresh`: something was committed since the last call) or whose time is
 * up (with no events). */
void hv_events_waits_serve(hv_events_waits *ws, hv_worker *w, hv_events_filter may_see,
                           bool fresh);

#endif
