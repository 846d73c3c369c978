/* SPDX-License-Identifier: MIT
 * test_graph.c - unit tests of task graphs (src/sched/graph.c): the order of a batch
 * and the cycles that prevent one (a 100,000-node chain included, so no recursion),
 * fan-in decisions for all, any and quorum, and in the scheduler: dependencies that
 * block a task until they succeed (then a delay still applies), dependency_failed
 * cascades, dependencies already finished at submit, refusals (unknown, repeated,
 * parent decided), parents that wait for their children and are decided by them (the
 * rest cancelled, finished children kept in memory until then), a manual retry of a
 * child counted again, cancel cascading down 100,000-deep chains of dependents and of
 * children, recovery rebuilding the graph from restored tasks, and a random DAG run
 * to the end where no task is leased before all its dependencies succeeded. After each
 * test the scheduler's structures are checked, blocked and pinned tasks included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "sched/graph.h"
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL

/* ---- pure: order and cycles ---- */

/* Builds the edges of n nodes from pairs (node, dependency). */
struct edges {
    size_t n;
    size_t *start, *deps;
};

static struct edges make_edges(size_t n, const size_t (*pairs)[2], size_t npairs)
{
    struct edges e = {n, calloc(n + 1, sizeof(size_t)), calloc(npairs + 1, sizeof(size_t))};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        e.start[i] = m;
        for (size_t j = 0; j < npairs; j++)
            if (pairs[j][0] == i)
                e.deps[m++] = pairs[j][1];
    }
    e.start[n] = m;
    return e;
}

static void free_edges(struct edges *e)
{
    free(e->start);
    free(e->deps);
}

/* Every node comes after each node it names. */
static void assert_ordered(const struct edges *e, const size_t *order)
{
    size_t *pos = calloc(e->n + 1, sizeof *pos);
    for (size_t i = 0; i < e->n; i++)
        pos[order[i]] = i + 1;
    for (size_t i = 0; i < e->n; i++) {
        assert_true(pos[i] > 0);
        for (size_t k = e->start[i]; k < e->start[i + 1]; k++)
            assert_true(pos[e->deps[k]] < pos[i]);
    }
    free(pos);
}

static void test_order_diamond(void **state)
{
    (void)state;
    /* 0 after 1, 2; 1 and 2 after 3; 4 alone; 5 after 0 and 3 */
    static const size_t pairs[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {5, 0}, {5, 3}};
    struct edges e = make_edges(6, pairs, 6);
    struct sw_graph_edges g = {e.n, e.start, e.deps};
    size_t order[6], cycle[6], len = 99;
    assert_int_equal(sw_graph_order(&g, order, cycle, &len), 0);
    assert_int_equal(len, 0);
    assert_ordered(&e, order);
    free_edges(&e);
}

static void test_order_cycle(void **state)
{
    (void)state;
    /* 0 -> 1 -> 2 -> 0 is a cycle; 3 names 0 (downstream of it), 4 is free */
    static const size_t pairs[][2] = {{0, 1}, {1, 2}, {2, 0}, {3, 0}};
    struct edges e = make_edges(5, pairs, 4);
    struct sw_graph_edges g = {e.n, e.start, e.deps};
    size_t order[5], cycle[5], len = 0;
    assert_int_equal(sw_graph_order(&g, order, cycle, &len), SW_EINVAL);
    assert_int_equal(len, 3);
    for (size_t i = 0; i < len; i++) { /* each names the next, the last the first */
        size_t from = cycle[i], to = cycle[(i + 1) % len];
        assert_true(from <= 2);
        assert_int_equal(e.deps[e.start[from]], to);
    }
    free_edges(&e);

    static const size_t self[][2] = {{1, 1}};
    e = make_edges(2, self, 1);
    g = (struct sw_graph_edges){e.n, e.start, e.deps};
    assert_int_equal(sw_graph_order(&g, order, cycle, &len), SW_EINVAL);
    assert_int_equal(len, 1);
    assert_int_equal(cycle[0], 1);
    free_edges(&e);
}

/* A chain of 100,000 nodes, listed backwards: ordered (and a cycle found) without
 * recursion. */
