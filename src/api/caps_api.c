/* SPDX-License-Identifier: MIT
 * caps_api.c - the capability registry's routes: GET /v1/capabilities (every
 * capability with its providers, queue and recent statistics), GET
 * /v1/capabilities/{name} (what a request for that name matches, version by version)
 * and GET /v1/discover (who could serve a request, in the order the router picks).
 * Thin: the registry (src/sched/registry.c) computes, this file renders. */
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "sched/registry.h"

#include <string.h>

#define DISCOVER_LIMIT_DEFAULT 1000
#define DISCOVER_LIMIT_MAX     100000
#define CAPS_REPLY_MAX         ((size_t)1 << 30)

static struct sw_registry_view view_of(struct sw_server *s)
{
    struct sw_registry_view v = {&s->sched, &s->swarms, &s->templates};
    return v;
}

static int render_counts(struct sw_buf *out, const struct sw_cap_counts *c)
{
    return sw_buf_appendf(out, "{\"ready\":%d,\"busy\":%d,\"total\":%d}", c->ready, c->busy,
                          c->total);
}

static int render_ms(struct sw_buf *out, const char *key, int64_t ms)
{
    if (ms < 0)
        return sw_buf_appendf(out, ",\"%s\":null", key);
    return sw_buf_appendf(out, ",\"%s\":%lld", key, (long long)ms);
}

static int render_stats(struct sw_buf *out, const struct sw_cap_entry *e)
{
    uint64_t ended = e->succeeded + e->failed;
    int rc = sw_buf_appendf(out, "{\"window_ms\":%d,\"succeeded\":%llu,\"failed\":%llu",
                            SW_CAP_WINDOW_MS, (unsigned long long)e->succeeded,
                            (unsigned long long)e->failed);
    if (rc == 0 && ended)
        rc = sw_buf_appendf(out, ",\"success_rate\":%.4f", (double)e->succeeded / (double)ended);
    else if (rc == 0)
        rc = sw_buf_appendstr(out, ",\"success_rate\":null");
    rc = rc ? rc : render_ms(out, "p50_ms", e->p50_ms);
    rc = rc ? rc : render_ms(out, "p95_ms", e->p95_ms);
    return rc ? rc : sw_buf_append(out, "}", 1);
}

/* {"name", "version", "swarms", "agents", "queued", "scheduled", "running", "stats", left
 * open for more keys: the caller closes it. */
static int render_entry(struct sw_buf *out, const struct sw_cap_entry *e)
{
    int rc = sw_buf_appendstr(out, "{\"name\":");
    rc = rc ? rc : sw_json_append_string(out, e->name);
    rc = rc ? rc : sw_buf_appendf(out, ",\"version\":%d,\"swarms\":[", e->version);
    for (size_t i = 0; rc == 0 && i < e->nswarms; i++) {
        rc = i ? sw_buf_append(out, ",", 1) : 0;
        rc = rc ? rc : sw_json_append_string(out, e->swarms[i]);
    }
    rc = rc ? rc : sw_buf_appendstr(out, "],\"agents\":");
    rc = rc ? rc : render_counts(out, &e->agents);
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"queued\":%lld,\"scheduled\":%lld,\"running\":%lld,\"stats\":",
                             (long long)e->queued, (long long)e->scheduled, (long long)e->running);
    rc = rc ? rc : render_stats(out, e);
    return rc;
}

static int render_entries(struct sw_buf *out, const struct sw_cap_list *l)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        rc = i ? sw_buf_append(out, ",", 1) : 0;
        rc = rc ? rc : render_entry(out, &l->entries[i]);
        rc = rc ? rc : sw_buf_append(out, "}", 1);
    }
    return rc;
}

static void reply_or_fail(struct sw_request *req, int rc, struct sw_buf *body)
{
    if (rc) {
        sw_buf_free(body);
        sw_reply_error(req, rc, NULL, rc == SW_ETOO_LARGE ? "the reply is too large" : NULL);
        return;
    }
    sw_reply(req, 200, body);
}

