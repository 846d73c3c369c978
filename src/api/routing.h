/* SPDX-License-Identifier: MIT
 * routing.h - routing at submit: which swarm a new task goes to and the route it takes
 * there (src/sched/route.h decides), for the three submit paths (POST /v1/tasks, the
 * batch, a stdio agent's task.submit). A task submitted by an agent starts from the
 * agent's swarm; one from a client from outside the tree. Refusals: 404 not_found (a
 * named swarm that does not exist), 422 no_provider (nothing serves the capability,
 * unless the task asks to wait_for_provider), 403 route_forbidden (the topology). */
#ifndef SW_ROUTING_H
#define SW_ROUTING_H

struct sw_server;
struct sw_request;
struct sw_agent;
struct sw_task;

/* Why a task cannot be routed. */
struct sw_routing_refusal {
    int rc;            /* SW_ENOT_FOUND, SW_ENO_PROVIDER, SW_EROUTE_FORBIDDEN */
    const char *field; /* "swarm" or "capability" */
    char message[384];
};

/* Routes t (capability, and swarm when named, filled; wait_for_provider as asked),
 * submitted by agent `by` (NULL: a client): sets t->swarm and t->route, and keeps
 * t->wait_for_provider only when nothing serves it now. A task without a capability (a
 * parent of children) is left as it is. 0, SW_ENOMEM, or a refusal in *why. */
int sw_routing_route(struct sw_server *s, const struct sw_agent *by, struct sw_task *t,
                     struct sw_routing_refusal *why);
/* The agent that submits req: the route's agent, or the one whose token it bears; NULL
 * for a client. Borrowed. */
const struct sw_agent *sw_routing_submitter(struct sw_request *req);
/* sw_routing_route for an HTTP submit; a refusal is answered with field_prefix (an item
 * of a batch, "" or NULL for none) before the field. 0 or the rc of the answer. */
int sw_routing_admit(struct sw_request *req, struct sw_task *t, const char *field_prefix);

#endif
