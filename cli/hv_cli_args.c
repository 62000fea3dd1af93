/* The command line of one `haven` command, and the configuration profile;
 * see hv_cli.h. */
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hv_cli.h"
#include "hv_config.h"

#define S_OPT_BASE 1000 /* getopt_long values of the command's own options */
#define S_OPTS_MAX 32   /* options one command may declare */

/* -------------------------------------------------------------- profile */

const char *const hv_cli_profile_names[] = {"config", "key",      "authority", "registry",
                                            "broker", "endpoint", "store",     NULL};

/* The profile file, read once, when a command first needs it. */
static struct s_profile {
    bool loaded;                /* read (or found absent) already */
    int rc;                     /* 0, or the exit code of an invalid file */
    char config[PATH_MAX];      /* [haven] config */
    char key[PATH_MAX];         /* [haven] key */
    char authority[PATH_MAX];   /* [haven] authority */
    char registry[PATH_MAX];    /* [haven] registry */
    char broker[PATH_MAX];      /* [haven] broker (a node id) */
    char endpoint[PATH_MAX];    /* [haven] endpoint (a ZeroMQ endpoint) */
    char store[PATH_MAX];       /* [haven] store */
} s_profile;

/* The profile's path: $HAVEN_PROFILE, else under $XDG_CONFIG_HOME or
 * ~/.config. Returns false when there is none to look at. `*explicit`
 * says whether it was named by HAVEN_PROFILE (then it must exist). */
static bool s_profile_path(char *out, size_t cap, bool *explicit)
{
    const char *p = getenv("HAVEN_PROFILE"), *xdg = getenv("XDG_CONFIG_HOME"),
               *home = getenv("HOME");
    *explicit = p != NULL && p[0] != '\0';
    int n;
    if (*explicit)
        n = snprintf(out, cap, "%s", p);
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, cap, "%s/haven/profile.ini", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, cap, "%s/.config/haven/profile.ini", home);
    else
        return false;
    return n > 0 && (size_t)n < cap;
}

static void s_profile_load(void)
{
    if (s_profile.loaded)
        return;
    s_profile.loaded = true;
    char path[PATH_MAX];
    bool explicit = false;
    if (!s_profile_path(path, sizeof path, &explicit))
        return;
#define F(name, what)                                                                          \
    {"haven", #name, HV_CFG_STRING, false, 0, 0, offsetof(struct s_profile, name),       \
     sizeof s_profile.name, what}
    static const hv_cfg_field fields[] = {
        F(config, "the path of a worker's configuration"),
        F(key, "the path of a .key file"),
        F(authority, "the path of the authority's .pub file"),
        F(registry, "the path of the signed registry"),
        F(broker, "a broker's node id"),
        F(endpoint, "a ZeroMQ endpoint such as tcp://127.0.0.1:7303"),
        F(store, "the path of a client store"),
    };
#undef F
    hv_errmsg e = {""};
    hv_err err = hv_config_load(path, fields, sizeof fields / sizeof fields[0], &s_profile, &e);
    if (err == HV_ENOTFOUND && !explicit)
        return; /* no profile: nothing to take from it */
    if (err == HV_OK) {
        /* Paths in the file are relative to it; a node id and an endpoint
         * are not paths. */
        char *paths[] = {s_profile.config, s_profile.key, s_profile.authority,
                         s_profile.registry, s_profile.store};
        char *set[5];
        size_t n = 0;
        for (size_t i = 0; i < 5; i++)
            if (paths[i][0] != '\0')
                set[n++] = paths[i];
        err = hv_config_resolve_paths(path, set, n, PATH_MAX, &e);
    }
    if (err != HV_OK) {
        s_profile.rc = hv_cli_report("profile", err, &e);
        memset(&s_profile.config, 0, sizeof s_profile - offsetof(struct s_profile, config));
    }
}

/* The environment variable of option `name`: HAVEN_ and the name in upper
 * case, '-' as '_' ("store" -> "HAVEN_STORE"). */
