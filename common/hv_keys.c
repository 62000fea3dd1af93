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
#define S_SECRET_MAGIC_V2 "haven-secret-keys v2"
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

/* Assembles the v2 text of `ring` into guarded memory. Caller frees `*out`
 * with hv_secure_free. */
static hv_err s_ring_text(const char *node_id, const hv_keyring *ring, char **out, size_t *len,
                          hv_errmsg *e)
{
    struct ring_scratch {
        uint8_t seeds[3][HV_SEED_BYTES];
        char hex[3][2 * HV_SEED_BYTES + 1];
        uint8_t storage[HV_STORAGE_SECRET_BYTES];
        char storage_hex[2 * HV_STORAGE_SECRET_BYTES + 1];
    } *s = hv_secure_alloc(sizeof *s);
    char *text = hv_secure_alloc(S_SECRET_FILE_MAX);
    if (s == NULL || text == NULL) {
        hv_secure_free(s);
        hv_secure_free(text);
        return HV_ENOMEM;
    }
    hv_keyring_storage_key(ring, s->storage);
    hv_hex(s->storage, sizeof s->storage, s->storage_hex);
    size_t n = (size_t)snprintf(text, S_SECRET_FILE_MAX,
                                "# Haven secret keys of node %s. Keep this file private (mode 0600)\n"
                                "# and never send it anywhere: give the network authority %s.pub.\n"
                                "%s\nid %s\nstorage-secret %s\n",
                                node_id, node_id, S_SECRET_MAGIC_V2, node_id, s->storage_hex);
    for (size_t i = 0; i < hv_keyring_count(ring) && n < S_SECRET_FILE_MAX; i++) {
        const hv_keypair *kp = hv_keyring_at(ring, i);
        char kid[2 * HV_KEY_ID_BYTES + 1];
        hv_hex(hv_keypair_public(kp)->key_id, HV_KEY_ID_BYTES, kid);
        hv_keypair_seeds(kp, s->seeds[0], s->seeds[1], s->seeds[2]);
        for (int j = 0; j < 3; j++)
            hv_hex(s->seeds[j], HV_SEED_BYTES, s->hex[j]);
        n += (size_t)snprintf(text + n, S_SECRET_FILE_MAX - n,
                              "set %s\nsign-seed %s\nbox-secret %s\ntransport-secret %s\n", kid,
                              s->hex[0], s->hex[1], s->hex[2]);
    }
    hv_secure_free(s);
    if (n >= S_SECRET_FILE_MAX) {
        hv_secure_free(text);
        return hv_fail(e, HV_ETOOBIG, "key sets do not fit in a secret key file");
    }
    *out = text;
    *len = n;
    return HV_OK;
}

/* Writes the public keys of `pub` as a .pub file at `path` (new file). */
static hv_err s_write_pub(const char *path, const char *node_id, const hv_pubkeys *pub,
                          hv_errmsg *e)
{
    char kid[2 * HV_KEY_ID_BYTES + 1], sign[65], box[65], transport[65];
    hv_hex(pub->key_id, HV_KEY_ID_BYTES, kid);
    hv_hex(pub->sign, 32, sign);
    hv_hex(pub->box, 32, box);
    hv_hex(pub->transport, 32, transport);
    char pubtext[1024];
    int n = snprintf(pubtext, sizeof pubtext,
                     "{\n  \"id\": \"%s\",\n  \"key_id\": \"%s\",\n  \"sign\": \"%s\",\n"
                     "  \"box\": \"%s\",\n  \"transport\": \"%s\"\n}\n",
                     node_id, kid, sign, box, transport);
    return s_write_new(path, 0644, pubtext, (size_t)n, e);
}

/* Fsyncs the directory that holds `path`, so that a rename in it lasts. */
static hv_err s_sync_dir(const char *path, hv_errmsg *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return hv_fail(e, HV_EIO, "cannot sync directory %s: %s", dir, strerror(saved));
    }
    close(fd);
    return HV_OK;
}

