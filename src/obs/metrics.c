/* SPDX-License-Identifier: MIT
 * metrics.c - metric updates and the Prometheus text rendering. */
#include "metrics.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static const double bucket_bounds[SW_HIST_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5,    1,     2.5,   5,     10,   30,    60,   300, 3600,
};

static const int http_statuses[SW_METRICS_STATUSES] = {200, 201, 400, 404, 409, 413, 429, 500, 0};

static const char *const counter_names[SW_CNT_N] = {
    "swarmd_tasks_submitted_total", "swarmd_tasks_succeeded_total", "swarmd_tasks_failed_total",
    "swarmd_tasks_retried_total",   "swarmd_tasks_cancelled_total", "swarmd_tasks_leased_total",
};

static const char *const counter_help[SW_CNT_N] = {
    "Tasks submitted.",
    "Tasks that succeeded.",
    "Tasks that failed for good (dead-lettered).",
    "Failed attempts that were retried.",
    "Tasks cancelled.",
    "Leases handed to agents (attempts started).",
};

void sw_metrics_init(struct sw_metrics *m)
{
    memset(m, 0, sizeof *m);
    sw_strmap_init(&m->per_capability);
}

void sw_metrics_free(struct sw_metrics *m)
{
    size_t pos = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&m->per_capability, &pos, &key, &value)) {
        sw_free((char *)key);
        sw_free(value);
    }
    sw_strmap_free(&m->per_capability);
}

void sw_histogram_observe(struct sw_histogram *h, double seconds)
{
    int i = 0;
    while (i < SW_HIST_BUCKETS && seconds > bucket_bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum_seconds += seconds;
}

static uint64_t *capability_counters(struct sw_metrics *m, const char *capability)
{
    uint64_t *counters = sw_strmap_get(&m->per_capability, capability);
    if (counters)
        return counters;
    char *key = sw_strdup(capability);
    counters = sw_calloc(SW_CNT_N, sizeof *counters);
    if (key == NULL || counters == NULL || sw_strmap_put(&m->per_capability, key, counters)) {
        sw_free(key);
        sw_free(counters);
        return NULL;
    }
    return counters;
}

void sw_metrics_task_event(struct sw_metrics *m, const struct sw_task *t, enum sw_task_event ev)
{
    uint64_t *c = capability_counters(m, t->capability);
    if (c == NULL)
        return;
    switch (ev) {
    case SW_TASK_EV_SUBMITTED:
        c[SW_CNT_SUBMITTED]++;
        break;
    case SW_TASK_EV_LEASED:
        c[SW_CNT_LEASED]++;
        sw_histogram_observe(&m->dispatch_latency, (double)(t->started_at - t->queued_at) / 1e3);
        break;
    case SW_TASK_EV_SUCCEEDED:
        c[SW_CNT_SUCCEEDED]++;
        sw_histogram_observe(&m->run_time, (double)(t->finished_at - t->started_at) / 1e3);
        break;
    case SW_TASK_EV_DEAD:
        c[SW_CNT_FAILED]++;
        break;
    case SW_TASK_EV_ATTEMPT_FAILED:
        c[SW_CNT_RETRIED]++;
        break;
    case SW_TASK_EV_CANCELLED:
        c[SW_CNT_CANCELLED]++;
        break;
    default:
        break;
    }
}

void sw_metrics_http(struct sw_metrics *m, int route, const char *name, int status)
{
    if (route < 0 || route >= SW_METRICS_MAX_ROUTES)
        return;
    m->route_names[route] = name;
    int i = 0;
    while (http_statuses[i] && http_statuses[i] != status)
        i++;
    m->http[route][i]++;
}

static int render_histogram(struct sw_buf *out, const char *name, const char *help,
                            const struct sw_histogram *h)
{
    int rc = sw_buf_appendf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (int i = 0; rc == 0 && i < SW_HIST_BUCKETS; i++) {
        cumulative += h->buckets[i];
        rc = sw_buf_appendf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_bounds[i],
                            (unsigned long long)cumulative);
    }
    return rc ? rc
              : sw_buf_appendf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                               name, (unsigned long long)h->count, name, h->sum_seconds, name,
                               (unsigned long long)h->count);
}

static int render_counters(struct sw_metrics *m, struct sw_buf *out)
{
    int rc = 0;
    for (int c = 0; rc == 0 && c < SW_CNT_N; c++) {
        rc = sw_buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n", counter_names[c],
                            counter_help[c], counter_names[c]);
        size_t pos = 0;
        const char *cap;
        void *value;
        while (rc == 0 && sw_strmap_next(&m->per_capability, &pos, &cap, &value))
            rc = sw_buf_appendf(out, "%s{capability=\"%s\"} %llu\n", counter_names[c], cap,
                                (unsigned long long)((uint64_t *)value)[c]);
    }
    return rc;
}

