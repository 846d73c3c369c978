/* SPDX-License-Identifier: MIT
 * graph.c - task graphs: batch ordering and cycles, fan-in decisions, and the
 * scheduler's dependency and parent bookkeeping with its iterative cascades. */
#include "graph.h"
#include "sched.h"
#include "sched_int.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parent's result (its children's outcomes) is cut past this size. */
#define GRAPH_RESULT_MAX ((size_t)1 << 20)

/* ---- order and cycles ---- */

/* Walks back from a node that could not be placed until a node repeats: one cycle. */
static void find_cycle(const struct sw_graph_edges *g, const size_t *pending, size_t *seen,
                       size_t *cycle, size_t *cycle_len)
{
    size_t x = 0;
    while (pending[x] == 0)
        x++;
    for (size_t i = 0; i < g->n; i++)
        seen[i] = SIZE_MAX;
    size_t step = 0;
    while (seen[x] == SIZE_MAX) {
        seen[x] = step;
        cycle[step++] = x;
        size_t next = x;
        for (size_t e = g->dep_start[x]; e < g->dep_start[x + 1]; e++) {
            if (pending[g->deps[e]] > 0) { /* an unplaced node always names another one */
                next = g->deps[e];
                break;
            }
        }
        x = next;
    }
    size_t first = seen[x];
    *cycle_len = step - first;
    memmove(cycle, cycle + first, *cycle_len * sizeof *cycle);
}

int sw_graph_order(const struct sw_graph_edges *g, size_t *order, size_t *cycle, size_t *cycle_len)
{
    size_t n = g->n, m = g->dep_start[n];
    size_t *pending = sw_calloc(n + 1, sizeof *pending);
    size_t *user_start = sw_calloc(n + 2, sizeof *user_start);
    size_t *users = sw_calloc(m + 1, sizeof *users);
    int rc = pending && user_start && users ? 0 : SW_ENOMEM;
    *cycle_len = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        pending[i] = g->dep_start[i + 1] - g->dep_start[i];
        for (size_t e = g->dep_start[i]; e < g->dep_start[i + 1]; e++)
            user_start[g->deps[e] + 2]++;
    }
    /* the nodes naming node d (its users): counted at d + 2 and summed, user_start[d + 1]
     * is where they begin; filling moves it to where they end, so that afterwards they
     * are users[user_start[d] .. user_start[d + 1]) */
    for (size_t i = 2; rc == 0 && i < n + 2; i++)
        user_start[i] += user_start[i - 1];
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t e = g->dep_start[i]; e < g->dep_start[i + 1]; e++)
            users[user_start[g->deps[e] + 1]++] = i;
    size_t placed = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (pending[i] == 0)
            order[placed++] = i;
    for (size_t head = 0; rc == 0 && head < placed; head++) {
        size_t u = order[head];
        for (size_t e = user_start[u]; e < user_start[u + 1]; e++)
            if (--pending[users[e]] == 0)
                order[placed++] = users[e];
    }
    if (rc == 0 && placed < n) {
        find_cycle(g, pending, user_start, cycle, cycle_len); /* user_start: scratch now */
        rc = SW_EINVAL;
    }
    sw_free(pending);
    sw_free(user_start);
    sw_free(users);
    return rc;
}

/* ---- fan-in ---- */

enum sw_fan_in_decision sw_graph_fan_in_decide(int fan_in, int quorum, size_t children,
                                               size_t succeeded, size_t failed)
{
    if (children == 0)
        return SW_FAN_IN_WAIT;
    size_t need = fan_in == SW_FAN_IN_ANY      ? 1
                  : fan_in == SW_FAN_IN_QUORUM ? (size_t)(quorum > 0 ? quorum : 1)
                                               : children;
    if (succeeded >= need)
        return SW_FAN_IN_SUCCEED;
    if (failed >= children || children - failed < need)
        return SW_FAN_IN_FAIL;
    return SW_FAN_IN_WAIT;
}

/* ---- edges ---- */

