/* SPDX-License-Identifier: MIT
 * registry.c - the capability registry: version matching, the per-capability windows
 * of recent attempts, the views of who provides what (computed from the live state at
 * each call), discovery with label selectors, and the order the router picks in. */
#include "registry.h"
#include "core/alloc.h"
#include "core/error.h"
#include "route.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and versions ---- */

void sw_capability_split(const char *name, size_t *base_len, int *version)
{
    const char *at = strchr(name, '@');
    *base_len = at ? (size_t)(at - name) : strlen(name);
    *version = at ? atoi(at + 1) : 0;
}

/* A request split once, to test many providers against it. */
struct cap_request {
    const char *name;
    size_t base_len;
    int version;
    int versioned;
};

static void request_init(struct cap_request *q, const char *requested)
{
    q->name = requested;
    sw_capability_split(requested, &q->base_len, &q->version);
    q->versioned = requested[q->base_len] == '@';
}

/* Most providers differ from the request in their first bytes: they are refused
 * before any parsing. */
static int request_served_by(const struct cap_request *q, const char *provided, int *version)
{
    if (strncmp(provided, q->name, q->base_len) != 0)
        return 0;
    char next = provided[q->base_len];
    if (next != '\0' && next != '@')
        return 0;
    int pver = next ? atoi(provided + q->base_len + 1) : 0;
    if (q->versioned && pver != q->version)
        return 0;
    *version = pver;
    return 1;
}

int sw_capability_serves(const char *provided, const char *requested, int *version)
{
    struct cap_request q;
    request_init(&q, requested);
    return request_served_by(&q, provided, version);
}

/* ---- statistics ---- */

static size_t run_bucket(int64_t ms)
{
    if (ms < SW_CAP_EXACT_MS)
        return ms < 0 ? 0 : (size_t)ms;
    int octave = 63 - __builtin_clzll((unsigned long long)ms);
    if (octave > SW_CAP_MAX_OCTAVE)
        return SW_CAP_BUCKETS - 1;
    size_t sub = (size_t)(ms >> (octave - 3)) & (SW_CAP_SUBBUCKETS - 1);
    return SW_CAP_EXACT_MS + (size_t)(octave - 4) * SW_CAP_SUBBUCKETS + sub;
}

/* The value a bucket stands for: its middle. */
static int64_t bucket_value(size_t bucket)
{
    if (bucket < SW_CAP_EXACT_MS)
        return (int64_t)bucket;
    size_t octave = 4 + (bucket - SW_CAP_EXACT_MS) / SW_CAP_SUBBUCKETS;
    size_t sub = (bucket - SW_CAP_EXACT_MS) % SW_CAP_SUBBUCKETS;
    int64_t width = (int64_t)1 << (octave - 3);
    return (int64_t)(SW_CAP_SUBBUCKETS + sub) * width + width / 2;
}

void sw_registry_init(struct sw_registry *r)
{
    sw_strmap_init(&r->stats);
}

static void stats_free(struct sw_cap_stats *st)
{
    sw_free(st->slots);
    sw_free(st->name);
    sw_free(st);
}

void sw_registry_free(struct sw_registry *r)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&r->stats, &pos, NULL, &value))
        stats_free(value);
    sw_strmap_free(&r->stats);
}

static int slot_in_window(const struct sw_cap_slot *slot, int64_t now)
{
    int64_t period = now / SW_CAP_SLOT_MS;
    return slot->period <= period && slot->period > period - SW_CAP_SLOTS;
}

static int window_empty(const struct sw_cap_stats *st, int64_t now)
{
    for (size_t i = 0; st->slots && i < SW_CAP_SLOTS; i++)
        if (slot_in_window(&st->slots[i], now) && (st->slots[i].succeeded || st->slots[i].failed))
            return 0;
    return 1;
}

/* At the limit: gives up the name whose window is empty and that ended last the
 * longest ago. 0 or SW_ELIMIT. */
