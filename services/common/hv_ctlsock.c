/* Control endpoints; see hv_ctlsock.h. */
#include "hv_ctlsock.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "hv_ctl.h"
#include "hv_file.h"

struct hv_ctlsock {
    void *zs;            /* the ROUTER socket */
    char path[PATH_MAX]; /* its file */
    bool staff;          /* the staff socket */
    bool bound;          /* the file is ours to remove */
};

static hv_err s_group(const char *name, gid_t *gid, hv_errmsg *e)
{
    struct group gr, *found = NULL;
    char buf[4096];
    if (getgrnam_r(name, &gr, buf, sizeof buf, &found) != 0 || found == NULL)
        return hv_fail(e, HV_ECONFIG, "staff_group: there is no group '%s'", name);
    *gid = found->gr_gid;
    return HV_OK;
}

/* The staff socket's directory: made 0750 when missing, given to the group. */
static hv_err s_staff_dir(const char *path, bool has_group, gid_t gid, hv_errmsg *e)
{
    char dir[PATH_MAX];
    hv_file_dir(path, dir, sizeof dir);
    if (mkdir(dir, 0750) == 0) {
        if (chmod(dir, 0750) != 0)
            return hv_fail(e, HV_EIO, "cannot set mode 0750 on %s", dir);
    } else if (errno != EEXIST) {
        return hv_fail(e, HV_EIO, "cannot make the staff socket's directory %s: %s", dir,
                       strerror(errno));
    }
    if (has_group && chown(dir, (uid_t)-1, gid) != 0)
        return hv_fail(e, HV_EIO, "cannot give %s to the staff group: %s", dir,
                       strerror(errno));
    return HV_OK;
}

hv_err hv_ctlsock_open(hv_ctlsock **out, void *zctx, const char *path, bool staff,
                       bool group_readable, const char *group, hv_errmsg *e)
{
    *out = NULL;
    hv_ctlsock *s = calloc(1, sizeof *s);
    if (s == NULL)
        return HV_ENOMEM;
    hv_err err = HV_OK;
    gid_t gid = 0;
    bool has_group = staff && group != NULL && group[0] != '\0';
    snprintf(s->path, sizeof s->path, "%s", path);
    s->staff = staff;
    if (has_group && (err = s_group(group, &gid, e)) != HV_OK)
        goto fail;
    if (staff && (err = s_staff_dir(path, has_group, gid, e)) != HV_OK)
        goto fail;
    s->zs = zmq_socket(zctx, ZMQ_ROUTER);
    if (s->zs == NULL) {
        err = hv_fail(e, HV_EIO, "cannot create the control socket");
        goto fail;
    }
    int zero = 0;
    int64_t max = HV_CTL_REQUEST_MAX;
    zmq_setsockopt(s->zs, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s->zs, ZMQ_MAXMSGSIZE, &max, sizeof max);
    char endpoint[PATH_MAX + 8];
    snprintf(endpoint, sizeof endpoint, "ipc://%s", path);
    unlink(path);
    /* The umask gives the socket its mode from birth. */
    bool shared = staff || group_readable;
    mode_t mode = shared ? 0660 : 0600;
    mode_t old = umask(shared ? 007 : 077);
    int rc = zmq_bind(s->zs, endpoint);
    umask(old);
    if (rc != 0) {
        err = hv_fail(e, HV_EIO, "cannot bind the control socket %s: %s", path,
                      zmq_strerror(errno));
        goto fail;
    }
    s->bound = true;
    if (chmod(path, mode) != 0) {
        err = hv_fail(e, HV_EIO, "cannot set mode %04o on %s", (unsigned)mode, path);
        goto fail;
    }
    if (has_group && chown(path, (uid_t)-1, gid) != 0) {
        err = hv_fail(e, HV_EIO, "cannot give %s to the staff group: %s", path,
                      strerror(errno));
        goto fail;
    }
    *out = s;
    return HV_OK;
fail:
    hv_ctlsock_close(&s);
    return err;
}

void hv_ctlsock_close(hv_ctlsock **sp)
{
    hv_ctlsock *s = *sp;
    if (s == NULL)
        return;
    if (s->zs != NULL)
        zmq_close(s->zs);
    if (s->bound)
        unlink(s->path);
    free(s);
    *sp = NULL;
}

void *hv_ctlsock_zmq(hv_ctlsock *s) { return s->zs; }
bool hv_ctlsock_is_staff(const hv_ctlsock *s) { return s->staff; }

/* Reads the rest of a multipart message and drops it. */
static void s_drain(void *zs)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(zs, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, zs, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        zmq_msg_close(&m);
    }
}

bool hv_ctlsock_recv(hv_ctlsock *s, hv_ctl_peer *peer, char **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    zmq_msg_t part[3];
    int n = 0;
    for (; n < 3; n++) {
        zmq_msg_init(&part[n]);
        if (zmq_msg_recv(&part[n], s->zs, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part[n]);
            break;
        }
        if (!zmq_msg_more(&part[n])) {
            n++;
            break;
        }
    }
    bool ok = n == 3 && !zmq_msg_more(&part[2]) && zmq_msg_size(&part[1]) == 0 &&
              zmq_msg_size(&part[0]) <= sizeof peer->id;
    if (n == 3 && zmq_msg_more(&part[2]))
        s_drain(s->zs);
    if (ok) {
        peer->len = zmq_msg_size(&part[0]);
        memcpy(peer->id, zmq_msg_data(&part[0]), peer->len);
        *len = zmq_msg_size(&part[2]);
        *body = malloc(*len + 1);
        if (*body != NULL) {
            memcpy(*body, zmq_msg_data(&part[2]), *len);
            (*body)[*len] = '\0';
        }
        ok = *body != NULL;
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
    return ok;
}

void hv_ctlsock_reply(hv_ctlsock *s, const hv_ctl_peer *peer, json_t *reply)
{
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    const char *out = text ? text : "{\"ok\":false,\"error\":\"HV_ENOMEM\",\"code\":1}";
    if (zmq_send(s->zs, peer->id, peer->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(s->zs, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        (void)zmq_send(s->zs, out, strlen(out), ZMQ_DONTWAIT);
    free(text);
}