static struct sw_task_links *links_of(struct sw_task *t)
{
    if (t->links == NULL)
        t->links = sw_calloc(1, sizeof *t->links);
    return t->links;
}

static int ids_reserve(uint64_t **ids, size_t n, size_t *cap, size_t extra)
{
    if (n + extra <= *cap)
        return 0;
    size_t want = *cap ? *cap : 4;
    while (want < n + extra)
        want *= 2;
    uint64_t *grown = sw_realloc(*ids, want * sizeof *grown);
    if (grown == NULL)
        return SW_ENOMEM;
    *ids = grown;
    *cap = want;
    return 0;
}

static int reserve_dependent(struct sw_task *d)
{
    struct sw_task_links *l = links_of(d);
    return l ? ids_reserve(&l->dependents, l->ndependents, &l->dependents_cap, 1) : SW_ENOMEM;
}

static int reserve_child(struct sw_task *p)
{
    struct sw_task_links *l = links_of(p);
    return l ? ids_reserve(&l->children, l->nchildren, &l->children_cap, 1) : SW_ENOMEM;
}

/* The tasks of the worklist are acted on in the order they ended. */
static void enqueue(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    s->graph.now = now;
    if (t->graph_queued)
        return;
    t->graph_queued = 1;
    t->graph_next = NULL;
    if (s->graph.tail)
        s->graph.tail->graph_next = t;
    else
        s->graph.head = t;
    s->graph.tail = t;
}

int sw__graph_prepare(struct sw_sched *s, struct sw_task *t, int64_t now, struct sw_task **failed)
{
    size_t pending = 0;
    *failed = NULL;
    if (t->fan_in && t->nafter)
        return SW_EINVAL;
    for (size_t i = 0; i < t->nafter; i++) {
        for (size_t j = 0; j < i; j++)
            if (t->after[j] == t->after[i])
                return SW_EINVAL;
        struct sw_task *d = sw_map_get(&s->tasks, t->after[i]);
        if (d == NULL)
            return SW_ENOT_FOUND;
        if (d->state == SW_TASK_SUCCEEDED)
            continue;
        if (sw_task_state_terminal(d->state)) {
            if (*failed == NULL)
                *failed = d;
            continue;
        }
        if (reserve_dependent(d))
            return SW_ENOMEM;
        pending++;
    }
    struct sw_task *p = t->parent ? sw_map_get(&s->tasks, t->parent) : NULL;
    if (p && p->fan_in && p->state != SW_TASK_WAITING)
        return SW_EBAD_STATE;
    if (p && reserve_child(p))
        return SW_ENOMEM;
    if ((t->fan_in || pending || *failed) && links_of(t) == NULL)
        return SW_ENOMEM;
    if (t->fan_in) {
        t->state = SW_TASK_WAITING;
        t->started_at = now;
    } else if (pending || *failed) {
        t->state = SW_TASK_SCHEDULED;
        t->blocked = 1;
        t->links->deps_pending = *failed ? 0 : pending;
    }
    return 0;
}

void sw__graph_link(struct sw_sched *s, struct sw_task *t)
{
    for (size_t i = 0; t->blocked && t->links->deps_pending && i < t->nafter; i++) {
        struct sw_task *d = sw_map_get(&s->tasks, t->after[i]);
        if (d && !sw_task_state_terminal(d->state))
            d->links->dependents[d->links->ndependents++] = t->id;
    }
    struct sw_task *p = t->parent ? sw_map_get(&s->tasks, t->parent) : NULL;
    if (p && p->links && p->links->nchildren < p->links->children_cap) {
        p->links->children[p->links->nchildren++] = t->id;
        if (p->fan_in && p->state == SW_TASK_WAITING)
            t->pinned = 1;
    }
}

/* ---- transitions the graph makes ---- */

struct error_end {
    const char *error;
    int64_t now;
};

static void apply_error_end(struct sw_task *t, void *arg)
{
    const struct error_end *e = arg;
    sw_task_set_str(&t->error, e->error);
    t->state = SW_TASK_FAILED;
    t->dead = 1;
    t->blocked = 0;
    t->finished_at = e->now;
}

