/* SPDX-License-Identifier: MIT
 * runner_int.h - what runner.c, agent_rpc.c and agent_exec.c share: the per-agent
 * runtime state of a managed agent (agent->runtime) and the functions they call across
 * files. Not for use outside these three files. */
#ifndef SW_RUNNER_INT_H
#define SW_RUNNER_INT_H

#include "core/buf.h"
#include "model/agent.h"
#include "model/template.h"
#include "runtime/linebuf.h"
#include "runtime/logfile.h"
#include "runtime/process.h"
#include "sched/sched.h"

#include <jansson.h>
#include <uv.h>

#define STDERR_TAIL 2048

struct sw_server;

struct rpc_call {
    struct rpc_call *next;
    uint64_t rpc_id;
    uint64_t task_id;
    uint64_t lease_id;
};

struct exec_run {
    struct exec_run *next;
    struct agent_rt *rt;
    struct sw_process *proc;
    uint64_t task_id, lease_id;
    struct sw_buf out;
    char err_tail[STDERR_TAIL];
    size_t err_len;
    int cancelled;
    int too_large; /* stdout went past --max-payload */
};

struct agent_rt {
    struct sw_server *server;
    struct sw_agent *agent;
    struct sw_process *proc; /* stdio */
    struct sw_linebuf lines;
    struct sw_logfile *log;
    uv_timer_t timer;
    int timer_init;
    struct sw_lease_waiter waiter;
    struct sw_task **wtasks;
    int wcap;
    int fast_exits;
    int then_start;
    int outdated;
    int started_once;
    uint64_t next_rpc_id;
    struct rpc_call *calls;
    struct exec_run *runs;
    int mode;
    char token[70]; /* the agent's current token (exec tasks get it too) */
    /* health checks and idle stop (agent_health.c) */
    uv_timer_t watch_timer;
    int watch_init;
    struct health_check *check; /* the check in progress, or NULL */
    uint64_t health_seq;
    int64_t next_check;
    int health_failures;
    int closing; /* handles still closing: freed when 0 */
    int64_t idle_since;
    int idle_stopped;          /* stopped for being idle: a task may start it again */
    struct rpc_watch *watches; /* memory.watch subscriptions (agent_shared.c) */
    uv_timer_t watch_retry;    /* resumes watches held back by a full pipe */
    int watch_retry_init;
};

extern int sw__live_processes;

/* Writes a log line (prefix, then data) to the agent's log file. */
void sw__rt_log(struct agent_rt *rt, const char *prefix, const char *data, size_t len);
/* Asks the scheduler for tasks for the agent's free slots. */
void sw__rt_arm_waiter(struct agent_rt *rt);
/* Spawns the agent's command (sandbox, limits, environment; task: exec mode). */
int sw__rt_spawn(struct agent_rt *rt, const struct sw_template *t, const struct sw_task *task,
                 sw_process_exit_cb exit_cb, sw_process_read_cb read_cb, void *data,
                 struct sw_process **out);
/* The task as a JSON object (new reference). */
json_t *sw__task_json(const struct sw_task *t);
/* stdio: sends one message (steals the reference); handles one stdout line. */
void sw__rpc_send(struct agent_rt *rt, json_t *msg);
void sw__rpc_on_line(void *arg, const char *line, size_t len, int too_long);
/* exec: runs a task in a new process. */
void sw__exec_start(struct agent_rt *rt, struct sw_task *t);
/* health checks and idle stop: begin when the agent runs, end when it stops; the
 * answer to a JSON-RPC ping ("health-<seq>"); release at forget time. */
void sw__health_begin(struct agent_rt *rt);
void sw__health_end(struct agent_rt *rt);
void sw__health_rpc_answer(struct agent_rt *rt, const char *id, int ok);
void sw__health_release(struct agent_rt *rt);
/* stdio: sends msg (stolen) once the changes made so far are committed, if the same
 * process still runs then. */
void sw__rpc_send_committed(struct agent_rt *rt, json_t *msg);
/* stdio: the agent's calls on events and memory (event.publish, memory.*); 1 if the
 * method is one of them (answered), 0 if not. */
int sw__shared_request(struct agent_rt *rt, json_t *id, const char *method, json_t *params);
/* Ends the agent's memory watches (its process exited). */
void sw__shared_end(struct agent_rt *rt);
/* Close callback of the handles inside struct agent_rt: frees it after the last. */
void sw__rt_handle_closed(uv_handle_t *h);

#endif
