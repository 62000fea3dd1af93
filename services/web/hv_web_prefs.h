/* A person's preferences in the pages: their language (en, fr, ar, the
 * route's working languages) and time zone (an IANA name), kept per staff
 * member in haven-web's store (hv_web_store_prefs_*). This module checks
 * the values and picks a language from a browser's Accept-Language when
 * none is saved; it holds no state. */
#ifndef HV_WEB_PREFS_H
#define HV_WEB_PREFS_H

#include <stdbool.h>

#define HV_WEB_LANG_MAX 2  /* "en", "fr", "ar" */
#define HV_WEB_TZ_MAX 64   /* longer than any IANA zone name */
#define HV_WEB_TZ_DIR "/usr/share/zoneinfo"

/* True for "en", "fr" and "ar". */
bool hv_web_lang_ok(const char *lang);

/* The language to use for an Accept-Language header `header` (may be
 * NULL): the supported one of highest q (the first among equals), "en"
 * when none is acceptable. Returns a static string. */
const char *hv_web_lang_from_accept(const char *header);

/* True when `tz` reads as a zone name (^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$,
 * at most HV_WEB_TZ_MAX bytes) and names a file under `dir` (HV_WEB_TZ_DIR;
 * the fuzz target passes NULL to check the form only). */
bool hv_web_tz_ok(const char *tz, const char *dir);

#endif
