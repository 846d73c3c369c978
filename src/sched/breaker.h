/* SPDX-License-Identifier: MIT
 * breaker.h - the per-agent circuit breaker, pure: the transitions of struct sw_breaker
 * (kept in the agent, model/agent.h) from the outcomes of the agent's tasks and from
 * time. Closed, it counts: N consecutive failures, or a failure rate above a threshold
 * over the last outcomes (once there are enough of them), open it. Open, the agent takes
 * no task until its cool-down is over; then it is half-open and takes one trial task: a
 * success closes it, a failure opens it again for twice the cool-down (up to a maximum).
 * No I/O and no clock: every call takes `now` (wall ms); the scheduler applies it. */
#ifndef SW_BREAKER_H
#define SW_BREAKER_H

#include "model/agent.h"

#include <stdint.h>

struct sw_breaker_config {
    int failures;            /* consecutive failures that open it; 0 = that rule is off */
    int rate_percent;        /* failure rate (1-100) over the window that opens it; 0 = off */
    int window;              /* outcomes the rate looks at, 1 to SW_BREAKER_WINDOW_MAX */
    int64_t cooldown_ms;     /* the first open period */
    int64_t max_cooldown_ms; /* the longest, however many trials fail */
};

/* 1 when either rule is on. */
int sw_breaker_enabled(const struct sw_breaker_config *c);

/* Outcomes the rate rule waits for before it applies: half the window, rounded up. */
int sw_breaker_min_outcomes(const struct sw_breaker_config *c);

/* The outcome of task_id, run by the agent. While open only the cool-down counts (late
 * outcomes of tasks leased before it opened change nothing); half-open, only the trial's
 * outcome decides. Returns 1 when the state changed (b->reason says why). */
int sw_breaker_record(struct sw_breaker *b, const struct sw_breaker_config *c, uint64_t task_id,
                      int failed, int64_t now);
/* Open and its cool-down is over: half-open. Returns 1 when the state changed. */
int sw_breaker_poll(struct sw_breaker *b, int64_t now);
/* How many of `max` new tasks the agent may take now: all when closed, none when open,
 * one when half-open and no trial runs. Call sw_breaker_poll first. */
int sw_breaker_admit(const struct sw_breaker *b, int max);
/* A task was leased: half-open, it is the trial. */
void sw_breaker_leased(struct sw_breaker *b, uint64_t task_id);
/* A task left the agent without an outcome (cancelled, requeued): if it was the trial, the
 * next lease is a trial again. */
void sw_breaker_released(struct sw_breaker *b, uint64_t task_id);
/* When sw_breaker_poll has work: half_open_at when open, 0 otherwise. */
int64_t sw_breaker_deadline(const struct sw_breaker *b);

#endif
