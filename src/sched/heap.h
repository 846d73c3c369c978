/* SPDX-License-Identifier: MIT
 * heap.h - an indexed binary min-heap of tasks: each task records its position
 * (task->heap_index), so it can be removed or re-keyed in O(log n). A task is in at
 * most one heap at a time: the ready queue of its capability, the delay heap or the
 * lease heap, by its state. */
#ifndef SW_HEAP_H
#define SW_HEAP_H

#include "model/task.h"

#include <stddef.h>

#define SW_HEAP_NONE ((size_t)-1)

typedef int (*sw_heap_less_fn)(const struct sw_task *a, const struct sw_task *b);

struct sw_heap {
    struct sw_task **items;
    size_t len;
    size_t cap;
    sw_heap_less_fn less;
};

void sw_heap_init(struct sw_heap *h, sw_heap_less_fn less);
void sw_heap_free(struct sw_heap *h);
/* Makes room for `extra` more pushes, so that they cannot fail. 0 or SW_ENOMEM. */
int sw_heap_reserve(struct sw_heap *h, size_t extra);
/* 0 or SW_ENOMEM. */
int sw_heap_push(struct sw_heap *h, struct sw_task *t);
/* The smallest task (borrowed), NULL when empty. */
struct sw_task *sw_heap_peek(const struct sw_heap *h);
struct sw_task *sw_heap_pop(struct sw_heap *h);
/* Removes t, which must be in h. */
void sw_heap_remove(struct sw_heap *h, struct sw_task *t);
/* Restores order after t's key changed. */
void sw_heap_update(struct sw_heap *h, struct sw_task *t);

/* Orders: ready queue (priority high first, then older id), run_at, lease deadline. */
int sw_heap_less_ready(const struct sw_task *a, const struct sw_task *b);
int sw_heap_less_run_at(const struct sw_task *a, const struct sw_task *b);
int sw_heap_less_lease(const struct sw_task *a, const struct sw_task *b);

#endif
