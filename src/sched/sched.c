/* SPDX-License-Identifier: MIT
 * sched.c - the scheduler's model and transitions. Every transition goes through a
 * few helpers that keep the heaps, the per-queue counts, the agent lease lists and
 * the terminal-task cache consistent, then mark the entity dirty for the store. */
#include "sched.h"
#include "sched_int.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "route.h"

#include <jansson.h>
#include <string.h>

/* ---- small helpers ---- */

uint64_t sw_sched_random(struct sw_sched *s)
{
    /* xorshift64* */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void task_dirty(struct sw_sched *s, struct sw_task *t)
{
    if (s->hooks.task_dirty)
        s->hooks.task_dirty(s->hooks.ctx, t);
}

static void agent_dirty(struct sw_sched *s, struct sw_agent *a)
{
    if (s->hooks.agent_dirty)
        s->hooks.agent_dirty(s->hooks.ctx, a);
}

static void task_event(struct sw_sched *s, struct sw_task *t, enum sw_task_event ev)
{
    if (s->hooks.task_event)
        s->hooks.task_event(s->hooks.ctx, t, ev);
    if (s->graph.head) /* what this end implies for the task graph, after its event */
        sw__graph_settle(s);
}

static void agent_event(struct sw_sched *s, struct sw_agent *a, enum sw_agent_event ev)
{
    if (s->hooks.agent_event)
        s->hooks.agent_event(s->hooks.ctx, a, ev);
}

struct sw_queue *sw_sched_queue(struct sw_sched *s, const char *capability)
{
    return sw_strmap_get(&s->queues, capability);
}

static struct sw_queue *queue_get_or_add(struct sw_sched *s, const char *capability)
{
    struct sw_queue *q = sw_strmap_get(&s->queues, capability);
    if (q)
        return q;
    q = sw_calloc(1, sizeof *q);
    if (q == NULL || (q->capability = sw_strdup(capability)) == NULL) {
        sw_free(q);
        return NULL;
    }
    sw_heap_init(&q->ready, sw_heap_less_ready);
    sw_strmap_init(&q->lanes);
    if (sw_strmap_put(&s->queues, q->capability, q)) {
        sw_free(q->capability);
        sw_free(q);
        return NULL;
    }
    return q;
}

/* The ready heap t waits in when queued: its swarm's lane, or the unrouted heap. NULL
 * when its lane does not exist (see lane_get_or_add). */
static struct sw_heap *ready_heap(struct sw_queue *q, const struct sw_task *t)
{
    if (t->swarm == NULL)
        return &q->ready;
    struct sw_lane *lane = sw_strmap_get(&q->lanes, t->swarm);
    return lane ? &lane->ready : NULL;
}

static struct sw_lane *lane_get_or_add(struct sw_queue *q, const char *swarm)
{
    struct sw_lane *lane = sw_strmap_get(&q->lanes, swarm);
    if (lane)
        return lane;
    lane = sw_calloc(1, sizeof *lane);
    if (lane == NULL || (lane->swarm = sw_strdup(swarm)) == NULL) {
        sw_free(lane);
        return NULL;
    }
    sw_heap_init(&lane->ready, sw_heap_less_ready);
    if (sw_strmap_put(&q->lanes, lane->swarm, lane)) {
        sw_free(lane->swarm);
        sw_free(lane);
        return NULL;
    }
    return lane;
}

/* The queue of t's capability with room for t in its ready heap (its lane made). */
static struct sw_queue *queue_for(struct sw_sched *s, const struct sw_task *t)
{
    struct sw_queue *q = queue_get_or_add(s, t->capability);
    if (q == NULL)
        return NULL;
    if (t->swarm) {
        struct sw_lane *lane = lane_get_or_add(q, t->swarm);
        if (lane == NULL || sw_heap_reserve(&lane->ready, 1))
            return NULL;
    }
    return sw_heap_reserve(&q->ready, 1) ? NULL : q;
}

size_t sw_queue_ready_len(const struct sw_queue *q)
{
    size_t n = q->ready.len, pos = 0;
    void *value;
    while (sw_strmap_next(&q->lanes, &pos, NULL, &value))
        n += ((const struct sw_lane *)value)->ready.len;
    return n;
}

size_t sw_queue_ready_for(const struct sw_queue *q, const char *swarm)
{
    const struct sw_lane *lane = swarm ? sw_strmap_get(&q->lanes, swarm) : NULL;
    return q->ready.len + (lane ? lane->ready.len : 0);
}

static void queue_free(struct sw_queue *q)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&q->lanes, &pos, NULL, &value)) {
        struct sw_lane *lane = value;
        sw_heap_free(&lane->ready);
        sw_free(lane->swarm);
        sw_free(lane);
    }
    sw_strmap_free(&q->lanes);
    sw_heap_free(&q->ready);
    sw_free(q->capability);
    sw_free(q);
}

/* ---- each swarm's waiting tasks (queued and scheduled), for its max_queue ---- */

