/* SPDX-License-Identifier: MIT
 * tasks_api.c - the /v1/tasks routes: submit, list, get (with long-poll), cancel,
 * retry, and the lease holder's complete, fail and progress. Each handler parses,
 * calls the scheduler, renders. */
#include "admission.h"
#include "graph_api.h"
#include "json_in.h"
#include "routes.h"
#include "routing.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DELAY_MS   (366LL * 86400000)
#define MAX_TIMEOUT_MS (30LL * 86400000)

static size_t response_limit(struct sw_request *req)
{
    return (size_t)req->server->cfg.max_payload * 4 + (1 << 20);
}

/* Answers 200/201 with the task. */
static void reply_task(struct sw_request *req, int status, const struct sw_task *t)
{
    struct sw_buf body;
    sw_buf_init(&body, response_limit(req));
    int rc = sw_task_render(t, &body);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, status, &body);
}

static int parse_backoff(struct sw_request *req, json_t *root, struct sw_backoff *b)
{
    static const char *const fields[] = {"initial_ms", "max_ms", "multiplier", NULL};
    json_t *v = json_object_get(root, "backoff");
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        sw_reply_error(req, SW_EBAD_FIELD, "backoff", "backoff must be an object");
        return SW_EBAD_FIELD;
    }
    int rc = sw_body_only(req, v, fields);
    rc = rc ? rc : sw_field_int(req, v, "initial_ms", 0, MAX_DELAY_MS, &b->initial_ms);
    rc = rc ? rc : sw_field_int(req, v, "max_ms", 0, MAX_DELAY_MS, &b->max_ms);
    rc = rc ? rc : sw_field_number(req, v, "multiplier", 1.0, 100.0, &b->multiplier);
    if (rc == 0 && b->max_ms < b->initial_ms) {
        sw_reply_error(req, SW_EBAD_FIELD, "backoff.max_ms",
                       "backoff.max_ms must not be below backoff.initial_ms");
        rc = SW_EBAD_FIELD;
    }
    return rc;
}

static int parse_capability(struct sw_request *req, json_t *root, int required,
                            const char **capability)
{
    int rc = sw_field_string(req, root, "capability", required, 140, capability);
    if (rc == 0 && *capability && !sw_capability_valid(*capability)) {
        sw_reply_error(req, SW_EBAD_FIELD, "capability",
                       "capability \"%s\" is not a valid name: use [a-z0-9][a-z0-9._/-]{0,127}, "
                       "optionally followed by @<major version>",
                       *capability);
        rc = SW_EBAD_FIELD;
    }
    return rc;
}

/* Fills t from the body; on error the request is answered. need_capability = 0: a
 * parent of children (graph_api.c), whose capability is optional. */
int sw__task_parse_submit(struct sw_request *req, json_t *root, struct sw_task *t, int64_t now,
                          int need_capability)
{
    static const char *const fields[] = {
        "capability", "payload", "priority",        "delay_ms", "timeout_ms", "max_attempts",
        "backoff",    "labels",  "idempotency_key", "swarm",    "parent",     "wait_for_provider",
        "selector",   NULL};
    const struct sw_sched_config *sc = &req->server->cfg.sched;
    const char *capability = NULL, *key = NULL, *swarm = NULL, *parent = NULL;
    int64_t priority = 0, delay_ms = 0, timeout_ms = 0, attempts = sc->default_max_attempts;
    t->backoff = sc->default_backoff;
    int rc = sw_body_only(req, root, fields);
    rc = rc ? rc : parse_capability(req, root, need_capability, &capability);
    rc =
        rc ? rc
           : sw_field_json(req, root, "payload", (size_t)req->server->cfg.max_payload, &t->payload);
    rc = rc ? rc : sw_field_int(req, root, "priority", -1000000000, 1000000000, &priority);
    rc = rc ? rc : sw_field_int(req, root, "delay_ms", 0, MAX_DELAY_MS, &delay_ms);
    rc = rc ? rc : sw_field_int(req, root, "timeout_ms", 0, MAX_TIMEOUT_MS, &timeout_ms);
    rc = rc ? rc : sw_field_int(req, root, "max_attempts", 1, 1000, &attempts);
    rc = rc ? rc : parse_backoff(req, root, &t->backoff);
    rc = rc ? rc : sw_field_labels(req, root, "labels", &t->labels);
    rc = rc ? rc : sw_field_string(req, root, "idempotency_key", 0, 256, &key);
    rc = rc ? rc : sw_field_string(req, root, "swarm", 0, 128, &swarm);
    rc = rc ? rc : sw_field_string(req, root, "parent", 0, 64, &parent);
    rc = rc ? rc : sw_field_bool(req, root, "wait_for_provider", &t->wait_for_provider);
    rc = rc ? rc : sw_field_labels(req, root, "selector", &t->selector);
    if (rc == 0 && parent && sw_id_parse('t', parent, &t->parent)) {
        sw_reply_error(req, SW_EBAD_FIELD, "parent", "parent must be a task id");
        rc = SW_EBAD_FIELD;
    }
    if (rc)
        return rc;
    if (sw_task_set_str(&t->capability, capability ? capability : "") ||
        sw_task_set_str(&t->idempotency_key, key) || sw_task_set_str(&t->swarm, swarm) ||
        (t->payload == NULL && sw_task_set_str(&t->payload, "null"))) {
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
        return SW_ENOMEM;
    }
    t->priority = priority;
    t->timeout_ms = timeout_ms;
    t->max_attempts = (int)attempts;
    t->run_at = now + delay_ms;
    return 0;
}

