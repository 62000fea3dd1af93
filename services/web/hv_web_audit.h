/* haven-web's audit log (common/hv_audit, the same chained format as the
 * workers'): sign-ins, failures, lockouts, unlocks, sign-outs, staff and
 * token changes, token uses. Records name the node and the person
 * (NODE/STAFF), never case content. The subject is zero, or, for a record
 * about an account (added, locked, role changed...), the first 16 bytes of
 * BLAKE2b-256("haven-web/staff:" || NAME), so that an auditor holding the
 * name can find its records and the log itself lists no names of others.
 *
 * The daemon and `haven staff` both write the file, so every record is
 * written under an exclusive lock (flock on FILE.lock), and a writer that
 * finds the file grown by the other since its last record opens it again:
 * each continues the chain where the other left it. */
#ifndef HV_WEB_AUDIT_H
#define HV_WEB_AUDIT_H

#include "hv_err.h"
#include "hv_web_config.h"

/* Appends `event` ([a-z_], as hv_audit) by `staff` (may be NULL: the node
 * itself, e.g. for a failure of an unknown name). Returns HV_OK, HV_EIO,
 * HV_EINVAL. */
HV_MUST_CHECK hv_err hv_web_audit(const hv_web_config *c, const char *event, const char *staff);

/* As hv_web_audit, about the account `about` (may be NULL), done by
 * `staff`. */
HV_MUST_CHECK hv_err hv_web_audit_about(const hv_web_config *c, const char *event,
                                        const char *staff, const char *about);

/* As hv_web_audit for a record of routine use (a token's use): written at
 * once, made durable within 200 ms by a background sync instead of an
 * fdatasync of its own, so that API calls do not wait for the disk. */
HV_MUST_CHECK hv_err hv_web_audit_use(const hv_web_config *c, const char *event,
                                      const char *staff);

/* Closes the log kept open between records (at exit). */
void hv_web_audit_close(void);

/* As hv_web_audit where the caller has nothing more to do about a
 * failure than the log line hv_web_audit writes. */
void hv_web_audit_try(const hv_web_config *c, const char *event, const char *staff);
void hv_web_audit_try_about(const hv_web_config *c, const char *event, const char *staff,
                            const char *about);

#endif
