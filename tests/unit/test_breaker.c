/* SPDX-License-Identifier: MIT
 * test_breaker.c - unit tests of the circuit breaker (src/sched/breaker.c), fed outcomes
 * at synthetic times: consecutive failures and the failure rate open it (the rate only
 * once half the window is known), a success resets the run, open admits nothing until
 * the cool-down is over, half-open admits one trial whose outcome alone decides (closed,
 * or open again for twice the cool-down, capped), a trial that ends without an outcome
 * lets the next lease be a trial, and both rules off never open it. Then the scheduler
 * with breakers (src/sched/sched.c): a failing agent is skipped while a healthy one takes
 * the work, a task whose only provider is open waits queued, the tick half-opens it at
 * the deadline it announced and a waiting lease gets one trial, lease expiry counts as a
 * failure; and the per-swarm count of queued and scheduled tasks behind max_queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "sched/breaker.h"
#include "sched/sched.h"

#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL

static const struct sw_breaker_config defaults = {
    .failures = 5,
    .rate_percent = 50,
    .window = 20,
    .cooldown_ms = 30000,
    .max_cooldown_ms = 300000,
};

/* Feeds n outcomes (failed or not) 1 ms apart. Returns how many changed the state. */
static int feed(struct sw_breaker *b, const struct sw_breaker_config *c, int n, int failed,
                int64_t *now)
{
    int changes = 0;
    for (int i = 0; i < n; i++)
        changes += sw_breaker_record(b, c, 1, failed, (*now)++);
    return changes;
}

/* ---- the state machine ---- */

static void test_consecutive_failures_open(void **state)
{
    struct sw_breaker b = {0};
    int64_t now = NOW;
    assert_int_equal(feed(&b, &defaults, 4, 1, &now), 0);
    assert_int_equal(b.state, SW_BREAKER_CLOSED);
    assert_int_equal(b.consecutive_failures, 4);
    assert_int_equal(sw_breaker_admit(&b, 3), 3);
    int64_t fifth = now;
    assert_int_equal(feed(&b, &defaults, 1, 1, &now), 1);
    assert_int_equal(b.state, SW_BREAKER_OPEN);
    assert_string_equal(b.reason, "consecutive_failures");
    assert_int_equal(b.opened_at, fifth);
    assert_int_equal(b.cooldown_ms, 30000);
    assert_int_equal(b.half_open_at, fifth + 30000);
    assert_int_equal(sw_breaker_deadline(&b), fifth + 30000);
    assert_int_equal(b.trips, 1);
    assert_int_equal(sw_breaker_admit(&b, 3), 0);
}

static void test_success_resets_the_run(void **state)
{
    struct sw_breaker b = {0};
    int64_t now = NOW;
    /* runs of 4 failures, each ended by successes that keep the rate at or under 40% */
    assert_int_equal(feed(&b, &defaults, 10, 0, &now), 0);
    for (int round = 0; round < 6; round++) {
        assert_int_equal(feed(&b, &defaults, 4, 1, &now), 0);
        assert_int_equal(b.consecutive_failures, 4);
        assert_int_equal(feed(&b, &defaults, 6, 0, &now), 0);
    }
    assert_int_equal(b.state, SW_BREAKER_CLOSED);
    assert_int_equal(b.consecutive_failures, 0);
    assert_int_equal(b.outcome_count, 20); /* the window is full */
    assert_int_equal(__builtin_popcountll(b.outcomes), 8);
}

static void test_failure_rate_opens(void **state)
{
    struct sw_breaker b = {0};
    int64_t now = NOW;
    /* f s f s f s f s f: 5 of 9 failed (over half) but fewer than 10 outcomes known */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(feed(&b, &defaults, 1, 1, &now), 0);
        assert_int_equal(feed(&b, &defaults, 1, 0, &now), 0);
    }
    assert_int_equal(feed(&b, &defaults, 1, 1, &now), 0);
    assert_int_equal(b.outcome_count, 9);
    /* the 10th: a success, 5 of 10 is not above 50% */
    assert_int_equal(feed(&b, &defaults, 1, 0, &now), 0);
    /* the 11th: a failure, 6 of 11 is */
    assert_int_equal(feed(&b, &defaults, 1, 1, &now), 1);
    assert_int_equal(b.state, SW_BREAKER_OPEN);
    assert_string_equal(b.reason, "failure_rate");
    assert_int_equal(b.consecutive_failures, 1);
}

