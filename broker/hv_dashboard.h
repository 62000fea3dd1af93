/* The operators' dashboard page served by hv_http at "/": one static HTML
 * document (broker/hv_dashboard.html, built in by CMakeLists.txt) whose
 * script polls /api/stats every second and shows rates and latency with
 * the last hour's charts, the nodes homed here (connected or not), queues
 * with their oldest message's age, peer links and since when, the latest
 * dead letters with their reasons, and the route across the brokers.
 * Numbers, ids, codes and reasons only: /api/stats never carries content. */
#ifndef HV_DASHBOARD_H
#define HV_DASHBOARD_H

extern const char hv_dashboard_html[];

#endif
