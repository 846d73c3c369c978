/* SPDX-License-Identifier: MIT
 * runner.c - starting, feeding and stopping the processes of managed agents. Each
 * managed agent has one struct agent_rt (agent->runtime): its stdio process and the
 * JSON-RPC calls in flight, or its exec processes (one per task), its log file, its
 * restart timer and its lease waiter. Exits go to the fleet, which asks the supervisor
 * what to do. */
#include "runner.h"
#include "emit.h"
#include "runner_int.h"
#include "fleet.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "runtime/linebuf.h"
#include "runtime/logfile.h"
#include "runtime/cgroup.h"
#include "runtime/process.h"
#include "runtime/sandbox.h"
#include "sched/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

extern char **environ;

#define LOG_MAX_BYTES (10 << 20)
#define LOG_KEEP      3

static struct sw_agent *roll_current; /* the agent being rolled (one at a time) */
int sw__live_processes;

/* ---- runtime state ---- */

void sw__rt_handle_closed(uv_handle_t *h)
{
    struct agent_rt *rt = h->data;
    if (--rt->closing == 0)
        sw_free(rt);
}

static struct agent_rt *rt_get(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = a->runtime;
    if (rt)
        return rt;
    rt = sw_calloc(1, sizeof *rt);
    if (rt == NULL)
        return NULL;
    rt->server = s;
    rt->agent = a;
    uv_timer_init(s->loop, &rt->timer);
    rt->timer.data = rt;
    rt->timer_init = 1;
    sw_linebuf_init(&rt->lines, (size_t)s->cfg.max_payload + 65536);
    a->runtime = rt;
    return rt;
}

/* A process whose agent was removed: it gets its stop grace, then is released. */
static void drain_exit_cb(struct sw_process *p, int64_t status, int signal)
{
    sw_process_close(p);
    sw__live_processes--;
}

static void drain(struct sw_process *p, int64_t grace_ms, int now)
{
    if (now || sw_process_exited(p)) {
        sw_process_close(p);
        sw__live_processes--;
        return;
    }
    sw_process_rebind(p, drain_exit_cb, NULL, NULL);
    sw_process_stop(p, grace_ms);
}

void sw_runner_forget(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = a->runtime;
    if (rt == NULL)
        return;
    if (rt->waiter.linked)
        sw_sched_unwait(&s->sched, &rt->waiter);
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    int64_t grace = t ? t->stop_grace_ms : 10000;
    int now = s->stopping; /* the daemon's own stop already gave the grace */
    if (rt->proc)
        drain(rt->proc, grace, now);
    while (rt->runs) {
        struct exec_run *run = rt->runs;
        rt->runs = run->next;
        drain(run->proc, grace, now);
        sw_buf_free(&run->out);
        sw_free(run);
    }
    while (rt->calls) {
        struct rpc_call *c = rt->calls;
        rt->calls = c->next;
        sw_free(c);
    }
    if (roll_current == a)
        roll_current = NULL;
    sw_linebuf_free(&rt->lines);
    sw_logfile_close(rt->log);
    sw_free(rt->wtasks);
    a->runtime = NULL;
    sw__health_release(rt);
    sw__shared_end(rt);
    if (rt->watch_retry_init) {
        rt->closing++;
        uv_close((uv_handle_t *)&rt->watch_retry, sw__rt_handle_closed);
    }
    uv_timer_stop(&rt->timer);
    rt->closing++;
    uv_close((uv_handle_t *)&rt->timer, sw__rt_handle_closed);
}

int sw_runner_resting(const struct sw_agent *a)
{
    const struct agent_rt *rt = a->runtime;
    return rt && rt->idle_stopped;
}

int sw_runner_active(struct sw_server *s)
{
    return sw__live_processes;
}

/* ---- description, environment, command ---- */