static int evict_one(struct sw_registry *r, int64_t now)
{
    size_t pos = 0;
    void *value;
    struct sw_cap_stats *oldest = NULL;
    while (sw_strmap_next(&r->stats, &pos, NULL, &value)) {
        struct sw_cap_stats *st = value;
        if (window_empty(st, now) && (oldest == NULL || st->last_at < oldest->last_at))
            oldest = st;
    }
    if (oldest == NULL)
        return SW_ELIMIT;
    sw_strmap_del(&r->stats, oldest->name);
    stats_free(oldest);
    return 0;
}

static int stats_get_or_add(struct sw_registry *r, const char *name, int64_t now,
                            struct sw_cap_stats **out)
{
    struct sw_cap_stats *st = sw_strmap_get(&r->stats, name);
    int rc;
    if (st == NULL) {
        if (r->stats.count >= SW_REGISTRY_NAMES && (rc = evict_one(r, now)))
            return rc;
        if ((st = sw_calloc(1, sizeof *st)) == NULL || (st->name = sw_strdup(name)) == NULL ||
            sw_strmap_put(&r->stats, st->name, st)) {
            if (st)
                sw_free(st->name);
            sw_free(st);
            return SW_ENOMEM;
        }
    }
    if (st->slots == NULL && (st->slots = sw_calloc(SW_CAP_SLOTS, sizeof *st->slots)) == NULL)
        return SW_ENOMEM;
    *out = st;
    return 0;
}

int sw_registry_record(struct sw_registry *r, const char *capability, int ok, int64_t run_ms,
                       int64_t now)
{
    struct sw_cap_stats *st;
    int rc = stats_get_or_add(r, capability, now, &st);
    if (rc)
        return rc;
    int64_t period = now / SW_CAP_SLOT_MS;
    struct sw_cap_slot *slot = &st->slots[period % SW_CAP_SLOTS];
    if (slot->period != period) {
        memset(slot, 0, sizeof *slot);
        slot->period = period;
    }
    if (ok) {
        slot->succeeded++;
        slot->runs[run_bucket(run_ms)]++;
        st->succeeded_total++;
    } else {
        slot->failed++;
        st->failed_total++;
    }
    if (now > st->last_at)
        st->last_at = now;
    return 0;
}

void sw_registry_task_event(struct sw_registry *r, const struct sw_task *t, enum sw_task_event ev,
                            int64_t now)
{
    if (t->capability == NULL || t->started_at <= 0)
        return; /* never ran (a dependency failed, cancelled while queued...) */
    if (ev == SW_TASK_EV_SUCCEEDED) {
        int64_t end = t->finished_at > 0 ? t->finished_at : now;
        sw_registry_record(r, t->capability, 1, end - t->started_at, now);
    } else if (ev == SW_TASK_EV_ATTEMPT_FAILED || ev == SW_TASK_EV_DEAD) {
        sw_registry_record(r, t->capability, 0, 0, now);
    }
}

const struct sw_cap_stats *sw_registry_stats(const struct sw_registry *r, const char *name)
{
    return sw_strmap_get(&r->stats, name);
}

void sw_cap_window_add(struct sw_cap_window *w, const struct sw_cap_stats *st, int64_t now)
{
    for (size_t i = 0; st && st->slots && i < SW_CAP_SLOTS; i++) {
        const struct sw_cap_slot *slot = &st->slots[i];
        if (!slot_in_window(slot, now))
            continue;
        w->succeeded += slot->succeeded;
        w->failed += slot->failed;
        for (size_t b = 0; slot->succeeded && b < SW_CAP_BUCKETS; b++)
            w->runs[b] += slot->runs[b];
    }
}

int64_t sw_cap_window_quantile(const struct sw_cap_window *w, double q)
{
    uint64_t total = 0, seen = 0;
    for (size_t b = 0; b < SW_CAP_BUCKETS; b++)
        total += w->runs[b];
    if (total == 0)
        return -1;
    double want = q * (double)total;
    uint64_t rank = (uint64_t)want;
    rank += (double)rank < want || rank == 0; /* the smallest rank covering q */
    for (size_t b = 0; b < SW_CAP_BUCKETS; b++) {
        seen += w->runs[b];
        if (seen >= rank)
            return bucket_value(b);
    }
    return bucket_value(SW_CAP_BUCKETS - 1);
}

