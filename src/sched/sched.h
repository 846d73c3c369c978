/* SPDX-License-Identifier: MIT
 * sched.h - the scheduler: owns every live task and agent, the per-capability ready
 * queues, the delay heap (scheduled tasks by run_at) and the lease heap (running
 * tasks by lease deadline). A task routed to a swarm (task->swarm) goes only to that
 * swarm's agents; an unrouted one to any provider. It applies requests (submit, lease, complete,
 * fail, cancel, retry, heartbeat, register, remove) and time (tick) to that model and tells its
 * owner what changed through hooks; it does no I/O and reads no clock: every call takes `now`
 * (wall-clock milliseconds), so tests drive it deterministically. */
#ifndef SW_SCHED_H
#define SW_SCHED_H

#include "core/map.h"
#include "model/agent.h"
#include "model/task.h"
#include "sched/breaker.h"
#include "sched/graph.h"
#include "sched/heap.h"

#include <stddef.h>
#include <stdint.h>

enum sw_task_event {
    SW_TASK_EV_SUBMITTED,
    SW_TASK_EV_PROMOTED, /* scheduled -> queued */
    SW_TASK_EV_LEASED,
    SW_TASK_EV_PROGRESS,
    SW_TASK_EV_SUCCEEDED,
    SW_TASK_EV_ATTEMPT_FAILED, /* an attempt failed; the task retries */
    SW_TASK_EV_DEAD,           /* failed for good */
    SW_TASK_EV_CANCELLED,
    SW_TASK_EV_RETRIED, /* retried by hand */
};

enum sw_agent_event {
    SW_AGENT_EV_REGISTERED,
    SW_AGENT_EV_LOST,
    SW_AGENT_EV_BACK,
    SW_AGENT_EV_REMOVED,
    SW_AGENT_EV_BREAKER /* its circuit breaker changed state (a->breaker.reason says why) */
};

struct sw_sched_hooks {
    void *ctx;
    /* The entity changed and must be written in the open commit batch. */
    void (*task_dirty)(void *ctx, struct sw_task *t);
    void (*agent_dirty)(void *ctx, struct sw_agent *a);
    /* Something happened (metrics, long-poll waiters, later the event log). */
    void (*task_event)(void *ctx, struct sw_task *t, enum sw_task_event ev);
    void (*agent_event)(void *ctx, struct sw_agent *a, enum sw_agent_event ev);
};

struct sw_sched_config {
    int64_t lease_ms;     /* lease length, renewed by heartbeats */
    int64_t heartbeat_ms; /* interval agents are asked to keep */
    int lost_after;       /* missed heartbeats before an agent is lost */
    int default_max_attempts;
    struct sw_backoff default_backoff;
    size_t terminal_cache; /* finished tasks kept in memory (older ones live in the store) */
    struct sw_breaker_config breaker; /* zeroed: breakers never open */
};

/* The ready tasks of one capability routed to one swarm: only its agents take them. */
struct sw_lane {
    char *swarm; /* owned: the key in its queue's lanes */
    struct sw_heap ready;
};

/* One per capability: the ready heap of its unrouted tasks (task->swarm NULL: any
 * provider takes them), one lane per swarm its routed tasks wait in (so an agent never
 * waits behind another swarm's task), and the live counts by state over all swarms. */
struct sw_queue {
    char *capability;
    struct sw_heap ready;           /* unrouted */
    struct sw_strmap lanes;         /* swarm -> struct sw_lane (lanes stay once made) */
    int64_t count[SW_TASK_NSTATES]; /* live (non-evicted) tasks by state, every swarm */
};

/* A lease request waiting for work (long poll). Owned by the caller; the scheduler
 * links it and calls ready_cb once: with tasks (ntasks > 0) when work came, or with
 * ntasks == 0 and rc != 0 when the agent went away. After the callback the waiter is
 * unlinked and the scheduler does not touch it again. */
struct sw_lease_waiter {
    struct sw_agent *agent;
    int max;
    struct sw_task **tasks; /* caller-provided array of `max` entries */
    int ntasks;
    int rc;
    void (*ready_cb)(struct sw_lease_waiter *w);
    void *data;
    struct sw_lease_waiter *prev, *next;
    int linked;
};

struct sw_sched {
    struct sw_sched_config cfg;
    struct sw_sched_hooks hooks;
    struct sw_map tasks;                 /* id -> task (live and recently finished) */
    struct sw_strmap idempotency;        /* key -> task, for tasks in memory */
    struct sw_strmap queues;             /* capability -> struct sw_queue */
    struct sw_map agents;                /* id -> agent */
    struct sw_strmap agent_names;        /* name -> agent */
    struct sw_heap delayed;              /* SCHEDULED by run_at */
    struct sw_heap leases;               /* RUNNING by lease_deadline */
    struct sw_task *lru_head, *lru_tail; /* terminal tasks, oldest first */
    size_t terminal_count;
    struct sw_lease_waiter *waiters_head, *waiters_tail;
    int work_pending;    /* a task became queued since the last dispatch */
    int cancels_pending; /* an agent has cancelled tasks to be told about */
    int64_t next_agent_check;
    uint64_t last_task_id, last_agent_id, last_lease_id;
    uint64_t rng;
    struct sw_graph_work graph; /* tasks whose end the task graph acts on (graph.c) */

    /* load shedding and circuit breakers */
    struct sw_strmap swarm_waiting; /* swarm -> count of its queued and scheduled tasks */
    int64_t next_breaker_at;        /* earliest half_open_at of an open breaker, 0 = none */
    uint64_t breaker_trips;         /* breakers opened since start */
};

void sw_sched_init(struct sw_sched *s, const struct sw_sched_config *cfg,
                   const struct sw_sched_hooks *hooks, uint64_t seed);