/* t fails for good because its dependency `dep` did not succeed (`what` happened). */
static void fail_dependency(struct sw_sched *s, struct sw_task *t, uint64_t dep, const char *what,
                            int64_t now)
{
    char id[SW_ID_STRLEN], error[160];
    sw_id_format('t', dep, id);
    snprintf(error, sizeof error,
             "{\"code\":\"dependency_failed\",\"message\":\"dependency %s %s\",\"task\":\"%s\"}",
             id, what, id);
    struct error_end e = {error, now};
    sw__sched_move(s, t, apply_error_end, &e, now);
    sw__sched_event(s, t, SW_TASK_EV_DEAD);
}

void sw__graph_fail_new(struct sw_sched *s, struct sw_task *t, struct sw_task *dep, int64_t now)
{
    fail_dependency(s, t, dep->id, dep->state == SW_TASK_CANCELLED ? "was cancelled" : "failed",
                    now);
}

/* Cancels unfinished t because of task `cause` (the error says so). */
static void cancel_for(struct sw_sched *s, struct sw_task *t, uint64_t cause, const char *why,
                       int64_t now)
{
    if (sw_task_state_terminal(t->state))
        return;
    char id[SW_ID_STRLEN], error[200];
    sw_id_format('t', cause, id);
    snprintf(error, sizeof error, "{\"code\":\"cancelled\",\"message\":\"%s %s\",\"task\":\"%s\"}",
             id, why, id);
    sw_task_set_str(&t->error, error);
    sw_sched_cancel(s, t, now);
}

static void apply_release(struct sw_task *t, void *arg)
{
    int64_t now = *(int64_t *)arg;
    t->blocked = 0;
    t->state = t->run_at > now ? SW_TASK_SCHEDULED : SW_TASK_QUEUED;
}

/* Every dependency of t succeeded: it is queued, or scheduled for its delay. */
static void release(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    sw__sched_move(s, t, apply_release, &now, now);
    if (t->state == SW_TASK_QUEUED)
        sw__sched_event(s, t, SW_TASK_EV_PROMOTED);
}

static void apply_pinned(struct sw_task *t, void *arg)
{
    t->pinned = arg != NULL;
}

static void apply_unblock(struct sw_task *t, void *arg)
{
    (void)arg;
    t->blocked = 0;
}

/* ---- a parent's fan-in ---- */

struct group_end {
    enum sw_fan_in_decision decision;
    int64_t now;
    char *result; /* handed over to the task */
    char *error;
};

static void apply_group_end(struct sw_task *t, void *arg)
{
    struct group_end *e = arg;
    t->state = e->decision == SW_FAN_IN_SUCCEED ? SW_TASK_SUCCEEDED : SW_TASK_FAILED;
    t->dead = e->decision != SW_FAN_IN_SUCCEED;
    t->finished_at = e->now;
    sw_free(t->result);
    sw_free(t->error);
    t->result = e->result;
    t->error = e->error;
    e->result = e->error = NULL;
}

/* A child as the parent's result shows it once decided: unfinished ones are cancelled. */
static enum sw_task_state child_end_state(const struct sw_task *c)
{
    return sw_task_state_terminal(c->state) ? c->state : SW_TASK_CANCELLED;
}

static int render_child(const struct sw_task *c, struct sw_buf *out)
{
    char id[SW_ID_STRLEN];
    sw_id_format('t', c->id, id);
    enum sw_task_state st = child_end_state(c);
    int rc = sw_buf_appendf(out, "{\"id\":\"%s\",\"state\":\"%s\"", id, sw_task_state_names[st]);
    if (rc == 0 && st == SW_TASK_SUCCEEDED)
        rc = sw_buf_appendf(out, ",\"result\":%s", c->result ? c->result : "null");
    else if (rc == 0 && st == SW_TASK_FAILED && c->error)
        rc = sw_buf_appendf(out, ",\"error\":%s", c->error);
    return rc ? rc : sw_buf_append(out, "}", 1);
}