/* Frees the slots of windows that emptied (a list is a good moment). */
static void stats_sweep(struct sw_registry *r, int64_t now)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&r->stats, &pos, NULL, &value)) {
        struct sw_cap_stats *st = value;
        if (st->slots && window_empty(st, now)) {
            sw_free(st->slots);
            st->slots = NULL;
        }
    }
}

/* ---- building the views ---- */

static const struct sw_template *swarm_template(const struct sw_registry_view *v,
                                                const struct sw_swarm *sw)
{
    if (sw->inline_template)
        return sw->inline_template;
    return sw->template_name ? sw_strmap_get(v->templates, sw->template_name) : NULL;
}

static void entry_init(struct sw_cap_entry *e, const char *name)
{
    size_t base_len;
    memset(e, 0, sizeof *e);
    e->name = name;
    sw_capability_split(name, &base_len, &e->version);
    e->p50_ms = e->p95_ms = -1;
    sw_strmap_init(&e->swarm_set);
}

void sw_cap_entry_free(struct sw_cap_entry *e)
{
    sw_free(e->swarms);
    sw_strmap_free(&e->swarm_set);
    e->swarms = NULL;
    e->nswarms = 0;
}

void sw_cap_list_free(struct sw_cap_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        sw_cap_entry_free(&l->entries[i]);
    sw_free(l->entries);
    sw_strmap_free(&l->index);
    memset(l, 0, sizeof *l);
}

static struct sw_cap_entry *list_find(struct sw_cap_list *l, const char *name)
{
    uintptr_t at = (uintptr_t)sw_strmap_get(&l->index, name);
    return at ? &l->entries[at - 1] : NULL;
}

/* Adds an entry for name unless there is one (or the filter refuses it). */
static int list_add(struct sw_cap_list *l, const char *name, const char *filter)
{
    int version;
    if (list_find(l, name) || (filter && !sw_capability_serves(name, filter, &version)))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sw_cap_entry *grown = sw_realloc(l->entries, cap * sizeof *grown);
        if (grown == NULL)
            return SW_ENOMEM;
        l->entries = grown;
        l->cap = cap;
        /* the swarm sets moved with their entries: nothing points into them */
    }
    entry_init(&l->entries[l->n], name);
    if (sw_strmap_put(&l->index, name, (void *)(uintptr_t)(l->n + 1)))
        return SW_ENOMEM;
    l->n++;
    return 0;
}

static int live_tasks(const struct sw_queue *q)
{
    return q->count[SW_TASK_QUEUED] + q->count[SW_TASK_SCHEDULED] + q->count[SW_TASK_RUNNING] > 0;
}

/* Collects the names: every name an agent, a swarm's template, a queue with live
 * tasks or the statistics know, that the filter (a request; NULL: all) matches. */
static int collect_names(struct sw_registry *r, const struct sw_registry_view *v,
                         const char *filter, struct sw_cap_list *l)
{
    size_t pos = 0;
    const char *key;
    void *value;
    int rc = 0;
    while (rc == 0 && sw_map_next(&v->sched->agents, &pos, NULL, &value)) {
        const struct sw_agent *a = value;
        for (size_t i = 0; rc == 0 && i < a->ncapabilities; i++)
            rc = list_add(l, a->capabilities[i], filter);
    }
    pos = 0;
    while (rc == 0 && sw_strmap_next(v->swarms, &pos, &key, &value)) {
        const struct sw_template *t = swarm_template(v, value);
        for (size_t i = 0; rc == 0 && t && i < t->ncapabilities; i++)
            rc = list_add(l, t->capabilities[i], filter);
    }
    pos = 0;
    while (rc == 0 && sw_strmap_next(&v->sched->queues, &pos, &key, &value))
        if (live_tasks(value))
            rc = list_add(l, key, filter);
    pos = 0;
    while (rc == 0 && sw_strmap_next(&r->stats, &pos, &key, &value))
        rc = list_add(l, key, filter);
    return rc;
}

static void count_agent(struct sw_cap_counts *c, const struct sw_agent *a)
{
    c->total++;
    c->ready += a->state == SW_AGENT_READY;
    c->busy += a->state == SW_AGENT_BUSY;
}

