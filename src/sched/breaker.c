/* SPDX-License-Identifier: MIT
 * breaker.c - the circuit breaker's state machine: outcomes and time in, a state and the
 * reason of its last change out. */
#include "breaker.h"

#include <stdint.h>

int sw_breaker_enabled(const struct sw_breaker_config *c)
{
    return c->failures > 0 || c->rate_percent > 0;
}

int sw_breaker_min_outcomes(const struct sw_breaker_config *c)
{
    return (c->window + 1) / 2;
}

static int window_of(const struct sw_breaker_config *c)
{
    if (c->window < 1)
        return 1;
    return c->window > SW_BREAKER_WINDOW_MAX ? SW_BREAKER_WINDOW_MAX : c->window;
}

static void breaker_open(struct sw_breaker *b, int64_t cooldown_ms, int64_t now, const char *why)
{
    b->state = SW_BREAKER_OPEN;
    b->opened_at = now;
    b->cooldown_ms = cooldown_ms;
    b->half_open_at = now + cooldown_ms;
    b->trial_task = 0;
    b->trips++;
    b->reason = why;
}

static void breaker_close(struct sw_breaker *b, const char *why)
{
    b->state = SW_BREAKER_CLOSED;
    b->consecutive_failures = 0;
    b->outcomes = 0;
    b->outcome_count = 0;
    b->half_open_at = 0;
    b->trial_task = 0;
    b->reason = why;
}

/* The cool-down after a failed trial: twice the last one, within the bounds. */
static int64_t next_cooldown(const struct sw_breaker *b, const struct sw_breaker_config *c)
{
    int64_t longest = c->max_cooldown_ms > c->cooldown_ms ? c->max_cooldown_ms : c->cooldown_ms;
    int64_t last = b->cooldown_ms > 0 ? b->cooldown_ms : c->cooldown_ms;
    return last > longest / 2 ? longest : last * 2;
}

/* Closed: counts the outcome and opens when a rule says so. */
static int record_closed(struct sw_breaker *b, const struct sw_breaker_config *c, int failed,
                         int64_t now)
{
    int window = window_of(c);
    uint64_t mask = window == 64 ? UINT64_MAX : (UINT64_C(1) << window) - 1;
    b->outcomes = ((b->outcomes << 1) | (failed ? 1u : 0u)) & mask;
    if (b->outcome_count < window)
        b->outcome_count++;
    b->consecutive_failures = failed ? b->consecutive_failures + 1 : 0;
    if (!failed)
        return 0;
    if (c->failures > 0 && b->consecutive_failures >= c->failures) {
        breaker_open(b, c->cooldown_ms, now, "consecutive_failures");
        return 1;
    }
    int recent = __builtin_popcountll(b->outcomes);
    if (c->rate_percent > 0 && b->outcome_count >= sw_breaker_min_outcomes(c) &&
        (int64_t)recent * 100 > (int64_t)c->rate_percent * b->outcome_count) {
        breaker_open(b, c->cooldown_ms, now, "failure_rate");
        return 1;
    }
    return 0;
}

int sw_breaker_record(struct sw_breaker *b, const struct sw_breaker_config *c, uint64_t task_id,
                      int failed, int64_t now)
{
    switch (b->state) {
    case SW_BREAKER_CLOSED:
        return record_closed(b, c, failed, now);
    case SW_BREAKER_HALF_OPEN:
        if (task_id == 0 || task_id != b->trial_task)
            return 0;
        if (failed)
            breaker_open(b, next_cooldown(b, c), now, "trial_failed");
        else
            breaker_close(b, "trial_succeeded");
        return 1;
    default:
        return 0;
    }
}

int sw_breaker_poll(struct sw_breaker *b, int64_t now)
{
    if (b->state != SW_BREAKER_OPEN || now < b->half_open_at)
        return 0;
    b->state = SW_BREAKER_HALF_OPEN;
    b->trial_task = 0;
    b->reason = "cooldown_over";
    return 1;
}

int sw_breaker_admit(const struct sw_breaker *b, int max)
{
    switch (b->state) {
    case SW_BREAKER_CLOSED:
        return max;
    case SW_BREAKER_HALF_OPEN:
        return b->trial_task == 0 && max > 0 ? 1 : 0;
    default:
        return 0;
    }
}

void sw_breaker_leased(struct sw_breaker *b, uint64_t task_id)
{
    if (b->state == SW_BREAKER_HALF_OPEN && b->trial_task == 0)
        b->trial_task = task_id;
}

void sw_breaker_released(struct sw_breaker *b, uint64_t task_id)
{
    if (b->state == SW_BREAKER_HALF_OPEN && b->trial_task == task_id)
        b->trial_task = 0;
}

int64_t sw_breaker_deadline(const struct sw_breaker *b)
{
    return b->state == SW_BREAKER_OPEN ? b->half_open_at : 0;
}