struct swarm_waiting {
    char *swarm; /* owned: the map's key */
    int64_t count;
};

int64_t sw_sched_swarm_waiting(const struct sw_sched *s, const char *swarm)
{
    const struct swarm_waiting *w = swarm ? sw_strmap_get(&s->swarm_waiting, swarm) : NULL;
    return w ? w->count : 0;
}

/* Counts t in (delta 1) or out (-1) of its swarm's waiting tasks when its state is one
 * that counts; an entry goes when its count reaches 0. Only counting in allocates: when
 * that fails the task is not counted (the count may be low, never negative). */
static void swarm_waiting_add(struct sw_sched *s, const struct sw_task *t, int delta)
{
    if (t->swarm == NULL || (t->state != SW_TASK_QUEUED && t->state != SW_TASK_SCHEDULED))
        return;
    struct swarm_waiting *w = sw_strmap_get(&s->swarm_waiting, t->swarm);
    if (w == NULL && delta > 0) {
        w = sw_calloc(1, sizeof *w);
        if (w == NULL || (w->swarm = sw_strdup(t->swarm)) == NULL ||
            sw_strmap_put(&s->swarm_waiting, w->swarm, w)) {
            if (w)
                sw_free(w->swarm);
            sw_free(w);
            return;
        }
    }
    if (w == NULL)
        return;
    w->count += delta;
    if (w->count <= 0) {
        sw_strmap_del(&s->swarm_waiting, w->swarm);
        sw_free(w->swarm);
        sw_free(w);
    }
}

static void swarm_waiting_free(struct sw_sched *s)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&s->swarm_waiting, &pos, NULL, &value)) {
        struct swarm_waiting *w = value;
        sw_free(w->swarm);
        sw_free(w);
    }
    sw_strmap_free(&s->swarm_waiting);
}

/* ---- where a task sits, by state ---- */

static void lru_unlink(struct sw_sched *s, struct sw_task *t)
{
    if (t->lru_prev)
        t->lru_prev->lru_next = t->lru_next;
    else
        s->lru_head = t->lru_next;
    if (t->lru_next)
        t->lru_next->lru_prev = t->lru_prev;
    else
        s->lru_tail = t->lru_prev;
    t->lru_prev = t->lru_next = NULL;
    s->terminal_count--;
}

static void lru_append(struct sw_sched *s, struct sw_task *t)
{
    t->lru_prev = s->lru_tail;
    t->lru_next = NULL;
    if (s->lru_tail)
        s->lru_tail->lru_next = t;
    else
        s->lru_head = t;
    s->lru_tail = t;
    s->terminal_count++;
}

static void agent_unlink_lease(struct sw_agent *a, struct sw_task *t)
{
    if (!t->on_agent)
        return;
    t->on_agent = 0;
    if (t->agent_prev)
        t->agent_prev->agent_next = t->agent_next;
    else
        a->leases = t->agent_next;
    if (t->agent_next)
        t->agent_next->agent_prev = t->agent_prev;
    t->agent_prev = t->agent_next = NULL;
    a->running--;
    sw_agent_update_state(a);
    sw_breaker_released(&a->breaker, t->id);
}

/* Takes t out of the structure that holds it in its current state. */
static void task_detach(struct sw_sched *s, struct sw_queue *q, struct sw_task *t)
{
    switch (t->state) {
    case SW_TASK_SCHEDULED:
        if (!t->blocked) /* blocked by its dependencies: in no heap */
            sw_heap_remove(&s->delayed, t);
        break;
    case SW_TASK_QUEUED:
        sw_heap_remove(ready_heap(q, t), t);
        break;
    case SW_TASK_WAITING: /* a parent waiting for its children: in no heap */
        break;
    case SW_TASK_RUNNING: {
        sw_heap_remove(&s->leases, t);
        s->work_pending = 1; /* a slot frees up: a waiting lease may be served */
        struct sw_agent *a = sw_map_get(&s->agents, t->agent_id);
        if (a) {
            agent_unlink_lease(a, t);
            agent_dirty(s, a);
        }
        break;
    }
    default:
        if (!t->pinned) /* a finished child of a waiting parent stays in memory */
            lru_unlink(s, t);
        break;
    }
    swarm_waiting_add(s, t, -1);
    q->count[t->state]--;
}

/* Puts t into the structure of its (new) state. Only fails on allocation. */
static int task_attach(struct sw_sched *s, struct sw_queue *q, struct sw_task *t)
{
    int rc = 0;
    switch (t->state) {
    case SW_TASK_SCHEDULED:
        rc = t->blocked ? 0 : sw_heap_push(&s->delayed, t);
        break;
    case SW_TASK_QUEUED: {
        struct sw_heap *ready = ready_heap(q, t);
        rc = ready ? sw_heap_push(ready, t) : SW_ENOMEM;
        s->work_pending = 1;
        break;
    }
    case SW_TASK_RUNNING:
        rc = sw_heap_push(&s->leases, t);
        break;
    case SW_TASK_WAITING:
        break;
    default:
        if (!t->pinned)
            lru_append(s, t);
        break;
    }
    if (rc == 0)
        q->count[t->state]++;
    if (rc == 0)
        swarm_waiting_add(s, t, 1);
    return rc;
}

