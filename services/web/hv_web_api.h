/* The API under /api/v1/ (docs/api/openapi.yaml, docs/API.md): sign-in
 * and sessions, then every case operation forwarded to the worker's staff
 * socket as the signed-in person (or token), the staff and token
 * operations of administrators, and the event stream. haven-web filters
 * no case data itself: the worker answers each person with what they may
 * see. */
#ifndef HV_WEB_API_H
#define HV_WEB_API_H

#include <jansson.h>
#include <stdbool.h>

#include "hv_web_auth.h"
#include "hv_web_config.h"
#include "hv_web_http.h"
#include "hv_web_store.h"

#define HV_WEB_WORKER_TIMEOUT_MS 10000

/* What the handlers share. Plain data, borrowed for the server's life. */
typedef struct hv_web_api {
    const hv_web_config *cfg; /* the configuration */
    hv_web_store *store;      /* the staff store */
    volatile int *stopping;   /* set at SIGTERM: event streams end */
} hv_web_api;

/* The hv_web_handler for /api/ (cls is a hv_web_api). */
enum MHD_Result hv_web_api_handle(void *cls, hv_web_req *req);

/* Staff and token operations of administrators (hv_web_admin.c):
 * `seg` are the path's segments after /api/v1/ (n of them). */
enum MHD_Result hv_web_admin_handle(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                    json_t *body, char **seg, int n);

/* GET /api/v1/events (hv_web_events.c). */
enum MHD_Result hv_web_events_handle(hv_web_api *api, hv_web_req *req, const hv_web_who *who);

/* Calls the worker's command `cmd` with `args` (stolen; NULL answers 503
 * HV_ENOMEM) as `who`, and answers with what it says: its result with
 * `ok_status`, or its error. */
enum MHD_Result hv_web_api_call(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                const char *cmd, json_t *args, unsigned ok_status);

/* /api/v1/drafts at an intake (hv_web_drafts.c). */
enum MHD_Result hv_web_drafts_handle(hv_web_api *api, hv_web_req *req, const hv_web_who *who,
                                     json_t *body, char **seg, int n);

/* Answers the worker's reply `reply` (stolen): its result on success with
 * `ok_status`, else its error with the matching status. */
enum MHD_Result hv_web_api_forward(hv_web_req *req, json_t *reply, unsigned ok_status);

#endif