static void test_order_long_chain(void **state)
{
    (void)state;
    size_t n = 100000;
    size_t *start = calloc(n + 1, sizeof *start), *deps = calloc(n, sizeof *deps);
    size_t *order = calloc(n, sizeof *order), *cycle = calloc(n, sizeof *cycle), len;
    for (size_t i = 0; i < n; i++) { /* node i names node i + 1; the last names none */
        start[i] = i;
        if (i + 1 < n)
            deps[i] = i + 1;
    }
    start[n] = n - 1;
    struct sw_graph_edges g = {n, start, deps};
    assert_int_equal(sw_graph_order(&g, order, cycle, &len), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(order[i], n - 1 - i);
    deps[n - 1] = 0; /* the last names the first: one cycle through everything */
    start[n] = n;
    assert_int_equal(sw_graph_order(&g, order, cycle, &len), SW_EINVAL);
    assert_int_equal(len, n);
    free(start);
    free(deps);
    free(order);
    free(cycle);
}

static void test_fan_in_decisions(void **state)
{
    (void)state;
    /* fan_in, quorum, children, succeeded, failed -> decision */
    static const struct {
        int fan_in, quorum;
        size_t n, ok, bad;
        enum sw_fan_in_decision want;
    } cases[] = {
        {SW_FAN_IN_ALL, 0, 0, 0, 0, SW_FAN_IN_WAIT},
        {SW_FAN_IN_ALL, 0, 3, 2, 0, SW_FAN_IN_WAIT},
        {SW_FAN_IN_ALL, 0, 3, 3, 0, SW_FAN_IN_SUCCEED},
        {SW_FAN_IN_ALL, 0, 3, 0, 1, SW_FAN_IN_FAIL},
        {SW_FAN_IN_ALL, 0, 3, 2, 1, SW_FAN_IN_FAIL},
        {SW_FAN_IN_ANY, 0, 3, 0, 2, SW_FAN_IN_WAIT},
        {SW_FAN_IN_ANY, 0, 3, 1, 2, SW_FAN_IN_SUCCEED},
        {SW_FAN_IN_ANY, 0, 3, 1, 0, SW_FAN_IN_SUCCEED},
        {SW_FAN_IN_ANY, 0, 3, 0, 3, SW_FAN_IN_FAIL},
        {SW_FAN_IN_QUORUM, 2, 4, 1, 1, SW_FAN_IN_WAIT},
        {SW_FAN_IN_QUORUM, 2, 4, 2, 1, SW_FAN_IN_SUCCEED},
        {SW_FAN_IN_QUORUM, 2, 4, 1, 2, SW_FAN_IN_WAIT},
        {SW_FAN_IN_QUORUM, 2, 4, 1, 3, SW_FAN_IN_FAIL},
        {SW_FAN_IN_QUORUM, 4, 4, 3, 0, SW_FAN_IN_WAIT},
        {SW_FAN_IN_QUORUM, 4, 4, 3, 1, SW_FAN_IN_FAIL},
        {SW_FAN_IN_QUORUM, 3, 0, 0, 0, SW_FAN_IN_WAIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum sw_fan_in_decision got = sw_graph_fan_in_decide(cases[i].fan_in, cases[i].quorum,
                                                             cases[i].n, cases[i].ok, cases[i].bad);
        if (got != cases[i].want)
            fail_msg("case %zu: decision %d, want %d", i, got, cases[i].want);
    }
}

/* ---- the scheduler ---- */

struct fixture {
    struct sw_sched s;
    uint64_t *ev_ids;
    enum sw_task_event *evs;
    size_t nevents, cap;
};

static void hook_task_dirty(void *ctx, struct sw_task *t)
{
    (void)ctx;
    t->dirty = 1;
}

static void hook_task_event(void *ctx, struct sw_task *t, enum sw_task_event ev)
{
    struct fixture *f = ctx;
    if (f->nevents == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->ev_ids = realloc(f->ev_ids, f->cap * sizeof *f->ev_ids);
        f->evs = realloc(f->evs, f->cap * sizeof *f->evs);
    }
    f->ev_ids[f->nevents] = t->id;
    f->evs[f->nevents++] = ev;
}

static int events_of(const struct fixture *f, uint64_t id, enum sw_task_event ev)
{
    int n = 0;
    for (size_t i = 0; i < f->nevents; i++)
        n += f->ev_ids[i] == id && f->evs[i] == ev;
    return n;
}

static const struct sw_sched_config test_config = {
    .lease_ms = 30000,
    .heartbeat_ms = 5000,
    .lost_after = 3,
    .default_max_attempts = 3,
    .default_backoff = {1000, 60000, 2.0},
    .terminal_cache = 1000000,
};

static void fixture_init(struct fixture *f, const struct sw_sched_config *cfg)
{
    memset(f, 0, sizeof *f);
    struct sw_sched_hooks hooks = {f, hook_task_dirty, NULL, hook_task_event, NULL};
    sw_sched_init(&f->s, cfg, &hooks, 777);
}

static char problem_text[256];

static int problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem_text, sizeof problem_text, fmt, ap);
    va_end(ap);
    return 1;
}

static int in_heap(const struct sw_heap *h, const struct sw_task *t)
{
    return t->heap_index < h->len && h->items[t->heap_index] == t;
}

