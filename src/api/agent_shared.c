/* SPDX-License-Identifier: MIT
 * agent_shared.c - a stdio agent's calls on the shared memory and the event bus:
 * event.publish, memory.get|put|delete|list|txn|watch|unwatch. Answers to writes are
 * sent once the write is committed (as HTTP replies are). A watch sends each change as
 * a "memory.changed" notification, holding back while the agent's stdin pipe is full. */
#include "events.h"
#include "memory_api.h"
#include "runner_int.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"

#include <stdio.h>
#include <string.h>

#define WATCHES_MAX     64
#define PIPE_HIGH_WATER (256 << 10)
#define RETRY_MS        20

struct rpc_watch {
    struct rpc_watch *next;
    struct agent_rt *rt;
    struct sw_sub sub;
    char id[24];
};

/* JSON-RPC application errors: code -32000, data {"code", "field", "current"?}. */
static json_t *error_msg(json_t *id, const struct sw_mem_result *r)
{
    json_t *data = json_pack("{s:s}", "code", sw_strerror_code(r->rc));
    if (r->field[0])
        json_object_set_new(data, "field", json_string(r->field));
    if (r->rc == SW_ECONFLICT && r->body.len)
        json_object_set_new(data, "current", json_loadb(r->body.data, r->body.len, 0, NULL));
    return json_pack("{s:s, s:O, s:{s:i, s:s, s:o}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", -32000, "message", r->message, "data", data);
}

static void answer(struct agent_rt *rt, json_t *id, struct sw_mem_result *r, int committed)
{
    json_t *msg;
    if (r->rc)
        msg = error_msg(id, r);
    else
        msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result",
                        json_loadb(r->body.data, r->body.len, JSON_DECODE_ANY, NULL));
    if (id == NULL) /* a notification: no answer */
        json_decref(msg);
    else if (committed)
        sw__rpc_send_committed(rt, msg);
    else
        sw__rpc_send(rt, msg);
}

static const char *str(json_t *params, const char *key)
{
    const char *v = json_string_value(json_object_get(params, key));
    return v ? v : "";
}

static void publish(struct agent_rt *rt, json_t *id, json_t *params, struct sw_mem_result *r)
{
    const char *type = str(params, "type");
    json_t *data = json_object_get(params, "data");
    const char *subject = json_string_value(json_object_get(params, "subject"));
    if (!sw_event_field_valid(type) || strncmp(type, "swarmd.", 7) == 0) {
        r->rc = SW_EBAD_FIELD;
        snprintf(r->field, sizeof r->field, "type");
        snprintf(r->message, sizeof r->message,
                 "params.type must be 1-256 printable characters and not start with \"swarmd.\"");
        return;
    }
    if (subject && strlen(subject) > 1024) {
        r->rc = SW_EBAD_FIELD;
        snprintf(r->field, sizeof r->field, "subject");
        snprintf(r->message, sizeof r->message, "params.subject is longer than 1024 bytes");
        return;
    }
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char agent[SW_ID_STRLEN], source[40];
    sw_id_format('a', rt->agent->id, agent);
    snprintf(source, sizeof source, "/agents/%s", agent);
    uint64_t seq =
        sw_events_append(rt->server, type, source, subject, NULL, text, text ? strlen(text) : 0);
    sw_free(text);
    if (seq == 0) {
        r->rc = SW_ENOMEM;
        snprintf(r->message, sizeof r->message, "out of memory");
        return;
    }
    r->rc = sw_buf_appendf(&r->body, "{\"id\":%llu}", (unsigned long long)seq);
}

/* ---- watches ---- */

static void pump(struct rpc_watch *w);

static void retry_cb(uv_timer_t *timer)
{
    struct agent_rt *rt = timer->data;
    for (struct rpc_watch *w = rt->watches; w; w = w->next)
        pump(w);
}

static void pump(struct rpc_watch *w)
{
    struct agent_rt *rt = w->rt;
    for (;;) {
        if (rt->proc == NULL)
            return;
        if (sw_process_write_queued(rt->proc) > PIPE_HIGH_WATER) {
            if (!rt->watch_retry_init) {
                uv_timer_init(rt->server->loop, &rt->watch_retry);
                rt->watch_retry.data = rt;
                rt->watch_retry_init = 1;
            }
            uv_timer_start(&rt->watch_retry, retry_cb, RETRY_MS, 0);
            return;
        }
        const struct sw_event *ev;
        uint64_t first;
        int rc = sw_events_next(&w->sub, &ev, &first);
        json_t *params;
        if (rc == 1)
            params =
                json_pack("{s:s, s:o}", "watch", w->id, "change",
                          json_loadb(ev->json + ev->data_off, ev->len - 1 - ev->data_off, 0, NULL));
        else if (rc == SW_EGAP)
            params =
                json_pack("{s:s, s:I}", "watch", w->id, "gap_first_available", (json_int_t)first);
        else
            return; /* caught up (woken later) or a store error */
        sw__rpc_send(rt, json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", "memory.changed",
                                   "params", params));
    }
}

static void watch_wake(struct sw_sub *sub)
{
    pump(sub->cls);
}

