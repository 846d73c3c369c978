/* SPDX-License-Identifier: MIT
 * swarms_api.c - the /v1/templates and /v1/swarms routes (declarative apply with
 * created / updated / unchanged and ?dry_run=1, the swarm tree, scale, stop, start,
 * destroy) and the managed agents' own routes (create from a template, stop, start,
 * restart, logs). Handlers parse, call the fleet, render. */
#include "fleet.h"
#include "runner.h"
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "model/swarm.h"
#include "runtime/logfile.h"
#include "runtime/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_field_error(struct sw_request *req, int rc, const struct sw_field_error *err)
{
    sw_reply_error(req, rc, err->field[0] ? err->field : NULL, "%s",
                   err->message[0] ? err->message : sw_strerror(rc));
}

static int dry_run(struct sw_request *req)
{
    const char *v = sw_request_query(req, "dry_run");
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* 0, or an answered 400 when dry_run is neither true nor false. */
static int check_dry_run(struct sw_request *req)
{
    const char *v = sw_request_query(req, "dry_run");
    if (v == NULL || dry_run(req) || strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        return 0;
    sw_reply_error(req, SW_EBAD_QUERY, "dry_run", "dry_run must be 1, true, 0 or false");
    return SW_EBAD_QUERY;
}

/* ---- templates ---- */

static int render_template(const struct sw_template *t, struct sw_buf *out)
{
    return sw_template_render(t, out);
}

static int render_swarm(struct sw_server *s, const struct sw_swarm *sw, struct sw_buf *out);

/* PUT of a template or a swarm: apply (or dry-run), answer {"action","dry_run",KIND}. */
static void apply_spec(struct sw_request *req, int is_swarm)
{
    struct sw_server *s = req->server;
    json_t *root = NULL;
    struct sw_field_error err = {{0}, {0}};
    enum sw_apply_action action;
    const char *name = req->params[0];
    if (check_dry_run(req) || sw_body_object(req, &root))
        return;
    int rc = is_swarm ? sw_fleet_apply_swarm(s, name, root, dry_run(req), &action, &err)
                      : sw_fleet_apply_template(s, name, root, dry_run(req), &action, &err);
    json_decref(root);
    if (rc) {
        reply_field_error(req, rc, &err);
        return;
    }
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    sw_buf_appendf(&body,
                   "{\"action\":\"%s\",\"dry_run\":%s,\"%s\":", sw_apply_action_names[action],
                   dry_run(req) ? "true" : "false", is_swarm ? "swarm" : "template");
    const void *obj =
        is_swarm ? sw_strmap_get(&s->swarms, name) : sw_strmap_get(&s->templates, name);
    if (obj == NULL)
        sw_buf_appendstr(&body, "null");
    else if (is_swarm)
        render_swarm(s, obj, &body);
    else
        render_template(obj, &body);
    sw_buf_append(&body, "}", 1);
    sw_reply(req, action == SW_APPLY_CREATED && !dry_run(req) ? 201 : 200, &body);
}

void sw_api_template_put(struct sw_request *req)
{
    apply_spec(req, 0);
}

void sw_api_template_get(struct sw_request *req)
{
    struct sw_template *t = sw_strmap_get(&req->server->templates, req->params[0]);
    if (t == NULL) {
        sw_reply_error(req, SW_ENOT_FOUND, NULL, "no template %s", req->params[0]);
        return;
    }
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    render_template(t, &body);
    sw_reply(req, 200, &body);
}

/* {"<key>":[...]} of every entry of map, rendered by render. */
static void reply_list(struct sw_request *req, const char *key, struct sw_strmap *map,
                       int (*render)(struct sw_server *, const void *, struct sw_buf *))
{
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 28);
    sw_buf_appendf(&body, "{\"%s\":[", key);
    size_t pos = 0;
    const char *name;
    void *value;
    int first = 1;
    while (sw_strmap_next(map, &pos, &name, &value)) {
        if (!first)
            sw_buf_append(&body, ",", 1);
        first = 0;
        render(req->server, value, &body);
    }
    sw_buf_appendstr(&body, "]}");
    sw_reply(req, 200, &body);
}

static int render_template_entry(struct sw_server *s, const void *t, struct sw_buf *out)
{
    return render_template(t, out);
}

void sw_api_template_list(struct sw_request *req)
{
    reply_list(req, "templates", &req->server->templates, render_template_entry);
}

void sw_api_template_delete(struct sw_request *req)
{
    struct sw_field_error err = {{0}, {0}};
    int rc = sw_fleet_delete_template(req->server, req->params[0], &err);
    if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no template %s", req->params[0]);
    else if (rc)
        reply_field_error(req, rc, &err);
    else
        sw_reply_text(req, 200, "{\"deleted\":true}");
}

/* ---- swarms ---- */

struct agent_counts {
    int total, ready, busy, starting, stopped, failed, backoff;
    uint64_t restarts;
};

static struct agent_counts count_agents(struct sw_server *s, const char *swarm)
{
    struct agent_counts c = {0};
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->swarm == NULL || strcmp(a->swarm, swarm) != 0)
            continue;
        c.total++;
        c.restarts += a->restarts;
        c.ready += a->state == SW_AGENT_READY;
        c.busy += a->state == SW_AGENT_BUSY;
        c.starting += a->state == SW_AGENT_STARTING;
        c.stopped += a->state == SW_AGENT_STOPPED || a->state == SW_AGENT_STOPPING;
        c.failed += a->state == SW_AGENT_FAILED;
        c.backoff += a->state == SW_AGENT_BACKOFF;
    }
    return c;
}