/* A waiting parent's counts agree with its children's states. */
static int check_parent_counts(struct sw_sched *s, const struct sw_task *p)
{
    size_t ok = 0, bad = 0;
    for (size_t i = 0; i < p->links->nchildren; i++) {
        struct sw_task *c = sw_sched_task(s, p->links->children[i]);
        if (c == NULL)
            return problem("a child of waiting %llx left memory", (unsigned long long)p->id);
        if (!c->pinned)
            return problem("a child of waiting %llx is not pinned", (unsigned long long)p->id);
        ok += c->state == SW_TASK_SUCCEEDED;
        bad += c->state == SW_TASK_FAILED || c->state == SW_TASK_CANCELLED;
    }
    if (ok != p->links->succeeded || bad != p->links->failed)
        return problem("parent %llx counts %zu/%zu, children say %zu/%zu",
                       (unsigned long long)p->id, p->links->succeeded, p->links->failed, ok, bad);
    return 0;
}

/* Each task is held where its state (and blocked, pinned) says; counts agree. */
static const char *graph_problem(struct sw_sched *s)
{
    size_t pos = 0, scheduled = 0, terminal = 0, lru = 0;
    void *value;
    while (sw_map_next(&s->tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        unsigned long long id = (unsigned long long)t->id;
        struct sw_queue *q = sw_sched_queue(s, t->capability);
        if (t->state == SW_TASK_SCHEDULED && t->blocked == in_heap(&s->delayed, t))
            return problem("scheduled %llx blocked=%d, in the delay heap=%d", id, t->blocked,
                           in_heap(&s->delayed, t))
                       ? problem_text
                       : NULL;
        if (t->state == SW_TASK_QUEUED && !in_heap(&q->ready, t))
            return problem("queued %llx not ready", id) ? problem_text : NULL;
        if ((t->state == SW_TASK_WAITING || sw_task_state_terminal(t->state)) &&
            t->heap_index != SW_HEAP_NONE)
            return problem("%llx in a heap", id) ? problem_text : NULL;
        if (t->blocked && (t->state != SW_TASK_SCHEDULED || t->links == NULL))
            return problem("%llx blocked in state %s", id, sw_task_state_names[t->state])
                       ? problem_text
                       : NULL;
        if (t->state == SW_TASK_WAITING && check_parent_counts(s, t))
            return problem_text;
        scheduled += t->state == SW_TASK_SCHEDULED && !t->blocked;
        terminal += sw_task_state_terminal(t->state) && !t->pinned;
        if (t->graph_queued)
            return problem("%llx left in the worklist", id) ? problem_text : NULL;
    }
    for (struct sw_task *t = s->lru_head; t; t = t->lru_next, lru++)
        if (!sw_task_state_terminal(t->state) || t->pinned)
            return problem("%s task (pinned %d) in the cache order", sw_task_state_names[t->state],
                           t->pinned)
                       ? problem_text
                       : NULL;
    if (s->delayed.len != scheduled)
        return problem("delay heap %zu, unblocked scheduled %zu", s->delayed.len, scheduled)
                   ? problem_text
                   : NULL;
    if (lru != terminal || lru != s->terminal_count)
        return problem("cache order %zu, terminal_count %zu, unpinned ended %zu", lru,
                       s->terminal_count, terminal)
                   ? problem_text
                   : NULL;
    if (s->graph.head != NULL || s->graph.draining)
        return "the worklist is not empty";
    return NULL;
}

static void check(struct fixture *f)
{
    const char *why = graph_problem(&f->s);
    if (why)
        fail_msg("scheduler inconsistent: %s", why);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    fixture_init(f, &test_config);
    *state = f;
    return 0;
}

static void fixture_free(struct fixture *f)
{
    sw_sched_free(&f->s);
    free(f->ev_ids);
    free(f->evs);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const char *why = graph_problem(&f->s);
    char text[sizeof problem_text];
    snprintf(text, sizeof text, "%s", why ? why : "");
    fixture_free(f);
    free(f);
    if (why)
        fail_msg("scheduler inconsistent: %s", text);
    return 0;
}

static struct sw_task *make_task(const char *capability)
{
    struct sw_task *t = sw_task_new();
    assert_non_null(t);
    assert_int_equal(sw_task_set_str(&t->capability, capability), 0);
    assert_int_equal(sw_task_set_str(&t->payload, "null"), 0);
    t->max_attempts = 1;
    t->backoff = test_config.default_backoff;
    return t;
}

static void set_after(struct sw_task *t, const uint64_t *after, size_t n)
{
    if (n == 0)
        return;
    t->after = sw_calloc(n, sizeof *t->after);
    memcpy(t->after, after, n * sizeof *after);
    t->nafter = n;
}

static struct sw_task *submit_after(struct fixture *f, const char *cap, const uint64_t *after,
                                    size_t n, uint64_t parent, int64_t now)
{
    struct sw_task *t = make_task(cap);
    set_after(t, after, n);
    t->parent = parent;
    assert_int_equal(sw_sched_submit(&f->s, t, now), 0);
    return t;
}

static struct sw_task *submit_group(struct fixture *f, int fan_in, int quorum, uint64_t parent,
                                    int64_t now)
{
    struct sw_task *t = make_task("");
    t->fan_in = fan_in;
    t->quorum = quorum;
    t->parent = parent;
    assert_int_equal(sw_sched_submit(&f->s, t, now), 0);
    assert_int_equal(t->state, SW_TASK_WAITING);
    return t;
}

static struct sw_agent *add_agent(struct fixture *f, const char *cap, int slots)
{
    struct sw_agent *a = sw_agent_new();
    assert_non_null(a);
    a->name = sw_strdup(cap);
    a->slots = slots;
    a->capabilities = sw_calloc(1, sizeof *a->capabilities);
    a->capabilities[a->ncapabilities++] = sw_strdup(cap);
    assert_int_equal(sw_sched_register_agent(&f->s, a, NOW), 0);
    return a;
}

/* Leases exactly t (it must be the agent's next task). */
static void lease(struct fixture *f, struct sw_agent *a, struct sw_task *t, int64_t now)
{
    struct sw_task *got[1];
    int n = 0;
    assert_int_equal(sw_sched_lease(&f->s, a, 1, now, got, &n), 0);
    assert_int_equal(n, 1);
    assert_ptr_equal(got[0], t);
}

static void run_ok(struct fixture *f, struct sw_agent *a, struct sw_task *t, int64_t now)
{
    lease(f, a, t, now);
    assert_int_equal(sw_sched_complete(&f->s, t, a, t->lease_id, "{\"ok\":true}", now), 0);
}

static void run_fail(struct fixture *f, struct sw_agent *a, struct sw_task *t, int64_t now)
{
    lease(f, a, t, now);
    assert_int_equal(sw_sched_fail(&f->s, t, a, t->lease_id, "{\"code\":\"boom\"}", 0, now), 0);
    assert_int_equal(t->state, SW_TASK_FAILED);
}

/* Tasks ready for the agent's capability. */
static int leasable(struct fixture *f, struct sw_agent *a)
{
    struct sw_queue *q = sw_sched_queue(&f->s, a->capabilities[0]);
    return q ? (int)q->ready.len : 0;
}

static void assert_error(const struct sw_task *t, const char *code, uint64_t names)
{
    char want[64], id[SW_ID_STRLEN];
    assert_non_null(t->error);
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    if (strstr(t->error, want) == NULL)
        fail_msg("error %s has no %s", t->error, want);
    if (names) {
        sw_id_format('t', names, id);
        snprintf(want, sizeof want, "\"task\":\"%s\"", id);
        if (strstr(t->error, want) == NULL)
            fail_msg("error %s does not name %s", t->error, id);
    }
}

static void test_after_blocks_until_all_succeed(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 4);
    struct sw_task *x = submit_after(f, "job", NULL, 0, 0, NOW);
    struct sw_task *y = submit_after(f, "job", NULL, 0, 0, NOW);
    uint64_t deps[] = {x->id, y->id};
    struct sw_task *z = submit_after(f, "job", deps, 2, 0, NOW);
    assert_int_equal(z->state, SW_TASK_SCHEDULED);
    assert_true(z->blocked);
    assert_int_equal(f->s.delayed.len, 0); /* no timer releases it */
    check(f);
    run_ok(f, a, x, NOW + 1);
    assert_true(z->blocked);
    assert_int_equal(leasable(f, a), 1); /* y only */
    sw_sched_tick(&f->s, NOW + 10000);   /* time alone never releases it */
    assert_true(z->blocked);
    run_ok(f, a, y, NOW + 2);
    assert_int_equal(z->state, SW_TASK_QUEUED);
    assert_false(z->blocked);
    assert_int_equal(z->queued_at, NOW + 2);
    assert_int_equal(events_of(f, z->id, SW_TASK_EV_PROMOTED), 1);
    check(f);
    run_ok(f, a, z, NOW + 3);
}

