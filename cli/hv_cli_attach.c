/* haven's documents of a case (issue 21): the files a referral names
 * uploaded with `haven referral submit`, and `haven attachment list` and
 * `haven attachment save` at a worker. See services/common/hv_attach.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_cli.h"
#include "hv_crypto.h"
#include "hv_ctl.h"
#include "hv_msg.h"

#define S_TIMEOUT_MS 30000
#define S_PART (1024u * 1024) /* HV_ATTACH_PART_MAX and HV_ATTACH_READ_MAX */

/* One control call; on a refusal prints it, prefixed by `what`, and returns
 * its exit code (hv_cli_ask_at). On 0 the caller owns `*result_out` (may be
 * NULL). */
static int s_call(const char *sock, const char *cmd, json_t *args, const char *what,
                  json_t **result_out)
{
    json_t *reply = NULL;
    int rc = hv_cli_ask_at(sock, cmd, args, S_TIMEOUT_MS, what, &reply);
    if (rc == 0 && result_out != NULL)
        *result_out = json_incref(json_object_get(reply, "result"));
    json_decref(reply);
    return rc;
}

/* Uploads one file in parts; `*upload` gets its id (caller frees). */
static int s_upload_file(const char *sock, const char *path, const char *where, char **upload)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "haven: %s: cannot read %s: %s (HV_EIO)\n", where, path,
                fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return EXIT_REFUSED;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    uint8_t *buf = malloc(S_PART);
    int rc = buf ? 0 : EXIT_SYSTEM;
    uint64_t offset = 0;
    *upload = NULL;
    do {
        ssize_t n = 0;
        size_t got = 0;
        while (rc == 0 && got < S_PART && (n = read(fd, buf + got, S_PART - got)) > 0)
            got += (size_t)n;
        if (n < 0) {
            fprintf(stderr, "haven: %s: cannot read %s: %s (HV_EIO)\n", where, path,
                    strerror(errno));
            rc = EXIT_SYSTEM;
        }
        if (rc != 0 || (got == 0 && offset > 0))
            break;
        char *b64 = hv_b64_encode(buf, got);
        if (b64 == NULL) {
            rc = EXIT_SYSTEM;
            break;
        }
        json_t *args = json_pack("{s:s, s:I, s:I, s:s}", "name", base, "size",
                                 (json_int_t)st.st_size, "offset", (json_int_t)offset, "data",
                                 b64);
        hv_memzero(b64, strlen(b64));
        free(b64);
        if (*upload != NULL)
            json_object_set_new(args, "upload", json_string(*upload));
        json_t *result = NULL;
        rc = s_call(sock, "attachment.put", args, where, &result);
        if (rc == 0 && *upload == NULL) {
            const char *id = json_string_value(json_object_get(result, "upload"));
            *upload = id ? strdup(id) : NULL;
            if (*upload == NULL)
                rc = EXIT_SYSTEM;
        }
        json_decref(result);
        offset += got;
        if (got < S_PART)
            break;
    } while (rc == 0 && offset < (uint64_t)st.st_size);
    if (buf != NULL)
        hv_memzero(buf, S_PART);
    free(buf);
    close(fd);
    if (rc != 0) {
        free(*upload);
        *upload = NULL;
    }
    return rc;
}

int hv_cli_attach_upload(const char *sock, const char *case_path, const char *text, size_t len,
                         json_t **uploads)
{
    *uploads = NULL;
    json_t *root = json_loadb(text, len, 0, NULL);
    json_t *list = json_object_get(root, "attachments");
    if (json_array_size(list) == 0) {
        json_decref(root);
        return 0;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", case_path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        slash[1] = '\0';
    else
        dir[0] = '\0';
    json_t *out = json_array();
    int rc = out ? 0 : EXIT_SYSTEM;
    for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
        const char *file = json_string_value(json_object_get(json_array_get(list, i), "file"));
        char path[8192], where[4400];
        snprintf(where, sizeof where, "%s: attachments[%zu] (%s)", case_path, i, file);
        if (file[0] == '/')
            snprintf(path, sizeof path, "%s", file);
        else
            snprintf(path, sizeof path, "%s%s", dir, file);
        char *upload = NULL;
        if ((rc = s_upload_file(sock, path, where, &upload)) == 0)
            json_array_append_new(out, json_pack("{s:s}", "upload", upload));
        free(upload);
    }
    json_decref(root);
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    *uploads = out;
    return 0;
}

static int s_list(const opts *o, const char *sock)
{
    json_t *result = NULL;
    json_t *args = json_pack("{s:s}", "id", o->positional);
    json_t *reply = NULL;
    hv_errmsg e = {""};
    hv_err err = hv_ctl_call(sock, "attachment.list", args, S_TIMEOUT_MS, &reply, &e);
    json_decref(args);
    if (err != HV_OK)
        return hv_cli_report("worker", err, &e);
    bool ok = json_is_true(json_object_get(reply, "ok"));
    if (hv_cli_opt(o, "json") != NULL)
        hv_cli_print_json(reply);
    else if (ok)
        fputs(json_string_value(json_object_get(reply, "text")), stdout);
    else
        fprintf(stderr, "haven: %s (%s)\n", json_string_value(json_object_get(reply, "message")),
                json_string_value(json_object_get(reply, "error")));
    (void)result;
    json_decref(reply);
    return ok ? 0 : EXIT_REFUSED;
}

