/* SPDX-License-Identifier: MIT
 * graph_api.c - task graphs over HTTP. A submit that carries children, and a batch,
 * become one plan: a flat list of new tasks (children given inline are flattened
 * without recursion) whose `after` and `parent` name a `ref` of the plan or an existing
 * task. The whole plan is checked first (fields, refs, ids, parents, quorums, cycles),
 * then created in an order where each task comes after the tasks it names, within one
 * loop turn: one commit, all or nothing. Also the tree view of a task and its
 * descendants, and the recovery step that reads finished tasks a graph still needs. */
#include "graph_api.h"
#include "admission.h"
#include "json_in.h"
#include "routes.h"
#include "routing.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "sched/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GRAPH_MAX_TASKS    10000   /* tasks of one batch, or of one submit with its children */
#define GRAPH_MAX_DEPTH    16      /* children listed inside children */
#define GRAPH_MAX_QUORUM   1000000 /* children may still come with `parent` */
#define GRAPH_REF_MAX      64
#define TREE_DEFAULT_LIMIT 10000
#define TREE_MAX_LIMIT     100000
#define RECOVER_PAGE       1000

static const char *const graph_keys[] = {"after",  "children", "fan_in", "quorum",
                                         "parent", "ref",      NULL};

static int is_graph_key(const char *key)
{
    for (size_t i = 0; graph_keys[i]; i++)
        if (strcmp(key, graph_keys[i]) == 0)
            return 1;
    return 0;
}

static json_t *present(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

int sw_graph_api_wants(json_t *root)
{
    for (size_t i = 0; graph_keys[i]; i++)
        if (strcmp(graph_keys[i], "ref") != 0 && present(root, graph_keys[i]))
            return 1;
    return 0;
}

/* ---- the plan ---- */

/* Where an `after` entry or a `parent` points: a task of the plan or an existing one. */
struct target {
    long item;            /* index in the plan, -1 = existing */
    struct sw_task *task; /* existing: live in the scheduler (borrowed) */
};

struct item {
    json_t *obj;      /* borrowed from the body */
    char *path;       /* owned: how errors name it ("tasks[3].children[0]", "" = the body) */
    int depth;        /* children nesting */
    long parent_item; /* listed in that item's children; -1 = not */
    struct target parent;
    int has_parent;
    struct target *after; /* owned */
    size_t nafter;
    const char *ref; /* borrowed */
    int fan_in, quorum;
    struct sw_task *t;    /* owned until submitted */
    struct sw_task *task; /* the scheduler's: created, or the one its idempotency key names */
    int existing;         /* its key was used before: not created */
    size_t kids;          /* children in the plan */
};

struct plan {
    struct sw_request *req;
    struct sw_server *s;
    int64_t now;
    int batch;
    struct item *items;
    size_t n, cap;
    struct sw_strmap refs; /* ref -> index + 1 */
    struct sw_strmap keys; /* idempotency key -> index + 1 */
    size_t *order;         /* creation order */
};

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        sw_free(p->items[i].path);
        sw_free(p->items[i].after);
        sw_task_free(p->items[i].t);
    }
    sw_free(p->items);
    sw_free(p->order);
    sw_strmap_free(&p->refs);
    sw_strmap_free(&p->keys);
}

/* Answers the request with an error naming the item's field ("<path>.<field>"). */
static int plan_fail(struct plan *p, size_t k, const char *field, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int plan_fail(struct plan *p, size_t k, const char *field, int rc, const char *fmt, ...)
{
    char message[480], name[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    const char *path = p->items[k].path;
    if (*path == '\0') {
        sw_reply_error(p->req, rc, field, "%s", message);
        return rc;
    }
    snprintf(name, sizeof name, "%s%s%s", path, field ? "." : "", field ? field : "");
    sw_reply_error(p->req, rc, name, "%s: %s", path, message);
    return rc;
}

/* The request was answered with an error about one field of item k (by the plain
 * submit's parser): names the item in the field and the message. */
static void prefix_error(struct plan *p, size_t k)
{
    const char *path = p->items[k].path;
    struct sw_request *req = p->req;
    if (*path == '\0' || req->response.len == 0)
        return;
    json_t *body = json_loadb(req->response.data, req->response.len, 0, NULL);
    json_t *err = json_object_get(body, "error");
    const char *field = json_string_value(json_object_get(err, "field"));
    const char *message = json_string_value(json_object_get(err, "message"));
    struct sw_buf f, m;
    sw_buf_init(&f, 1024);
    sw_buf_init(&m, 2048);
    if (message && sw_buf_appendf(&f, "%s%s%s", path, field ? "." : "", field ? field : "") == 0 &&
        sw_buf_appendf(&m, "%s: %s", path, message) == 0) {
        json_object_set_new(err, "field", json_string(f.data));
        json_object_set_new(err, "message", json_string(m.data));
        char *text = json_dumps(body, JSON_COMPACT);
        if (text)
            sw_reply_text(req, req->status, text);
        sw_free(text);
    }
    sw_buf_free(&f);
    sw_buf_free(&m);
    json_decref(body);
}

static int plan_add(struct plan *p, json_t *obj, const char *path, int depth, long parent_item)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct item *items = sw_realloc(p->items, cap * sizeof *items);
        if (items == NULL)
            return SW_ENOMEM;
        p->items = items;
        p->cap = cap;
    }
    struct item *it = &p->items[p->n];
    memset(it, 0, sizeof *it);
    it->obj = obj;
    it->depth = depth;
    it->parent_item = parent_item;
    it->parent.item = -1;
    if ((it->path = sw_strdup(path)) == NULL)
        return SW_ENOMEM;
    p->n++;
    return 0;
}