void sw_api_capability_list(struct sw_request *req)
{
    static const char *const params[] = {NULL};
    struct sw_server *s = req->server;
    struct sw_registry_view v = view_of(s);
    struct sw_cap_list list;
    struct sw_buf body;
    if (sw_query_only(req, params))
        return;
    int rc = sw_registry_list(&s->registry, &v, sw_server_now(s), &list);
    if (rc) {
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_buf_init(&body, CAPS_REPLY_MAX);
    rc = sw_buf_appendf(&body, "{\"window_ms\":%d,\"capabilities\":[", SW_CAP_WINDOW_MS);
    rc = rc ? rc : render_entries(&body, &list);
    rc = rc ? rc : sw_buf_appendstr(&body, "]}");
    sw_cap_list_free(&list);
    reply_or_fail(req, rc, &body);
}

void sw_api_capability_get(struct sw_request *req)
{
    static const char *const params[] = {NULL};
    struct sw_server *s = req->server;
    struct sw_registry_view v = view_of(s);
    const char *name = req->params[0];
    struct sw_cap_entry total;
    struct sw_cap_list versions;
    struct sw_buf body;
    if (sw_query_only(req, params))
        return;
    if (!sw_capability_valid(name)) {
        sw_reply_error(req, SW_EBAD_FIELD, "name",
                       "\"%s\" is not a capability name: use [a-z0-9][a-z0-9._/-]{0,127}, "
                       "optionally followed by @<major>",
                       name);
        return;
    }
    int rc = sw_registry_describe(&s->registry, &v, name, sw_server_now(s), &total, &versions);
    if (rc == SW_ENOT_FOUND) {
        sw_reply_error(req, rc, NULL, "nothing provides capability %s, and no task of it ran",
                       name);
        return;
    }
    if (rc) {
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_buf_init(&body, CAPS_REPLY_MAX);
    rc = render_entry(&body, &total);
    rc = rc ? rc : sw_buf_appendstr(&body, ",\"versions\":[");
    rc = rc ? rc : render_entries(&body, &versions);
    rc = rc ? rc : sw_buf_appendstr(&body, "]}");
    sw_cap_entry_free(&total);
    sw_cap_list_free(&versions);
    reply_or_fail(req, rc, &body);
}

/* ---- discover ---- */

static int render_discover_agent(struct sw_buf *out, const struct sw_discover_agent *da)
{
    const struct sw_agent *a = da->agent;
    char id[SW_ID_STRLEN];
    sw_id_format('a', a->id, id);
    int rc = sw_buf_appendf(out, "{\"id\":\"%s\",\"name\":", id);
    rc = rc ? rc : sw_json_append_string(out, a->name);
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"kind\":\"%s\",\"state\":\"%s\",\"breaker\":\"%s\",\"swarm\":",
                             a->kind == SW_AGENT_REMOTE ? "remote" : "managed",
                             sw_agent_state_names[a->state],
                             sw_breaker_state_names[a->breaker.state]);
    rc =
        rc ? rc : (a->swarm ? sw_json_append_string(out, a->swarm) : sw_buf_appendstr(out, "null"));
    rc = rc ? rc : sw_buf_appendstr(out, ",\"capability\":");
    rc = rc ? rc : sw_json_append_string(out, da->capability);
    rc = rc ? rc
            : sw_buf_appendf(out,
                             ",\"version\":%d,\"slots\":%d,\"running\":%d,\"free_slots\":%d,"
                             "\"distance\":%d,\"labels\":%s}",
                             da->version, a->slots, a->running, da->free_slots, da->distance,
                             a->labels ? a->labels : "{}");
    return rc;
}

static int render_discover_swarm(struct sw_buf *out, const struct sw_discover_swarm *ds)
{
    const struct sw_swarm *sw = ds->swarm;
    int rc = sw_buf_appendstr(out, "{\"name\":");
    rc = rc ? rc : sw_json_append_string(out, sw->name);
    rc = rc ? rc : sw_buf_appendstr(out, ",\"parent\":");
    rc = rc ? rc
            : (sw->parent ? sw_json_append_string(out, sw->parent) : sw_buf_appendstr(out, "null"));
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"state\":\"%s\",\"replicas\":%lld,\"capability\":",
                             sw_swarm_state_names[sw->state], (long long)sw->replicas);
    rc = rc ? rc : sw_json_append_string(out, ds->capability);
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"version\":%d,\"distance\":%d,\"agents\":", ds->version,
                             ds->distance);
    rc = rc ? rc : render_counts(out, &ds->agents);
    return rc ? rc : sw_buf_append(out, "}", 1);
}