/* A repeated idempotency key: answer 200 with the first task. 1 if answered. */
static int reply_existing_key(struct sw_request *req, const char *key)
{
    struct sw_server *s = req->server;
    struct sw_task *t = sw_sched_task_by_key(&s->sched, key);
    if (t) {
        reply_task(req, 200, t);
        return 1;
    }
    int rc = s->store->ops->task_by_key(s->store, key, &t);
    if (rc == SW_ENOT_FOUND)
        return 0;
    if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_task(req, 200, t);
    sw_task_free(t);
    return 1;
}

void sw_api_task_submit(struct sw_request *req)
{
    struct sw_server *s = req->server;
    int64_t now = sw_server_now(s);
    json_t *root = NULL;
    struct sw_task *t = sw_task_new();
    if (t == NULL) {
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
        return;
    }
    if (sw_body_object(req, &root))
        goto out;
    if (sw_graph_api_wants(root)) { /* after, children, fan_in or parent: graph_api.c */
        sw_graph_api_submit(req, root);
        goto out;
    }
    if (sw__task_parse_submit(req, root, t, now, 1))
        goto out;
    if (t->idempotency_key && reply_existing_key(req, t->idempotency_key))
        goto out;
    if (sw_routing_admit(req, t, NULL) || sw_admission_admit(req, t->swarm, 1))
        goto out;
    int rc = sw_sched_submit(&s->sched, t, now);
    struct sw_task *created = t;
    t = NULL; /* owned by the scheduler now (or freed on error) */
    if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_task(req, 201, created);
out:
    sw_task_free(t);
    json_decref(root);
}

/* ---- list ---- */

static int parse_filter(struct sw_request *req, struct sw_task_filter *f)
{
    const char *state = sw_request_query(req, "state");
    const char *dead = sw_request_query(req, "dead");
    const char *cursor = sw_request_query(req, "cursor");
    int64_t limit = 100;
    f->state = -1;
    f->dead = -1;
    f->capability = sw_request_query(req, "capability");
    f->after_id = 0;
    enum sw_task_state st;
    if (state && *state && sw_task_state_parse(state, &st)) {
        sw_reply_error(req, SW_EBAD_QUERY, "state",
                       "state must be one of scheduled, queued, running, succeeded, failed, "
                       "cancelled, waiting");
        return SW_EBAD_QUERY;
    }
    if (state && *state)
        f->state = (int)st;
    if (dead && *dead) {
        if (strcmp(dead, "true") && strcmp(dead, "false") && strcmp(dead, "1") &&
            strcmp(dead, "0")) {
            sw_reply_error(req, SW_EBAD_QUERY, "dead", "dead must be true or false");
            return SW_EBAD_QUERY;
        }
        f->dead = strcmp(dead, "true") == 0 || strcmp(dead, "1") == 0;
    }
    if (f->capability && *f->capability == '\0')
        f->capability = NULL;
    if (cursor && *cursor && sw_id_parse('t', cursor, &f->after_id)) {
        sw_reply_error(req, SW_EBAD_QUERY, "cursor", "cursor must be a task id from next_cursor");
        return SW_EBAD_QUERY;
    }
    int rc = sw_query_int(req, "limit", 1, 1000, &limit);
    f->limit = (int)limit + 1; /* one more tells whether a next page exists */
    return rc;
}

