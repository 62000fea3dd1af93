/* Prometheus text exposition; see hv_prom.h. */
#include "hv_prom.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hv_version.h"

static void s_cat(hv_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_cat(hv_prom *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->buf ? p->buf + p->len : NULL, p->buf ? p->cap - p->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->failed = true;
            return;
        }
        if (p->buf != NULL && p->len + (size_t)n < p->cap) {
            p->len += (size_t)n;
            return;
        }
        size_t grown = (p->cap ? p->cap * 2 : 4096) + (size_t)n;
        char *b = realloc(p->buf, grown);
        if (b == NULL) {
            p->failed = true;
            return;
        }
        p->buf = b;
        p->cap = grown;
    }
}

void hv_prom_family(hv_prom *p, const char *name, const char *type, const char *help)
{
    s_cat(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped as the format asks. */
static void s_label_value(hv_prom *p, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            s_cat(p, "\\\\");
        else if (*v == '"')
            s_cat(p, "\\\"");
        else if (*v == '\n')
            s_cat(p, "\\n");
        else
            s_cat(p, "%c", *v);
    }
}

void hv_prom_sample(hv_prom *p, const char *name, const char *const *labels, size_t n_labels,
                    double value)
{
    s_cat(p, "%s", name);
    for (size_t i = 0; i < n_labels; i++) {
        s_cat(p, "%s%s=\"", i == 0 ? "{" : ",", labels[2 * i]);
        s_label_value(p, labels[2 * i + 1]);
        s_cat(p, "\"");
    }
    if (n_labels > 0)
        s_cat(p, "}");
    if (isinf(value))
        s_cat(p, " %s\n", value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 9007199254740992.0)
        s_cat(p, " %.0f\n", value);
    else
        s_cat(p, " %.6f\n", value);
}

/* Field `k` (1-based, as proc(5) counts) of /proc/self/stat, after the
 * command name (which may hold spaces) has been skipped. */
static bool s_stat_field(const char *stat, int k, double *out)
{
    const char *p = strrchr(stat, ')');
    if (p == NULL)
        return false;
    p++;
    for (int f = 3; f <= k; f++) { /* field 3 is the state, after ") " */
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return false;
        if (f == k)
            return sscanf(p, "%lf", out) == 1;
        while (*p != ' ' && *p != '\0')
            p++;
    }
    return false;
}

/* The system's boot time (Unix seconds) from /proc/stat's btime. */
static bool s_boot_time(double *out)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return false;
    char line[256];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = sscanf(line, "btime %lf", out) == 1;
    fclose(f);
    return found;
}

void hv_prom_process(hv_prom *p, const char *const *labels, size_t n_labels)
{
    double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    char stat[1024] = "";
    FILE *f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        if (fgets(stat, sizeof stat, f) == NULL)
            stat[0] = '\0';
        fclose(f);
    }
    double utime, stime, start, rss, boot;
    if (ticks > 0 && s_stat_field(stat, 14, &utime) && s_stat_field(stat, 15, &stime)) {
        hv_prom_family(p, "process_cpu_seconds_total", "counter",
                       "User and system CPU time spent, seconds.");
        hv_prom_sample(p, "process_cpu_seconds_total", labels, n_labels,
                       (utime + stime) / ticks);
    }
    if (page > 0 && s_stat_field(stat, 24, &rss)) {
        hv_prom_family(p, "process_resident_memory_bytes", "gauge",
                       "Resident memory size, bytes.");
        hv_prom_sample(p, "process_resident_memory_bytes", labels, n_labels, rss * page);
    }
    if (ticks > 0 && s_stat_field(stat, 22, &start) && s_boot_time(&boot)) {
        hv_prom_family(p, "process_start_time_seconds", "gauge",
                       "Start time of the process since the Unix epoch, seconds.");
        hv_prom_sample(p, "process_start_time_seconds", labels, n_labels,
                       floor(boot + start / ticks));
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        double n = -1; /* the directory's own descriptor is not the process's */
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        hv_prom_family(p, "process_open_fds", "gauge", "Open file descriptors.");
        hv_prom_sample(p, "process_open_fds", labels, n_labels, n);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        hv_prom_family(p, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        hv_prom_sample(p, "process_max_fds", labels, n_labels, (double)rl.rlim_cur);
    }
}

void hv_prom_build_info(hv_prom *p, const char *program, const char *const *labels,
                        size_t n_labels)
{
    const char *all[2 * 8];
    size_t n = 0;
    for (; n < n_labels && n < 6; n++) {
        all[2 * n] = labels[2 * n];
        all[2 * n + 1] = labels[2 * n + 1];
    }
    all[2 * n] = "program";
    all[2 * n + 1] = program;
    n++;
    all[2 * n] = "version";
    all[2 * n + 1] = HV_VERSION;
    n++;
    hv_prom_family(p, "haven_build_info", "gauge",
                   "Always 1: the program and the version of Haven it was built from.");
    hv_prom_sample(p, "haven_build_info", all, n, 1);
}

char *hv_prom_take(hv_prom *p)
{
    char *out = p->failed ? NULL : p->buf;
    if (p->failed)
        free(p->buf);
    if (out == NULL && !p->failed)
        out = strdup("");
    p->buf = NULL;
    p->len = p->cap = 0;
    p->failed = false;
    return out;
}
