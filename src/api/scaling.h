/* SPDX-License-Identifier: MIT
 * scaling.h - autoscaling, costs and budgets on the loop. A timer samples each
 * autoscaled swarm (the queued tasks of its template's capabilities, its agents up, the
 * idle ones at the top of its numbering), feeds the autoscaler (src/sched/autoscaler.c)
 * and carries its decisions out through the fleet: recorded with their reason, told as
 * swarmd.swarm.scaled, the count kept in the store. Every running managed agent costs
 * its template's cost_per_hour per second of run time; the cost is written to the store
 * in one-minute buckets per swarm and template (every 10 s, and when the daemon stops)
 * and checked against the swarms' budgets (max_cost_total spent: the swarm's agents
 * stop). Also the GET /v1/swarms/{name}/scaling route. */
#ifndef SW_SCALING_H
#define SW_SCALING_H

#include <stdint.h>

struct sw_server;
struct sw_swarm;
struct sw_agent;

#define SW_COST_BUCKET_MS 60000 /* costs are kept per minute */

/* After recovery, before the swarms start: the stored autoscaled counts and cost
 * totals are read, the timer starts. */
int sw_scaling_start(struct sw_server *s);
/* Graceful stop: costs accrued up to now join the open commit batch; the timer stops. */
void sw_scaling_stop(struct sw_server *s);
void sw_scaling_free(struct sw_server *s);

/* A task came for the autoscaled swarm sw, at zero: its first agent, unless the
 * budget refuses it. 1 when an agent was asked for. */
int sw_scaling_cold_start(struct sw_server *s, struct sw_swarm *sw);
/* The swarm was applied (its count is stored, then checked against its new bounds),
 * scaled by request from `from` agents (recorded; no longer autoscaled), or destroyed. */
void sw_scaling_swarm_applied(struct sw_server *s, struct sw_swarm *sw);
void sw_scaling_swarm_scaled(struct sw_server *s, struct sw_swarm *sw, int64_t from);
void sw_scaling_swarm_removed(struct sw_server *s, const char *name);
/* A managed agent is being removed: its cost up to now is counted. */
void sw_scaling_agent_gone(struct sw_server *s, const struct sw_agent *a);

/* Cost rows: per swarm ("" outside any swarm) and template. Non-zero stops. */
typedef int (*sw_cost_row_fn)(void *ctx, const char *swarm, const char *template_name, double cost,
                              int64_t agent_ms);
/* Brings every running agent's cost up to now. */
void sw_scaling_accrue(struct sw_server *s);
/* The costs a store read at sequence seq did not see (written after it, or not written
 * yet), in buckets from the one holding since_ms on. */
int sw_scaling_costs_unstored(struct sw_server *s, uint64_t seq, int64_t since_ms,
                              sw_cost_row_fn row, void *ctx);

#endif
