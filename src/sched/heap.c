/* SPDX-License-Identifier: MIT
 * heap.c - indexed binary heap of tasks. */
#include "heap.h"
#include "core/alloc.h"
#include "core/error.h"

void sw_heap_init(struct sw_heap *h, sw_heap_less_fn less)
{
    h->items = NULL;
    h->len = h->cap = 0;
    h->less = less;
}

void sw_heap_free(struct sw_heap *h)
{
    sw_free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}

static void heap_set(struct sw_heap *h, size_t i, struct sw_task *t)
{
    h->items[i] = t;
    t->heap_index = i;
}

static void heap_sift_up(struct sw_heap *h, size_t i)
{
    struct sw_task *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!h->less(t, h->items[parent]))
            break;
        heap_set(h, i, h->items[parent]);
        i = parent;
    }
    heap_set(h, i, t);
}

static void heap_sift_down(struct sw_heap *h, size_t i)
{
    struct sw_task *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->less(h->items[child + 1], h->items[child]))
            child++;
        if (!h->less(h->items[child], t))
            break;
        heap_set(h, i, h->items[child]);
        i = child;
    }
    heap_set(h, i, t);
}

int sw_heap_reserve(struct sw_heap *h, size_t extra)
{
    if (h->len + extra <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap * 2 : 64;
    while (cap < h->len + extra)
        cap *= 2;
    struct sw_task **items = sw_realloc(h->items, cap * sizeof *items);
    if (items == NULL)
        return SW_ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

int sw_heap_push(struct sw_heap *h, struct sw_task *t)
{
    int rc = sw_heap_reserve(h, 1);
    if (rc)
        return rc;
    h->items[h->len] = t;
    t->heap_index = h->len++;
    heap_sift_up(h, t->heap_index);
    return 0;
}

struct sw_task *sw_heap_peek(const struct sw_heap *h)
{
    return h->len ? h->items[0] : NULL;
}

void sw_heap_remove(struct sw_heap *h, struct sw_task *t)
{
    size_t i = t->heap_index;
    struct sw_task *last = h->items[--h->len];
    t->heap_index = SW_HEAP_NONE;
    if (i == h->len)
        return;
    heap_set(h, i, last);
    sw_heap_update(h, last);
}

struct sw_task *sw_heap_pop(struct sw_heap *h)
{
    struct sw_task *t = sw_heap_peek(h);
    if (t)
        sw_heap_remove(h, t);
    return t;
}

void sw_heap_update(struct sw_heap *h, struct sw_task *t)
{
    size_t i = t->heap_index;
    if (i > 0 && h->less(t, h->items[(i - 1) / 2]))
        heap_sift_up(h, i);
    else
        heap_sift_down(h, i);
}

int sw_heap_less_ready(const struct sw_task *a, const struct sw_task *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->id < b->id;
}

int sw_heap_less_run_at(const struct sw_task *a, const struct sw_task *b)
{
    if (a->run_at != b->run_at)
        return a->run_at < b->run_at;
    return a->id < b->id;
}

int sw_heap_less_lease(const struct sw_task *a, const struct sw_task *b)
{
    if (a->lease_deadline != b->lease_deadline)
        return a->lease_deadline < b->lease_deadline;
    return a->id < b->id;
}
