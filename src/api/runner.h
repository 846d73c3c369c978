/* SPDX-License-Identifier: MIT
 * runner.h - the processes behind managed agents. A stdio agent is one long-lived
 * process speaking JSON-RPC 2.0, one object per line: swarmd calls task.run and the
 * agent may call back task.submit, task.get, task.progress and log. An exec agent runs
 * one process per task (payload on stdin, result on stdout). Both take their tasks
 * through a lease waiter of the scheduler, the same path as a remote agent's long poll.
 * Output goes to <home>/logs/<agent>.log, rotated by size. */
#ifndef SW_RUNNER_H
#define SW_RUNNER_H

#include <stddef.h>
#include <stdint.h>

struct sw_server;
struct sw_agent;

/* Copies capabilities, slots and labels from the agent's template into the agent. */
int sw_runner_describe(struct sw_server *s, struct sw_agent *a);
void sw_runner_start(struct sw_server *s, struct sw_agent *a);
/* Called at each loop turn: resets the per-turn spawn budget. */
void sw_runner_new_turn(struct sw_server *s);
/* Starts now (or within a few milliseconds when many start at once), or after the
 * crash-loop backoff if its last runs were short. */
void sw_runner_start_supervised(struct sw_server *s, struct sw_agent *a);
/* Starts after delay_ms (state backoff meanwhile). */
void sw_runner_schedule_start(struct sw_server *s, struct sw_agent *a, int64_t delay_ms);
/* SIGTERM to its process group, SIGKILL after the template's stop_grace; then_start
 * starts it again once it has exited. */
void sw_runner_stop(struct sw_server *s, struct sw_agent *a, int then_start);
/* Stop, then start again (immediate: no wait for a backoff in progress). */
void sw_runner_restart(struct sw_server *s, struct sw_agent *a, int immediate);
/* Its template changed: restart it, one agent at a time across the daemon. */
void sw_runner_roll(struct sw_server *s, struct sw_agent *a);
void sw_runner_roll_cb(struct sw_server *s, struct sw_agent *a, void *arg);
/* The agent is being removed: kill its processes and free its runtime state. */
void sw_runner_forget(struct sw_server *s, struct sw_agent *a);
/* 1 if the agent was stopped for being idle (a task for it starts it again). */
int sw_runner_resting(const struct sw_agent *a);
/* What `swarm connect` runs: a shell with the agent's environment (without its token),
 * work dir and sandbox. New argv and env (caller frees with sw_strv_free). */
int sw_runner_connect(struct sw_server *s, struct sw_agent *a, char ***argv, char ***env, char *cwd,
                      size_t size);
/* Managed processes still alive. */
int sw_runner_active(struct sw_server *s);
/* Hands managed agents the tasks whose leases are now committed (after each commit). */
void sw_runner_deliver_committed(struct sw_server *s);
/* Reaps exited orphans (the daemon is a subreaper) that libuv does not know of. */
void sw_runner_reap_orphans(struct sw_server *s);
/* Tells agents about their cancelled or expired tasks (kills exec processes, sends
 * task.cancel to stdio agents). */
void sw_runner_deliver_cancels(struct sw_server *s);

#endif
