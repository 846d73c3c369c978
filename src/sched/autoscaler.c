/* SPDX-License-Identifier: MIT
 * autoscaler.c - the autoscaler's decisions from samples of a swarm's queue, its
 * budget caps, and the ring of decisions with their reasons. */
#include "autoscaler.h"
#include "core/duration.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sw_autoscaler_init(struct sw_autoscaler *as)
{
    memset(as, 0, sizeof *as);
    as->above_since = as->below_since = SW_SCALE_NONE;
}

/* The agents that bring queued tasks per agent down to the target. */
static int64_t agents_for(int64_t queued, double target)
{
    double exact = (double)queued / target;
    if (exact >= 1e15)
        return INT64_MAX;
    int64_t n = (int64_t)exact;
    return (double)n < exact ? n + 1 : n;
}

int64_t sw_scale_budget_cap(const struct sw_scale_budget *b, int64_t want, char *why, size_t size)
{
    int64_t cap = INT64_MAX;
    why[0] = '\0';
    if (b->max_agents >= 0) {
        cap = b->max_agents;
        snprintf(why, size, "budget: max_agents %lld reached", (long long)b->max_agents);
    }
    if (b->max_cost_per_hour >= 0 && b->agent_cost_per_hour > 0) {
        double room = (b->max_cost_per_hour - b->fixed_cost_per_hour) / b->agent_cost_per_hour;
        int64_t n = room <= 0 ? 0 : room >= 1e15 ? INT64_MAX : (int64_t)(room + 1e-9);
        if (n < cap) {
            cap = n;
            snprintf(why, size, "budget: max_cost_per_hour %g reached (%g per agent)",
                     b->max_cost_per_hour, b->agent_cost_per_hour);
        }
    }
    if (cap >= want)
        why[0] = '\0';
    return cap;
}

/* Fills the decision's target and reason; returns 1. */
static int decide(struct sw_scale_decision *out, int64_t to, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int decide(struct sw_scale_decision *out, int64_t to, const char *fmt, ...)
{
    va_list ap;
    out->to = to;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    return 1;
}

/* Queue per agent above the target for long enough (or a swarm at zero with work): as
 * many agents as reach the target, within scale.max and the budget. A budget that caps
 * or refuses the scale-up is told once while the queue stays above the target. */
static int scale_up(struct sw_autoscaler *as, const struct sw_scale_policy *p,
                    const struct sw_scale_budget *b, const struct sw_scale_sample *in,
                    struct sw_scale_decision *out)
{
    char why[128], window[32], limit[64] = "";
    int cold = in->current == 0;
    int64_t asked = cold ? 1 : agents_for(in->queued, p->target);
    int64_t want = asked > p->max ? p->max : asked;
    if (asked > p->max)
        snprintf(limit, sizeof limit, ", scale.max %lld", (long long)p->max);
    if (want <= in->current)
        return 0; /* the agents asked for cover it once they are up */
    int64_t cap = sw_scale_budget_cap(b, want, why, sizeof why);
    int64_t to = want < cap ? want : cap;
    if (to <= in->current) {
        if (as->refused)
            return 0;
        as->refused = 1;
        return decide(out, in->current, "%s (%lld wanted for %lld queued)", why, (long long)want,
                      (long long)in->queued);
    }
    as->refused = why[0] != '\0';
    if (cold)
        return decide(out, to, "cold start: %lld queued, no agent%s%s", (long long)in->queued,
                      why[0] ? "; " : "", why);
    sw_duration_format(p->up_after_ms, window, sizeof window);
    return decide(out, to,
                  "%lld queued for %lld ready %s, above %g per agent for %s: %lld wanted%s%s%s",
                  (long long)in->queued, (long long)in->ready, in->ready == 1 ? "agent" : "agents",
                  p->target, window, (long long)asked, limit, why[0] ? "; " : "", why);
}

/* Queue per agent below the target for long enough: the idle agents go, down to what
 * the queue needs and never under scale.min. */
static int scale_down(const struct sw_scale_policy *p, const struct sw_scale_sample *in,
                      struct sw_scale_decision *out)
{
    char window[32];
    int64_t floor = agents_for(in->queued, p->target);
    if (floor < p->min)
        floor = p->min;
    int64_t to = in->current - in->idle;
    if (to < floor)
        to = floor;
    if (to >= in->current)
        return 0;
    sw_duration_format(p->down_after_ms, window, sizeof window);
    return decide(out, to, "%lld queued for %lld ready %s, below %g per agent for %s: %lld idle %s",
                  (long long)in->queued, (long long)in->ready, in->ready == 1 ? "agent" : "agents",
                  p->target, window, (long long)(in->current - to),
                  in->current - to == 1 ? "agent stops" : "agents stop");
}

int sw_autoscaler_step(struct sw_autoscaler *as, const struct sw_scale_policy *p,
                       const struct sw_scale_budget *b, const struct sw_scale_sample *in,
                       struct sw_scale_decision *out)
{
    memset(out, 0, sizeof *out);
    out->at = in->now;
    out->from = in->current;
    if (in->current < p->min)
        return decide(out, p->min, "scale.min is %lld", (long long)p->min);
    if (in->current > p->max)
        return decide(out, p->max, "scale.max is %lld", (long long)p->max);
    int above = (double)in->queued > p->target * (double)in->ready;
    int below = !above && (double)in->queued < p->target * (double)(in->ready ? in->ready : 1);
    if (!above || as->above_since == SW_SCALE_NONE)
        as->above_since = above ? in->now : SW_SCALE_NONE;
    if (!below || as->below_since == SW_SCALE_NONE)
        as->below_since = below ? in->now : SW_SCALE_NONE;
    if (!above)
        as->refused = 0;
    if (in->current == 0 && in->queued > 0)
        return scale_up(as, p, b, in, out);
    if (above && in->now - as->above_since >= p->up_after_ms)
        return scale_up(as, p, b, in, out);
    if (below && in->idle > 0 && in->now - as->below_since >= p->down_after_ms)
        return scale_down(p, in, out);
    return 0;
}

void sw_autoscaler_pause(struct sw_autoscaler *as)
{
    as->above_since = as->below_since = SW_SCALE_NONE;
    as->refused = 0;
}

void sw_autoscaler_record(struct sw_autoscaler *as, const struct sw_scale_decision *d)
{
    as->history[as->next] = *d;
    as->next = (as->next + 1) % SW_SCALE_HISTORY;
    if (as->count < SW_SCALE_HISTORY)
        as->count++;
    as->above_since = as->below_since = SW_SCALE_NONE;
}

const struct sw_scale_decision *sw_autoscaler_decision(const struct sw_autoscaler *as, size_t i)
{
    size_t first = (as->next + SW_SCALE_HISTORY - as->count) % SW_SCALE_HISTORY;
    return &as->history[(first + i) % SW_SCALE_HISTORY];
}
