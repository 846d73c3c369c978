/* SPDX-License-Identifier: MIT
 * admission.h - whether a task submit may go in now: a swarm's max_queue (its queued and
 * scheduled tasks, counted by the scheduler) and token-bucket submit rates, one bucket
 * per caller token (each agent's; one shared by the admin token and the Unix-socket
 * clients) after --rate-limit and --rate-burst, and one per swarm after its spec's
 * rate_limit. A refusal creates nothing and charges nothing: the caller gets 429
 * (queue_full or rate_limited) with Retry-After in seconds. This module owns the
 * buckets. */
#ifndef SW_ADMISSION_H
#define SW_ADMISSION_H

#include "core/map.h"

#include <stddef.h>
#include <stdint.h>

struct sw_server;
struct sw_request;
struct sw_agent;

struct sw_admission {
    struct sw_map callers;   /* agent id (0: the admin and Unix clients) -> struct bucket */
    struct sw_strmap swarms; /* swarm name -> struct bucket (which owns the name) */
    size_t sweep_at;         /* buckets at which full ones (as good as none) are dropped */
};

/* Why a submit was refused. */
struct sw_refusal {
    int rc;                /* SW_EQUEUE_FULL or SW_ERATE_LIMITED */
    int64_t retry_after_s; /* at least 1 */
    const char *field;     /* "swarm" when the swarm's limit refused, else NULL */
    char message[256];
};

void sw_admission_init(struct sw_admission *a);
void sw_admission_free(struct sw_admission *a);

/* May caller (NULL: the admin or a Unix-socket client) submit n tasks into swarm (NULL:
 * none) now? 0, and the buckets are charged; or SW_EQUEUE_FULL / SW_ERATE_LIMITED with
 * *why filled and nothing charged. The refusal is counted in the metrics. */
int sw_admission_check(struct sw_server *s, const struct sw_agent *caller, const char *swarm, int n,
                       int64_t now, struct sw_refusal *why);

/* The same for an HTTP submit by req's caller (its agent, or the agent whose token it
 * bears); a refusal is answered (429 with Retry-After). 0 or the rc of the answer. */
int sw_admission_admit(struct sw_request *req, const char *swarm, int n);

#endif
