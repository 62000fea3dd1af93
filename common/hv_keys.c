/* Key files; formats in proto/PROTOCOL.md §7. */
#include "hv_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_ids.h"

#define S_SECRET_MAGIC "haven-secret-keys v1"
#define S_SECRET_FILE_MAX 4096

/* Writes all of `buf` to a new file at `path` with `mode`, then fsyncs.
 * O_EXCL so that a key is never silently overwritten. */
static hv_err s_write_new(const char *path, mode_t mode, const char *buf, size_t len,
                          hv_errmsg *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return hv_fail(e, HV_EEXIST, "%s already exists; refusing to overwrite a key", path);
        return hv_fail(e, HV_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            close(fd);
            unlink(path);
            return hv_fail(e, HV_EIO, "cannot write %s: %s", path, strerror(saved));
        }
        off += (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        int saved = errno;
        close(fd);
        unlink(path);
        return hv_fail(e, HV_EIO, "cannot finish %s: %s", path, strerror(saved));
    }
    close(fd);
    return HV_OK;
}

hv_err hv_keys_generate(const char *node_id, const char *dir, hv_errmsg *e)
{
    if (!hv_node_id_valid_cstr(node_id))
        return hv_fail(e, HV_EINVAL,
                       "invalid node id '%s': expected 1-64 characters of a-z 0-9 . _ -, "
                       "starting with a letter or digit",
                       node_id);
    char key_path[4096], pub_path[4096];
    if ((size_t)snprintf(key_path, sizeof key_path, "%s/%s.key", dir, node_id) >= sizeof key_path ||
        (size_t)snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, node_id) >= sizeof pub_path)
        return hv_fail(e, HV_EINVAL, "output directory path too long");
    if (access(pub_path, F_OK) == 0)
        return hv_fail(e, HV_EEXIST, "%s already exists; refusing to overwrite a key", pub_path);

    hv_keypair *kp = NULL;
    hv_err err = hv_keypair_generate(&kp);
    if (err != HV_OK)
        return hv_fail(e, err, "cannot generate keys: %s", hv_strerror(err));

    /* The secret text is assembled in a stack buffer that is wiped below. */
    uint8_t seeds[3][HV_SEED_BYTES];
    char hex[3][2 * HV_SEED_BYTES + 1];
    char text[1024];
    hv_keypair_seeds(kp, seeds[0], seeds[1], seeds[2]);
    for (int i = 0; i < 3; i++)
        hv_hex(seeds[i], HV_SEED_BYTES, hex[i]);
    int n = snprintf(text, sizeof text,
                     "# Haven secret keys of node %s. Keep this file private (mode 0600)\n"
                     "# and never send it anywhere: give the network authority %s.pub.\n"
                     "%s\nid %s\nsign-seed %s\nbox-secret %s\ntransport-secret %s\n",
                     node_id, node_id, S_SECRET_MAGIC, node_id, hex[0], hex[1], hex[2]);
    err = s_write_new(key_path, 0600, text, (size_t)n, e);
    hv_memzero(seeds, sizeof seeds);
    hv_memzero(hex, sizeof hex);
    hv_memzero(text, sizeof text);
    if (err != HV_OK)
        goto done;

    const hv_pubkeys *pub = hv_keypair_public(kp);
    char kid[2 * HV_KEY_ID_BYTES + 1], sign[65], box[65], transport[65];
    hv_hex(pub->key_id, HV_KEY_ID_BYTES, kid);
    hv_hex(pub->sign, 32, sign);
    hv_hex(pub->box, 32, box);
    hv_hex(pub->transport, 32, transport);
    char pubtext[1024];
    n = snprintf(pubtext, sizeof pubtext,
                 "{\n  \"id\": \"%s\",\n  \"key_id\": \"%s\",\n  \"sign\": \"%s\",\n"
                 "  \"box\": \"%s\",\n  \"transport\": \"%s\"\n}\n",
                 node_id, kid, sign, box, transport);
    err = s_write_new(pub_path, 0644, pubtext, (size_t)n, e);
    if (err != HV_OK)
        unlink(key_path); /* leave no half-made key set behind */