void sw_sched_free(struct sw_sched *s);
uint64_t sw_sched_random(struct sw_sched *s);

/* Recovery: hand over tasks and agents read from the store (ownership moves to the
 * scheduler), then finish: leased tasks count a failed attempt and retry. */
int sw_sched_restore_task(struct sw_sched *s, struct sw_task *t);
int sw_sched_restore_agent(struct sw_sched *s, struct sw_agent *a);
void sw_sched_finish_recovery(struct sw_sched *s, int64_t now);

/* Lookups; borrowed pointers, NULL when absent (a finished task may have been evicted
 * from memory: ask the store). */
struct sw_task *sw_sched_task(struct sw_sched *s, uint64_t id);
struct sw_task *sw_sched_task_by_key(struct sw_sched *s, const char *key);
struct sw_agent *sw_sched_agent(struct sw_sched *s, uint64_t id);
struct sw_agent *sw_sched_agent_by_name(struct sw_sched *s, const char *name);
/* The queue of a capability: its counts add up every swarm's tasks. */
struct sw_queue *sw_sched_queue(struct sw_sched *s, const char *capability);
/* Ready (queued) tasks of q: every lane and the unrouted heap. */
size_t sw_queue_ready_len(const struct sw_queue *q);
/* Ready tasks of q that swarm's agents may take: the unrouted ones and its lane's. */
size_t sw_queue_ready_for(const struct sw_queue *q, const char *swarm);
/* Live tasks of a swarm (task->swarm) that are queued or scheduled (its max_queue). */
int64_t sw_sched_swarm_waiting(const struct sw_sched *s, const char *swarm);

/* Takes ownership of t (filled by the caller: capability, payload, options; run_at
 * for a delay) and makes it queued or scheduled with a new id. A task with `after`
 * stays scheduled (blocked) until they succeed; one with fan_in waits for its
 * children; its dependencies and parent must be in memory (SW_ENOT_FOUND; see
 * sw__graph_prepare for the other refusals). On error t is freed. */
int sw_sched_submit(struct sw_sched *s, struct sw_task *t, int64_t now);

/* Leases up to max queued tasks of the agent's capabilities (priority, then age),
 * bounded by its free slots. Fills tasks[] and *n. */
int sw_sched_lease(struct sw_sched *s, struct sw_agent *a, int max, int64_t now,
                   struct sw_task **tasks, int *n);
void sw_sched_wait(struct sw_sched *s, struct sw_lease_waiter *w);
void sw_sched_unwait(struct sw_sched *s, struct sw_lease_waiter *w);
/* Serves waiting leases from the queues; call once per loop turn. */
void sw_sched_dispatch(struct sw_sched *s, int64_t now);

/* Outcomes reported by the lease holder. SW_ESTALE_LEASE when lease_id is not the
 * task's current lease (or the task is not running), SW_EFORBIDDEN when the agent is
 * not the holder. result/error/progress are compact JSON texts (copied). */
int sw_sched_complete(struct sw_sched *s, struct sw_task *t, struct sw_agent *a, uint64_t lease_id,
                      const char *result, int64_t now);
int sw_sched_fail(struct sw_sched *s, struct sw_task *t, struct sw_agent *a, uint64_t lease_id,
                  const char *error, int retry, int64_t now);
int sw_sched_progress(struct sw_sched *s, struct sw_task *t, struct sw_agent *a, uint64_t lease_id,
                      const char *progress, int64_t now);

/* Client actions. Cancel: SW_EBAD_STATE on succeeded/failed (cancelled again is a
 * no-op). Retry: only failed or cancelled tasks. */
int sw_sched_cancel(struct sw_sched *s, struct sw_task *t, int64_t now);
int sw_sched_retry(struct sw_sched *s, struct sw_task *t, int64_t now);

/* Agents. register takes ownership of a (id assigned here). heartbeat renews its
 * leases; the caller reads a->cancelled then calls sw_sched_cancel_told. */
int sw_sched_register_agent(struct sw_sched *s, struct sw_agent *a, int64_t now);
void sw_sched_touch_agent(struct sw_sched *s, struct sw_agent *a, int64_t now);
void sw_sched_heartbeat(struct sw_sched *s, struct sw_agent *a, int64_t now);
void sw_sched_cancel_told(struct sw_agent *a);
/* Managed agents: the process is ready (leases may flow), or it is gone: its leases
 * are requeued at once (the attempt counts, error is the JSON error recorded) and it
 * takes the given state. */
void sw_sched_agent_up(struct sw_sched *s, struct sw_agent *a, int64_t now);
/* The agent's row changed (state, desired state): write it in the next batch. */
void sw_sched_agent_changed(struct sw_sched *s, struct sw_agent *a);
void sw_sched_agent_down(struct sw_sched *s, struct sw_agent *a, enum sw_agent_state state,
                         const char *error, int64_t now);
/* Removes the agent: its leases are requeued, its waiters answered; the agent is
 * handed to the commit batch (removed flag) which frees it. */
void sw_sched_remove_agent(struct sw_sched *s, struct sw_agent *a, int64_t now);

/* Applies time: scheduled tasks due, leases expired, agents lost. */
void sw_sched_tick(struct sw_sched *s, int64_t now);
/* The earliest time tick has work to do (at the latest, the next check for lost
 * agents). */
int64_t sw_sched_next_deadline(const struct sw_sched *s);
/* Forgets finished tasks with an id below before_id (retention; not those in the open
 * commit batch). */
void sw_sched_forget_before(struct sw_sched *s, uint64_t before_id);
/* Evicts finished tasks past the cache size (only those already handed to the store). */
void sw_sched_evict(struct sw_sched *s);

#endif
