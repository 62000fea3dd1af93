/* Fuzz target: haven-web's configuration (hv_web_config_parse: the INI
 * schema and the checks after it), its request-path filter
 * (hv_web_path_allowed) and a person's preferences (hv_web_prefs: the
 * Accept-Language header, a time zone's name), the texts haven-web reads
 * itself rather than through jansson or libmicrohttpd. The input's first
 * byte chooses: bit 7 the preferences (bit 0: Accept-Language), else bit 0
 * the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_web_config.h"
#include "hv_web_path.h"
#include "hv_web_prefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536 || memchr(data + 1, '\0', size - 1) != NULL)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if ((data[0] & 0x80) && (data[0] & 1)) {
        /* Always one of the three languages. */
        if (!hv_web_lang_ok(hv_web_lang_from_accept(text)))
            abort();
    } else if (data[0] & 0x80) {
        /* An accepted name never leaves the zone folder nor has a dot. */
        if (hv_web_tz_ok(text, NULL) && (text[0] == '/' || strchr(text, '.') != NULL ||
                                         strlen(text) > HV_WEB_TZ_MAX))
            abort();
    } else if (data[0] & 1) {
        bool ok = hv_web_path_allowed(text);
        /* What passes never climbs out of the folder. */
        if (ok && (strstr(text, "/../") != NULL || strstr(text, "\\") != NULL ||
                   (strlen(text) >= 3 && strcmp(text + strlen(text) - 3, "/..") == 0)))
            abort();
    } else {
        hv_web_config *c = malloc(sizeof *c);
        hv_errmsg e = {""};
        if (c != NULL) {
            hv_err err = hv_web_config_parse(text, "/etc/haven/web.ini", c, &e);
            /* Every refusal is explained; an accepted file names its node,
             * and plain HTTP is never accepted off loopback. */
            if ((err != HV_OK && e.text[0] == '\0') ||
                (err == HV_OK && (c->node[0] == '\0' || (!c->tls && !c->loopback))))
                abort();
        }
        free(c);
    }
    free(text);
    return 0;
}