static void s_env_name(const char *name, char out[64])
{
    size_t n = (size_t)snprintf(out, 64, "HAVEN_");
    for (const char *p = name; *p && n + 1 < 64; p++)
        out[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    out[n] = '\0';
}

const char *hv_cli_profile(const char *name, int *rc)
{
    char env[64];
    s_env_name(name, env);
    const char *v = getenv(env);
    if (v != NULL && v[0] != '\0')
        return v;
    s_profile_load();
    if (s_profile.rc != 0) {
        *rc = s_profile.rc;
        return NULL;
    }
    const char *from = strcmp(name, "config") == 0      ? s_profile.config
                       : strcmp(name, "key") == 0       ? s_profile.key
                       : strcmp(name, "authority") == 0 ? s_profile.authority
                       : strcmp(name, "registry") == 0  ? s_profile.registry
                       : strcmp(name, "broker") == 0    ? s_profile.broker
                       : strcmp(name, "endpoint") == 0  ? s_profile.endpoint
                       : strcmp(name, "store") == 0     ? s_profile.store
                                                        : "";
    return from[0] != '\0' ? from : NULL;
}

/* --------------------------------------------------------------- parsing */

int hv_cli_usage_error(const opts *o, const char *fmt, ...)
{
    const char *name = hv_cli_cmd_name(o->cmd);
    fprintf(stderr, "%s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s %s\nTry '%s --help' for more.\n", name, o->cmd->synopsis,
            name);
    return EXIT_USAGE;
}

/* Whether the command takes option `name` (and whether with a value). */
static bool s_takes(const hv_cli_cmd *cmd, const char *name, bool *with_value)
{
    size_t len = strlen(name);
    for (const char *p = cmd->options; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        bool value = n > 0 && p[n - 1] == '=';
        if ((value ? n - 1 : n) == len && strncmp(p, name, len) == 0) {
            if (with_value != NULL)
                *with_value = value;
            return true;
        }
        p += n;
    }
    return false;
}

static bool s_add(opts *o, const char *name, const char *value)
{
    if (o->count == HV_CLI_OPTS_MAX)
        return false;
    o->names[o->count] = name;
    o->values[o->count++] = value;
    return true;
}

int hv_cli_parse(const hv_cli_cmd *cmd, int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    /* getopt_long's table from the command's declaration; the names are
     * copied out of it, because getopt_long wants them NUL-terminated. */
    static char names[S_OPTS_MAX][32];
    struct option longopts[S_OPTS_MAX + 2];
    int n = 0;
    for (const char *p = cmd->options; *p && n < S_OPTS_MAX;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == 0)
            break;
        bool value = p[len - 1] == '=';
        snprintf(names[n], sizeof names[n], "%.*s", (int)(value ? len - 1 : len), p);
        longopts[n] = (struct option){names[n], value ? required_argument : no_argument, NULL,
                                      S_OPT_BASE + n};
        n++;
        p += len;
    }
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){NULL, 0, NULL, 0};

    opterr = 0;
    optind = 0; /* a full reset: argv[0] is the command's word */
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            hv_cli_print_help(stdout, cmd);
            return 0;
        }
        if (c >= S_OPT_BASE && c < S_OPT_BASE + n) {
            if (!s_add(o, longopts[c - S_OPT_BASE].name, optarg ? optarg : ""))
                return hv_cli_usage_error(o, "too many options");
            continue;
        }
        const char *arg = argv[optind - 1];
        if (c == ':')
            return hv_cli_usage_error(o, "option '%s' needs a value", arg);
        if (optopt >= S_OPT_BASE)
            return hv_cli_usage_error(o, "option '--%s' takes no value",
                                      longopts[optopt - S_OPT_BASE].name);
        if (optopt != 0)
            return hv_cli_usage_error(o, "unknown option '-%c'", optopt);
        return hv_cli_usage_error(o, "unknown option '%s'", arg);
    }
    for (int i = optind; i < argc; i++) {
        if (o->n_args == HV_CLI_ARGS_MAX)
            return hv_cli_usage_error(o, "more than %d arguments", HV_CLI_ARGS_MAX);
        o->args[o->n_args++] = argv[i];
    }
    o->positional = o->n_args > 0 ? o->args[0] : NULL;
    if (o->n_args > cmd->max_args)
        return hv_cli_usage_error(o, "unexpected argument '%s'", o->args[cmd->max_args]);
    if (o->n_args < cmd->min_args)
        return hv_cli_usage_error(o, "missing argument");

    /* What the line does not say, the environment or the profile may. */
    int rc = -1;
    for (const char *const *p = hv_cli_profile_names; *p; p++) {
        if (!s_takes(cmd, *p, NULL) || hv_cli_opt(o, *p) != NULL)
            continue;
        const char *v = hv_cli_profile(*p, &rc);
        if (rc >= 0)
            return rc;
        if (v != NULL && !s_add(o, *p, v))
            return hv_cli_usage_error(o, "too many options");
    }
    return -1;
}

const char *hv_cli_opt(const opts *o, const char *name)
{
    for (int i = o->count - 1; i >= 0; i--)
        if (strcmp(o->names[i], name) == 0)
            return o->values[i];
    return NULL;
}

const char *hv_cli_need(const opts *o, const char *name)
{
    const char *v = hv_cli_opt(o, name);
    if (v != NULL)
        return v;
    bool profiled = false;
    for (const char *const *p = hv_cli_profile_names; *p; p++)
        profiled = profiled || strcmp(*p, name) == 0;
    char env[64];
    s_env_name(name, env);
    if (profiled)
        hv_cli_usage_error(o, "option --%s is required (or %s, or '%s' in the profile)", name,
                           env, name);
    else
        hv_cli_usage_error(o, "option --%s is required", name);
    return NULL;
}

int hv_cli_uint(const opts *o, const char *name, unsigned long long fallback,
                unsigned long long max, unsigned long long *out)
{
    const char *v = hv_cli_opt(o, name);
    *out = fallback;
    if (v == NULL)
        return 0;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || n > max) {
        fprintf(stderr, "%s: --%s: '%s' is not a whole number from 0 to %llu (HV_EINVAL)\n",
                hv_cli_cmd_name(o->cmd), name, v, max);
        return EXIT_REFUSED;
    }
    *out = n;
    return 0;
}
