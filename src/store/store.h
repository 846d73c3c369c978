/* SPDX-License-Identifier: MIT
 * store.h - the durable store: an operations table with one backend per database
 * (SQLite now; PostgreSQL for cluster mode). The loop thread builds commit batches
 * (snapshots of changed tasks and agents) and reads; the committer's writer thread
 * commits each batch as one transaction. Reads use their own connection and see
 * only committed data. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include "model/agent.h"
#include "model/event.h"
#include "model/memory.h"
#include "model/task.h"

#include <stddef.h>
#include <stdint.h>

enum sw_store_sync { SW_STORE_SYNC_FULL = 0, SW_STORE_SYNC_NORMAL, SW_STORE_SYNC_OFF };

struct sw_store_options {
    const char *path; /* database file */
    int sync;         /* enum sw_store_sync */
};

enum sw_store_op_kind {
    SW_STORE_TASK_INSERT,
    SW_STORE_TASK_UPDATE,
    SW_STORE_AGENT_PUT,
    SW_STORE_AGENT_DELETE,
    SW_STORE_TEMPLATE_PUT, /* name, spec */
    SW_STORE_TEMPLATE_DELETE,
    SW_STORE_SWARM_PUT, /* name, spec, flag = stopped */
    SW_STORE_SWARM_DELETE,
    SW_STORE_TASK_PRUNE,     /* delete finished tasks with an id below `at` (bounded per op) */
    SW_STORE_EVENT_INSERT,   /* event (borrowed: the loop frees it only after the commit) */
    SW_STORE_EVENT_PRUNE,    /* delete events below seq `at` (bounded per op) */
    SW_STORE_MEMORY_PUT,     /* mem (snapshot), flag = versions of history kept */
    SW_STORE_MEMORY_DELETE,  /* mem: ns, key, revision, updated_at, expire_at = 1 when it
                                expired; flag = history kept */
    SW_STORE_WEBHOOK_PUT,    /* at = id, name = spec JSON, spec = delivery state JSON */
    SW_STORE_WEBHOOK_DELETE, /* at = id */
    SW_STORE_COST_ADD,       /* name = swarm ("" for none), spec = template, at = minute
                                bucket (wall ms): cost and agent_ms are added to it */
    SW_STORE_SWARM_SCALED,   /* name = swarm, at = its autoscaled replicas (-1: none) */
};

/* One row change: a snapshot that the writer thread owns. */
struct sw_store_op {
    enum sw_store_op_kind kind;
    struct sw_task *task;         /* snapshot (insert: every column; update: mutable ones) */
    struct sw_agent *agent;       /* snapshot */
    char *capabilities;           /* agent: JSON array text */
    char *name, *spec;            /* templates and swarms; webhooks */
    const struct sw_event *event; /* borrowed */
    struct sw_mem_entry *mem;     /* snapshot (owned) */
    int flag;
    int64_t at;
    double cost;      /* SW_STORE_COST_ADD */
    int64_t agent_ms; /* SW_STORE_COST_ADD */
};

struct sw_store_batch {
    struct sw_store_batch *next; /* batches queued for the writer */
    uint64_t seq;
    struct sw_store_op *ops;
    size_t len, cap;
};

struct sw_task_filter {
    int state; /* enum sw_task_state or -1 */
    int dead;  /* 0/1 or -1 */
    const char *capability;
    uint64_t after_id; /* cursor: ids greater than this */
    int limit;
};

/* Called for each row at load; takes ownership of the entity. Non-zero stops.
 * Templates and swarms come first (name, spec JSON text, stopped flag), borrowed. */
struct sw_store_loader {
    void *ctx;
    int (*template)(void *ctx, const char *name, const char *spec);
    int (*swarm)(void *ctx, const char *name, const char *spec, int stopped);
    int (*task)(void *ctx, struct sw_task *t);
    int (*agent)(void *ctx, struct sw_agent *a);
    /* memory entries (ownership moves) and webhooks (borrowed text) */
    int (*memory)(void *ctx, struct sw_mem_entry *e);
    int (*webhook)(void *ctx, uint64_t id, const char *spec, const char *state);
};

/* A page of the event log: events after `after` matching filter (NULL = all). */
struct sw_event_query {
    uint64_t after;
    const struct sw_event_filter *filter;
    size_t limit;
};

struct sw_store;