/* A dependent with a delay is scheduled for it once released, not queued. */
static void test_after_then_delay(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 1);
    struct sw_task *x = submit_after(f, "job", NULL, 0, 0, NOW);
    struct sw_task *z = make_task("job");
    set_after(z, &x->id, 1);
    z->run_at = NOW + 5000;
    assert_int_equal(sw_sched_submit(&f->s, z, NOW), 0);
    run_ok(f, a, x, NOW + 10);
    assert_int_equal(z->state, SW_TASK_SCHEDULED);
    assert_false(z->blocked);
    assert_ptr_equal(sw_heap_peek(&f->s.delayed), z);
    check(f);
    sw_sched_tick(&f->s, NOW + 5000);
    assert_int_equal(z->state, SW_TASK_QUEUED);
    check(f);
}

static void test_dependency_failed_cascades(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 1);
    struct sw_task *x = submit_after(f, "job", NULL, 0, 0, NOW);
    struct sw_task *y = submit_after(f, "job", &x->id, 1, 0, NOW);
    struct sw_task *z = submit_after(f, "job", &y->id, 1, 0, NOW);
    struct sw_task *other = submit_after(f, "other", NULL, 0, 0, NOW);
    uint64_t both[] = {other->id, x->id};
    struct sw_task *w = submit_after(f, "job", both, 2, 0, NOW);
    run_fail(f, a, x, NOW + 1);
    assert_int_equal(y->state, SW_TASK_FAILED);
    assert_true(y->dead);
    assert_error(y, "dependency_failed", x->id);
    assert_int_equal(z->state, SW_TASK_FAILED);
    assert_error(z, "dependency_failed", y->id); /* each names its own dependency */
    assert_int_equal(w->state, SW_TASK_FAILED);
    assert_int_equal(events_of(f, z->id, SW_TASK_EV_DEAD), 1);
    check(f);
    /* other's later success finds w already failed: nothing happens to it */
    struct sw_agent *b = add_agent(f, "other", 1);
    run_ok(f, b, other, NOW + 2);
    assert_int_equal(w->state, SW_TASK_FAILED);
    check(f);
}

