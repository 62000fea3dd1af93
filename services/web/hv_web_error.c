/* The API's errors; see hv_web_error.h. */
#include "hv_web_error.h"

#include <string.h>

unsigned hv_web_status(hv_err err)
{
    switch (err) {
    case HV_OK: return 200;
    case HV_ENOTFOUND: return 404;
    case HV_EFORBIDDEN: return 403;
    case HV_EAUTH: return 401;
    case HV_EJSON: case HV_EINVAL: case HV_EDECODE: case HV_EUNROUTABLE: return 422;
    case HV_ETOOBIG: return 413;
    case HV_ETYPE: return 415; /* a document that is not a PDF, JPEG or PNG */
    case HV_ERATE: return 429;
    case HV_EEXIST: case HV_EPROTO: case HV_EEXPIRED: return 409;
    case HV_ETIMEOUT: case HV_EIO: return 503;
    default: return 500;
    }
}

json_t *hv_web_error_json(hv_err err, const char *message, json_t *errors)
{
    json_t *j = json_pack("{s:s, s:i, s:s}", "error", hv_errname(err), "code", (int)err,
                          "message", message != NULL && message[0] != '\0' ? message
                                                                           : hv_strerror(err));
    if (j != NULL && errors != NULL)
        json_object_set_new(j, "errors", errors);
    else
        json_decref(errors);
    return j;
}

hv_err hv_web_err_from_name(const char *name)
{
    for (int i = 0; name != NULL && i <= HV_ERR_MAX; i++)
        if (strcmp(hv_errname((hv_err)i), name) == 0)
            return (hv_err)i;
    return HV_EIO;
}
