/* Notices across borders (internal to broker/; PROTOCOL.md §5.3): when a
 * message from a node homed at a peer dies here, its notice goes to that
 * peer as NOTICE, carrying the dead envelope's proof of origin (header,
 * body digest, sender's signature), so that the sender's home broker
 * delivers it from what the notice itself proves, whatever its own dedup
 * window has pruned; and the NOTICEs a peer sends us are checked here. */
#ifndef HV_BROKER_NOTICE_H
#define HV_BROKER_NOTICE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_broker.h"
#include "hv_broker_session.h"
#include "hv_control.h"

/* Sends on link `s` the NOTICE about dead letter `id` (why: `code`,
 * `reason`). Returns HV_OK when sent; HV_ENOTFOUND when the dead letter
 * is gone (an operator purged it: the caller falls back to EXPIRED or
 * ERROR, which the peer routes by its dedup window); HV_ERATE or
 * HV_EUNROUTABLE when the link refused it; HV_ESTORE, HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_broker_notice_send(hv_broker *b, hv_session *s, const uint8_t id[16],
                                           unsigned code, const char *reason);

/* The peer on link `s` refused for good our NOTICE about `id`: the notice,
 * owed to the message's sender (a node homed at that peer), is dropped,
 * and `*dropped` says whether there was one. Any other notice about `id`
 * (one owed to a node of ours) stays. HV_OK or HV_ESTORE. In a
 * transaction. */
HV_MUST_CHECK hv_err hv_broker_notice_refused(hv_broker *b, hv_session *s, const uint8_t id[16],
                                              bool *dropped);

/* A NOTICE from peer session `s`. A peer may report only on a message
 * that its sender (a node homed here) signed, to a node homed at that
 * peer: the message it held. Anything else is refused with ERROR(code,
 * id, text) and logged (notice_refused); a notice that passes is kept for
 * the sender and answered STORED after the commit. */
void hv_broker_notice_on(hv_broker *b, hv_session *s, const hv_control *m);

#endif
