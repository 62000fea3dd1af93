/* Fuzz target: control requests from the CLI and haven-web to a worker.
 * A refusal is explained; an acceptance has a command and an arguments
 * object. An actor (the staff socket's) is accepted only in its exact
 * form, and then writes a `by` the audit log takes; a list's filters are
 * accepted only within their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_ctl.h"
#include "hv_listq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check_actor(const json_t *actor)
{
    static const unsigned sets[] = {
        HV_ACTOR_BIT(HV_ACTOR_CASEWORKER) | HV_ACTOR_BIT(HV_ACTOR_SUPERVISOR) |
            HV_ACTOR_BIT(HV_ACTOR_ADMIN),
        HV_ACTOR_BIT(HV_ACTOR_COORDINATOR) | HV_ACTOR_BIT(HV_ACTOR_ADMIN),
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        hv_actor a;
        hv_errmsg e = {""};
        hv_err rc = hv_actor_parse(actor, "ngo.xa", sets[i], &a, &e);
        if (rc == HV_OK) {
            size_t n = strlen("ngo.xa/");
            if (!(sets[i] & HV_ACTOR_BIT(a.role)) || a.role == HV_ACTOR_HOST ||
                !hv_staff_name_valid(a.staff) || strcmp(a.staff, HV_HOST_ADMIN) == 0 ||
                strncmp(a.by, "ngo.xa/", n) != 0 || strcmp(a.by + n, a.staff) != 0 ||
                !hv_audit_by_valid(a.by) || a.via[0] == '\0')
                abort();
        } else if (rc != HV_EAUTH || e.text[0] == '\0') {
            abort();
        }
    }
}

static void s_check_list(const json_t *args)
{
    hv_listq q;
    hv_errmsg e = {""};
    hv_err rc = hv_listq_parse(args, NULL, &q, &e);
    if (rc == HV_OK) {
        if (q.limit < 1 || q.limit > HV_LISTQ_LIMIT_MAX || q.offset < 0 ||
            (q.assigned_to[0] != '\0' && !hv_staff_name_valid(q.assigned_to)) ||
            (q.unassigned && !q.by_assignee) || (q.q[0] != '\0' && !hv_listq_reference_valid(q.q)))
            abort();
    } else if (rc != HV_EINVAL || e.text[0] == '\0') {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char cmd[HV_CTL_CMD_MAX + 1];
    json_t *args = NULL, *actor = NULL;
    hv_errmsg e = {""};
    hv_err rc = hv_ctl_parse(data, size, cmd, &args, &e);
    if (rc == HV_OK && (cmd[0] == '\0' || !json_is_object(args) ||
                        strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(cmd)))
        abort();
    if (rc != HV_OK && (e.text[0] == '\0' || args != NULL))
        abort();
    json_decref(args);
    args = NULL;
    rc = hv_ctl_parse_actor(data, size, cmd, &args, &actor, &e);
    if (rc != HV_OK && (args != NULL || actor != NULL))
        abort();
    if (rc == HV_OK) {
        s_check_actor(actor);
        s_check_list(args);
    }
    json_decref(args);
    json_decref(actor);
    return 0;
}
