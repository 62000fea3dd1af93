/* Request paths; see hv_web_path.h. */
#include "hv_web_path.h"

#include <string.h>

bool hv_web_path_allowed(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *c = p; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return false;
    for (const char *seg = p; seg != NULL; seg = strchr(seg + 1, '/')) {
        const char *s = seg + 1;
        size_t n = strcspn(s, "/");
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
    }
    return true;
}
