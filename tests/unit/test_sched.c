/* SPDX-License-Identifier: MIT
 * test_sched.c - unit tests of the scheduler (src/sched/sched.c), driven with
 * explicit wall-clock times: submit, leasing by capability, priority and age within
 * free slots, outcomes and their stale-lease and wrong-agent refusals, retries with
 * backoff and promotion by tick, dead-lettering, manual retry, cancel in every
 * state, lease expiry and timeouts, heartbeats, lost and returning agents, agent
 * removal, long-poll lease waiters, the next deadline, eviction of finished tasks,
 * idempotency keys, allocation failure and recovery after a restart. Hooks record
 * what the scheduler reports, the task_dirty hook marks tasks dirty as the server
 * does, and every test ends with a check of the scheduler's internal consistency. A
 * random run mixes all operations and checks that consistency after each step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "sched/sched.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL

struct task_record {
    uint64_t id;
    enum sw_task_event ev;
};

struct agent_record {
    uint64_t id;
    enum sw_agent_event ev;
};

struct fixture {
    struct sw_sched s;
    struct task_record *task_events;
    size_t ntask_events, task_events_cap;
    struct agent_record agent_events[256];
    size_t nagent_events;
    size_t task_dirty_calls, agent_dirty_calls;
    struct sw_agent **removed; /* agents handed over by remove_agent, freed at teardown */
    size_t nremoved, removed_cap;
};

/* ---- hooks ---- */

static void hook_task_dirty(void *ctx, struct sw_task *t)
{
    struct fixture *f = ctx;
    f->task_dirty_calls++;
    t->dirty = 1;
}

static void hook_agent_dirty(void *ctx, struct sw_agent *a)
{
    struct fixture *f = ctx;
    f->agent_dirty_calls++;
    if (a->removed && !a->dirty) {
        if (f->nremoved == f->removed_cap) {
            f->removed_cap = f->removed_cap ? f->removed_cap * 2 : 16;
            f->removed = realloc(f->removed, f->removed_cap * sizeof *f->removed);
        }
        f->removed[f->nremoved++] = a;
        a->dirty = 1;
    }
}

static void hook_task_event(void *ctx, struct sw_task *t, enum sw_task_event ev)
{
    struct fixture *f = ctx;
    if (f->ntask_events == f->task_events_cap) {
        f->task_events_cap = f->task_events_cap ? f->task_events_cap * 2 : 64;
        f->task_events = realloc(f->task_events, f->task_events_cap * sizeof *f->task_events);
    }
    f->task_events[f->ntask_events++] = (struct task_record){t->id, ev};
}

static void hook_agent_event(void *ctx, struct sw_agent *a, enum sw_agent_event ev)
{
    struct fixture *f = ctx;
    if (f->nagent_events < sizeof f->agent_events / sizeof f->agent_events[0])
        f->agent_events[f->nagent_events++] = (struct agent_record){a->id, ev};
}

static int task_events(const struct fixture *f, uint64_t id, enum sw_task_event ev)
{
    int n = 0;
    for (size_t i = 0; i < f->ntask_events; i++)
        n += f->task_events[i].id == id && f->task_events[i].ev == ev;
    return n;
}

static int agent_events(const struct fixture *f, uint64_t id, enum sw_agent_event ev)
{
    int n = 0;
    for (size_t i = 0; i < f->nagent_events; i++)
        n += f->agent_events[i].id == id && f->agent_events[i].ev == ev;
    return n;
}

/* ---- consistency of the scheduler's structures ---- */

static int in_heap(const struct sw_heap *h, const struct sw_task *t)
{
    return t->heap_index < h->len && h->items[t->heap_index] == t;
}

static int in_leases_of(const struct sw_agent *a, const struct sw_task *t)
{
    for (const struct sw_task *l = a->leases; l; l = l->agent_next)
        if (l == t)
            return 1;
    return 0;
}

static char problem_text[256];

/* Records the first inconsistency found (printf-style) and returns 1. */
static int problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem_text, sizeof problem_text, fmt, ap);
    va_end(ap);
    return 1;
}

/* The ready heap a queued task of q belongs in: its swarm's lane or the unrouted one. */
static const struct sw_heap *ready_of(const struct sw_queue *q, const struct sw_task *t)
{
    const struct sw_lane *lane = t->swarm ? sw_strmap_get(&q->lanes, t->swarm) : NULL;
    return t->swarm ? (lane ? &lane->ready : NULL) : &q->ready;
}

