/* SPDX-License-Identifier: MIT
 * route.c - paths between swarms along the tree, the topology's rules on them, and the
 * choice of the swarm a task goes to (see route.h). */
#include "route.h"
#include "core/alloc.h"
#include "core/error.h"
#include "model/task.h"

#include <string.h>

static const struct sw_swarm *swarm_of(const struct sw_strmap *swarms, const char *name)
{
    return name ? sw_strmap_get(swarms, name) : NULL;
}

/* name, its parent, ... up to its root: *n names. SW_ELIMIT past SW_ROUTE_MAX (also a
 * loop, which apply refuses anyway). */
static int chain_up(const struct sw_strmap *swarms, const char *name,
                    const char *chain[SW_ROUTE_MAX], size_t *n)
{
    *n = 0;
    while (name) {
        if (*n == SW_ROUTE_MAX)
            return SW_ELIMIT;
        chain[(*n)++] = name;
        const struct sw_swarm *s = swarm_of(swarms, name);
        name = s ? s->parent : NULL;
    }
    return 0;
}

static int is_mesh(const struct sw_strmap *swarms, const char *name)
{
    const struct sw_swarm *s = swarm_of(swarms, name);
    return s && s->topology == SW_TOPOLOGY_MESH;
}

static int is_isolated(const struct sw_strmap *swarms, const char *name)
{
    const struct sw_swarm *s = swarm_of(swarms, name);
    return s && s->isolated;
}

/* A hierarchical swarm with delegation: down_only: no task goes up out of it. */
static int is_down_only(const struct sw_strmap *swarms, const char *name)
{
    const struct sw_swarm *s = swarm_of(swarms, name);
    return s && s->topology == SW_TOPOLOGY_HIERARCHICAL && s->delegation == SW_DELEGATION_DOWN_ONLY;
}

static int forbidden(struct sw_route *out, const char *blocker)
{
    out->blocker = blocker;
    return SW_EROUTE_FORBIDDEN;
}

int sw_route_find(const struct sw_strmap *swarms, const char *from, const char *to,
                  struct sw_route *out)
{
    const char *up[SW_ROUTE_MAX], *down[SW_ROUTE_MAX];
    size_t nup = 0, ndown = 0;
    memset(out, 0, sizeof *out);
    int rc = chain_up(swarms, to, down, &ndown);
    if (rc == 0 && from == NULL) { /* a client: from the root down */
        for (size_t j = ndown; j-- > 0;)
            out->hops[out->n++] = down[j];
        return 0;
    }
    rc = rc ? rc : chain_up(swarms, from, up, &nup);
    if (rc)
        return rc;
    /* the common ancestor: up[i] == down[j]; none (separate trees): via the top */
    size_t i = nup, j = ndown;
    for (size_t a = 0; a < nup && j == ndown; a++)
        for (size_t b = 0; b < ndown; b++)
            if (strcmp(up[a], down[b]) == 0) {
                i = a;
                j = b;
                break;
            }
    int common = j < ndown, mesh = 0;
    for (size_t k = i; common && k < nup && !mesh; k++)
        mesh = is_mesh(swarms, up[k]);
    size_t nleft = common ? i : nup; /* swarms the task goes up out of */
    if (mesh) {                      /* within a mesh swarm's subtree: directly */
        out->hops[out->n++] = from;
        if (strcmp(from, to) != 0)
            out->hops[out->n++] = to;
        nleft = i > 0; /* out of from, unless to is below it */
    } else {
        size_t nup_part = common ? i + 1 : nup;
        if (nup_part + j > SW_ROUTE_MAX)
            return SW_ELIMIT;
        for (size_t k = 0; k < nup_part; k++)
            out->hops[out->n++] = up[k];
        for (size_t k = j; k-- > 0;)
            out->hops[out->n++] = down[k];
    }
    if (out->n < 2)
        return 0;
    for (size_t k = 0; k < out->n; k++)
        if (is_isolated(swarms, out->hops[k]))
            return forbidden(out, out->hops[k]);
    /* going up: out of every swarm below the common ancestor (all of them via the top) */
    for (size_t k = 0; k < nleft; k++)
        if (is_down_only(swarms, up[k]))
            return forbidden(out, up[k]);
    return 0;
}

size_t sw_route_hops(const struct sw_route *r)
{
    return r->n ? r->n - 1 : 0;
}

int sw_route_render(const struct sw_route *r, struct sw_buf *out)
{
    int rc = sw_buf_appendstr(out, "[");
    for (size_t k = 0; rc == 0 && k < r->n; k++) {
        rc = k ? sw_buf_appendstr(out, ",") : 0;
        rc = rc ? rc : sw_json_append_string(out, r->hops[k]);
    }
    return rc ? rc : sw_buf_appendstr(out, "]");
}

