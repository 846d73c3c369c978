/* SPDX-License-Identifier: MIT
 * routes.h - the HTTP route table {method, pattern, handler, max body, auth} and its
 * matcher. Patterns are paths whose "{name}" segments capture one segment, and a last
 * "{name*}" captures the rest of the path (slashes included). */
#ifndef SW_ROUTES_H
#define SW_ROUTES_H

#include "api/http.h"

#include <stddef.h>

enum sw_route_auth {
    SW_AUTH_PUBLIC, /* /health, /ready */
    SW_AUTH_ADMIN,  /* clients: the Unix socket, or the admin token on TCP */
    SW_AUTH_AGENT,  /* an agent's own calls: its token, or an admin */
};

typedef void (*sw_handler_fn)(struct sw_request *req);

/* max_body of the memory routes: twice the value size limit (room for any spacing). */
#define SW_BODY_MEMORY ((size_t)1)

struct sw_route {
    const char *method;
    const char *pattern;
    sw_handler_fn handler;
    size_t max_body; /* 0 = the configured payload limit plus room for the envelope */
    enum sw_route_auth auth;
};

/* Finds the route of method + path and fills params (new strings, caller frees).
 * NULL with *path_matched = 1 when only the method is wrong (405). */
const struct sw_route *sw_route_match(const char *method, const char *path,
                                      char *params[SW_ROUTE_MAX_PARAMS], int *path_matched);
int sw_route_index(const struct sw_route *r);
/* Comma-separated methods allowed on path, for the Allow header. */
void sw_route_allowed(const char *path, char *out, size_t size);

/* Handlers (one file per resource). */
void sw_api_health(struct sw_request *req);
void sw_api_ready(struct sw_request *req);
void sw_api_metrics(struct sw_request *req);
void sw_api_task_submit(struct sw_request *req);
void sw_api_task_list(struct sw_request *req);
void sw_api_task_get(struct sw_request *req);
void sw_api_task_cancel(struct sw_request *req);
void sw_api_task_retry(struct sw_request *req);
void sw_api_task_complete(struct sw_request *req);
void sw_api_task_fail(struct sw_request *req);
void sw_api_task_progress(struct sw_request *req);
void sw_api_task_batch(struct sw_request *req); /* graph_api.c */
void sw_api_task_tree(struct sw_request *req);  /* graph_api.c */
void sw_api_agent_register(struct sw_request *req);
void sw_api_agent_list(struct sw_request *req);
void sw_api_agent_get(struct sw_request *req);
void sw_api_agent_delete(struct sw_request *req);
void sw_api_agent_lease(struct sw_request *req);
void sw_api_agent_heartbeat(struct sw_request *req);
void sw_api_agent_stop(struct sw_request *req);
void sw_api_agent_start(struct sw_request *req);
void sw_api_agent_restart(struct sw_request *req);
void sw_api_agent_logs(struct sw_request *req);
void sw_api_agent_connect(struct sw_request *req);
void sw_api_template_list(struct sw_request *req);
void sw_api_template_get(struct sw_request *req);
void sw_api_template_put(struct sw_request *req);
void sw_api_template_delete(struct sw_request *req);
void sw_api_swarm_list(struct sw_request *req);
void sw_api_swarm_get(struct sw_request *req);
void sw_api_swarm_put(struct sw_request *req);
void sw_api_swarm_delete(struct sw_request *req);
void sw_api_swarm_scale(struct sw_request *req);
void sw_api_swarm_stop(struct sw_request *req);
void sw_api_swarm_start(struct sw_request *req);
void sw_api_swarm_scaling(struct sw_request *req);
void sw_api_costs(struct sw_request *req);
void sw_api_webhook_create(struct sw_request *req);
void sw_api_webhook_list(struct sw_request *req);
void sw_api_webhook_get(struct sw_request *req);
void sw_api_webhook_delete(struct sw_request *req);
void sw_api_webhook_enable(struct sw_request *req);
void sw_api_event_publish(struct sw_request *req);
void sw_api_event_list(struct sw_request *req);
void sw_api_event_stream(struct sw_request *req);
void sw_api_memory_spaces(struct sw_request *req);
void sw_api_memory_txn(struct sw_request *req);
void sw_api_memory_list(struct sw_request *req);
void sw_api_memory_get(struct sw_request *req);
void sw_api_memory_put(struct sw_request *req);
void sw_api_memory_delete(struct sw_request *req);
void sw_api_ws(struct sw_request *req);
void sw_api_capability_list(struct sw_request *req);
void sw_api_capability_get(struct sw_request *req);
void sw_api_discover(struct sw_request *req);

#endif