/* Every task sits in the structure of its state. 0 or 1 with problem_text set. */
static int check_task_places(struct sw_sched *s, int64_t by_state[SW_TASK_NSTATES])
{
    size_t pos = 0;
    void *value;

    while (sw_map_next(&s->tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        struct sw_queue *q = sw_sched_queue(s, t->capability);
        unsigned long long id = (unsigned long long)t->id;
        const char *state = sw_task_state_names[t->state];
        struct sw_agent *a = sw_sched_agent(s, t->agent_id);
        if (q == NULL)
            return problem("task %llx has no queue", id);
        by_state[t->state]++;
        if ((t->state == SW_TASK_SCHEDULED && !in_heap(&s->delayed, t)) ||
            (t->state == SW_TASK_QUEUED &&
             (ready_of(q, t) == NULL || !in_heap(ready_of(q, t), t))) ||
            (t->state == SW_TASK_RUNNING && !in_heap(&s->leases, t)))
            return problem("%s task %llx is not in its heap", state, id);
        if (t->state == SW_TASK_RUNNING && (a == NULL || !in_leases_of(a, t)))
            return problem("running task %llx is not in its agent's leases", id);
        if (sw_task_state_terminal(t->state) && t->heap_index != SW_HEAP_NONE)
            return problem("%s task %llx still has a heap index", state, id);
    }
    return 0;
}

/* Queue counts, heap sizes and the terminal list agree with the tasks. */
static int check_counts(struct sw_sched *s, const int64_t by_state[SW_TASK_NSTATES])
{
    int64_t counted[SW_TASK_NSTATES] = {0};
    size_t pos = 0, ready = 0, terminal = 0;
    void *value;

    while (sw_strmap_next(&s->queues, &pos, NULL, &value)) {
        struct sw_queue *q = value;
        for (int i = 0; i < SW_TASK_NSTATES; i++)
            counted[i] += q->count[i];
        size_t ready_len = sw_queue_ready_len(q);
        if ((int64_t)ready_len != q->count[SW_TASK_QUEUED])
            return problem("queue %s: %zu ready, counts %lld queued", q->capability, ready_len,
                           (long long)q->count[SW_TASK_QUEUED]);
        ready += ready_len;
    }
    for (int i = 0; i < SW_TASK_NSTATES; i++)
        if (counted[i] != by_state[i])
            return problem("queues count %lld tasks %s, the map holds %lld", (long long)counted[i],
                           sw_task_state_names[i], (long long)by_state[i]);
    if ((int64_t)ready != by_state[SW_TASK_QUEUED] ||
        (int64_t)s->delayed.len != by_state[SW_TASK_SCHEDULED] ||
        (int64_t)s->leases.len != by_state[SW_TASK_RUNNING])
        return problem("heap sizes %zu delayed, %zu leases disagree with the tasks", s->delayed.len,
                       s->leases.len);
    for (struct sw_task *t = s->lru_head; t; t = t->lru_next, terminal++)
        if (!sw_task_state_terminal(t->state))
            return problem("%s task in the terminal list", sw_task_state_names[t->state]);
    if (terminal != s->terminal_count || (int64_t)terminal != by_state[SW_TASK_SUCCEEDED] +
                                                                  by_state[SW_TASK_FAILED] +
                                                                  by_state[SW_TASK_CANCELLED])
        return problem("terminal list holds %zu, terminal_count %zu", terminal, s->terminal_count);
    return 0;
}

/* Each agent's lease list, running count and state agree. */
static int check_agents(struct sw_sched *s)
{
    size_t pos = 0;
    void *value;

    while (sw_map_next(&s->agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        int n = 0;
        for (struct sw_task *t = a->leases; t; t = t->agent_next, n++)
            if (t->state != SW_TASK_RUNNING || t->agent_id != a->id)
                return problem("agent %s holds a task it does not run", a->name);
        if (a->running != n)
            return problem("agent %s: running = %d, holds %d leases", a->name, a->running, n);
        if (a->running > a->slots)
            return problem("agent %s: running = %d over %d slots", a->name, a->running, a->slots);
        if (a->state != SW_AGENT_LOST &&
            a->state != (a->running >= a->slots ? SW_AGENT_BUSY : SW_AGENT_READY))
            return problem("agent %s: state %s with %d of %d slots used", a->name,
                           sw_agent_state_names[a->state], a->running, a->slots);
    }
    return 0;
}

/* The first inconsistency of the scheduler's structures, or NULL. */
static const char *sched_problem(struct sw_sched *s)
{
    int64_t by_state[SW_TASK_NSTATES] = {0};

    if (check_task_places(s, by_state) || check_counts(s, by_state) || check_agents(s))
        return problem_text;
    return NULL;
}

static void check_sched(struct sw_sched *s)
{
    const char *why = sched_problem(s);
    if (why)
        fail_msg("scheduler inconsistent: %s", why);
}

/* ---- fixture ---- */

static const struct sw_sched_config test_config = {
    .lease_ms = 30000,
    .heartbeat_ms = 5000,
    .lost_after = 3,
    .default_max_attempts = 3,
    .default_backoff = {1000, 60000, 2.0},
    .terminal_cache = 1000,
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct sw_sched_hooks hooks = {f, hook_task_dirty, hook_agent_dirty, hook_task_event,
                                   hook_agent_event};
    sw_sched_init(&f->s, &test_config, &hooks, 12345);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const char *why = sched_problem(&f->s);
    char text[sizeof problem_text];
    snprintf(text, sizeof text, "%s", why ? why : "");
    sw_sched_free(&f->s);
    for (size_t i = 0; i < f->nremoved; i++)
        sw_agent_free(f->removed[i]);
    free(f->removed);
    free(f->task_events);
    free(f);
    if (why)
        fail_msg("scheduler inconsistent: %s", text); /* after freeing, so nothing leaks */
    return 0;
}

/* What the commit batch does once the dirty entities are written. */
static void commit(struct fixture *f)
{
    size_t pos = 0;
    void *value;
    while (sw_map_next(&f->s.tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        t->dirty = 0;
        t->persisted = 1;
    }
}

/* ---- builders ---- */

static struct sw_task *make_task(const char *capability, int64_t priority)
{
    struct sw_task *t = sw_task_new();
    assert_non_null(t);
    assert_int_equal(sw_task_set_str(&t->capability, capability), 0);
    assert_int_equal(sw_task_set_str(&t->payload, "{\"n\":1}"), 0);
    t->priority = priority;
    t->max_attempts = test_config.default_max_attempts;
    t->backoff = test_config.default_backoff;
    return t;
}

static struct sw_task *submit(struct fixture *f, const char *capability, int64_t priority,
                              int64_t now)
{
    struct sw_task *t = make_task(capability, priority);
    assert_int_equal(sw_sched_submit(&f->s, t, now), 0);
    return t;
}

static struct sw_task *submit_at(struct fixture *f, const char *capability, int64_t run_at,
                                 int64_t now)
{
    struct sw_task *t = make_task(capability, 0);
    t->run_at = run_at;
    assert_int_equal(sw_sched_submit(&f->s, t, now), 0);
    return t;
}

/* A new agent with comma-separated capabilities (not registered). */
static struct sw_agent *make_agent(const char *name, int slots, const char *capabilities)
{
    struct sw_agent *a = sw_agent_new();
    assert_non_null(a);
    a->name = sw_strdup(name);
    a->slots = slots;
    a->capabilities = sw_calloc(SW_AGENT_MAX_CAPS, sizeof *a->capabilities);
    for (const char *p = capabilities; *p;) {
        size_t n = strcspn(p, ",");
        a->capabilities[a->ncapabilities++] = sw_strndup(p, n);
        p += n + (p[n] == ',');
    }
    return a;
}

static struct sw_agent *add_agent(struct fixture *f, const char *name, int slots,
                                  const char *capabilities, int64_t now)
{
    struct sw_agent *a = make_agent(name, slots, capabilities);
    assert_int_equal(sw_sched_register_agent(&f->s, a, now), 0);
    return a;
}

static int lease(struct fixture *f, struct sw_agent *a, int max, int64_t now, struct sw_task **out)
{
    int n = -1;
    assert_int_equal(sw_sched_lease(&f->s, a, max, now, out, &n), 0);
    return n;
}

static struct sw_task *lease_one(struct fixture *f, struct sw_agent *a, int64_t now)
{
    struct sw_task *t[1];
    return lease(f, a, 1, now, t) ? t[0] : NULL;
}

/* The "code" of a task's error object ("" when none). */
static const char *error_code(const struct sw_task *t)
{
    static char code[64];
    code[0] = '\0';
    if (t->error == NULL)
        return code;
    json_t *root = json_loads(t->error, 0, NULL);
    assert_non_null(root);
    const char *c = json_string_value(json_object_get(root, "code"));
    assert_non_null(c);
    snprintf(code, sizeof code, "%s", c);
    json_decref(root);
    return code;
}

/* ---- submit and lease ---- */

static void test_submit(void **state)
{
    struct fixture *f = *state;
    struct sw_task *a = submit(f, "build", 0, NOW);
    struct sw_task *b = submit_at(f, "build", NOW + 5000, NOW);
    struct sw_task *c = submit_at(f, "build", NOW, NOW); /* due now: queued */

    assert_int_equal(a->state, SW_TASK_QUEUED);
    assert_int_equal(b->state, SW_TASK_SCHEDULED);
    assert_int_equal(c->state, SW_TASK_QUEUED);
    assert_true(a->id < b->id && b->id < c->id);
    assert_true(a->id >= (uint64_t)NOW << 16);
    assert_int_equal(a->created_at, NOW);
    assert_int_equal(a->queued_at, NOW);
    assert_ptr_equal(sw_sched_task(&f->s, b->id), b);
    assert_null(sw_sched_task(&f->s, 12345));
    struct sw_queue *q = sw_sched_queue(&f->s, "build");
    assert_non_null(q);
    assert_int_equal(q->count[SW_TASK_QUEUED], 2);
    assert_int_equal(q->count[SW_TASK_SCHEDULED], 1);
    assert_null(sw_sched_queue(&f->s, "deploy"));
    assert_true(a->dirty && b->dirty && c->dirty);
    assert_int_equal(task_events(f, a->id, SW_TASK_EV_SUBMITTED), 1);
    assert_int_equal(task_events(f, b->id, SW_TASK_EV_SUBMITTED), 1);
}

static void test_lease_priority_then_age(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t1 = submit(f, "build", 0, NOW);
    struct sw_task *t2 = submit(f, "build", 5, NOW);
    struct sw_task *t3 = submit(f, "build", 0, NOW + 1);
    struct sw_task *t4 = submit(f, "build", 5, NOW + 2);
    struct sw_task *t5 = submit(f, "build", -1, NOW + 3);
    struct sw_agent *a = add_agent(f, "w1", 10, "build", NOW);
    struct sw_task *got[10];

    assert_int_equal(lease(f, a, 10, NOW + 10, got), 5);
    assert_ptr_equal(got[0], t2);
    assert_ptr_equal(got[1], t4);
    assert_ptr_equal(got[2], t1);
    assert_ptr_equal(got[3], t3);
    assert_ptr_equal(got[4], t5);
    assert_int_equal(a->running, 5);
    assert_int_equal(task_events(f, t5->id, SW_TASK_EV_LEASED), 1);
}

static void test_lease_by_capability(void **state)
{
    struct fixture *f = *state;
    struct sw_task *a1 = submit(f, "a", 1, NOW);
    struct sw_task *b1 = submit(f, "b", 1, NOW + 1);
    struct sw_task *b2 = submit(f, "b", 2, NOW + 2);
    struct sw_task *c1 = submit(f, "c", 9, NOW + 3);
    struct sw_agent *only_d = add_agent(f, "d", 4, "d", NOW);
    struct sw_agent *only_a = add_agent(f, "oa", 4, "a", NOW);
    struct sw_agent *both = add_agent(f, "ab", 4, "a,b", NOW);
    struct sw_task *got[4];

    assert_int_equal(lease(f, only_d, 4, NOW + 10, got), 0);
    assert_int_equal(only_d->running, 0);
    assert_int_equal(lease(f, both, 4, NOW + 10, got), 3);
    assert_ptr_equal(got[0], b2); /* priority across queues */
    assert_ptr_equal(got[1], a1); /* then the older of equal priority */
    assert_ptr_equal(got[2], b1);
    assert_int_equal(lease(f, only_a, 4, NOW + 10, got), 0);
    assert_int_equal(c1->state, SW_TASK_QUEUED); /* nobody runs "c" */
}

/* A task routed to a swarm goes only to that swarm's agents; an unrouted one to any
 * provider. An agent is never held up behind another swarm's task at the head. */
static void test_lease_by_swarm(void **state)
{
    struct fixture *f = *state;
    struct sw_task *east = make_task("resize", 9);
    assert_int_equal(sw_task_set_str(&east->swarm, "east"), 0);
    assert_int_equal(sw_sched_submit(&f->s, east, NOW), 0);
    struct sw_task *west = make_task("resize", 5);
    assert_int_equal(sw_task_set_str(&west->swarm, "west"), 0);
    assert_int_equal(sw_sched_submit(&f->s, west, NOW + 1), 0);
    struct sw_task *any = submit(f, "resize", 0, NOW + 2);
    struct sw_agent *loner = add_agent(f, "loner", 4, "resize", NOW);
    struct sw_agent *w = make_agent("w1", 4, "resize");
    w->swarm = sw_strdup("west");
    assert_int_equal(sw_sched_register_agent(&f->s, w, NOW), 0);
    struct sw_task *got[4];

    assert_int_equal(sw_queue_ready_len(sw_sched_queue(&f->s, "resize")), 3);
    assert_int_equal(sw_queue_ready_for(sw_sched_queue(&f->s, "resize"), "west"), 2);
    assert_int_equal(sw_queue_ready_for(sw_sched_queue(&f->s, "resize"), "north"), 1);
    assert_int_equal(sw_queue_ready_for(sw_sched_queue(&f->s, "resize"), NULL), 1);
    assert_int_equal(lease(f, loner, 4, NOW + 10, got), 1); /* no swarm: unrouted only */
    assert_ptr_equal(got[0], any);
    assert_int_equal(lease(f, w, 4, NOW + 10, got), 1); /* not behind east's task */
    assert_ptr_equal(got[0], west);
    assert_int_equal(east->state, SW_TASK_QUEUED);
    assert_int_equal(sw_sched_queue(&f->s, "resize")->count[SW_TASK_QUEUED], 1);
    assert_int_equal(sw_sched_queue(&f->s, "resize")->count[SW_TASK_RUNNING], 2);
    /* a failed attempt goes back to its own swarm's lane */
    assert_int_equal(sw_sched_fail(&f->s, west, w, west->lease_id, NULL, 1, NOW + 20), 0);
    sw_sched_tick(&f->s, west->run_at);
    assert_int_equal(west->state, SW_TASK_QUEUED);
    assert_null(lease_one(f, loner, west->run_at));
    assert_ptr_equal(lease_one(f, w, west->run_at), west);
}

/* A task's selector: only agents with those labels take it; others take the tasks
 * behind it (no head-of-line blocking). */
static void test_lease_by_selector(void **state)
{
    struct fixture *f = *state;
    struct sw_task *gpu = make_task("render", 9);
    assert_int_equal(sw_task_set_str(&gpu->selector, "{\"gpu\":\"true\"}"), 0);
    assert_int_equal(sw_sched_submit(&f->s, gpu, NOW), 0);
    struct sw_task *plain = submit(f, "render", 0, NOW + 1);
    struct sw_agent *cpu = add_agent(f, "cpu", 4, "render", NOW);
    struct sw_agent *card = make_agent("card", 4, "render");
    card->labels = sw_strdup("{\"gpu\":\"true\",\"zone\":\"a\"}");
    assert_int_equal(sw_sched_register_agent(&f->s, card, NOW), 0);
    struct sw_task *got[4];

    assert_int_equal(lease(f, cpu, 4, NOW + 10, got), 1); /* not the gpu task at the head */
    assert_ptr_equal(got[0], plain);
    assert_int_equal(gpu->state, SW_TASK_QUEUED);
    assert_int_equal(lease(f, card, 4, NOW + 10, got), 1);
    assert_ptr_equal(got[0], gpu);
}

/* "resize@2" serves "resize@2" and bare "resize", never "resize@1". */
static void test_lease_versions(void **state)
{
    struct fixture *f = *state;
    struct sw_task *v1 = submit(f, "resize@1", 0, NOW);
    struct sw_task *bare = submit(f, "resize", 0, NOW + 1);
    struct sw_task *v2 = submit(f, "resize@2", 0, NOW + 2);
    struct sw_agent *two = add_agent(f, "v2", 4, "resize@2", NOW);
    struct sw_agent *plain = add_agent(f, "plain", 4, "resize", NOW);
    struct sw_task *got[4];

    assert_int_equal(lease(f, two, 4, NOW + 10, got), 2);
    assert_ptr_equal(got[0], bare); /* the older first */
    assert_ptr_equal(got[1], v2);
    assert_int_equal(lease(f, plain, 4, NOW + 10, got), 0); /* a bare provider: bare only */
    assert_int_equal(v1->state, SW_TASK_QUEUED);
}

static void test_lease_bounded_by_slots(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);
    struct sw_task *got[10];

    for (int i = 0; i < 5; i++)
        submit(f, "build", 0, NOW + i);
    assert_int_equal(lease(f, a, 0, NOW + 10, got), 0);
    assert_int_equal(lease(f, a, 1, NOW + 10, got), 1);
    assert_int_equal(a->state, SW_AGENT_READY);
    assert_int_equal(lease(f, a, 10, NOW + 10, got), 1);
    assert_int_equal(a->running, 2);
    assert_int_equal(a->state, SW_AGENT_BUSY);
    assert_int_equal(lease(f, a, 10, NOW + 10, got), 0);
    check_sched(&f->s);
    assert_int_equal(sw_sched_complete(&f->s, got[0], a, got[0]->lease_id, NULL, NOW + 20), 0);
    assert_int_equal(a->state, SW_AGENT_READY);
    assert_int_equal(lease(f, a, 10, NOW + 30, got), 1);
    assert_int_equal(sw_sched_queue(&f->s, "build")->count[SW_TASK_QUEUED], 2);
}

static void test_lease_fields(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_task *quick = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 4, "build", NOW);

    quick->timeout_ms = 2000;
    assert_ptr_equal(lease_one(f, a, NOW + 100), t);
    assert_int_equal(t->state, SW_TASK_RUNNING);
    assert_int_equal(t->attempt, 1);
    assert_true(t->lease_id != 0);
    assert_true(t->agent_id == a->id);
    assert_int_equal(t->started_at, NOW + 100);
    assert_int_equal(t->lease_deadline, NOW + 100 + test_config.lease_ms);
    assert_ptr_equal(a->leases, t);
    assert_ptr_equal(lease_one(f, a, NOW + 200), quick);
    assert_int_equal(quick->lease_deadline, NOW + 200 + 2000); /* timeout before lease end */
    assert_true(quick->lease_id > t->lease_id);
}

/* ---- outcomes ---- */

static void test_complete(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_task *u = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);

    lease_one(f, a, NOW);
    lease_one(f, a, NOW);
    assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, "{\"ok\":true}", NOW + 50), 0);
    assert_int_equal(t->state, SW_TASK_SUCCEEDED);
    assert_string_equal(t->result, "{\"ok\":true}");
    assert_int_equal(t->finished_at, NOW + 50);
    assert_int_equal(a->running, 1);
    assert_int_equal(a->total_completed, 1);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_SUCCEEDED), 1);
    assert_int_equal(f->s.terminal_count, 1);
    /* no result is the JSON null; an admin (no agent) may complete */
    assert_int_equal(sw_sched_complete(&f->s, u, NULL, u->lease_id, NULL, NOW + 60), 0);
    assert_string_equal(u->result, "null");
    assert_int_equal(a->running, 0);
}