struct sw_store_ops {
    const char *name;
    int (*open)(struct sw_store **out, const struct sw_store_options *o);
    void (*close)(struct sw_store *st);
    /* Loads unfinished tasks and every agent; *max_task_id gets the largest task id. */
    int (*load)(struct sw_store *st, const struct sw_store_loader *l, uint64_t *max_task_id);
    /* Writer thread only: commits the batch and every batch linked after it through
     * `next`, in order, as one transaction. */
    int (*commit)(struct sw_store *st, const struct sw_store_batch *b);
    /* Loop thread reads: a new task (caller frees) or SW_ENOT_FOUND. */
    int (*task_get)(struct sw_store *st, uint64_t id, struct sw_task **out);
    int (*task_by_key)(struct sw_store *st, const char *key, struct sw_task **out);
    /* New array of new tasks (caller frees all). */
    int (*task_list)(struct sw_store *st, const struct sw_task_filter *f, struct sw_task ***out,
                     size_t *n);
    /* The children of task `parent` (parent > 0) with an id above after_id, in id order,
     * at most limit: a new array of new tasks (caller frees all). */
    int (*task_children)(struct sw_store *st, uint64_t parent, uint64_t after_id, size_t limit,
                         struct sw_task ***out, size_t *n);
    /* Events (new array of new events; caller frees). Bounds: first and last stored
     * sequence (0, 0 when empty). */
    int (*event_list)(struct sw_store *st, const struct sw_event_query *q, struct sw_event ***out,
                      size_t *n);
    int (*event_bounds)(struct sw_store *st, uint64_t *first, uint64_t *last);
    /* Events older than time_ms: the first sequence at or after it (for age retention). */
    int (*event_seq_at)(struct sw_store *st, int64_t time_ms, uint64_t *seq);
    /* A key's last versions, newest first, as a JSON array text (caller frees). */
    int (*memory_history)(struct sw_store *st, const char *ns, const char *key, size_t limit,
                          char **json);
    /* Costs summed per swarm and template over the minute buckets that start at or after
     * since_ms, each row handed to row (non-zero stops); *seq is the batch sequence of the
     * last cost change the read saw, so that changes committed after it can be told apart. */
    int (*cost_totals)(struct sw_store *st, int64_t since_ms,
                       int (*row)(void *ctx, const char *swarm, const char *template_name,
                                  double cost, int64_t agent_ms),
                       void *ctx, uint64_t *seq);
    /* The autoscaled replicas stored for each swarm that has them. */
    int (*swarm_scaled)(struct sw_store *st,
                        int (*row)(void *ctx, const char *swarm, int64_t replicas), void *ctx);
};

struct sw_store {
    const struct sw_store_ops *ops;
};

extern const struct sw_store_ops sw_store_sqlite_ops;

/* Batches, on the loop thread. add_* snapshot the entity's current state. */
struct sw_store_batch *sw_store_batch_new(uint64_t seq);
int sw_store_batch_add_task(struct sw_store_batch *b, const struct sw_task *t);
int sw_store_batch_add_agent(struct sw_store_batch *b, const struct sw_agent *a);
/* Deletes (up to a bounded number of) finished tasks whose id is below before_id. */
int sw_store_batch_add_prune(struct sw_store_batch *b, uint64_t before_id);
/* A template or swarm change: spec NULL = delete. */
int sw_store_batch_add_spec(struct sw_store_batch *b, int is_swarm, const char *name,
                            const char *spec, int stopped, int64_t now);
/* Events and memory (see the op kinds). */
int sw_store_batch_add_event(struct sw_store_batch *b, const struct sw_event *ev);
int sw_store_batch_add_event_prune(struct sw_store_batch *b, uint64_t before_seq);
int sw_store_batch_add_memory(struct sw_store_batch *b, const struct sw_mem_entry *e, int history);
/* A delete (expired = 1: by its TTL, as the history tells). */
int sw_store_batch_add_memory_delete(struct sw_store_batch *b, const char *ns, const char *key,
                                     uint64_t revision, int64_t now, int expired, int history);
/* state NULL = delete the webhook. */
int sw_store_batch_add_webhook(struct sw_store_batch *b, uint64_t id, const char *spec,
                               const char *state);
/* Adds cost and agent time to the (swarm, template, minute bucket) row. */
int sw_store_batch_add_cost(struct sw_store_batch *b, const char *swarm, const char *template_name,
                            int64_t bucket_ms, double cost, int64_t agent_ms);
/* The autoscaled replicas of a swarm (-1: none). */
int sw_store_batch_add_scaled(struct sw_store_batch *b, const char *swarm, int64_t replicas);
void sw_store_batch_free(struct sw_store_batch *b);

#endif
