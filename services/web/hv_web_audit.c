/* haven-web's audit log; see hv_web_audit.h.
 *
 * The daemon keeps the log open between records. Before each record it
 * takes the lock and compares the file's size with the size it left: when
 * another writer (`haven staff`) has appended since, it opens the log
 * again, which continues the chain from the file's last record. */
#include "hv_web_audit.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_crypto.h"
#include "hv_log.h"

#define S_SYNC_MS 200 /* records written without waiting are durable within this */

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static hv_audit *s_log;                     /* the open log, or NULL */
static char s_path[HV_WEB_PATH_MAX];        /* its path */
static off_t s_size = -1;                   /* its size after our last record */

static off_t s_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Makes what was written durable, then closes. */
static void s_close(void)
{
    if (s_log != NULL && hv_audit_sync(s_log, NULL) != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "why=\"cannot sync %s\"", s_path);
    hv_audit_close(&s_log);
}

static hv_err s_record(const hv_web_config *c, const char *event, const char *staff,
                       const char *about, bool durable)
{
    uint8_t subject[32];
    if (about != NULL) {
        char text[HV_WEB_PATH_MAX];
        int n = snprintf(text, sizeof text, "haven-web/staff:%s", about);
        hv_hash256((const uint8_t *)text, (size_t)n, subject);
    }
    char lock_path[HV_WEB_PATH_MAX + 8], by[160];
    snprintf(lock_path, sizeof lock_path, "%s.lock", c->audit);
    if (staff != NULL)
        snprintf(by, sizeof by, "%s/%s", c->node, staff);
    else
        snprintf(by, sizeof by, "%s", c->node);
    pthread_mutex_lock(&s_lock);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        if (fd >= 0)
            close(fd);
        pthread_mutex_unlock(&s_lock);
        hv_log(HV_LOG_ERROR, "audit_failed", "why=\"cannot lock %s\"", lock_path);
        return HV_EIO;
    }
    hv_errmsg e = {{0}};
    hv_err err = HV_OK;
    if (s_log != NULL && (strcmp(s_path, c->audit) != 0 || s_file_size(c->audit) != s_size))
        s_close(); /* written by someone else since */
    if (s_log == NULL) {
        snprintf(s_path, sizeof s_path, "%s", c->audit);
        if ((err = hv_audit_open(&s_log, c->audit, NULL, &e)) == HV_OK)
            err = hv_audit_sync_every(s_log, S_SYNC_MS);
    }
    if (err == HV_OK && durable)
        err = hv_audit_append(s_log, c->node, about ? subject : NULL, event, by);
    else if (err == HV_OK &&
             (err = hv_audit_add(s_log, c->node, about ? subject : NULL, event, by)) == HV_OK)
        err = hv_audit_write(s_log);
    if (err == HV_OK)
        s_size = s_file_size(c->audit);
    else
        s_close();
    flock(fd, LOCK_UN);
    close(fd);
    pthread_mutex_unlock(&s_lock);
    if (err != HV_OK)
        hv_log(HV_LOG_ERROR, "audit_failed", "record=%s err=%s why=\"%s\"", event,
               hv_errname(err), e.text);
    return err;
}

hv_err hv_web_audit(const hv_web_config *c, const char *event, const char *staff)
{
    return s_record(c, event, staff, NULL, true);
}

hv_err hv_web_audit_about(const hv_web_config *c, const char *event, const char *staff,
                          const char *about)
{
    return s_record(c, event, staff, about, true);
}

hv_err hv_web_audit_use(const hv_web_config *c, const char *event, const char *staff)
{
    return s_record(c, event, staff, NULL, false);
}

void hv_web_audit_try(const hv_web_config *c, const char *event, const char *staff)
{
    if (hv_web_audit(c, event, staff) != HV_OK)
        hv_log(HV_LOG_WARN, "audit_missed", "event=%s", event);
}

void hv_web_audit_try_about(const hv_web_config *c, const char *event, const char *staff,
                            const char *about)
{
    if (hv_web_audit_about(c, event, staff, about) != HV_OK)
        hv_log(HV_LOG_WARN, "audit_missed", "event=%s", event);
}

void hv_web_audit_close(void)
{
    pthread_mutex_lock(&s_lock);
    s_close();
    s_size = -1;
    pthread_mutex_unlock(&s_lock);
}