static void test_stale_lease_and_wrong_agent(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "holder", 1, "build", NOW);
    struct sw_agent *b = add_agent(f, "other", 1, "build", NOW);

    lease_one(f, a, NOW);
    uint64_t lease_id = t->lease_id;
    assert_int_equal(sw_sched_complete(&f->s, t, b, lease_id, NULL, NOW), SW_EFORBIDDEN);
    assert_int_equal(sw_sched_fail(&f->s, t, b, lease_id, NULL, 1, NOW), SW_EFORBIDDEN);
    assert_int_equal(sw_sched_progress(&f->s, t, b, lease_id, "1", NOW), SW_EFORBIDDEN);
    assert_int_equal(sw_sched_complete(&f->s, t, a, lease_id + 1, NULL, NOW), SW_ESTALE_LEASE);
    assert_int_equal(sw_sched_complete(&f->s, t, b, lease_id + 1, NULL, NOW), SW_ESTALE_LEASE);
    assert_int_equal(t->state, SW_TASK_RUNNING);
    assert_int_equal(b->total_completed + b->total_failed, 0);

    /* progress by the holder */
    assert_int_equal(sw_sched_progress(&f->s, t, a, lease_id, "{\"pct\":50}", NOW + 5), 0);
    assert_string_equal(t->progress, "{\"pct\":50}");
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_PROGRESS), 1);

    /* an earlier attempt's lease is stale once the task was leased again */
    assert_int_equal(sw_sched_fail(&f->s, t, a, lease_id, NULL, 1, NOW + 10), 0);
    sw_sched_tick(&f->s, t->run_at);
    assert_ptr_equal(lease_one(f, a, t->updated_at), t);
    assert_true(t->lease_id != lease_id);
    assert_int_equal(sw_sched_complete(&f->s, t, a, lease_id, NULL, NOW + 5000), SW_ESTALE_LEASE);
    assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, NULL, NOW + 5000), 0);
    /* a finished task has no live lease */
    assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, NULL, NOW + 5001),
                     SW_ESTALE_LEASE);
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, NULL, 1, NOW + 5001), SW_ESTALE_LEASE);
    assert_int_equal(sw_sched_progress(&f->s, t, a, t->lease_id, "1", NOW + 5001), SW_ESTALE_LEASE);
    assert_int_equal(a->total_completed, 1);
}