hv_err hv_keys_write_ring(const char *path, const char *node_id, const hv_keyring *ring,
                          hv_errmsg *e)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
        return hv_fail(e, HV_EINVAL, "key file path too long");
    char *text = NULL;
    size_t len = 0;
    hv_err err = s_ring_text(node_id, ring, &text, &len, e);
    if (err != HV_OK)
        return err;
    /* A .new left by a crash holds nothing the key file does not, or a set
     * the operator never saw published: either way it goes. */
    unlink(tmp);
    err = s_write_new(tmp, 0600, text, len, e);
    hv_secure_free(text);
    if (err != HV_OK)
        return err;
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return hv_fail(e, HV_EIO, "cannot replace %s: %s", path, strerror(saved));
    }
    return s_sync_dir(path, e);
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
    hv_keyring *ring = NULL;
    char *text = NULL;
    size_t len = 0;
    hv_err err = hv_keypair_generate(&kp);
    if (err != HV_OK)
        return hv_fail(e, err, "cannot generate keys: %s", hv_strerror(err));
    /* A new file's storage secret is derived from its first box secret, as
     * a v1 file's storage key is: the same keys give the same stores. */
    if ((err = hv_keyring_from_keypair(&ring, &kp)) != HV_OK) {
        hv_keypair_free(&kp);
        return err;
    }
    if ((err = s_ring_text(node_id, ring, &text, &len, e)) != HV_OK)
        goto done;
    err = s_write_new(key_path, 0600, text, len, e);
    hv_secure_free(text);
    if (err != HV_OK)
        goto done;
    err = s_write_pub(pub_path, node_id, hv_keypair_public(hv_keyring_at(ring, 0)), e);
    if (err != HV_OK)
        unlink(key_path); /* leave no half-made key set behind */
done:
    hv_keyring_free(&ring);
    return err;
}

hv_err hv_keys_rotate(const char *node_id, const char *dir, hv_pubkeys *out, hv_errmsg *e)
{
    if (!hv_node_id_valid_cstr(node_id))
        return hv_fail(e, HV_EINVAL, "invalid node id '%s'", node_id);
    char key_path[4096], pub_path[4096];
    if ((size_t)snprintf(key_path, sizeof key_path, "%s/%s.key", dir, node_id) >= sizeof key_path ||
        (size_t)snprintf(pub_path, sizeof pub_path, "%s/%s.next.pub", dir, node_id) >=
            sizeof pub_path)
        return hv_fail(e, HV_EINVAL, "output directory path too long");
    hv_keyring *ring = NULL;
    hv_keypair *kp = NULL;
    char owner[HV_NODE_ID_MAX + 1];
    hv_err err = hv_keys_load_ring(key_path, &ring, owner, e);
    if (err != HV_OK)
        return err;
    if (strcmp(owner, node_id) != 0) {
        err = hv_fail(e, HV_EKEYFORMAT, "%s holds the keys of '%s', not '%s'", key_path, owner,
                      node_id);
        goto done;
    }
    if (hv_keyring_count(ring) >= HV_KEYRING_MAX) {
        err = hv_fail(e, HV_EEXIST,
                      "%s holds %d key sets already (a rotation is under way): wait until the "
                      "node has destroyed its old keys (log keys_destroyed)",
                      key_path, HV_KEYRING_MAX);
        goto done;
    }
    if (access(pub_path, F_OK) == 0) {
        err = hv_fail(e, HV_EEXIST,
                      "%s already exists: a rotation was started; remove it only if its keys "
                      "were never given to the authority",
                      pub_path);
        goto done;
    }
    if ((err = hv_keypair_generate(&kp)) != HV_OK) {
        err = hv_fail(e, err, "cannot generate keys: %s", hv_strerror(err));
        goto done;
    }
    hv_pubkeys pub = *hv_keypair_public(kp);
    if ((err = hv_keyring_add(ring, &kp)) != HV_OK) {
        err = hv_fail(e, err, "cannot add the new key set");
        goto done;
    }
    /* The secret first: a published key whose secret was lost would be a
     * node nobody can reach. */
    if ((err = hv_keys_write_ring(key_path, node_id, ring, e)) != HV_OK ||
        (err = s_write_pub(pub_path, node_id, &pub, e)) != HV_OK)
        goto done;
    if (out != NULL)
        *out = pub;
done:
    hv_keypair_free(&kp);
    hv_keyring_free(&ring);
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

/* Reads "name value" at `line`; returns the value or NULL. */
static const char *s_field(char *line, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0 || line[n] != ' ')
        return NULL;
    return line + n + 1;
}

