/* SPDX-License-Identifier: MIT
 * agent_rpc.c - the JSON-RPC 2.0 protocol of stdio agents, one object per line: swarmd's
 * task.run calls and their answers, the agent's own calls (task.submit, task.get,
 * task.progress, log, ping), and the errors a malformed line gets (parse error,
 * invalid request, method not found). A bad line is logged and answered, never fatal. */
#include "runner_int.h"
#include "fleet.h"
#include "routing.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* ---- JSON-RPC over the stdio pipe ---- */

void sw__rpc_send(struct agent_rt *rt, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL || rt->proc == NULL) {
        sw_free(text);
        return;
    }
    size_t len = strlen(text);
    text[len] = '\n';
    sw_process_write(rt->proc, text, len + 1);
    sw_free(text);
}

static void rpc_error(struct agent_rt *rt, json_t *id, int code, const char *message)
{
    sw__rpc_send(rt, json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                               id ? id : json_null(), "error", "code", code, "message", message));
}

static void rpc_result(struct agent_rt *rt, json_t *id, json_t *result)
{
    if (id == NULL) { /* a notification: no answer */
        json_decref(result);
        return;
    }
    sw__rpc_send(rt, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

json_t *sw__task_json(const struct sw_task *t)
{
    struct sw_buf buf;
    sw_buf_init(&buf, (size_t)1 << 30);
    json_t *j = sw_task_render(t, &buf) == 0 ? json_loadb(buf.data, buf.len, 0, NULL) : NULL;
    sw_buf_free(&buf);
    return j;
}

/* The answer to a call that changed something: sent once the change is committed. */
static void rpc_result_committed(struct agent_rt *rt, json_t *id, json_t *result)
{
    if (id == NULL) {
        json_decref(result);
        return;
    }
    sw__rpc_send_committed(
        rt, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

static struct sw_task *param_task(struct agent_rt *rt, json_t *params)
{
    uint64_t id;
    const char *text = json_string_value(json_object_get(params, "id"));
    if (text == NULL)
        text = json_string_value(json_object_get(params, "task_id"));
    if (text == NULL || sw_id_parse('t', text, &id))
        return NULL;
    return sw_sched_task(&rt->server->sched, id);
}

/* A submit refused by admission: -32000 with data {"code", "field"?, "retry_after"}. */
static void rpc_refused(struct agent_rt *rt, json_t *id, const struct sw_refusal *why)
{
    json_t *data = json_pack("{s:s, s:I}", "code", sw_strerror_code(why->rc), "retry_after",
                             (json_int_t)why->retry_after_s);
    if (why->field)
        json_object_set_new(data, "field", json_string(why->field));
    sw__rpc_send(rt, json_pack("{s:s, s:O, s:{s:i, s:s, s:o}}", "jsonrpc", "2.0", "id",
                               id ? id : json_null(), "error", "code", -32000, "message",
                               why->message, "data", data));
}

/* A task.submit the router refused: -32000 with the API error's code and field. */
static void rpc_not_routed(struct agent_rt *rt, json_t *id, const struct sw_routing_refusal *why)
{
    json_t *data = json_pack("{s:s, s:s}", "code", sw_strerror_code(why->rc), "field", why->field);
    sw__rpc_send(rt, json_pack("{s:s, s:O, s:{s:i, s:s, s:o}}", "jsonrpc", "2.0", "id",
                               id ? id : json_null(), "error", "code", -32000, "message",
                               why->message, "data", data));
}

/* Delegation: the task an agent submits for a capability its swarm lacks (routed
 * elsewhere, or unrouted) is a child of the task the agent runs: the one params.parent
 * names (a task it holds), else the one it runs (of several, the last leased). 0, or -1
 * when params.parent names no task the agent runs. */
static int delegate(struct agent_rt *rt, json_t *params, struct sw_task *t)
{
    const struct sw_agent *a = rt->agent;
    const char *named = json_string_value(json_object_get(params, "parent"));
    uint64_t parent = 0;
    if (named && sw_id_parse('t', named, &parent))
        return -1;
    if (named == NULL && (a->swarm == NULL || (t->swarm && strcmp(t->swarm, a->swarm) == 0)))
        return 0; /* served in its own swarm: not a delegation */
    for (const struct sw_task *held = a->leases; held; held = held->agent_next)
        if (parent == 0 || held->id == parent) {
            t->parent = held->id;
            return 0;
        }
    return named ? -1 : 0;
}

static void rpc_task_submit(struct agent_rt *rt, json_t *id, json_t *params)
{
    struct sw_server *s = rt->server;
    const char *cap = json_string_value(json_object_get(params, "capability"));
    json_t *payload = json_object_get(params, "payload");
    if (cap == NULL || strlen(cap) > 140) {
        rpc_error(rt, id, -32602, "task.submit needs params.capability (a capability name)");
        return;
    }
    const char *key = json_string_value(json_object_get(params, "idempotency_key"));
    struct sw_task *t = key ? sw_sched_task_by_key(&s->sched, key) : NULL;
    if (t) {
        rpc_result(rt, id, sw__task_json(t));
        return;
    }
    t = sw_task_new();
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int64_t now = sw_server_now(s);
    if (t == NULL || sw_task_set_str(&t->capability, cap) ||
        sw_task_set_str(&t->payload, text ? text : "null") ||
        sw_task_set_str(&t->idempotency_key, key)) {
        sw_task_free(t);
        sw_free(text);
        rpc_error(rt, id, -32603, "out of memory");
        return;
    }
    sw_free(text);
    json_t *v;
    t->priority = json_integer_value(json_object_get(params, "priority"));
    t->timeout_ms = json_integer_value(json_object_get(params, "timeout_ms"));
    t->max_attempts = (v = json_object_get(params, "max_attempts")) && json_integer_value(v) > 0
                          ? (int)json_integer_value(v)
                          : s->cfg.sched.default_max_attempts;
    t->backoff = s->cfg.sched.default_backoff;
    t->run_at = now + json_integer_value(json_object_get(params, "delay_ms"));
    const char *swarm = json_string_value(json_object_get(params, "swarm"));
    t->wait_for_provider = json_is_true(json_object_get(params, "wait_for_provider"));
    struct sw_routing_refusal no_route = {0};
    int rc = sw_task_set_str(&t->swarm, swarm);
    rc = rc ? rc : sw_routing_route(s, rt->agent, t, &no_route);
    if (rc) {
        sw_task_free(t);
        if (no_route.rc)
            rpc_not_routed(rt, id, &no_route);
        else
            rpc_error(rt, id, -32603, "out of memory");
        return;
    }
    if (delegate(rt, params, t)) {
        sw_task_free(t);
        rpc_error(rt, id, -32602, "params.parent must name a task this agent runs");
        return;
    }
    struct sw_refusal why;
    if (sw_admission_check(s, rt->agent, t->swarm, 1, now, &why)) {
        sw_task_free(t);
        rpc_refused(rt, id, &why);
        return;
    }
    struct sw_task *created = t;
    if (sw_sched_submit(&s->sched, t, now)) {
        rpc_error(rt, id, -32603, "the task could not be created");
        return;
    }
    rpc_result_committed(rt, id, sw__task_json(created));
}

static void rpc_request(struct agent_rt *rt, json_t *id, const char *method, json_t *params)
{
    struct sw_server *s = rt->server;
    if (strcmp(method, "task.submit") == 0) {
        rpc_task_submit(rt, id, params);
    } else if (strcmp(method, "task.get") == 0) {
        struct sw_task *t = param_task(rt, params);
        if (t)
            rpc_result(rt, id, sw__task_json(t));
        else
            rpc_error(rt, id, -32602, "no such task (params.id)");
    } else if (strcmp(method, "task.progress") == 0) {
        struct sw_task *t = param_task(rt, params);
        json_t *progress = json_object_get(params, "progress");
        char *text = progress ? json_dumps(progress, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        int rc = t && text ? sw_sched_progress(&s->sched, t, rt->agent, t->lease_id, text,
                                               sw_server_now(s))
                           : SW_EINVAL;
        sw_free(text);
        if (rc)
            rpc_error(rt, id, -32602,
                      "task.progress needs params.id of a task this agent runs "
                      "and params.progress");
        else
            rpc_result(rt, id, json_true());
    } else if (strcmp(method, "log") == 0) {
        const char *message = json_string_value(json_object_get(params, "message"));
        if (message)
            sw__rt_log(rt, "log: ", message, strlen(message));
        rpc_result(rt, id, json_true());
    } else if (sw__shared_request(rt, id, method, params)) {
        /* answered */
    } else if (strcmp(method, "ping") == 0) {
        rpc_result(rt, id, json_string("pong"));
    } else {
        rpc_error(rt, id, -32601, "method not found");
    }
}

static struct rpc_call *take_call(struct agent_rt *rt, uint64_t rpc_id)
{
    for (struct rpc_call **p = &rt->calls; *p; p = &(*p)->next) {
        if ((*p)->rpc_id == rpc_id) {
            struct rpc_call *c = *p;
            *p = c->next;
            return c;
        }
    }
    return NULL;
}

/* error: {"code", "message", "data"}: recorded as {"code": "agent_error"...}. */
static char *task_error_text(json_t *error, int *retry)
{
    const char *message = json_string_value(json_object_get(error, "message"));
    json_t *data = json_object_get(error, "data");
    *retry = !(json_is_object(data) && json_is_false(json_object_get(data, "retry")));
    json_t *e = json_pack("{s:s, s:s, s:I}", "code", "agent_error", "message",
                          message ? message : "the agent reported an error", "rpc_code",
                          (json_int_t)json_integer_value(json_object_get(error, "code")));
    if (data)
        json_object_set(e, "details", data);
    char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(e);
    return text;
}

static void rpc_response(struct agent_rt *rt, json_t *msg)
{
    struct sw_server *s = rt->server;
    json_t *id = json_object_get(msg, "id");
    if (json_is_string(id) && strncmp(json_string_value(id), "health-", 7) == 0) {
        sw__health_rpc_answer(rt, json_string_value(id), json_object_get(msg, "error") == NULL);
        return;
    }
    struct rpc_call *c =
        json_is_integer(id) ? take_call(rt, (uint64_t)json_integer_value(id)) : NULL;
    if (c == NULL)
        return; /* an answer to a cancelled call, or garbage: nothing to do */
    struct sw_task *t = sw_sched_task(&s->sched, c->task_id);
    json_t *result = json_object_get(msg, "result"), *error = json_object_get(msg, "error");
    if (json_is_null(error))
        error = NULL;
    if (t && error) {
        int retry;
        char *text = task_error_text(error, &retry);
        sw_sched_fail(&s->sched, t, rt->agent, c->lease_id, text, retry, sw_server_now(s));
        sw_free(text);
    } else if (t) {
        char *text = json_dumps(result ? result : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
        sw_sched_complete(&s->sched, t, rt->agent, c->lease_id, text, sw_server_now(s));
        sw_free(text);
    }
    sw_free(c);
    sw__rt_arm_waiter(rt);
}

void sw__rpc_on_line(void *arg, const char *line, size_t len, int too_long)
{
    struct agent_rt *rt = arg;
    if (too_long) {
        sw_log_warn("fleet", "msg=\"agent line too long, dropped\" agent=%s max=%zu",
                    rt->agent->name, (size_t)rt->server->cfg.max_payload + 65536);
        rpc_error(rt, NULL, -32700, "parse error: line too long");
        return;
    }
    json_error_t jerr;
    json_t *msg = json_loadb(line, len, 0, &jerr);
    if (msg == NULL || !json_is_object(msg)) {
        sw__rt_log(rt, "stdout (not JSON-RPC): ", line, len);
        if (len > 0)
            rpc_error(rt, NULL, msg ? -32600 : -32700,
                      msg ? "invalid request: not a JSON object" : "parse error");
        json_decref(msg);
        return;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *params = json_object_get(msg, "params");
    if (method) {
        json_t *empty = params ? NULL : json_object();
        rpc_request(rt, json_object_get(msg, "id"), method, params ? params : empty);
        json_decref(empty);
    } else if (json_object_get(msg, "result") || json_object_get(msg, "error"))
        rpc_response(rt, msg);
    else
        rpc_error(rt, json_object_get(msg, "id"), -32600, "invalid request");
    json_decref(msg);
}
