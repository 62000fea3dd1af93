/* haven-web's audit log; see hv_web_audit.h. */
#include "hv_web_audit.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_log.h"

hv_err hv_web_audit(const hv_web_config *c, const char *event, const char *staff)
{
    char lock_path[HV_WEB_PATH_MAX + 8], by[160];
    snprintf(lock_path, sizeof lock_path, "%s.lock", c->audit);
    if (staff != NULL)
        snprintf(by, sizeof by, "%s/%s", c->node, staff);
    else
        snprintf(by, sizeof by, "%s", c->node);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        if (fd >= 0)
            close(fd);
        hv_log(HV_LOG_ERROR, "audit_failed", "why=\"cannot lock %s\"", lock_path);
        return HV_EIO;
    }
    hv_audit *a = NULL;
    hv_errmsg e = {{0}};
    hv_err err = hv_audit_open(&a, c->audit, NULL, &e);
    if (err == HV_OK)
        err = hv_audit_append(a, c->node, NULL, event, by);
    hv_audit_close(&a);
    flock(fd, LOCK_UN);
    close(fd);
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "record=%s err=%s why=\"%s\"", event,
               hv_errname(err), e.text);
    return err;
}

void hv_web_audit_try(const hv_web_config *c, const char *event, const char *staff)
{
    if (hv_web_audit(c, event, staff) != HV_OK)
        hv_log(HV_LOG_WARN, "audit_missed", "event=%s", event);
}
