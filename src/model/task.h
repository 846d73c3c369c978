/* SPDX-License-Identifier: MIT
 * task.h - the task entity: a unit of work with a capability, a JSON payload and a
 * lifecycle scheduled -> queued -> running -> succeeded | failed | cancelled; a parent
 * that waits for its children instead of running is `waiting` until they decide it.
 * This module owns struct sw_task, its state names, its pure transitions (what happens
 * on a failure, given attempts and backoff), its graph fields (after, fan-in) and its
 * JSON rendering. No I/O. */
#ifndef SW_TASK_H
#define SW_TASK_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

enum sw_task_state {
    SW_TASK_SCHEDULED = 0, /* waiting for run_at (delay or retry backoff) */
    SW_TASK_QUEUED,
    SW_TASK_RUNNING,
    SW_TASK_SUCCEEDED,
    SW_TASK_FAILED,
    SW_TASK_CANCELLED,
    SW_TASK_WAITING, /* a parent waiting for its children (never dispatched); after
                        CANCELLED so that stored state numbers keep their meaning */
    SW_TASK_NSTATES
};

/* How a parent created with children is decided by them (0: not such a parent). */
enum sw_fan_in { SW_FAN_IN_NONE = 0, SW_FAN_IN_ALL, SW_FAN_IN_ANY, SW_FAN_IN_QUORUM };

#define SW_TASK_MAX_AFTER 1024 /* dependencies of one task */

struct sw_backoff {
    int64_t initial_ms;
    int64_t max_ms;
    double multiplier;
};

/* The graph edges of a task, kept by the scheduler (sched/graph.c) and allocated only
 * for a task that has some: tasks waiting for it, children, or dependencies of its own
 * not yet met. Edges are ids, never pointers: either end may leave memory first. */
struct sw_task_links {
    uint64_t *dependents; /* owned: blocked tasks whose `after` names this one */
    size_t ndependents, dependents_cap;
    uint64_t *children; /* owned: its children, in creation order */
    size_t nchildren, children_cap;
    size_t succeeded, failed; /* a waiting parent: children that ended so (failed: or
                                 cancelled) */
    size_t deps_pending;      /* blocked: dependencies that have not succeeded yet */
};

struct sw_task {
    uint64_t id;
    char *capability;      /* owned */
    char *payload;         /* owned compact JSON text */
    char *labels;          /* owned compact JSON object text, NULL = {} */
    char *idempotency_key; /* owned or NULL */
    char *swarm;           /* owned or NULL: only this swarm's agents take it */
    char *route;           /* owned compact JSON array of swarm names it was routed by, or NULL */
    int wait_for_provider; /* submitted while nothing could serve it: it waits queued */
    char *selector;        /* owned compact JSON object: labels its agent must have, or NULL */
    char *affinity;        /* owned: its swarm's routing.hash value (agent by hashing), or NULL */
    uint64_t parent;       /* 0 = none */
    uint64_t *after;       /* owned: ids of the tasks it runs after, NULL = none */
    size_t nafter;
    int fan_in; /* enum sw_fan_in */
    int quorum; /* SW_FAN_IN_QUORUM: successes that decide it */
    int64_t priority;
    enum sw_task_state state;
    int attempt; /* leases so far */
    int max_attempts;
    int dead;
    int64_t timeout_ms; /* run time per attempt, 0 = none */
    struct sw_backoff backoff;

    int64_t created_at; /* wall ms */
    int64_t updated_at;
    int64_t run_at;      /* scheduled: when it becomes queued */
    int64_t queued_at;   /* when it last entered queued (dispatch latency) */
    int64_t started_at;  /* last lease */
    int64_t finished_at; /* terminal */

    uint64_t lease_id;      /* running: the current lease; kept after for history */
    int64_t lease_deadline; /* running: wall ms when the lease expires */
    uint64_t agent_id;      /* running: holder; after: last holder */
    char *result;           /* owned JSON text or NULL */
    char *error;            /* owned JSON object text {"code","message"} or NULL */
    char *progress;         /* owned JSON text or NULL */

    /* bookkeeping of the scheduler (not part of the task's meaning) */
    size_t heap_index;          /* position in the heap that holds it */
    unsigned on_agent : 1;      /* linked in the holder's lease list */
    struct sw_task *agent_prev; /* running: list of the holder's leases */
    struct sw_task *agent_next;
    struct sw_task *lru_prev; /* terminal: eviction order */
    struct sw_task *lru_next;
    struct sw_task_links *links; /* owned, NULL = no graph edges */
    struct sw_task *graph_next;  /* in the scheduler's graph worklist */
    unsigned blocked : 1;        /* scheduled until its dependencies succeed: in no heap */
    unsigned pinned : 1;         /* a child of a waiting parent: once finished, kept in
                                    memory (not in the eviction order) until it is decided */
    unsigned graph_queued : 1;   /* in the graph worklist */
    /* bookkeeping of the commit batch */
    struct sw_task *dirty_next;
    unsigned dirty : 1;     /* in the open commit batch */
    unsigned persisted : 1; /* a row exists (or is being written) */
};

extern const char *const sw_task_state_names[SW_TASK_NSTATES];

/* Parses a state name; 0 or SW_EINVAL. */
int sw_task_state_parse(const char *name, enum sw_task_state *state);
int sw_task_state_terminal(enum sw_task_state state);

/* "all", "any", "quorum" (NULL for SW_FAN_IN_NONE); parse: 0 or SW_EINVAL. */
const char *sw_fan_in_name(int fan_in);
int sw_fan_in_parse(const char *name, int *fan_in);

/* The `after` ids as a JSON array of task ids (["t_...",...]), appended to out. */
int sw_task_after_render(const struct sw_task *t, struct sw_buf *out);
/* Reads such an array into t->after (replaced). 0, SW_EINVAL or SW_ENOMEM. */
int sw_task_after_parse(struct sw_task *t, const char *text);

/* New zeroed task (caller frees with sw_task_free), NULL on allocation failure. */
struct sw_task *sw_task_new(void);
void sw_task_free(struct sw_task *t);
/* Replaces an owned string field with a copy of value (NULL clears). */
int sw_task_set_str(char **field, const char *value);

/* Delay before attempt `attempt + 1` after `attempt` failed ones:
 * min(max, initial * multiplier^(attempt-1)), with equal jitter drawn from rand64
 * (the result lies in [d/2, d]). Pure. */
int64_t sw_backoff_delay_ms(const struct sw_backoff *b, int attempt, uint64_t rand64);

/* What happens to a running task whose attempt failed (error, lease expiry, agent
 * lost): retry after backoff (SCHEDULED) while attempts remain and retry is allowed,
 * else FAILED and dead. Sets state, run_at, dead, finished_at. Pure. */
void sw_task_after_failure(struct sw_task *t, int retry, int64_t now, uint64_t rand64);

/* Appends the task as a JSON object to out (a parent's children: the first
 * SW_TASK_RENDER_CHILDREN ids, and children_count). 0 or SW_ETOO_LARGE / SW_ENOMEM. */
#define SW_TASK_RENDER_CHILDREN 1000
int sw_task_render(const struct sw_task *t, struct sw_buf *out);

/* Appends s as a JSON string literal (quoted, escaped). */
int sw_json_append_string(struct sw_buf *out, const char *s);

#endif