void sw_api_task_list(struct sw_request *req)
{
    struct sw_server *s = req->server;
    struct sw_task_filter f;
    if (parse_filter(req, &f))
        return;
    struct sw_task **tasks = NULL;
    size_t n = 0;
    int rc = s->store->ops->task_list(s->store, &f, &tasks, &n);
    if (rc) {
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    size_t shown = n > (size_t)f.limit - 1 ? (size_t)f.limit - 1 : n;
    struct sw_buf body;
    sw_buf_init(&body, response_limit(req) * 8);
    rc = sw_buf_appendstr(&body, "{\"tasks\":[");
    for (size_t i = 0; rc == 0 && i < shown; i++) {
        struct sw_task *live = sw_sched_task(&s->sched, tasks[i]->id);
        rc = i ? sw_buf_append(&body, ",", 1) : 0;
        rc = rc ? rc : sw_task_render(live ? live : tasks[i], &body);
    }
    char cursor[SW_ID_STRLEN];
    if (n > shown) {
        sw_id_format('t', tasks[shown - 1]->id, cursor);
        rc = rc ? rc : sw_buf_appendf(&body, "],\"next_cursor\":\"%s\"}", cursor);
    } else {
        rc = rc ? rc : sw_buf_appendstr(&body, "],\"next_cursor\":null}");
    }
    for (size_t i = 0; i < n; i++)
        sw_task_free(tasks[i]);
    sw_free(tasks);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, "the page is too large: ask for a smaller limit");
        return;
    }
    sw_reply(req, 200, &body);
}

/* ---- get, with long-poll ---- */

static void reply_task_by_id(struct sw_request *req, uint64_t id)
{
    struct sw_task *t;
    int owned;
    int rc = sw_server_task(req->server, id, &t, &owned);
    if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no task %s", req->params[0]);
    else if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_task(req, 200, t);
    if (rc == 0 && owned)
        sw_task_free(t);
}

static void get_wait_cb(struct sw_request *req, int timed_out)
{
    uint64_t id;
    sw_server_unwait_task(req->server, req);
    if (timed_out < 0)
        return;
    sw_id_parse('t', req->params[0], &id);
    reply_task_by_id(req, id);
    sw_server_respond(req->server, req);
}

void sw_api_task_get(struct sw_request *req)
{
    struct sw_server *s = req->server;
    uint64_t id;
    int64_t wait_ms = 0;
    if (sw_path_id(req, 't', "task", &id) ||
        sw_query_int(req, "wait_ms", 0, SW_MAX_WAIT_MS, &wait_ms))
        return;
    if (wait_ms > s->cfg.max_wait_ms)
        wait_ms = s->cfg.max_wait_ms; /* long polls are clamped, not refused */
    struct sw_task *t = sw_sched_task(&s->sched, id);
    if (wait_ms > 0 && t && !sw_task_state_terminal(t->state)) {
        sw_server_wait_task(s, req, id);
        sw_request_wait(req, wait_ms, get_wait_cb);
        return;
    }
    reply_task_by_id(req, id);
}

/* ---- cancel, retry ---- */

static void task_action(struct sw_request *req,
                        int (*action)(struct sw_sched *, struct sw_task *, int64_t))
{
    struct sw_server *s = req->server;
    uint64_t id;
    struct sw_task *t;
    if (sw_path_id(req, 't', "task", &id))
        return;
    int rc = sw_server_task_live(s, id, &t);
    rc = rc ? rc : action(&s->sched, t, sw_server_now(s));
    if (rc == SW_EBAD_STATE)
        sw_reply_error(req, rc, NULL, "task %s is %s", req->params[0],
                       sw_task_state_names[t->state]);
    else if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no task %s", req->params[0]);
    else if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_task(req, 200, t);
}

void sw_api_task_cancel(struct sw_request *req)
{
    task_action(req, sw_sched_cancel);
}

void sw_api_task_retry(struct sw_request *req)
{
    task_action(req, sw_sched_retry);
}

/* ---- the lease holder's calls ---- */

static int parse_lease_id(struct sw_request *req, json_t *root, uint64_t *lease_id)
{
    json_t *v = json_object_get(root, "lease_id");
    if (v == NULL) {
        sw_reply_error(req, SW_EMISSING_FIELD, "lease_id", "lease_id is required");
        return SW_EMISSING_FIELD;
    }
    char *end = NULL;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *lease_id = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        *lease_id = strtoull(json_string_value(v), &end, 10);
        if (end != json_string_value(v) && *end == '\0')
            return 0;
    }
    sw_reply_error(req, SW_EBAD_FIELD, "lease_id", "lease_id must be the lease_id of the lease");
    return SW_EBAD_FIELD;
}

/* The running task of the call (the holder's lease), or an answered error. */
static int holder_task(struct sw_request *req, struct sw_task **out)
{
    struct sw_server *s = req->server;
    uint64_t id;
    if (sw_path_id(req, 't', "task", &id))
        return SW_ENOT_FOUND;
    if (req->agent)
        sw_sched_touch_agent(&s->sched, req->agent, sw_server_now(s));
    struct sw_task *t;
    int owned;
    int rc = sw_server_task(s, id, &t, &owned);
    if (rc) {
        sw_reply_error(req, rc, NULL, rc == SW_ENOT_FOUND ? "no task %s" : NULL, req->params[0]);
        return rc;
    }
    if (owned) {
        sw_task_free(t);
        sw_reply_error(req, SW_ESTALE_LEASE, "lease_id", "task %s is finished", req->params[0]);
        return SW_ESTALE_LEASE;
    }
    *out = t;
    return 0;
}

