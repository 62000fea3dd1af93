/* The broker's sessions against the registry (internal to broker/): one
 * job, keeping every open connection as trusted as a new one would be.
 * Every session remembers the node and the transport key it was admitted
 * with (the ZAP handler hands the key to every message as metadata,
 * hv_trust.h); on every registry change this module asks hv_trust_admit
 * again for each of them, on every socket: workers', peers', our links to
 * peers, operators' requests and events. What fails is cut: an ERROR
 * (HV_EAUTH) with the reason and a BYE, the session dropped, a log line
 * `session_cut` and a record in the broker's audit log. A cut connection
 * has no session, so every later frame on it is judged by its key again
 * (hv_broker_session.c) and refused. Not for use outside broker/. */
#ifndef HV_BROKER_TRUST_H
#define HV_BROKER_TRUST_H

#include "hv_broker.h"
#include "hv_broker_session.h"
#include "hv_trust.h"

/* What this broker is for hv_trust_admit, under its current registry. */
void hv_broker_trust_self(const hv_broker *b, hv_trust_self *out);

/* Answers the pending ZAP requests under the current registry. */
void hv_broker_trust_serve_zap(hv_broker *b);

/* Checks every session, link, operator and events watcher against the
 * current registry and cuts what it no longer admits (on SIGHUP, after
 * the new registry is in place). */
void hv_broker_trust_recheck(hv_broker *b);

/* Cuts incoming session `s`: ERROR(HV_EAUTH, "session cut: WHY"), BYE, the
 * log line and the audit record, then drops it. */
void hv_broker_trust_cut(hv_broker *b, hv_session *s, const char *why);

/* Notes one cut that is not a session of the table (a link, an operator,
 * a watcher): the log line `session_cut` and the audit record. */
void hv_broker_trust_note_cut(hv_broker *b, const char *node, const char *door,
                              const char *why);

#endif
