/* haven-web's audit log (common/hv_audit, the same chained format as the
 * workers'): sign-ins, failures, lockouts, unlocks, sign-outs, staff and
 * token changes, token uses. Records name the node and the person
 * (NODE/STAFF), never case content; the subject is zero.
 *
 * The daemon and `haven staff` both write the file, so every record is
 * written under an exclusive lock (flock on FILE.lock) by opening the log,
 * appending and closing it: each writer continues the chain where the
 * other left it. */
#ifndef HV_WEB_AUDIT_H
#define HV_WEB_AUDIT_H

#include "hv_err.h"
#include "hv_web_config.h"

/* Appends `event` ([a-z_], as hv_audit) by `staff` (may be NULL: the node
 * itself, e.g. for a failure of an unknown name). Returns HV_OK, HV_EIO,
 * HV_EINVAL. */
HV_MUST_CHECK hv_err hv_web_audit(const hv_web_config *c, const char *event, const char *staff);

/* As hv_web_audit where the caller has nothing more to do about a
 * failure than the log line hv_web_audit writes. */
void hv_web_audit_try(const hv_web_config *c, const char *event, const char *staff);

#endif
