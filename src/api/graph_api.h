/* SPDX-License-Identifier: MIT
 * graph_api.h - task graphs over HTTP (graph_api.c): submits that carry after,
 * children, fan_in or parent, the batch submit (POST /v1/tasks:batch), the tree view
 * (GET /v1/tasks/{id}/tree; both handlers are in routes.h), and the recovery step that
 * reads from the store the finished tasks a graph still needs. */
#ifndef SW_GRAPH_API_H
#define SW_GRAPH_API_H

#include "api/http.h"

#include <jansson.h>
#include <stdint.h>

struct sw_server;
struct sw_task;

/* Whether a POST /v1/tasks body is one for sw_graph_api_submit: it names after,
 * children, fan_in, quorum or parent. */
int sw_graph_api_wants(json_t *root);
/* POST /v1/tasks with such a body (root borrowed): creates the task and the children
 * it carries, all or nothing, and answers the request. */
void sw_graph_api_submit(struct sw_request *req, json_t *root);
/* Recovery, after the store's load and before the scheduler finishes it: reads the
 * finished tasks the graph still needs (dependencies of blocked tasks, children of
 * waiting parents) from the store into the scheduler. 0 or the store's error. */
int sw_graph_api_recover(struct sw_server *s);

/* tasks_api.c: fills t from one submit object (the plain fields; graph_api.c reads the
 * graph ones); on error the request is answered. need_capability = 0 for a parent of
 * children, whose capability is optional. */
int sw__task_parse_submit(struct sw_request *req, json_t *root, struct sw_task *t, int64_t now,
                          int need_capability);

#endif