/* ---- pass 1: each task's own fields; inline children join the plan ---- */

static int ref_valid(const char *ref)
{
    size_t len = strlen(ref);
    uint64_t id;
    if (len == 0 || len > GRAPH_REF_MAX || sw_id_parse('t', ref, &id) == 0)
        return 0;
    for (const char *c = ref; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("._:-", *c)))
            return 0;
    return 1;
}

static int parse_ref(struct plan *p, size_t k)
{
    json_t *v = present(p->items[k].obj, "ref");
    if (v == NULL)
        return 0;
    if (!p->batch && k == 0)
        return plan_fail(p, k, "ref", SW_EUNKNOWN_FIELD,
                         "ref names a task of a batch or of children; this task needs none");
    const char *ref = json_string_value(v);
    if (ref == NULL || !ref_valid(ref))
        return plan_fail(p, k, "ref", SW_EBAD_FIELD,
                         "ref must be 1 to %d characters of [A-Za-z0-9._:-], not a task id",
                         GRAPH_REF_MAX);
    uintptr_t other = (uintptr_t)sw_strmap_get(&p->refs, ref);
    if (other)
        return plan_fail(p, k, "ref", SW_EBAD_FIELD, "ref \"%s\" is also the ref of %s", ref,
                         p->items[other - 1].path);
    if (sw_strmap_put(&p->refs, ref, (void *)(uintptr_t)(k + 1)))
        return plan_fail(p, k, NULL, SW_ENOMEM, "out of memory");
    p->items[k].ref = ref;
    return 0;
}

static int parse_fan_in(struct plan *p, size_t k, int group)
{
    struct item *it = &p->items[k];
    json_t *f = present(it->obj, "fan_in");
    int64_t quorum = 0;
    it->fan_in = group ? SW_FAN_IN_ALL : SW_FAN_IN_NONE;
    if (f && (!json_is_string(f) || sw_fan_in_parse(json_string_value(f), &it->fan_in)))
        return plan_fail(p, k, "fan_in", SW_EBAD_FIELD, "fan_in must be all, any or quorum");
    if (present(it->obj, "quorum") && it->fan_in != SW_FAN_IN_QUORUM)
        return plan_fail(p, k, "quorum", SW_EBAD_FIELD, "quorum goes with \"fan_in\": \"quorum\"");
    if (it->fan_in == SW_FAN_IN_QUORUM && !present(it->obj, "quorum"))
        return plan_fail(p, k, "quorum", SW_EMISSING_FIELD,
                         "fan_in quorum needs quorum: how many successes decide it");
    if (sw_field_int(p->req, it->obj, "quorum", 1, GRAPH_MAX_QUORUM, &quorum)) {
        prefix_error(p, k);
        return SW_EBAD_FIELD;
    }
    it->quorum = (int)quorum;
    json_t *after = present(it->obj, "after");
    if (group && after && (!json_is_array(after) || json_array_size(after) > 0))
        return plan_fail(p, k, "after", SW_EBAD_FIELD,
                         "a parent with children runs nothing and waits for them: give after "
                         "to its children");
    return 0;
}

static int parse_children(struct plan *p, size_t k)
{
    json_t *children = present(p->items[k].obj, "children");
    if (children == NULL)
        return 0;
    if (!json_is_array(children))
        return plan_fail(p, k, "children", SW_EBAD_FIELD,
                         "children must be an array of task objects");
    if (p->items[k].depth >= GRAPH_MAX_DEPTH)
        return plan_fail(p, k, "children", SW_EBAD_FIELD, "children nest at most %d deep",
                         GRAPH_MAX_DEPTH);
    for (size_t j = 0; j < json_array_size(children); j++) {
        json_t *child = json_array_get(children, j);
        char field[48], path[1024];
        snprintf(field, sizeof field, "children[%zu]", j);
        if (!json_is_object(child))
            return plan_fail(p, k, field, SW_EBAD_FIELD, "%s must be a task object", field);
        if (present(child, "parent"))
            return plan_fail(p, k, field, SW_EBAD_FIELD,
                             "%s names a parent: a child's parent is the task that lists it",
                             field);
        if (p->n == GRAPH_MAX_TASKS)
            return plan_fail(p, k, "children", SW_EBAD_FIELD, "one submit creates at most %d tasks",
                             GRAPH_MAX_TASKS);
        const char *base = p->items[k].path;
        snprintf(path, sizeof path, "%s%s%s", base, *base ? "." : "", field);
        if (plan_add(p, child, path, p->items[k].depth + 1, (long)k))
            return plan_fail(p, k, NULL, SW_ENOMEM, "out of memory");
    }
    return 0;
}

