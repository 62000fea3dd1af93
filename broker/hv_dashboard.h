/* The operators' dashboard page served by hv_http at "/": one static HTML
 * document whose script polls /api/stats every second and shows flows
 * between countries, queue depths, latency, dead letters and peer links.
 * Numbers and node ids only: /api/stats never carries content. */
#ifndef HV_DASHBOARD_H
#define HV_DASHBOARD_H

extern const char hv_dashboard_html[];

#endif
