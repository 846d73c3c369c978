/* SPDX-License-Identifier: MIT
 * swarm.h - a named group of agents serving one service: its place in the tree
 * (parent), how its agents start (a template by name, or inline), how many run
 * (replicas, or scale: min/max and the autoscaler's settings), what it may spend
 * (budget), how failures are handled (strategy, intensity), its topology and labels.
 * Parsed from the JSON spec, which is kept as given to tell "unchanged" on a new apply. The
 * supervision state (running, stopped, failed, recent restarts) lives here too; the decisions are
 * the supervisor's (src/sched). */
#ifndef SW_SWARM_H
#define SW_SWARM_H

#include "core/buf.h"
#include "model/template.h"

#include <jansson.h>
#include <stdint.h>

enum sw_strategy { SW_ONE_FOR_ONE = 0, SW_ONE_FOR_ALL, SW_REST_FOR_ONE };
enum sw_topology { SW_TOPOLOGY_HIERARCHICAL = 0, SW_TOPOLOGY_MESH };
enum sw_delegation { SW_DELEGATION_ANY = 0, SW_DELEGATION_DOWN_ONLY };
enum sw_swarm_state { SW_SWARM_RUNNING = 0, SW_SWARM_STOPPED, SW_SWARM_FAILED, SW_SWARM_NSTATES };

#define SW_SWARM_MAX_REPLICAS 10000
#define SW_INTENSITY_MAX      1000
#define SW_SWARM_MAX_QUEUE    1000000000 /* max_queue and rate_limit.burst at most */
#define SW_SCALE_MAX_DELAY_MS 86400000LL /* scale_up_after, scale_down_after: at most 1d */
#define SW_BUDGET_MAX_COST    1e12

struct sw_swarm {
    char *name;
    char *spec;                          /* owned: compact JSON, keys sorted */
    char *parent;                        /* owned or NULL */
    char *template_name;                 /* owned, or NULL when inline */
    struct sw_template *inline_template; /* owned, or NULL */
    int64_t replicas; /* with scale: the autoscaler's count, within [scale_min, scale_max] */
    int64_t scale_min, scale_max;
    int has_scale;
    double scale_target;             /* queued tasks per ready agent (target_queue_per_agent) */
    int64_t scale_up_after_ms;       /* above the target this long: agents are added */
    int64_t scale_down_after_ms;     /* below it this long: idle agents go */
    int64_t budget_max_agents;       /* -1: no cap */
    double budget_max_cost_per_hour; /* < 0: no cap */
    double budget_max_cost_total;    /* < 0: no cap */
    int strategy;
    int64_t intensity_restarts;
    int64_t intensity_period_ms;
    int topology;
    int isolated;   /* no task routed into or out of it */
    int delegation; /* enum sw_delegation: down_only = no task routed up out of it */
    char *hash_key; /* routing: {hash: "payload.F" | "labels.K"}: the affinity key, or NULL */
    char *queen;    /* owned: the queen's template name, or NULL */
    struct sw_template *queen_template; /* owned: an inline queen template, or NULL */
    char *labels;
    int64_t max_queue;      /* queued + scheduled tasks past which submits get 429; 0 = none */
    double rate_per_second; /* rate_limit: submits per second (token bucket); 0 = none */
    int64_t rate_burst;     /* rate_limit: the bucket's size */

    /* supervision */
    int state;           /* enum sw_swarm_state */
    int stopped;         /* stopped by request: desired state */
    int64_t *restart_at; /* ring of the last intensity_restarts + 1 restart times */
    size_t restart_count, restart_next;
    int64_t failed_at;
    char failure[256];
    uint64_t total_restarts;
    int persisted;
};

extern const char *const sw_swarm_state_names[SW_SWARM_NSTATES];
extern const char *const sw_strategy_names[3];

int sw_swarm_parse(const char *name, json_t *spec, struct sw_swarm **out,
                   struct sw_field_error *err);
void sw_swarm_free(struct sw_swarm *s);
/* Records a restart at now; 1 if that exceeds the intensity (more than `restarts` in
 * `period`), 0 otherwise. */
int sw_swarm_note_restart(struct sw_swarm *s, int64_t now);
void sw_swarm_reset_restarts(struct sw_swarm *s);
/* Copies the supervision state of old into s (same swarm, new spec); an autoscaled
 * count carries over (the autoscaler then brings it within the new scale.min and max). */
void sw_swarm_take_state(struct sw_swarm *s, const struct sw_swarm *old);

#endif
