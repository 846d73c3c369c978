/* SPDX-License-Identifier: MIT
 * process.h - one child process on the libuv loop: spawned in its own session (so a
 * signal reaches its whole process group), its stdout and stderr read in chunks, its
 * stdin fed from a bounded queue, and one exit callback delivered only after every
 * byte the child wrote to its piped output has been handed over. Stop is SIGTERM to
 * the group, then SIGKILL after a grace period. The process module never reaps a pid
 * it did not spawn; the daemon must ignore SIGPIPE (a write to an exited child is
 * reported as SW_EIO). */
#ifndef SW_PROCESS_H
#define SW_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Default ceiling of bytes queued for a child's stdin. */
#define SW_PROCESS_MAX_STDIN_QUEUE ((size_t)64 << 20)
/* Default time to wait for piped output to reach EOF after the child exited (a
 * grandchild may keep the pipe open); after it the pipes are drained and closed. */
#define SW_PROCESS_DRAIN_MS 2000

struct sw_process_options {
    char *const *argv; /* argv[0] looked up in PATH (uv_spawn does) */
    char *const *env;  /* full environment, "K=V", NULL-terminated; NULL = inherit */
    const char *cwd;   /* NULL = inherit */
    int pipe_stdin;    /* 1: a pipe we write to; 0: /dev/null */
    int pipe_stdout;   /* 1: read through read_cb; 0: /dev/null */
    int pipe_stderr;   /* 1: read through read_cb; 0: /dev/null */
};

struct sw_process;

/* status: exit code (or -1 when killed by a signal), term_signal: the signal or 0.
 * Called once. */
typedef void (*sw_process_exit_cb)(struct sw_process *p, int64_t status, int term_signal);
/* Output chunks (borrowed, valid during the call); stream 1 = stdout, 2 = stderr;
 * len 0 = end of that stream. */
typedef void (*sw_process_read_cb)(struct sw_process *p, int stream, const char *data, size_t len);

/* Spawns the child in a new session (setsid: its own process group, so signals reach
 * its children too). 0 or a negative SW_E* code (SW_ENOT_FOUND when argv[0] does not
 * exist or is not executable, with no callback ever called; the loop must still run
 * for the handles of a failed spawn to be released). o, argv, env and cwd are
 * borrowed for the duration of the call. */
int sw_process_spawn(uv_loop_t *loop, const struct sw_process_options *o,
                     sw_process_exit_cb exit_cb, sw_process_read_cb read_cb, void *data,
                     struct sw_process **out);
void *sw_process_data(const struct sw_process *p);
/* Hands the process's callbacks to a new owner (e.g. to drain it after its agent went). */
void sw_process_rebind(struct sw_process *p, sw_process_exit_cb exit_cb, sw_process_read_cb read_cb,
                       void *data);
int sw_process_pid(const struct sw_process *p);
/* 1 once the child itself has exited (its exit_cb may still wait for output EOF). */
int sw_process_exited(const struct sw_process *p);
/* 1 if pid belongs to a process handle of loop that libuv has not closed yet: a child
 * libuv will reap (including one released with sw_process_close and still dying), which
 * an orphan reaper must leave alone. */
int sw_process_loop_has_pid(uv_loop_t *loop, int pid);

/* Ceiling of bytes queued for stdin (default SW_PROCESS_MAX_STDIN_QUEUE). */
void sw_process_set_max_stdin_queue(struct sw_process *p, size_t max_bytes);
/* Bytes queued for stdin and not yet written to the pipe. */
size_t sw_process_stdin_queued(const struct sw_process *p);
/* How long to wait for output EOF after the exit (default SW_PROCESS_DRAIN_MS). */
void sw_process_set_drain_ms(struct sw_process *p, int64_t drain_ms);

/* Queues bytes for stdin (copied). SW_ETOO_LARGE past max_stdin_queue, SW_EIO after
 * stdin was closed or broke (EPIPE: child closed its stdin) or the child exited, or
 * when stdin is not piped. */
int sw_process_write(struct sw_process *p, const char *data, size_t len);
/* Bytes written to stdin and not yet taken by the process. */
size_t sw_process_write_queued(const struct sw_process *p);
/* Closes stdin after the queued bytes are written (the child reads EOF). */
void sw_process_close_stdin(struct sw_process *p);

/* SIGTERM (then SIGCONT, for a stopped child) to the whole process group now, SIGKILL
 * to the group after grace_ms if the exit has not been delivered (grace 0 = SIGKILL at
 * once). Safe to call again (the earlier SIGKILL deadline wins) or after exit. */
void sw_process_stop(struct sw_process *p, int64_t grace_ms);
/* Sends signum to the group; nothing once the exit was delivered. */
void sw_process_signal(struct sw_process *p, int signum);

/* Releases p: closes its handles (async) and frees it after the last close callback.
 * May be called from inside exit_cb or read_cb. After it, no callback is called. If
 * the child is still running it is SIGKILLed (group) first, and reaped before p is
 * freed, so the loop must keep running. */
void sw_process_close(struct sw_process *p);

#endif
