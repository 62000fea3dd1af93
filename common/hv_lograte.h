/* Rate limits for log lines about refused traffic (issue 20): an unknown
 * key, a refused SEND, a bad frame, a ZAP refusal, a NACK. A peer that
 * sends 50,000 refused messages must not write 50,000 lines: per event and
 * peer (a node id, a CURVE key, an address) the first HV_LOGRATE_BURST
 * lines of a window pass, the rest are counted, and when the window ends
 * one line says how many were left out:
 *
 *   level=warn event=log_suppressed of=refused peer=ngo.xa count=49812 window_s=10
 *
 * Memory is bounded: a fixed table of slots; when it is full the slot
 * seen longest ago is evicted (its count written first, so that no
 * refusal goes unmentioned). What is counted in /metrics is counted at the
 * call sites, whether the line passes or not.
 *
 * The process has one table (hv_lograte_pass, hv_lograte_flush), guarded
 * by a lock so that any thread may use it; tests make their own. */
#ifndef HV_LOGRATE_H
#define HV_LOGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_err.h"

#define HV_LOGRATE_BURST 5         /* lines that pass per event, peer and window */
#define HV_LOGRATE_WINDOW_MS 10000 /* the window */
#define HV_LOGRATE_SLOTS 256       /* events and peers tracked at once */

/* Writes one summary: `count` lines of `event` about `peer` were left
 * out in the last `window_ms`. */
typedef void (*hv_lograte_sink)(void *cls, const char *event, const char *peer,
                                uint64_t count, int64_t window_ms);

typedef struct hv_lograte hv_lograte;

/* A table of `slots` slots (1 to 65536), `burst` lines per window of
 * `window_ms`, summaries to `sink` (NULL: the log, as above). Caller owns
 * `*out`. Returns HV_OK, HV_EINVAL, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_lograte_open(hv_lograte **out, size_t slots, unsigned burst,
                                     int64_t window_ms, hv_lograte_sink sink, void *cls);

/* True when a line of `event` about `peer` should be written at `now_ms`
 * (monotonic); false when it is only counted. `event` and `peer` are
 * copied (cut to 31 and 63 characters). */
bool hv_lograte_check(hv_lograte *r, const char *event, const char *peer, int64_t now_ms);

/* Writes the summary of every window that has ended by `now_ms` (all of
 * them when `all`) and frees their slots. Returns the summaries written. */
size_t hv_lograte_flush_at(hv_lograte *r, int64_t now_ms, bool all);

/* Frees; safe on NULL and twice. Writes nothing: flush first. */
void hv_lograte_close(hv_lograte **r);

/* The process's table, with the defaults above, on the monotonic clock. */
bool hv_lograte_pass(const char *event, const char *peer);

/* Flushes the process's table (call from a daemon's loop, about once a
 * second, and once more with `all` before it exits). */
void hv_lograte_flush(bool all);

#endif