static void test_fail_retry_backoff_then_promote(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    lease_one(f, a, NOW);
    uint64_t first_lease = t->lease_id;
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, "{\"code\":\"boom\"}", 1, NOW + 1000),
                     0);
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_in_range(t->run_at, NOW + 1000 + 500, NOW + 1000 + 1000);
    assert_string_equal(error_code(t), "boom");
    assert_int_equal(t->attempt, 1);
    assert_int_equal(a->running, 0);
    assert_int_equal(a->total_failed, 1);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_ATTEMPT_FAILED), 1);
    assert_true(sw_sched_next_deadline(&f->s) <= t->run_at);

    int64_t run_at = t->run_at;
    sw_sched_tick(&f->s, run_at - 1);
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_null(lease_one(f, a, run_at - 1));
    sw_sched_tick(&f->s, run_at);
    assert_int_equal(t->state, SW_TASK_QUEUED);
    assert_int_equal(t->queued_at, run_at);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_PROMOTED), 1);
    assert_ptr_equal(lease_one(f, a, run_at + 1), t);
    assert_int_equal(t->attempt, 2);
    assert_true(t->lease_id != first_lease);

    /* the second failure waits about twice as long */
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, NULL, 1, run_at + 10), 0);
    assert_in_range(t->run_at, run_at + 10 + 1000, run_at + 10 + 2000);
}

static void test_fail_until_dead(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = make_task("build", 0);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);
    int64_t now = NOW;

    t->max_attempts = 2;
    assert_int_equal(sw_sched_submit(&f->s, t, now), 0);
    for (int attempt = 1; attempt <= 2; attempt++) {
        assert_ptr_equal(lease_one(f, a, now), t);
        assert_int_equal(t->attempt, attempt);
        assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, "{\"code\":\"e\"}", 1, now), 0);
        if (attempt == 1) {
            assert_int_equal(t->state, SW_TASK_SCHEDULED);
            now = t->run_at;
            sw_sched_tick(&f->s, now);
        }
    }
    assert_int_equal(t->state, SW_TASK_FAILED);
    assert_int_equal(t->dead, 1);
    assert_int_equal(t->finished_at, now);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_ATTEMPT_FAILED), 1);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_DEAD), 1);
    assert_int_equal(a->total_failed, 2);
    assert_int_equal(sw_sched_queue(&f->s, "build")->count[SW_TASK_FAILED], 1);
}

static void test_fail_without_retry_is_dead(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    lease_one(f, a, NOW);
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, NULL, 0, NOW + 1), 0);
    assert_int_equal(t->state, SW_TASK_FAILED);
    assert_int_equal(t->dead, 1);
    assert_int_equal(t->attempt, 1);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_DEAD), 1);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_ATTEMPT_FAILED), 0);
}

static void test_manual_retry(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_task *c = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    assert_int_equal(sw_sched_retry(&f->s, t, NOW), SW_EBAD_STATE); /* queued */
    lease_one(f, a, NOW);
    assert_int_equal(sw_sched_retry(&f->s, t, NOW), SW_EBAD_STATE); /* running */
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, NULL, 0, NOW + 1), 0);
    assert_int_equal(t->dead, 1);

    assert_int_equal(sw_sched_retry(&f->s, t, NOW + 100), 0);
    assert_int_equal(t->state, SW_TASK_QUEUED);
    assert_int_equal(t->attempt, 0);
    assert_int_equal(t->dead, 0);
    assert_int_equal(t->finished_at, 0);
    assert_int_equal(t->queued_at, NOW + 100);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_RETRIED), 1);
    assert_int_equal(f->s.terminal_count, 0);
    /* retried tasks go by priority and id like any other: t is older than c */
    assert_ptr_equal(lease_one(f, a, NOW + 200), t);
    assert_int_equal(t->attempt, 1);
    assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, "1", NOW + 300), 0);
    assert_int_equal(sw_sched_retry(&f->s, t, NOW + 400), SW_EBAD_STATE); /* succeeded */

    assert_int_equal(sw_sched_cancel(&f->s, c, NOW + 500), 0);
    assert_int_equal(sw_sched_retry(&f->s, c, NOW + 600), 0);
    assert_int_equal(c->state, SW_TASK_QUEUED);
    assert_int_equal(c->finished_at, 0);
}

/* ---- cancel ---- */

static void test_cancel_queued_and_scheduled(void **state)
{
    struct fixture *f = *state;
    struct sw_task *q = submit(f, "build", 0, NOW);
    struct sw_task *s = submit_at(f, "build", NOW + 1000, NOW);
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);

    assert_int_equal(sw_sched_cancel(&f->s, q, NOW + 1), 0);
    assert_int_equal(q->state, SW_TASK_CANCELLED);
    assert_int_equal(q->finished_at, NOW + 1);
    assert_int_equal(sw_sched_cancel(&f->s, s, NOW + 2), 0);
    assert_int_equal(s->state, SW_TASK_CANCELLED);
    assert_int_equal(f->s.delayed.len, 0);
    sw_sched_tick(&f->s, NOW + 5000);
    assert_int_equal(s->state, SW_TASK_CANCELLED);
    assert_null(lease_one(f, a, NOW + 5000));
    /* cancelling again is a no-op */
    assert_int_equal(sw_sched_cancel(&f->s, q, NOW + 6000), 0);
    assert_int_equal(q->finished_at, NOW + 1);
    assert_int_equal(task_events(f, q->id, SW_TASK_EV_CANCELLED), 1);
    struct sw_queue *queue = sw_sched_queue(&f->s, "build");
    assert_int_equal(queue->count[SW_TASK_CANCELLED], 2);
    assert_int_equal(queue->count[SW_TASK_QUEUED] + queue->count[SW_TASK_SCHEDULED], 0);
}

static void test_cancel_running(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t1 = submit(f, "build", 0, NOW);
    struct sw_task *t2 = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);
    struct sw_task *got[2];

    assert_int_equal(lease(f, a, 2, NOW, got), 2);
    assert_int_equal(a->state, SW_AGENT_BUSY);
    uint64_t lease_id = t1->lease_id;
    assert_int_equal(sw_sched_cancel(&f->s, t1, NOW + 10), 0);
    assert_int_equal(t1->state, SW_TASK_CANCELLED);
    assert_int_equal(a->ncancelled, 1);
    assert_true(a->cancelled[0] == t1->id);
    assert_int_equal(a->running, 1);
    assert_ptr_equal(a->leases, t2);
    assert_int_equal(a->state, SW_AGENT_READY);
    assert_int_equal(f->s.leases.len, 1);
    /* the agent reports too late: its lease is gone */
    assert_int_equal(sw_sched_complete(&f->s, t1, a, lease_id, NULL, NOW + 20), SW_ESTALE_LEASE);
    sw_sched_cancel_told(a);
    assert_int_equal(a->ncancelled, 0);
    assert_int_equal(sw_sched_cancel(&f->s, t2, NOW + 30), 0);
    assert_int_equal(a->running, 0);
    assert_int_equal(a->ncancelled, 1);
}

static void test_cancel_finished_is_refused(void **state)
{
    struct fixture *f = *state;
    struct sw_task *ok = submit(f, "build", 0, NOW);
    struct sw_task *bad = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);

    lease_one(f, a, NOW);
    lease_one(f, a, NOW);
    assert_int_equal(sw_sched_complete(&f->s, ok, a, ok->lease_id, NULL, NOW + 1), 0);
    assert_int_equal(sw_sched_fail(&f->s, bad, a, bad->lease_id, NULL, 0, NOW + 1), 0);
    assert_int_equal(sw_sched_cancel(&f->s, ok, NOW + 2), SW_EBAD_STATE);
    assert_int_equal(ok->state, SW_TASK_SUCCEEDED);
    assert_int_equal(sw_sched_cancel(&f->s, bad, NOW + 2), SW_EBAD_STATE);
    assert_int_equal(bad->state, SW_TASK_FAILED);
    assert_int_equal(task_events(f, ok->id, SW_TASK_EV_CANCELLED), 0);
}