/* The plain fields through the plain submit's parser (on a copy without the graph's
 * fields), then the graph's own. */
static int parse_item(struct plan *p, size_t k)
{
    json_t *obj = p->items[k].obj;
    int group = present(obj, "children") || present(obj, "fan_in");
    json_t *plain = json_object(), *value;
    const char *key;
    struct sw_task *t = p->items[k].t = sw_task_new();
    if (plain == NULL || t == NULL) {
        json_decref(plain);
        return plan_fail(p, k, NULL, SW_ENOMEM, "out of memory");
    }
    json_object_foreach(obj, key, value)
    {
        if (!is_graph_key(key) && json_object_set(plain, key, value)) {
            json_decref(plain);
            return plan_fail(p, k, NULL, SW_ENOMEM, "out of memory");
        }
    }
    int rc = sw__task_parse_submit(p->req, plain, t, p->now, !group);
    json_decref(plain);
    if (rc) {
        prefix_error(p, k);
        return rc;
    }
    json_t *parent = present(obj, "parent");
    if (parent && !json_is_string(parent))
        return plan_fail(p, k, "parent", SW_EBAD_FIELD, "parent must be a task id or a ref");
    rc = parse_ref(p, k);
    rc = rc ? rc : parse_fan_in(p, k, group);
    return rc ? rc : parse_children(p, k);
}

/* ---- pass 2: idempotency keys ---- */

static int resolve_keys(struct plan *p)
{
    for (size_t k = 0; k < p->n; k++) {
        const char *key = p->items[k].t->idempotency_key;
        if (key == NULL)
            continue;
        uintptr_t other = (uintptr_t)sw_strmap_get(&p->keys, key);
        if (other)
            return plan_fail(p, k, "idempotency_key", SW_EBAD_FIELD,
                             "idempotency_key \"%s\" is also the key of %s", key,
                             p->items[other - 1].path);
        if (sw_strmap_put(&p->keys, key, (void *)(uintptr_t)(k + 1)))
            return plan_fail(p, k, NULL, SW_ENOMEM, "out of memory");
        struct sw_task *t = sw_sched_task_by_key(&p->s->sched, key), *stored = NULL;
        int rc = t ? 0 : p->s->store->ops->task_by_key(p->s->store, key, &stored);
        if (rc == 0 && stored) {
            rc = sw_server_task_live(p->s, stored->id, &t);
            sw_task_free(stored);
        }
        if (rc && rc != SW_ENOT_FOUND)
            return plan_fail(p, k, NULL, rc, "%s", sw_strerror(rc));
        if (t) {
            p->items[k].task = t;
            p->items[k].existing = 1;
        }
    }
    return 0;
}

/* ---- pass 3: after and parent ---- */

static int resolve_target(struct plan *p, size_t k, const char *text, const char *field,
                          struct target *out)
{
    uint64_t id;
    if (sw_id_parse('t', text, &id) == 0) {
        struct sw_task *t;
        int rc = sw_server_task_live(p->s, id, &t);
        if (rc == SW_ENOT_FOUND)
            return plan_fail(p, k, field, SW_EBAD_FIELD, "no task %s", text);
        if (rc)
            return plan_fail(p, k, NULL, rc, "%s", sw_strerror(rc));
        out->item = -1;
        out->task = t;
        return 0;
    }
    uintptr_t v = (uintptr_t)sw_strmap_get(&p->refs, text);
    if (v == 0)
        return plan_fail(p, k, field, SW_EBAD_FIELD,
                         p->n > 1 ? "%s: no task and no ref \"%s\"" : "%s: no task \"%s\"", field,
                         text);
    out->item = (long)(v - 1);
    out->task = NULL;
    return 0;
}

/* The task a target names when it exists already (an id, or a ref whose idempotency key
 * names an existing task); NULL for a task still to create. */
static struct sw_task *target_task(const struct plan *p, const struct target *tg)
{
    if (tg->item < 0)
        return tg->task;
    return p->items[tg->item].existing ? p->items[tg->item].task : NULL;
}

