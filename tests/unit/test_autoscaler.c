/* SPDX-License-Identifier: MIT
 * test_autoscaler.c - unit tests of the autoscaler's decisions (src/sched/autoscaler.c),
 * fed samples with made-up times, no sleeping: scale-up only once the queue has stayed
 * above the target for scale_up_after (a dip starts the window over), enough agents to
 * reach the target at once, the cool-down after each decision, never past scale.max or
 * under scale.min, budget caps (max_agents, max_cost_per_hour) told once while they
 * last, scale-down of idle agents only after scale_down_after, cold start from zero at
 * once, windows closed while the swarm is stopped, the ring of the last decisions, and
 * a whole burst played through a small model of a swarm: up to max, back to min, no
 * flapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sched/autoscaler.h"

#include <stdio.h>
#include <string.h>

static const struct sw_scale_policy policy = {0, 10, 1.0, 2000, 60000};
static const struct sw_scale_budget no_budget = {-1, -1, 1.0, 0};

static struct sw_scale_sample sample(int64_t now, int64_t current, int64_t queued, int64_t ready,
                                     int64_t idle)
{
    struct sw_scale_sample s = {now, current, queued, ready, idle};
    return s;
}

/* Steps and records like the loop does; 1 with *d filled when something was decided. */
static int step(struct sw_autoscaler *as, const struct sw_scale_policy *p,
                const struct sw_scale_budget *b, struct sw_scale_sample in,
                struct sw_scale_decision *d)
{
    int decided = sw_autoscaler_step(as, p, b, &in, d);
    if (decided) {
        assert_int_equal(d->at, in.now);
        assert_int_equal(d->from, in.current);
        assert_true(d->reason[0] != '\0');
        sw_autoscaler_record(as, d);
    }
    return decided;
}

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", text, part);
}

static void test_scale_up_after_the_delay_not_before(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    for (int64_t t = 0; t < 2000; t += 100)
        assert_int_equal(step(&as, &policy, &no_budget, sample(t, 2, 10, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(1999, 2, 10, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(2000, 2, 10, 2, 0), &d), 1);
    assert_int_equal(d.to, 10); /* enough to reach one queued task per agent at once */
    assert_contains(d.reason, "10 queued for 2 ready agents, above 1 per agent for 2s");
}

static void test_a_dip_starts_the_window_over(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &policy, &no_budget, sample(0, 2, 5, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(1500, 2, 5, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(1600, 2, 2, 2, 0), &d),
                     0); /* at target */
    assert_int_equal(step(&as, &policy, &no_budget, sample(1700, 2, 5, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(3600, 2, 5, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(3700, 2, 5, 2, 0), &d), 1);
    assert_int_equal(d.to, 5);
}

static void test_target_per_agent_rounds_up(void **state)
{
    struct sw_scale_policy half = {0, 100, 0.5, 0, 60000}, four = {0, 100, 4.0, 0, 60000};
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &half, &no_budget, sample(0, 1, 3, 1, 0), &d), 1);
    assert_int_equal(d.to, 6);
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &four, &no_budget, sample(0, 1, 9, 1, 0), &d), 1);
    assert_int_equal(d.to, 3);
    sw_autoscaler_init(&as); /* 8 queued for 2 agents at 4 per agent: at the target */
    assert_int_equal(step(&as, &four, &no_budget, sample(0, 2, 8, 2, 0), &d), 0);
}

static void test_agents_starting_are_counted_on(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    /* 6 asked for, 1 up: the queue of 6 is above target per ready agent, but the 6
     * agents asked for will cover it: nothing more */
    for (int64_t t = 0; t <= 10000; t += 500)
        assert_int_equal(step(&as, &policy, &no_budget, sample(t, 6, 6, 1, 0), &d), 0);
}