/* Moves t from its state to the state already written in *t by `apply`. */
static int task_move(struct sw_sched *s, struct sw_task *t, void (*apply)(struct sw_task *, void *),
                     void *arg, int64_t now)
{
    struct sw_queue *q = queue_for(s, t);
    /* Room in every heap the task may enter, so that nothing fails once it has left
     * its current place. */
    if (q == NULL || sw_heap_reserve(&s->delayed, 1) || sw_heap_reserve(&s->leases, 1))
        return SW_ENOMEM;
    enum sw_task_state from = t->state;
    task_detach(s, q, t);
    apply(t, arg);
    t->updated_at = now;
    if (t->state == SW_TASK_QUEUED)
        t->queued_at = now;
    if (t->state != SW_TASK_SCHEDULED)
        t->blocked = 0;
    int rc = task_attach(s, q, t);
    task_dirty(s, t);
    sw__graph_moved(s, t, from, now);
    return rc;
}

int sw__sched_move(struct sw_sched *s, struct sw_task *t, void (*apply)(struct sw_task *, void *),
                   void *arg, int64_t now)
{
    return task_move(s, t, apply, arg, now);
}

int sw__sched_reattach(struct sw_sched *s, struct sw_task *t,
                       void (*apply)(struct sw_task *, void *), void *arg)
{
    struct sw_queue *q = queue_for(s, t);
    if (q == NULL || sw_heap_reserve(&s->delayed, 1) || sw_heap_reserve(&s->leases, 1))
        return SW_ENOMEM;
    task_detach(s, q, t);
    apply(t, arg);
    return task_attach(s, q, t);
}

void sw__sched_event(struct sw_sched *s, struct sw_task *t, enum sw_task_event ev)
{
    task_event(s, t, ev);
}

/* ---- lifecycle ---- */

void sw_sched_init(struct sw_sched *s, const struct sw_sched_config *cfg,
                   const struct sw_sched_hooks *hooks, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (hooks)
        s->hooks = *hooks;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    sw_map_init(&s->tasks);
    sw_strmap_init(&s->idempotency);
    sw_strmap_init(&s->queues);
    sw_map_init(&s->agents);
    sw_strmap_init(&s->agent_names);
    sw_heap_init(&s->delayed, sw_heap_less_run_at);
    sw_heap_init(&s->leases, sw_heap_less_lease);
}

void sw_sched_free(struct sw_sched *s)
{
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->tasks, &pos, NULL, &value))
        sw_task_free(value);
    pos = 0;
    while (sw_map_next(&s->agents, &pos, NULL, &value))
        sw_agent_free(value);
    pos = 0;
    while (sw_strmap_next(&s->queues, &pos, NULL, &value)) {
        queue_free(value);
    }
    sw_map_free(&s->tasks);
    sw_strmap_free(&s->idempotency);
    sw_strmap_free(&s->queues);
    sw_map_free(&s->agents);
    sw_strmap_free(&s->agent_names);
    sw_heap_free(&s->delayed);
    sw_heap_free(&s->leases);
    swarm_waiting_free(s);
}

struct sw_task *sw_sched_task(struct sw_sched *s, uint64_t id)
{
    return sw_map_get(&s->tasks, id);
}

struct sw_task *sw_sched_task_by_key(struct sw_sched *s, const char *key)
{
    return sw_strmap_get(&s->idempotency, key);
}

struct sw_agent *sw_sched_agent(struct sw_sched *s, uint64_t id)
{
    return sw_map_get(&s->agents, id);
}

struct sw_agent *sw_sched_agent_by_name(struct sw_sched *s, const char *name)
{
    return sw_strmap_get(&s->agent_names, name);
}

/* Indexes a task that has its id and state (new or restored). */
static int task_index(struct sw_sched *s, struct sw_task *t)
{
    struct sw_queue *q = queue_for(s, t);
    if (q == NULL || sw_map_put(&s->tasks, t->id, t))
        return SW_ENOMEM;
    if (t->idempotency_key && sw_strmap_put(&s->idempotency, t->idempotency_key, t)) {
        sw_map_del(&s->tasks, t->id);
        return SW_ENOMEM;
    }
    int rc = task_attach(s, q, t);
    if (rc) {
        if (t->idempotency_key)
            sw_strmap_del(&s->idempotency, t->idempotency_key);
        sw_map_del(&s->tasks, t->id);
    }
    return rc;
}