static int render_discovery(struct sw_buf *out, const char *capability, const char *from,
                            const struct sw_discovery *d, size_t limit)
{
    int rc = sw_buf_appendstr(out, "{\"capability\":");
    rc = rc ? rc : sw_json_append_string(out, capability);
    rc = rc ? rc : sw_buf_appendstr(out, ",\"from\":");
    rc = rc ? rc : (from ? sw_json_append_string(out, from) : sw_buf_appendstr(out, "null"));
    rc = rc ? rc
            : sw_buf_appendf(out, ",\"total\":{\"swarms\":%zu,\"agents\":%zu},\"swarms\":[",
                             d->nswarms, d->nagents);
    for (size_t i = 0; rc == 0 && i < d->nswarms && i < limit; i++) {
        rc = i ? sw_buf_append(out, ",", 1) : 0;
        rc = rc ? rc : render_discover_swarm(out, &d->swarms[i]);
    }
    rc = rc ? rc : sw_buf_appendstr(out, "],\"agents\":[");
    for (size_t i = 0; rc == 0 && i < d->nagents && i < limit; i++) {
        rc = i ? sw_buf_append(out, ",", 1) : 0;
        rc = rc ? rc : render_discover_agent(out, &d->agents[i]);
    }
    return rc ? rc : sw_buf_appendstr(out, "]}");
}

/* Reads capability, labels and swarm; answers the request on error. */
static int discover_query(struct sw_request *req, const char **capability, struct sw_selector *sel,
                          const char **from)
{
    struct sw_server *s = req->server;
    struct sw_registry_view v = view_of(s);
    struct sw_field_error err;
    *capability = sw_request_query(req, "capability");
    *from = sw_request_query(req, "swarm");
    if (*capability == NULL || **capability == '\0') {
        sw_reply_error(req, SW_EBAD_QUERY, "capability", "capability is required");
        return SW_EBAD_QUERY;
    }
    if (!sw_capability_valid(*capability)) {
        sw_reply_error(req, SW_EBAD_QUERY, "capability",
                       "capability \"%s\" is not valid: use [a-z0-9][a-z0-9._/-]{0,127}, "
                       "optionally followed by @<major>",
                       *capability);
        return SW_EBAD_QUERY;
    }
    int rc = sw_selector_parse(sw_request_query(req, "labels"), "labels", sel, &err);
    if (rc) {
        sw_reply_error(req, rc, err.field[0] ? "labels" : NULL, "%s", err.message);
        return rc;
    }
    if (*from && !sw_registry_swarm_known(&v, *from)) {
        sw_reply_error(req, SW_EBAD_QUERY, "swarm", "no swarm \"%s\"", *from);
        sw_selector_free(sel);
        return SW_EBAD_QUERY;
    }
    if (*from == NULL && req->agent) /* an agent asks from its own swarm */
        *from = req->agent->swarm;
    return 0;
}

void sw_api_discover(struct sw_request *req)
{
    static const char *const params[] = {"capability", "labels", "swarm", "limit", NULL};
    struct sw_server *s = req->server;
    struct sw_registry_view v = view_of(s);
    const char *capability, *from;
    struct sw_selector sel;
    struct sw_discovery d;
    struct sw_buf body;
    int64_t limit = DISCOVER_LIMIT_DEFAULT;
    if (sw_query_only(req, params) || sw_query_int(req, "limit", 1, DISCOVER_LIMIT_MAX, &limit) ||
        discover_query(req, &capability, &sel, &from))
        return;
    int rc = sw_registry_discover(&v, capability, &sel, from, &d);
    sw_selector_free(&sel);
    if (rc) {
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_buf_init(&body, CAPS_REPLY_MAX);
    rc = render_discovery(&body, capability, from, &d, (size_t)limit);
    sw_discovery_free(&d);
    reply_or_fail(req, rc, &body);
}