/* ---- consistent hashing ---- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ULL;
    }
    return h;
}

uint64_t sw_route_hash_score(const char *key, const char *agent_name)
{
    uint64_t h = fnv1a(fnv1a(0xCBF29CE484222325ULL, key), "\x1f");
    h = fnv1a(h, agent_name);
    /* a 64-bit finalizer (splitmix64): scores of nearby inputs are independent */
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

/* ---- the choice of a swarm ---- */

struct candidate {
    const char *name;
    size_t hops;
    int64_t waiting;
    int busy;
};

/* a before b: fewer hops, then fewer waiting tasks, then fewer busy agents, then name */
static int candidate_before(const struct candidate *a, const struct candidate *b)
{
    if (a->hops != b->hops)
        return a->hops < b->hops;
    if (a->waiting != b->waiting)
        return a->waiting < b->waiting;
    if (a->busy != b->busy)
        return a->busy < b->busy;
    return strcmp(a->name, b->name) < 0;
}

/* 1 if swarm name is among the providing swarms of d or the swarms of its agents. */
static int provides(const struct sw_discovery *d, const char *name)
{
    for (size_t k = 0; k < d->nswarms; k++)
        if (strcmp(d->swarms[k].swarm->name, name) == 0)
            return 1;
    for (size_t k = 0; k < d->nagents; k++)
        if (d->agents[k].agent->swarm && strcmp(d->agents[k].agent->swarm, name) == 0)
            return 1;
    return 0;
}

/* Weighs one providing swarm: keeps it in *best when it comes first; *refused keeps the
 * nearest forbidden one, for the refusal. */
static int weigh(const struct sw_registry_view *v, const char *from, const char *name, int busy,
                 struct candidate *best, struct sw_route *best_route, struct candidate *refused,
                 struct sw_route *refused_route)
{
    struct sw_route r;
    int rc = sw_route_find(v->swarms, from, name, &r);
    if (rc && rc != SW_EROUTE_FORBIDDEN)
        return rc;
    struct candidate c = {name, from ? sw_route_hops(&r) : r.n,
                          sw_sched_swarm_waiting(v->sched, name), busy};
    if (rc == 0 && (best->name == NULL || candidate_before(&c, best))) {
        *best = c;
        *best_route = r;
    } else if (rc && (refused->name == NULL || candidate_before(&c, refused))) {
        *refused = c;
        *refused_route = r;
    }
    return 0;
}

int sw_route_task(const struct sw_registry_view *v, const char *capability, const char *from,
                  const char *swarm, const char **target, struct sw_route *out)
{
    struct sw_discovery d;
    *target = NULL;
    memset(out, 0, sizeof *out);
    if (swarm && !sw_registry_swarm_known(v, swarm))
        return SW_ENOT_FOUND;
    int rc = sw_registry_discover(v, capability, NULL, from, &d);
    if (rc)
        return rc;
    if (swarm) { /* named: the route there, if allowed, and a provider in it */
        *target = swarm;
        rc = sw_route_find(v->swarms, from, swarm, out);
        if (rc == 0 && !provides(&d, swarm))
            rc = SW_ENO_PROVIDER;
        goto out;
    }
    int standalone = 0; /* an agent of no swarm provides it */
    for (size_t k = 0; k < d.nagents; k++)
        standalone |= d.agents[k].agent->swarm == NULL;
    if (from == NULL && standalone)
        goto out; /* unrouted */
    struct candidate best = {0}, refused = {0};
    struct sw_route refused_route = {0};
    for (size_t k = 0; rc == 0 && k < d.nswarms; k++)
        rc = weigh(v, from, d.swarms[k].swarm->name, d.swarms[k].agents.busy, &best, out, &refused,
                   &refused_route);
    for (size_t k = 0; rc == 0 && k < d.nagents; k++) { /* swarms only agents name */
        const char *name = d.agents[k].agent->swarm;
        if (name && sw_strmap_get(v->swarms, name) == NULL)
            rc = weigh(v, from, name, 0, &best, out, &refused, &refused_route);
    }
    if (rc)
        goto out;
    if (best.name) {
        *target = best.name;
    } else if (standalone) {
        memset(out, 0, sizeof *out); /* unrouted: an agent of no swarm takes it */
    } else if (refused.name) {
        *out = refused_route;
        rc = SW_EROUTE_FORBIDDEN;
    } else {
        rc = SW_ENO_PROVIDER;
    }
out:
    sw_discovery_free(&d);
    return rc;
}
