/* SPDX-License-Identifier: MIT
 * system_api.c - /health (the process answers), /ready (store open, recovery done,
 * commits going through) and /metrics (Prometheus text). */
#include "routes.h"
#include "server.h"
#include "core/error.h"

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

void sw_api_metrics(struct sw_request *req)
{
    struct sw_server *s = req->server;
    sw_committer_stats(s->committer, &s->metrics.commits, &s->metrics.commit_ops,
                       &s->metrics.commit_us);
    struct sw_buf body;
    sw_buf_init(&body, (size_t)1 << 28);
    int rc = sw_metrics_render(&s->metrics, &s->sched, &body);
    if (rc) {
        sw_buf_free(&body);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &body);
}