static int resolve_after(struct plan *p, size_t k)
{
    json_t *after = present(p->items[k].obj, "after");
    if (after == NULL)
        return 0;
    if (!json_is_array(after))
        return plan_fail(p, k, "after", SW_EBAD_FIELD, "after must be an array of task ids%s",
                         p->n > 1 ? " or refs" : "");
    size_t n = json_array_size(after);
    if (n > SW_TASK_MAX_AFTER)
        return plan_fail(p, k, "after", SW_EBAD_FIELD, "after names at most %d tasks",
                         SW_TASK_MAX_AFTER);
    struct item *it = &p->items[k];
    if (n && (it->after = sw_calloc(n, sizeof *it->after)) == NULL)
        return plan_fail(p, k, NULL, SW_ENOMEM, "out of memory");
    for (size_t j = 0; j < n; j++) {
        char field[32];
        snprintf(field, sizeof field, "after[%zu]", j);
        const char *text = json_string_value(json_array_get(after, j));
        if (text == NULL)
            return plan_fail(p, k, field, SW_EBAD_FIELD, "%s must be a task id%s", field,
                             p->n > 1 ? " or a ref" : "");
        struct target *tg = &p->items[k].after[j];
        int rc = resolve_target(p, k, text, field, tg);
        if (rc)
            return rc;
        for (size_t i = 0; i < j; i++) {
            const struct target *o = &p->items[k].after[i];
            struct sw_task *known = target_task(p, tg);
            if ((o->item >= 0 && o->item == tg->item) || (known && known == target_task(p, o)))
                return plan_fail(p, k, field, SW_EBAD_FIELD, "%s repeats after[%zu]", field, i);
        }
        p->items[k].nafter = j + 1;
    }
    return 0;
}

/* A parent that waits for its children and is already decided takes no more. */
static int check_parent(struct plan *p, size_t k)
{
    struct item *it = &p->items[k];
    struct sw_task *parent =
        it->parent.item >= 0 ? p->items[it->parent.item].task : it->parent.task;
    if (parent == NULL || !parent->fan_in || parent->state == SW_TASK_WAITING)
        return 0;
    char id[SW_ID_STRLEN];
    sw_id_format('t', parent->id, id);
    return plan_fail(p, k, "parent", SW_EBAD_STATE,
                     "parent %s is %s: its children decided it, it takes no more", id,
                     sw_task_state_names[parent->state]);
}

static int resolve_links(struct plan *p)
{
    for (size_t k = 0; k < p->n; k++) {
        int rc = resolve_after(p, k);
        struct item *it = &p->items[k];
        json_t *parent = present(it->obj, "parent");
        if (rc == 0 && parent)
            rc = resolve_target(p, k, json_string_value(parent), "parent", &it->parent);
        else if (rc == 0 && it->parent_item >= 0)
            it->parent.item = it->parent_item;
        it->has_parent = parent || it->parent_item >= 0;
        rc = rc ? rc : check_parent(p, k);
        if (rc)
            return rc;
        if (it->parent.item >= 0)
            p->items[it->parent.item].kids++;
    }
    for (size_t k = 0; k < p->n; k++) {
        struct item *it = &p->items[k];
        if (it->fan_in == SW_FAN_IN_QUORUM && it->kids > 0 && (size_t)it->quorum > it->kids)
            return plan_fail(p, k, "quorum", SW_EBAD_FIELD,
                             "quorum %d is more than its %zu children", it->quorum, it->kids);
    }
    return 0;
}

/* ---- pass 4: an order of creation, or the cycle that prevents one ---- */

static const char *item_name(const struct plan *p, size_t k)
{
    return p->items[k].ref ? p->items[k].ref : *p->items[k].path ? p->items[k].path : "the task";
}

static int report_cycle(struct plan *p, const size_t *cycle, size_t len)
{
    struct sw_buf names;
    sw_buf_init(&names, 400);
    int cut = 0;
    for (size_t i = 0; !cut && i <= len; i++)
        cut = sw_buf_appendf(&names, "%s%s", i ? " -> " : "", item_name(p, cycle[i % len])) != 0;
    size_t k = cycle[0], next = cycle[1 % len];
    int by_parent = p->items[k].parent.item == (long)next;
    const char *field = by_parent ? "parent" : "after";
    const char *what = p->items[k].ref ? p->items[k].ref : "";
    int rc = plan_fail(p, k, field, SW_EBAD_FIELD, "%s%s%s is on a cycle of after and parent: %s%s",
                       *what ? "ref " : "", what, *what ? "" : "this task",
                       names.data ? names.data : "", cut ? " ..." : "");
    sw_buf_free(&names);
    return rc;
}