static int render_swarm(struct sw_server *s, const struct sw_swarm *sw, struct sw_buf *out)
{
    struct agent_counts c = count_agents(s, sw->name);
    int rc = sw_buf_appendstr(out, "{\"name\":");
    rc = rc ? rc : sw_json_append_string(out, sw->name);
    rc = rc ? rc : sw_buf_appendstr(out, ",\"parent\":");
    rc = rc ? rc
            : (sw->parent ? sw_json_append_string(out, sw->parent) : sw_buf_appendstr(out, "null"));
    rc = rc ? rc : sw_buf_appendstr(out, ",\"template\":");
    rc = rc ? rc
            : (sw->template_name ? sw_json_append_string(out, sw->template_name)
                                 : sw_buf_appendstr(out, "null"));
    rc = rc ? rc
            : sw_buf_appendf(
                  out,
                  ",\"state\":\"%s\",\"desired\":\"%s\",\"replicas\":%lld,"
                  "\"strategy\":\"%s\",\"topology\":\"%s\",\"intensity\":{\"restarts\":%lld,"
                  "\"period_ms\":%lld},\"restarts\":%llu,\"agents\":{\"total\":%d,"
                  "\"ready\":%d,\"busy\":%d,\"starting\":%d,\"backoff\":%d,\"stopped\":%d,"
                  "\"failed\":%d},\"failure\":",
                  sw_swarm_state_names[sw->state], sw->stopped ? "stopped" : "running",
                  (long long)sw->replicas, sw_strategy_names[sw->strategy],
                  sw->topology ? "mesh" : "hierarchical", (long long)sw->intensity_restarts,
                  (long long)sw->intensity_period_ms, (unsigned long long)sw->total_restarts,
                  c.total, c.ready, c.busy, c.starting, c.backoff, c.stopped, c.failed);
    rc = rc ? rc
            : (sw->failure[0] ? sw_json_append_string(out, sw->failure)
                              : sw_buf_appendstr(out, "null"));
    rc = rc ? rc : sw_buf_appendstr(out, ",\"spec\":");
    rc = rc ? rc : sw_buf_appendstr(out, sw->spec);
    return rc ? rc : sw_buf_append(out, "}", 1);
}

void sw_api_swarm_put(struct sw_request *req)
{
    apply_spec(req, 1);
}

static int render_swarm_entry(struct sw_server *s, const void *sw, struct sw_buf *out)
{
    return render_swarm(s, sw, out);
}

void sw_api_swarm_list(struct sw_request *req)
{
    reply_list(req, "swarms", &req->server->swarms, render_swarm_entry);
}

static struct sw_swarm *path_swarm(struct sw_request *req)
{
    struct sw_swarm *sw = sw_strmap_get(&req->server->swarms, req->params[0]);
    if (sw == NULL)
        sw_reply_error(req, SW_ENOT_FOUND, NULL, "no swarm %s", req->params[0]);
    return sw;
}

static int agent_cmp(const void *x, const void *y)
{
    const struct sw_agent *a = *(struct sw_agent *const *)x, *b = *(struct sw_agent *const *)y;
    if (a->replica != b->replica)
        return a->replica < b->replica ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

void sw_api_swarm_get(struct sw_request *req)
{
    struct sw_server *s = req->server;
    struct sw_swarm *sw = path_swarm(req);
    if (sw == NULL)
        return;
    size_t n = 0, pos = 0;
    void *value;
    struct sw_agent **list = sw_calloc(s->sched.agents.count + 1, sizeof *list);
    while (list && sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->swarm && strcmp(a->swarm, sw->name) == 0)
            list[n++] = a;
    }
    if (list)
        qsort(list, n, sizeof *list, agent_cmp);
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 28);
    sw_buf_appendstr(&body, "{\"swarm\":");
    render_swarm(s, sw, &body);
    sw_buf_appendstr(&body, ",\"agents\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sw_buf_append(&body, ",", 1);
        sw_agent_render(list[i], &body);
    }
    sw_buf_appendstr(&body, "]}");
    sw_free(list);
    sw_reply(req, 200, &body);
}

