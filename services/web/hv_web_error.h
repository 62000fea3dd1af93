/* The API's one error shape and its HTTP statuses:
 *   {"error": "HV_ENOTFOUND", "code": 22, "message": "...", "errors": [...]}
 * where "errors" (present for a referral file) holds the located errors of
 * `haven referral check`: {"path", "line", "col", "text"}. */
#ifndef HV_WEB_ERROR_H
#define HV_WEB_ERROR_H

#include <jansson.h>

#include "hv_err.h"

/* The HTTP status for `err` (HV_ENOTFOUND 404, HV_EFORBIDDEN 403,
 * HV_EAUTH 401, HV_EJSON and HV_EINVAL 422, HV_ETOOBIG 413, HV_ETYPE 415,
 * HV_ERATE 429, HV_EEXIST and HV_EPROTO 409, HV_ETIMEOUT and HV_EIO 503,
 * others 500). A body that is not JSON at all is answered 400 by the
 * caller. */
unsigned hv_web_status(hv_err err);

/* A new error object; `errors` (stolen, may be NULL) the located errors.
 * Caller owns the result (NULL when out of memory). */
json_t *hv_web_error_json(hv_err err, const char *message, json_t *errors);

/* The error name's code ("HV_EJSON" -> HV_EJSON); HV_EIO when unknown. */
hv_err hv_web_err_from_name(const char *name);

#endif
