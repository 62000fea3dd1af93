#include "hv_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name; /* symbolic name */
    const char *text; /* description */
} s_errors[HV_ERR_MAX + 1] = {
    [HV_OK] = {"HV_OK", "success"},
    [HV_ENOMEM] = {"HV_ENOMEM", "out of memory"},
    [HV_EINVAL] = {"HV_EINVAL", "invalid argument"},
    [HV_EIO] = {"HV_EIO", "input/output error"},
    [HV_EDECODE] = {"HV_EDECODE", "malformed or non-canonical encoding"},
    [HV_ETRUNCATED] = {"HV_ETRUNCATED", "input truncated"},
    [HV_ETOOBIG] = {"HV_ETOOBIG", "value exceeds its maximum size"},
    [HV_EVERSION] = {"HV_EVERSION", "unsupported version"},
    [HV_ETYPE] = {"HV_ETYPE", "unknown message type"},
    [HV_ETRAILING] = {"HV_ETRAILING", "trailing bytes after message"},
    [HV_ECRYPTO] = {"HV_ECRYPTO", "signature or authentication check failed"},
    [HV_EKEYPERM] = {"HV_EKEYPERM", "secret key file is accessible by others"},
    [HV_EKEYFORMAT] = {"HV_EKEYFORMAT", "malformed key"},
    [HV_ECONFIG] = {"HV_ECONFIG", "configuration error"},
    [HV_EJSON] = {"HV_EJSON", "invalid JSON document"},
    [HV_EREG_SIGNATURE] = {"HV_EREG_SIGNATURE", "registry signature is not valid"},
    [HV_EREG_EXPIRED] = {"HV_EREG_EXPIRED", "registry is expired or not yet valid"},
    [HV_EREG_ROLLBACK] = {"HV_EREG_ROLLBACK", "registry is older than the one held"},
    [HV_EREG_ROLE] = {"HV_EREG_ROLE", "unknown node role"},
    [HV_EREG_DUPLICATE] = {"HV_EREG_DUPLICATE", "duplicate node in registry"},
    [HV_EREG_HOME] = {"HV_EREG_HOME", "home broker missing from registry"},
    [HV_EREG_INVALID] = {"HV_EREG_INVALID", "invalid registry content"},
    [HV_ENOTFOUND] = {"HV_ENOTFOUND", "not found"},
    [HV_EEXIST] = {"HV_EEXIST", "already exists"},
    [HV_EADDRESS] = {"HV_EADDRESS", "message not addressed to this node"},
    [HV_EAUTH] = {"HV_EAUTH", "not authenticated"},
    [HV_EFORBIDDEN] = {"HV_EFORBIDDEN", "not permitted for this role"},
    [HV_ERATE] = {"HV_ERATE", "rate limit exceeded"},
    [HV_EUNROUTABLE] = {"HV_EUNROUTABLE", "no route to recipient"},
    [HV_EEXPIRED] = {"HV_EEXPIRED", "message expired"},
    [HV_ESTORE] = {"HV_ESTORE", "durable store error"},
    [HV_EPROTO] = {"HV_EPROTO", "protocol violation"},
    [HV_ETIMEOUT] = {"HV_ETIMEOUT", "timed out"},
    [HV_EPERM] = {"HV_EPERM", "permission denied"},
};

const char *hv_strerror(hv_err err)
{
    if ((unsigned)err > HV_ERR_MAX || s_errors[err].text == NULL)
        return "unknown error";
    return s_errors[err].text;
}

const char *hv_errname(hv_err err)
{
    if ((unsigned)err > HV_ERR_MAX || s_errors[err].name == NULL)
        return "HV_E?";
    return s_errors[err].name;
}

hv_err hv_fail(hv_errmsg *e, hv_err err, const char *fmt, ...)
{
    if (e != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof e->text, fmt, ap);
        va_end(ap);
    }
    return err;
}

hv_err hv_fail_prefix(hv_errmsg *e, hv_err err, const char *prefix)
{
    if (e != NULL) {
        /* Move the old text right, then write the prefix in front; the
         * result is cut at the buffer's end. */
        size_t cap = sizeof e->text - 1;
        size_t plen = strnlen(prefix, cap / 2);
        size_t old = strnlen(e->text, cap);
        size_t keep = old < cap - plen - 2 ? old : cap - plen - 2;
        memmove(e->text + plen + 2, e->text, keep);
        memcpy(e->text, prefix, plen);
        e->text[plen] = ':';
        e->text[plen + 1] = ' ';
        e->text[plen + 2 + keep] = '\0';
    }
    return err;
}