static void test_cool_down_after_a_decision(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    struct sw_scale_policy p = {0, 100, 1.0, 2000, 60000};
    sw_autoscaler_init(&as);
    step(&as, &p, &no_budget, sample(0, 2, 10, 2, 0), &d);
    assert_int_equal(step(&as, &p, &no_budget, sample(2000, 2, 10, 2, 0), &d), 1);
    assert_int_equal(d.to, 10);
    /* the 10 are up and the queue grew: a whole new window first */
    assert_int_equal(step(&as, &p, &no_budget, sample(2100, 10, 30, 10, 0), &d), 0);
    assert_int_equal(step(&as, &p, &no_budget, sample(4099, 10, 30, 10, 0), &d), 0);
    assert_int_equal(step(&as, &p, &no_budget, sample(4100, 10, 30, 10, 0), &d), 1);
    assert_int_equal(d.to, 30);
    /* right after a scale-up an empty queue does not scale down before its own window */
    assert_int_equal(step(&as, &p, &no_budget, sample(4200, 30, 0, 30, 30), &d), 0);
    assert_int_equal(step(&as, &p, &no_budget, sample(64199, 30, 0, 30, 30), &d), 0);
    assert_int_equal(step(&as, &p, &no_budget, sample(64200, 30, 0, 30, 30), &d), 1);
    assert_int_equal(d.to, 0);
}

static void test_never_past_max_or_under_min(void **state)
{
    struct sw_scale_policy p = {2, 5, 1.0, 0, 1000};
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &p, &no_budget, sample(0, 0, 0, 0, 0), &d), 1);
    assert_int_equal(d.to, 2);
    assert_string_equal(d.reason, "scale.min is 2");
    assert_int_equal(step(&as, &p, &no_budget, sample(100, 2, 1000, 2, 0), &d), 1);
    assert_int_equal(d.to, 5);
    assert_contains(d.reason, "1000 wanted, scale.max 5");
    for (int64_t t = 200; t < 5000; t += 100) /* queue still long: nothing past max */
        assert_int_equal(step(&as, &p, &no_budget, sample(t, 5, 1000, 5, 0), &d), 0);
    /* every agent idle: down to min, not below */
    assert_int_equal(step(&as, &p, &no_budget, sample(5000, 5, 0, 5, 5), &d), 0);
    assert_int_equal(step(&as, &p, &no_budget, sample(6000, 5, 0, 5, 5), &d), 1);
    assert_int_equal(d.to, 2);
    assert_int_equal(step(&as, &p, &no_budget, sample(6100, 2, 0, 2, 2), &d), 0);
    assert_int_equal(step(&as, &p, &no_budget, sample(9000, 2, 0, 2, 2), &d), 0);
    /* a lower scale.max brings it down at once */
    struct sw_scale_policy lower = {0, 1, 1.0, 0, 1000};
    assert_int_equal(step(&as, &lower, &no_budget, sample(9100, 2, 0, 2, 0), &d), 1);
    assert_int_equal(d.to, 1);
    assert_string_equal(d.reason, "scale.max is 1");
}

static void test_budget_max_agents_caps_and_is_told_once(void **state)
{
    struct sw_scale_policy p = {0, 10, 1.0, 1000, 60000};
    struct sw_scale_budget b = {3, -1, 1.0, 0};
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    step(&as, &p, &b, sample(0, 1, 8, 1, 0), &d);
    assert_int_equal(step(&as, &p, &b, sample(1000, 1, 8, 1, 0), &d), 1);
    assert_int_equal(d.to, 3);
    assert_contains(d.reason, "8 wanted; budget: max_agents 3 reached");
    for (int64_t t = 1100; t < 10000; t += 100) /* still above target, still capped: quiet */
        assert_int_equal(step(&as, &p, &b, sample(t, 3, 8, 3, 0), &d), 0);
    /* the queue falls to the target, then grows again: the budget is told again */
    assert_int_equal(step(&as, &p, &b, sample(10000, 3, 3, 3, 0), &d), 0);
    step(&as, &p, &b, sample(10100, 3, 9, 3, 0), &d);
    assert_int_equal(step(&as, &p, &b, sample(11100, 3, 9, 3, 0), &d), 1);
    assert_int_equal(d.to, 3);
    assert_int_equal(d.from, 3);
    assert_contains(d.reason, "budget: max_agents 3 reached (9 wanted for 9 queued)");
    assert_int_equal(step(&as, &p, &b, sample(12100, 3, 9, 3, 0), &d), 0);
    /* a budget of zero agents refuses even the cold start, once */
    struct sw_scale_budget zero = {0, -1, 1.0, 0};
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &p, &zero, sample(0, 0, 4, 0, 0), &d), 1);
    assert_int_equal(d.to, 0);
    assert_contains(d.reason, "budget: max_agents 0 reached");
    assert_int_equal(step(&as, &p, &zero, sample(100, 0, 4, 0, 0), &d), 0);
}