void sw_api_swarm_delete(struct sw_request *req)
{
    struct sw_field_error err = {{0}, {0}};
    int rc = sw_fleet_delete_swarm(req->server, req->params[0], &err);
    if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no swarm %s", req->params[0]);
    else if (rc)
        reply_field_error(req, rc, &err);
    else
        sw_reply_text(req, 200, "{\"deleted\":true}");
}

static void reply_swarm(struct sw_request *req)
{
    struct sw_swarm *sw = path_swarm(req);
    if (sw == NULL)
        return;
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    render_swarm(req->server, sw, &body);
    sw_reply(req, 200, &body);
}

void sw_api_swarm_scale(struct sw_request *req)
{
    static const char *const fields[] = {"replicas", NULL};
    json_t *root = NULL;
    int64_t replicas = -1;
    if (sw_body_object(req, &root) || sw_body_only(req, root, fields) ||
        sw_field_int(req, root, "replicas", 0, SW_SWARM_MAX_REPLICAS, &replicas)) {
        json_decref(root);
        return;
    }
    json_decref(root);
    if (replicas < 0) {
        sw_reply_error(req, SW_EMISSING_FIELD, "replicas", "replicas is required");
        return;
    }
    int rc = sw_fleet_scale(req->server, req->params[0], replicas);
    if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no swarm %s", req->params[0]);
    else if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_swarm(req);
}

static void swarm_stop_start(struct sw_request *req, int stop)
{
    int rc = sw_fleet_swarm_stop(req->server, req->params[0], stop);
    if (rc == SW_ENOT_FOUND)
        sw_reply_error(req, rc, NULL, "no swarm %s", req->params[0]);
    else if (rc)
        sw_reply_error(req, rc, NULL, NULL);
    else
        reply_swarm(req);
}

void sw_api_swarm_stop(struct sw_request *req)
{
    swarm_stop_start(req, 1);
}

void sw_api_swarm_start(struct sw_request *req)
{
    swarm_stop_start(req, 0);
}

/* ---- managed agents ---- */

static struct sw_agent *path_managed(struct sw_request *req)
{
    uint64_t id;
    if (sw_path_id(req, 'a', "agent", &id))
        return NULL;
    struct sw_agent *a = sw_sched_agent(&req->server->sched, id);
    if (a == NULL)
        sw_reply_error(req, SW_ENOT_FOUND, NULL, "no agent %s", req->params[0]);
    else if (a->kind != SW_AGENT_MANAGED)
        sw_reply_error(req, SW_EBAD_STATE, NULL,
                       "agent %s is a remote agent: swarmd does not run its process",
                       req->params[0]);
    else
        return a;
    return NULL;
}