int sw_sched_submit(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    t->id = sw_id_next(&s->last_task_id, now);
    t->created_at = t->updated_at = now;
    t->state = t->run_at > now ? SW_TASK_SCHEDULED : SW_TASK_QUEUED;
    struct sw_task *failed_dep = NULL; /* after, children: see graph.c */
    int rc = sw__graph_prepare(s, t, now, &failed_dep);
    if (t->state == SW_TASK_QUEUED)
        t->queued_at = now;
    rc = rc ? rc : task_index(s, t);
    if (rc) {
        sw_task_free(t);
        return rc;
    }
    sw__graph_link(s, t);
    task_dirty(s, t);
    task_event(s, t, SW_TASK_EV_SUBMITTED);
    if (failed_dep)
        sw__graph_fail_new(s, t, failed_dep, now);
    return 0;
}

int sw_sched_restore_task(struct sw_sched *s, struct sw_task *t)
{
    if (t->id > s->last_task_id)
        s->last_task_id = t->id;
    if (t->lease_id > s->last_lease_id)
        s->last_lease_id = t->lease_id;
    t->persisted = 1;
    /* waits for its dependencies until finish_recovery finds them met */
    t->blocked = t->state == SW_TASK_SCHEDULED && t->nafter > 0;
    if (t->state == SW_TASK_RUNNING) {
        /* The holder's lease died with the previous process: finish_recovery retries. */
        t->lease_deadline = 0;
    }
    return task_index(s, t);
}

int sw_sched_restore_agent(struct sw_sched *s, struct sw_agent *a)
{
    if (a->id > s->last_agent_id)
        s->last_agent_id = a->id;
    a->persisted = 1;
    a->running = 0;
    a->leases = NULL;
    if (sw_map_put(&s->agents, a->id, a))
        return SW_ENOMEM;
    if (sw_strmap_put(&s->agent_names, a->name, a)) {
        sw_map_del(&s->agents, a->id);
        return SW_ENOMEM;
    }
    return 0;
}

struct failure {
    int retry;
    int64_t now;
    uint64_t rand64;
    const char *error;
};

static void apply_failure(struct sw_task *t, void *arg)
{
    struct failure *f = arg;
    if (f->error)
        sw_task_set_str(&t->error, f->error);
    sw_task_after_failure(t, f->retry, f->now, f->rand64);
}

/* An attempt of a running task failed: retry after backoff or dead-letter. */
static void task_attempt_failed(struct sw_sched *s, struct sw_task *t, const char *error, int retry,
                                int64_t now)
{
    struct failure f = {retry, now, sw_sched_random(s), error};
    task_move(s, t, apply_failure, &f, now);
    task_event(s, t, t->state == SW_TASK_FAILED ? SW_TASK_EV_DEAD : SW_TASK_EV_ATTEMPT_FAILED);
}

static void apply_requeue_now(struct sw_task *t, void *arg)
{
    int64_t now = *(int64_t *)arg;
    t->state = SW_TASK_QUEUED;
    t->run_at = now;
}

/* The holder is gone (lost, removed, daemon restart): the attempt counts; retry at once. */
static void task_holder_gone(struct sw_sched *s, struct sw_task *t, const char *error, int64_t now)
{
    if (t->attempt >= t->max_attempts) {
        task_attempt_failed(s, t, error, 0, now);
        return;
    }
    sw_task_set_str(&t->error, error);
    task_move(s, t, apply_requeue_now, &now, now);
    task_event(s, t, SW_TASK_EV_ATTEMPT_FAILED);
}

void sw_sched_finish_recovery(struct sw_sched *s, int64_t now)
{
    sw__graph_recover(s, now);
    /* Running tasks sit in the lease heap with deadline 0: they come first. */
    struct sw_task *t;
    while ((t = sw_heap_peek(&s->leases)) && t->lease_deadline == 0)
        task_holder_gone(s, t,
                         "{\"code\":\"daemon_restarted\",\"message\":\"the daemon restarted while "
                         "the task was running\"}",
                         now);
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        a->last_seen_at = now;
        sw_agent_update_state(a);
    }
    s->next_agent_check = now;
}

/* ---- circuit breakers ---- */

/* The agent's breaker changed: it may take work again, or its cool-down is a deadline. */
static void breaker_changed(struct sw_sched *s, struct sw_agent *a)
{
    int64_t deadline = sw_breaker_deadline(&a->breaker);
    if (a->breaker.state == SW_BREAKER_OPEN)
        s->breaker_trips++;
    else
        s->work_pending = 1;
    if (deadline && (s->next_breaker_at == 0 || deadline < s->next_breaker_at))
        s->next_breaker_at = deadline;
    agent_event(s, a, SW_AGENT_EV_BREAKER);
}

/* An outcome of t on its holder a (NULL: the holder is gone). */
static void breaker_record(struct sw_sched *s, struct sw_agent *a, const struct sw_task *t,
                           int failed, int64_t now)
{
    if (a && sw_breaker_record(&a->breaker, &s->cfg.breaker, t->id, failed, now))
        breaker_changed(s, a);
}

/* How many of max tasks the agent may take now (a breaker whose cool-down is over goes
 * half-open first). */