static int entry_add_swarm(struct sw_cap_entry *e, const char *swarm)
{
    if (sw_strmap_get(&e->swarm_set, swarm))
        return 0;
    return sw_strmap_put(&e->swarm_set, swarm, (void *)swarm);
}

/* 1 if a lists name before position i (a duplicate is counted once). */
static int listed_before(char *const *caps, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(caps[k], caps[i]) == 0)
            return 1;
    return 0;
}

/* Credits each agent to the entries of its names, and to total once (every entry
 * matches the request then). Its swarm, when defined, provides those names too. */
static int credit_agents(const struct sw_registry_view *v, struct sw_cap_list *l,
                         struct sw_cap_entry *total)
{
    size_t pos = 0;
    void *value;
    int rc = 0;
    while (rc == 0 && sw_map_next(&v->sched->agents, &pos, NULL, &value)) {
        const struct sw_agent *a = value;
        const char *swarm = a->swarm && sw_strmap_get(v->swarms, a->swarm) ? a->swarm : NULL;
        int matched = 0;
        for (size_t i = 0; rc == 0 && i < a->ncapabilities; i++) {
            struct sw_cap_entry *e = list_find(l, a->capabilities[i]);
            if (e == NULL || listed_before(a->capabilities, i))
                continue;
            count_agent(&e->agents, a);
            rc = swarm ? entry_add_swarm(e, swarm) : 0;
            matched = 1;
        }
        if (rc == 0 && matched && total) {
            count_agent(&total->agents, a);
            rc = swarm ? entry_add_swarm(total, swarm) : 0;
        }
    }
    return rc;
}

static int credit_swarms(const struct sw_registry_view *v, struct sw_cap_list *l,
                         struct sw_cap_entry *total)
{
    size_t pos = 0;
    const char *key;
    void *value;
    int rc = 0;
    while (rc == 0 && sw_strmap_next(v->swarms, &pos, &key, &value)) {
        const struct sw_template *t = swarm_template(v, value);
        for (size_t i = 0; rc == 0 && t && i < t->ncapabilities; i++) {
            struct sw_cap_entry *e = list_find(l, t->capabilities[i]);
            rc = e ? entry_add_swarm(e, key) : 0;
            rc = rc == 0 && e && total ? entry_add_swarm(total, key) : rc;
        }
    }
    return rc;
}

static void add_queue(struct sw_cap_entry *e, const struct sw_queue *q)
{
    e->queued += q->count[SW_TASK_QUEUED];
    e->scheduled += q->count[SW_TASK_SCHEDULED];
    e->running += q->count[SW_TASK_RUNNING];
}

static void set_window(struct sw_cap_entry *e, const struct sw_cap_window *w)
{
    e->succeeded = w->succeeded;
    e->failed = w->failed;
    e->p50_ms = sw_cap_window_quantile(w, 0.50);
    e->p95_ms = sw_cap_window_quantile(w, 0.95);
}

/* Queue counts and statistics of each entry, added into total as well. */
static int fill_tasks(struct sw_registry *r, const struct sw_registry_view *v,
                      struct sw_cap_list *l, struct sw_cap_entry *total, int64_t now)
{
    struct sw_cap_window *sum = total ? sw_calloc(1, sizeof *sum) : NULL;
    struct sw_cap_window *one = sw_malloc(sizeof *one);
    if (one == NULL || (total && sum == NULL)) {
        sw_free(sum);
        sw_free(one);
        return SW_ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++) {
        struct sw_cap_entry *e = &l->entries[i];
        const struct sw_queue *q = sw_strmap_get(&v->sched->queues, e->name);
        const struct sw_cap_stats *st = sw_registry_stats(r, e->name);
        if (q)
            add_queue(e, q);
        if (q && total)
            add_queue(total, q);
        memset(one, 0, sizeof *one);
        sw_cap_window_add(one, st, now);
        set_window(e, one);
        if (sum)
            sw_cap_window_add(sum, st, now);
    }
    if (total)
        set_window(total, sum);
    sw_free(sum);
    sw_free(one);
    return 0;
}

