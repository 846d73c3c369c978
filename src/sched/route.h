/* SPDX-License-Identifier: MIT
 * route.h - routing between swarms: the path a task takes along the swarm tree from the
 * submitting agent's swarm to the swarm that serves it, what the topology allows, and
 * which swarm a task without an explicit `swarm` goes to.
 *
 * Paths. In a `hierarchical` tree a task goes up from its swarm to the common ancestor of
 * both swarms, then down: the route lists every swarm on the way (for swarms in separate
 * trees, up to the first root, then down from the second). Where a common ancestor is a
 * `mesh` swarm, the two swarms are in its subtree and the task goes directly: [from, to].
 * A route is forbidden when a swarm on it (other than a route of one swarm) is `isolated`,
 * or when the task would go up out of a `hierarchical` swarm with `delegation: down_only`.
 *
 * Choice. A task from an agent of swarm S goes to S when S provides the capability (by
 * its template, also scaled to zero, or by a member agent), else to the allowed swarm
 * with the fewest hops from S, then the least loaded (fewest queued and scheduled tasks,
 * then fewest busy agents), then by name. A task from a client (or from an agent of no
 * swarm) stays unrouted (any provider takes it) when an agent of no swarm provides the
 * capability; else it goes to the providing swarm nearest the root (fewest ancestors),
 * then the least loaded, its route running from the root down. Pure: reads the swarms
 * and the scheduler's live state, no I/O, no clock. */
#ifndef SW_ROUTE_H
#define SW_ROUTE_H

#include "core/buf.h"
#include "core/map.h"
#include "sched/registry.h"

#include <stddef.h>
#include <stdint.h>

#define SW_ROUTE_MAX 64 /* swarms on one route: a deeper tree is refused (SW_ELIMIT) */

struct sw_route {
    const char *hops[SW_ROUTE_MAX]; /* borrowed names, the origin first, the target last */
    size_t n;
    const char *blocker; /* SW_EROUTE_FORBIDDEN: the swarm that forbids it (borrowed) */
};

/* The route from swarm `from` to swarm `to` (swarms: name -> struct sw_swarm; a name that
 * is not there is a root with the defaults). from NULL: a client, outside the tree: the
 * path from to's root down to it, which nothing forbids. 0, SW_EROUTE_FORBIDDEN (out->hops
 * still filled, out->blocker set) or SW_ELIMIT. */
int sw_route_find(const struct sw_strmap *swarms, const char *from, const char *to,
                  struct sw_route *out);
/* Hops of a route (swarms crossed): n - 1, 0 for none. */
size_t sw_route_hops(const struct sw_route *r);
/* Appends the route as a JSON array of names. */
int sw_route_render(const struct sw_route *r, struct sw_buf *out);

/* Consistent hashing of tasks to agents (rendezvous hashing): a key goes to the agent
 * with the highest score; adding an agent moves only the keys it now scores highest for
 * (about 1/N of them), removing one moves only its own. */
uint64_t sw_route_hash_score(const char *key, const char *agent_name);

/* Where a task for capability goes, submitted from swarm `from` (NULL: a client or an
 * agent of no swarm), to swarm `swarm` when named (else chosen as above). On 0, *target is
 * the swarm (NULL: unrouted) and out its route (n = 0 when unrouted). SW_ENOT_FOUND: the
 * named swarm does not exist; SW_ENO_PROVIDER: nothing serves the capability (or the named
 * swarm does not), *target and out still filled for a named swarm, *target NULL otherwise;
 * SW_EROUTE_FORBIDDEN: every route to a provider is forbidden (out: the nearest one). */
int sw_route_task(const struct sw_registry_view *v, const char *capability, const char *from,
                  const char *swarm, const char **target, struct sw_route *out);

#endif
