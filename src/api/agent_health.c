/* SPDX-License-Identifier: MIT
 * agent_health.c - health checks and idle stop of managed agents. One timer per agent
 * ticks while the agent runs: a check (a command whose exit 0 means healthy, an HTTP GET
 * that must answer 2xx, or a JSON-RPC ping a stdio agent must answer) runs every
 * interval and must finish within its timeout; `failures` failures in a row restart the
 * agent. An agent with an idle_timeout and no task for that long is stopped; a task
 * for its capability starts it again (fleet.c, cold start). */
#include "runner_int.h"
#include "fleet.h"
#include "runner.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct health_check {
    struct agent_rt *rt;
    uint64_t seq;
    int64_t deadline;
    struct sw_process *proc; /* exec check */
    uv_tcp_t tcp;            /* http check */
    uv_connect_t connect;
    uv_write_t write;
    int tcp_open;
    char request[1024];
    char reply[64];
    size_t reply_len;
};

static void check_done(struct agent_rt *rt, int ok, const char *why);

static void tcp_closed_cb(uv_handle_t *h)
{
    sw_free(h->data);
}

/* Ends the check in progress and frees it (the TCP handle closes asynchronously). */
static void check_free(struct health_check *c)
{
    if (c->proc)
        sw_process_close(c->proc);
    if (c->tcp_open) {
        c->tcp.data = c;
        c->rt = NULL;
        uv_close((uv_handle_t *)&c->tcp, tcp_closed_cb);
        return;
    }
    sw_free(c);
}

static void exec_check_exit_cb(struct sw_process *p, int64_t status, int signal)
{
    struct health_check *c = sw_process_data(p);
    char why[64];
    snprintf(why, sizeof why, signal ? "killed by signal %d" : "exit status %d",
             signal ? signal : (int)status);
    check_done(c->rt, status == 0 && signal == 0, why);
}

static void start_exec_check(struct health_check *c, const struct sw_template *t)
{
    struct sw_process_options o = {t->health_argv, NULL, NULL, 0, 0, 0};
    if (sw_process_spawn(c->rt->server->loop, &o, exec_check_exit_cb, NULL, c, &c->proc))
        check_done(c->rt, 0, "the check command cannot start");
}

/* ---- http: GET over a plain TCP connection, 2xx = healthy ---- */

static void http_alloc_cb(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct health_check *c = h->data;
    *buf = uv_buf_init(c->reply + c->reply_len, (unsigned)(sizeof c->reply - 1 - c->reply_len));
}

static void http_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct health_check *c = stream->data;
    if (c->rt == NULL)
        return;
    if (n > 0)
        c->reply_len += (size_t)n;
    c->reply[c->reply_len] = '\0';
    char *sp = strchr(c->reply, ' ');
    if (sp && strlen(sp) >= 4) {
        int code = atoi(sp + 1);
        char why[64];
        snprintf(why, sizeof why, "HTTP status %d", code);
        check_done(c->rt, code >= 200 && code < 300, why);
    } else if (n < 0 || c->reply_len >= sizeof c->reply - 1) {
        check_done(c->rt, 0, "no HTTP status line");
    }
}

static void http_connect_cb(uv_connect_t *req, int status)
{
    struct health_check *c = req->data;
    if (c->rt == NULL)
        return;
    if (status < 0) {
        check_done(c->rt, 0, uv_strerror(status));
        return;
    }
    uv_buf_t buf = uv_buf_init(c->request, (unsigned)strlen(c->request));
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, NULL);
    uv_read_start((uv_stream_t *)&c->tcp, http_alloc_cb, http_read_cb);
}

/* http://host[:port][/path]; host is looked up at once (use an address or localhost). */
static void start_http_check(struct health_check *c, const char *url)
{
    char host[256] = "", port[16] = "80", path[512] = "/";
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
    size_t hl = strcspn(p, ":/");
    snprintf(host, sizeof host, "%.*s", (int)(hl < 255 ? hl : 255), p);
    p += hl;
    if (*p == ':') {
        size_t pl = strcspn(++p, "/");
        snprintf(port, sizeof port, "%.*s", (int)(pl < 15 ? pl : 15), p);
        p += pl;
    }
    if (*p == '/')
        snprintf(path, sizeof path, "%s", p);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        check_done(c->rt, 0, "cannot resolve the health URL's host");
        return;
    }
    snprintf(c->request, sizeof c->request,
             "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: swarmd-health\r\n\r\n", path, host);
    uv_tcp_init(c->rt->server->loop, &c->tcp);
    c->tcp_open = 1;
    c->tcp.data = c;
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, ai->ai_addr, http_connect_cb);
    freeaddrinfo(ai);
    if (rc < 0)
        check_done(c->rt, 0, uv_strerror(rc));
}

/* ---- the check cycle ---- */