static void test_after_finished_at_submit(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 1);
    struct sw_task *ok = submit_after(f, "job", NULL, 0, 0, NOW);
    run_ok(f, a, ok, NOW);
    struct sw_task *bad = submit_after(f, "job", NULL, 0, 0, NOW);
    run_fail(f, a, bad, NOW);
    struct sw_task *gone = submit_after(f, "job", NULL, 0, 0, NOW);
    assert_int_equal(sw_sched_cancel(&f->s, gone, NOW), 0);

    struct sw_task *met = submit_after(f, "job", &ok->id, 1, 0, NOW + 1);
    assert_int_equal(met->state, SW_TASK_QUEUED);
    struct sw_task *dead = submit_after(f, "job", &bad->id, 1, 0, NOW + 1);
    assert_int_equal(dead->state, SW_TASK_FAILED);
    assert_error(dead, "dependency_failed", bad->id);
    assert_int_equal(events_of(f, dead->id, SW_TASK_EV_SUBMITTED), 1);
    assert_int_equal(events_of(f, dead->id, SW_TASK_EV_DEAD), 1);
    struct sw_task *cut = submit_after(f, "job", &gone->id, 1, 0, NOW + 1);
    assert_int_equal(cut->state, SW_TASK_FAILED);
    assert_non_null(strstr(cut->error, "was cancelled"));

    /* refusals: the task is freed, nothing is indexed */
    size_t count = f->s.tasks.count;
    uint64_t unknown = 42;
    struct sw_task *t = make_task("job");
    set_after(t, &unknown, 1);
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), SW_ENOT_FOUND);
    uint64_t twice[] = {ok->id, ok->id};
    t = make_task("job");
    set_after(t, twice, 2);
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), SW_EINVAL);
    t = make_task("");
    t->fan_in = SW_FAN_IN_ALL;
    set_after(t, &ok->id, 1);
    assert_int_equal(sw_sched_submit(&f->s, t, NOW), SW_EINVAL);
    assert_int_equal(f->s.tasks.count, count);
    check(f);
}

static void test_fan_in_all(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 8);
    struct sw_task *p = submit_group(f, SW_FAN_IN_ALL, 0, 0, NOW);
    struct sw_task *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = submit_after(f, "job", NULL, 0, p->id, NOW);
    assert_int_equal(p->links->nchildren, 4);
    check(f);
    run_ok(f, a, c[0], NOW + 1);
    run_ok(f, a, c[1], NOW + 2);
    lease(f, a, c[2], NOW + 3); /* running when the parent is decided */
    assert_int_equal(p->state, SW_TASK_WAITING);
    check(f);
    run_fail(f, a, c[3], NOW + 4);
    assert_int_equal(p->state, SW_TASK_FAILED);
    assert_true(p->dead);
    assert_error(p, "children_failed", c[3]->id);
    assert_int_equal(c[2]->state, SW_TASK_CANCELLED);
    assert_error(c[2], "cancelled", p->id);
    assert_int_equal(a->ncancelled, 1); /* its agent is told */
    assert_non_null(strstr(p->result, "\"succeeded\":2,\"failed\":1,\"cancelled\":1"));
    assert_int_equal(events_of(f, p->id, SW_TASK_EV_DEAD), 1);
    for (int i = 0; i < 4; i++)
        assert_false(c[i]->pinned);
    check(f);
    /* a decided parent takes no more children */
    struct sw_task *late = make_task("job");
    late->parent = p->id;
    assert_int_equal(sw_sched_submit(&f->s, late, NOW + 5), SW_EBAD_STATE);
}

