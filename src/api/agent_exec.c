/* SPDX-License-Identifier: MIT
 * agent_exec.c - exec agents: one process per task, the payload on its stdin, its
 * stdout the result (JSON when it parses, else a string), exit 0 a success, anything
 * else a failure carrying the tail of its stderr. */
#include "runner_int.h"
#include "fleet.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ---- exec mode: one process per task ---- */

static void exec_finish(struct exec_run *run, int64_t status, int signal)
{
    struct agent_rt *rt = run->rt;
    struct sw_server *s = rt->server;
    struct sw_task *t = sw_sched_task(&s->sched, run->task_id);
    int64_t now = sw_server_now(s);
    if (t && !run->cancelled && status == 0 && run->too_large) {
        sw_sched_fail(&s->sched, t, rt->agent, run->lease_id,
                      "{\"code\":\"output_too_large\",\"message\":\"the task's stdout was larger "
                      "than --max-payload\"}",
                      0, now);
    } else if (t && !run->cancelled && status == 0) {
        json_t *parsed =
            run->out.len ? json_loadb(run->out.data, run->out.len, JSON_DECODE_ANY, NULL) : NULL;
        char *text;
        if (parsed) {
            text = json_dumps(parsed, JSON_COMPACT | JSON_ENCODE_ANY);
        } else {
            size_t len = run->out.len;
            while (len && (run->out.data[len - 1] == '\n' || run->out.data[len - 1] == '\r'))
                len--;
            json_t *str = json_stringn_nocheck(run->out.data ? run->out.data : "", len);
            text = json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(str);
        }
        json_decref(parsed);
        sw_sched_complete(&s->sched, t, rt->agent, run->lease_id, text, now);
        sw_free(text);
    } else if (t && !run->cancelled) {
        char code[32];
        if (signal)
            snprintf(code, sizeof code, "signal_%d", signal);
        else
            snprintf(code, sizeof code, "exit_%lld", (long long)status);
        json_t *e = json_pack("{s:s, s:s%}", "code", code, "message", run->err_tail, run->err_len);
        char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(e);
        sw_sched_fail(&s->sched, t, rt->agent, run->lease_id, text, 1, now);
        sw_free(text);
    }
}

static void exec_remove(struct exec_run *run)
{
    struct agent_rt *rt = run->rt;
    for (struct exec_run **p = &rt->runs; *p; p = &(*p)->next)
        if (*p == run) {
            *p = run->next;
            break;
        }
    sw_process_close(run->proc);
    sw__live_processes--;
    sw_buf_free(&run->out);
    sw_free(run);
}

static void exec_exit_cb(struct sw_process *p, int64_t status, int signal)
{
    struct exec_run *run = sw_process_data(p);
    struct agent_rt *rt = run->rt;
    exec_finish(run, status, signal);
    exec_remove(run);
    sw__rt_arm_waiter(rt);
}

static void exec_read_cb(struct sw_process *p, int stream, const char *data, size_t len)
{
    struct exec_run *run = sw_process_data(p);
    if (len == 0)
        return;
    sw__rt_log(run->rt, NULL, data, len);
    if (stream == 1) {
        if (sw_buf_append(&run->out, data, len) == SW_ETOO_LARGE && !run->too_large++)
            sw_log_warn("fleet", "msg=\"exec output past the payload limit\" agent=%s",
                        run->rt->agent->name);
        return;
    }
    /* keep the last STDERR_TAIL bytes of stderr for the error message */
    if (len >= STDERR_TAIL) {
        memcpy(run->err_tail, data + len - STDERR_TAIL + 1, STDERR_TAIL - 1);
        run->err_len = STDERR_TAIL - 1;
    } else {
        size_t keep = run->err_len + len < STDERR_TAIL ? run->err_len : STDERR_TAIL - 1 - len;
        memmove(run->err_tail, run->err_tail + run->err_len - keep, keep);
        memcpy(run->err_tail + keep, data, len);
        run->err_len = keep + len;
    }
    run->err_tail[run->err_len] = '\0';
}

void sw__exec_start(struct agent_rt *rt, struct sw_task *t)
{
    struct sw_server *s = rt->server;
    const struct sw_template *tpl = sw_fleet_agent_template(s, rt->agent);
    struct exec_run *run = sw_calloc(1, sizeof *run);
    if (run == NULL || tpl == NULL) {
        sw_free(run);
        return;
    }
    run->rt = rt;
    run->task_id = t->id;
    run->lease_id = t->lease_id;
    sw_buf_init(&run->out, (size_t)s->cfg.max_payload);
    int rc = sw__rt_spawn(rt, tpl, t, exec_exit_cb, exec_read_cb, run, &run->proc);
    if (rc) {
        char msg[160];
        snprintf(msg, sizeof msg, "{\"code\":\"spawn_failed\",\"message\":\"cannot start %s: %s\"}",
                 tpl->argv[0],
                 rc == SW_ENOT_FOUND ? "not found or not executable" : sw_strerror(rc));
        sw_sched_fail(&s->sched, t, rt->agent, t->lease_id, msg, 1, sw_server_now(s));
        sw_buf_free(&run->out);
        sw_free(run);
        return;
    }
    sw__live_processes++;
    run->next = rt->runs;
    rt->runs = run;
    sw_process_write(run->proc, t->payload, strlen(t->payload));
    sw_process_close_stdin(run->proc);
}