hv_err hv_keys_parse_ring(const char *text, size_t len, hv_keyring **out, char *node_id,
                          hv_errmsg *e)
{
    if (len >= S_SECRET_FILE_MAX)
        return hv_fail(e, HV_EKEYFORMAT, "secret key file too large (%zu bytes)", len);
    /* Secret text is copied into guarded memory and wiped on every exit. */
    struct secret_scratch {
        char text[S_SECRET_FILE_MAX];                  /* writable copy of the file */
        uint8_t seeds[3][HV_SEED_BYTES];               /* decoded seeds of one set */
        uint8_t storage[HV_STORAGE_SECRET_BYTES];      /* v2 storage secret */
    } *s = NULL;
    hv_keyring *ring = NULL;
    hv_keypair *kp = NULL;
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

    /* v1: id and one set's three fields in any order. v2: id, storage-secret,
     * then one or more "set KID" each followed by its three fields in order. */
    static const char *const fields[] = {"sign-seed", "box-secret", "transport-secret"};
    char id[HV_NODE_ID_MAX + 1] = "";
    int version = 0;
    bool have_storage = false, in_set = false;
    bool seen[3] = {false, false, false};
    uint8_t kid[HV_KEY_ID_BYTES];
    int lineno = 0, set_line = 0;
    char *cursor = s->text, *line;
    for (;;) {
        line = s_next_line(&cursor);
        if (line != NULL) {
            lineno++;
            if (line[0] == '#' || line[0] == '\0')
                continue;
        }
        if (version == 0) {
            if (line != NULL && strcmp(line, S_SECRET_MAGIC) == 0)
                version = 1;
            else if (line != NULL && strcmp(line, S_SECRET_MAGIC_V2) == 0)
                version = 2;
            else if (line != NULL) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: expected '%s' or '%s'", lineno,
                              S_SECRET_MAGIC_V2, S_SECRET_MAGIC);
                goto done;
            }
            if (line == NULL) {
                err = hv_fail(e, HV_EKEYFORMAT, "missing field 'id' (not a Haven secret key file)");
                goto done;
            }
            continue;
        }
        /* A set ends at the next "set" line, or at the end (v1: at the end). */
        bool set_line_now = line != NULL && version == 2 && s_field(line, "set") != NULL;
        if (in_set && (line == NULL || set_line_now)) {
            for (size_t f = 0; f < 3; f++) {
                if (!seen[f] && version == 1) {
                    err = hv_fail(e, HV_EKEYFORMAT, "missing field '%s'", fields[f]);
                    goto done;
                }
                if (!seen[f]) {
                    err = hv_fail(e, HV_EKEYFORMAT, "missing field '%s' in the set of line %d",
                                  fields[f], set_line);
                    goto done;
                }
            }
            if (hv_keypair_from_seeds(&kp, s->seeds[0], s->seeds[1], s->seeds[2]) != HV_OK) {
                err = hv_fail(e, HV_EKEYFORMAT, "secret keys are degenerate");
                goto done;
            }
            hv_memzero(s->seeds, sizeof s->seeds);
            if (version == 2 &&
                memcmp(hv_keypair_public(kp)->key_id, kid, HV_KEY_ID_BYTES) != 0) {
                err = hv_fail(e, HV_EKEYFORMAT,
                              "line %d: the set's key id does not match its keys", set_line);
                goto done;
            }
            if (ring == NULL) {
                err = version == 1 ? hv_keyring_from_keypair(&ring, &kp)
                                   : hv_keyring_new(&ring, s->storage);
                if (err != HV_OK)
                    goto done;
            }
            if (kp != NULL && (err = hv_keyring_add(ring, &kp)) != HV_OK) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s", set_line,
                              err == HV_EEXIST ? "the same key set twice"
                                               : "more key sets than a key file may hold");
                goto done;
            }
            in_set = false;
            seen[0] = seen[1] = seen[2] = false;
        }
        if (line == NULL)
            break;
        const char *value;
        if ((value = s_field(line, "id")) != NULL) {
            if (id[0] != '\0' || (version == 2 && (have_storage || in_set || ring != NULL))) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s field 'id'", lineno,
                              id[0] != '\0' ? "repeated" : "misplaced");
                goto done;
            }
            if (!hv_node_id_valid_cstr(value)) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: invalid node id", lineno);
                goto done;
            }
            strcpy(id, value);
            if (version == 1)
                in_set = true; /* a v1 file is one set, fields in any order */
            continue;
        }
        if (version == 2 && (value = s_field(line, "storage-secret")) != NULL) {
            if (have_storage || id[0] == '\0' || ring != NULL || in_set) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s field 'storage-secret'", lineno,
                              have_storage ? "repeated" : "misplaced");
                goto done;
            }
            if (hv_unhex(value, s->storage, sizeof s->storage) != HV_OK) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: storage-secret must be 64 hex digits",
                              lineno);
                goto done;
            }
            have_storage = true;
            continue;
        }
        if (set_line_now) {
            if (!have_storage) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: 'id' and 'storage-secret' come first",
                              lineno);
                goto done;
            }
            if (hv_unhex(s_field(line, "set"), kid, sizeof kid) != HV_OK) {
                err = hv_fail(e, HV_EKEYFORMAT, "line %d: set must name a 16 hex digit key id",
                              lineno);
                goto done;
            }
            in_set = true;
            set_line = lineno;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (sp == NULL) {
            err = hv_fail(e, HV_EKEYFORMAT, "line %d: expected 'name value'", lineno);
            goto done;
        }
        *sp = '\0';
        value = sp + 1;
        size_t f = 0;
        while (f < 3 && strcmp(line, fields[f]) != 0)
            f++;
        if (f == 3 || seen[f] || (version == 2 && !in_set)) {
            err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s field '%.32s'", lineno,
                          f == 3 ? "unknown" : seen[f] ? "repeated" : "misplaced", line);
            goto done;
        }
        if (version == 1)
            in_set = true;
        seen[f] = true;
        if (hv_unhex(value, s->seeds[f], HV_SEED_BYTES) != HV_OK) {
            err = hv_fail(e, HV_EKEYFORMAT, "line %d: %s must be 64 hex digits", lineno,
                          fields[f]);
            goto done;
        }
    }
    if (id[0] == '\0') {
        err = hv_fail(e, HV_EKEYFORMAT, "missing field 'id'");
        goto done;
    }
    if (ring == NULL) {
        err = hv_fail(e, HV_EKEYFORMAT, version == 2 && !have_storage
                                            ? "missing field 'storage-secret'"
                                            : "no key set in the file");
        goto done;
    }
    if (node_id != NULL)
        strcpy(node_id, id);
    *out = ring;
    ring = NULL;