static void check_done(struct agent_rt *rt, int ok, const char *why)
{
    struct health_check *c = rt->check;
    if (c == NULL)
        return;
    rt->check = NULL;
    check_free(c);
    if (ok) {
        rt->health_failures = 0;
        return;
    }
    const struct sw_template *t = sw_fleet_agent_template(rt->server, rt->agent);
    rt->health_failures++;
    sw_log_warn("fleet", "msg=\"health check failed\" agent=%s failures=%d reason=\"%s\"",
                rt->agent->name, rt->health_failures, why);
    if (t && rt->health_failures >= t->health_failures) {
        sw_log_error("fleet", "msg=\"agent unhealthy, killing it\" agent=%s", rt->agent->name);
        rt->health_failures = 0;
        if (rt->proc) /* its exit goes through the supervisor: backoff, intensity */
            sw_process_signal(rt->proc, SIGKILL);
        else
            sw_runner_restart(rt->server, rt->agent, 1);
    }
}

void sw__health_rpc_answer(struct agent_rt *rt, const char *id, int ok)
{
    char expect[48];
    if (rt->check == NULL)
        return;
    snprintf(expect, sizeof expect, "health-%llu", (unsigned long long)rt->check->seq);
    if (strcmp(id, expect) == 0)
        check_done(rt, ok, ok ? "" : "the ping was answered with an error");
}

static void start_check(struct agent_rt *rt, const struct sw_template *t, int64_t now)
{
    struct health_check *c = sw_calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->rt = rt;
    c->seq = ++rt->health_seq;
    c->deadline = now + t->health_timeout_ms;
    rt->check = c;
    if (t->health == SW_HEALTH_EXEC) {
        start_exec_check(c, t);
    } else if (t->health == SW_HEALTH_HTTP) {
        start_http_check(c, t->health_url);
    } else {
        char id[48];
        snprintf(id, sizeof id, "health-%llu", (unsigned long long)c->seq);
        sw__rpc_send(rt,
                     json_pack("{s:s, s:s, s:s}", "jsonrpc", "2.0", "id", id, "method", "ping"));
    }
}

static void idle_tick(struct agent_rt *rt, const struct sw_template *t, int64_t now)
{
    struct sw_agent *a = rt->agent;
    if (t->idle_timeout_ms <= 0 || a->running > 0 || rt->calls || rt->runs) {
        rt->idle_since = 0;
        return;
    }
    if (rt->idle_since == 0) {
        rt->idle_since = now;
        return;
    }
    if (now - rt->idle_since < t->idle_timeout_ms)
        return;
    sw_log_info("fleet", "msg=\"agent idle, stopping\" agent=%s idle_ms=%lld", a->name,
                (long long)(now - rt->idle_since));
    rt->idle_since = 0;
    rt->idle_stopped = 1;
    rt->server->cold_candidates++;
    sw_runner_stop(rt->server, a, 0);
}

static int64_t watch_period(const struct sw_template *t)
{
    int64_t period = t->health != SW_HEALTH_NONE ? t->health_interval_ms : INT64_MAX;
    if (t->idle_timeout_ms > 0) {
        int64_t idle_step = t->idle_timeout_ms / 4 > 50 ? t->idle_timeout_ms / 4 : 50;
        period = idle_step < period ? idle_step : period;
    }
    return period;
}

static void watch_cb(uv_timer_t *timer)
{
    struct agent_rt *rt = timer->data;
    struct sw_server *s = rt->server;
    const struct sw_template *t = sw_fleet_agent_template(s, rt->agent);
    int64_t now = sw_server_now(s);
    if (t == NULL || !sw_agent_running(rt->agent))
        return;
    if (rt->check && now >= rt->check->deadline) {
        check_done(rt, 0, "timed out");
    } else if (rt->check == NULL && t->health != SW_HEALTH_NONE && now >= rt->next_check) {
        rt->next_check = now + t->health_interval_ms;
        start_check(rt, t, now);
    }
    if (rt->agent->runtime == rt && sw_agent_running(rt->agent))
        idle_tick(rt, t, now);
}

void sw__health_begin(struct agent_rt *rt)
{
    const struct sw_template *t = sw_fleet_agent_template(rt->server, rt->agent);
    if (t == NULL || (t->health == SW_HEALTH_NONE && t->idle_timeout_ms <= 0))
        return;
    if (!rt->watch_init) {
        uv_timer_init(rt->server->loop, &rt->watch_timer);
        rt->watch_timer.data = rt;
        rt->watch_init = 1;
    }
    rt->health_failures = 0;
    rt->idle_since = 0;
    rt->next_check = sw_server_now(rt->server) + t->health_interval_ms;
    int64_t period = watch_period(t);
    /* checks at each period; a timed-out check is noticed within a tenth of it */
    int64_t tick = t->health != SW_HEALTH_NONE && t->health_timeout_ms < period
                       ? t->health_timeout_ms
                       : period;
    uv_timer_start(&rt->watch_timer, watch_cb, (uint64_t)tick, (uint64_t)tick);
}

void sw__health_end(struct agent_rt *rt)
{
    if (rt->watch_init)
        uv_timer_stop(&rt->watch_timer);
    if (rt->check) {
        struct health_check *c = rt->check;
        rt->check = NULL;
        check_free(c);
    }
}

void sw__health_release(struct agent_rt *rt)
{
    sw__health_end(rt);
    if (rt->idle_stopped)
        rt->server->cold_candidates--;
    if (rt->watch_init) {
        rt->watch_init = 0;
        rt->closing++;
        uv_close((uv_handle_t *)&rt->watch_timer, sw__rt_handle_closed);
    }
}