static int breaker_admit(struct sw_sched *s, struct sw_agent *a, int max, int64_t now)
{
    if (sw_breaker_poll(&a->breaker, now))
        breaker_changed(s, a);
    return sw_breaker_admit(&a->breaker, max);
}

/* Tick: open breakers whose cool-down is over go half-open; finds the next deadline. */
static void breakers_poll(struct sw_sched *s, int64_t now)
{
    size_t pos = 0;
    void *value;
    s->next_breaker_at = 0;
    while (sw_map_next(&s->agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (sw_breaker_poll(&a->breaker, now))
            breaker_changed(s, a);
        int64_t deadline = sw_breaker_deadline(&a->breaker);
        if (deadline && (s->next_breaker_at == 0 || deadline < s->next_breaker_at))
            s->next_breaker_at = deadline;
    }
}

/* ---- leasing ---- */

struct lease_args {
    struct sw_agent *agent;
    uint64_t lease_id;
    int64_t deadline;
    int64_t now;
};

static void apply_lease(struct sw_task *t, void *arg)
{
    struct lease_args *l = arg;
    t->state = SW_TASK_RUNNING;
    t->attempt++;
    t->lease_id = l->lease_id;
    t->agent_id = l->agent->id;
    t->started_at = l->now;
    t->lease_deadline = l->deadline;
    if (t->timeout_ms > 0 && l->now + t->timeout_ms < t->lease_deadline)
        t->lease_deadline = l->now + t->timeout_ms;
}

/* The queue of a versioned capability's bare name ("resize" for "resize@2"): a request
 * without a version may be served by any version. NULL when unversioned or absent. */
static struct sw_queue *bare_queue(struct sw_sched *s, const char *capability)
{
    const char *at = strchr(capability, '@');
    char name[160];
    if (at == NULL || (size_t)(at - capability) >= sizeof name)
        return NULL;
    memcpy(name, capability, (size_t)(at - capability));
    name[at - capability] = '\0';
    return sw_strmap_get(&s->queues, name);
}

/* 1 if the agent's labels have every label of the task's selector (NULL: any agent). */
static int selector_fits(const struct sw_task *t, const struct sw_agent *a)
{
    if (t->selector == NULL || strcmp(t->selector, "{}") == 0)
        return 1;
    json_t *want = json_loads(t->selector, 0, NULL);
    json_t *have = a->labels ? json_loads(a->labels, 0, NULL) : NULL;
    const char *key;
    json_t *value;
    int fits = want != NULL;
    json_object_foreach(want, key, value)
    {
        json_t *got = json_object_get(have, key);
        if (!json_is_string(got) || !json_equal(got, value)) {
            fits = 0;
            break;
        }
    }
    json_decref(want);
    json_decref(have);
    return fits;
}

/* A task with an affinity (its swarm hashes a value of it) goes to the agent of its swarm
 * that serves its capability, is not lost, and scores highest for that value (consistent
 * hashing, route.h): 1 if that is a (or no such agent is there: any agent of the swarm). */
static int affinity_fits(struct sw_sched *s, const struct sw_task *t, const struct sw_agent *a)
{
    if (t->affinity == NULL || t->swarm == NULL)
        return 1;
    const struct sw_agent *owner = NULL;
    uint64_t best = 0;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->agents, &pos, NULL, &value)) {
        const struct sw_agent *b = value;
        int serves = 0, version;
        for (size_t i = 0; i < b->ncapabilities && !serves; i++)
            serves = sw_capability_serves(b->capabilities[i], t->capability, &version);
        if (!serves || b->swarm == NULL || strcmp(b->swarm, t->swarm) != 0 ||
            b->state == SW_AGENT_LOST || !sw_agent_running(b))
            continue;
        uint64_t score = sw_route_hash_score(t->affinity, b->name);
        if (owner == NULL || score > best) {
            owner = b;
            best = score;
        }
    }
    return owner == NULL || owner == a;
}

static int task_fits(struct sw_sched *s, const struct sw_task *t, const struct sw_agent *a)
{
    return selector_fits(t, a) && affinity_fits(s, t, a);
}

/* The best task of a ready heap the agent may take: its head, or when the head does not
 * fit the agent (selector, affinity), the best of those that do (a scan of the heap:
 * only tasks with selectors or affinities make one). */
static void consider_heap(struct sw_sched *s, struct sw_heap *ready, const struct sw_agent *a,
                          struct sw_task **best)
{
    struct sw_task *head = sw_heap_peek(ready);
    if (head && !task_fits(s, head, a)) {
        head = NULL;
        for (size_t i = 1; i < ready->len; i++) {
            struct sw_task *t = ready->items[i];
            if ((head == NULL || sw_heap_less_ready(t, head)) &&
                (*best == NULL || sw_heap_less_ready(t, *best)) && task_fits(s, t, a))
                head = t;
        }
    }
    if (head && (*best == NULL || sw_heap_less_ready(head, *best)))
        *best = head;
}