done:
    hv_keypair_free(&kp);
    return err;
}

/* Returns the next line of `text` (NUL-terminated in place) or NULL. */
static char *s_next_line(char **cursor)
{
    char *line = *cursor;
    if (line == NULL || *line == '\0')
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = NULL;
    }
    return line;
}

hv_err hv_keys_parse_secret(const char *text, size_t len, hv_keypair **out, char *node_id,
                            hv_errmsg *e)
{
    if (len >= S_SECRET_FILE_MAX)
        return hv_fail(e, HV_EKEYFORMAT, "secret key file too large (%zu bytes)", len);
    /* Secret text is copied into guarded memory and wiped on every exit. */
    hv_keypair *kp = NULL;
    struct secret_scratch {
        char text[S_SECRET_FILE_MAX];        /* writable copy of the file */
        uint8_t seeds[3][HV_SEED_BYTES];     /* decoded seeds */
    } *s = NULL;
    hv_err err = HV_OK;
    s = hv_secure_alloc(sizeof *s);
    if (s == NULL)
        return HV_ENOMEM;
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    if (memchr(s->text, '\0', len) != NULL) {
        err = hv_fail(e, HV_EKEYFORMAT, "secret key file contains a NUL byte");
        goto done;
    }

    static const char *const fields[] = {"id", "sign-seed", "box-secret", "transport-secret"};
    bool seen[4] = {false, false, false, false};
    char id[HV_NODE_ID_MAX + 1] = "";
    bool magic = false;
    int lineno = 0;
    char *cursor = s->text, *line;
    while ((line = s_next_line(&cursor)) != NULL) {
        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!magic) {
            if (strcmp(line, S_SECRET_MAGIC) != 0) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: expected '%s'", lineno, S_SECRET_MAGIC);
                goto done;
            }
            magic = true;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (sp == NULL) {
            err = hv_fail(e, HV_EKEYFORMAT, "line %d: expected 'name value'", lineno);
            goto done;
        }
        *sp = '\0';
        const char *value = sp + 1;
        size_t f = 0;
        while (f < 4 && strcmp(line, fields[f]) != 0)
            f++;
        if (f == 4 || seen[f]) {
            err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s field '%.32s'", lineno,
                          f == 4 ? "unknown" : "repeated", line);
            goto done;
        }
        seen[f] = true;
        if (f == 0) {
            if (!hv_node_id_valid_cstr(value)) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: invalid node id", lineno);
                goto done;
            }
            strcpy(id, value);
        } else if (hv_unhex(value, s->seeds[f - 1], HV_SEED_BYTES) != HV_OK) {
            err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s must be 64 hex digits", lineno,
                          fields[f]);
            goto done;
        }
    }
    for (size_t f = 0; f < 4; f++) {
        if (!seen[f]) {
            err = hv_fail(e, HV_EKEYFORMAT, "missing field '%s'%s", fields[f],
                          magic ? "" : " (not a Haven secret key file)");
            goto done;
        }
    }
    err = hv_keypair_from_seeds(&kp, s->seeds[0], s->seeds[1], s->seeds[2]);
    if (err != HV_OK) {
        err = hv_fail(e, HV_EKEYFORMAT, "secret keys are degenerate");
        goto done;
    }
    if (node_id != NULL)
        strcpy(node_id, id);
    *out = kp;
done:
    hv_secure_free(s);
    return err;
}