int sw_runner_describe(struct sw_server *s, struct sw_agent *a)
{
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (t == NULL)
        return 0;
    char **caps = sw_strv_dup(t->capabilities);
    char *labels = t->labels ? sw_strdup(t->labels) : NULL;
    if (caps == NULL || (t->labels && labels == NULL)) {
        sw_strv_free(caps);
        sw_free(labels);
        return SW_ENOMEM;
    }
    for (size_t i = 0; i < a->ncapabilities; i++)
        sw_free(a->capabilities[i]);
    sw_free(a->capabilities);
    sw_free(a->labels);
    a->capabilities = caps;
    a->ncapabilities = t->ncapabilities;
    a->labels = labels;
    a->slots = t->slots;
    return 0;
}

static int env_add(char ***env, size_t *n, size_t *cap, const char *key, const char *value)
{
    if (*n + 2 > *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        char **grown = sw_realloc(*env, c * sizeof *grown);
        if (grown == NULL)
            return SW_ENOMEM;
        *env = grown;
        *cap = c;
    }
    size_t len = strlen(key) + strlen(value) + 2;
    char *kv = sw_malloc(len);
    if (kv == NULL)
        return SW_ENOMEM;
    snprintf(kv, len, "%s=%s", key, value);
    (*env)[(*n)++] = kv;
    (*env)[*n] = NULL;
    return 0;
}

static int env_has(char **env, const char *key, size_t len)
{
    for (char **e = env; e && *e; e++)
        if (strncmp(*e, key, len) == 0 && (*e)[len] == '=')
            return 1;
    return 0;
}

/* environ, minus SWARM_* and SWARMD_*, plus the template's env, plus the agent's facts. */
static char **build_env(struct sw_server *s, struct sw_agent *a, const struct sw_template *t,
                        const char *token, const struct sw_task *task)
{
    char **env = NULL, id[SW_ID_STRLEN];
    size_t n = 0, cap = 0;
    int rc = 0;
    for (char **e = environ; rc == 0 && e && *e; e++) {
        if (strncmp(*e, "SWARM", 5) == 0)
            continue;
        char *eq = strchr(*e, '=');
        if (eq == NULL || env_has(t->env, *e, (size_t)(eq - *e)))
            continue; /* the template sets it */
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - *e), *e);
        rc = env_add(&env, &n, &cap, key, eq + 1);
    }
    for (char **e = t->env; rc == 0 && e && *e; e++) {
        char *eq = strchr(*e, '=');
        if (strncmp(*e, "SWARM_", 6) == 0 || strncmp(*e, "TRACEPARENT=", 12) == 0)
            continue; /* swarmd's to set */
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - *e), *e);
        rc = env_add(&env, &n, &cap, key, eq + 1);
    }
    sw_id_format('a', a->id, id);
    rc = rc ? rc : env_add(&env, &n, &cap, "SWARM_URL", s->socket_url);
    rc = rc ? rc : env_add(&env, &n, &cap, "SWARM_TOKEN", token);
    rc = rc ? rc : env_add(&env, &n, &cap, "SWARM_AGENT", id);
    rc = rc ? rc : env_add(&env, &n, &cap, "SWARM_AGENT_NAME", a->name);
    rc = rc ? rc : env_add(&env, &n, &cap, "SWARM_SWARM", a->swarm ? a->swarm : "");
    if (rc == 0 && task) {
        char tid[SW_ID_STRLEN], traceparent[64];
        sw_id_format('t', task->id, tid);
        snprintf(traceparent, sizeof traceparent, "00-%016llx%016llx-%016llx-01",
                 (unsigned long long)task->id, (unsigned long long)task->created_at,
                 (unsigned long long)task->lease_id);
        rc = env_add(&env, &n, &cap, "SWARM_TASK", tid);
        rc = rc ? rc : env_add(&env, &n, &cap, "TRACEPARENT", traceparent);
    }
    if (rc) {
        sw_strv_free(env);
        return NULL;
    }
    return env;
}

