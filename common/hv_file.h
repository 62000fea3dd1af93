/* Reading a whole file (or stream) into memory, with a size limit checked
 * as it is read, so that a huge or endless input is refused, not swallowed;
 * and checking, before a daemon starts, that it may create its files. */
#ifndef HV_FILE_H
#define HV_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hv_err.h"

/* Reads all of `f` (at most `max` bytes). On HV_OK the caller owns `*out`
 * (free()), which holds `*len` bytes followed by a NUL byte, so text can be
 * used as a C string. Returns HV_OK, HV_ETOOBIG, HV_EIO or HV_ENOMEM. */
HV_MUST_CHECK hv_err hv_file_read_stream(FILE *f, size_t max, uint8_t **out, size_t *len);

/* As hv_file_read_stream for the file at `path`; errors name the path in
 * `e`. Adds HV_ENOTFOUND for a missing file. */
HV_MUST_CHECK hv_err hv_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
                                  hv_errmsg *e);

/* The directory of `path` into `dir` (`cap` bytes): "." for a bare file
 * name, "/" for a file at the root. */
void hv_file_dir(const char *path, char *dir, size_t cap);

/* Checks that a file can be created at `path`: its directory exists and
 * this process may write and search it (the daemons' -n, for their stores
 * and sockets). `what` names the setting in the message ("[broker] store").
 * Returns HV_OK or HV_EIO. */
HV_MUST_CHECK hv_err hv_file_can_create(const char *path, const char *what, hv_errmsg *e);

#endif
