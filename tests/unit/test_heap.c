/* SPDX-License-Identifier: MIT
 * test_heap.c - unit tests of the indexed task heap (src/sched/heap.c) and its
 * three orders: ready (priority high first, then lower id), run_at and lease
 * deadline, each with ties broken by id. Long runs of random push, pop, remove from
 * the middle and update after a key change are checked after every step against a
 * plain array searched linearly, together with the heap property and every task's
 * recorded heap_index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "sched/heap.h"

#include <string.h>

#define NTASKS 600

static struct sw_task tasks[NTASKS];

/* The reference: the tasks that should be in the heap, in no order. */
struct model {
    struct sw_task *items[NTASKS];
    size_t len;
};

static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void reset_tasks(void)
{
    memset(tasks, 0, sizeof tasks);
    for (int i = 0; i < NTASKS; i++) {
        tasks[i].id = (uint64_t)i + 1;
        tasks[i].heap_index = SW_HEAP_NONE;
    }
}

/* A key with few distinct values, so that ties (broken by id) are common. */
static void random_key(struct sw_task *t)
{
    t->priority = (int64_t)(rnd() % 7) - 3;
    t->run_at = (int64_t)(rnd() % 50);
    t->lease_deadline = (int64_t)(rnd() % 50);
}

/* Every slot knows its index and no child is less than its parent. */
static void check_heap(const struct sw_heap *h)
{
    for (size_t i = 0; i < h->len; i++) {
        if (h->items[i]->heap_index != i)
            fail_msg("items[%zu] records heap_index %zu", i, h->items[i]->heap_index);
        if (i > 0 && h->less(h->items[i], h->items[(i - 1) / 2]))
            fail_msg("items[%zu] is less than its parent", i);
    }
}

static struct sw_task *model_min(const struct model *m, sw_heap_less_fn less)
{
    struct sw_task *best = NULL;
    for (size_t i = 0; i < m->len; i++)
        if (best == NULL || less(m->items[i], best))
            best = m->items[i];
    return best;
}

static void model_remove(struct model *m, const struct sw_task *t)
{
    for (size_t i = 0; i < m->len; i++) {
        if (m->items[i] == t) {
            m->items[i] = m->items[--m->len];
            return;
        }
    }
    fail_msg("task %llu not in the model", (unsigned long long)t->id);
}

/* Runs `steps` random operations on a heap with the given order. */
static void random_run(sw_heap_less_fn less, int steps)
{
    struct sw_heap h;
    struct model m = {{0}, 0};
    struct sw_task *out[NTASKS];
    int free_count = NTASKS;

    reset_tasks();
    for (int i = 0; i < NTASKS; i++) {
        random_key(&tasks[i]);
        out[i] = &tasks[i];
    }
    sw_heap_init(&h, less);
    for (int step = 0; step < steps; step++) {
        /* the first half fills the heap up, the second half drains it */
        unsigned op = (unsigned)(rnd() % 10);
        unsigned pushes = step < steps / 2 ? 5 : 3;
        if (op < pushes && free_count > 0) { /* push */
            int k = (int)(rnd() % (uint64_t)free_count);
            struct sw_task *t = out[k];
            out[k] = out[--free_count];
            random_key(t);
            assert_int_equal(sw_heap_push(&h, t), 0);
            m.items[m.len++] = t;
        } else if (op < pushes + 2 && m.len > 0) { /* pop */
            struct sw_task *want = model_min(&m, less);
            assert_ptr_equal(sw_heap_peek(&h), want);
            assert_ptr_equal(sw_heap_pop(&h), want);
            assert_true(want->heap_index == SW_HEAP_NONE);
            model_remove(&m, want);
            out[free_count++] = want;
        } else if (op < pushes + 4 && m.len > 0) { /* remove any, often from the middle */
            struct sw_task *t = m.items[rnd() % m.len];
            sw_heap_remove(&h, t);
            assert_true(t->heap_index == SW_HEAP_NONE);
            model_remove(&m, t);
            out[free_count++] = t;
        } else if (m.len > 0) { /* change a key, then update */
            struct sw_task *t = m.items[rnd() % m.len];
            random_key(t);
            sw_heap_update(&h, t);
        }
        assert_int_equal(h.len, m.len);
        check_heap(&h);
        assert_ptr_equal(sw_heap_peek(&h), model_min(&m, less));
    }
    /* drain: the pops come out in the order of the reference */
    while (m.len > 0) {
        struct sw_task *want = model_min(&m, less);
        assert_ptr_equal(sw_heap_pop(&h), want);
        model_remove(&m, want);
    }
    assert_null(sw_heap_pop(&h));
    sw_heap_free(&h);
}

