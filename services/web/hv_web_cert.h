/* A self-signed certificate and key for a first install (`haven web
 * self-signed --out DIR`), made with GnuTLS: ECDSA P-256, valid for a
 * year, for the names localhost, 127.0.0.1 and `host` when given. */
#ifndef HV_WEB_CERT_H
#define HV_WEB_CERT_H

#include "hv_err.h"

/* Writes DIR/cert.pem (0644) and DIR/key.pem (0600); refuses to overwrite
 * (HV_EEXIST). `host` may be NULL: a DNS name or IPv4 address to add. */
HV_MUST_CHECK hv_err hv_web_cert_self_signed(const char *dir, const char *host, hv_errmsg *e);

/* Loads the certificate and key files as serving would, which also checks
 * that the key is the certificate's (haven-web -n). Returns HV_OK or
 * HV_ECONFIG with GnuTLS's reason in `e`. */
HV_MUST_CHECK hv_err hv_web_cert_check(const char *cert, const char *key, hv_errmsg *e);

#endif