static void resolve_workdir(struct sw_server *s, const struct sw_template *t, char *out,
                            size_t size)
{
    if (t->workdir == NULL)
        snprintf(out, size, "%s", s->workdir);
    else if (t->workdir[0] == '/')
        snprintf(out, size, "%s", t->workdir);
    else
        snprintf(out, size, "%s/%s", s->workdir, t->workdir);
    /* the usual case: a work dir that does not exist yet (every missing level) */
    for (char *p = out + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(out, 0755);
        *p = '/';
    }
    mkdir(out, 0755);
}

static int new_token(char out[70])
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return SW_EIO;
    memcpy(out, "swa_", 4);
    for (int i = 0; i < 32; i++)
        snprintf(out + 4 + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static void open_log(struct agent_rt *rt)
{
    char path[4096];
    if (rt->log)
        return;
    sw_fleet_log_path(rt->server, rt->agent, path, sizeof path);
    if (sw_logfile_open(path, LOG_MAX_BYTES, LOG_KEEP, &rt->log))
        sw_log_warn("fleet", "msg=\"cannot open agent log\" path=\"%s\"", path);
}

void sw_fleet_log_path(struct sw_server *s, const struct sw_agent *a, char *out, size_t size)
{
    snprintf(out, size, "%s/logs/%s.log", s->cfg.home, a->name);
}

void sw__rt_log(struct agent_rt *rt, const char *prefix, const char *data, size_t len)
{
    if (rt->log == NULL)
        return;
    if (prefix)
        sw_logfile_write(rt->log, prefix, strlen(prefix));
    sw_logfile_write(rt->log, data, len);
    if (prefix && (len == 0 || data[len - 1] != '\n'))
        sw_logfile_write(rt->log, "\n", 1);
    if (rt->server->followers)
        sw_logs_written(rt->server, rt->agent->id);
}

/* ---- delivering tasks ---- */

static void deliver(struct agent_rt *rt, struct sw_task *t)
{
    if (rt->mode == SW_MODE_EXEC) {
        sw__exec_start(rt, t);
        return;
    }
    struct rpc_call *c = sw_calloc(1, sizeof *c);
    struct sw_buf line;
    sw_buf_init(&line, (size_t)rt->server->cfg.max_payload * 4 + (1 << 20));
    if (c == NULL || rt->proc == NULL) {
        sw_free(c);
        return; /* the lease expires and the task is retried */
    }
    c->rpc_id = ++rt->next_rpc_id;
    /* the task as rendered for the API, not parsed again: {"jsonrpc","id","method","params"} */
    int rc = sw_buf_appendf(&line,
                            "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"task.run\","
                            "\"params\":",
                            (unsigned long long)c->rpc_id);
    rc = rc ? rc : sw_task_render(t, &line);
    rc = rc ? rc : sw_buf_append(&line, "}\n", 2);
    if (rc) {
        sw_buf_free(&line);
        sw_free(c);
        return;
    }
    c->task_id = t->id;
    c->lease_id = t->lease_id;
    c->next = rt->calls;
    rt->calls = c;
    sw_process_write(rt->proc, line.data, line.len);
    sw_buf_free(&line);
}

/* A task leased to a managed agent reaches its process only once the lease is committed,
 * as a remote agent's lease reply does: a task is never run that the store does not know
 * of. */
struct sw_delivery {
    struct sw_delivery *next;
    uint64_t agent_id, task_id, lease_id, seq;
    json_t *msg; /* or a JSON-RPC answer, to the same process (restarts = generation) */
    uint64_t generation;
};

static struct sw_delivery *delivery_new(struct agent_rt *rt)
{
    struct sw_server *s = rt->server;
    struct sw_delivery *d = sw_calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->agent_id = rt->agent->id;
    d->seq = s->has_dirty ? s->open_seq : s->queued_seq;
    if (s->deliveries_tail)
        s->deliveries_tail->next = d;
    else
        s->deliveries_head = d;
    s->deliveries_tail = d;
    return d;
}

void sw__rpc_send_committed(struct agent_rt *rt, json_t *msg)
{
    struct sw_server *s = rt->server;
    if (!s->has_dirty && s->queued_seq <= s->committed_seq) { /* nothing to wait for */
        sw__rpc_send(rt, msg);
        return;
    }
    struct sw_delivery *d = delivery_new(rt);
    if (d == NULL) {
        json_decref(msg);
        return;
    }
    d->msg = msg;
    d->generation = rt->agent->restarts;
}

static void queue_delivery(struct agent_rt *rt, struct sw_task *t)
{
    struct sw_delivery *d = delivery_new(rt);
    if (d == NULL)
        return; /* the lease expires and the task is retried */
    d->task_id = t->id;
    d->lease_id = t->lease_id;
}

void sw_runner_deliver_committed(struct sw_server *s)
{
    struct sw_delivery *d;
    while ((d = s->deliveries_head) && d->seq <= s->committed_seq) {
        s->deliveries_head = d->next;
        if (s->deliveries_head == NULL)
            s->deliveries_tail = NULL;
        struct sw_agent *a = sw_sched_agent(&s->sched, d->agent_id);
        if (d->msg) {
            struct agent_rt *rt = a ? a->runtime : NULL;
            if (rt && rt->proc && a->restarts == d->generation && !s->stopping)
                sw__rpc_send(rt, d->msg);
            else
                json_decref(d->msg);
            sw_free(d);
            continue;
        }
        struct sw_task *t = sw_sched_task(&s->sched, d->task_id);
        if (a && a->runtime && t && t->state == SW_TASK_RUNNING && t->lease_id == d->lease_id &&
            t->agent_id == a->id && !s->stopping)
            deliver(a->runtime, t);
        sw_free(d);
    }
}

static void waiter_ready_cb(struct sw_lease_waiter *w)
{
    struct agent_rt *rt = w->data;
    for (int i = 0; i < w->ntasks; i++)
        queue_delivery(rt, w->tasks[i]);
    sw__rt_arm_waiter(rt);
}

/* Asks the scheduler for as many tasks as the agent has free slots. */
void sw__rt_arm_waiter(struct agent_rt *rt)
{
    struct sw_server *s = rt->server;
    struct sw_agent *a = rt->agent;
    if (rt->waiter.linked || !sw_agent_running(a) || s->stopping)
        return;
    int free_slots = a->slots - a->running;
    if (free_slots <= 0)
        return;
    if (free_slots > rt->wcap) {
        struct sw_task **grown = sw_realloc(rt->wtasks, (size_t)a->slots * sizeof *grown);
        if (grown == NULL)
            return;
        rt->wtasks = grown;
        rt->wcap = a->slots;
    }
    rt->waiter.agent = a;
    rt->waiter.max = free_slots;
    rt->waiter.tasks = rt->wtasks;
    rt->waiter.ready_cb = waiter_ready_cb;
    rt->waiter.data = rt;
    sw_sched_wait(&s->sched, &rt->waiter);
    s->sched.work_pending = 1; /* let the next dispatch look at the queues for it */
}

/* ---- stdio mode: the long-lived process ---- */

static void stdio_read_cb(struct sw_process *p, int stream, const char *data, size_t len)
{
    struct agent_rt *rt = sw_process_data(p);
    if (stream == 2) {
        sw__rt_log(rt, NULL, data, len);
        return;
    }
    if (len == 0) {
        sw_linebuf_finish(&rt->lines, sw__rpc_on_line, rt);
        if (!sw_process_exited(p) && rt->agent->state != SW_AGENT_STOPPING) {
            sw_log_warn("fleet",
                        "msg=\"agent closed its stdout: it can take no task, stopping it\" "
                        "agent=%s",
                        rt->agent->name);
            sw_process_stop(p, 1000); /* its exit is supervised as a failure */
        }
    } else
        sw_linebuf_feed(&rt->lines, data, len, sw__rpc_on_line, rt);
}

static void stdio_exit_cb(struct sw_process *p, int64_t status, int signal)
{
    struct agent_rt *rt = sw_process_data(p);
    struct sw_server *s = rt->server;
    struct sw_agent *a = rt->agent;
    int64_t now = sw_server_now(s);
    sw_process_close(p);
    sw__live_processes--;
    rt->proc = NULL;
    a->pid = 0;
    a->has_exit = 1;
    a->exit_code = signal ? -1 : (int)status;
    a->exit_signal = signal;
    a->exit_at = now;
    while (rt->calls) {
        struct rpc_call *c = rt->calls;
        rt->calls = c->next;
        sw_free(c);
    }
    sw_linebuf_free(&rt->lines);
    sw_linebuf_init(&rt->lines, (size_t)s->cfg.max_payload + 65536);
    sw__health_end(rt);
    sw__shared_end(rt);
    if (rt->waiter.linked)
        sw_sched_unwait(&s->sched, &rt->waiter);
    char error[160];
    snprintf(error, sizeof error,
             "{\"code\":\"agent_exited\",\"message\":\"the agent process exited (%s %d)\"}",
             signal ? "signal" : "status", signal ? signal : (int)status);
    sw_log_info("fleet", "msg=\"agent exited\" agent=%s status=%lld signal=%d", a->name,
                (long long)status, signal);
    int stopping = a->state == SW_AGENT_STOPPING;
    sw_sched_agent_down(&s->sched, a, SW_AGENT_STOPPED, error, now);
    if (roll_current == a)
        roll_current = NULL;
    if (rt->then_start && !s->stopping) {
        rt->then_start = 0;
        sw_runner_start(s, a);
    } else if (!stopping && !a->stopped && !s->stopping) {
        struct sw_sup_exit e = {a->exit_code, signal, now - a->started_at, 0, rt->fast_exits};
        sw_fleet_agent_exited(s, a, &e, &rt->fast_exits);
    }
    sw_sched_agent_changed(&s->sched, a);
}

/* cgroup v2 limits where the machine allows; else a warning, once (rlimits still hold). */
static void apply_cgroup(struct agent_rt *rt, const struct sw_limits *l, int pid)
{
    static int warned;
    char why[256];
    if (sw_cgroup_available(why, sizeof why)) {
        if (sw_cgroup_apply(rt->agent->name, pid, l) == 0)
            return;
        snprintf(why, sizeof why, "the cgroup could not be created");
    }
    if (!warned++)
        sw_log_warn("fleet", "msg=\"cgroup limits not applied: rlimits only\" reason=\"%s\"", why);
}

int sw__rt_spawn(struct agent_rt *rt, const struct sw_template *t, const struct sw_task *task,
                 sw_process_exit_cb exit_cb, sw_process_read_cb read_cb, void *data,
                 struct sw_process **out)
{
    struct sw_server *s = rt->server;
    char token[70], workdir[4096];
    if (task)
        memcpy(token, rt->token, sizeof token); /* exec task: the agent's own token */
    else if (new_token(token))
        return SW_EIO;
    char **env = build_env(s, rt->agent, t, token, task);
    if (env == NULL)
        return SW_ENOMEM;
    resolve_workdir(s, t, workdir, sizeof workdir);
    struct sw_limits limits = {t->limit_memory, t->limit_cpu, t->limit_open_files,
                               t->limit_processes};
    char **argv = NULL;
    int rc = sw_sandbox_argv((enum sw_sandbox)t->sandbox, &limits, workdir, t->argv, &argv);
    if (rc) {
        sw_log_error("fleet",
                     "msg=\"cannot build the agent's command\" agent=%s sandbox=%s "
                     "error=%s hint=\"the sandbox needs bwrap (Debian: bubblewrap) and "
                     "limits need prlimit (util-linux)\"",
                     rt->agent->name, sw_sandbox_name((enum sw_sandbox)t->sandbox),
                     sw_strerror_code(rc));
        sw_strv_free(env);
        return rc;
    }
    struct sw_process_options o = {argv, env, workdir, 1, 1, 1};
    rc = sw_process_spawn(s->loop, &o, exit_cb, read_cb, data, out);
    sw_argv_free(argv);
    sw_strv_free(env);
    if (rc == 0 && (limits.cpu > 0 || limits.memory_bytes > 0))
        apply_cgroup(rt, &limits, sw_process_pid(*out));
    if (rc == 0 && task == NULL) {
        sw_server_forget_token(s, rt->agent);
        sw_token_hash(token, rt->agent->token_hash);
        sw_server_add_token(s, rt->agent);
        memcpy(rt->token, token, sizeof rt->token);
    }
    return rc;
}

/* ---- start, stop, restart ---- */

static void start_timer_cb(uv_timer_t *timer)
{
    struct agent_rt *rt = timer->data;
    sw_runner_start(rt->server, rt->agent);
}

static void start_failed(struct agent_rt *rt, int rc)
{
    struct sw_server *s = rt->server;
    struct sw_agent *a = rt->agent;
    int64_t now = sw_server_now(s);
    sw_log_error("fleet", "msg=\"cannot start agent\" agent=%s error=%s", a->name,
                 sw_strerror_code(rc));
    a->has_exit = 1;
    a->exit_code = 127;
    a->exit_signal = 0;
    a->exit_at = now;
    a->state = SW_AGENT_STOPPED;
    struct sw_sup_exit e = {127, 0, 0, 0, rt->fast_exits};
    sw_fleet_agent_exited(s, a, &e, &rt->fast_exits);
    sw_sched_agent_changed(&s->sched, a);
}

static void roll_next(struct sw_server *s);

void sw_runner_start(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = rt_get(s, a);
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (rt == NULL || s->stopping || rt->proc || sw_agent_running(a))
        return;
    uv_timer_stop(&rt->timer);
    if (t == NULL) {
        a->state = SW_AGENT_FAILED;
        sw_sched_agent_changed(&s->sched, a);
        return;
    }
    sw_runner_describe(s, a);
    rt->mode = t->mode;
    rt->outdated = 0;
    open_log(rt);
    if (rt->started_once) {
        a->restarts++;
        sw_emit_agent(s, a, "restarted");
    }
    rt->started_once = 1;
    if (t->mode == SW_MODE_STDIO) {
        int rc = sw__rt_spawn(rt, t, NULL, stdio_exit_cb, stdio_read_cb, rt, &rt->proc);
        if (rc) {
            start_failed(rt, rc);
            return;
        }
        sw__live_processes++;
        a->pid = sw_process_pid(rt->proc);
    } else {
        if (new_token(rt->token) == 0) {
            sw_server_forget_token(s, a);
            sw_token_hash(rt->token, a->token_hash);
            sw_server_add_token(s, a);
        }
        a->pid = 0;
    }
    a->started_at = sw_server_now(s);
    sw_log_info("fleet", "msg=\"agent started\" agent=%s pid=%d mode=%s", a->name, a->pid,
                t->mode == SW_MODE_STDIO ? "stdio" : "exec");
    sw_sched_agent_up(&s->sched, a, a->started_at);
    if (rt->idle_stopped) {
        rt->idle_stopped = 0;
        s->cold_candidates--;
    }
    sw__health_begin(rt);
    sw__rt_arm_waiter(rt);
    if (roll_current == a)
        roll_current = NULL;
    roll_next(s); /* a rolling restart goes on with the next agent */
}

void sw_runner_schedule_start(struct sw_server *s, struct sw_agent *a, int64_t delay_ms)
{
    struct agent_rt *rt = rt_get(s, a);
    if (rt == NULL)
        return;
    if (delay_ms <= 0) {
        sw_runner_start(s, a);
        return;
    }
    a->state = SW_AGENT_BACKOFF;
    sw_sched_agent_changed(&s->sched, a);
    uv_timer_start(&rt->timer, start_timer_cb, (uint64_t)delay_ms, 0);
}

/* Spawns happen at most SPAWNS_PER_TURN per loop turn; the rest are spread over the
 * next milliseconds, so applying a swarm of 1,000 agents never stops the API. */
#define SPAWNS_PER_TURN 32

void sw_runner_new_turn(struct sw_server *s)
{
    s->spawns_this_turn = 0;
    if (s->spawns_deferred > 0)
        s->spawns_deferred -=
            s->spawns_deferred < SPAWNS_PER_TURN ? s->spawns_deferred : SPAWNS_PER_TURN;
}

static void spread_timer_cb(uv_timer_t *timer)
{
    struct agent_rt *rt = timer->data;
    struct sw_server *s = rt->server;
    if (s->spawns_this_turn >= SPAWNS_PER_TURN) { /* this turn's budget is spent */
        uv_timer_start(&rt->timer, spread_timer_cb, 1, 0);
        return;
    }
    s->spawns_this_turn++;
    sw_runner_start(s, rt->agent);
}

static void start_spread(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = rt_get(s, a);
    if (rt == NULL)
        return;
    if (s->spawns_this_turn++ < SPAWNS_PER_TURN) {
        sw_runner_start(s, a);
        return;
    }
    int64_t delay = 1 + s->spawns_deferred++ / SPAWNS_PER_TURN;
    a->state = SW_AGENT_STARTING;
    sw_sched_agent_changed(&s->sched, a);
    uv_timer_start(&rt->timer, spread_timer_cb, (uint64_t)delay, 0);
}

void sw_runner_start_supervised(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = rt_get(s, a);
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (rt == NULL || t == NULL || rt->fast_exits == 0) {
        start_spread(s, a);
        return;
    }
    int64_t delay = sw_backoff_delay_ms(&t->backoff, rt->fast_exits, sw_sched_random(&s->sched));
    sw_runner_schedule_start(s, a,
                             delay < SW_SUP_MIN_LOOP_DELAY_MS ? SW_SUP_MIN_LOOP_DELAY_MS : delay);
}

void sw_runner_stop(struct sw_server *s, struct sw_agent *a, int then_start)
{
    struct agent_rt *rt = rt_get(s, a);
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (rt == NULL)
        return;
    if (a->state == SW_AGENT_STOPPING) { /* already on its way down */
        rt->then_start |= then_start;
        return;
    }
    uv_timer_stop(&rt->timer);
    sw__health_end(rt);
    if (rt->waiter.linked)
        sw_sched_unwait(&s->sched, &rt->waiter);
    int64_t grace = t ? t->stop_grace_ms : 10000;
    if (rt->proc) {
        rt->then_start = then_start;
        a->state = SW_AGENT_STOPPING;
        sw_sched_agent_changed(&s->sched, a);
        sw_process_stop(rt->proc, grace);
        return;
    }
    for (struct exec_run *run = rt->runs; run; run = run->next)
        sw_process_stop(run->proc, grace);
    sw_sched_agent_down(
        &s->sched, a, a->state == SW_AGENT_FAILED ? SW_AGENT_FAILED : SW_AGENT_STOPPED,
        "{\"code\":\"agent_stopped\",\"message\":\"the agent was stopped\"}", sw_server_now(s));
    if (then_start)
        sw_runner_start(s, a);
}

void sw_runner_restart(struct sw_server *s, struct sw_agent *a, int immediate)
{
    struct agent_rt *rt = rt_get(s, a);
    if (rt == NULL)
        return;
    if (rt->proc || sw_agent_running(a))
        sw_runner_stop(s, a, 1);
    else if (immediate || a->state != SW_AGENT_BACKOFF)
        sw_runner_start(s, a);
}

static void roll_next(struct sw_server *s)
{
    if (roll_current)
        return;
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        struct agent_rt *rt = a->runtime;
        if (a->kind != SW_AGENT_MANAGED || rt == NULL || !rt->outdated)
            continue;
        rt->outdated = 0;
        if (!sw_agent_running(a) && rt->proc == NULL)
            continue; /* it picks the new template up when it starts */
        roll_current = a;
        sw_runner_restart(s, a, 1);
        return;
    }
}

