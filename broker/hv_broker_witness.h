/* The broker as a witness of audit logs (internal to broker/; issue 20,
 * proto/PROTOCOL.md §5.6). A node homed here hands over the signed heads
 * of its audit log (AUDIT_HEAD); the broker checks the signature against
 * the key set the registry lists, refuses a head that goes back or forks
 * from one it holds, keeps it in its store (hv_store_heads.h) and answers
 * AUDIT_WITNESSED with the head it now holds. AUDIT_HEAD_GET answers the
 * same with the node's latest head, so that a restarted node compares its
 * log with what its broker saw. A peer broker's own heads are kept the
 * same way. */
#ifndef HV_BROKER_WITNESS_H
#define HV_BROKER_WITNESS_H

#include "hv_broker.h"
#include "hv_broker_session.h"
#include "hv_control.h"

/* AUDIT_HEAD from a session: witnessed, or refused with the reason. */
void hv_broker_witness_on_head(hv_broker *b, hv_session *s, const hv_control *m);

/* AUDIT_HEAD_GET from a session: the latest head witnessed for its node. */
void hv_broker_witness_on_get(hv_broker *b, hv_session *s);

#endif
