/* SPDX-License-Identifier: MIT
 * emit.c - task, agent and swarm events. */
#include "emit.h"
#include "events.h"
#include "server.h"
#include "core/ids.h"

#include <stdio.h>
#include <string.h>

static const char *const task_types[] = {
    [SW_TASK_EV_SUBMITTED] = "swarmd.task.submitted",
    [SW_TASK_EV_PROMOTED] = "swarmd.task.queued",
    [SW_TASK_EV_LEASED] = "swarmd.task.leased",
    [SW_TASK_EV_PROGRESS] = "swarmd.task.progressed",
    [SW_TASK_EV_SUCCEEDED] = "swarmd.task.succeeded",
    [SW_TASK_EV_ATTEMPT_FAILED] = "swarmd.task.failed",
    [SW_TASK_EV_DEAD] = "swarmd.task.dead",
    [SW_TASK_EV_CANCELLED] = "swarmd.task.cancelled",
    [SW_TASK_EV_RETRIED] = "swarmd.task.retried",
};

void sw_task_traceparent(const struct sw_task *t, char out[64])
{
    snprintf(out, 64, "00-%016llx%016llx-%016llx-01", (unsigned long long)t->id,
             (unsigned long long)t->created_at,
             (unsigned long long)(t->lease_id ? t->lease_id : t->id));
}

static void source_of(const char *swarm, char *out, size_t size)
{
    if (swarm && *swarm)
        snprintf(out, size, "/swarms/%s", swarm);
    else
        snprintf(out, size, "/swarmd");
}

void sw_emit_task(struct sw_server *s, const struct sw_task *t, enum sw_task_event ev)
{
    char id[SW_ID_STRLEN], agent[SW_ID_STRLEN], source[128], trace[64];
    sw_id_format('t', t->id, id);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)64 << 20);
    int rc = sw_buf_appendf(&b, "{\"id\":\"%s\",\"capability\":", id);
    rc = rc ? rc : sw_json_append_string(&b, t->capability);
    rc = rc ? rc
            : sw_buf_appendf(&b, ",\"state\":\"%s\",\"attempt\":%d,\"max_attempts\":%d",
                             sw_task_state_names[t->state], t->attempt, t->max_attempts);
    if (t->swarm) {
        rc = rc ? rc : sw_buf_appendstr(&b, ",\"swarm\":");
        rc = rc ? rc : sw_json_append_string(&b, t->swarm);
    }
    if (t->parent) {
        char parent[SW_ID_STRLEN];
        sw_id_format('t', t->parent, parent);
        rc = rc ? rc : sw_buf_appendf(&b, ",\"parent\":\"%s\"", parent);
    }
    if (t->agent_id) {
        sw_id_format('a', t->agent_id, agent);
        rc = rc ? rc : sw_buf_appendf(&b, ",\"agent\":\"%s\"", agent);
    }
    if (t->labels)
        rc = rc ? rc : sw_buf_appendf(&b, ",\"labels\":%s", t->labels);
    if (ev == SW_TASK_EV_SUCCEEDED && t->result)
        rc = rc ? rc : sw_buf_appendf(&b, ",\"result\":%s", t->result);
    if ((ev == SW_TASK_EV_ATTEMPT_FAILED || ev == SW_TASK_EV_DEAD || ev == SW_TASK_EV_CANCELLED) &&
        t->error)
        rc = rc ? rc : sw_buf_appendf(&b, ",\"error\":%s", t->error);
    if (ev == SW_TASK_EV_PROGRESS && t->progress)
        rc = rc ? rc : sw_buf_appendf(&b, ",\"progress\":%s", t->progress);
    rc = rc ? rc : sw_buf_append(&b, "}", 1);
    if (rc == 0) {
        source_of(t->swarm, source, sizeof source);
        sw_task_traceparent(t, trace);
        sw_events_append(s, task_types[ev], source, id, trace, b.data, b.len);
    }
    sw_buf_free(&b);
}

void sw_emit_agent(struct sw_server *s, const struct sw_agent *a, const char *what)
{
    char id[SW_ID_STRLEN], source[32], type[64];
    sw_id_format('a', a->id, id);
    snprintf(source, sizeof source, "/agents/%s", id);
    snprintf(type, sizeof type, "swarmd.agent.%s", what);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 20);
    int rc = sw_buf_appendf(&b, "{\"id\":\"%s\",\"name\":", id);
    rc = rc ? rc : sw_json_append_string(&b, a->name);
    rc = rc ? rc
            : sw_buf_appendf(&b, ",\"state\":\"%s\",\"kind\":\"%s\",\"running\":%d,\"slots\":%d",
                             sw_agent_state_names[a->state],
                             a->kind == SW_AGENT_MANAGED ? "managed" : "remote", a->running,
                             a->slots);
    if (a->swarm) {
        rc = rc ? rc : sw_buf_appendstr(&b, ",\"swarm\":");
        rc = rc ? rc : sw_json_append_string(&b, a->swarm);
    }
    if (a->kind == SW_AGENT_MANAGED)
        rc = rc ? rc : sw_buf_appendf(&b, ",\"restarts\":%llu", (unsigned long long)a->restarts);
    rc = rc ? rc : sw_buf_append(&b, "}", 1);
    if (rc == 0)
        sw_events_append(s, type, source, id, NULL, b.data, b.len);
    sw_buf_free(&b);
}

void sw_emit_agent_breaker(struct sw_server *s, const struct sw_agent *a)
{
    const struct sw_breaker *br = &a->breaker;
    char id[SW_ID_STRLEN], source[32];
    sw_id_format('a', a->id, id);
    snprintf(source, sizeof source, "/agents/%s", id);
    struct sw_buf b;
    sw_buf_init(&b, (size_t)1 << 20);
    int rc = sw_buf_appendf(&b, "{\"id\":\"%s\",\"name\":", id);
    rc = rc ? rc : sw_json_append_string(&b, a->name);
    rc = rc ? rc
            : sw_buf_appendf(&b,
                             ",\"state\":\"%s\",\"reason\":\"%s\",\"consecutive_failures\":%d,"
                             "\"recent_failures\":%d,\"recent_outcomes\":%d,\"cooldown_ms\":%lld",
                             sw_breaker_state_names[br->state], br->reason ? br->reason : "",
                             br->consecutive_failures, __builtin_popcountll(br->outcomes),
                             br->outcome_count, (long long)br->cooldown_ms);
    if (a->swarm) {
        rc = rc ? rc : sw_buf_appendstr(&b, ",\"swarm\":");
        rc = rc ? rc : sw_json_append_string(&b, a->swarm);
    }
    rc = rc ? rc : sw_buf_append(&b, "}", 1);
    if (rc == 0)
        sw_events_append(s, "swarmd.agent.breaker", source, id, NULL, b.data, b.len);
    sw_buf_free(&b);
}

void sw_emit_swarm(struct sw_server *s, const char *swarm, const char *what, const char *data)
{
    char source[128], type[64];
    source_of(swarm, source, sizeof source);
    snprintf(type, sizeof type, "swarmd.swarm.%s", what);
    sw_events_append(s, type, source, swarm, NULL, data, data ? strlen(data) : 0);
}