/* Agents by the state of their circuit breaker, and how often breakers opened. */
static int render_breakers(struct sw_sched *s, struct sw_buf *out)
{
    int64_t breakers[SW_BREAKER_NSTATES] = {0};
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->agents, &pos, NULL, &value))
        breakers[((struct sw_agent *)value)->breaker.state]++;
    int rc = sw_buf_appendstr(out, "# HELP swarmd_agent_breakers Agents by the state of their "
                                   "circuit breaker.\n# TYPE swarmd_agent_breakers gauge\n");
    for (int st = 0; rc == 0 && st < SW_BREAKER_NSTATES; st++)
        rc = sw_buf_appendf(out, "swarmd_agent_breakers{state=\"%s\"} %lld\n",
                            sw_breaker_state_names[st], (long long)breakers[st]);
    return rc ? rc
              : sw_buf_appendf(out,
                               "# HELP swarmd_breaker_trips_total Circuit breakers opened.\n"
                               "# TYPE swarmd_breaker_trips_total counter\n"
                               "swarmd_breaker_trips_total %llu\n",
                               (unsigned long long)s->breaker_trips);
}

static int render_gauges(struct sw_sched *s, struct sw_buf *out)
{
    int rc = sw_buf_appendstr(out, "# HELP swarmd_tasks Live tasks by state and capability.\n"
                                   "# TYPE swarmd_tasks gauge\n");
    size_t pos = 0;
    const char *cap;
    void *value;
    while (rc == 0 && sw_strmap_next(&s->queues, &pos, &cap, &value)) {
        struct sw_queue *q = value;
        for (int st = 0; rc == 0 && st <= SW_TASK_RUNNING; st++)
            rc = sw_buf_appendf(out, "swarmd_tasks{state=\"%s\",capability=\"%s\"} %lld\n",
                                sw_task_state_names[st], cap, (long long)q->count[st]);
    }
    int64_t agents[SW_AGENT_NSTATES] = {0};
    pos = 0;
    while (sw_map_next(&s->agents, &pos, NULL, &value))
        agents[((struct sw_agent *)value)->state]++;
    rc = rc ? rc
            : sw_buf_appendstr(out, "# HELP swarmd_agents Agents by state.\n"
                                    "# TYPE swarmd_agents gauge\n");
    for (int st = 0; rc == 0 && st < SW_AGENT_NSTATES; st++)
        rc = sw_buf_appendf(out, "swarmd_agents{state=\"%s\"} %lld\n", sw_agent_state_names[st],
                            (long long)agents[st]);
    return rc ? rc : render_breakers(s, out);
}

static int render_http(struct sw_metrics *m, struct sw_buf *out)
{
    int rc = sw_buf_appendstr(out, "# HELP swarmd_http_requests_total HTTP requests by route and "
                                   "status.\n# TYPE swarmd_http_requests_total counter\n");
    for (int r = 0; rc == 0 && r < SW_METRICS_MAX_ROUTES; r++) {
        if (m->route_names[r] == NULL)
            continue;
        for (int i = 0; rc == 0 && i < SW_METRICS_STATUSES; i++) {
            if (m->http[r][i] == 0)
                continue;
            char status[8];
            snprintf(status, sizeof status, "%d", http_statuses[i]);
            rc =
                sw_buf_appendf(out, "swarmd_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                               m->route_names[r], http_statuses[i] ? status : "other",
                               (unsigned long long)m->http[r][i]);
        }
    }
    return rc;
}

int sw_metrics_render(struct sw_metrics *m, struct sw_sched *s, struct sw_buf *out)
{
    int rc = render_gauges(s, out);
    rc = rc ? rc : render_counters(m, out);
    rc = rc ? rc
            : render_histogram(out, "swarmd_task_dispatch_latency_seconds",
                               "Time from queued to leased.", &m->dispatch_latency);
    rc = rc ? rc
            : render_histogram(out, "swarmd_task_run_seconds", "Time from lease to success.",
                               &m->run_time);
    rc = rc ? rc : render_http(m, out);
    rc = rc ? rc
            : sw_buf_appendf(out,
                             "# HELP swarmd_submits_refused_total Task submits refused with 429, "
                             "by reason.\n# TYPE swarmd_submits_refused_total counter\n"
                             "swarmd_submits_refused_total{reason=\"queue_full\"} %llu\n"
                             "swarmd_submits_refused_total{reason=\"rate_limited\"} %llu\n",
                             (unsigned long long)m->refused[SW_REFUSED_QUEUE_FULL],
                             (unsigned long long)m->refused[SW_REFUSED_RATE_LIMITED]);
    rc = rc ? rc
            : sw_buf_appendf(out,
                             "# HELP swarmd_store_commits_total Store transactions committed.\n"
                             "# TYPE swarmd_store_commits_total counter\n"
                             "swarmd_store_commits_total %llu\n"
                             "# HELP swarmd_store_rows_total Rows written by commits.\n"
                             "# TYPE swarmd_store_rows_total counter\n"
                             "swarmd_store_rows_total %llu\n"
                             "# HELP swarmd_store_commit_seconds_total Time spent committing.\n"
                             "# TYPE swarmd_store_commit_seconds_total counter\n"
                             "swarmd_store_commit_seconds_total %.6f\n",
                             (unsigned long long)m->commits, (unsigned long long)m->commit_ops,
                             (double)m->commit_us / 1e6);
    return rc;
}
