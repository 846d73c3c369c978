/* SPDX-License-Identifier: MIT
 * supervisor.c - restart policy, backoff and intensity decisions. */
#include "supervisor.h"

static int policy_restarts(const struct sw_template *t, const struct sw_sup_exit *e)
{
    if (e->stopped || t->restart == SW_RESTART_NEVER)
        return 0;
    if (t->restart == SW_RESTART_ON_FAILURE)
        return e->exit_code != 0 || e->signal != 0;
    return 1;
}

static int64_t restart_delay(const struct sw_template *t, int fast_exits, uint64_t rand64)
{
    if (fast_exits == 0)
        return 0;
    int64_t d = sw_backoff_delay_ms(&t->backoff, fast_exits, rand64);
    return d < SW_SUP_MIN_LOOP_DELAY_MS ? SW_SUP_MIN_LOOP_DELAY_MS : d;
}

struct sw_sup_decision sw_supervisor_on_exit(const struct sw_template *t, struct sw_swarm *sw,
                                             const struct sw_sup_exit *e, int64_t now,
                                             uint64_t rand64)
{
    struct sw_sup_decision d = {SW_SUP_STAY_DOWN, 0, 0};
    d.fast_exits = e->uptime_ms < SW_SUP_FAST_EXIT_MS ? e->fast_exits + 1 : 0;
    if (!policy_restarts(t, e))
        return d;
    d.delay_ms = restart_delay(t, d.fast_exits, rand64);
    if (sw == NULL) {
        d.action = SW_SUP_RESTART_ONE;
        return d;
    }
    if (sw_swarm_note_restart(sw, now)) {
        d.action = SW_SUP_SWARM_FAILED;
        return d;
    }
    d.action = sw->strategy == SW_ONE_FOR_ALL    ? SW_SUP_RESTART_ALL
               : sw->strategy == SW_REST_FOR_ONE ? SW_SUP_RESTART_REST
                                                 : SW_SUP_RESTART_ONE;
    return d;
}

enum sw_sup_action sw_supervisor_on_child_failed(struct sw_swarm *parent, int64_t now)
{
    if (parent->state != SW_SWARM_RUNNING)
        return SW_SUP_STAY_DOWN;
    if (sw_swarm_note_restart(parent, now))
        return SW_SUP_SWARM_FAILED;
    return parent->strategy == SW_ONE_FOR_ALL    ? SW_SUP_RESTART_ALL
           : parent->strategy == SW_REST_FOR_ONE ? SW_SUP_RESTART_REST
                                                 : SW_SUP_RESTART_ONE;
}