static int name_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The swarm set of an entry as a sorted array. */
static int entry_finish(struct sw_cap_entry *e)
{
    size_t pos = 0;
    const char *key;
    if (e->swarm_set.count == 0)
        return 0;
    if ((e->swarms = sw_calloc(e->swarm_set.count, sizeof *e->swarms)) == NULL)
        return SW_ENOMEM;
    while (sw_strmap_next(&e->swarm_set, &pos, &key, NULL))
        e->swarms[e->nswarms++] = key;
    qsort(e->swarms, e->nswarms, sizeof *e->swarms, name_cmp);
    return 0;
}

static int entry_by_name_cmp(const void *x, const void *y)
{
    const struct sw_cap_entry *a = x, *b = y;
    size_t alen, blen;
    int aver, bver;
    sw_capability_split(a->name, &alen, &aver);
    sw_capability_split(b->name, &blen, &bver);
    int c = strncmp(a->name, b->name, alen < blen ? alen : blen);
    if (c == 0 && alen != blen)
        c = alen < blen ? -1 : 1;
    if (c == 0)
        c = aver < bver ? -1 : aver > bver;
    return c ? c : strcmp(a->name, b->name);
}

static int entry_by_version_desc_cmp(const void *x, const void *y)
{
    const struct sw_cap_entry *a = x, *b = y;
    if (a->version != b->version)
        return a->version > b->version ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Builds the entries of the names filter matches (all for NULL), and their total. */
static int build(struct sw_registry *r, const struct sw_registry_view *v, const char *filter,
                 int64_t now, struct sw_cap_entry *total, struct sw_cap_list *out)
{
    memset(out, 0, sizeof *out);
    stats_sweep(r, now);
    int rc = collect_names(r, v, filter, out);
    rc = rc ? rc : credit_agents(v, out, total);
    rc = rc ? rc : credit_swarms(v, out, total);
    rc = rc ? rc : fill_tasks(r, v, out, total, now);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        rc = entry_finish(&out->entries[i]);
    rc = rc == 0 && total ? entry_finish(total) : rc;
    /* sorting moves the entries: the index no longer holds, and is not needed */
    sw_strmap_free(&out->index);
    if (rc)
        sw_cap_list_free(out);
    return rc;
}

int sw_registry_list(struct sw_registry *r, const struct sw_registry_view *v, int64_t now,
                     struct sw_cap_list *out)
{
    int rc = build(r, v, NULL, now, NULL, out);
    if (rc == 0 && out->n > 1)
        qsort(out->entries, out->n, sizeof *out->entries, entry_by_name_cmp);
    return rc;
}

int sw_registry_describe(struct sw_registry *r, const struct sw_registry_view *v, const char *name,
                         int64_t now, struct sw_cap_entry *total, struct sw_cap_list *out)
{
    entry_init(total, name);
    int rc = build(r, v, name, now, total, out);
    if (rc == 0 && out->n == 0)
        rc = SW_ENOT_FOUND;
    if (rc) {
        sw_cap_entry_free(total);
        sw_cap_list_free(out);
        return rc;
    }
    if (out->n > 1)
        qsort(out->entries, out->n, sizeof *out->entries, entry_by_version_desc_cmp);
    return 0;
}

/* ---- label selectors ---- */

void sw_selector_free(struct sw_selector *sel)
{
    for (size_t i = 0; i < sel->n; i++) {
        sw_free(sel->keys[i]);
        sw_free(sel->values[i]);
    }
    sel->n = 0;
}

int sw_selector_parse(const char *text, const char *field, struct sw_selector *out,
                      struct sw_field_error *err)
{
    memset(out, 0, sizeof *out);
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (eq == NULL || eq == p) {
            sw_selector_free(out);
            return sw_field_fail(err, SW_EBAD_QUERY, field,
                                 "%s must be key=value pairs separated by commas, like "
                                 "gpu=true,zone=a",
                                 field);
        }
        if ((size_t)(eq - p) > SW_SELECTOR_KEYLEN || out->n == SW_SELECTOR_MAX) {
            sw_selector_free(out);
            return sw_field_fail(err, SW_EBAD_QUERY, field,
                                 "%s holds at most %d pairs with keys of at most %d bytes", field,
                                 SW_SELECTOR_MAX, SW_SELECTOR_KEYLEN);
        }
        out->keys[out->n] = sw_strndup(p, (size_t)(eq - p));
        out->values[out->n] = sw_strndup(eq + 1, len - (size_t)(eq - p) - 1);
        if (out->keys[out->n++] == NULL || out->values[out->n - 1] == NULL) {
            sw_selector_free(out);
            return SW_ENOMEM;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

static json_t *labels_load(const char *text)
{
    return text ? json_loads(text, 0, NULL) : NULL;
}

int sw_selector_matches(const struct sw_selector *sel, const char *labels, const char *fallback)
{
    if (sel == NULL || sel->n == 0)
        return 1;
    json_t *own = labels_load(labels), *other = labels_load(fallback);
    int ok = 1;
    for (size_t i = 0; ok && i < sel->n; i++) {
        json_t *value = json_object_get(own, sel->keys[i]);
        if (value == NULL)
            value = json_object_get(other, sel->keys[i]);
        ok = json_is_string(value) && strcmp(json_string_value(value), sel->values[i]) == 0;
    }
    json_decref(own);
    json_decref(other);
    return ok;
}

/* ---- discovery ---- */

int sw_registry_distance(const struct sw_registry_view *v, const char *from, const char *to)
{
    if (from == NULL || (to && strcmp(from, to) == 0))
        return 0;
    if (to == NULL)
        return 1; /* an agent of no swarm: beside the tree */
    struct sw_route r;
    int rc = sw_route_find(v->swarms, from, to, &r);
    return rc && rc != SW_EROUTE_FORBIDDEN ? SW_ROUTE_MAX : (int)sw_route_hops(&r);
}

int sw_registry_swarm_known(const struct sw_registry_view *v, const char *name)
{
    if (sw_strmap_get(v->swarms, name))
        return 1;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&v->sched->agents, &pos, NULL, &value)) {
        const struct sw_agent *a = value;
        if (a->swarm && strcmp(a->swarm, name) == 0)
            return 1;
    }
    return 0;
}

/* The highest version among caps that serves the request; NULL when none does. */
static const char *best_match(char *const *caps, size_t n, const struct cap_request *request,
                              int *version)
{
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        int ver;
        if (request_served_by(request, caps[i], &ver) && (best == NULL || ver > *version)) {
            best = caps[i];
            *version = ver;
        }
    }
    return best;
}