/* ---- time: lease expiry, timeout, heartbeats, lost agents ---- */

static void test_lease_expiry(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_task *last = make_task("build", 0);
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);

    f->s.cfg.lost_after = 1000; /* keep the agent from being lost meanwhile */
    last->max_attempts = 1;
    assert_int_equal(sw_sched_submit(&f->s, last, NOW), 0);
    lease_one(f, a, NOW);
    lease_one(f, a, NOW);
    assert_true(sw_sched_next_deadline(&f->s) <= NOW); /* the first agent check is due */
    sw_sched_tick(&f->s, NOW);
    assert_int_equal(sw_sched_next_deadline(&f->s), NOW + 1250);
    sw_sched_tick(&f->s, NOW + test_config.lease_ms - 1);
    assert_int_equal(t->state, SW_TASK_RUNNING);
    sw_sched_tick(&f->s, NOW + test_config.lease_ms);
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_string_equal(error_code(t), "lease_expired");
    assert_int_equal(t->attempt, 1);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_ATTEMPT_FAILED), 1);
    assert_int_equal(last->state, SW_TASK_FAILED);
    assert_int_equal(last->dead, 1);
    assert_string_equal(error_code(last), "lease_expired");
    assert_int_equal(a->running, 0);
    assert_null(a->leases);
}

static void test_timeout(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = make_task("build", 0);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    t->timeout_ms = 3000;
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), 0);
    lease_one(f, a, NOW);
    assert_int_equal(t->lease_deadline, NOW + 3000);
    /* heartbeats do not push a lease past the attempt's timeout */
    sw_sched_heartbeat(&f->s, a, NOW + 2000);
    assert_int_equal(t->lease_deadline, NOW + 3000);
    sw_sched_tick(&f->s, NOW + 2999);
    assert_int_equal(t->state, SW_TASK_RUNNING);
    sw_sched_tick(&f->s, NOW + 3000);
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_string_equal(error_code(t), "timeout");
    assert_int_equal(a->running, 0);
}

static void test_heartbeat_extends_leases(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t1 = submit(f, "build", 0, NOW);
    struct sw_task *t2 = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "a", 1, "build", NOW);
    struct sw_agent *b = add_agent(f, "b", 1, "build", NOW);

    lease_one(f, a, NOW);
    lease_one(f, b, NOW + 1000);
    assert_ptr_equal(sw_heap_peek(&f->s.leases), t1);
    sw_sched_heartbeat(&f->s, a, NOW + 5000);
    assert_int_equal(t1->lease_deadline, NOW + 35000);
    assert_int_equal(a->last_seen_at, NOW + 5000);
    assert_ptr_equal(sw_heap_peek(&f->s.leases), t2); /* the lease heap was re-ordered */
    int64_t now = NOW + 5000;
    for (; now <= NOW + 100000; now += 2500) {
        if ((now - NOW) % 5000 == 0) {
            sw_sched_heartbeat(&f->s, a, now);
            sw_sched_heartbeat(&f->s, b, now);
        }
        sw_sched_tick(&f->s, now);
        assert_int_equal(t1->state, SW_TASK_RUNNING);
        assert_int_equal(t2->state, SW_TASK_RUNNING);
    }
    assert_int_equal(t1->attempt, 1);
    assert_true(t1->lease_deadline > now);
}

/* Ticks every 250 ms from `from` until the agent is lost; returns that time. */
static int64_t tick_until_lost(struct fixture *f, struct sw_agent *a, int64_t from, int64_t to)
{
    for (int64_t now = from; now <= to; now += 250) {
        sw_sched_tick(&f->s, now);
        if (a->state == SW_AGENT_LOST)
            return now;
    }
    return -1;
}

static void test_agent_lost_and_back(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);
    int64_t limit = test_config.heartbeat_ms * test_config.lost_after;

    lease_one(f, a, NOW);
    int64_t lost_at = tick_until_lost(f, a, NOW, NOW + 60000);
    /* lost once heartbeat_ms * lost_after passed, noticed within a check period */
    assert_in_range(lost_at, NOW + limit, NOW + limit + test_config.heartbeat_ms / 4);
    assert_int_equal(agent_events(f, a->id, SW_AGENT_EV_LOST), 1);
    assert_int_equal(t->state, SW_TASK_QUEUED); /* requeued at once */
    assert_int_equal(t->attempt, 1);            /* the attempt counts */
    assert_string_equal(error_code(t), "agent_lost");
    assert_int_equal(a->running, 0);
    assert_int_equal(a->state, SW_AGENT_LOST);
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_ATTEMPT_FAILED), 1);
    /* a lost agent gets no work */
    assert_null(lease_one(f, a, lost_at + 1));
    sw_sched_tick(&f->s, lost_at + 5000);
    assert_int_equal(agent_events(f, a->id, SW_AGENT_EV_LOST), 1); /* reported once */

    /* any call brings it back */
    sw_sched_touch_agent(&f->s, a, lost_at + 6000);
    assert_int_equal(a->state, SW_AGENT_READY);
    assert_int_equal(agent_events(f, a->id, SW_AGENT_EV_BACK), 1);
    assert_ptr_equal(lease_one(f, a, lost_at + 6000), t);
    assert_int_equal(t->attempt, 2);
    sw_sched_touch_agent(&f->s, a, lost_at + 7000);
    assert_int_equal(agent_events(f, a->id, SW_AGENT_EV_BACK), 1);
    assert_int_equal(a->state, SW_AGENT_BUSY);
}

static void test_agent_lost_on_last_attempt(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = make_task("build", 0);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    t->max_attempts = 1;
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), 0);
    lease_one(f, a, NOW);
    assert_true(tick_until_lost(f, a, NOW, NOW + 60000) > 0);
    assert_int_equal(t->state, SW_TASK_FAILED);
    assert_int_equal(t->dead, 1);
    assert_string_equal(error_code(t), "agent_lost");
    assert_int_equal(task_events(f, t->id, SW_TASK_EV_DEAD), 1);
}

static void test_heartbeats_keep_agent(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);
    struct sw_agent *quiet = add_agent(f, "quiet", 1, "build", NOW);

    for (int64_t now = NOW; now <= NOW + 120000; now += 250) {
        if ((now - NOW) % 5000 == 0)
            sw_sched_heartbeat(&f->s, a, now);
        sw_sched_tick(&f->s, now);
    }
    assert_int_equal(a->state, SW_AGENT_READY);
    assert_int_equal(agent_events(f, a->id, SW_AGENT_EV_LOST), 0);
    assert_int_equal(quiet->state, SW_AGENT_LOST);
}

/* ---- agent removal and lease waiters ---- */

struct waiter_log {
    int calls;
    int rc;
    int ntasks;
};

static void waiter_cb(struct sw_lease_waiter *w)
{
    struct waiter_log *log = w->data;
    log->calls++;
    log->rc = w->rc;
    log->ntasks = w->ntasks;
}

static void init_waiter(struct sw_lease_waiter *w, struct sw_agent *a, int max,
                        struct sw_task **tasks, struct waiter_log *log)
{
    memset(w, 0, sizeof *w);
    memset(log, 0, sizeof *log);
    w->agent = a;
    w->max = max;
    w->tasks = tasks;
    w->ready_cb = waiter_cb;
    w->data = log;
}

