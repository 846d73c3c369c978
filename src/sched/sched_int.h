/* SPDX-License-Identifier: MIT
 * sched_int.h - the scheduler's transitions, for its graph part (graph.c): the same
 * helpers every operation of sched.c goes through, so that the heaps, counts, cache
 * and dirty marks stay consistent whoever moves a task. */
#ifndef SW_SCHED_INT_H
#define SW_SCHED_INT_H

#include "sched/sched.h"

/* Moves t to the state `apply` writes (updated_at, dirty mark, graph follow-up). */
int sw__sched_move(struct sw_sched *s, struct sw_task *t, void (*apply)(struct sw_task *, void *),
                   void *arg, int64_t now);
/* Takes t out of its place and puts it back after `apply` changed how it is held
 * (blocked, pinned), without marking it changed: the task's meaning is the same. */
int sw__sched_reattach(struct sw_sched *s, struct sw_task *t,
                       void (*apply)(struct sw_task *, void *), void *arg);
/* Reports an event of t to the owner (then drains the graph worklist). */
void sw__sched_event(struct sw_sched *s, struct sw_task *t, enum sw_task_event ev);

#endif