static void test_random_ready(void **state)
{
    random_run(sw_heap_less_ready, 20000);
}

static void test_random_run_at(void **state)
{
    random_run(sw_heap_less_run_at, 20000);
}

static void test_random_lease(void **state)
{
    random_run(sw_heap_less_lease, 20000);
}

static void test_empty(void **state)
{
    struct sw_heap h;

    sw_heap_init(&h, sw_heap_less_ready);
    assert_null(sw_heap_peek(&h));
    assert_null(sw_heap_pop(&h));
    sw_heap_free(&h);
    sw_heap_free(&h);
}

static void test_ready_order(void **state)
{
    /* priority high first; equal priority: lower (older) id first */
    static const struct {
        uint64_t id;
        int64_t priority;
    } input[] = {{5, 0}, {3, 0}, {9, 10}, {1, -5}, {7, 10}, {2, 0}, {8, -5}, {4, 3}};
    static const uint64_t want[] = {7, 9, 4, 2, 3, 5, 1, 8};
    struct sw_heap h;

    reset_tasks();
    sw_heap_init(&h, sw_heap_less_ready);
    for (size_t i = 0; i < 8; i++) {
        tasks[i].id = input[i].id;
        tasks[i].priority = input[i].priority;
        assert_int_equal(sw_heap_push(&h, &tasks[i]), 0);
    }
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(sw_heap_pop(&h)->id, want[i]);
    sw_heap_free(&h);
}

static void test_time_orders(void **state)
{
    struct sw_task a = {.id = 2, .run_at = 100, .lease_deadline = 300};
    struct sw_task b = {.id = 1, .run_at = 100, .lease_deadline = 200};
    struct sw_task c = {.id = 3, .run_at = 50, .lease_deadline = 200};

    /* earlier time first; equal times: lower id first */
    assert_true(sw_heap_less_run_at(&c, &a));
    assert_true(sw_heap_less_run_at(&b, &a));
    assert_false(sw_heap_less_run_at(&a, &b));
    assert_false(sw_heap_less_run_at(&a, &a));
    assert_true(sw_heap_less_lease(&b, &a));
    assert_true(sw_heap_less_lease(&b, &c));
    assert_false(sw_heap_less_lease(&c, &b));
    assert_false(sw_heap_less_lease(&c, &c));
    /* the ready order ignores times and is strict too */
    assert_false(sw_heap_less_ready(&a, &a));
    assert_true(sw_heap_less_ready(&b, &a));
}

