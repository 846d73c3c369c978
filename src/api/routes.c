/* SPDX-License-Identifier: MIT
 * routes.c - the route table of the HTTP API and the path matcher. */
#include "routes.h"
#include "core/alloc.h"

#include <string.h>

static const struct sw_route route_table[] = {
    {"GET", "/health", sw_api_health, 0, SW_AUTH_PUBLIC},
    {"GET", "/ready", sw_api_ready, 0, SW_AUTH_PUBLIC},
    {"GET", "/metrics", sw_api_metrics, 0, SW_AUTH_ADMIN},
    {"POST", "/v1/tasks", sw_api_task_submit, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/tasks", sw_api_task_list, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/tasks/{id}", sw_api_task_get, 0, SW_AUTH_ADMIN},
    {"POST", "/v1/tasks/{id}/cancel", sw_api_task_cancel, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/tasks/{id}/retry", sw_api_task_retry, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/tasks/{id}/complete", sw_api_task_complete, 0, SW_AUTH_AGENT},
    {"POST", "/v1/tasks/{id}/fail", sw_api_task_fail, 0, SW_AUTH_AGENT},
    {"POST", "/v1/tasks/{id}/progress", sw_api_task_progress, 0, SW_AUTH_AGENT},
    {"POST", "/v1/tasks:batch", sw_api_task_batch, 64 << 20, SW_AUTH_ADMIN},
    {"GET", "/v1/tasks/{id}/tree", sw_api_task_tree, 0, SW_AUTH_ADMIN},
    {"POST", "/v1/agents", sw_api_agent_register, 65536, SW_AUTH_ADMIN},
    {"GET", "/v1/agents", sw_api_agent_list, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/agents/{id}", sw_api_agent_get, 0, SW_AUTH_ADMIN},
    {"DELETE", "/v1/agents/{id}", sw_api_agent_delete, 0, SW_AUTH_AGENT},
    {"POST", "/v1/agents/{id}/lease", sw_api_agent_lease, 4096, SW_AUTH_AGENT},
    {"POST", "/v1/agents/{id}/heartbeat", sw_api_agent_heartbeat, 4096, SW_AUTH_AGENT},
    {"POST", "/v1/agents/{id}/stop", sw_api_agent_stop, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/agents/{id}/start", sw_api_agent_start, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/agents/{id}/restart", sw_api_agent_restart, 4096, SW_AUTH_ADMIN},
    {"GET", "/v1/agents/{id}/logs", sw_api_agent_logs, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/agents/{id}/connect", sw_api_agent_connect, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/templates", sw_api_template_list, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/templates/{name}", sw_api_template_get, 0, SW_AUTH_ADMIN},
    {"PUT", "/v1/templates/{name}", sw_api_template_put, 1 << 20, SW_AUTH_ADMIN},
    {"DELETE", "/v1/templates/{name}", sw_api_template_delete, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/swarms", sw_api_swarm_list, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/swarms/{name}", sw_api_swarm_get, 0, SW_AUTH_ADMIN},
    {"PUT", "/v1/swarms/{name}", sw_api_swarm_put, 1 << 20, SW_AUTH_ADMIN},
    {"DELETE", "/v1/swarms/{name}", sw_api_swarm_delete, 0, SW_AUTH_ADMIN},
    {"POST", "/v1/swarms/{name}/scale", sw_api_swarm_scale, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/swarms/{name}/stop", sw_api_swarm_stop, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/swarms/{name}/start", sw_api_swarm_start, 4096, SW_AUTH_ADMIN},
    {"GET", "/v1/swarms/{name}/scaling", sw_api_swarm_scaling, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/costs", sw_api_costs, 0, SW_AUTH_ADMIN},
    {"POST", "/v1/webhooks", sw_api_webhook_create, 65536, SW_AUTH_ADMIN},
    {"GET", "/v1/webhooks", sw_api_webhook_list, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/webhooks/{id}", sw_api_webhook_get, 0, SW_AUTH_ADMIN},
    {"DELETE", "/v1/webhooks/{id}", sw_api_webhook_delete, 0, SW_AUTH_ADMIN},
    {"POST", "/v1/webhooks/{id}/enable", sw_api_webhook_enable, 4096, SW_AUTH_ADMIN},
    {"POST", "/v1/events", sw_api_event_publish, 0, SW_AUTH_AGENT},
    {"GET", "/v1/events", sw_api_event_list, 0, SW_AUTH_AGENT},
    {"GET", "/v1/events/stream", sw_api_event_stream, 0, SW_AUTH_AGENT},
    {"GET", "/v1/memory", sw_api_memory_spaces, 0, SW_AUTH_AGENT},
    {"POST", "/v1/memory:txn", sw_api_memory_txn, 16 << 20, SW_AUTH_AGENT},
    {"GET", "/v1/memory/{ns}", sw_api_memory_list, 0, SW_AUTH_AGENT},
    {"GET", "/v1/memory/{ns}/{key*}", sw_api_memory_get, 0, SW_AUTH_AGENT},
    {"PUT", "/v1/memory/{ns}/{key*}", sw_api_memory_put, SW_BODY_MEMORY, SW_AUTH_AGENT},
    {"DELETE", "/v1/memory/{ns}/{key*}", sw_api_memory_delete, 0, SW_AUTH_AGENT},
    {"GET", "/v1/ws", sw_api_ws, 0, SW_AUTH_ADMIN},
    {"GET", "/v1/capabilities", sw_api_capability_list, 0, SW_AUTH_AGENT},
    {"GET", "/v1/capabilities/{name*}", sw_api_capability_get, 0, SW_AUTH_AGENT},
    {"GET", "/v1/discover", sw_api_discover, 0, SW_AUTH_AGENT},
};

#define ROUTE_COUNT (sizeof route_table / sizeof route_table[0])

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *decode_segment(const char *s, size_t len)
{
    char *out = sw_malloc(len + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            *o++ = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* 1 if path matches pattern; captures params when params != NULL. */
static int path_match(const char *pattern, const char *path, char *params[])
{
    int nparams = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return 0;
        pattern++, path++;
        const char *pend = strchr(pattern, '/'), *send = strchr(path, '/');
        size_t plen = pend ? (size_t)(pend - pattern) : strlen(pattern);
        size_t slen = send ? (size_t)(send - path) : strlen(path);
        if (pattern[0] == '{' && pattern[plen - 2] == '*') /* "{key*}": the rest of the path */
            slen = strlen(path);
        if (pattern[0] == '{') {
            if (slen == 0 || nparams >= SW_ROUTE_MAX_PARAMS)
                return 0;
            if (params && (params[nparams] = decode_segment(path, slen)) == NULL)
                return 0;
            nparams++;
        } else if (plen != slen || strncmp(pattern, path, plen) != 0) {
            return 0;
        }
        pattern += plen, path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

static void free_params(char *params[])
{
    for (int i = 0; i < SW_ROUTE_MAX_PARAMS; i++) {
        sw_free(params[i]);
        params[i] = NULL;
    }
}

const struct sw_route *sw_route_match(const char *method, const char *path,
                                      char *params[SW_ROUTE_MAX_PARAMS], int *path_matched)
{
    *path_matched = 0;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        const struct sw_route *r = &route_table[i];
        if (!path_match(r->pattern, path, NULL))
            continue;
        *path_matched = 1;
        if (strcmp(r->method, method) != 0)
            continue;
        if (!path_match(r->pattern, path, params)) {
            free_params(params);
            return NULL;
        }
        return r;
    }
    return NULL;
}

int sw_route_index(const struct sw_route *r)
{
    return r ? (int)(r - route_table) : -1;
}

void sw_route_allowed(const char *path, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!path_match(route_table[i].pattern, path, NULL))
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", route_table[i].method);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}
