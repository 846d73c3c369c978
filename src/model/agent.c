/* SPDX-License-Identifier: MIT
 * agent.c - agent states and rendering. */
#include "agent.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"

#include <string.h>

const char *const sw_agent_state_names[SW_AGENT_NSTATES] = {
    "ready", "busy", "lost", "starting", "stopping", "stopped", "backoff", "failed"};
const char *const sw_breaker_state_names[SW_BREAKER_NSTATES] = {"closed", "open", "half_open"};

struct sw_agent *sw_agent_new(void)
{
    struct sw_agent *a = sw_calloc(1, sizeof(struct sw_agent));
    if (a) {
        a->replica = -1;
        a->event_state = -1;
    }
    return a;
}

int sw_agent_running(const struct sw_agent *a)
{
    return a->state == SW_AGENT_READY || a->state == SW_AGENT_BUSY;
}

void sw_agent_free(struct sw_agent *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->ncapabilities; i++)
        sw_free(a->capabilities[i]);
    sw_free(a->capabilities);
    sw_free(a->name);
    sw_free(a->labels);
    sw_free(a->swarm);
    sw_free(a->template_name);
    sw_free(a->cancelled);
    sw_free(a);
}

int sw_agent_has_capability(const struct sw_agent *a, const char *capability)
{
    for (size_t i = 0; i < a->ncapabilities; i++)
        if (strcmp(a->capabilities[i], capability) == 0)
            return 1;
    return 0;
}

int sw_agent_note_cancel(struct sw_agent *a, uint64_t task_id)
{
    if (a->ncancelled == a->cancelled_cap) {
        size_t cap = a->cancelled_cap ? a->cancelled_cap * 2 : 8;
        uint64_t *ids = sw_realloc(a->cancelled, cap * sizeof *ids);
        if (ids == NULL)
            return SW_ENOMEM;
        a->cancelled = ids;
        a->cancelled_cap = cap;
    }
    a->cancelled[a->ncancelled++] = task_id;
    return 0;
}

void sw_agent_update_state(struct sw_agent *a)
{
    if (!sw_agent_running(a))
        return;
    a->state = a->running >= a->slots ? SW_AGENT_BUSY : SW_AGENT_READY;
}

static int render_time(struct sw_buf *out, const char *key, int64_t wall_ms)
{
    char ts[40];
    sw_clock_format_rfc3339(wall_ms, ts, sizeof ts);
    return sw_buf_appendf(out, ",\"%s\":\"%s\"", key, ts);
}

/* "breaker":{"state","reason","consecutive_failures","recent_failures","recent_outcomes",
 * "opened_at","half_open_at","cooldown_ms","trips"} */
static int render_breaker(const struct sw_breaker *b, struct sw_buf *out)
{
    int rc = sw_buf_appendf(
        out, ",\"breaker\":{\"state\":\"%s\",\"reason\":", sw_breaker_state_names[b->state]);
    rc = rc ? rc
            : (b->reason ? sw_json_append_string(out, b->reason) : sw_buf_appendstr(out, "null"));
    rc = rc ? rc
            : sw_buf_appendf(out,
                             ",\"consecutive_failures\":%d,\"recent_failures\":%d,"
                             "\"recent_outcomes\":%d,\"cooldown_ms\":%lld,\"trips\":%llu",
                             b->consecutive_failures, __builtin_popcountll(b->outcomes),
                             b->outcome_count, (long long)b->cooldown_ms,
                             (unsigned long long)b->trips);
    if (rc == 0 && b->opened_at > 0)
        rc = render_time(out, "opened_at", b->opened_at);
    else if (rc == 0)
        rc = sw_buf_appendstr(out, ",\"opened_at\":null");
    if (rc == 0 && b->state == SW_BREAKER_OPEN)
        rc = render_time(out, "half_open_at", b->half_open_at);
    else if (rc == 0)
        rc = sw_buf_appendstr(out, ",\"half_open_at\":null");
    return rc ? rc : sw_buf_append(out, "}", 1);
}

static int render_managed(const struct sw_agent *a, struct sw_buf *out)
{
    int rc = sw_buf_appendstr(out, ",\"template\":");
    rc = rc ? rc
            : (a->template_name ? sw_json_append_string(out, a->template_name)
                                : sw_buf_appendstr(out, "null"));
    rc = rc ? rc
            : sw_buf_appendf(out,
                             ",\"role\":\"%s\",\"pid\":%d,\"restarts\":%llu,"
                             "\"desired\":\"%s\"",
                             a->queen ? "queen" : "worker", a->pid, (unsigned long long)a->restarts,
                             a->stopped ? "stopped" : "running");
    if (rc == 0 && a->started_at > 0)
        rc = render_time(out, "started_at", a->started_at);
    else if (rc == 0)
        rc = sw_buf_appendstr(out, ",\"started_at\":null");
    if (rc == 0 && a->has_exit) {
        char ts[40];
        sw_clock_format_rfc3339(a->exit_at, ts, sizeof ts);
        rc = sw_buf_appendf(out, ",\"exit\":{\"code\":%d,\"signal\":%d,\"at\":\"%s\"}",
                            a->exit_code, a->exit_signal, ts);
    } else if (rc == 0) {
        rc = sw_buf_appendstr(out, ",\"exit\":null");
    }
    return rc;
}

int sw_agent_render(const struct sw_agent *a, struct sw_buf *out)
{
    char id[SW_ID_STRLEN];
    sw_id_format('a', a->id, id);
    int rc = sw_buf_appendf(out, "{\"id\":\"%s\",\"name\":", id);
    rc = rc ? rc : sw_json_append_string(out, a->name);
    rc = rc ? rc
            : sw_buf_appendf(out,
                             ",\"kind\":\"%s\",\"state\":\"%s\",\"slots\":%d,\"running\":%d,"
                             "\"completed\":%llu,\"failed\":%llu,\"capabilities\":[",
                             a->kind == SW_AGENT_REMOTE ? "remote" : "managed",
                             sw_agent_state_names[a->state], a->slots, a->running,
                             (unsigned long long)a->total_completed,
                             (unsigned long long)a->total_failed);
    for (size_t i = 0; rc == 0 && i < a->ncapabilities; i++) {
        if (i)
            rc = sw_buf_append(out, ",", 1);
        rc = rc ? rc : sw_json_append_string(out, a->capabilities[i]);
    }
    rc = rc ? rc : sw_buf_appendf(out, "],\"labels\":%s,\"swarm\":", a->labels ? a->labels : "{}");
    rc =
        rc ? rc : (a->swarm ? sw_json_append_string(out, a->swarm) : sw_buf_appendstr(out, "null"));
    rc = rc ? rc : sw_buf_appendstr(out, ",\"tasks\":[");
    int first = 1;
    for (const struct sw_task *t = a->leases; rc == 0 && t; t = t->agent_next) {
        sw_id_format('t', t->id, id);
        rc = sw_buf_appendf(out, "%s\"%s\"", first ? "" : ",", id);
        first = 0;
    }
    rc = rc ? rc : sw_buf_append(out, "]", 1);
    rc = rc ? rc : render_time(out, "created_at", a->created_at);
    rc = rc ? rc : render_time(out, "last_seen_at", a->last_seen_at);
    rc = rc ? rc : render_breaker(&a->breaker, out);
    if (rc == 0 && a->kind == SW_AGENT_MANAGED)
        rc = render_managed(a, out);
    return rc ? rc : sw_buf_append(out, "}", 1);
}