static void reply_outcome(struct sw_request *req, int rc, struct sw_task *t)
{
    if (rc == SW_ESTALE_LEASE)
        sw_reply_error(req, rc, "lease_id",
                       "the lease is no longer held: task %s is %s (attempt %d)", req->params[0],
                       sw_task_state_names[t->state], t->attempt);
    else if (rc == SW_EFORBIDDEN)
        sw_reply_error(req, rc, NULL, "task %s is leased to another agent", req->params[0]);
    else if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_task(req, 200, t);
}

void sw_api_task_complete(struct sw_request *req)
{
    static const char *const fields[] = {"lease_id", "result", NULL};
    struct sw_server *s = req->server;
    json_t *root = NULL;
    struct sw_task *t;
    char *result = NULL;
    uint64_t lease_id;
    if (sw_body_object(req, &root) || sw_body_only(req, root, fields) ||
        parse_lease_id(req, root, &lease_id) ||
        sw_field_json(req, root, "result", (size_t)s->cfg.max_payload, &result) ||
        holder_task(req, &t))
        goto out;
    int rc = sw_sched_complete(&s->sched, t, req->agent, lease_id, result, sw_server_now(s));
    reply_outcome(req, rc, t);
out:
    sw_free(result);
    json_decref(root);
}

/* error: a string, or {"message", "code"?, "details"?}; rendered {"code","message",...}. */
static int parse_error(struct sw_request *req, json_t *root, char **out)
{
    static const char *const fields[] = {"message", "code", "details", NULL};
    json_t *v = json_object_get(root, "error");
    json_t *err = json_object();
    int rc = 0;
    if (v == NULL || json_is_null(v)) {
        json_object_set_new(err, "message", json_string("the agent reported a failure"));
    } else if (json_is_string(v)) {
        json_object_set(err, "message", v);
    } else if (json_is_object(v)) {
        const char *message = "the agent reported a failure", *code = NULL;
        rc = sw_body_only(req, v, fields);
        rc = rc ? rc : sw_field_string(req, v, "message", 0, 65536, &message);
        rc = rc ? rc : sw_field_string(req, v, "code", 0, 128, &code);
        json_object_set_new(err, "message", json_string(message));
        if (code)
            json_object_set_new(err, "code", json_string(code));
        if (json_object_get(v, "details"))
            json_object_set(err, "details", json_object_get(v, "details"));
    } else {
        sw_reply_error(req, SW_EBAD_FIELD, "error", "error must be a string or an object");
        rc = SW_EBAD_FIELD;
    }
    if (rc == 0 && json_object_get(err, "code") == NULL)
        json_object_set_new(err, "code", json_string("task_failed"));
    if (rc == 0 && (*out = json_dumps(err, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        rc = SW_ENOMEM;
    json_decref(err);
    return rc;
}

void sw_api_task_fail(struct sw_request *req)
{
    static const char *const fields[] = {"lease_id", "error", "retry", NULL};
    struct sw_server *s = req->server;
    json_t *root = NULL;
    struct sw_task *t;
    char *error = NULL;
    uint64_t lease_id;
    int retry = 1;
    if (sw_body_object(req, &root) || sw_body_only(req, root, fields) ||
        parse_lease_id(req, root, &lease_id) || sw_field_bool(req, root, "retry", &retry) ||
        parse_error(req, root, &error) || holder_task(req, &t))
        goto out;
    int rc = sw_sched_fail(&s->sched, t, req->agent, lease_id, error, retry, sw_server_now(s));
    reply_outcome(req, rc, t);
out:
    sw_free(error);
    json_decref(root);
}

void sw_api_task_progress(struct sw_request *req)
{
    static const char *const fields[] = {"lease_id", "progress", NULL};
    struct sw_server *s = req->server;
    json_t *root = NULL;
    struct sw_task *t;
    char *progress = NULL;
    uint64_t lease_id;
    if (sw_body_object(req, &root) || sw_body_only(req, root, fields) ||
        parse_lease_id(req, root, &lease_id) ||
        sw_field_json(req, root, "progress", 65536, &progress) || holder_task(req, &t))
        goto out;
    if (progress == NULL) {
        sw_reply_error(req, SW_EMISSING_FIELD, "progress", "progress is required");
        goto out;
    }
    int rc = sw_sched_progress(&s->sched, t, req->agent, lease_id, progress, sw_server_now(s));
    struct sw_agent *holder = rc == 0 ? sw_sched_agent(&s->sched, t->agent_id) : NULL;
    if (holder)
        sw_sched_heartbeat(&s->sched, holder, sw_server_now(s));
    reply_outcome(req, rc, t);
out:
    sw_free(progress);
    json_decref(root);
}
