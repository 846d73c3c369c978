/* SPDX-License-Identifier: MIT
 * agents_api.c - the /v1/agents routes: register (with a new token), list, get,
 * delete, and the agent's own lease (long-poll) and heartbeat. */
#include "fleet.h"
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MAX_LEASE_BATCH 1000

void sw_api_agent_create_managed(struct sw_request *req, json_t *root);

static void reply_agent(struct sw_request *req, int status, const struct sw_agent *a)
{
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    int rc = sw_agent_render(a, &body);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, status, &body);
}

static int name_valid(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-:@", *p))
            return 0;
    return 1;
}

static int parse_capabilities(struct sw_request *req, json_t *root, struct sw_agent *a)
{
    json_t *caps = json_object_get(root, "capabilities");
    if (caps == NULL) {
        sw_reply_error(req, SW_EMISSING_FIELD, "capabilities", "capabilities is required");
        return SW_EMISSING_FIELD;
    }
    size_t n = json_is_array(caps) ? json_array_size(caps) : 0;
    if (n == 0 || n > SW_AGENT_MAX_CAPS) {
        sw_reply_error(req, SW_EBAD_FIELD, "capabilities",
                       "capabilities must be an array of 1 to %d capability names",
                       SW_AGENT_MAX_CAPS);
        return SW_EBAD_FIELD;
    }
    a->capabilities = sw_calloc(n, sizeof(char *));
    if (a->capabilities == NULL)
        return SW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *cap = json_string_value(json_array_get(caps, i));
        if (cap == NULL || !sw_capability_valid(cap)) {
            sw_reply_error(req, SW_EBAD_FIELD, "capabilities",
                           "capabilities[%zu] is not a valid capability name: use "
                           "[a-z0-9][a-z0-9._/-]{0,127}, optionally followed by @<major>",
                           i);
            return SW_EBAD_FIELD;
        }
        if (sw_agent_has_capability(a, cap))
            continue;
        if ((a->capabilities[a->ncapabilities++] = sw_strdup(cap)) == NULL)
            return SW_ENOMEM;
    }
    return 0;
}

static int parse_register(struct sw_request *req, json_t *root, struct sw_agent *a, int *replace)
{
    static const char *const fields[] = {"name",  "capabilities", "slots", "labels",
                                         "swarm", "replace",      NULL};
    const char *name = NULL, *swarm = NULL;
    int64_t slots = 1;
    int rc = sw_body_only(req, root, fields);
    rc = rc ? rc : sw_field_string(req, root, "name", 1, 128, &name);
    if (rc == 0 && !name_valid(name)) {
        sw_reply_error(req, SW_EBAD_FIELD, "name",
                       "name may hold letters, digits and . _ - : @ only");
        rc = SW_EBAD_FIELD;
    }
    rc = rc ? rc : parse_capabilities(req, root, a);
    rc = rc ? rc : sw_field_int(req, root, "slots", 1, 100000, &slots);
    rc = rc ? rc : sw_field_labels(req, root, "labels", &a->labels);
    rc = rc ? rc : sw_field_string(req, root, "swarm", 0, 128, &swarm);
    rc = rc ? rc : sw_field_bool(req, root, "replace", replace);
    if (rc)
        return rc;
    a->slots = (int)slots;
    if ((a->name = sw_strdup(name)) == NULL || (swarm && (a->swarm = sw_strdup(swarm)) == NULL))
        return SW_ENOMEM;
    return 0;
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

void sw_api_agent_register(struct sw_request *req)
{
    struct sw_server *s = req->server;
    int64_t now = sw_server_now(s);
    json_t *root = NULL;
    struct sw_agent *a = sw_agent_new();
    int replace = 0, rc;
    char token[70];
    if (a == NULL || sw_body_object(req, &root))
        goto out;
    if (json_object_get(root, "template")) { /* a managed agent, started by swarmd */
        sw_api_agent_create_managed(req, root);
        goto out;
    }
    if (parse_register(req, root, a, &replace))
        goto out;
    struct sw_agent *old = sw_sched_agent_by_name(&s->sched, a->name);
    if (old && old->state != SW_AGENT_LOST && !replace) {
        char id[SW_ID_STRLEN];
        sw_id_format('a', old->id, id);
        sw_reply_error(req, SW_EAGENT_EXISTS, "name",
                       "agent \"%s\" is live as %s: remove it, or register with \"replace\": "
                       "true",
                       a->name, id);
        goto out;
    }
    if (old)
        sw_sched_remove_agent(&s->sched, old, now);
    if ((rc = new_token(token))) {
        sw_reply_error(req, rc, NULL, "cannot draw a random token");
        goto out;
    }
    sw_token_hash(token, a->token_hash);
    rc = sw_sched_register_agent(&s->sched, a, now);
    if (rc == 0 && (rc = sw_server_add_token(s, a)))
        sw_sched_remove_agent(&s->sched, a, now);
    struct sw_agent *registered = a;
    a = NULL; /* owned by the scheduler */
    if (rc) {
        sw_reply_error(req, rc, NULL, NULL);
        goto out;
    }
    char id[SW_ID_STRLEN];
    sw_id_format('a', registered->id, id);
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    sw_buf_appendf(&body,
                   "{\"id\":\"%s\",\"token\":\"%s\",\"heartbeat_ms\":%lld,\"lease_ms\":%lld,"
                   "\"agent\":",
                   id, token, (long long)s->cfg.sched.heartbeat_ms,
                   (long long)s->cfg.sched.lease_ms);
    sw_agent_render(registered, &body);
    sw_buf_append(&body, "}", 1);
    sw_reply(req, 201, &body);
out:
    sw_agent_free(a);
    json_decref(root);
}

static int agent_id_cmp(const void *x, const void *y)
{
    uint64_t a = (*(struct sw_agent *const *)x)->id, b = (*(struct sw_agent *const *)y)->id;
    return a < b ? -1 : a > b;
}

void sw_api_agent_list(struct sw_request *req)
{
    struct sw_sched *sched = &req->server->sched;
    size_t n = sched->agents.count, i = 0, pos = 0;
    struct sw_agent **all = sw_calloc(n ? n : 1, sizeof *all);
    void *value;
    if (all == NULL) {
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
        return;
    }
    while (i < n && sw_map_next(&sched->agents, &pos, NULL, &value))
        all[i++] = value;
    qsort(all, i, sizeof *all, agent_id_cmp);
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 30);
    int rc = sw_buf_appendstr(&body, "{\"agents\":[");
    for (size_t k = 0; rc == 0 && k < i; k++) {
        rc = k ? sw_buf_append(&body, ",", 1) : 0;
        rc = rc ? rc : sw_agent_render(all[k], &body);
    }
    rc = rc ? rc : sw_buf_appendstr(&body, "]}");
    sw_free(all);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}

