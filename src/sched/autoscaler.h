/* SPDX-License-Identifier: MIT
 * autoscaler.h - how many agents an autoscaled swarm should run, decided from samples
 * of its queue: queued tasks per ready agent above the target for `up_after` adds agents
 * (enough to reach the target, within scale.max and the budget), below it for
 * `down_after` removes idle ones (never under scale.min); a swarm at zero with work
 * starts its first agent at once. After each change the windows start over: that is
 * the cool-down that keeps a swarm from flapping. Every decision carries its reason and
 * is kept in a ring of the last SW_SCALE_HISTORY. Pure: no I/O, no clock; the caller
 * passes `now` and carries the decisions out (src/api/scaling.c). */
#ifndef SW_AUTOSCALER_H
#define SW_AUTOSCALER_H

#include <stddef.h>
#include <stdint.h>

#define SW_SCALE_HISTORY    100
#define SW_SCALE_REASON_MAX 240
#define SW_SCALE_NONE       INT64_MIN /* no window open */

struct sw_scale_policy {
    int64_t min, max;
    double target; /* queued tasks per ready agent, > 0 */
    int64_t up_after_ms, down_after_ms;
};

/* What the swarm may spend; a negative cap is none. */
struct sw_scale_budget {
    int64_t max_agents;
    double max_cost_per_hour;
    double agent_cost_per_hour; /* one agent of the swarm's template */
    double fixed_cost_per_hour; /* what runs besides those agents (the queen) */
};

/* One look at the swarm. */
struct sw_scale_sample {
    int64_t now;
    int64_t current; /* agents asked for now (the swarm's replicas) */
    int64_t queued;  /* tasks queued for the capabilities of its template */
    int64_t ready;   /* agents up: ready or busy */
    int64_t idle;    /* agents that may go now: no task held, the highest-numbered ones */
};

struct sw_scale_decision {
    int64_t at, from, to; /* to == from: a scale-up the budget refused */
    char reason[SW_SCALE_REASON_MAX];
};

struct sw_autoscaler {
    int64_t above_since, below_since; /* start of the current window, or SW_SCALE_NONE */
    int refused;                      /* the budget refused the last scale-up: told once */
    struct sw_scale_decision history[SW_SCALE_HISTORY];
    size_t count, next; /* ring: count kept, next slot */
};

void sw_autoscaler_init(struct sw_autoscaler *as);
/* Feeds one sample. 1 when out holds a decision to carry out, then record it with
 * sw_autoscaler_record; 0 when nothing changes. */
int sw_autoscaler_step(struct sw_autoscaler *as, const struct sw_scale_policy *p,
                       const struct sw_scale_budget *b, const struct sw_scale_sample *in,
                       struct sw_scale_decision *out);
/* The swarm is not running (stopped, failed): its windows close, so that a restart
 * starts them over. */
void sw_autoscaler_pause(struct sw_autoscaler *as);
/* Keeps d in the history and starts the windows over (the cool-down). */
void sw_autoscaler_record(struct sw_autoscaler *as, const struct sw_scale_decision *d);
/* The i-th decision kept, oldest first (i < as->count). Borrowed. */
const struct sw_scale_decision *sw_autoscaler_decision(const struct sw_autoscaler *as, size_t i);
/* The most agents the budget allows (INT64_MAX when it sets no cap); when it caps
 * below want, why says so ("budget: max_agents 3 reached"). */
int64_t sw_scale_budget_cap(const struct sw_scale_budget *b, int64_t want, char *why, size_t size);

#endif