/* Every swarm, with its template's best match to the request (a member agent may
 * provide it still: the selector and the match are checked once agents are seen).
 * index: name -> position + 1. */
static int discover_swarms(const struct sw_registry_view *v, const struct cap_request *request,
                           const char *from, struct sw_discovery *d, struct sw_strmap *index)
{
    size_t pos = 0;
    const char *key;
    void *value;
    if ((d->swarms = sw_calloc(v->swarms->count + 1, sizeof *d->swarms)) == NULL)
        return SW_ENOMEM;
    while (sw_strmap_next(v->swarms, &pos, &key, &value)) {
        const struct sw_template *t = swarm_template(v, value);
        struct sw_discover_swarm *ds = &d->swarms[d->nswarms];
        ds->swarm = value;
        ds->distance = sw_registry_distance(v, from, key);
        if (t)
            ds->capability = best_match(t->capabilities, t->ncapabilities, request, &ds->version);
        if (sw_strmap_put(index, key, (void *)(uintptr_t)++d->nswarms))
            return SW_ENOMEM;
    }
    return 0;
}

static int discover_agents(const struct sw_registry_view *v, const struct cap_request *request,
                           const struct sw_selector *sel, const char *from, struct sw_discovery *d,
                           const struct sw_strmap *index)
{
    size_t pos = 0, room = 0;
    void *value;
    while (sw_map_next(&v->sched->agents, &pos, NULL, &value)) {
        const struct sw_agent *a = value;
        int version = 0;
        const char *cap = best_match(a->capabilities, a->ncapabilities, request, &version);
        if (cap == NULL)
            continue;
        uintptr_t at = a->swarm ? (uintptr_t)sw_strmap_get(index, a->swarm) : 0;
        struct sw_discover_swarm *ds = at ? &d->swarms[at - 1] : NULL;
        if (ds) {
            count_agent(&ds->agents, a);
            if (ds->capability == NULL || version > ds->version) {
                ds->capability = cap;
                ds->version = version;
            }
        }
        if (!sw_selector_matches(sel, a->labels, ds ? ds->swarm->labels : NULL))
            continue;
        if (d->nagents == room) { /* grown as found: providers are few next to agents */
            room = room ? room * 2 : 64;
            struct sw_discover_agent *grown = sw_realloc(d->agents, room * sizeof *grown);
            if (grown == NULL)
                return SW_ENOMEM;
            d->agents = grown;
        }
        struct sw_discover_agent *da = &d->agents[d->nagents++];
        da->agent = a;
        da->capability = cap;
        da->version = version;
        da->free_slots = sw_agent_running(a) && a->slots > a->running ? a->slots - a->running : 0;
        da->distance = sw_registry_distance(v, from, a->swarm);
    }
    return 0;
}