/* The heads an agent may take from q: the unrouted tasks and its own swarm's lane. */
static void consider(struct sw_sched *s, struct sw_queue *q, const struct sw_agent *a,
                     struct sw_task **best)
{
    if (q == NULL)
        return;
    consider_heap(s, &q->ready, a, best);
    struct sw_lane *lane = a->swarm ? sw_strmap_get(&q->lanes, a->swarm) : NULL;
    if (lane)
        consider_heap(s, &lane->ready, a, best);
}

static struct sw_task *best_ready(struct sw_sched *s, struct sw_agent *a)
{
    struct sw_task *best = NULL;
    for (size_t i = 0; i < a->ncapabilities; i++) {
        consider(s, sw_strmap_get(&s->queues, a->capabilities[i]), a, &best);
        consider(s, bare_queue(s, a->capabilities[i]), a, &best);
    }
    return best;
}

int sw_sched_lease(struct sw_sched *s, struct sw_agent *a, int max, int64_t now,
                   struct sw_task **tasks, int *n)
{
    *n = 0;
    if (!sw_agent_running(a))
        return 0;
    int free_slots = a->slots - a->running;
    if (max > free_slots)
        max = free_slots;
    max = breaker_admit(s, a, max, now);
    while (*n < max) {
        struct sw_task *t = best_ready(s, a);
        if (t == NULL)
            break;
        struct lease_args l = {a, sw_id_next(&s->last_lease_id, now), now + s->cfg.lease_ms, now};
        int rc = task_move(s, t, apply_lease, &l, now);
        if (rc)
            return rc;
        t->on_agent = 1;
        t->agent_prev = NULL;
        t->agent_next = a->leases;
        if (a->leases)
            a->leases->agent_prev = t;
        a->leases = t;
        a->running++;
        sw_agent_update_state(a);
        tasks[(*n)++] = t;
        sw_breaker_leased(&a->breaker, t->id);
        task_event(s, t, SW_TASK_EV_LEASED);
    }
    if (*n)
        agent_dirty(s, a);
    return 0;
}

static void waiter_unlink(struct sw_sched *s, struct sw_lease_waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        s->waiters_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->waiters_tail = w->prev;
    w->prev = w->next = NULL;
    w->linked = 0;
    w->agent->waiting--;
}

void sw_sched_wait(struct sw_sched *s, struct sw_lease_waiter *w)
{
    w->prev = s->waiters_tail;
    w->next = NULL;
    if (s->waiters_tail)
        s->waiters_tail->next = w;
    else
        s->waiters_head = w;
    s->waiters_tail = w;
    w->linked = 1;
    w->agent->waiting++;
    w->ntasks = 0;
    w->rc = 0;
}

void sw_sched_unwait(struct sw_sched *s, struct sw_lease_waiter *w)
{
    waiter_unlink(s, w);
}

void sw_sched_dispatch(struct sw_sched *s, int64_t now)
{
    if (!s->work_pending)
        return;
    s->work_pending = 0;
    struct sw_lease_waiter *w = s->waiters_head;
    while (w) {
        struct sw_lease_waiter *next = w->next;
        int n = 0;
        int rc = sw_sched_lease(s, w->agent, w->max, now, w->tasks, &n);
        if (rc || n > 0) {
            waiter_unlink(s, w);
            w->ntasks = n;
            w->rc = rc;
            w->ready_cb(w);
        }
        w = next;
    }
}

/* ---- outcomes ---- */

static int check_holder(struct sw_task *t, struct sw_agent *a, uint64_t lease_id)
{
    if (t->state != SW_TASK_RUNNING || t->lease_id != lease_id)
        return SW_ESTALE_LEASE;
    if (a && t->agent_id != a->id)
        return SW_EFORBIDDEN;
    return 0;
}

struct outcome {
    const char *json;
    int64_t now;
};

static void apply_success(struct sw_task *t, void *arg)
{
    struct outcome *o = arg;
    t->state = SW_TASK_SUCCEEDED;
    t->finished_at = o->now;
    sw_task_set_str(&t->result, o->json ? o->json : "null");
    sw_task_set_str(&t->error, NULL);
}

int sw_sched_complete(struct sw_sched *s, struct sw_task *t, struct sw_agent *a, uint64_t lease_id,
                      const char *result, int64_t now)
{
    int rc = check_holder(t, a, lease_id);
    if (rc)
        return rc;
    struct sw_agent *holder = sw_map_get(&s->agents, t->agent_id);
    breaker_record(s, holder, t, 0, now);
    struct outcome o = {result, now};
    rc = task_move(s, t, apply_success, &o, now);
    if (holder)
        holder->total_completed++;
    task_event(s, t, SW_TASK_EV_SUCCEEDED);
    return rc;
}

int sw_sched_fail(struct sw_sched *s, struct sw_task *t, struct sw_agent *a, uint64_t lease_id,
                  const char *error, int retry, int64_t now)
{
    int rc = check_holder(t, a, lease_id);
    if (rc)
        return rc;
    struct sw_agent *holder = sw_map_get(&s->agents, t->agent_id);
    if (holder)
        holder->total_failed++;
    breaker_record(s, holder, t, 1, now);
    task_attempt_failed(s, t, error, retry, now);
    return 0;
}