static void test_budget_cost_per_hour(void **state)
{
    char why[128];
    struct sw_scale_budget b = {-1, 7.0, 2.0, 1.0}; /* (7 - 1) / 2 = 3 agents */
    assert_int_equal(sw_scale_budget_cap(&b, 10, why, sizeof why), 3);
    assert_string_equal(why, "budget: max_cost_per_hour 7 reached (2 per agent)");
    assert_int_equal(sw_scale_budget_cap(&b, 3, why, sizeof why), 3);
    assert_string_equal(why, ""); /* not reached */
    struct sw_scale_budget both = {2, 7.0, 2.0, 1.0};
    assert_int_equal(sw_scale_budget_cap(&both, 10, why, sizeof why), 2);
    assert_contains(why, "max_agents 2");
    struct sw_scale_budget free_agents = {-1, 7.0, 0.0, 1.0};
    assert_int_equal(sw_scale_budget_cap(&free_agents, 10, why, sizeof why), INT64_MAX);
    struct sw_scale_budget queen_over = {-1, 1.0, 0.5, 2.0}; /* the queen alone is over */
    assert_int_equal(sw_scale_budget_cap(&queen_over, 10, why, sizeof why), 0);
    struct sw_scale_budget exact = {-1, 1.5, 0.5, 0}; /* 3 exactly, despite rounding */
    assert_int_equal(sw_scale_budget_cap(&exact, 10, why, sizeof why), 3);
}

static void test_scale_down_only_idle_agents_after_the_delay(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    /* below target but no agent may go (all busy): never */
    for (int64_t t = 0; t <= 120000; t += 1000)
        assert_int_equal(step(&as, &policy, &no_budget, sample(t, 4, 0, 4, 0), &d), 0);
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &policy, &no_budget, sample(0, 4, 0, 4, 2), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(59999, 4, 0, 4, 2), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(60000, 4, 0, 4, 2), &d), 1);
    assert_int_equal(d.to, 2);
    assert_contains(d.reason, "0 queued for 4 ready agents, below 1 per agent for 1m: 2 idle "
                              "agents stop");
    /* a queue that needs them keeps them: 3 queued at 1 per agent keep 3 of 4 */
    sw_autoscaler_init(&as);
    step(&as, &policy, &no_budget, sample(0, 4, 3, 4, 4), &d);
    assert_int_equal(step(&as, &policy, &no_budget, sample(60000, 4, 3, 4, 4), &d), 1);
    assert_int_equal(d.to, 3);
    assert_contains(d.reason, "1 idle agent stops");
    /* the queue rising above the target meanwhile starts the window over */
    sw_autoscaler_init(&as);
    step(&as, &policy, &no_budget, sample(0, 4, 0, 4, 4), &d);
    step(&as, &policy, &no_budget, sample(30000, 4, 9, 4, 0), &d);
    assert_int_equal(step(&as, &policy, &no_budget, sample(30100, 4, 0, 4, 4), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(60000, 4, 0, 4, 4), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(90100, 4, 0, 4, 4), &d), 1);
}

static void test_cold_start_at_once(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    struct sw_scale_policy slow = {0, 10, 1.0, 3600000, 60000};
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &slow, &no_budget, sample(0, 0, 0, 0, 0), &d), 0);
    assert_int_equal(step(&as, &slow, &no_budget, sample(5, 0, 7, 0, 0), &d), 1);
    assert_int_equal(d.to, 1);
    assert_string_equal(d.reason, "cold start: 7 queued, no agent");
    /* more agents only after the window */
    assert_int_equal(step(&as, &slow, &no_budget, sample(10, 1, 7, 0, 0), &d), 0);
    assert_int_equal(step(&as, &slow, &no_budget, sample(3600010, 1, 7, 1, 0), &d), 1);
    assert_int_equal(d.to, 7);
    /* a swarm with scale.max 0 never starts */
    struct sw_scale_policy none = {0, 0, 1.0, 0, 0};
    sw_autoscaler_init(&as);
    assert_int_equal(step(&as, &none, &no_budget, sample(0, 0, 7, 0, 0), &d), 0);
}