static void test_fan_in_any(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 8);
    struct sw_task *p = submit_group(f, SW_FAN_IN_ANY, 0, 0, NOW);
    struct sw_task *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = submit_after(f, "job", NULL, 0, p->id, NOW);
    run_fail(f, a, c[0], NOW + 1);
    assert_int_equal(p->state, SW_TASK_WAITING);
    run_ok(f, a, c[1], NOW + 2);
    assert_int_equal(p->state, SW_TASK_SUCCEEDED);
    assert_null(p->error);
    assert_int_equal(c[2]->state, SW_TASK_CANCELLED);
    char id[SW_ID_STRLEN], want[128];
    sw_id_format('t', c[1]->id, id);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"state\":\"succeeded\",\"result\":{\"ok\":true}}",
             id);
    assert_non_null(strstr(p->result, want));
    check(f);
}

static void test_fan_in_quorum(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 8);
    struct sw_task *p = submit_group(f, SW_FAN_IN_QUORUM, 2, 0, NOW);
    struct sw_task *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = submit_after(f, "job", NULL, 0, p->id, NOW);
    run_fail(f, a, c[0], NOW + 1);
    run_ok(f, a, c[1], NOW + 2);
    assert_int_equal(p->state, SW_TASK_WAITING);
    run_ok(f, a, c[2], NOW + 3);
    assert_int_equal(p->state, SW_TASK_SUCCEEDED);
    assert_int_equal(c[3]->state, SW_TASK_CANCELLED);
    check(f);

    /* quorum 3 of 4: two failures make it unreachable */
    p = submit_group(f, SW_FAN_IN_QUORUM, 3, 0, NOW + 10);
    for (int i = 0; i < 4; i++)
        c[i] = submit_after(f, "job", NULL, 0, p->id, NOW + 10);
    run_ok(f, a, c[0], NOW + 11);
    run_fail(f, a, c[1], NOW + 12);
    assert_int_equal(p->state, SW_TASK_WAITING);
    run_fail(f, a, c[2], NOW + 13);
    assert_int_equal(p->state, SW_TASK_FAILED);
    assert_error(p, "children_failed", c[1]->id);
    assert_int_equal(c[3]->state, SW_TASK_CANCELLED);
    check(f);
}

/* A retried child is counted again; a parent of children cannot be retried. */
static void test_child_retry_recounted(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 8);
    struct sw_task *p = submit_group(f, SW_FAN_IN_ANY, 0, 0, NOW);
    struct sw_task *c0 = submit_after(f, "job", NULL, 0, p->id, NOW);
    struct sw_task *c1 = submit_after(f, "job", NULL, 0, p->id, NOW);
    run_fail(f, a, c0, NOW + 1);
    assert_int_equal(p->links->failed, 1);
    assert_int_equal(sw_sched_retry(&f->s, c0, NOW + 2), 0);
    assert_int_equal(p->links->failed, 0);
    check(f);
    struct sw_task *got[2];
    int n = 0;
    assert_int_equal(sw_sched_lease(&f->s, a, 2, NOW + 3, got, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sw_sched_fail(&f->s, c1, a, c1->lease_id, NULL, 0, NOW + 3), 0);
    assert_int_equal(p->state, SW_TASK_WAITING); /* c0 may still succeed */
    assert_int_equal(sw_sched_complete(&f->s, c0, a, c0->lease_id, "2", NOW + 4), 0);
    assert_int_equal(p->state, SW_TASK_SUCCEEDED);
    assert_int_equal(sw_sched_retry(&f->s, p, NOW + 5), SW_EBAD_STATE); /* succeeded */
    struct sw_task *q = submit_group(f, SW_FAN_IN_ALL, 0, 0, NOW + 6);
    assert_int_equal(sw_sched_cancel(&f->s, q, NOW + 6), 0);
    assert_int_equal(sw_sched_retry(&f->s, q, NOW + 7), SW_EBAD_STATE); /* a parent */
    check(f);
}

/* Finished children stay in memory until their parent is decided, however small the
 * cache; then they may go. */
static void test_children_pinned(void **state)
{
    (void)state;
    struct sw_sched_config cfg = test_config;
    cfg.terminal_cache = 1;
    struct fixture fx, *f = &fx;
    fixture_init(f, &cfg);
    struct sw_agent *a = add_agent(f, "job", 8);
    struct sw_task *p = submit_group(f, SW_FAN_IN_ALL, 0, 0, NOW);
    uint64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = submit_after(f, "job", NULL, 0, p->id, NOW)->id;
    for (int i = 0; i < 4; i++) {
        run_ok(f, a, sw_sched_task(&f->s, ids[i]), NOW + 1 + i);
        size_t pos = 0;
        void *value;
        while (sw_map_next(&f->s.tasks, &pos, NULL, &value)) /* as after a commit */
            ((struct sw_task *)value)->dirty = 0;
        sw_sched_evict(&f->s);
    }
    for (int i = 0; i < 4; i++)
        assert_non_null(sw_sched_task(&f->s, ids[i]));
    assert_int_equal(f->s.terminal_count, 0);
    if (graph_problem(&f->s))
        fail_msg("%s", problem_text);
    run_ok(f, a, sw_sched_task(&f->s, ids[4]), NOW + 10);
    assert_int_equal(p->state, SW_TASK_SUCCEEDED);
    assert_non_null(strstr(p->result, "\"succeeded\":5"));
    assert_int_equal(f->s.terminal_count, 6);
    const char *why = graph_problem(&f->s);
    fixture_free(f);
    if (why)
        fail_msg("%s", why);
}