void sw_runner_roll(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = rt_get(s, a);
    if (rt == NULL)
        return;
    rt->outdated = 1;
    roll_next(s);
}

void sw_runner_roll_cb(struct sw_server *s, struct sw_agent *a, void *arg)
{
    sw_runner_roll(s, a);
}

/* ---- orphans ---- */

/* swarmd is a child subreaper: the orphaned grandchildren of agents become its children.
 * libuv reaps the processes it spawned; the others are reaped here, from /proc. */
void sw_runner_reap_orphans(struct sw_server *s)
{
    DIR *proc = opendir("/proc");
    struct dirent *e;
    int self = getpid();
    while (proc && (e = readdir(proc))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], line[512];
        snprintf(path, sizeof path, "/proc/%.32s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = '\0';
        char *close_paren = strrchr(line, ')'), state;
        int ppid;
        if (close_paren == NULL || sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
            continue;
        int pid = atoi(e->d_name);
        /* libuv reaps the processes it spawned (and still owes their exit to us) */
        if (ppid == self && state == 'Z' && !sw_process_loop_has_pid(s->loop, pid))
            waitpid(pid, NULL, WNOHANG);
    }
    if (proc)
        closedir(proc);
}

/* ---- cancels ---- */

static int cancelled(const struct sw_agent *a, uint64_t task_id)
{
    for (size_t i = 0; i < a->ncancelled; i++)
        if (a->cancelled[i] == task_id)
            return 1;
    return 0;
}

static void deliver_cancels(struct sw_server *s, struct sw_agent *a)
{
    struct agent_rt *rt = a->runtime;
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (rt == NULL || a->ncancelled == 0)
        return;
    for (struct exec_run *run = rt->runs; run; run = run->next) {
        if (!run->cancelled && cancelled(a, run->task_id)) {
            run->cancelled = 1;
            sw_process_stop(run->proc, t ? t->stop_grace_ms : 1000);
        }
    }
    for (struct rpc_call **p = &rt->calls; *p;) {
        struct rpc_call *c = *p;
        if (!cancelled(a, c->task_id)) {
            p = &c->next;
            continue;
        }
        char id[SW_ID_STRLEN];
        sw_id_format('t', c->task_id, id);
        sw__rpc_send(rt, json_pack("{s:s, s:s, s:{s:s}}", "jsonrpc", "2.0", "method", "task.cancel",
                                   "params", "id", id));
        *p = c->next;
        sw_free(c);
    }
    sw_sched_cancel_told(a);
    sw__rt_arm_waiter(rt);
}

void sw_runner_deliver_cancels(struct sw_server *s)
{
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->kind == SW_AGENT_MANAGED && a->ncancelled)
            deliver_cancels(s, a);
    }
    roll_next(s);
}

/* ---- connect ---- */

int sw_runner_connect(struct sw_server *s, struct sw_agent *a, char ***argv, char ***env, char *cwd,
                      size_t size)
{
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (t == NULL)
        return SW_ENOT_FOUND;
    resolve_workdir(s, t, cwd, size);
    const char *shell_argv[] = {"/bin/sh", "-i", NULL};
    struct sw_limits limits = {t->limit_memory, t->limit_cpu, t->limit_open_files,
                               t->limit_processes};
    int rc =
        sw_sandbox_argv((enum sw_sandbox)t->sandbox, &limits, cwd, (char *const *)shell_argv, argv);
    if (rc)
        return rc;
    *env = build_env(s, a, t, "", NULL);
    if (*env == NULL) {
        sw_argv_free(*argv);
        return SW_ENOMEM;
    }
    return 0;
}