static void test_window_forgets_old_outcomes(void **state)
{
    struct sw_breaker_config c = defaults;
    c.failures = 0; /* only the rate rule */
    c.window = 10;  /* decides from 5 outcomes on */
    struct sw_breaker b = {0};
    int64_t now = NOW;
    assert_int_equal(sw_breaker_min_outcomes(&c), 5);
    assert_int_equal(feed(&b, &c, 4, 1, &now), 0); /* 4 failures: too few outcomes */
    assert_int_equal(feed(&b, &c, 10, 0, &now), 0);
    assert_int_equal(b.outcome_count, 10);
    assert_int_equal(__builtin_popcountll(b.outcomes), 0); /* the failures left the window */
    assert_int_equal(feed(&b, &c, 5, 1, &now), 0);         /* 5 of 10: not above half */
    assert_int_equal(feed(&b, &c, 1, 1, &now), 1);
    assert_string_equal(b.reason, "failure_rate");
}

static void test_rules_off_never_open(void **state)
{
    struct sw_breaker_config off = defaults;
    off.failures = 0;
    off.rate_percent = 0;
    struct sw_breaker b = {0};
    int64_t now = NOW;
    assert_false(sw_breaker_enabled(&off));
    assert_true(sw_breaker_enabled(&defaults));
    assert_int_equal(feed(&b, &off, 200, 1, &now), 0);
    assert_int_equal(b.state, SW_BREAKER_CLOSED);
    assert_int_equal(b.consecutive_failures, 200);
    assert_int_equal(sw_breaker_admit(&b, 4), 4);
}

/* An open breaker at NOW with the defaults. */
static void open_breaker(struct sw_breaker *b)
{
    int64_t now = NOW - 5;
    memset(b, 0, sizeof *b);
    feed(b, &defaults, 5, 1, &now);
    assert_int_equal(b->state, SW_BREAKER_OPEN);
    assert_int_equal(b->opened_at, NOW - 1);
}

static void test_half_open_after_cooldown(void **state)
{
    struct sw_breaker b;
    open_breaker(&b);
    int64_t due = b.half_open_at;
    assert_int_equal(sw_breaker_poll(&b, due - 1), 0);
    assert_int_equal(b.state, SW_BREAKER_OPEN);
    /* outcomes of tasks leased before it opened change nothing while it is open */
    assert_int_equal(sw_breaker_record(&b, &defaults, 77, 0, due - 1), 0);
    assert_int_equal(b.state, SW_BREAKER_OPEN);
    assert_int_equal(sw_breaker_poll(&b, due), 1);
    assert_int_equal(b.state, SW_BREAKER_HALF_OPEN);
    assert_string_equal(b.reason, "cooldown_over");
    assert_int_equal(sw_breaker_deadline(&b), 0);
    assert_int_equal(sw_breaker_poll(&b, due + 1), 0);
    /* one trial, however many slots */
    assert_int_equal(sw_breaker_admit(&b, 8), 1);
    assert_int_equal(sw_breaker_admit(&b, 0), 0);
    sw_breaker_leased(&b, 501);
    assert_int_equal(b.trial_task, 501);
    assert_int_equal(sw_breaker_admit(&b, 8), 0);
    sw_breaker_leased(&b, 502); /* not a trial: one is running */
    assert_int_equal(b.trial_task, 501);
}

static void test_trial_success_closes(void **state)
{
    struct sw_breaker b;
    open_breaker(&b);
    sw_breaker_poll(&b, b.half_open_at);
    sw_breaker_leased(&b, 501);
    /* another task's outcome (leased before it opened) does not decide */
    assert_int_equal(sw_breaker_record(&b, &defaults, 400, 0, NOW + 40000), 0);
    assert_int_equal(sw_breaker_record(&b, &defaults, 400, 1, NOW + 40000), 0);
    assert_int_equal(b.state, SW_BREAKER_HALF_OPEN);
    assert_int_equal(sw_breaker_record(&b, &defaults, 501, 0, NOW + 40001), 1);
    assert_int_equal(b.state, SW_BREAKER_CLOSED);
    assert_string_equal(b.reason, "trial_succeeded");
    assert_int_equal(b.consecutive_failures, 0);
    assert_int_equal(b.outcome_count, 0);
    assert_int_equal(b.trial_task, 0);
    assert_int_equal(sw_breaker_admit(&b, 3), 3);
    assert_int_equal(b.trips, 1);
    /* a fresh run of failures opens it again with the first cool-down */
    int64_t now = NOW + 50000;
    assert_int_equal(feed(&b, &defaults, 5, 1, &now), 1);
    assert_int_equal(b.cooldown_ms, 30000);
    assert_int_equal(b.trips, 2);
}

