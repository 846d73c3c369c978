/* SPDX-License-Identifier: MIT
 * metrics.h - counters and histograms of the daemon, rendered in the Prometheus text
 * format. Task counters are kept per capability; gauges (tasks by state, agents by
 * state) are read from the scheduler when /metrics is scraped. */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include "core/buf.h"
#include "core/map.h"
#include "sched/sched.h"

#include <stdint.h>

#define SW_HIST_BUCKETS 18

struct sw_histogram {
    uint64_t buckets[SW_HIST_BUCKETS + 1]; /* last: +Inf */
    uint64_t count;
    double sum_seconds;
};

enum sw_task_counter {
    SW_CNT_SUBMITTED,
    SW_CNT_SUCCEEDED,
    SW_CNT_FAILED,  /* dead */
    SW_CNT_RETRIED, /* attempts that failed and will retry */
    SW_CNT_CANCELLED,
    SW_CNT_LEASED,
    SW_CNT_N
};

#define SW_METRICS_MAX_ROUTES 128
#define SW_METRICS_STATUSES   9 /* the statuses counted one by one, and "other" */

/* Submits refused by admission (429), by reason. */
enum sw_refusal_reason { SW_REFUSED_QUEUE_FULL, SW_REFUSED_RATE_LIMITED, SW_REFUSED_N };

struct sw_metrics {
    struct sw_strmap per_capability; /* capability -> uint64_t[SW_CNT_N] */
    struct sw_histogram dispatch_latency;
    struct sw_histogram run_time;
    /* HTTP requests by route index and status class index */
    const char *route_names[SW_METRICS_MAX_ROUTES];
    uint64_t http[SW_METRICS_MAX_ROUTES][SW_METRICS_STATUSES]; /* by status: see metrics.c */
    uint64_t refused[SW_REFUSED_N];
    uint64_t commits, commit_ops, commit_us;
};

void sw_metrics_init(struct sw_metrics *m);
void sw_metrics_free(struct sw_metrics *m);
void sw_metrics_task_event(struct sw_metrics *m, const struct sw_task *t, enum sw_task_event ev);
void sw_histogram_observe(struct sw_histogram *h, double seconds);
/* route: index in the route table (names registered once), status: HTTP status. */
void sw_metrics_http(struct sw_metrics *m, int route, const char *name, int status);
int sw_metrics_render(struct sw_metrics *m, struct sw_sched *s, struct sw_buf *out);

#endif
