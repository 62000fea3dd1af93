/* The staff socket client; see hv_web_worker.h. */
#include "hv_web_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "hv_ctl.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static void *s_ctx; /* shared by every call; ZeroMQ contexts are thread-safe */

static void *s_context(void)
{
    pthread_mutex_lock(&s_lock);
    if (s_ctx == NULL)
        s_ctx = zmq_ctx_new();
    void *c = s_ctx;
    pthread_mutex_unlock(&s_lock);
    return c;
}

void hv_web_worker_shutdown(void)
{
    pthread_mutex_lock(&s_lock);
    if (s_ctx != NULL)
        zmq_ctx_term(s_ctx);
    s_ctx = NULL;
    pthread_mutex_unlock(&s_lock);
}

hv_err hv_web_worker_call(const char *socket_path, const char *cmd, json_t *args,
                          const hv_web_who *who, int timeout_ms, json_t **reply, hv_errmsg *e)
{
    *reply = NULL;
    json_t *a = args != NULL ? json_incref(args) : json_object();
    json_t *req = json_pack("{s:s, s:o, s:{s:s, s:s, s:s}}", "cmd", cmd, "args", a, "actor",
                            "staff", who->staff, "role", who->role, "via", who->via);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL)
        return HV_ENOMEM;
    /* A missing socket is answered at once: a REQ socket would otherwise
     * wait its whole timeout for a worker that is not there. */
    struct stat sb;
    if (stat(socket_path, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        free(text);
        return hv_fail(e, HV_EIO, "the worker is not running (no staff socket)");
    }
    void *ctx = s_context();
    hv_err err = ctx != NULL ? hv_ctl_exchange(ctx, socket_path, text, timeout_ms, reply, e)
                             : hv_fail(e, HV_EIO, "cannot create a ZeroMQ context");
    free(text);
    return err;
}