static void watch(struct agent_rt *rt, json_t *params, struct sw_mem_result *r)
{
    const char *ns = str(params, "ns");
    const char *prefix = json_string_value(json_object_get(params, "prefix"));
    json_t *after = json_object_get(params, "after_revision");
    int n = 0;
    for (struct rpc_watch *w = rt->watches; w; w = w->next)
        n++;
    struct sw_event_filter f;
    r->rc = !sw_mem_ns_valid(ns)                                                  ? SW_EBAD_FIELD
            : after && (!json_is_integer(after) || json_integer_value(after) < 0) ? SW_EBAD_FIELD
            : n >= WATCHES_MAX                                                    ? SW_ELIMIT
                                                                                  : 0;
    if (r->rc) {
        snprintf(r->field, sizeof r->field, "%s",
                 r->rc == SW_ELIMIT    ? ""
                 : sw_mem_ns_valid(ns) ? "after_revision"
                                       : "ns");
        snprintf(r->message, sizeof r->message, "%s",
                 r->rc == SW_ELIMIT ? "at most 64 watches per agent"
                                    : "params.ns must be a namespace, params.after_revision a "
                                      "revision");
        return;
    }
    struct rpc_watch *w = sw_calloc(1, sizeof *w);
    if (w == NULL || sw_mem_watch_filter(ns, prefix, &f)) {
        sw_free(w);
        r->rc = SW_ENOMEM;
        snprintf(r->message, sizeof r->message, "out of memory");
        return;
    }
    static uint64_t next_watch;
    snprintf(w->id, sizeof w->id, "w%llu", (unsigned long long)++next_watch);
    w->rt = rt;
    sw_sub_init(&w->sub, rt->server, &f,
                after ? (uint64_t)json_integer_value(after) : SW_EVENTS_NOW, watch_wake, w);
    sw_sub_start(&w->sub);
    w->next = rt->watches;
    rt->watches = w;
    r->rc = sw_buf_appendf(&r->body, "{\"watch\":\"%s\",\"after_revision\":%llu}", w->id,
                           (unsigned long long)w->sub.after);
    pump(w); /* changes since after_revision: sent now (they come before the answer) */
}

static void unwatch(struct agent_rt *rt, json_t *params, struct sw_mem_result *r)
{
    const char *id = str(params, "watch");
    for (struct rpc_watch **p = &rt->watches; *p; p = &(*p)->next) {
        struct rpc_watch *w = *p;
        if (strcmp(w->id, id) == 0) {
            *p = w->next;
            sw_sub_stop(&w->sub);
            sw_free(w);
            r->rc = sw_buf_appendstr(&r->body, "true");
            return;
        }
    }
    r->rc = SW_ENOT_FOUND;
    snprintf(r->field, sizeof r->field, "watch");
    snprintf(r->message, sizeof r->message, "no watch '%.64s'", id);
}

void sw__shared_end(struct agent_rt *rt)
{
    while (rt->watches) {
        struct rpc_watch *w = rt->watches;
        rt->watches = w->next;
        sw_sub_stop(&w->sub);
        sw_free(w);
    }
    if (rt->watch_retry_init)
        uv_timer_stop(&rt->watch_retry);
}

int sw__shared_request(struct agent_rt *rt, json_t *id, const char *method, json_t *params)
{
    struct sw_server *s = rt->server;
    const struct sw_agent *by = rt->agent;
    struct sw_mem_result r;
    int committed = 1;
    if (strncmp(method, "memory.", 7) != 0 && strcmp(method, "event.publish") != 0)
        return 0;
    sw_mem_result_init(&r);
    const char *m = method + 7;
    if (strcmp(method, "event.publish") == 0) {
        publish(rt, id, params, &r);
    } else if (strcmp(m, "get") == 0) {
        sw_mem_op_get(s, str(params, "ns"), str(params, "key"), &r);
    } else if (strcmp(m, "put") == 0 || strcmp(m, "delete") == 0) {
        json_t *args = json_deep_copy(params);
        int create_only = json_is_true(json_object_get(args, "create_only"));
        json_object_del(args, "ns");
        json_object_del(args, "key");
        json_object_del(args, "create_only");
        if (m[0] == 'p')
            sw_mem_op_put(s, by, str(params, "ns"), str(params, "key"), args, create_only, &r);
        else
            sw_mem_op_delete(s, by, str(params, "ns"), str(params, "key"), args, &r);
        json_decref(args);
    } else if (strcmp(m, "list") == 0) {
        json_t *limit = json_object_get(params, "limit");
        int64_t n = json_is_integer(limit) ? json_integer_value(limit) : 100;
        sw_mem_op_list(s, str(params, "ns"), json_string_value(json_object_get(params, "prefix")),
                       json_string_value(json_object_get(params, "cursor")),
                       n < 1      ? 1
                       : n > 1000 ? 1000
                                  : n,
                       &r);
    } else if (strcmp(m, "txn") == 0) {
        sw_mem_op_txn(s, by, params, &r);
    } else if (strcmp(m, "watch") == 0) {
        watch(rt, params, &r);
        committed = 0;
    } else if (strcmp(m, "unwatch") == 0) {
        unwatch(rt, params, &r);
        committed = 0;
    } else {
        sw_mem_result_free(&r);
        return 0;
    }
    answer(rt, id, &r, committed && r.rc == 0);
    sw_mem_result_free(&r);
    return 1;
}