/* Cancel cascades down 100,000 dependents and 100,000 generations of children, with
 * no recursion. */
static void test_cancel_cascades_deep(void **state)
{
    struct fixture *f = *state;
    enum { N = 100000 };
    struct sw_task *root = submit_after(f, "job", NULL, 0, 0, NOW), *prev = root;
    for (int i = 0; i < N; i++)
        prev = submit_after(f, "job", &prev->id, 1, 0, NOW);
    struct sw_task *last = prev;
    struct sw_task *top = submit_group(f, SW_FAN_IN_ALL, 0, 0, NOW);
    prev = top;
    for (int i = 0; i < N; i++)
        prev = submit_group(f, SW_FAN_IN_ALL, 0, prev->id, NOW);
    struct sw_task *leaf = submit_after(f, "job", NULL, 0, prev->id, NOW);
    check(f);
    assert_int_equal(sw_sched_cancel(&f->s, root, NOW + 1), 0);
    assert_int_equal(last->state, SW_TASK_CANCELLED);
    assert_error(last, "cancelled", 0);
    assert_int_equal(sw_sched_cancel(&f->s, top, NOW + 2), 0);
    assert_int_equal(prev->state, SW_TASK_CANCELLED);
    assert_int_equal(leaf->state, SW_TASK_CANCELLED);
    assert_error(leaf, "cancelled", prev->id);
    size_t pos = 0;
    void *value;
    while (sw_map_next(&f->s.tasks, &pos, NULL, &value))
        assert_int_equal(((struct sw_task *)value)->state, SW_TASK_CANCELLED);
    check(f);
}

/* A copy of t as the store would give it back (row columns only). */
static struct sw_task *row_copy(const struct sw_task *t)
{
    struct sw_task *c = sw_task_new();
    assert_non_null(c);
    c->id = t->id;
    sw_task_set_str(&c->capability, t->capability);
    sw_task_set_str(&c->payload, t->payload);
    sw_task_set_str(&c->result, t->result);
    sw_task_set_str(&c->error, t->error);
    set_after(c, t->after, t->nafter);
    c->parent = t->parent;
    c->fan_in = t->fan_in;
    c->quorum = t->quorum;
    c->state = t->state;
    c->attempt = t->attempt;
    c->max_attempts = t->max_attempts;
    c->dead = t->dead;
    c->backoff = t->backoff;
    c->created_at = t->created_at;
    c->run_at = t->run_at;
    c->started_at = t->started_at;
    c->finished_at = t->finished_at;
    c->lease_id = t->lease_id;
    c->agent_id = t->agent_id;
    return c;
}

/* After a restart the graph is rebuilt from the restored tasks: blocked tasks wait
 * again, a waiting parent counts its finished children, and everything finishes. */
