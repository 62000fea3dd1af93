/* Schema-driven INI reading on top of inih.
 *
 * Debian builds inih without line numbers in the handler, so when a value is
 * refused we remember the section, key and occurrence, and find its line in
 * the text afterwards (s_locate). inih itself returns the line of the first
 * syntax error. */
#include "hv_config.h"

#include "hv_file.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FIELDS_MAX 128
#define S_FILE_MAX (1024 * 1024)

/* State threaded through inih's callback. */
typedef struct s_ctx {
    const char *name;           /* file name for messages */
    const hv_cfg_field *fields; /* schema */
    size_t n;                   /* schema entries */
    void *out;                  /* caller's struct */
    bool seen[S_FIELDS_MAX];    /* which fields were set */
    bool failed;                /* a value was refused */
    char msg[400];              /* why, without file and line */
    char section[64];           /* where: section of the refused key */
    char key[64];               /* where: the refused key */
    int occurrence;             /* where: 1 for its first appearance, 2 for a repeat */
} s_ctx;

static int s_refuse(s_ctx *c, const char *section, const char *key, int occurrence,
                    const char *why)
{
    if (!c->failed) {
        c->failed = true;
        snprintf(c->msg, sizeof c->msg, "%s", why);
        snprintf(c->section, sizeof c->section, "%s", section);
        snprintf(c->key, sizeof c->key, "%s", key);
        c->occurrence = occurrence;
    }
    return 0;
}

static bool s_parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *out = true, true;
        if (strcmp(v, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
    s_ctx *c = user;
    char why[400];
    size_t i = 0;
    bool section_known = false;
    for (; i < c->n; i++) {
        section_known = section_known || strcmp(c->fields[i].section, section) == 0;
        if (strcmp(c->fields[i].section, section) == 0 && strcmp(c->fields[i].key, key) == 0)
            break;
    }
    if (i == c->n) {
        snprintf(why, sizeof why,
                 section_known ? "unknown key '%s' in [%s]" : "key '%s' is in unknown section [%s]",
                 key, section);
        return s_refuse(c, section, key, 1, why);
    }
    const hv_cfg_field *f = &c->fields[i];
    if (c->seen[i]) {
        snprintf(why, sizeof why, "key '%s' in [%s] is given twice", key, section);
        return s_refuse(c, section, key, 2, why);
    }
    c->seen[i] = true;
    char *dst = (char *)c->out + f->offset;
    bool ok = false;
    if (f->type == HV_CFG_STRING) {
        ok = value[0] != '\0' && strlen(value) < f->size;
        if (ok)
            memcpy(dst, value, strlen(value) + 1);
    } else if (f->type == HV_CFG_UINT) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        ok = value[0] >= '0' && value[0] <= '9' && *end == '\0' && errno == 0 && v >= f->min &&
             v <= f->max;
        if (ok) {
            uint64_t u = v;
            memcpy(dst, &u, sizeof u);
        }
    } else if (f->type == HV_CFG_BOOL) {
        bool b;
        ok = s_parse_bool(value, &b);
        if (ok)
            memcpy(dst, &b, sizeof b);
    }
    if (ok)
        return 1;
    snprintf(why, sizeof why, "key '%s' in [%s]: expected %s, got '%.64s'", key, section,
             f->type == HV_CFG_BOOL ? "yes or no" : f->expect, value);
    return s_refuse(c, section, key, 1, why);
}

/* Copies the text between `a` and `b` without surrounding blanks. */
static void s_trimmed(const char *a, const char *b, char *out, size_t cap)
{
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
        b--;
    size_t n = (size_t)(b - a) < cap - 1 ? (size_t)(b - a) : cap - 1;
    memcpy(out, a, n);
    out[n] = '\0';
}

/* Returns the line number of the `occurrence`-th "key = value" of `key` in
 * `section`, or 0 when it cannot be found. */
