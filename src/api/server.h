/* SPDX-License-Identifier: MIT
 * server.h - the daemon's state on the loop thread: the scheduler, the store and its
 * committer, metrics, the HTTP listeners, and the commit pipeline that holds every
 * response back until the changes made before it are durable. Changes of one loop
 * turn form one batch; while a batch commits the next one accumulates. */
#ifndef SW_SERVER_H
#define SW_SERVER_H

#include "api/admission.h"
#include "api/http.h"
#include "core/map.h"
#include "model/memory.h"
#include "obs/metrics.h"
#include "sched/registry.h"
#include "sched/sched.h"
#include "store/committer.h"
#include "store/store.h"

#include <stdint.h>
#include <uv.h>

/* The largest wait_ms a request may name; the configured --max-wait clamps it. */
#define SW_MAX_WAIT_MS 3600000

struct sw_server_config {
    const char *home;
    const char *db_path;
    const char *socket_path;
    const char *listen; /* "host:port" or NULL */
    const char *admin_token;
    int sync;
    int64_t max_payload;
    int64_t max_wait_ms;
    int64_t shutdown_grace_ms;
    int64_t max_connections;
    int64_t max_header_bytes;
    int64_t task_retention_ms;   /* 0 = keep finished tasks forever */
    int64_t events_retention_ms; /* events older than this are pruned (0 = by count only) */
    int64_t events_max;          /* at most this many events are kept */
    int64_t events_window;       /* events kept in memory for readers */
    struct sw_mem_limits memory_limits;
    int64_t memory_history; /* versions of each key kept for ?history=1 */
    int64_t rate_limit;     /* submits per second per caller token, 0 = no limit */
    int64_t rate_burst;     /* the size of each caller's bucket, 0 = rate_limit */
    int wait_for_provider;  /* --no-provider wait: every submit waits for a provider */
    struct sw_sched_config sched;
};

struct sw_server {
    uv_loop_t *loop;
    struct sw_server_config cfg;
    struct sw_sched sched;
    struct sw_store *store;
    struct sw_committer *committer;
    struct sw_metrics metrics;
    struct sw_admission admission;
    struct sw_registry registry; /* capability statistics (caps_api.c) */

    /* commit pipeline */
    struct sw_task *dirty_tasks;
    struct sw_agent *dirty_agents;
    int has_dirty;
    uint64_t open_seq;      /* the batch being filled */
    uint64_t queued_seq;    /* the last batch handed to the writer */
    uint64_t committed_seq; /* the last batch committed */
    struct sw_request *commit_head, *commit_tail;
    struct sw_store_batch *spec_ops; /* template and swarm changes of the open batch */

    /* desired state and managed agents (fleet.c) */
    struct sw_strmap templates;        /* name -> struct sw_template */
    struct sw_strmap swarms;           /* name -> struct sw_swarm */
    char *workdir;                     /* the daemon's working directory at start */
    char *socket_url;                  /* "unix:<socket>", given to managed agents */
    int cold_candidates;               /* idle-stopped agents */
    int zero_swarms;                   /* swarms scaled to zero */
    struct sw_scaling *scaling;        /* autoscaler, costs and budgets (scaling.c) */
    int spawns_this_turn;              /* agent processes started in this loop turn */
    int spawns_deferred;               /* starts spread over the next turns */
    struct sw_log_follower *followers; /* GET .../logs?follow=1 streams (swarms_api.c) */
    struct sw_delivery *deliveries_head, *deliveries_tail; /* leases waiting for their commit */

    /* event bus (events.c), shared memory (memory_api.c), webhooks.c, ws.c */
    struct sw_events *events;
    struct sw_memory memory;
    uv_timer_t memory_timer; /* the next TTL expiry */
    struct sw_webhooks *webhooks;
    struct sw_sse_stream *sse_streams; /* sse.c */
    long sse_count;
    struct sw_ws_conn *ws_conns;
    long ws_count;

    struct sw_map task_waiters; /* task id -> first waiting request (GET ?wait_ms) */
    struct sw_map agent_tokens; /* first 8 bytes of token hash -> agent */

    uv_async_t commit_async;
    uv_timer_t tick_timer;
    uv_prepare_t prepare;
    uv_timer_t shutdown_timer;
    uv_timer_t reap_timer;      /* orphan reaping, a little after SIGCHLD */
    uv_timer_t retention_timer; /* deletes finished tasks past --task-retention */
    uv_signal_t sig_term, sig_int, sig_hup, sig_chld;
    struct sw_http_listener unix_listener, tcp_listener;
    int has_tcp;
    uint64_t next_request_id;
    int64_t requests_in_flight;
    int ready;
    int stopping;
    int64_t stop_deadline;
    int exit_code;
};

/* Opens the store, recovers, binds the listeners and starts the loop's handles. */
int sw_server_start(struct sw_server *s, uv_loop_t *loop, const struct sw_server_config *cfg);
/* Begins a graceful stop (signals call this). */
void sw_server_shutdown(struct sw_server *s);
/* Frees what is left after the loop ended. */
void sw_server_free(struct sw_server *s);

int64_t sw_server_now(struct sw_server *s);
/* The response of req is ready: send it once the changes so far are committed. */
void sw_server_respond(struct sw_server *s, struct sw_request *req);
/* Loads a task: from memory, else from the store (*owned = 1: caller frees). */
int sw_server_task(struct sw_server *s, uint64_t id, struct sw_task **out, int *owned);
/* Makes an evicted (finished) task live again so it can change (manual retry). */
int sw_server_task_live(struct sw_server *s, uint64_t id, struct sw_task **out);
/* Long-poll on a task until it is finished. */
void sw_server_wait_task(struct sw_server *s, struct sw_request *req, uint64_t id);
void sw_server_unwait_task(struct sw_server *s, struct sw_request *req);
/* The open commit batch, for changes queued as they happen (specs, events, memory,
 * webhooks): marks the turn as dirty. NULL when out of memory. */
struct sw_store_batch *sw_server_open_batch(struct sw_server *s);
/* Queues a template or swarm change (spec NULL = deleted) in the open commit batch. */
int sw_server_spec_changed(struct sw_server *s, int is_swarm, const char *name, const char *spec,
                           int stopped);
/* An agent's log file grew (wakes its followers); the daemon stops (ends them). */
void sw_logs_written(struct sw_server *s, uint64_t agent_id);
void sw_logs_end_all(struct sw_server *s);
/* Agent tokens. */
int sw_server_add_token(struct sw_server *s, struct sw_agent *a);
struct sw_agent *sw_server_agent_by_token(struct sw_server *s, const char *token);
void sw_server_forget_token(struct sw_server *s, struct sw_agent *a);
void sw_token_hash(const char *token, unsigned char out[32]);

#endif