static void test_trial_failure_doubles_cooldown(void **state)
{
    struct sw_breaker b;
    open_breaker(&b);
    int64_t expected[] = {60000, 120000, 240000, 300000, 300000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        int64_t due = b.half_open_at;
        assert_int_equal(sw_breaker_poll(&b, due), 1);
        sw_breaker_leased(&b, 600 + i);
        assert_int_equal(sw_breaker_record(&b, &defaults, 600 + i, 1, due + 10), 1);
        assert_int_equal(b.state, SW_BREAKER_OPEN);
        assert_string_equal(b.reason, "trial_failed");
        assert_int_equal(b.cooldown_ms, expected[i]);
        assert_int_equal(b.half_open_at, due + 10 + expected[i]);
        assert_int_equal(b.opened_at, due + 10);
    }
    assert_int_equal(b.trips, 6);
}

static void test_trial_without_outcome(void **state)
{
    struct sw_breaker b;
    open_breaker(&b);
    sw_breaker_poll(&b, b.half_open_at);
    sw_breaker_leased(&b, 700);
    sw_breaker_released(&b, 699); /* another task */
    assert_int_equal(sw_breaker_admit(&b, 1), 0);
    sw_breaker_released(&b, 700); /* cancelled: the next lease is a trial again */
    assert_int_equal(b.state, SW_BREAKER_HALF_OPEN);
    assert_int_equal(sw_breaker_admit(&b, 1), 1);
    /* a late outcome of the released trial decides nothing */
    assert_int_equal(sw_breaker_record(&b, &defaults, 700, 1, NOW + 40000), 0);
    assert_int_equal(b.state, SW_BREAKER_HALF_OPEN);
}

static void test_cooldown_bounds(void **state)
{
    struct sw_breaker_config c = defaults;
    c.max_cooldown_ms = 10; /* below the cool-down: the cool-down is the longest */
    struct sw_breaker b = {0};
    int64_t now = NOW;
    feed(&b, &c, 5, 1, &now);
    sw_breaker_poll(&b, b.half_open_at);
    sw_breaker_leased(&b, 9);
    sw_breaker_record(&b, &c, 9, 1, b.half_open_at);
    assert_int_equal(b.cooldown_ms, 30000);
}

/* ---- the scheduler with breakers ---- */

struct fixture {
    struct sw_sched s;
    int breaker_events;
    int ready_calls; /* lease waiter callbacks */
};

static void hook_agent_event(void *ctx, struct sw_agent *a, enum sw_agent_event ev)
{
    struct fixture *f = ctx;
    f->breaker_events += ev == SW_AGENT_EV_BREAKER;
}

static void hook_task_dirty(void *ctx, struct sw_task *t)
{
    t->dirty = 0; /* as if written at once: finished tasks may be evicted */
}

static int setup(void **state)
{
    struct sw_sched_config cfg = {
        .lease_ms = 30000,
        .heartbeat_ms = 5000,
        .lost_after = 1000000, /* agents are never lost here */
        .default_max_attempts = 100,
        .default_backoff = {0, 0, 1.0},
        .terminal_cache = 1000,
        .breaker = defaults,
    };
    struct fixture *f = calloc(1, sizeof *f);
    struct sw_sched_hooks hooks = {f, hook_task_dirty, NULL, NULL, hook_agent_event};
    sw_sched_init(&f->s, &cfg, &hooks, 7);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sw_sched_free(&f->s);
    free(f);
    return 0;
}

static struct sw_task *submit(struct fixture *f, const char *capability, const char *swarm,
                              int64_t run_at, int64_t now)
{
    struct sw_task *t = sw_task_new();
    assert_non_null(t);
    assert_int_equal(sw_task_set_str(&t->capability, capability), 0);
    assert_int_equal(sw_task_set_str(&t->payload, "null"), 0);
    assert_int_equal(sw_task_set_str(&t->swarm, swarm), 0);
    t->max_attempts = 100;
    t->run_at = run_at;
    assert_int_equal(sw_sched_submit(&f->s, t, now), 0);
    return t;
}