/* {"fan_in","succeeded","failed","cancelled","children":[{"id","state","result"|"error"}],
 * "truncated"?}: every child is counted; entries stop at GRAPH_RESULT_MAX. */
static char *group_result(struct sw_sched *s, const struct sw_task *p, uint64_t *first_bad)
{
    const struct sw_task_links *l = p->links;
    size_t count[SW_TASK_NSTATES] = {0};
    *first_bad = 0;
    for (size_t i = 0; i < l->nchildren; i++) {
        struct sw_task *c = sw_map_get(&s->tasks, l->children[i]);
        enum sw_task_state st = c ? child_end_state(c) : SW_TASK_CANCELLED;
        count[st]++;
        if (*first_bad == 0 && st != SW_TASK_SUCCEEDED && c && sw_task_state_terminal(c->state))
            *first_bad = c->id;
    }
    struct sw_buf out, entry;
    sw_buf_init(&out, GRAPH_RESULT_MAX + 256);
    sw_buf_init(&entry, GRAPH_RESULT_MAX);
    int rc = sw_buf_appendf(&out,
                            "{\"fan_in\":\"%s\",\"succeeded\":%zu,\"failed\":%zu,\"cancelled\":%zu,"
                            "\"children\":[",
                            sw_fan_in_name(p->fan_in), count[SW_TASK_SUCCEEDED],
                            count[SW_TASK_FAILED], count[SW_TASK_CANCELLED]);
    int truncated = 0;
    for (size_t i = 0; rc == 0 && i < l->nchildren; i++) {
        struct sw_task *c = sw_map_get(&s->tasks, l->children[i]);
        sw_buf_reset(&entry);
        if (c == NULL)
            continue;
        if (render_child(c, &entry) || out.len + entry.len + 1 > GRAPH_RESULT_MAX) {
            truncated = 1;
            break;
        }
        rc = sw_buf_appendstr(&out, i ? "," : "");
        rc = rc ? rc : sw_buf_append(&out, entry.data, entry.len);
    }
    rc = rc ? rc : sw_buf_appendstr(&out, truncated ? "],\"truncated\":true}" : "]}");
    sw_buf_free(&entry);
    if (rc) {
        sw_buf_free(&out);
        return NULL;
    }
    return sw_buf_detach(&out, NULL);
}

static char *group_error(const struct sw_task *p, uint64_t first_bad)
{
    const struct sw_task_links *l = p->links;
    char id[SW_ID_STRLEN], message[160], *error = sw_malloc(320);
    sw_id_format('t', first_bad, id);
    if (p->fan_in == SW_FAN_IN_ALL)
        snprintf(message, sizeof message, "%zu of %zu children did not succeed (fan_in all)",
                 l->failed, l->nchildren);
    else if (p->fan_in == SW_FAN_IN_ANY)
        snprintf(message, sizeof message, "none of %zu children succeeded (fan_in any)",
                 l->nchildren);
    else
        snprintf(message, sizeof message,
                 "quorum %d can no longer be reached: %zu of %zu children did not succeed",
                 p->quorum, l->failed, l->nchildren);
    if (error)
        snprintf(error, 320, "{\"code\":\"children_failed\",\"message\":\"%s\",\"task\":%s%s%s}",
                 message, first_bad ? "\"" : "", first_bad ? id : "null", first_bad ? "\"" : "");
    return error;
}

/* Ends a waiting parent whose children's counts decide it. Its unfinished children are
 * cancelled when the parent is taken from the worklist. */