hv_err hv_keys_load_secret(const char *path, hv_keypair **out, char *node_id, hv_errmsg *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hv_fail(e, errno == ENOENT ? HV_ENOTFOUND : HV_EIO, "cannot open %s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hv_fail(e, HV_EKEYFORMAT, "%s is not a regular file", path);
    }
    /* As ssh does: a secret others can read is no longer secret. */
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return hv_fail(e, HV_EKEYPERM,
                       "%s is accessible by group or others (mode %04o); run: chmod 600 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    }
    if (st.st_size >= S_SECRET_FILE_MAX) {
        close(fd);
        return hv_fail(e, HV_EKEYFORMAT, "%s is too large for a secret key file", path);
    }
    char *buf = hv_secure_alloc(S_SECRET_FILE_MAX);
    if (buf == NULL) {
        close(fd);
        return HV_ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, S_SECRET_FILE_MAX - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            hv_secure_free(buf);
            return hv_fail(e, HV_EIO, "cannot read %s: %s", path, strerror(saved));
        }
        if (n == 0 || len + (size_t)n >= S_SECRET_FILE_MAX - 1) {
            len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    hv_err err = hv_keys_parse_secret(buf, len, out, node_id, e);
    hv_secure_free(buf);
    if (err != HV_OK)
        hv_fail_prefix(e, err, path);
    return err;
}

/* Reads a required lower-case hex key field of `len` bytes. */
static hv_err s_json_hex(json_t *obj, const char *name, uint8_t *out, size_t len, hv_errmsg *e)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return hv_fail(e, HV_EKEYFORMAT, "public keys: '%s' must be a string of %zu hex digits",
                       name, 2 * len);
    if (hv_unhex(json_string_value(v), out, len) != HV_OK)
        return hv_fail(e, HV_EKEYFORMAT, "public keys: '%s' must be %zu hex digits", name,
                       2 * len);
    return HV_OK;
}

hv_err hv_keys_from_json(json_t *obj, hv_pubkeys *out, char *node_id, hv_errmsg *e)
{
    if (!json_is_object(obj))
        return hv_fail(e, HV_EKEYFORMAT, "public keys must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        static const char *const known[] = {"id", "key_id", "sign", "box", "transport"};
        bool ok = false;
        for (size_t i = 0; i < 5; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok)
            return hv_fail(e, HV_EKEYFORMAT, "public keys: unknown field '%.64s'", key);
    }
    hv_err err;
    if ((err = s_json_hex(obj, "sign", out->sign, 32, e)) != HV_OK ||
        (err = s_json_hex(obj, "box", out->box, 32, e)) != HV_OK ||
        (err = s_json_hex(obj, "transport", out->transport, 32, e)) != HV_OK)
        return err;
    if (!hv_pubkeys_valid(out))
        return hv_fail(e, HV_EKEYFORMAT, "public keys: a key is not a usable public key");
    hv_key_id(out->sign, out->box, out->transport, out->key_id);
    if (json_object_get(obj, "key_id") != NULL) {
        uint8_t kid[HV_KEY_ID_BYTES];
        if ((err = s_json_hex(obj, "key_id", kid, sizeof kid, e)) != HV_OK)
            return err;
        if (memcmp(kid, out->key_id, sizeof kid) != 0)
            return hv_fail(e, HV_EKEYFORMAT,
                           "public keys: key_id does not match the keys (copy error?)");
    }
    json_t *id = json_object_get(obj, "id");
    if (node_id != NULL) {
        if (!json_is_string(id) || !hv_node_id_valid_cstr(json_string_value(id)))
            return hv_fail(e, HV_EKEYFORMAT, "public keys: 'id' must be a valid node id");
        strcpy(node_id, json_string_value(id));
    }
    return HV_OK;
}

hv_err hv_keys_parse_public(const char *text, size_t len, hv_pubkeys *out, char *node_id,
                            hv_errmsg *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return hv_fail(e, HV_EJSON, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    hv_err err = hv_keys_from_json(root, out, node_id, e);
    json_decref(root);
    return err;
}

hv_err hv_keys_load_public(const char *path, hv_pubkeys *out, char *node_id, hv_errmsg *e)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return hv_fail(e, access(path, F_OK) == 0 ? HV_EJSON : HV_ENOTFOUND,
                       "%s: line %d, column %d: %s", path, jerr.line, jerr.column, jerr.text);
    hv_err err = hv_keys_from_json(root, out, node_id, e);
    json_decref(root);
    if (err != HV_OK)
        hv_fail_prefix(e, err, path);
    return err;
}
