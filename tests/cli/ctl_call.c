/* ctl_call SOCKET [JSON]: a test tool, built only with the tests. Sends
 * one raw control request (JSON from the argument, or stdin) to the
 * worker's control socket at SOCKET, exactly as given, and prints the
 * reply on one line. Lets the shell tests speak as haven-web does, with
 * an actor of their choosing, and send requests no client would.
 * Exit: 0 a reply came, 3 no reply within 10 s (or the socket cannot be
 * reached), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int main(int argc, char **argv)
{
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
    int zero = 0, timeout = 10000, rc = 3;
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