static int plan_order(struct plan *p)
{
    size_t edges = 0;
    for (size_t k = 0; k < p->n; k++)
        edges += p->items[k].nafter + 1;
    size_t *dep_start = sw_calloc(p->n + 1, sizeof *dep_start);
    size_t *deps = sw_calloc(edges + 1, sizeof *deps);
    size_t *cycle = sw_calloc(p->n + 1, sizeof *cycle);
    p->order = sw_calloc(p->n + 1, sizeof *p->order);
    int rc = dep_start && deps && cycle && p->order ? 0 : SW_ENOMEM;
    size_t m = 0, len = 0;
    for (size_t k = 0; rc == 0 && k < p->n; k++) {
        const struct item *it = &p->items[k];
        dep_start[k] = m;
        for (size_t j = 0; j < it->nafter; j++)
            if (it->after[j].item >= 0)
                deps[m++] = (size_t)it->after[j].item;
        if (it->parent.item >= 0)
            deps[m++] = (size_t)it->parent.item;
    }
    if (rc == 0) {
        dep_start[p->n] = m;
        struct sw_graph_edges g = {p->n, dep_start, deps};
        rc = sw_graph_order(&g, p->order, cycle, &len);
    }
    if (rc == SW_EINVAL)
        report_cycle(p, cycle, len);
    else if (rc)
        sw_reply_error(p->req, rc, NULL, NULL);
    sw_free(dep_start);
    sw_free(deps);
    sw_free(cycle);
    return rc;
}

/* ---- pass 5: admission, then creation ---- */

/* Each new task is routed (routing.c), then each swarm they go to admits its share
 * (max_queue, rate limits). */
static int plan_admit(struct plan *p)
{
    struct sw_strmap counts;
    sw_strmap_init(&counts);
    size_t none = 0;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < p->n; k++)
        if (!p->items[k].existing)
            rc = sw_routing_admit(p->req, p->items[k].t, p->items[k].path);
    if (rc) {
        sw_strmap_free(&counts);
        return rc;
    }
    for (size_t k = 0; rc == 0 && k < p->n; k++) {
        const char *swarm = p->items[k].t->swarm;
        if (p->items[k].existing)
            continue;
        if (swarm == NULL) {
            none++;
            continue;
        }
        uintptr_t n = (uintptr_t)sw_strmap_get(&counts, swarm);
        rc = sw_strmap_put(&counts, swarm, (void *)(n + 1));
    }
    if (rc)
        sw_reply_error(p->req, rc, NULL, NULL);
    size_t pos = 0;
    const char *swarm;
    void *n;
    while (rc == 0 && sw_strmap_next(&counts, &pos, &swarm, &n))
        rc = sw_admission_admit(p->req, swarm, (int)(uintptr_t)n);
    if (rc == 0 && none)
        rc = sw_admission_admit(p->req, NULL, (int)none);
    sw_strmap_free(&counts);
    return rc;
}

static uint64_t target_id(const struct plan *p, const struct target *tg)
{
    return tg->item >= 0 ? p->items[tg->item].task->id : tg->task->id;
}

static int create_one(struct plan *p, size_t k)
{
    struct item *it = &p->items[k];
    struct sw_task *t = it->t;
    if (it->nafter && (t->after = sw_calloc(it->nafter, sizeof *t->after)) == NULL)
        return SW_ENOMEM;
    for (size_t j = 0; j < it->nafter; j++)
        t->after[j] = target_id(p, &it->after[j]);
    t->nafter = it->nafter;
    if (it->has_parent)
        t->parent = target_id(p, &it->parent);
    t->fan_in = it->fan_in;
    t->quorum = it->quorum;
    it->t = NULL; /* the scheduler's now, or freed on error */
    int rc = sw_sched_submit(&p->s->sched, t, p->now);
    if (rc == 0)
        it->task = t;
    return rc;
}

static int plan_create(struct plan *p)
{
    int rc = 0;
    size_t done = 0;
    for (; rc == 0 && done < p->n; done++)
        if (!p->items[p->order[done]].existing)
            rc = create_one(p, p->order[done]);
    if (rc == 0)
        return 0;
    /* out of memory half way: what was created goes, cancelled (nothing ran yet) */
    for (size_t i = 0; i + 1 < done; i++) {
        struct item *it = &p->items[p->order[i]];
        if (!it->existing && it->task)
            sw_sched_cancel(&p->s->sched, it->task, p->now);
    }
    sw_reply_error(p->req, rc, NULL,
                   "the tasks could not all be created (%s): those created were cancelled",
                   sw_strerror(rc));
    return rc;
}

static size_t reply_limit(const struct plan *p)
{
    return (size_t)p->s->cfg.max_payload * 4 + (size_t)p->n * 8192 + ((size_t)64 << 20);
}