static void test_recovery_rebuilds(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "job", 8);
    struct sw_task *x = submit_after(f, "job", NULL, 0, 0, NOW);
    x->max_attempts = 3; /* survives the restart that takes its attempt */
    struct sw_task *done = submit_after(f, "job", NULL, 0, 0, NOW);
    lease(f, a, x, NOW);
    assert_int_equal(sw_sched_fail(&f->s, x, a, x->lease_id, NULL, 1, NOW), 0);
    run_ok(f, a, done, NOW);
    uint64_t deps[] = {x->id, done->id};
    struct sw_task *y = submit_after(f, "job", deps, 2, 0, NOW);
    struct sw_task *p = submit_group(f, SW_FAN_IN_ALL, 0, 0, NOW);
    struct sw_task *c0 = submit_after(f, "job", NULL, 0, p->id, NOW);
    struct sw_task *c1 = submit_after(f, "job", NULL, 0, p->id, NOW);
    run_ok(f, a, c0, NOW + 1);
    sw_sched_tick(&f->s, NOW + 2000); /* x's backoff is over */
    lease(f, a, x, NOW + 2000);       /* running at the crash */

    /* what the store holds: unfinished tasks, then (graph_api.c) the finished tasks
     * the graph needs; ids restored in any order */
    struct sw_task *rows[] = {row_copy(c1), row_copy(y),  row_copy(p),
                              row_copy(x),  row_copy(c0), row_copy(done)};
    struct fixture fx2, *g = &fx2;
    fixture_init(g, &test_config);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(sw_sched_restore_task(&g->s, rows[i]), 0);
    sw_sched_finish_recovery(&g->s, NOW + 100);
    struct sw_task *x2 = sw_sched_task(&g->s, x->id), *y2 = sw_sched_task(&g->s, y->id);
    struct sw_task *p2 = sw_sched_task(&g->s, p->id), *c12 = sw_sched_task(&g->s, c1->id);
    assert_int_equal(x2->state, SW_TASK_QUEUED); /* its attempt died with the daemon */
    assert_true(y2->blocked);
    assert_int_equal(p2->state, SW_TASK_WAITING);
    assert_int_equal(p2->links->nchildren, 2);
    assert_int_equal(p2->links->succeeded, 1);
    if (graph_problem(&g->s))
        fail_msg("after recovery: %s", problem_text);
    struct sw_agent *a2 = add_agent(g, "job", 8);
    struct sw_task *got[2];
    int n = 0;
    assert_int_equal(sw_sched_lease(&g->s, a2, 2, NOW + 101, got, &n), 0);
    assert_int_equal(n, 2); /* x and c1; y still waits for x */
    for (int i = 0; i < n; i++)
        assert_int_equal(sw_sched_complete(&g->s, got[i], a2, got[i]->lease_id, "1", NOW + 102), 0);
    assert_int_equal(p2->state, SW_TASK_SUCCEEDED);
    assert_int_equal(c12->state, SW_TASK_SUCCEEDED);
    assert_int_equal(y2->state, SW_TASK_QUEUED);
    const char *why = graph_problem(&g->s);
    char text[sizeof problem_text];
    snprintf(text, sizeof text, "%s", why ? why : "");
    fixture_free(g);
    if (why)
        fail_msg("%s", text);

    /* a dependency gone from the store (pruned) fails its dependent at recovery */
    fixture_init(g, &test_config);
    assert_int_equal(sw_sched_restore_task(&g->s, row_copy(y)), 0);
    sw_sched_finish_recovery(&g->s, NOW + 200);
    y2 = sw_sched_task(&g->s, y->id);
    assert_int_equal(y2->state, SW_TASK_FAILED);
    assert_non_null(strstr(y2->error, "is no longer known"));
    why = graph_problem(&g->s);
    snprintf(text, sizeof text, "%s", why ? why : "");
    fixture_free(g);
    if (why)
        fail_msg("%s", text);
}

/* A random DAG (a layered lattice plus random edges) run to the end by agents that
 * take whatever is ready: no task is leased before each of its dependencies
 * succeeded, every task succeeds, and the structures hold at each step. */
static void test_random_dag(void **state)
{
    struct fixture *f = *state;
    enum { N = 2000 };
    struct sw_agent *a = add_agent(f, "job", 16);
    struct sw_task **t = calloc(N, sizeof *t);
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        uint64_t deps[4];
        size_t n = 0;
        if (i >= 20)
            deps[n++] = t[i - 20]->id; /* the lattice */
        for (int k = 0; k < 3 && i > 0; k++) {
            seed = seed * 1103515245 + 12345;
            uint64_t d = t[(seed >> 8) % (unsigned)i]->id;
            int seen = 0;
            for (size_t j = 0; j < n; j++)
                seen |= deps[j] == d;
            if (!seen)
                deps[n++] = d;
        }
        t[i] = submit_after(f, "job", deps, n, 0, NOW);
    }
    int finished = 0;
    for (int step = 0; finished < N && step < 100000; step++) {
        struct sw_task *got[16];
        int n = 0;
        assert_int_equal(sw_sched_lease(&f->s, a, 16, NOW + step, got, &n), 0);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
            for (size_t d = 0; d < got[i]->nafter; d++)
                assert_int_equal(sw_sched_task(&f->s, got[i]->after[d])->state, SW_TASK_SUCCEEDED);
        }
        for (int i = n - 1; i >= 0; i--, finished++)
            assert_int_equal(
                sw_sched_complete(&f->s, got[i], a, got[i]->lease_id, "null", NOW + step), 0);
        if (step % 50 == 0)
            check(f);
    }
    assert_int_equal(finished, N);
    free(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_diamond),
        cmocka_unit_test(test_order_cycle),
        cmocka_unit_test(test_order_long_chain),
        cmocka_unit_test(test_fan_in_decisions),
        T(test_after_blocks_until_all_succeed),
        T(test_after_then_delay),
        T(test_dependency_failed_cascades),
        T(test_after_finished_at_submit),
        T(test_fan_in_all),
        T(test_fan_in_any),
        T(test_fan_in_quorum),
        T(test_child_retry_recounted),
        cmocka_unit_test(test_children_pinned),
        T(test_cancel_cascades_deep),
        T(test_recovery_rebuilds),
        T(test_random_dag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
