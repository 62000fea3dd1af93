/* Haven error codes.
 *
 * One enum for the whole project. The numbers are part of the wire protocol
 * (the broker's ERROR message carries them, proto/PROTOCOL.md §6), so a code
 * is never renumbered and a retired one is never reused. */
#ifndef HV_ERR_H
#define HV_ERR_H

#include <stddef.h>

#define HV_MUST_CHECK __attribute__((warn_unused_result))

typedef enum hv_err {
    HV_OK = 0,
    HV_ENOMEM = 1,          /* out of memory */
    HV_EINVAL = 2,          /* invalid argument (a programmer or user error) */
    HV_EIO = 3,             /* a file or system call failed */
    HV_EDECODE = 4,         /* malformed or non-canonical encoding */
    HV_ETRUNCATED = 5,      /* input ends before the value it announces */
    HV_ETOOBIG = 6,         /* a field or message exceeds its maximum */
    HV_EVERSION = 7,        /* unsupported protocol or format version */
    HV_ETYPE = 8,           /* unknown message or command type */
    HV_ETRAILING = 9,       /* bytes left over after a complete value */
    HV_ECRYPTO = 10,        /* signature, MAC or key agreement failed */
    HV_EKEYPERM = 11,       /* secret key file readable by group or others */
    HV_EKEYFORMAT = 12,     /* malformed key or key file */
    HV_ECONFIG = 13,        /* configuration file error */
    HV_EJSON = 14,          /* JSON syntax or schema error */
    HV_EREG_SIGNATURE = 15, /* registry signature does not verify */
    HV_EREG_EXPIRED = 16,   /* registry expired or not yet valid */
    HV_EREG_ROLLBACK = 17,  /* registry older than the one already held */
    HV_EREG_ROLE = 18,      /* unknown node role */
    HV_EREG_DUPLICATE = 19, /* the same node id (or key) twice */
    HV_EREG_HOME = 20,      /* a worker's home broker is missing */
    HV_EREG_INVALID = 21,   /* any other registry content error */
    HV_ENOTFOUND = 22,      /* no such node, file or entry */
    HV_EEXIST = 23,         /* would overwrite something that exists */
    HV_EADDRESS = 24,       /* message not addressed to this node */
    HV_EAUTH = 25,          /* peer not authenticated or not registered */
    HV_EFORBIDDEN = 26,     /* sender's role may not send this */
    HV_ERATE = 27,          /* rate limit exceeded */
    HV_EUNROUTABLE = 28,    /* no route to the recipient */
    HV_EEXPIRED = 29,       /* message past its time to live */
    HV_ESTORE = 30,         /* durable store failed */
    HV_EPROTO = 31,         /* valid message at the wrong time */
    HV_ETIMEOUT = 32,       /* a deadline passed */
    HV_EPERM = 33,          /* the system refused access to a file or socket */
} hv_err;

/* Highest code in use; tests walk 0..HV_ERR_MAX. */
#define HV_ERR_MAX 33

/* Returns a short, constant description of `err` (never NULL). */
const char *hv_strerror(hv_err err);

/* Returns the stable symbolic name of `err`, e.g. "HV_ECRYPTO" (never NULL). */
const char *hv_errname(hv_err err);

/* A human-readable explanation that goes with an error code: which file,
 * which node, which field. Fields are private; callers read `text`. */
typedef struct hv_errmsg {
    char text[512]; /* NUL-terminated explanation, empty when none */
} hv_errmsg;

/* Writes a formatted explanation into `e` (ignored when `e` is NULL) and
 * returns `err`, so that a failing path reads `return hv_fail(e, ...)`. */
hv_err hv_fail(hv_errmsg *e, hv_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the explanation already in `e` with "`prefix`: " (for adding
 * the file name or JSON path an inner function did not know) and returns
 * `err`. */
hv_err hv_fail_prefix(hv_errmsg *e, hv_err err, const char *prefix);

#endif
