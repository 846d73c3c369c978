/* SPDX-License-Identifier: MIT
 * routing.c - routing at submit (see routing.h): asks the router (src/sched/route.c) and
 * writes its answer into the task, or explains the refusal. */
#include "routing.h"
#include "http.h"
#include "server.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "model/task.h"
#include "sched/route.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ROUTE_TEXT_MAX ((size_t)SW_ROUTE_MAX * 140 + 8)

static int set_route(struct sw_task *t, const struct sw_route *r)
{
    if (r->n == 0)
        return sw_task_set_str(&t->route, NULL);
    struct sw_buf text;
    sw_buf_init(&text, ROUTE_TEXT_MAX);
    int rc = sw_route_render(r, &text);
    rc = rc ? rc : sw_buf_append(&text, "", 1);
    rc = rc ? rc : sw_task_set_str(&t->route, text.data);
    sw_buf_free(&text);
    return rc;
}

/* The value the swarm's routing.hash names in t ("payload.F": the payload's top-level field
 * F, "labels.K": its label K), as text; NULL when the swarm hashes nothing or t lacks it. */
static int set_affinity(struct sw_server *s, struct sw_task *t)
{
    const struct sw_swarm *sw = t->swarm ? sw_strmap_get(&s->swarms, t->swarm) : NULL;
    const char *path = sw ? sw->hash_key : NULL;
    if (path == NULL)
        return sw_task_set_str(&t->affinity, NULL);
    int from_payload = strncmp(path, "payload.", 8) == 0;
    const char *doc = from_payload ? t->payload : t->labels;
    json_t *root = doc ? json_loads(doc, JSON_DECODE_ANY, NULL) : NULL;
    json_t *v = json_object_get(root, path + (from_payload ? 8 : 7));
    char *text = NULL;
    if (json_is_string(v))
        text = sw_strdup(json_string_value(v));
    else if (v && !json_is_null(v))
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = v && !json_is_null(v) && text == NULL ? SW_ENOMEM : 0;
    rc = rc ? rc : sw_task_set_str(&t->affinity, text);
    sw_free(text);
    json_decref(root);
    return rc;
}

int sw_routing_route(struct sw_server *s, const struct sw_agent *by, struct sw_task *t,
                     struct sw_routing_refusal *why)
{
    memset(why, 0, sizeof *why);
    if (t->capability == NULL || t->capability[0] == '\0')
        return 0; /* a parent of children: not dispatched */
    struct sw_registry_view v = {&s->sched, &s->swarms, &s->templates};
    const char *from = by ? by->swarm : NULL, *target = NULL;
    struct sw_route route;
    int rc = sw_route_task(&v, t->capability, from, t->swarm, &target, &route);
    if (rc == SW_ENO_PROVIDER && (t->wait_for_provider || s->cfg.wait_for_provider)) {
        t->wait_for_provider = 1;
        rc = 0; /* it waits queued until a provider comes */
    } else {
        t->wait_for_provider = 0;
    }
    if (rc == 0) { /* the route and target may borrow t->swarm: written first */
        rc = set_route(t, &route);
        char *swarm = target ? sw_strdup(target) : NULL;
        if (rc || (target && swarm == NULL)) {
            sw_free(swarm);
            return SW_ENOMEM;
        }
        sw_free(t->swarm);
        t->swarm = swarm;
        return set_affinity(s, t);
    }
    why->rc = rc;
    switch (rc) {
    case SW_ENOT_FOUND:
        why->field = "swarm";
        snprintf(why->message, sizeof why->message, "swarm \"%.128s\" does not exist", t->swarm);
        break;
    case SW_ENO_PROVIDER:
        why->field = t->swarm ? "swarm" : "capability";
        if (t->swarm)
            snprintf(why->message, sizeof why->message,
                     "swarm \"%.128s\" has no agent or template providing \"%.140s\"", t->swarm,
                     t->capability);
        else
            snprintf(why->message, sizeof why->message,
                     "no agent or swarm provides \"%.140s\" (submit with \"wait_for_provider\": "
                     "true to wait for one)",
                     t->capability);
        break;
    case SW_EROUTE_FORBIDDEN: {
        const struct sw_swarm *blocker =
            route.blocker ? sw_strmap_get(&s->swarms, route.blocker) : NULL;
        why->field = "swarm";
        snprintf(why->message, sizeof why->message,
                 "the route from swarm \"%.64s\" to swarm \"%.64s\" is forbidden: swarm "
                 "\"%.64s\" is %s",
                 from ? from : "", route.n ? route.hops[route.n - 1] : "",
                 route.blocker ? route.blocker : "",
                 blocker && blocker->isolated ? "isolated"
                                              : "down_only (no task goes up out of it)");
        break;
    }
    default:
        break;
    }
    return rc;
}

const struct sw_agent *sw_routing_submitter(struct sw_request *req)
{
    if (req->agent)
        return req->agent;
    const char *auth = sw_request_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    return sw_server_agent_by_token(req->server, auth + 7);
}

int sw_routing_admit(struct sw_request *req, struct sw_task *t, const char *field_prefix)
{
    struct sw_routing_refusal why;
    int rc = sw_routing_route(req->server, sw_routing_submitter(req), t, &why);
    if (rc == 0)
        return 0;
    if (why.rc == 0) {
        sw_reply_error(req, rc, NULL, NULL);
        return rc;
    }
    if (field_prefix && *field_prefix) {
        char field[320];
        snprintf(field, sizeof field, "%s.%s", field_prefix, why.field);
        sw_reply_error(req, rc, field, "%s: %s", field_prefix, why.message);
    } else {
        sw_reply_error(req, rc, why.field, "%s", why.message);
    }
    return rc;
}
