/* SPDX-License-Identifier: MIT
 * committer.h - the writer thread, fed by a queue. The loop appends one batch per
 * loop turn that changed something; whenever the writer is free it takes every batch
 * queued so far and commits them as one transaction (group commit without waiting for
 * the loop), retrying a failed commit with backoff until it succeeds: nothing is
 * acknowledged before it is durable. Then it calls notify (from the writer thread: the
 * loop wires it to a uv_async) and the loop collects the result with
 * sw_committer_poll. SQLite checkpoints the WAL inside a commit every 1000
 * pages, so the WAL file is reused (an overwrite flushes faster than an append). */
#ifndef SW_COMMITTER_H
#define SW_COMMITTER_H

#include "store/store.h"

#include <stdint.h>

struct sw_committer;

/* notify(arg) is called on the writer thread after each commit. */
int sw_committer_start(struct sw_committer **out, struct sw_store *store, void (*notify)(void *arg),
                       void *arg);
/* Queues b (ownership moves); its seq must be above every queued one. Loop thread. */
void sw_committer_submit(struct sw_committer *c, struct sw_store_batch *b);
/* The sequence number of the last committed batch. Loop thread. */
uint64_t sw_committer_poll(struct sw_committer *c);
/* 1 while commits are failing and being retried (for /ready). */
int sw_committer_failing(struct sw_committer *c);
/* Stats: batches and ops committed, for metrics. */
void sw_committer_stats(struct sw_committer *c, uint64_t *batches, uint64_t *ops,
                        uint64_t *commit_us_total);
/* Waits for the batch in flight, stops both threads, frees c. */
void sw_committer_stop(struct sw_committer *c);

#endif