/* Keeps the swarms that provide the request and pass the selector. */
static void keep_swarms(const struct sw_registry_view *v, const struct sw_selector *sel,
                        struct sw_discovery *d)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->nswarms; i++) {
        const struct sw_discover_swarm *ds = &d->swarms[i];
        const struct sw_template *t = swarm_template(v, ds->swarm);
        if (ds->capability && sw_selector_matches(sel, ds->swarm->labels, t ? t->labels : NULL))
            d->swarms[kept++] = *ds;
    }
    d->nswarms = kept;
}

int sw_registry_discover(const struct sw_registry_view *v, const char *capability,
                         const struct sw_selector *sel, const char *from, struct sw_discovery *out)
{
    struct sw_strmap index;
    struct cap_request request;
    request_init(&request, capability);
    sw_strmap_init(&index);
    memset(out, 0, sizeof *out);
    int rc = discover_swarms(v, &request, from, out, &index);
    rc = rc ? rc : discover_agents(v, &request, sel, from, out, &index);
    sw_strmap_free(&index);
    if (rc) {
        sw_discovery_free(out);
        return rc;
    }
    keep_swarms(v, sel, out);
    sw_registry_order(out);
    return 0;
}

void sw_discovery_free(struct sw_discovery *d)
{
    sw_free(d->agents);
    sw_free(d->swarms);
    memset(d, 0, sizeof *d);
}

/* ready 0, busy 1, any other state 2; an open breaker takes no task now: 2 too (it
 * still counts as a provider: a task routed to it waits) */
static int availability(const struct sw_agent *a)
{
    if (a->breaker.state == SW_BREAKER_OPEN)
        return 2;
    return a->state == SW_AGENT_READY ? 0 : a->state == SW_AGENT_BUSY ? 1 : 2;
}

static int agent_order_cmp(const void *x, const void *y)
{
    const struct sw_discover_agent *a = x, *b = y;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    int aa = availability(a->agent), ab = availability(b->agent);
    if (aa != ab)
        return aa < ab ? -1 : 1;
    if (a->version != b->version)
        return a->version > b->version ? -1 : 1;
    if (a->free_slots != b->free_slots)
        return a->free_slots > b->free_slots ? -1 : 1;
    return strcmp(a->agent->name, b->agent->name);
}

static int swarm_order_cmp(const void *x, const void *y)
{
    const struct sw_discover_swarm *a = x, *b = y;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    if (a->agents.busy != b->agents.busy)
        return a->agents.busy < b->agents.busy ? -1 : 1;
    if (a->version != b->version)
        return a->version > b->version ? -1 : 1;
    return strcmp(a->swarm->name, b->swarm->name);
}

void sw_registry_order(struct sw_discovery *d)
{
    if (d->nagents > 1)
        qsort(d->agents, d->nagents, sizeof *d->agents, agent_order_cmp);
    if (d->nswarms > 1)
        qsort(d->swarms, d->nswarms, sizeof *d->swarms, swarm_order_cmp);
}
