/* The notify command; see hv_web_notify.h. */
#include "hv_web_notify.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_log.h"
#include "hv_web_auth.h"
#include "hv_web_worker.h"

#define S_WAIT_MS 2000

struct hv_web_notify {
    const hv_web_config *cfg; /* borrowed */
    volatile int *stopping;   /* borrowed: set at stop */
    hv_web_who who;           /* the account whose view is followed */
    pthread_t thread;         /* the follower */
};

/* Runs the command with `json` on its standard input and waits for it. */
static void s_run(const char *command, const char *json)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    if (pid > 0) {
        size_t n = strlen(json);
        if (write(fds[1], json, n) != (ssize_t)n || write(fds[1], "\n", 1) != 1)
            hv_log(HV_LOG_WARN, "notify_failed", "why=\"cannot write to the command\"");
    }
    close(fds[1]);
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid &&
        (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        hv_log(HV_LOG_WARN, "notify_failed", "status=%d", status);
}

static void *s_main(void *arg)
{
    hv_web_notify *n = arg;
    json_int_t after = 0;
    bool first = true;
    while (!*n->stopping) {
        json_t *args = json_pack("{s:I, s:i}", "after", after, "timeout_ms", S_WAIT_MS);
        json_t *reply = NULL;
        hv_errmsg e = {{0}};
        hv_err err = hv_web_worker_call(n->cfg->worker_socket, "events.wait", args, &n->who,
                                        S_WAIT_MS + 5000, &reply, &e);
        json_decref(args);
        json_t *result = json_object_get(reply, "result");
        if (err != HV_OK || !json_is_true(json_object_get(reply, "ok"))) {
            if (first)
                hv_log(HV_LOG_WARN, "notify_waiting", "err=%s",
                       err != HV_OK ? hv_errname(err)
                                    : json_string_value(json_object_get(reply, "error")));
            first = false;
            json_decref(reply);
            /* The worker is down or refuses: try again after one wait's
             * time, without spinning. */
            struct timespec ts = {S_WAIT_MS / 1000, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        first = true;
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(result, "events"), i, ev)
        {
            json_t *out = json_pack("{s:O?, s:s, s:O?, s:O?, s:O?}", "event",
                                    json_object_get(ev, "kind"), "node", n->cfg->node,
                                    "referral", json_object_get(ev, "referral"), "state",
                                    json_object_get(ev, "state"), "at",
                                    json_object_get(ev, "at"));
            json_t *due = json_object_get(ev, "answer_by");
            if (out != NULL && json_is_string(due))
                json_object_set(out, "answer_by", due);
            char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
            json_decref(out);
            if (text != NULL)
                s_run(n->cfg->notify_command, text);
            free(text);
        }
        json_t *last = json_object_get(result, "last");
        if (json_is_integer(last) && json_integer_value(last) > after)
            after = json_integer_value(last);
        json_decref(reply);
    }
    return NULL;
}

hv_err hv_web_notify_start(hv_web_notify **out, const hv_web_config *c, hv_web_store *s,
                           volatile int *stopping, hv_errmsg *e)
{
    *out = NULL;
    hv_web_staff st;
    if (hv_web_staff_get(s, c->notify_staff, &st) != HV_OK)
        return hv_fail(e, HV_ECONFIG, "[notify] staff: no staff member '%s'", c->notify_staff);
    hv_web_notify *n = calloc(1, sizeof *n);
    if (n == NULL)
        return HV_ENOMEM;
    n->cfg = c;
    n->stopping = stopping;
    snprintf(n->who.staff, sizeof n->who.staff, "%s", st.name);
    snprintf(n->who.role, sizeof n->who.role, "%s", st.role);
    snprintf(n->who.via, sizeof n->who.via, "session");
    if (pthread_create(&n->thread, NULL, s_main, n) != 0) {
        free(n);
        return hv_fail(e, HV_EIO, "cannot start the notify thread");
    }
    *out = n;
    return HV_OK;
}

void hv_web_notify_stop(hv_web_notify **np)
{
    if (np == NULL || *np == NULL)
        return;
    pthread_join((*np)->thread, NULL);
    free(*np);
    *np = NULL;
}