static void group_decide(struct sw_sched *s, struct sw_task *p, int64_t now)
{
    struct sw_task_links *l = p->links;
    if (p->state != SW_TASK_WAITING || l == NULL)
        return;
    enum sw_fan_in_decision d =
        sw_graph_fan_in_decide(p->fan_in, p->quorum, l->nchildren, l->succeeded, l->failed);
    if (d == SW_FAN_IN_WAIT)
        return;
    uint64_t first_bad;
    struct group_end e = {d, now, group_result(s, p, &first_bad), NULL};
    if (d == SW_FAN_IN_FAIL)
        e.error = group_error(p, first_bad);
    sw__sched_move(s, p, apply_group_end, &e, now);
    sw_free(e.result);
    sw_free(e.error);
    sw__sched_event(s, p, d == SW_FAN_IN_SUCCEED ? SW_TASK_EV_SUCCEEDED : SW_TASK_EV_DEAD);
}

/* ---- what an end implies ---- */

static void resolve_dependents(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    struct sw_task_links *l = t->links;
    uint64_t *ids = l->dependents;
    size_t n = l->ndependents;
    l->dependents = NULL;
    l->ndependents = l->dependents_cap = 0;
    for (size_t i = 0; i < n; i++) {
        struct sw_task *b = sw_map_get(&s->tasks, ids[i]);
        if (b == NULL || !b->blocked || b->links == NULL)
            continue;
        if (t->state == SW_TASK_SUCCEEDED) {
            if (b->links->deps_pending > 0 && --b->links->deps_pending == 0)
                release(s, b, now);
        } else if (t->state == SW_TASK_FAILED) {
            fail_dependency(s, b, t->id, "failed", now);
        } else {
            cancel_for(s, b, t->id, "was cancelled", now);
        }
    }
    sw_free(ids);
}

static void cancel_children(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    const char *why = t->state == SW_TASK_CANCELLED ? "was cancelled"
                                                    : "no longer needs it: its fan-in is decided";
    for (size_t i = 0; i < t->links->nchildren; i++) {
        struct sw_task *c = sw_map_get(&s->tasks, t->links->children[i]);
        if (c)
            cancel_for(s, c, t->id, why, now);
    }
}

/* The parent is decided: its finished children may leave memory again. */
static void unpin_children(struct sw_sched *s, struct sw_task *t)
{
    for (size_t i = 0; i < t->links->nchildren; i++) {
        struct sw_task *c = sw_map_get(&s->tasks, t->links->children[i]);
        if (c == NULL || !c->pinned)
            continue;
        if (sw_task_state_terminal(c->state))
            sw__sched_reattach(s, c, apply_pinned, NULL);
        else
            c->pinned = 0;
    }
}

static void graph_process(struct sw_sched *s, struct sw_task *t, int64_t now)
{
    if (t->state == SW_TASK_WAITING) {
        group_decide(s, t, now);
        return;
    }
    if (!sw_task_state_terminal(t->state))
        return;
    if (t->pinned) {
        struct sw_task *p = sw_map_get(&s->tasks, t->parent);
        if (p)
            group_decide(s, p, now);
    }
    if (t->links == NULL)
        return;
    resolve_dependents(s, t, now);
    if (t->state == SW_TASK_CANCELLED || t->fan_in)
        cancel_children(s, t, now);
    if (t->fan_in)
        unpin_children(s, t);
}

void sw__graph_moved(struct sw_sched *s, struct sw_task *t, enum sw_task_state from, int64_t now)
{
    int was_end = sw_task_state_terminal(from), is_end = sw_task_state_terminal(t->state);
    if (was_end == is_end)
        return;
    if (t->pinned) {
        struct sw_task *p = sw_map_get(&s->tasks, t->parent);
        if (p && p->state == SW_TASK_WAITING && p->links) {
            enum sw_task_state st = is_end ? t->state : from;
            size_t *count = st == SW_TASK_SUCCEEDED ? &p->links->succeeded : &p->links->failed;
            if (is_end)
                (*count)++;
            else if (*count > 0)
                (*count)--;
        }
    }
    if (is_end && (t->pinned || t->links))
        enqueue(s, t, now);
}