static void test_remove_agent(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t1 = submit(f, "build", 0, NOW);
    struct sw_task *t2 = make_task("build", 0);
    struct sw_agent *a = add_agent(f, "gone", 3, "build", NOW);
    struct sw_agent *b = add_agent(f, "stays", 1, "other", NOW);
    struct sw_task *slots_a[2], *slots_b[1], *got[2];
    struct sw_lease_waiter wa, wb;
    struct waiter_log la, lb;

    t2->max_attempts = 1;
    assert_int_equal(sw_sched_submit(&f->s, t2, NOW), 0);
    assert_int_equal(lease(f, a, 2, NOW, got), 2);
    init_waiter(&wa, a, 2, slots_a, &la);
    init_waiter(&wb, b, 1, slots_b, &lb);
    sw_sched_wait(&f->s, &wa);
    sw_sched_wait(&f->s, &wb);
    uint64_t id = a->id;

    sw_sched_remove_agent(&f->s, a, NOW + 100);
    assert_int_equal(t1->state, SW_TASK_QUEUED);
    assert_int_equal(t1->attempt, 1);
    assert_string_equal(error_code(t1), "agent_removed");
    assert_int_equal(t2->state, SW_TASK_FAILED); /* its only attempt was used */
    assert_int_equal(t2->dead, 1);
    assert_int_equal(la.calls, 1);
    assert_int_equal(la.rc, SW_EAGENT_GONE);
    assert_int_equal(la.ntasks, 0);
    assert_false(wa.linked);
    assert_int_equal(lb.calls, 0);
    assert_true(wb.linked);
    assert_null(sw_sched_agent(&f->s, id));
    assert_null(sw_sched_agent_by_name(&f->s, "gone"));
    assert_ptr_equal(sw_sched_agent_by_name(&f->s, "stays"), b);
    assert_int_equal(agent_events(f, id, SW_AGENT_EV_REMOVED), 1);
    /* handed to the commit batch, which frees it */
    assert_int_equal(f->nremoved, 1);
    assert_ptr_equal(f->removed[0], a);
    assert_true(a->removed);
    sw_sched_unwait(&f->s, &wb);
    assert_false(wb.linked);
    sw_sched_unwait(&f->s, &wb); /* twice is harmless */
}

static void test_remove_agent_without_hooks(void **state)
{
    struct sw_sched s;
    struct sw_task *t = make_task("build", 0);
    struct sw_agent *a = make_agent("w", 1, "build");
    struct sw_task *got[1];
    int n;

    sw_sched_init(&s, &test_config, NULL, 0);
    assert_int_equal(sw_sched_submit(&s, t, NOW), 0);
    assert_int_equal(sw_sched_register_agent(&s, a, NOW), 0);
    assert_int_equal(sw_sched_lease(&s, a, 1, NOW, got, &n), 0);
    assert_int_equal(n, 1);
    /* no agent_dirty hook: the scheduler frees the agent itself */
    sw_sched_remove_agent(&s, a, NOW + 1);
    assert_int_equal(t->state, SW_TASK_QUEUED);
    assert_int_equal(s.agents.count, 0);
    check_sched(&s);
    sw_sched_free(&s);
}

static void test_waiter_served_when_work_arrives(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 2, "build", NOW);
    struct sw_task *slots[2];
    struct sw_lease_waiter w;
    struct waiter_log log;

    init_waiter(&w, a, 2, slots, &log);
    sw_sched_wait(&f->s, &w);
    sw_sched_dispatch(&f->s, NOW);
    assert_int_equal(log.calls, 0);
    /* work for someone else wakes the dispatcher but not this waiter */
    submit(f, "other", 0, NOW + 1);
    sw_sched_dispatch(&f->s, NOW + 1);
    assert_int_equal(log.calls, 0);
    assert_true(w.linked);

    struct sw_task *t = submit(f, "build", 0, NOW + 2);
    assert_int_equal(log.calls, 0); /* only dispatch serves waiters */
    sw_sched_dispatch(&f->s, NOW + 3);
    assert_int_equal(log.calls, 1);
    assert_int_equal(log.rc, 0);
    assert_int_equal(log.ntasks, 1);
    assert_ptr_equal(slots[0], t);
    assert_int_equal(t->state, SW_TASK_RUNNING);
    assert_true(t->agent_id == a->id);
    assert_false(w.linked);
    submit(f, "build", 0, NOW + 4);
    sw_sched_dispatch(&f->s, NOW + 5);
    assert_int_equal(log.calls, 1); /* unlinked after its callback */
}

static void test_waiters_in_order_and_unwait(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "a", 1, "build", NOW);
    struct sw_agent *b = add_agent(f, "b", 1, "build", NOW);
    struct sw_agent *c = add_agent(f, "c", 1, "build", NOW);
    struct sw_task *sa[1], *sb[1], *sc[1];
    struct sw_lease_waiter wa, wb, wc;
    struct waiter_log la, lb, lc;

    init_waiter(&wa, a, 1, sa, &la);
    init_waiter(&wb, b, 1, sb, &lb);
    init_waiter(&wc, c, 1, sc, &lc);
    sw_sched_wait(&f->s, &wa);
    sw_sched_wait(&f->s, &wb);
    sw_sched_wait(&f->s, &wc);
    sw_sched_unwait(&f->s, &wa); /* e.g. its connection closed */
    struct sw_task *t = submit(f, "build", 0, NOW);
    sw_sched_dispatch(&f->s, NOW);
    assert_int_equal(la.calls, 0);
    assert_int_equal(lb.calls, 1); /* first in line */
    assert_ptr_equal(sb[0], t);
    assert_int_equal(lc.calls, 0);
    assert_true(wc.linked);
    sw_sched_unwait(&f->s, &wc);
    assert_null(f->s.waiters_head);
    assert_null(f->s.waiters_tail);
}

static void test_waiter_served_on_free_slot_and_promotion(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);
    struct sw_task *slots[1];
    struct sw_lease_waiter w;
    struct waiter_log log;

    struct sw_task *running = submit(f, "build", 0, NOW);
    lease_one(f, a, NOW);
    struct sw_task *queued = submit(f, "build", 0, NOW);
    init_waiter(&w, a, 1, slots, &log);
    sw_sched_wait(&f->s, &w);
    sw_sched_dispatch(&f->s, NOW + 1);
    assert_int_equal(log.calls, 0); /* no free slot */
    assert_int_equal(sw_sched_complete(&f->s, running, a, running->lease_id, NULL, NOW + 2), 0);
    sw_sched_dispatch(&f->s, NOW + 3);
    assert_int_equal(log.calls, 1);
    assert_ptr_equal(slots[0], queued);

    /* a delayed task wakes a waiter when tick promotes it */
    struct sw_agent *b = add_agent(f, "b", 1, "later", NOW);
    struct sw_task *later = submit_at(f, "later", NOW + 1000, NOW);
    init_waiter(&w, b, 1, slots, &log);
    sw_sched_wait(&f->s, &w);
    sw_sched_dispatch(&f->s, NOW + 10);
    sw_sched_tick(&f->s, NOW + 999);
    sw_sched_dispatch(&f->s, NOW + 999);
    assert_int_equal(log.calls, 0);
    sw_sched_tick(&f->s, NOW + 1000);
    sw_sched_dispatch(&f->s, NOW + 1000);
    assert_int_equal(log.calls, 1);
    assert_ptr_equal(slots[0], later);
}

/* ---- deadlines, eviction, idempotency keys ---- */

static void test_next_deadline(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    sw_sched_tick(&f->s, NOW);
    /* nothing else to do: the next agent check, a quarter heartbeat away */
    assert_int_equal(sw_sched_next_deadline(&f->s), NOW + test_config.heartbeat_ms / 4);
    struct sw_task *later = submit_at(f, "build", NOW + 800, NOW);
    assert_int_equal(sw_sched_next_deadline(&f->s), NOW + 800);
    struct sw_task *t = make_task("build", 0);
    t->timeout_ms = 300;
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), 0);
    assert_ptr_equal(lease_one(f, a, NOW), t);
    assert_int_equal(sw_sched_next_deadline(&f->s), NOW + 300);
    sw_sched_tick(&f->s, NOW + 300);
    assert_int_equal(t->state, SW_TASK_SCHEDULED);
    assert_int_equal(sw_sched_next_deadline(&f->s), NOW + 800);
    assert_int_equal(later->state, SW_TASK_SCHEDULED);
    /* a short heartbeat still checks agents at most every 10 ms */
    f->s.cfg.heartbeat_ms = 20;
    sw_sched_tick(&f->s, NOW + 1300);
    assert_int_equal(later->state, SW_TASK_QUEUED);
    assert_int_equal(sw_sched_next_deadline(&f->s), NOW + 1310);
}