static void test_remove_middle_and_last(void **state)
{
    struct sw_heap h;

    reset_tasks();
    sw_heap_init(&h, sw_heap_less_run_at);
    for (int i = 0; i < 31; i++) {
        tasks[i].run_at = (i * 17) % 31; /* a permutation of 0..30 */
        assert_int_equal(sw_heap_push(&h, &tasks[i]), 0);
    }
    /* remove the last slot, then a middle one, then the root */
    struct sw_task *last = h.items[h.len - 1];
    sw_heap_remove(&h, last);
    assert_true(last->heap_index == SW_HEAP_NONE);
    check_heap(&h);
    struct sw_task *middle = h.items[7];
    int64_t removed[3] = {last->run_at, middle->run_at, 0};
    sw_heap_remove(&h, middle);
    check_heap(&h);
    struct sw_task *root = h.items[0];
    removed[2] = root->run_at;
    assert_int_equal(root->run_at, 0);
    sw_heap_remove(&h, root);
    check_heap(&h);
    assert_int_equal(h.len, 28);
    /* the rest comes out sorted and without the removed ones */
    int64_t prev = -1;
    struct sw_task *t;
    while ((t = sw_heap_pop(&h))) {
        assert_true(t->run_at > prev);
        for (int k = 0; k < 3; k++)
            assert_true(t->run_at != removed[k]);
        prev = t->run_at;
    }
    sw_heap_free(&h);
}

static void test_update_up_and_down(void **state)
{
    struct sw_heap h;

    reset_tasks();
    sw_heap_init(&h, sw_heap_less_lease);
    for (int i = 0; i < 100; i++) {
        tasks[i].lease_deadline = 1000 + i;
        assert_int_equal(sw_heap_push(&h, &tasks[i]), 0);
    }
    /* a heartbeat pushes the earliest deadline far out: it sinks */
    tasks[0].lease_deadline = 5000;
    sw_heap_update(&h, &tasks[0]);
    check_heap(&h);
    assert_ptr_equal(sw_heap_peek(&h), &tasks[1]);
    /* a timeout pulls a late one in: it rises to the top */
    tasks[99].lease_deadline = 10;
    sw_heap_update(&h, &tasks[99]);
    check_heap(&h);
    assert_ptr_equal(sw_heap_peek(&h), &tasks[99]);
    /* an update with no change keeps everything in place */
    size_t index = tasks[50].heap_index;
    sw_heap_update(&h, &tasks[50]);
    assert_int_equal(tasks[50].heap_index, index);
    check_heap(&h);
    assert_ptr_equal(sw_heap_pop(&h), &tasks[99]);
    for (int i = 1; i < 99; i++)
        assert_ptr_equal(sw_heap_pop(&h), &tasks[i]);
    assert_ptr_equal(sw_heap_pop(&h), &tasks[0]);
    sw_heap_free(&h);
}

static void test_growth(void **state)
{
    struct sw_heap h;

    reset_tasks();
    sw_heap_init(&h, sw_heap_less_ready);
    for (int i = NTASKS - 1; i >= 0; i--)
        assert_int_equal(sw_heap_push(&h, &tasks[i]), 0);
    assert_int_equal(h.len, NTASKS);
    assert_true(h.cap >= NTASKS);
    check_heap(&h);
    for (int i = 0; i < NTASKS; i++)
        assert_ptr_equal(sw_heap_pop(&h), &tasks[i]);
    sw_heap_free(&h);
}

static void test_push_out_of_memory(void **state)
{
    struct sw_heap h;

    reset_tasks();
    sw_heap_init(&h, sw_heap_less_ready);
    sw_alloc_fail_after(1);
    assert_int_equal(sw_heap_push(&h, &tasks[0]), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_int_equal(h.len, 0);
    for (int i = 0; i < 64; i++)
        assert_int_equal(sw_heap_push(&h, &tasks[i]), 0);
    sw_alloc_fail_after(1); /* the 65th needs more room */
    assert_int_equal(sw_heap_push(&h, &tasks[64]), SW_ENOMEM);
    sw_alloc_fail_after(0);
    assert_int_equal(h.len, 64);
    check_heap(&h);
    assert_ptr_equal(sw_heap_peek(&h), &tasks[0]);
    sw_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_ready_order),
        cmocka_unit_test(test_time_orders),
        cmocka_unit_test(test_remove_middle_and_last),
        cmocka_unit_test(test_update_up_and_down),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_push_out_of_memory),
        cmocka_unit_test(test_random_ready),
        cmocka_unit_test(test_random_run_at),
        cmocka_unit_test(test_random_lease),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
