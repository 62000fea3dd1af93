/* A test tool, built only with the tests: speaks to a worker's control
 * socket as haven-web does.
 *   ctl_call SOCKET [JSON]       sends one raw request (JSON from the
 *                                argument, or stdin) exactly as given:
 *                                also what no client would send
 *   ctl_call --as STAFF ROLE SOCKET CMD [ARGS_JSON]
 *                                sends CMD on behalf of STAFF in ROLE
 *                                (via "session") through hv_ctl_call_as,
 *                                the library call haven-web uses
 * Prints the reply on one line. Exit: 0 a reply came, 3 no reply within
 * 10 s (or the socket cannot be reached), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hv_ctl.h"

#define S_TIMEOUT_MS 10000

static int s_as(char **argv, int argc)
{
    hv_actor a;
    memset(&a, 0, sizeof a);
    static const char *const roles[] = {"host", "caseworker", "supervisor", "admin",
                                        "coordinator"};
    unsigned r;
    for (r = 0; r < sizeof roles / sizeof roles[0]; r++)
        if (strcmp(argv[3], roles[r]) == 0)
            break;
    a.role = (hv_actor_role)r; /* an unknown name goes as "?" */
    snprintf(a.staff, sizeof a.staff, "%s", argv[2]);
    snprintf(a.via, sizeof a.via, "session");
    json_error_t jerr;
    json_t *args = argc == 7 ? json_loads(argv[6], 0, &jerr) : NULL;
    if (argc == 7 && args == NULL) {
        fprintf(stderr, "ctl_call: ARGS is not JSON: %s\n", jerr.text);
        return 2;
    }
    json_t *reply = NULL;
    hv_errmsg e = {""};
    hv_err err = hv_ctl_call_as(argv[4], argv[5], args, &a, S_TIMEOUT_MS, &reply, &e);
    json_decref(args);
    if (err != HV_OK) {
        fprintf(stderr, "ctl_call: %s (%s)\n", e.text, hv_errname(err));
        return 3;
    }
    char *text = json_dumps(reply, JSON_COMPACT);
    printf("%s\n", text ? text : "");
    free(text);
    json_decref(reply);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--as") == 0) {
        if (argc != 6 && argc != 7) {
            fprintf(stderr, "usage: ctl_call --as STAFF ROLE SOCKET CMD [ARGS_JSON]\n");
            return 2;
        }
        return s_as(argv, argc);
    }
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: ctl_call SOCKET [JSON]\n");
        return 2;
    }
    char *req = NULL;
    size_t len = 0;
    if (argc == 3) {
        req = strdup(argv[2]);
        len = req ? strlen(req) : 0;
    } else {
        FILE *in = open_memstream(&req, &len);
        int ch;
        while (in != NULL && (ch = getchar()) != EOF)
            fputc(ch, in);
        if (in != NULL)
            fclose(in);
    }
    if (req == NULL)
        return 2;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    int zero = 0, timeout = S_TIMEOUT_MS, rc = 3;
    char endpoint[4200];
    snprintf(endpoint, sizeof endpoint, "ipc://%s", argv[1]);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    if (zmq_connect(s, endpoint) == 0 && zmq_send(s, req, len, 0) >= 0) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) >= 0) {
            printf("%.*s\n", (int)zmq_msg_size(&msg), (const char *)zmq_msg_data(&msg));
            rc = 0;
        }
        zmq_msg_close(&msg);
    }
    if (rc != 0)
        fprintf(stderr, "ctl_call: no reply from %s\n", argv[1]);
    free(req);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}