/* The agent of the {id} parameter, or an answered 404. */
static struct sw_agent *path_agent(struct sw_request *req)
{
    uint64_t id;
    if (sw_path_id(req, 'a', "agent", &id))
        return NULL;
    struct sw_agent *a = sw_sched_agent(&req->server->sched, id);
    if (a == NULL)
        sw_reply_error(req, SW_ENOT_FOUND, NULL, "no agent %s", req->params[0]);
    return a;
}

void sw_api_agent_get(struct sw_request *req)
{
    struct sw_agent *a = path_agent(req);
    if (a)
        reply_agent(req, 200, a);
}

static struct sw_agent *own_agent(struct sw_request *req);

/* An admin may remove any agent; an agent, itself (when it shuts down). */
void sw_api_agent_delete(struct sw_request *req)
{
    struct sw_agent *a = own_agent(req);
    if (a == NULL)
        return;
    char body[96], swarm[128] = "";
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"deleted\":true}", req->params[0]);
    if (a->kind == SW_AGENT_MANAGED && a->swarm)
        snprintf(swarm, sizeof swarm, "%s", a->swarm);
    sw_sched_remove_agent(&req->server->sched, a, sw_server_now(req->server));
    if (swarm[0]) /* a swarm member: the swarm starts a fresh one in its place */
        sw_fleet_reconcile_swarm(req->server, swarm);
    sw_reply_text(req, 200, body);
}

/* The agent of the path, which must be the caller (or the caller an admin). */
static struct sw_agent *own_agent(struct sw_request *req)
{
    struct sw_agent *a = path_agent(req);
    if (a == NULL)
        return NULL;
    if (req->agent && req->agent != a) {
        sw_reply_error(req, SW_EFORBIDDEN, NULL, "this token belongs to another agent than %s",
                       req->params[0]);
        return NULL;
    }
    sw_sched_touch_agent(&req->server->sched, a, sw_server_now(req->server));
    return a;
}

static int append_cancelled(struct sw_buf *body, struct sw_agent *a)
{
    int rc = sw_buf_appendstr(body, "\"cancel\":[");
    for (size_t i = 0; rc == 0 && i < a->ncancelled; i++) {
        char id[SW_ID_STRLEN];
        sw_id_format('t', a->cancelled[i], id);
        rc = sw_buf_appendf(body, "%s\"%s\"", i ? "," : "", id);
    }
    sw_sched_cancel_told(a);
    return rc ? rc : sw_buf_append(body, "]", 1);
}

