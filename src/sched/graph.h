/* SPDX-License-Identifier: MIT
 * graph.h - task graphs, pure: the checks of a batch of new tasks (an order in which
 * each comes after the tasks it names, or a cycle), the fan-in decision of a parent
 * from its children's counts, and the scheduler's part: tasks blocked until their
 * dependencies (`after`) succeed, parents waiting for their children, and the
 * cascades when a task ends (release or fail its dependents, cancel its children,
 * decide its parent). A cascade never recurses: a task that ends joins a worklist
 * that the scheduler drains after the operation that ended it, so a chain of any
 * depth costs no stack. No I/O and no clock. */
#ifndef SW_GRAPH_H
#define SW_GRAPH_H

#include "model/task.h"

#include <stddef.h>
#include <stdint.h>

struct sw_sched;

/* ---- checks of a batch of new tasks ---- */

/* n nodes; node i names (depends on) nodes deps[dep_start[i] .. dep_start[i + 1]). */
struct sw_graph_edges {
    size_t n;
    const size_t *dep_start; /* n + 1 entries */
    const size_t *deps;
};

/* Orders the nodes so that each comes after every node it names (Kahn's algorithm):
 * 0 and order[0..n) filled. On a cycle, SW_EINVAL and cycle[0..*cycle_len) holds the
 * nodes of one cycle, each naming the next and the last naming the first (cycle has
 * room for n). Scratch space is allocated: SW_ENOMEM. */
int sw_graph_order(const struct sw_graph_edges *g, size_t *order, size_t *cycle, size_t *cycle_len);

/* ---- fan-in ---- */

enum sw_fan_in_decision { SW_FAN_IN_WAIT = 0, SW_FAN_IN_SUCCEED, SW_FAN_IN_FAIL };

/* A waiting parent with `children` children of which `succeeded` succeeded and
 * `failed` failed for good or were cancelled: all = succeeds when all succeeded,
 * fails at the first failure; any = succeeds at the first success, fails when all
 * failed; quorum = succeeds at `quorum` successes, fails when they can no longer be
 * reached. No children: it waits. */
enum sw_fan_in_decision sw_graph_fan_in_decide(int fan_in, int quorum, size_t children,
                                               size_t succeeded, size_t failed);

/* ---- the scheduler's part (called by sched.c only) ---- */

/* The worklist of tasks whose end (or whose children's counts) the graph has to act
 * on, threaded through task->graph_next. */
struct sw_graph_work {
    struct sw_task *head, *tail;
    int draining;
    int64_t now;
};

/* A new task (id and state set, not indexed yet): checks its dependencies and parent,
 * which must be in memory (SW_ENOT_FOUND, SW_EINVAL for a repeated dependency or a
 * parent of children with `after`, SW_EBAD_STATE when its parent of children is
 * already decided), reserves room for its edges (SW_ENOMEM) and sets its state:
 * waiting for a parent of children, blocked (scheduled) while a dependency is
 * unfinished or when one already failed (*failed names it: the caller fails the task
 * once it is indexed). */
int sw__graph_prepare(struct sw_sched *s, struct sw_task *t, int64_t now, struct sw_task **failed);
/* The new task is indexed: links it to its dependencies and parent (cannot fail). */
void sw__graph_link(struct sw_sched *s, struct sw_task *t);
/* Fails the new task t whose dependency dep had already failed or been cancelled. */
void sw__graph_fail_new(struct sw_sched *s, struct sw_task *t, struct sw_task *dep, int64_t now);
/* t moved from state `from` to its current state: counts it in its waiting parent and
 * queues what its end implies. */
void sw__graph_moved(struct sw_sched *s, struct sw_task *t, enum sw_task_state from, int64_t now);
/* Drains the worklist (the scheduler calls it after each operation's event). */
void sw__graph_settle(struct sw_sched *s);
/* Recovery, after every task was restored: rebuilds the edges from the tasks in
 * memory, blocks or releases dependents, decides parents whose children all ended. */
void sw__graph_recover(struct sw_sched *s, int64_t now);

#endif
