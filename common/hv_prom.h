/* Prometheus text exposition (format 0.0.4), for every daemon's /metrics:
 * one job, writing families the same way everywhere. A family is opened
 * with its HELP and TYPE lines (hv_prom_family) and then its samples
 * (hv_prom_sample); the process metrics every Prometheus client exports
 * (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds, read from
 * /proc/self) and haven_build_info are written here too, so that the
 * broker and the workers cannot differ in them.
 *
 * Label values are the caller's: node ids, country codes, state and code
 * names, never content. They are escaped here all the same. */
#ifndef HV_PROM_H
#define HV_PROM_H

#include <stdbool.h>
#include <stddef.h>

/* A growing text; on the stack, fields are private. Start with
 * `hv_prom p = {0};`. */
typedef struct hv_prom {
    char *buf;   /* the text (malloc'd), or NULL */
    size_t len;  /* bytes written */
    size_t cap;  /* allocated */
    bool failed; /* an allocation failed: the text is incomplete */
} hv_prom;

/* Opens family `name` of `type` ("counter", "gauge", "histogram") with
 * its `help` (one line). */
void hv_prom_family(hv_prom *p, const char *name, const char *type, const char *help);

/* One sample: `name` (the family's, or with _bucket, _sum, _count), its
 * labels as `n_labels` name/value pairs in `labels` (may be 0), and its
 * value. */
void hv_prom_sample(hv_prom *p, const char *name, const char *const *labels, size_t n_labels,
                    double value);

/* process_* from /proc/self, with the `labels` given (e.g. the broker's
 * id). What cannot be read is left out rather than written as 0. */
void hv_prom_process(hv_prom *p, const char *const *labels, size_t n_labels);

/* haven_build_info{...labels, program, version} 1. */
void hv_prom_build_info(hv_prom *p, const char *program, const char *const *labels,
                        size_t n_labels);

/* The text, NUL-terminated; the caller owns it. NULL when an allocation
 * failed (the partial text is freed). `p` is empty afterwards. */
char *hv_prom_take(hv_prom *p);

#endif