static void test_evict_finished(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t[7];
    uint64_t ids[7];
    char key[16];

    f->s.cfg.terminal_cache = 2;
    for (int i = 0; i < 5; i++) {
        t[i] = make_task("build", 0);
        snprintf(key, sizeof key, "key-%d", i);
        assert_int_equal(sw_task_set_str(&t[i]->idempotency_key, key), 0);
        assert_int_equal(sw_sched_submit(&f->s, t[i], NOW + i), 0);
        ids[i] = t[i]->id;
        assert_int_equal(sw_sched_cancel(&f->s, t[i], NOW + 10 + i), 0);
    }
    assert_int_equal(f->s.terminal_count, 5);
    /* not yet written to the store: nothing may go */
    sw_sched_evict(&f->s);
    assert_int_equal(f->s.terminal_count, 5);
    commit(f);
    sw_sched_evict(&f->s);
    assert_int_equal(f->s.terminal_count, 2);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_null(sw_sched_task(&f->s, ids[i]));
        assert_null(sw_sched_task_by_key(&f->s, key));
    }
    assert_ptr_equal(sw_sched_task(&f->s, ids[3]), t[3]);
    assert_ptr_equal(sw_sched_task_by_key(&f->s, "key-4"), t[4]);
    assert_int_equal(sw_sched_queue(&f->s, "build")->count[SW_TASK_CANCELLED], 2);
    check_sched(&f->s);

    /* a dirty task at the head of the list holds eviction back */
    for (int i = 5; i < 7; i++) {
        t[i] = submit(f, "build", 0, NOW + 100);
        assert_int_equal(sw_sched_cancel(&f->s, t[i], NOW + 100), 0);
    }
    commit(f);
    t[3]->dirty = 1;
    sw_sched_tick(&f->s, NOW + 200); /* tick evicts too */
    assert_int_equal(f->s.terminal_count, 4);
    t[3]->dirty = 0;
    sw_sched_tick(&f->s, NOW + 300);
    assert_int_equal(f->s.terminal_count, 2);
    assert_null(sw_sched_task(&f->s, ids[4]));
    assert_ptr_equal(f->s.lru_head, t[5]);
    assert_ptr_equal(f->s.lru_tail, t[6]);
}

static void test_evict_keeps_live_tasks(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);

    f->s.cfg.terminal_cache = 0;
    struct sw_task *queued = submit(f, "build", 0, NOW);
    struct sw_task *running = submit(f, "build", 0, NOW);
    struct sw_task *delayed = submit_at(f, "build", NOW + 99999, NOW);
    lease_one(f, a, NOW);
    commit(f);
    sw_sched_evict(&f->s);
    assert_ptr_equal(sw_sched_task(&f->s, queued->id), queued);
    assert_ptr_equal(sw_sched_task(&f->s, running->id), running);
    assert_ptr_equal(sw_sched_task(&f->s, delayed->id), delayed);
    assert_int_equal(f->s.tasks.count, 3);
}

static void test_idempotency_key(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = make_task("build", 0);

    assert_int_equal(sw_task_set_str(&t->idempotency_key, "order-17"), 0);
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), 0);
    submit(f, "build", 0, NOW); /* no key */
    assert_ptr_equal(sw_sched_task_by_key(&f->s, "order-17"), t);
    assert_null(sw_sched_task_by_key(&f->s, "order-18"));
    assert_null(sw_sched_task_by_key(&f->s, ""));
    /* the key stays findable through the task's whole life in memory */
    assert_int_equal(sw_sched_cancel(&f->s, t, NOW + 1), 0);
    assert_ptr_equal(sw_sched_task_by_key(&f->s, "order-17"), t);
}

/* ---- allocation failure ---- */

static void test_submit_out_of_memory(void **state)
{
    struct fixture *f = *state;
    int rc = SW_ENOMEM;

    /* fail each allocation of a submit in turn (new queue, maps, heap) */
    for (long n = 1; rc == SW_ENOMEM && n < 50; n++) {
        struct sw_task *t = make_task("fresh", 0);
        assert_int_equal(sw_task_set_str(&t->idempotency_key, "k"), 0);
        size_t before = f->s.tasks.count;
        sw_alloc_fail_after(n);
        rc = sw_sched_submit(&f->s, t, NOW); /* frees t on error */
        sw_alloc_fail_after(0);
        if (rc == SW_ENOMEM) {
            assert_int_equal(f->s.tasks.count, before);
            assert_null(sw_sched_task_by_key(&f->s, "k"));
        }
        check_sched(&f->s);
    }
    assert_int_equal(rc, 0);
    assert_non_null(sw_sched_task_by_key(&f->s, "k"));
}

/* A lease that cannot grow the lease heap must leave the task queued. */
static void test_lease_out_of_memory(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = submit(f, "build", 0, NOW);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);
    struct sw_task *got[1];
    int n = -1;

    sw_alloc_fail_after(1); /* the first push onto the empty lease heap allocates */
    int rc = sw_sched_lease(&f->s, a, 1, NOW, got, &n);
    sw_alloc_fail_after(0);
    assert_int_equal(rc, SW_ENOMEM);
    assert_int_equal(n, 0);
    if (t->state != SW_TASK_QUEUED)
        fail_msg("after a failed lease the task is %s, want queued", sw_task_state_names[t->state]);
    check_sched(&f->s);
    assert_ptr_equal(lease_one(f, a, NOW + 1), t);
}

/* ---- recovery ---- */

static struct sw_task *stored_task(uint64_t id, enum sw_task_state state, int attempt,
                                   uint64_t agent_id, uint64_t lease_id)
{
    struct sw_task *t = make_task("build", 0);
    t->id = id;
    t->state = state;
    t->attempt = attempt;
    t->agent_id = agent_id;
    t->lease_id = lease_id;
    t->created_at = t->updated_at = NOW - 60000;
    if (state == SW_TASK_RUNNING) {
        t->started_at = NOW - 1000;
        t->lease_deadline = NOW + 29000;
    }
    if (state == SW_TASK_SCHEDULED)
        t->run_at = NOW + 1000;
    if (sw_task_state_terminal(state))
        t->finished_at = NOW - 500;
    return t;
}

static void test_recovery(void **state)
{
    struct fixture *f = *state;
    const uint64_t base = (uint64_t)(NOW - 60000) << 16;
    /* the holder of the running tasks was removed before the restart */
    struct sw_task *retry = stored_task(base + 1, SW_TASK_RUNNING, 1, 0xa1, 0x900);
    struct sw_task *last = stored_task(base + 2, SW_TASK_RUNNING, 3, 0xa1, base + 77);
    struct sw_task *queued = stored_task(base + 3, SW_TASK_QUEUED, 0, 0, 0);
    struct sw_task *delayed = stored_task(base + 9, SW_TASK_SCHEDULED, 1, 0, 0);
    struct sw_task *done = stored_task(base + 4, SW_TASK_SUCCEEDED, 1, 0, 0);

    assert_int_equal(sw_sched_restore_task(&f->s, retry), 0);
    assert_int_equal(sw_sched_restore_task(&f->s, last), 0);
    assert_int_equal(sw_sched_restore_task(&f->s, queued), 0);
    assert_int_equal(sw_sched_restore_task(&f->s, delayed), 0);
    assert_int_equal(sw_sched_restore_task(&f->s, done), 0);
    assert_true(retry->persisted && done->persisted);
    sw_sched_finish_recovery(&f->s, NOW);

    assert_int_equal(retry->state, SW_TASK_QUEUED);
    assert_int_equal(retry->attempt, 1);
    assert_string_equal(error_code(retry), "daemon_restarted");
    assert_int_equal(task_events(f, retry->id, SW_TASK_EV_ATTEMPT_FAILED), 1);
    assert_int_equal(last->state, SW_TASK_FAILED);
    assert_int_equal(last->dead, 1);
    assert_string_equal(error_code(last), "daemon_restarted");
    assert_int_equal(task_events(f, last->id, SW_TASK_EV_DEAD), 1);
    assert_int_equal(queued->state, SW_TASK_QUEUED);
    assert_int_equal(delayed->state, SW_TASK_SCHEDULED);
    assert_int_equal(done->state, SW_TASK_SUCCEEDED);
    assert_int_equal(f->s.leases.len, 0);
    check_sched(&f->s);

    /* new ids and lease ids continue past the restored ones */
    struct sw_task *fresh = submit(f, "build", 0, NOW - 120000);
    assert_true(fresh->id > delayed->id);
    struct sw_agent *a = add_agent(f, "w", 1, "build", NOW);
    struct sw_task *leased = lease_one(f, a, NOW - 120000);
    assert_ptr_equal(leased, retry);
    assert_true(leased->lease_id > base + 77);
    assert_int_equal(leased->attempt, 2);
    sw_sched_tick(&f->s, NOW + 1000);
    assert_int_equal(delayed->state, SW_TASK_QUEUED);
}

