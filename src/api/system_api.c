/* SPDX-License-Identifier: MIT
 * system_api.c - /health (the process answers), /ready (store open, recovery done,
 * commits going through) and /metrics (Prometheus text). */
#include "events.h"
#include "routes.h"
#include "server.h"
#include "sse.h"
#include "webhooks.h"
#include "ws.h"
#include "core/error.h"
#include "model/swarm.h"

void sw_api_health(struct sw_request *req)
{
    sw_reply_text(req, 200, "{\"status\":\"ok\"}");
}

void sw_api_ready(struct sw_request *req)
{
    struct sw_server *s = req->server;
    if (s->stopping)
        sw_reply_error(req, SW_ESHUTTING_DOWN, NULL, NULL);
    else if (!s->ready)
        sw_reply_error(req, SW_ENOT_READY, NULL, "recovery is not finished");
    else if (sw_committer_failing(s->committer))
        sw_reply_error(req, SW_ESTORE, NULL, "commits to the store are failing and being retried");
    else
        sw_reply_text(req, 200, "{\"status\":\"ready\"}");
}

/* Swarms by state and their agents' restarts (the swarms live here, not in obs). */
static int render_swarms(struct sw_server *s, struct sw_buf *out)
{
    int64_t by_state[SW_SWARM_NSTATES] = {0};
    size_t pos = 0;
    const char *name;
    void *value;
    int rc = sw_buf_appendstr(out, "# HELP swarmd_swarm_restarts_total Agent restarts counted "
                                   "by each swarm's supervisor.\n"
                                   "# TYPE swarmd_swarm_restarts_total counter\n");
    while (rc == 0 && sw_strmap_next(&s->swarms, &pos, &name, &value)) {
        const struct sw_swarm *sw = value;
        by_state[sw->state]++;
        rc = sw_buf_appendf(out, "swarmd_swarm_restarts_total{swarm=\"%s\"} %llu\n", name,
                            (unsigned long long)sw->total_restarts);
    }
    rc = rc ? rc
            : sw_buf_appendstr(out, "# HELP swarmd_swarms Swarms by state.\n"
                                    "# TYPE swarmd_swarms gauge\n");
    for (int i = 0; rc == 0 && i < SW_SWARM_NSTATES; i++)
        rc = sw_buf_appendf(out, "swarmd_swarms{state=\"%s\"} %lld\n", sw_swarm_state_names[i],
                            (long long)by_state[i]);
    return rc;
}

/* The event log, its readers and the shared memory. */
static int render_bus(struct sw_server *s, struct sw_buf *out)
{
    uint64_t last = sw_events_committed(s), first = sw_events_first(s);
    return sw_buf_appendf(
        out,
        "# HELP swarmd_events_total Events committed to the log (its last sequence).\n"
        "# TYPE swarmd_events_total counter\n"
        "swarmd_events_total %llu\n"
        "# HELP swarmd_events_kept Events kept in the log (after retention).\n"
        "# TYPE swarmd_events_kept gauge\n"
        "swarmd_events_kept %llu\n"
        "# HELP swarmd_event_streams Open event readers by transport.\n"
        "# TYPE swarmd_event_streams gauge\n"
        "swarmd_event_streams{transport=\"sse\"} %ld\n"
        "swarmd_event_streams{transport=\"websocket\"} %ld\n"
        "# HELP swarmd_memory_keys Keys in the shared memory.\n"
        "# TYPE swarmd_memory_keys gauge\n"
        "swarmd_memory_keys %zu\n"
        "# HELP swarmd_memory_bytes Bytes of values in the shared memory.\n"
        "# TYPE swarmd_memory_bytes gauge\n"
        "swarmd_memory_bytes %zu\n",
        (unsigned long long)last, (unsigned long long)(last >= first ? last - first + 1 : 0),
        sw_sse_count(s), sw_ws_count(s), s->memory.keys, s->memory.bytes);
}

void sw_api_metrics(struct sw_request *req)
{
    struct sw_server *s = req->server;
    sw_committer_stats(s->committer, &s->metrics.commits, &s->metrics.commit_ops,
                       &s->metrics.commit_us);
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 28);
    int rc = sw_metrics_render(&s->metrics, &s->sched, &body);
    rc = rc ? rc : render_swarms(s, &body);
    rc = rc ? rc : render_bus(s, &body);
    rc = rc ? rc : sw_webhooks_render_metrics(s, &body);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}