static struct sw_agent *add_agent(struct fixture *f, const char *name, int slots, int64_t now)
{
    struct sw_agent *a = sw_agent_new();
    assert_non_null(a);
    a->name = sw_strdup(name);
    a->slots = slots;
    a->capabilities = sw_calloc(1, sizeof *a->capabilities);
    a->capabilities[0] = sw_strdup("resize");
    a->ncapabilities = 1;
    assert_int_equal(sw_sched_register_agent(&f->s, a, now), 0);
    return a;
}

static void ready_cb(struct sw_lease_waiter *w)
{
    struct fixture *f = w->data;
    f->ready_calls++;
}

static struct sw_task *lease_one(struct fixture *f, struct sw_agent *a, int64_t now)
{
    struct sw_task *t[4];
    int n = -1;
    assert_int_equal(sw_sched_lease(&f->s, a, 4, now, t, &n), 0);
    assert_true(n <= 1);
    return n ? t[0] : NULL;
}

/* The bad agent fails 5 tasks: its breaker opens; the good one takes the rest. */
static void trip(struct fixture *f, struct sw_agent *bad, int64_t *now)
{
    for (int i = 0; i < 5; i++) {
        submit(f, "resize", NULL, 0, *now);
        struct sw_task *t = lease_one(f, bad, *now);
        assert_non_null(t);
        assert_int_equal(sw_sched_fail(&f->s, t, bad, t->lease_id, NULL, 1, *now), 0);
        (*now)++;
    }
    assert_int_equal(bad->breaker.state, SW_BREAKER_OPEN);
}

static void test_sched_skips_open_agent(void **state)
{
    struct fixture *f = *state;
    int64_t now = NOW;
    struct sw_agent *bad = add_agent(f, "bad", 1, now);
    struct sw_agent *good = add_agent(f, "good", 1, now);
    trip(f, bad, &now);
    assert_int_equal(f->breaker_events, 1);
    assert_int_equal(f->s.breaker_trips, 1);
    assert_int_equal(bad->total_failed, 5);
    sw_sched_tick(&f->s, now); /* the failed tasks are queued again (no backoff) */
    /* the 5 failed tasks are queued again: only the healthy agent gets them */
    for (int i = 0; i < 5; i++) {
        assert_null(lease_one(f, bad, now));
        struct sw_task *t = lease_one(f, good, now);
        assert_non_null(t);
        assert_int_equal(sw_sched_complete(&f->s, t, good, t->lease_id, "1", now), 0);
    }
    assert_null(lease_one(f, good, now));
    assert_int_equal(good->breaker.state, SW_BREAKER_CLOSED);
    assert_int_equal(good->total_completed, 5);
}