void sw__graph_settle(struct sw_sched *s)
{
    if (s->graph.draining)
        return;
    s->graph.draining = 1;
    struct sw_task *t;
    while ((t = s->graph.head) != NULL) {
        s->graph.head = t->graph_next;
        if (s->graph.head == NULL)
            s->graph.tail = NULL;
        t->graph_next = NULL;
        t->graph_queued = 0;
        graph_process(s, t, s->graph.now);
    }
    s->graph.draining = 0;
}

/* ---- recovery ---- */

static int by_id(const void *a, const void *b)
{
    uint64_t x = (*(struct sw_task *const *)a)->id, y = (*(struct sw_task *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Children of parents in memory, in id order: listed again; those of a waiting parent
 * are pinned and counted. */
static void recover_children(struct sw_sched *s, struct sw_task **kids, size_t n)
{
    qsort(kids, n, sizeof *kids, by_id);
    for (size_t i = 0; i < n; i++) {
        struct sw_task *c = kids[i], *p = sw_map_get(&s->tasks, c->parent);
        if (reserve_child(p))
            continue;
        p->links->children[p->links->nchildren++] = c->id;
        if (!p->fan_in || p->state != SW_TASK_WAITING)
            continue;
        if (!sw_task_state_terminal(c->state)) {
            c->pinned = 1;
            continue;
        }
        sw__sched_reattach(s, c, apply_pinned, c);
        if (c->state == SW_TASK_SUCCEEDED)
            p->links->succeeded++;
        else
            p->links->failed++;
    }
}

/* A task restored as blocked: waits for its unfinished dependencies again, fails if one
 * did not succeed (or is gone), or goes back to its delay if they all succeeded. */
static void recover_blocked(struct sw_sched *s, struct sw_task *b, int64_t now)
{
    size_t pending = 0;
    for (size_t i = 0; i < b->nafter; i++) {
        struct sw_task *d = sw_map_get(&s->tasks, b->after[i]);
        if (d == NULL || (sw_task_state_terminal(d->state) && d->state != SW_TASK_SUCCEEDED)) {
            fail_dependency(s, b, b->after[i],
                            d == NULL                       ? "is no longer known"
                            : d->state == SW_TASK_CANCELLED ? "was cancelled"
                                                            : "failed",
                            now);
            return;
        }
        pending += d->state != SW_TASK_SUCCEEDED;
    }
    if (pending == 0 || links_of(b) == NULL) {
        sw__sched_reattach(s, b, apply_unblock, NULL);
        return;
    }
    for (size_t i = 0; i < b->nafter; i++) {
        struct sw_task *d = sw_map_get(&s->tasks, b->after[i]);
        if (d->state != SW_TASK_SUCCEEDED && reserve_dependent(d) == 0)
            d->links->dependents[d->links->ndependents++] = b->id;
    }
    b->links->deps_pending = pending;
}

void sw__graph_recover(struct sw_sched *s, int64_t now)
{
    size_t pos = 0, nkids = 0, nblocked = 0;
    void *value;
    while (sw_map_next(&s->tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        nkids += t->parent && sw_map_get(&s->tasks, t->parent);
        nblocked += t->blocked;
    }
    struct sw_task **kids = sw_calloc(nkids + 1, sizeof *kids);
    struct sw_task **blocked = sw_calloc(nblocked + 1, sizeof *blocked);
    if (kids == NULL || blocked == NULL) {
        sw_free(kids);
        sw_free(blocked);
        return;
    }
    size_t k = 0, b = 0;
    pos = 0;
    while (sw_map_next(&s->tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        if (t->parent && sw_map_get(&s->tasks, t->parent))
            kids[k++] = t;
        if (t->blocked)
            blocked[b++] = t;
    }
    recover_children(s, kids, k);
    for (size_t i = 0; i < b; i++)
        recover_blocked(s, blocked[i], now);
    pos = 0;
    while (sw_map_next(&s->tasks, &pos, NULL, &value)) {
        struct sw_task *t = value;
        if (t->state == SW_TASK_WAITING)
            enqueue(s, t, now);
    }
    sw_free(kids);
    sw_free(blocked);
    sw__graph_settle(s);
}