static void test_pause_closes_the_windows(void **state)
{
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    sw_autoscaler_init(&as);
    step(&as, &policy, &no_budget, sample(0, 2, 10, 2, 0), &d);
    sw_autoscaler_pause(&as); /* the swarm was stopped for a while */
    assert_int_equal(step(&as, &policy, &no_budget, sample(50000, 2, 10, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(51999, 2, 10, 2, 0), &d), 0);
    assert_int_equal(step(&as, &policy, &no_budget, sample(52000, 2, 10, 2, 0), &d), 1);
}

static void test_history_keeps_the_last(void **state)
{
    struct sw_autoscaler as;
    sw_autoscaler_init(&as);
    for (int i = 0; i < SW_SCALE_HISTORY + 50; i++) {
        struct sw_scale_decision d = {i, i, i + 1, ""};
        snprintf(d.reason, sizeof d.reason, "decision %d", i);
        sw_autoscaler_record(&as, &d);
    }
    assert_int_equal(as.count, SW_SCALE_HISTORY);
    assert_string_equal(sw_autoscaler_decision(&as, 0)->reason, "decision 50");
    assert_int_equal(sw_autoscaler_decision(&as, SW_SCALE_HISTORY - 1)->at, SW_SCALE_HISTORY + 49);
}

/* A burst through a model of a swarm: agents asked for are up 300 ms later; each up
 * agent ends a task every 500 ms. Tasks: 60 at t = 1 s, 30 more at t = 3 s. */
static void test_burst_series(void **state)
{
    struct sw_scale_policy p = {1, 8, 1.0, 500, 3000};
    struct sw_autoscaler as;
    struct sw_scale_decision d;
    int64_t current = 1, up = 1, queued = 0, asked_at[64] = {0};
    int64_t most = 0, decisions = 0, turns = 0, last_dir = 0;
    sw_autoscaler_init(&as);
    for (int64_t t = 0; t <= 60000; t += 100) {
        if (t == 1000)
            queued += 60;
        if (t == 3000)
            queued += 30;
        for (int64_t i = up; i < current; i++) /* started agents come up */
            if (t - asked_at[i] >= 300)
                up = i + 1;
        if (t % 500 == 0) /* each up agent ends a task */
            queued = queued > up ? queued - up : 0;
        int64_t busy = queued > 0 ? up : 0; /* a queue keeps them all busy */
        struct sw_scale_sample in = sample(t, current, queued, up, up - busy);
        if (step(&as, &p, &no_budget, in, &d)) {
            int64_t dir = d.to > d.from ? 1 : -1;
            turns += last_dir && dir != last_dir;
            last_dir = dir;
            decisions++;
            for (int64_t i = current; i < d.to; i++)
                asked_at[i] = t;
            current = d.to;
            if (up > current)
                up = current;
        }
        assert_true(current >= p.min && current <= p.max);
        most = current > most ? current : most;
    }
    assert_int_equal(most, 8);    /* up to max, */
    assert_int_equal(current, 1); /* back to min once the work is done, */
    assert_int_equal(queued, 0);
    assert_true(decisions <= 4); /* in a few steps, */
    assert_int_equal(turns, 1);  /* up then down: no flapping */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_up_after_the_delay_not_before),
        cmocka_unit_test(test_a_dip_starts_the_window_over),
        cmocka_unit_test(test_target_per_agent_rounds_up),
        cmocka_unit_test(test_agents_starting_are_counted_on),
        cmocka_unit_test(test_cool_down_after_a_decision),
        cmocka_unit_test(test_never_past_max_or_under_min),
        cmocka_unit_test(test_budget_max_agents_caps_and_is_told_once),
        cmocka_unit_test(test_budget_cost_per_hour),
        cmocka_unit_test(test_scale_down_only_idle_agents_after_the_delay),
        cmocka_unit_test(test_cold_start_at_once),
        cmocka_unit_test(test_pause_closes_the_windows),
        cmocka_unit_test(test_history_keeps_the_last),
        cmocka_unit_test(test_burst_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