static void test_sched_waits_then_trial(void **state)
{
    struct fixture *f = *state;
    int64_t now = NOW;
    struct sw_agent *bad = add_agent(f, "bad", 4, now);
    trip(f, bad, &now);
    int64_t due = bad->breaker.half_open_at;
    sw_sched_tick(&f->s, now);
    /* its only provider is open: the tasks wait queued, and so does its long poll */
    assert_int_equal(sw_sched_queue(&f->s, "resize")->count[SW_TASK_QUEUED], 5);
    struct sw_task *tasks[4];
    struct sw_lease_waiter w = {.agent = bad, .max = 4, .tasks = tasks, .ready_cb = ready_cb};
    w.data = f;
    sw_sched_wait(&f->s, &w);
    sw_sched_dispatch(&f->s, now);
    assert_int_equal(f->ready_calls, 0);
    /* the scheduler announces the cool-down's end as a deadline; half-open at it */
    while (sw_sched_next_deadline(&f->s) < due) {
        sw_sched_tick(&f->s, sw_sched_next_deadline(&f->s));
        assert_int_equal(bad->breaker.state, SW_BREAKER_OPEN);
    }
    assert_int_equal(sw_sched_next_deadline(&f->s), due);
    sw_sched_tick(&f->s, due);
    assert_int_equal(bad->breaker.state, SW_BREAKER_HALF_OPEN);
    assert_int_equal(f->breaker_events, 2);
    /* the waiting lease gets exactly one trial task, though it has 4 free slots */
    sw_sched_dispatch(&f->s, due);
    assert_int_equal(f->ready_calls, 1);
    assert_int_equal(w.ntasks, 1);
    struct sw_task *trial = tasks[0];
    assert_int_equal(bad->breaker.trial_task, trial->id);
    assert_null(lease_one(f, bad, due));
    /* its lease expires: a failure, open again for twice as long */
    int64_t expiry = trial->lease_deadline;
    sw_sched_tick(&f->s, expiry);
    assert_int_equal(bad->breaker.state, SW_BREAKER_OPEN);
    assert_string_equal(bad->breaker.reason, "trial_failed");
    assert_int_equal(bad->breaker.cooldown_ms, 60000);
    assert_int_equal(bad->breaker.half_open_at, expiry + 60000);
    assert_null(lease_one(f, bad, expiry + 59999));
    /* the next trial succeeds: closed, it takes as many as it has slots for */
    sw_sched_tick(&f->s, expiry + 60000);
    trial = lease_one(f, bad, expiry + 60000);
    assert_non_null(trial);
    assert_int_equal(sw_sched_complete(&f->s, trial, bad, trial->lease_id, "1", expiry + 60001), 0);
    assert_int_equal(bad->breaker.state, SW_BREAKER_CLOSED);
    assert_string_equal(bad->breaker.reason, "trial_succeeded");
    int n = -1;
    assert_int_equal(sw_sched_lease(&f->s, bad, 4, expiry + 60002, tasks, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(f->s.breaker_trips, 2);
    assert_int_equal(f->breaker_events, 5);
}

static void test_sched_cancelled_trial(void **state)
{
    struct fixture *f = *state;
    int64_t now = NOW;
    struct sw_agent *bad = add_agent(f, "bad", 2, now);
    trip(f, bad, &now);
    sw_sched_tick(&f->s, bad->breaker.half_open_at);
    struct sw_task *trial = lease_one(f, bad, now + 40000);
    assert_non_null(trial);
    assert_int_equal(sw_sched_cancel(&f->s, trial, now + 40001), 0);
    assert_int_equal(bad->breaker.state, SW_BREAKER_HALF_OPEN);
    assert_int_equal(bad->breaker.trial_task, 0);
    struct sw_task *next = lease_one(f, bad, now + 40002);
    assert_non_null(next);
    assert_int_equal(bad->breaker.trial_task, next->id);
}

static void test_swarm_waiting_counts(void **state)
{
    struct fixture *f = *state;
    int64_t now = NOW;
    struct sw_agent *a = add_agent(f, "worker", 1, now);
    a->swarm = sw_strdup("media"); /* a routed task goes to its swarm's agents only */
    struct sw_task *q1 = submit(f, "resize", "media", 0, now);
    submit(f, "resize", "media", now + 1000, now); /* scheduled counts too */
    submit(f, "resize", "other", 0, now);
    submit(f, "resize", NULL, 0, now);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "media"), 2);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "other"), 1);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "none"), 0);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, NULL), 0);
    struct sw_task *t = lease_one(f, a, now);
    assert_ptr_equal(t, q1); /* running does not count */
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "media"), 1);
    /* a failed attempt with backoff is scheduled again: it counts again */
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, NULL, 1, now), 0);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "media"), 2);
    assert_int_equal(sw_sched_cancel(&f->s, t, now), 0);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "media"), 1);
    sw_sched_tick(&f->s, now + 1000);
    assert_int_equal(sw_sched_swarm_waiting(&f->s, "media"), 1); /* promoted to queued */
    t = lease_one(f, a, now + 1000);
    assert_non_null(t);
    assert_int_equal(
        sw_sched_swarm_waiting(&f->s, "media") + sw_sched_swarm_waiting(&f->s, "other"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consecutive_failures_open),
        cmocka_unit_test(test_success_resets_the_run),
        cmocka_unit_test(test_failure_rate_opens),
        cmocka_unit_test(test_window_forgets_old_outcomes),
        cmocka_unit_test(test_rules_off_never_open),
        cmocka_unit_test(test_half_open_after_cooldown),
        cmocka_unit_test(test_trial_success_closes),
        cmocka_unit_test(test_trial_failure_doubles_cooldown),
        cmocka_unit_test(test_trial_without_outcome),
        cmocka_unit_test(test_cooldown_bounds),
        cmocka_unit_test_setup_teardown(test_sched_skips_open_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_waits_then_trial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_cancelled_trial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swarm_waiting_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