static void reply_batch(struct plan *p, int status)
{
    struct sw_buf body;
    sw_buf_init(&body, reply_limit(p));
    int rc = sw_buf_appendstr(&body, "{\"tasks\":[");
    for (size_t k = 0; rc == 0 && k < p->n; k++) {
        rc = k ? sw_buf_append(&body, ",", 1) : 0;
        rc = rc ? rc : sw_task_render(p->items[k].task, &body);
    }
    rc = rc ? rc : sw_buf_appendstr(&body, "],\"refs\":{");
    int first = 1;
    for (size_t k = 0; rc == 0 && k < p->n; k++) {
        char id[SW_ID_STRLEN];
        if (p->items[k].ref == NULL)
            continue;
        sw_id_format('t', p->items[k].task->id, id);
        rc = sw_buf_appendstr(&body, first ? "" : ",");
        rc = rc ? rc : sw_json_append_string(&body, p->items[k].ref);
        rc = rc ? rc : sw_buf_appendf(&body, ":\"%s\"", id);
        first = 0;
    }
    rc = rc ? rc : sw_buf_appendstr(&body, "}}");
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(p->req, rc, NULL, "the reply is too large: the tasks were created");
        return;
    }
    sw_reply(p->req, status, &body);
}

static void reply_one(struct plan *p, int status)
{
    struct sw_buf body;
    sw_buf_init(&body, reply_limit(p));
    int rc = sw_task_render(p->items[0].task, &body);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(p->req, rc, NULL, NULL);
        return;
    }
    sw_reply(p->req, status, &body);
}

/* Checks everything, then creates everything and answers. */
static void plan_run(struct plan *p)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < p->n; k++) /* p->n grows as children join */
        rc = parse_item(p, k);
    rc = rc ? rc : resolve_keys(p);
    if (rc)
        return;
    if (!p->batch && p->items[0].existing) { /* a repeated submit: the first task */
        reply_one(p, 200);
        return;
    }
    rc = resolve_links(p);
    rc = rc ? rc : plan_order(p);
    rc = rc ? rc : plan_admit(p);
    rc = rc ? rc : plan_create(p);
    if (rc)
        return;
    size_t created = 0;
    for (size_t k = 0; k < p->n; k++)
        created += !p->items[k].existing;
    if (p->batch)
        reply_batch(p, created ? 201 : 200);
    else
        reply_one(p, 201);
}

static void plan_init(struct plan *p, struct sw_request *req, int batch)
{
    memset(p, 0, sizeof *p);
    p->req = req;
    p->s = req->server;
    p->now = sw_server_now(p->s);
    p->batch = batch;
    sw_strmap_init(&p->refs);
    sw_strmap_init(&p->keys);
}

void sw_graph_api_submit(struct sw_request *req, json_t *root)
{
    struct plan p;
    plan_init(&p, req, 0);
    if (plan_add(&p, root, "", 0, -1))
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
    else
        plan_run(&p);
    plan_free(&p);
}