void sw_api_agent_heartbeat(struct sw_request *req)
{
    struct sw_server *s = req->server;
    struct sw_agent *a = own_agent(req);
    if (a == NULL)
        return;
    sw_sched_heartbeat(&s->sched, a, sw_server_now(s));
    struct sw_buf body;
    sw_buf_init(&body, 1 << 24);
    int rc = sw_buf_append(&body, "{", 1);
    rc = rc ? rc : append_cancelled(&body, a);
    rc = rc ? rc
            : sw_buf_appendf(&body, ",\"state\":\"%s\",\"heartbeat_ms\":%lld,\"lease_ms\":%lld}",
                             sw_agent_state_names[a->state], (long long)s->cfg.sched.heartbeat_ms,
                             (long long)s->cfg.sched.lease_ms);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}

/* ---- lease, with long-poll ---- */

struct lease_wait {
    struct sw_lease_waiter waiter;
    struct sw_request *req;
    struct sw_task *tasks[];
};

static void reply_lease(struct sw_request *req, struct sw_agent *a, struct sw_task **tasks, int n)
{
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 31);
    int rc = sw_buf_appendstr(&body, "{\"tasks\":[");
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = i ? sw_buf_append(&body, ",", 1) : 0;
        rc = rc ? rc : sw_task_render(tasks[i], &body);
    }
    rc = rc ? rc : sw_buf_appendstr(&body, "],");
    rc = rc ? rc : append_cancelled(&body, a);
    rc = rc ? rc : sw_buf_append(&body, "}", 1);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}

static void lease_ready_cb(struct sw_lease_waiter *w)
{
    struct lease_wait *lw = w->data;
    sw_request_wake(lw->req);
}

static void lease_wait_cb(struct sw_request *req, int timed_out)
{
    struct lease_wait *lw = req->wait_data;
    struct sw_server *s = req->server;
    req->wait_data = NULL;
    sw_sched_unwait(&s->sched, &lw->waiter);
    if (timed_out >= 0) {
        if (lw->waiter.rc == SW_EAGENT_GONE)
            sw_reply_error(req, SW_EAGENT_GONE, NULL, "agent %s was removed", req->params[0]);
        else if (lw->waiter.rc)
            sw_reply_error(req, lw->waiter.rc, NULL, NULL);
        else
            reply_lease(req, lw->waiter.agent, lw->tasks, lw->waiter.ntasks);
        sw_server_respond(s, req);
    }
    sw_free(lw);
}

void sw_api_agent_lease(struct sw_request *req)
{
    static const char *const fields[] = {"max", "wait_ms", NULL};
    struct sw_server *s = req->server;
    json_t *root = NULL;
    int64_t max = 1, wait_ms = 0;
    struct sw_agent *a = own_agent(req);
    if (a == NULL || sw_body_object(req, &root) || sw_body_only(req, root, fields) ||
        sw_field_int(req, root, "max", 1, MAX_LEASE_BATCH, &max) ||
        sw_field_int(req, root, "wait_ms", 0, SW_MAX_WAIT_MS, &wait_ms))
        goto out;
    if (wait_ms > s->cfg.max_wait_ms)
        wait_ms = s->cfg.max_wait_ms; /* long polls are clamped, not refused */
    struct lease_wait *lw = sw_calloc(1, sizeof *lw + (size_t)max * sizeof(struct sw_task *));
    if (lw == NULL) {
        sw_reply_error(req, SW_ENOMEM, NULL, NULL);
        goto out;
    }
    int n = 0;
    int rc = sw_sched_lease(&s->sched, a, (int)max, sw_server_now(s), lw->tasks, &n);
    if (rc || n > 0 || wait_ms == 0 || s->stopping) {
        if (rc)
            sw_reply_error(req, rc, NULL, NULL);
        else
            reply_lease(req, a, lw->tasks, n);
        sw_free(lw);
        goto out;
    }
    lw->req = req;
    lw->waiter.agent = a;
    lw->waiter.max = (int)max;
    lw->waiter.tasks = lw->tasks;
    lw->waiter.ready_cb = lease_ready_cb;
    lw->waiter.data = lw;
    req->wait_data = lw;
    sw_sched_wait(&s->sched, &lw->waiter);
    sw_request_wait(req, wait_ms, lease_wait_cb);
out:
    json_decref(root);
}