static int s_locate(const char *text, const char *section, const char *key, int occurrence)
{
    char cur[64] = "", name[64];
    int line = 0, found = 0;
    for (const char *p = text; *p != '\0';) {
        const char *eol = strchr(p, '\n');
        const char *end = eol != NULL ? eol : p + strlen(p);
        line++;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < end && *q == '[') {
            const char *close = memchr(q, ']', (size_t)(end - q));
            if (close != NULL)
                s_trimmed(q + 1, close, cur, sizeof cur);
        } else if (q < end && *q != ';' && *q != '#') {
            const char *sep = q;
            while (sep < end && *sep != '=' && *sep != ':')
                sep++;
            s_trimmed(q, sep, name, sizeof name);
            if (sep < end && strcmp(cur, section) == 0 && strcmp(name, key) == 0 &&
                ++found == occurrence)
                return line;
        }
        p = eol != NULL ? eol + 1 : end;
    }
    return 0;
}

static hv_err s_run(const char *text, const char *name, const hv_cfg_field *fields, size_t n,
                    void *out, hv_errmsg *e)
{
    if (n > S_FIELDS_MAX)
        return HV_EINVAL;
    s_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return HV_ENOMEM;
    *c = (s_ctx){.name = name, .fields = fields, .n = n, .out = out};
    int rc = ini_parse_string(text, s_handler, c);
    hv_err err = HV_OK;
    int bad_line = c->failed ? s_locate(text, c->section, c->key, c->occurrence) : 0;
    if (rc == -2) {
        err = HV_ENOMEM;
    } else if (rc > 0 && (!c->failed || rc < bad_line)) {
        err = hv_fail(e, HV_ECONFIG,
                      "%s:%d: syntax error: expected [section], key = value or a ; comment", name,
                      rc);
    } else if (c->failed) {
        err = hv_fail(e, HV_ECONFIG, "%s:%d: %s", name, bad_line > 0 ? bad_line : rc, c->msg);
    } else {
        for (size_t i = 0; i < n && err == HV_OK; i++)
            if (fields[i].required && !c->seen[i])
                err = hv_fail(e, HV_ECONFIG, "%s: key '%s' in [%s] is required: expected %s",
                              name, fields[i].key, fields[i].section, fields[i].expect);
    }
    free(c);
    return err;
}

hv_err hv_config_parse(const char *text, const char *name, const hv_cfg_field *fields, size_t n,
                       void *out, hv_errmsg *e)
{
    return s_run(text, name, fields, n, out, e);
}

hv_err hv_config_load(const char *path, const hv_cfg_field *fields, size_t n, void *out,
                      hv_errmsg *e)
{
    uint8_t *text = NULL;
    size_t len = 0;
    hv_err err = hv_file_read(path, S_FILE_MAX, &text, &len, e);
    if (err == HV_ETOOBIG)
        err = hv_fail(e, HV_ECONFIG, "%s: file larger than 1 MiB", path);
    else if (err == HV_OK && memchr(text, '\0', len) != NULL)
        err = hv_fail(e, HV_ECONFIG, "%s: contains a NUL byte; expected a text file", path);
    else if (err == HV_OK)
        err = s_run((const char *)text, path, fields, n, out, e);
    free(text);
    return err;
}

hv_err hv_config_resolve_paths(const char *config_path, char *const *paths, size_t n, size_t cap,
                               hv_errmsg *e)
{
    const char *slash = strrchr(config_path, '/');
    if (slash == NULL)
        return HV_OK; /* the file is in the working directory already */
    char *joined = malloc(cap);
    if (joined == NULL)
        return HV_ENOMEM;
    hv_err err = HV_OK;
    for (size_t i = 0; i < n && err == HV_OK; i++) {
        if (paths[i][0] == '/' || paths[i][0] == '\0')
            continue;
        if ((size_t)snprintf(joined, cap, "%.*s/%s", (int)(slash - config_path), config_path,
                             paths[i]) >= cap)
            err = hv_fail(e, HV_ECONFIG, "%s: a path is too long", config_path);
        else
            memcpy(paths[i], joined, strlen(joined) + 1);
    }
    free(joined);
    return err;
}