/* Reads document `n` whole from the worker into `*doc` (caller frees). */
static int s_fetch(const char *sock, const char *id, long n, uint8_t **doc, size_t *size)
{
    json_t *list = NULL;
    int rc = s_call(sock, "attachment.list", json_pack("{s:s}", "id", id), NULL, &list);
    if (rc != 0)
        return rc;
    json_t *item = NULL, *items = json_object_get(list, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (json_integer_value(json_object_get(json_array_get(items, i), "n")) == n)
            item = json_array_get(items, i);
    const char *state = json_string_value(json_object_get(item, "state"));
    if (item == NULL || state == NULL || strcmp(state, "complete") != 0) {
        fprintf(stderr, "haven: referral %s has no complete document %ld (HV_ENOTFOUND)\n", id,
                n);
        json_decref(list);
        return EXIT_REFUSED;
    }
    uint64_t total = (uint64_t)json_integer_value(json_object_get(item, "size"));
    uint8_t want[32];
    const char *hex = json_string_value(json_object_get(item, "digest"));
    for (int i = 0; hex && strlen(hex) == 64 && i < 32; i++)
        sscanf(hex + 2 * i, "%2hhx", &want[i]);
    json_decref(list);
    uint8_t *buf = malloc(total ? total : 1);
    if (buf == NULL)
        return EXIT_SYSTEM;
    uint64_t at = 0;
    while (rc == 0 && at < total) {
        json_t *r = NULL;
        rc = s_call(sock, "attachment.read",
                    json_pack("{s:s, s:i, s:I, s:I}", "id", id, "n", (int)n, "offset",
                              (json_int_t)at, "length", (json_int_t)S_PART),
                    NULL, &r);
        const char *data = json_string_value(json_object_get(r, "data"));
        size_t got = 0;
        if (rc == 0 && (data == NULL ||
                        hv_b64_decode(data, strlen(data), buf + at, total - at, &got) != HV_OK ||
                        got == 0)) {
            fprintf(stderr, "haven: the worker's answer is not the document's bytes "
                            "(HV_EDECODE)\n");
            rc = EXIT_REFUSED;
        }
        json_decref(r);
        at += got;
    }
    uint8_t digest[32];
    hv_hash256(buf, (size_t)total, digest);
    if (rc == 0 && memcmp(digest, want, 32) != 0) {
        fprintf(stderr, "haven: document %ld read back does not match its digest "
                        "(HV_ECRYPTO)\n", n);
        rc = EXIT_REFUSED;
    }
    if (rc != 0) {
        hv_memzero(buf, (size_t)total);
        free(buf);
        return rc;
    }
    *doc = buf;
    *size = (size_t)total;
    return 0;
}

static int s_save(const opts *o, const char *sock)
{
    const char *out = hv_cli_need(o, "out");
    if (out == NULL)
        return EXIT_USAGE;
    char *end = NULL;
    long n = strtol(o->args[1], &end, 10);
    if (end == o->args[1] || *end != '\0' || n < 1 || n > HV_ATTACH_PER_CASE)
        return hv_cli_usage_error(o, "N is a document's number, 1 to %d", HV_ATTACH_PER_CASE);
    /* Refused before anything is read: the file must not exist. */
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "haven: cannot write %s (it must not exist yet): %s (%s)\n", out,
                strerror(errno), errno == EEXIST ? "HV_EEXIST" : "HV_EIO");
        return errno == EEXIST ? EXIT_REFUSED : EXIT_SYSTEM;
    }
    uint8_t *doc = NULL;
    size_t size = 0;
    int rc = s_fetch(sock, o->positional, n, &doc, &size);
    size_t done = 0;
    while (rc == 0 && done < size) {
        ssize_t w = write(fd, doc + done, size - done);
        if (w <= 0) {
            fprintf(stderr, "haven: cannot write %s: %s (HV_EIO)\n", out, strerror(errno));
            rc = EXIT_SYSTEM;
            break;
        }
        done += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = EXIT_SYSTEM;
    if (close(fd) != 0 && rc == 0)
        rc = EXIT_SYSTEM;
    if (doc != NULL)
        hv_memzero(doc, size);
    free(doc);
    if (rc != 0) {
        unlink(out); /* never a partial document */
        return rc;
    }
    if (hv_cli_opt(o, "json") != NULL) {
        json_t *j = json_pack("{s:b, s:s, s:I}", "ok", 1, "file", out, "size", (json_int_t)size);
        hv_cli_print_json(j);
        json_decref(j);
    } else {
        printf("document %ld written to %s (%zu bytes, mode 0600; digest checked): it is part "
               "of the case, keep it safe\n", n, out, size);
    }
    return 0;
}

int hv_cli_attachment(const opts *o)
{
    char sock[4096];
    int rc = hv_cli_worker_socket(o, sock, sizeof sock);
    if (rc != 0)
        return rc;
    return strcmp(o->cmd->sub, "list") == 0 ? s_list(o, sock) : s_save(o, sock);
}