int sw_sched_progress(struct sw_sched *s, struct sw_task *t, struct sw_agent *a, uint64_t lease_id,
                      const char *progress, int64_t now)
{
    int rc = check_holder(t, a, lease_id);
    if (rc)
        return rc;
    rc = sw_task_set_str(&t->progress, progress);
    if (rc)
        return rc;
    t->updated_at = now;
    task_dirty(s, t);
    task_event(s, t, SW_TASK_EV_PROGRESS);
    return 0;
}

static void apply_cancel(struct sw_task *t, void *arg)
{
    t->state = SW_TASK_CANCELLED;
    t->finished_at = *(int64_t *)arg;
}

int sw_sched_cancel(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    if (t->state == SW_TASK_CANCELLED)
        return 0;
    if (sw_task_state_terminal(t->state))
        return SW_EBAD_STATE;
    if (t->state == SW_TASK_RUNNING) {
        struct sw_agent *a = sw_map_get(&s->agents, t->agent_id);
        if (a && sw_agent_note_cancel(a, t->id))
            return SW_ENOMEM;
        s->cancels_pending = 1;
    }
    int rc = task_move(s, t, apply_cancel, &now, now);
    task_event(s, t, SW_TASK_EV_CANCELLED);
    return rc;
}

static void apply_manual_retry(struct sw_task *t, void *arg)
{
    t->state = SW_TASK_QUEUED;
    t->attempt = 0;
    t->dead = 0;
    t->finished_at = 0;
    t->run_at = *(int64_t *)arg;
    sw_task_set_str(&t->result, NULL);
}

int sw_sched_retry(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    if ((t->state != SW_TASK_FAILED && t->state != SW_TASK_CANCELLED) || t->fan_in)
        return SW_EBAD_STATE; /* a parent of children: retry its children */
    int rc = task_move(s, t, apply_manual_retry, &now, now);
    task_event(s, t, SW_TASK_EV_RETRIED);
    return rc;
}

/* ---- agents ---- */

int sw_sched_register_agent(struct sw_sched *s, struct sw_agent *a, int64_t now)
{
    a->id = sw_id_next(&s->last_agent_id, now);
    a->created_at = a->last_seen_at = now;
    a->state = SW_AGENT_READY;
    if (sw_map_put(&s->agents, a->id, a))
        return SW_ENOMEM;
    if (sw_strmap_put(&s->agent_names, a->name, a)) {
        sw_map_del(&s->agents, a->id);
        return SW_ENOMEM;
    }
    sw_agent_update_state(a);
    agent_dirty(s, a);
    agent_event(s, a, SW_AGENT_EV_REGISTERED);
    return 0;
}

void sw_sched_touch_agent(struct sw_sched *s, struct sw_agent *a, int64_t now)
{
    a->last_seen_at = now;
    if (a->state == SW_AGENT_LOST) {
        a->state = SW_AGENT_READY;
        sw_agent_update_state(a);
        s->work_pending = 1;
        agent_dirty(s, a);
        agent_event(s, a, SW_AGENT_EV_BACK);
    }
}

void sw_sched_heartbeat(struct sw_sched *s, struct sw_agent *a, int64_t now)
{
    sw_sched_touch_agent(s, a, now);
    for (struct sw_task *t = a->leases; t; t = t->agent_next) {
        int64_t deadline = now + s->cfg.lease_ms;
        if (t->timeout_ms > 0 && t->started_at + t->timeout_ms < deadline)
            deadline = t->started_at + t->timeout_ms;
        if (deadline != t->lease_deadline) {
            t->lease_deadline = deadline;
            sw_heap_update(&s->leases, t);
        }
    }
}

void sw_sched_agent_changed(struct sw_sched *s, struct sw_agent *a)
{
    agent_dirty(s, a);
}

void sw_sched_agent_up(struct sw_sched *s, struct sw_agent *a, int64_t now)
{
    a->state = SW_AGENT_READY;
    a->last_seen_at = now;
    sw_agent_update_state(a);
    s->work_pending = 1;
    agent_dirty(s, a);
}

void sw_sched_agent_down(struct sw_sched *s, struct sw_agent *a, enum sw_agent_state state,
                         const char *error, int64_t now)
{
    while (a->leases)
        task_holder_gone(s, a->leases, error, now);
    a->ncancelled = 0;
    if (a->state != state) {
        a->state = state;
        agent_dirty(s, a);
    }
}

void sw_sched_cancel_told(struct sw_agent *a)
{
    a->ncancelled = 0;
}

static void agent_drop_leases(struct sw_sched *s, struct sw_agent *a, const char *error,
                              int64_t now)
{
    while (a->leases)
        task_holder_gone(s, a->leases, error, now);
}

