/* Which request paths haven-web resolves at all. A decoded path (after
 * libmicrohttpd's %-decoding) with a "." or ".." segment, a backslash, a
 * control character or no leading '/' is refused before it comes near the
 * file system; what passes is then resolved and must still lie inside the
 * assets folder (hv_web_http.c). */
#ifndef HV_WEB_PATH_H
#define HV_WEB_PATH_H

#include <stdbool.h>

/* True when `path` may be looked up. */
bool hv_web_path_allowed(const char *path);

#endif