static void agent_action(struct sw_request *req,
                         int (*action)(struct sw_server *, struct sw_agent *))
{
    struct sw_agent *a = path_managed(req);
    if (a == NULL)
        return;
    int rc = action(req->server, a);
    if (rc) {
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    sw_agent_render(a, &body);
    sw_reply(req, 200, &body);
}

void sw_api_agent_stop(struct sw_request *req)
{
    agent_action(req, sw_fleet_agent_stop);
}

void sw_api_agent_start(struct sw_request *req)
{
    agent_action(req, sw_fleet_agent_start);
}

void sw_api_agent_restart(struct sw_request *req)
{
    agent_action(req, sw_fleet_agent_restart);
}

/* A follower of an agent's log: the tail first, then what is appended, read from the
 * file as it grows (a rotation starts over at the new file's beginning). */
struct sw_log_follower {
    struct sw_log_follower *next;
    struct sw_server *server;
    struct sw_request *req;
    uint64_t agent_id;
    char path[4096];
    struct sw_buf head; /* the tail, sent first */
    size_t head_sent;
    int64_t offset;
    int ended;
};

static long follower_read(void *cls, char *buf, size_t max)
{
    struct sw_log_follower *f = cls;
    if (f->head_sent < f->head.len) {
        size_t n = f->head.len - f->head_sent < max ? f->head.len - f->head_sent : max;
        memcpy(buf, f->head.data + f->head_sent, n);
        f->head_sent += n;
        return (long)n;
    }
    FILE *file = fopen(f->path, "r");
    long n = 0;
    if (file) {
        fseek(file, 0, SEEK_END);
        if (ftell(file) < f->offset)
            f->offset = 0; /* rotated */
        fseek(file, f->offset, SEEK_SET);
        n = (long)fread(buf, 1, max, file);
        fclose(file);
        f->offset += n;
    }
    if (n == 0 && (f->ended || sw_sched_agent(&f->server->sched, f->agent_id) == NULL))
        return -1;
    return n;
}

static void follower_detach(void *cls)
{
    struct sw_log_follower *f = cls;
    for (struct sw_log_follower **p = &f->server->followers; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    f->req = NULL;
}

static void follower_free(void *cls)
{
    struct sw_log_follower *f = cls;
    sw_buf_free(&f->head);
    sw_free(f);
}

void sw_logs_written(struct sw_server *s, uint64_t agent_id)
{
    for (struct sw_log_follower *f = s->followers; f; f = f->next)
        if (f->agent_id == agent_id && f->req)
            sw_stream_wake(f->req);
}

void sw_logs_end_all(struct sw_server *s)
{
    for (struct sw_log_follower *f = s->followers; f; f = f->next) {
        f->ended = 1;
        if (f->req)
            sw_stream_wake(f->req);
    }
}

void sw_api_agent_logs(struct sw_request *req)
{
    uint64_t id;
    int64_t tail = 100, follow = 0;
    if (sw_path_id(req, 'a', "agent", &id) || sw_query_int(req, "tail", 0, 100000, &tail) ||
        sw_query_int(req, "follow", 0, 1, &follow))
        return;
    struct sw_agent *a = sw_sched_agent(&req->server->sched, id);
    if (a == NULL) {
        sw_reply_error(req, SW_ENOT_FOUND, NULL, "no agent %s", req->params[0]);
        return;
    }
    struct sw_log_follower *f = sw_calloc(1, sizeof *f);
    if (f == NULL) {
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
        return;
    }
    sw_fleet_log_path(req->server, a, f->path, sizeof f->path);
    sw_buf_init(&f->head, 64 << 20);
    int rc = sw_logfile_tail(f->path, (int)tail, &f->head);
    if (rc && rc != SW_ENOT_FOUND) {
        follower_free(f);
        sw_reply_error(req, rc, NULL, "cannot read %s", f->path);
        return;
    }
    if (!follow) {
        req->content_type = "text/plain; charset=utf-8";
        sw_reply(req, 200, &f->head);
        follower_free(f);
        return;
    }
    FILE *file = fopen(f->path, "r");
    if (file) {
        fseek(file, 0, SEEK_END);
        f->offset = ftell(file);
        fclose(file);
    }
    f->server = req->server;
    f->req = req;
    f->agent_id = id;
    f->next = req->server->followers;
    req->server->followers = f;
    sw_reply_stream(req, 200, "text/plain; charset=utf-8", follower_read, follower_free,
                    follower_detach, f);
}

void sw_api_agent_connect(struct sw_request *req)
{
    struct sw_agent *a = path_managed(req);
    char **argv = NULL, **env = NULL, cwd[4096];
    if (a == NULL)
        return;
    int rc = sw_runner_connect(req->server, a, &argv, &env, cwd, sizeof cwd);
    if (rc) {
        sw_reply_error(req, rc, NULL, "cannot build the agent's shell: %s", sw_strerror(rc));
        return;
    }
    json_t *out = json_object(), *jargv = json_array(), *jenv = json_object();
    for (char **p = argv; p && *p; p++)
        json_array_append_new(jargv, json_string(*p));
    for (char **p = env; p && *p; p++) {
        char *eq = strchr(*p, '=');
        if (eq && strncmp(*p, "SWARM_TOKEN=", 12) != 0) {
            *eq = '\0';
            json_object_set_new(jenv, *p, json_string(eq + 1));
        }
    }
    json_object_set_new(out, "argv", jargv);
    json_object_set_new(out, "env", jenv);
    json_object_set_new(out, "cwd", json_string(cwd));
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    sw_argv_free(argv);
    sw_strv_free(env);
    if (text == NULL) {
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
        return;
    }
    sw_reply_text(req, 200, text);
    sw_free(text);
}

/* POST /v1/agents with "template": a managed agent (the remote registration path
 * calls this when the body names a template). */
void sw_api_agent_create_managed(struct sw_request *req, json_t *root)
{
    static const char *const fields[] = {"name", "template", "swarm", NULL};
    const char *name = NULL, *template_name = NULL, *swarm = NULL;
    if (sw_body_only(req, root, fields) || sw_field_string(req, root, "name", 1, 128, &name) ||
        sw_field_string(req, root, "template", 1, 63, &template_name) ||
        sw_field_string(req, root, "swarm", 0, 63, &swarm))
        return;
    struct sw_field_error err = {{0}, {0}};
    struct sw_agent *a = NULL;
    int rc = sw_fleet_create_agent(req->server, name, template_name, swarm, &a, &err);
    if (rc) {
        reply_field_error(req, rc, &err);
        return;
    }
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    sw_agent_render(a, &body);
    sw_reply(req, 201, &body);
}