static void agent_answer_waiters(struct sw_sched *s, struct sw_agent *a, int rc)
{
    struct sw_lease_waiter *w = s->waiters_head;
    while (w) {
        struct sw_lease_waiter *next = w->next;
        if (w->agent == a) {
            waiter_unlink(s, w);
            w->ntasks = 0;
            w->rc = rc;
            w->ready_cb(w);
        }
        w = next;
    }
}

void sw_sched_remove_agent(struct sw_sched *s, struct sw_agent *a, int64_t now)
{
    agent_drop_leases(s, a,
                      "{\"code\":\"agent_removed\",\"message\":\"the agent holding the lease was "
                      "removed\"}",
                      now);
    agent_answer_waiters(s, a, SW_EAGENT_GONE);
    sw_map_del(&s->agents, a->id);
    sw_strmap_del(&s->agent_names, a->name);
    agent_event(s, a, SW_AGENT_EV_REMOVED);
    a->removed = 1;
    if (s->hooks.agent_dirty)
        agent_dirty(s, a);
    else
        sw_agent_free(a);
}

static void agents_check_lost(struct sw_sched *s, int64_t now)
{
    int64_t limit = s->cfg.heartbeat_ms * s->cfg.lost_after;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->kind == SW_AGENT_MANAGED) {
            if (sw_agent_running(a) && a->leases)
                sw_sched_heartbeat(s, a, now); /* alive as long as its process is */
            continue;
        }
        if (a->waiting > 0)
            a->last_seen_at = now; /* a long-poll is open: the agent is there */
        if (a->state == SW_AGENT_LOST || now - a->last_seen_at < limit)
            continue;
        a->state = SW_AGENT_LOST;
        agent_drop_leases(s, a,
                          "{\"code\":\"agent_lost\",\"message\":\"the agent missed its "
                          "heartbeats\"}",
                          now);
        agent_dirty(s, a);
        agent_event(s, a, SW_AGENT_EV_LOST);
    }
    int64_t step = s->cfg.heartbeat_ms / 4;
    s->next_agent_check = now + (step > 10 ? step : 10);
}

static void apply_promote(struct sw_task *t, void *arg)
{
    (void)arg;
    t->state = SW_TASK_QUEUED;
}

void sw_sched_tick(struct sw_sched *s, int64_t now)
{
    struct sw_task *t;
    while ((t = sw_heap_peek(&s->delayed)) && t->run_at <= now) {
        task_move(s, t, apply_promote, NULL, now);
        task_event(s, t, SW_TASK_EV_PROMOTED);
    }
    while ((t = sw_heap_peek(&s->leases)) && t->lease_deadline <= now) {
        int timed_out = t->timeout_ms > 0 && now >= t->started_at + t->timeout_ms;
        struct sw_agent *holder = sw_map_get(&s->agents, t->agent_id);
        if (holder && sw_agent_note_cancel(holder, t->id) == 0) /* tell the holder to stop */
            s->cancels_pending = 1;
        breaker_record(s, holder, t, 1, now);
        task_attempt_failed(s, t,
                            timed_out ? "{\"code\":\"timeout\",\"message\":\"the attempt ran "
                                        "past timeout_ms\"}"
                                      : "{\"code\":\"lease_expired\",\"message\":\"the lease "
                                        "expired without a heartbeat\"}",
                            1, now);
    }
    if (now >= s->next_agent_check)
        agents_check_lost(s, now);
    if (s->next_breaker_at && now >= s->next_breaker_at)
        breakers_poll(s, now);
    sw_sched_evict(s);
}

int64_t sw_sched_next_deadline(const struct sw_sched *s)
{
    int64_t next = s->next_agent_check;
    struct sw_task *t = sw_heap_peek(&s->delayed);
    if (t && t->run_at < next)
        next = t->run_at;
    t = sw_heap_peek(&s->leases);
    if (t && t->lease_deadline < next)
        next = t->lease_deadline;
    if (s->next_breaker_at && s->next_breaker_at < next)
        next = s->next_breaker_at;
    return next;
}

static void evict_one(struct sw_sched *s, struct sw_task *t)
{
    struct sw_queue *q = sw_strmap_get(&s->queues, t->capability);
    lru_unlink(s, t);
    if (q)
        q->count[t->state]--;
    sw_map_del(&s->tasks, t->id);
    if (t->idempotency_key && sw_strmap_get(&s->idempotency, t->idempotency_key) == t)
        sw_strmap_del(&s->idempotency, t->idempotency_key);
    sw_task_free(t);
}

void sw_sched_forget_before(struct sw_sched *s, uint64_t before_id)
{
    struct sw_task *t = s->lru_head;
    while (t) {
        struct sw_task *next = t->lru_next;
        if (t->id < before_id && !t->dirty)
            evict_one(s, t);
        t = next;
    }
}

void sw_sched_evict(struct sw_sched *s)
{
    while (s->terminal_count > s->cfg.terminal_cache) {
        struct sw_task *t = s->lru_head;
        if (t == NULL || t->dirty)
            break;
        evict_one(s, t);
    }
}