static void test_recovery_restores_agents(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *old = make_agent("old", 2, "build");
    struct sw_agent *lost = make_agent("lost", 2, "build");

    old->id = 0x77;
    lost->id = 0x78;
    lost->state = SW_AGENT_LOST;
    old->last_seen_at = lost->last_seen_at = NOW - 3600000;
    assert_int_equal(sw_sched_restore_agent(&f->s, old), 0);
    assert_int_equal(sw_sched_restore_agent(&f->s, lost), 0);
    sw_sched_finish_recovery(&f->s, NOW);
    assert_ptr_equal(sw_sched_agent(&f->s, 0x77), old);
    assert_ptr_equal(sw_sched_agent_by_name(&f->s, "old"), old);
    assert_int_equal(old->last_seen_at, NOW); /* a grace period after the restart */
    assert_int_equal(old->state, SW_AGENT_READY);
    assert_int_equal(lost->state, SW_AGENT_LOST);
    sw_sched_tick(&f->s, NOW + 1);
    assert_int_equal(old->state, SW_AGENT_READY);
    struct sw_agent *fresh = add_agent(f, "new", 1, "build", 1);
    assert_true(fresh->id > 0x78);
}

/* The store loads tasks, then agents; a task that was running on an agent that is
 * still registered must leave that agent with no leases and a running count of 0. */
static void test_recovery_running_task_of_restored_agent(void **state)
{
    struct fixture *f = *state;
    struct sw_task *t = stored_task(0x1001, SW_TASK_RUNNING, 1, 0x55, 0x900);
    struct sw_task *other = stored_task(0x1002, SW_TASK_QUEUED, 0, 0, 0);
    struct sw_task *third = stored_task(0x1003, SW_TASK_QUEUED, 0, 0, 0);
    struct sw_agent *a = make_agent("holder", 1, "build");

    a->id = 0x55;
    a->running = 1; /* whatever the row said; restore resets it */
    assert_int_equal(sw_sched_restore_task(&f->s, t), 0);
    assert_int_equal(sw_sched_restore_task(&f->s, other), 0);
    assert_int_equal(sw_sched_restore_task(&f->s, third), 0);
    assert_int_equal(sw_sched_restore_agent(&f->s, a), 0);
    assert_int_equal(a->running, 0);
    sw_sched_finish_recovery(&f->s, NOW);

    assert_int_equal(t->state, SW_TASK_QUEUED);
    assert_int_equal(t->attempt, 1);
    assert_null(a->leases);
    if (a->running != 0)
        fail_msg("after recovery the former holder has running = %d, want 0", a->running);
    assert_int_equal(a->state, SW_AGENT_READY);
    /* and with one slot it may hold one lease, not two */
    struct sw_task *got[4];
    assert_int_equal(lease(f, a, 4, NOW + 1, got), 1);
}

/* ---- everything at once ---- */

#define RANDOM_AGENTS 4

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

/* Any task in memory, or NULL. */
static struct sw_task *random_task(struct fixture *f)
{
    if (f->s.tasks.count == 0)
        return NULL;
    size_t skip = (size_t)rnd(f->s.tasks.count), pos = 0;
    void *value = NULL;
    while (sw_map_next(&f->s.tasks, &pos, NULL, &value) && skip-- > 0)
        ;
    return value;
}

struct random_world {
    struct sw_agent *agents[RANDOM_AGENTS];
    struct sw_lease_waiter waiters[RANDOM_AGENTS];
    struct sw_task *waiter_slots[RANDOM_AGENTS][3];
    struct waiter_log logs[RANDOM_AGENTS];
    int named;
    int64_t now;
};

static void random_new_agent(struct fixture *f, struct random_world *w, int i)
{
    static const char *const caps[] = {"a", "b", "a,b"};
    char name[32];
    snprintf(name, sizeof name, "agent-%d", w->named++);
    w->agents[i] = add_agent(f, name, 1 + (int)rnd(3), caps[rnd(3)], w->now);
}

static void random_step(struct fixture *f, struct random_world *w)
{
    int i = (int)rnd(RANDOM_AGENTS);
    struct sw_agent *a = w->agents[i];
    struct sw_task *t = random_task(f), *got[3];
    static const char *const caps[] = {"a", "b", "c"};

    switch (rnd(12)) {
    case 0:
    case 1: {
        struct sw_task *n = make_task(caps[rnd(3)], (int64_t)rnd(5) - 2);
        n->max_attempts = 1 + (int)rnd(3);
        n->timeout_ms = rnd(4) ? 0 : 1000 + (int64_t)rnd(20000);
        n->run_at = rnd(3) ? 0 : w->now + (int64_t)rnd(5000);
        assert_int_equal(sw_sched_submit(&f->s, n, w->now), 0);
        break;
    }
    case 2:
        lease(f, a, 1 + (int)rnd(3), w->now, got);
        break;
    case 3:
        if (a->leases) { /* the agent reports on one of its leases */
            struct sw_task *r = a->leases;
            int rc;
            if (rnd(4) == 0)
                rc = sw_sched_progress(&f->s, r, a, r->lease_id, "{\"pct\":1}", w->now);
            else
                rc = sw_sched_complete(&f->s, r, a, r->lease_id, "1", w->now);
            assert_int_equal(rc, 0);
        }
        break;
    case 4:
        if (a->leases) {
            struct sw_task *r = a->leases;
            assert_int_equal(
                sw_sched_fail(&f->s, r, a, r->lease_id, "{\"code\":\"x\"}", (int)rnd(2), w->now),
                0);
        } else if (t && t->state == SW_TASK_RUNNING) { /* not the holder */
            assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, "1", w->now),
                             SW_EFORBIDDEN);
        } else if (t) {
            assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, "1", w->now),
                             SW_ESTALE_LEASE);
        }
        break;
    case 5:
        if (t) {
            int rc = sw_sched_cancel(&f->s, t, w->now);
            assert_true(rc == 0 || rc == SW_EBAD_STATE);
        }
        if (rnd(2))
            sw_sched_cancel_told(a);
        break;
    case 6:
        if (t) {
            int rc = sw_sched_retry(&f->s, t, w->now);
            assert_true(rc == 0 || rc == SW_EBAD_STATE);
        }
        break;
    case 7:
        sw_sched_heartbeat(&f->s, a, w->now);
        break;
    case 8:
        w->now += (int64_t)rnd(4000);
        sw_sched_tick(&f->s, w->now);
        break;
    case 9:
        if (!w->waiters[i].linked) {
            init_waiter(&w->waiters[i], a, 1 + (int)rnd(3), w->waiter_slots[i], &w->logs[i]);
            sw_sched_wait(&f->s, &w->waiters[i]);
        }
        break;
    case 10:
        if (rnd(8) == 0) {
            sw_sched_remove_agent(&f->s, a, w->now);
            assert_false(w->waiters[i].linked);
            random_new_agent(f, w, i);
        }
        break;
    default:
        commit(f);
        sw_sched_evict(&f->s);
        break;
    }
    sw_sched_dispatch(&f->s, w->now);
}

static void test_random_operations(void **state)
{
    struct fixture *f = *state;
    struct random_world w;

    memset(&w, 0, sizeof w);
    w.now = NOW;
    f->s.cfg.terminal_cache = 20;
    for (int i = 0; i < RANDOM_AGENTS; i++)
        random_new_agent(f, &w, i);
    for (int step = 0; step < 20000; step++) {
        random_step(f, &w);
        check_sched(&f->s);
    }
    for (int i = 0; i < RANDOM_AGENTS; i++)
        sw_sched_unwait(&f->s, &w.waiters[i]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_submit),
        T(test_lease_priority_then_age),
        T(test_lease_by_capability),
        T(test_lease_versions),
        T(test_lease_by_swarm),
        T(test_lease_by_selector),
        T(test_lease_bounded_by_slots),
        T(test_lease_fields),
        T(test_complete),
        T(test_stale_lease_and_wrong_agent),
        T(test_fail_retry_backoff_then_promote),
        T(test_fail_until_dead),
        T(test_fail_without_retry_is_dead),
        T(test_manual_retry),
        T(test_cancel_queued_and_scheduled),
        T(test_cancel_running),
        T(test_cancel_finished_is_refused),
        T(test_lease_expiry),
        T(test_timeout),
        T(test_heartbeat_extends_leases),
        T(test_agent_lost_and_back),
        T(test_agent_lost_on_last_attempt),
        T(test_heartbeats_keep_agent),
        T(test_remove_agent),
        cmocka_unit_test(test_remove_agent_without_hooks),
        T(test_waiter_served_when_work_arrives),
        T(test_waiters_in_order_and_unwait),
        T(test_waiter_served_on_free_slot_and_promotion),
        T(test_next_deadline),
        T(test_evict_finished),
        T(test_evict_keeps_live_tasks),
        T(test_idempotency_key),
        T(test_submit_out_of_memory),
        T(test_lease_out_of_memory),
        T(test_recovery),
        T(test_recovery_restores_agents),
        T(test_recovery_running_task_of_restored_agent),
        T(test_random_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