done:
    hv_keypair_free(&kp);
    hv_keyring_free(&ring);
    hv_secure_free(s);
    return err;
}

/* Takes the set a one-set caller uses out of `ring`: the newest. */
static hv_err s_newest(hv_keyring *ring, hv_keypair **out)
{
    size_t n = hv_keyring_count(ring);
    uint8_t sign[HV_SEED_BYTES], box[HV_SEED_BYTES], transport[HV_SEED_BYTES];
    hv_keypair_seeds(hv_keyring_at(ring, n - 1), sign, box, transport);
    hv_err err = hv_keypair_from_seeds(out, sign, box, transport);
    hv_memzero(sign, sizeof sign);
    hv_memzero(box, sizeof box);
    hv_memzero(transport, sizeof transport);
    return err;
}

hv_err hv_keys_parse_secret(const char *text, size_t len, hv_keypair **out, char *node_id,
                            hv_errmsg *e)
{
    hv_keyring *ring = NULL;
    hv_err err = hv_keys_parse_ring(text, len, &ring, node_id, e);
    if (err != HV_OK)
        return err;
    err = s_newest(ring, out);
    hv_keyring_free(&ring);
    return err;
}

hv_err hv_keys_load_ring(const char *path, hv_keyring **out, char *node_id, hv_errmsg *e)
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
    hv_err err = hv_keys_parse_ring(buf, len, out, node_id, e);
    hv_secure_free(buf);
    if (err != HV_OK)
        hv_fail_prefix(e, err, path);
    return err;
}

hv_err hv_keys_load_secret(const char *path, hv_keypair **out, char *node_id, hv_errmsg *e)
{
    hv_keyring *ring = NULL;
    hv_err err = hv_keys_load_ring(path, &ring, node_id, e);
    if (err != HV_OK)
        return err;
    err = s_newest(ring, out);
    hv_keyring_free(&ring);
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
