/* SPDX-License-Identifier: MIT
 * agent.h - the agent entity: a member of (optionally) a swarm that runs tasks of its
 * capabilities, `slots` at a time. Remote agents register over HTTP and prove who
 * they are with a token (only its SHA-256 is kept). This module owns struct sw_agent,
 * its states and its JSON rendering. No I/O. */
#ifndef SW_AGENT_H
#define SW_AGENT_H

#include "core/buf.h"
#include "model/task.h"

#include <stddef.h>
#include <stdint.h>

enum sw_agent_state {
    SW_AGENT_READY = 0, /* running, with free slots */
    SW_AGENT_BUSY,      /* running, every slot taken */
    SW_AGENT_LOST,      /* remote: missed its heartbeats */
    SW_AGENT_STARTING,  /* managed: process spawned, not ready yet */
    SW_AGENT_STOPPING,  /* managed: told to stop, waiting for the exit */
    SW_AGENT_STOPPED,   /* managed: not running, by request or policy */
    SW_AGENT_BACKOFF,   /* managed: exited, restart scheduled */
    SW_AGENT_FAILED,    /* managed: cannot start, or its swarm failed */
    SW_AGENT_NSTATES
};
enum sw_agent_kind { SW_AGENT_REMOTE = 0, SW_AGENT_MANAGED };

#define SW_AGENT_MAX_CAPS 64

/* The agent's circuit breaker: closed (takes tasks), open (takes none until half_open_at),
 * half-open (one trial task). Its transitions are sched/breaker.c's, the only code that
 * changes it; it lives here to be rendered with the agent. Not stored: a restart closes
 * every breaker. */
enum sw_breaker_state {
    SW_BREAKER_CLOSED = 0,
    SW_BREAKER_OPEN,
    SW_BREAKER_HALF_OPEN,
    SW_BREAKER_NSTATES
};

#define SW_BREAKER_WINDOW_MAX 64

struct sw_breaker {
    enum sw_breaker_state state;
    int consecutive_failures;
    uint64_t outcomes;    /* the last outcome_count outcomes, newest in bit 0; 1 = failure */
    int outcome_count;    /* at most the configured window */
    int64_t opened_at;    /* wall ms of the last opening, 0 = never opened */
    int64_t half_open_at; /* open: when the trial may go */
    int64_t cooldown_ms;  /* of the last opening; doubles while trials fail */
    uint64_t trial_task;  /* half-open: the trial task while it runs, 0 = none */
    uint64_t trips;       /* times it opened */
    const char *reason;   /* static text: why it last changed, NULL = never changed */
};

struct sw_agent {
    uint64_t id;
    char *name;          /* owned */
    char **capabilities; /* owned array of owned strings */
    size_t ncapabilities;
    int slots;
    char *labels; /* owned compact JSON object text or NULL */
    char *swarm;  /* owned or NULL */
    enum sw_agent_kind kind;
    enum sw_agent_state state;
    int event_state; /* the state last told as an event, -1: none yet */
    /* managed agents */
    char *template_name; /* owned or NULL */
    int stopped;         /* desired state: stopped by request */
    int replica;         /* index in its swarm (start order), -1 standalone */
    int queen;           /* the swarm's queen agent (<swarm>-queen) */
    int pid;
    uint64_t restarts;
    int64_t started_at;
    int has_exit;
    int exit_code, exit_signal;
    int64_t exit_at;
    void *runtime; /* the fleet's per-agent state, owned by the fleet */
    unsigned char token_hash[32];
    int64_t created_at;   /* wall ms */
    int64_t last_seen_at; /* wall ms of its last call */

    int running;            /* leases held */
    int waiting;            /* lease long-polls open (the agent is alive) */
    struct sw_task *leases; /* list through task->agent_next */
    uint64_t *cancelled;    /* owned: ids of its cancelled tasks not yet told */
    size_t ncancelled, cancelled_cap;
    uint64_t total_completed, total_failed;
    struct sw_breaker breaker;

    /* bookkeeping of the commit batch */
    struct sw_agent *dirty_next;
    unsigned dirty : 1;
    unsigned persisted : 1;
    unsigned removed : 1; /* deleted: the batch writes the delete, then frees it */
};

extern const char *const sw_agent_state_names[SW_AGENT_NSTATES];
extern const char *const sw_breaker_state_names[SW_BREAKER_NSTATES];

struct sw_agent *sw_agent_new(void);
void sw_agent_free(struct sw_agent *a);
/* 1 if the agent lists the capability. */
int sw_agent_has_capability(const struct sw_agent *a, const char *capability);
/* Adds an id to the tell-on-next-call cancel list. */
int sw_agent_note_cancel(struct sw_agent *a, uint64_t task_id);
/* READY or BUSY from its free slots when it is one of those two. */
void sw_agent_update_state(struct sw_agent *a);
int sw_agent_render(const struct sw_agent *a, struct sw_buf *out);
/* 1 in the states that may hold leases (ready, busy). */
int sw_agent_running(const struct sw_agent *a);

#endif