void sw_api_task_batch(struct sw_request *req)
{
    static const char *const fields[] = {"tasks", NULL};
    json_t *root = NULL;
    struct plan p;
    plan_init(&p, req, 1);
    if (sw_body_object(req, &root) || sw_body_only(req, root, fields))
        goto out;
    json_t *tasks = json_object_get(root, "tasks");
    if (tasks == NULL) {
        sw_reply_error(req, SW_EMISSING_FIELD, "tasks", "tasks is required");
        goto out;
    }
    if (!json_is_array(tasks) || json_array_size(tasks) == 0 ||
        json_array_size(tasks) > GRAPH_MAX_TASKS) {
        sw_reply_error(req, SW_EBAD_FIELD, "tasks",
                       "tasks must be an array of 1 to %d task objects", GRAPH_MAX_TASKS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        char path[32];
        snprintf(path, sizeof path, "tasks[%zu]", i);
        if (!json_is_object(json_array_get(tasks, i))) {
            sw_reply_error(req, SW_EBAD_FIELD, path, "%s must be a task object", path);
            goto out;
        }
        if (plan_add(&p, json_array_get(tasks, i), path, 0, -1)) {
            sw_reply_error(req, SW_ENOMEM, NULL, NULL);
            goto out;
        }
    }
    plan_run(&p);
out:
    plan_free(&p);
    json_decref(root);
}

/* ---- the tree of a task ---- */

/* The ids of task id's children, in id order: committed ones from the store (at most
 * max) joined by those the scheduler knows. New array in *ids. */
static int child_ids(struct sw_server *s, uint64_t id, size_t max, uint64_t **ids, size_t *n)
{
    struct sw_task **rows = NULL, *live = sw_sched_task(&s->sched, id);
    size_t nrows = 0, nlive = live && live->links ? live->links->nchildren : 0;
    int rc = s->store->ops->task_children(s->store, id, 0, max, &rows, &nrows);
    if (rc)
        return rc;
    uint64_t *out = sw_calloc(nrows + nlive + 1, sizeof *out);
    size_t count = 0, i = 0, j = 0;
    while (out && (i < nrows || j < nlive) && count < max) {
        uint64_t a = i < nrows ? rows[i]->id : UINT64_MAX;
        uint64_t b = j < nlive ? live->links->children[j] : UINT64_MAX;
        out[count++] = a < b ? a : b;
        i += a <= b;
        j += b <= a;
    }
    for (size_t r = 0; r < nrows; r++)
        sw_task_free(rows[r]);
    sw_free(rows);
    if (out == NULL)
        return SW_ENOMEM;
    *ids = out;
    *n = count;
    return 0;
}

static int render_time(struct sw_buf *out, const char *key, int64_t wall_ms)
{
    char ts[40];
    if (wall_ms <= 0)
        return sw_buf_appendf(out, ",\"%s\":null", key);
    sw_clock_format_rfc3339(wall_ms, ts, sizeof ts);
    return sw_buf_appendf(out, ",\"%s\":\"%s\"", key, ts);
}

/* One node: who it is, where it sits, its state and timings (no payload or result). */
static int render_node(const struct sw_task *t, int depth, size_t nkids, struct sw_buf *out)
{
    char id[SW_ID_STRLEN], parent[SW_ID_STRLEN], agent[SW_ID_STRLEN];
    sw_id_format('t', t->id, id);
    sw_id_format('t', t->parent, parent);
    sw_id_format('a', t->agent_id, agent);
    int rc = sw_buf_appendf(out, "{\"id\":\"%s\",\"depth\":%d,\"parent\":", id, depth);
    rc = rc ? rc : sw_buf_appendf(out, t->parent ? "\"%s\"" : "null", parent);
    rc = rc ? rc : sw_buf_appendstr(out, ",\"capability\":");
    rc = rc                                ? rc
         : t->capability && *t->capability ? sw_json_append_string(out, t->capability)
                                           : sw_buf_appendstr(out, "null");
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"state\":\"%s\",\"dead\":%s,\"attempt\":%d,\"agent\":",
                             sw_task_state_names[t->state], t->dead ? "true" : "false", t->attempt);
    rc = rc ? rc : sw_buf_appendf(out, t->agent_id ? "\"%s\"" : "null", agent);
    rc = rc ? rc : render_time(out, "created_at", t->created_at);
    rc = rc ? rc : render_time(out, "started_at", t->started_at);
    rc = rc ? rc : render_time(out, "finished_at", t->finished_at);
    if (rc == 0 && t->nafter) {
        rc = sw_buf_appendstr(out, ",\"after\":");
        rc = rc ? rc : sw_task_after_render(t, out);
    }
    if (rc == 0 && t->fan_in)
        rc = sw_buf_appendf(out, ",\"fan_in\":\"%s\"", sw_fan_in_name(t->fan_in));
    if (rc == 0 && t->fan_in == SW_FAN_IN_QUORUM)
        rc = sw_buf_appendf(out, ",\"quorum\":%d", t->quorum);
    if (rc == 0 && t->blocked)
        rc = sw_buf_appendstr(out, ",\"blocked\":true");
    rc = rc ? rc : sw_buf_appendf(out, ",\"children_count\":%zu", nkids);
    if (rc == 0 && t->error)
        rc = sw_buf_appendf(out, ",\"error\":%s", t->error);
    return rc ? rc : sw_buf_append(out, "}", 1);
}

struct tree_walk {
    struct sw_server *s;
    uint64_t *stack; /* ids still to show, the next on top */
    int *depths;
    size_t len, cap;
    size_t limit, shown;
};

static int walk_push(struct tree_walk *w, uint64_t id, int depth)
{
    if (w->len == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        uint64_t *stack = sw_realloc(w->stack, cap * sizeof *stack);
        if (stack == NULL)
            return SW_ENOMEM;
        w->stack = stack;
        int *depths = sw_realloc(w->depths, cap * sizeof *depths);
        if (depths == NULL)
            return SW_ENOMEM;
        w->depths = depths;
        w->cap = cap;
    }
    w->stack[w->len] = id;
    w->depths[w->len++] = depth;
    return 0;
}

/* Depth first, without recursion: each node, then its children's subtrees in id order. */
static int walk_tree(struct tree_walk *w, struct sw_buf *out)
{
    int rc = 0;
    while (rc == 0 && w->len > 0 && w->shown < w->limit) {
        uint64_t id = w->stack[--w->len], *kids = NULL;
        int depth = w->depths[w->len], owned;
        struct sw_task *t;
        size_t nkids = 0;
        rc = sw_server_task(w->s, id, &t, &owned);
        if (rc == SW_ENOT_FOUND) { /* pruned meanwhile */
            rc = 0;
            continue;
        }
        rc = rc ? rc : child_ids(w->s, id, w->limit - w->shown, &kids, &nkids);
        rc = rc ? rc : sw_buf_appendstr(out, w->shown ? "," : "");
        rc = rc ? rc : render_node(t, depth, nkids, out);
        w->shown++;
        for (size_t i = nkids; rc == 0 && i > 0; i--)
            rc = walk_push(w, kids[i - 1], depth + 1);
        sw_free(kids);
        if (owned)
            sw_task_free(t);
    }
    return rc;
}

