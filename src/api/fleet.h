/* SPDX-License-Identifier: MIT
 * fleet.h - the managed agents: templates and swarms as applied (desired state, stored),
 * the agents they call for (replicas), and the processes behind them: started,
 * supervised (restart policy, backoff, strategies, intensity, escalation to the parent
 * swarm), fed tasks through the same scheduler as remote agents (a stdio agent over
 * JSON-RPC lines, an exec agent with one process per task), their output logged to
 * rotated files under <home>/logs. */
#ifndef SW_FLEET_H
#define SW_FLEET_H

#include "model/fields.h"
#include "model/template.h"
#include "sched/supervisor.h"

#include <jansson.h>
#include <stdint.h>

struct sw_server;
struct sw_agent;
struct sw_swarm;

enum sw_apply_action { SW_APPLY_CREATED = 0, SW_APPLY_UPDATED, SW_APPLY_UNCHANGED };
extern const char *const sw_apply_action_names[3];

int sw_fleet_init(struct sw_server *s);
/* After recovery: templates and swarms were loaded; start what should run. */
void sw_fleet_start(struct sw_server *s);
/* Stops every managed agent (graceful stop of the daemon); 1 while some still run. */
int sw_fleet_stopping(struct sw_server *s);
void sw_fleet_free(struct sw_server *s);
/* Kills every managed process now (SIGKILL to the groups) and forgets them. */
void sw_fleet_kill_all(struct sw_server *s);

/* Loader callbacks (recovery). */
int sw_fleet_load_template(struct sw_server *s, const char *name, const char *spec);
int sw_fleet_load_swarm(struct sw_server *s, const char *name, const char *spec, int stopped);
/* A managed agent row loaded from the store. */
void sw_fleet_adopt_agent(struct sw_server *s, struct sw_agent *a);

/* Desired state. On a validation error, err names the field. */
int sw_fleet_apply_template(struct sw_server *s, const char *name, json_t *spec, int dry_run,
                            enum sw_apply_action *action, struct sw_field_error *err);
int sw_fleet_delete_template(struct sw_server *s, const char *name, struct sw_field_error *err);
int sw_fleet_apply_swarm(struct sw_server *s, const char *name, json_t *spec, int dry_run,
                         enum sw_apply_action *action, struct sw_field_error *err);
int sw_fleet_delete_swarm(struct sw_server *s, const char *name, struct sw_field_error *err);
int sw_fleet_scale(struct sw_server *s, const char *name, int64_t replicas);
int sw_fleet_swarm_stop(struct sw_server *s, const char *name, int stop);
/* The autoscaler's count: the swarm runs `replicas` agents (its spec keeps `scale`). */
void sw_fleet_set_replicas(struct sw_server *s, struct sw_swarm *sw, int64_t replicas);
/* Stops the swarm's agents for reason (a spent budget): stopped as by request, the
 * reason shown as its failure and told in swarmd.swarm.stopped. */
int sw_fleet_swarm_halt(struct sw_server *s, struct sw_swarm *sw, const char *reason);

/* Managed agents. */
int sw_fleet_create_agent(struct sw_server *s, const char *name, const char *template_name,
                          const char *swarm, struct sw_agent **out, struct sw_field_error *err);
int sw_fleet_agent_stop(struct sw_server *s, struct sw_agent *a);
int sw_fleet_agent_start(struct sw_server *s, struct sw_agent *a);
int sw_fleet_agent_restart(struct sw_server *s, struct sw_agent *a);
/* Brings a swarm back to its replicas (after one of its agents was removed). */
void sw_fleet_reconcile_swarm(struct sw_server *s, const char *name);
/* The agent is being removed: stop its process and forget its runtime state. */
void sw_fleet_agent_removed(struct sw_server *s, struct sw_agent *a);
/* Tells running exec/stdio agents about their cancelled or expired tasks. */
void sw_fleet_deliver_cancels(struct sw_server *s);
/* The template an agent runs (its swarm's inline one, or by name); borrowed, or NULL. */
const struct sw_template *sw_fleet_agent_template(struct sw_server *s, const struct sw_agent *a);
/* A managed agent's process exited (not on request): supervise. */
void sw_fleet_agent_exited(struct sw_server *s, struct sw_agent *a, const struct sw_sup_exit *e,
                           int *fast_exits);
/* A task for capability was queued: start a resting agent or a swarm at zero if none
 * running can serve it. */
void sw_fleet_cold_start(struct sw_server *s, const char *capability);
/* Where an agent's log file is. */
void sw_fleet_log_path(struct sw_server *s, const struct sw_agent *a, char *out, size_t size);

#endif
