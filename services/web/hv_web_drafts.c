/* Drafts of referrals under /api/v1/drafts (an intake's haven-web): each
 * request is the worker's draft.* command as the signed-in person, so the
 * worker keeps the draft sealed and decides who sees it (docs/API.md,
 * "Drafts"); haven-web keeps nothing of it. */
#include <string.h>

#include "hv_web_api.h"
#include "hv_web_error.h"

static bool s_hexid(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

enum MHD_Result hv_web_drafts_handle(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                     json_t *body, char **seg, int n)
{
    const char *m = req->method;
    if (n == 1 && strcmp(m, "GET") == 0)
        return hv_web_api_call(api, req, who, "draft.list", json_object(), 200);
    if (n == 1 && strcmp(m, "POST") == 0)
        return hv_web_api_call(api, req, who, "draft.save", json_pack("{s:O}", "draft", body),
                               201);
    if (n != 2 || !s_hexid(seg[1]))
        return hv_web_send_error(req, 404, HV_ENOTFOUND, "no such draft", NULL);
    if (strcmp(m, "GET") == 0)
        return hv_web_api_call(api, req, who, "draft.show", json_pack("{s:s}", "id", seg[1]),
                               200);
    if (strcmp(m, "PUT") == 0)
        return hv_web_api_call(api, req, who, "draft.save",
                               json_pack("{s:s, s:O}", "id", seg[1], "draft", body), 200);
    if (strcmp(m, "DELETE") == 0)
        return hv_web_api_call(api, req, who, "draft.delete",
                               json_pack("{s:s}", "id", seg[1]), 200);
    return hv_web_send_error(req, 405, HV_EINVAL, "a draft answers GET, PUT and DELETE", NULL);
}