void sw_api_task_tree(struct sw_request *req)
{
    static const char *const query[] = {"limit", NULL};
    struct sw_server *s = req->server;
    uint64_t id;
    int64_t limit = TREE_DEFAULT_LIMIT;
    if (sw_path_id(req, 't', "task", &id) || sw_query_only(req, query) ||
        sw_query_int(req, "limit", 1, TREE_MAX_LIMIT, &limit))
        return;
    struct sw_task *root;
    int owned;
    int rc = sw_server_task(s, id, &root, &owned);
    if (rc) {
        sw_reply_error(req, rc, NULL, rc == SW_ENOT_FOUND ? "no task %s" : NULL, req->params[0]);
        return;
    }
    if (owned)
        sw_task_free(root);
    struct tree_walk w = {.s = s, .limit = (size_t)limit};
    struct sw_buf body;
    sw_buf_init(&body, (size_t)limit * 4096 + 4096);
    rc = walk_push(&w, id, 0);
    rc = rc ? rc : sw_buf_appendf(&body, "{\"root\":\"%s\",\"tasks\":[", req->params[0]);
    rc = rc ? rc : walk_tree(&w, &body);
    rc = rc ? rc : sw_buf_appendf(&body, "],\"truncated\":%s}", w.len ? "true" : "false");
    sw_free(w.stack);
    sw_free(w.depths);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}

/* ---- recovery ---- */

struct id_list {
    uint64_t *ids;
    size_t n, cap;
};

static int id_list_add(struct id_list *l, uint64_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint64_t *ids = sw_realloc(l->ids, cap * sizeof *ids);
        if (ids == NULL)
            return SW_ENOMEM;
        l->ids = ids;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return 0;
}

/* Hands a task read from the store to the scheduler unless it is there already. */
static int restore(struct sw_server *s, struct sw_task *t, size_t *restored)
{
    if (sw_sched_task(&s->sched, t->id)) {
        sw_task_free(t);
        return 0;
    }
    int rc = sw_sched_restore_task(&s->sched, t);
    if (rc)
        sw_task_free(t);
    else
        (*restored)++;
    return rc;
}

static int restore_children(struct sw_server *s, uint64_t parent, size_t *restored)
{
    uint64_t after = 0;
    for (;;) {
        struct sw_task **rows = NULL;
        size_t n = 0;
        int rc = s->store->ops->task_children(s->store, parent, after, RECOVER_PAGE, &rows, &n);
        for (size_t i = 0; i < n; i++) {
            after = rows[i]->id;
            if (rc == 0)
                rc = restore(s, rows[i], restored);
            else
                sw_task_free(rows[i]);
        }
        sw_free(rows);
        if (rc || n < RECOVER_PAGE)
            return rc;
    }
}

int sw_graph_api_recover(struct sw_server *s)
{
    struct id_list deps = {0}, parents = {0};
    size_t pos = 0, restored = 0;
    void *value;
    int rc = 0;
    while (rc == 0 && sw_map_next(&s->sched.tasks, &pos, NULL, &value)) {
        const struct sw_task *t = value;
        for (size_t i = 0; rc == 0 && t->state == SW_TASK_SCHEDULED && i < t->nafter; i++)
            if (sw_sched_task(&s->sched, t->after[i]) == NULL)
                rc = id_list_add(&deps, t->after[i]);
        if (rc == 0 && t->state == SW_TASK_WAITING)
            rc = id_list_add(&parents, t->id);
    }
    for (size_t i = 0; rc == 0 && i < deps.n; i++) {
        struct sw_task *t = NULL;
        if (sw_sched_task(&s->sched, deps.ids[i]))
            continue;
        rc = s->store->ops->task_get(s->store, deps.ids[i], &t);
        if (rc == SW_ENOT_FOUND) /* pruned: the dependent fails when the graph is rebuilt */
            rc = 0;
        else if (rc == 0)
            rc = restore(s, t, &restored);
    }
    for (size_t i = 0; rc == 0 && i < parents.n; i++)
        rc = restore_children(s, parents.ids[i], &restored);
    sw_free(deps.ids);
    sw_free(parents.ids);
    if (rc == 0 && (restored || parents.n))
        sw_log_info("store", "msg=\"graph tasks recovered\" finished=%zu waiting_parents=%zu",
                    restored, parents.n);
    return rc;
}
