/* SPDX-License-Identifier: MIT
 * emit.h - what happens to tasks, agents and swarms, told as events: the type names,
 * the source and subject of each, and a compact data object. Appended to the open
 * commit batch by the hooks that see the change. */
#ifndef SW_EMIT_H
#define SW_EMIT_H

#include "sched/sched.h"

struct sw_server;

void sw_emit_task(struct sw_server *s, const struct sw_task *t, enum sw_task_event ev);
/* An agent's state changed (or `what` happened: "registered", "restarted", "removed"...). */
void sw_emit_agent(struct sw_server *s, const struct sw_agent *a, const char *what);
/* The agent's circuit breaker changed: swarmd.agent.breaker, data {state, reason, ...}. */
void sw_emit_agent_breaker(struct sw_server *s, const struct sw_agent *a);
/* A swarm happening ("applied", "scaled", "failed", ...); data: JSON object text or NULL. */
void sw_emit_swarm(struct sw_server *s, const char *swarm, const char *what, const char *data);
/* The W3C traceparent of a task's current attempt. */
void sw_task_traceparent(const struct sw_task *t, char out[64]);

#endif
