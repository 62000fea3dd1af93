#include "hv_ids.h"

#include <string.h>

bool hv_node_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > HV_NODE_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

bool hv_node_id_valid_cstr(const char *id) { return hv_node_id_valid(id, strlen(id)); }

static const char *const s_role_names[HV_ROLE_MAX + 1] = {
    [HV_ROLE_BROKER] = "broker",     [HV_ROLE_INTAKE] = "intake",
    [HV_ROLE_ROUTER] = "router",     [HV_ROLE_PROVIDER] = "provider",
    [HV_ROLE_OPERATOR] = "operator",
};

const char *hv_role_name(unsigned role)
{
    return role >= 1 && role <= HV_ROLE_MAX ? s_role_names[role] : NULL;
}

unsigned hv_role_from_name(const char *name)
{
    for (unsigned r = 1; r <= HV_ROLE_MAX; r++)
        if (strcmp(name, s_role_names[r]) == 0)
            return r;
    return 0;
}
