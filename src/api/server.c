/* SPDX-License-Identifier: MIT
 * server.c - start-up and recovery, the commit pipeline (dirty lists -> batch ->
 * writer thread -> resume the waiting responses), the scheduler's timer, signals and
 * the graceful stop. */
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "emit.h"
#include "events.h"
#include "fleet.h"
#include "memory_api.h"
#include "webhooks.h"
#include "sse.h"
#include "ws.h"
#include "runtime/sandbox.h"
#include "listen.h"
#include "runner.h"
#include "graph_api.h"
#include "scaling.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

int64_t sw_server_now(struct sw_server *s)
{
    return sw_clock_wall_ms();
}

/* ---- scheduler hooks ---- */

static void hook_task_dirty(void *ctx, struct sw_task *t)
{
    struct sw_server *s = ctx;
    if (t->dirty)
        return;
    t->dirty = 1;
    t->dirty_next = s->dirty_tasks;
    s->dirty_tasks = t;
    s->has_dirty = 1;
}

static void hook_agent_dirty(void *ctx, struct sw_agent *a)
{
    struct sw_server *s = ctx;
    if (a->dirty)
        return;
    a->dirty = 1;
    a->dirty_next = s->dirty_agents;
    s->dirty_agents = a;
    s->has_dirty = 1;
}

static void wake_task_waiters(struct sw_server *s, uint64_t id)
{
    struct sw_request *req = sw_map_del(&s->task_waiters, id);
    while (req) {
        struct sw_request *next = req->wait_next;
        req->wait_next = req->wait_prev = NULL;
        req->wait_data = NULL;
        sw_request_wake(req);
        req = next;
    }
}

static void hook_task_event(void *ctx, struct sw_task *t, enum sw_task_event ev)
{
    struct sw_server *s = ctx;
    sw_metrics_task_event(&s->metrics, t, ev);
    sw_registry_task_event(&s->registry, t, ev, sw_server_now(s));
    sw_emit_task(s, t, ev);
    if (sw_task_state_terminal(t->state))
        wake_task_waiters(s, t->id);
    else if (t->state == SW_TASK_QUEUED && (s->cold_candidates > 0 || s->zero_swarms > 0) &&
             (ev == SW_TASK_EV_SUBMITTED || ev == SW_TASK_EV_PROMOTED || ev == SW_TASK_EV_RETRIED))
        sw_fleet_cold_start(s, t->capability);
}

static void hook_agent_event(void *ctx, struct sw_agent *a, enum sw_agent_event ev)
{
    struct sw_server *s = ctx;
    static const char *const names[] = {"registered", "lost", "back", "removed", "breaker"};
    char id[SW_ID_STRLEN];
    sw_id_format('a', a->id, id);
    if (ev == SW_AGENT_EV_BREAKER) {
        sw_log_info("sched", "msg=\"agent breaker %s\" agent=%s name=\"%s\" reason=%s",
                    sw_breaker_state_names[a->breaker.state], id, a->name,
                    a->breaker.reason ? a->breaker.reason : "none");
        sw_emit_agent_breaker(s, a);
        return;
    }
    sw_log_info("sched", "msg=\"agent %s\" agent=%s name=\"%s\"", names[ev], id, a->name);
    if (ev == SW_AGENT_EV_REGISTERED || ev == SW_AGENT_EV_REMOVED) {
        sw_emit_agent(s, a, names[ev]);
        a->event_state = (int)a->state;
    }
    if (ev == SW_AGENT_EV_REMOVED) {
        sw_server_forget_token(s, a);
        sw_fleet_agent_removed(s, a);
    }
}

/* ---- commit pipeline ---- */

/* Agents whose state changed in this turn: one event each for the state they reached. */
static void emit_agent_states(struct sw_server *s)
{
    for (struct sw_agent *a = s->dirty_agents; a; a = a->dirty_next) {
        if (a->removed || a->event_state == (int)a->state)
            continue;
        sw_emit_agent(s, a, sw_agent_state_names[a->state]);
        a->event_state = (int)a->state;
    }
}

/* Hands the changes of this loop turn to the writer as one batch. */
static void commit_flush(struct sw_server *s)
{
    if (!s->has_dirty)
        return;
    emit_agent_states(s);
    /* spec changes (templates, swarms) were queued in s->spec_ops as they happened */
    struct sw_store_batch *b = s->spec_ops ? s->spec_ops : sw_store_batch_new(s->open_seq);
    if (b == NULL)
        return; /* retried next turn */
    b->seq = s->open_seq;
    size_t spec_len = b->len;
    int rc = 0;
    for (struct sw_task *t = s->dirty_tasks; t && rc == 0; t = t->dirty_next)
        rc = sw_store_batch_add_task(b, t);
    for (struct sw_agent *a = s->dirty_agents; a && rc == 0; a = a->dirty_next)
        rc = sw_store_batch_add_agent(b, a);
    if (rc) {
        while (b->len > spec_len) { /* keep the spec ops for the next try */
            struct sw_store_op *op = &b->ops[--b->len];
            sw_task_free(op->task);
            sw_agent_free(op->agent);
            sw_free(op->capabilities);
        }
        s->spec_ops = b;
        return;
    }
    s->spec_ops = NULL;
    while (s->dirty_tasks) {
        struct sw_task *t = s->dirty_tasks;
        s->dirty_tasks = t->dirty_next;
        t->dirty_next = NULL;
        t->dirty = 0;
        t->persisted = 1;
    }
    while (s->dirty_agents) {
        struct sw_agent *a = s->dirty_agents;
        s->dirty_agents = a->dirty_next;
        a->dirty_next = NULL;
        a->dirty = 0;
        a->persisted = 1;
        if (a->removed)
            sw_agent_free(a);
    }
    s->has_dirty = 0;
    s->queued_seq = s->open_seq++;
    sw_events_batch_queued(s, s->queued_seq);
    sw_committer_submit(s->committer, b);
}

struct sw_store_batch *sw_server_open_batch(struct sw_server *s)
{
    if (s->spec_ops == NULL && (s->spec_ops = sw_store_batch_new(s->open_seq)) == NULL)
        return NULL;
    s->has_dirty = 1;
    return s->spec_ops;
}

int sw_server_spec_changed(struct sw_server *s, int is_swarm, const char *name, const char *spec,
                           int stopped)
{
    struct sw_store_batch *b = sw_server_open_batch(s);
    if (b == NULL)
        return SW_ENOMEM;
    return sw_store_batch_add_spec(b, is_swarm, name, spec, stopped, sw_server_now(s));
}

void sw_server_respond(struct sw_server *s, struct sw_request *req)
{
    req->need_seq = s->has_dirty ? s->open_seq : s->queued_seq;
    if (req->need_seq > s->committed_seq) {
        req->commit_next = NULL;
        if (s->commit_tail)
            s->commit_tail->commit_next = req;
        else
            s->commit_head = req;
        s->commit_tail = req;
        return;
    }
    sw_request_resume(req);
}

static void run_listeners(struct sw_server *s)
{
    sw_http_run(&s->unix_listener);
    if (s->has_tcp)
        sw_http_run(&s->tcp_listener);
}

/* Runs the listeners that have resumed connections waiting for their response. */
static int run_resumed(struct sw_server *s)
{
    int ran = 0;
    if (s->unix_listener.needs_run)
        sw_http_run(&s->unix_listener), ran = 1;
    if (s->has_tcp && s->tcp_listener.needs_run)
        sw_http_run(&s->tcp_listener), ran = 1;
    return ran;
}

static void commit_async_cb(uv_async_t *async)
{
    struct sw_server *s = async->data;
    uint64_t seq = sw_committer_poll(s->committer);
    if (seq <= s->committed_seq)
        return;
    s->committed_seq = seq;
    if (s->deliveries_head)
        sw_runner_deliver_committed(s);
    while (s->commit_head && s->commit_head->need_seq <= seq) {
        struct sw_request *req = s->commit_head;
        s->commit_head = req->commit_next;
        if (s->commit_head == NULL)
            s->commit_tail = NULL;
        sw_request_resume(req);
    }
    run_resumed(s);                    /* the replies go first; */
    sw_events_committed_batch(s, seq); /* the streams they woke write later in this turn */
}

static void committer_notify(void *arg)
{
    uv_async_send(arg);
}

/* ---- time ---- */

static void tick_timer_cb(uv_timer_t *timer)
{
    struct sw_server *s = timer->data;
    sw_sched_tick(&s->sched, sw_server_now(s));
}

/* End of a loop turn: serve waiting leases, hand the batch over, re-arm the timer. */
static void prepare_cb(uv_prepare_t *prepare)
{
    struct sw_server *s = prepare->data;
    int64_t now = sw_server_now(s);
    sw_runner_new_turn(s);
    if (s->sched.cancels_pending) {
        s->sched.cancels_pending = 0;
        sw_runner_deliver_cancels(s);
    }
    for (int round = 0; round < 4; round++) {
        run_resumed(s);
        sw_sched_dispatch(&s->sched, now);
        if (!s->unix_listener.needs_run && !s->tcp_listener.needs_run)
            break;
    }
    commit_flush(s);
    int64_t next = sw_sched_next_deadline(&s->sched);
    int64_t delay = next - now;
    uv_timer_start(&s->tick_timer, tick_timer_cb, (uint64_t)(delay > 0 ? delay : 0), 0);
}

/* ---- tokens ---- */

void sw_token_hash(const char *token, unsigned char out[32])
{
    SHA256((const unsigned char *)token, strlen(token), out);
}

static uint64_t token_key(const unsigned char hash[32])
{
    uint64_t key;
    memcpy(&key, hash, sizeof key);
    return key;
}

int sw_server_add_token(struct sw_server *s, struct sw_agent *a)
{
    return sw_map_put(&s->agent_tokens, token_key(a->token_hash), a);
}

struct sw_agent *sw_server_agent_by_token(struct sw_server *s, const char *token)
{
    unsigned char hash[32];
    sw_token_hash(token, hash);
    struct sw_agent *a = sw_map_get(&s->agent_tokens, token_key(hash));
    if (a && CRYPTO_memcmp(a->token_hash, hash, sizeof hash) == 0)
        return a;
    return NULL;
}

void sw_server_forget_token(struct sw_server *s, struct sw_agent *a)
{
    if (sw_map_get(&s->agent_tokens, token_key(a->token_hash)) == a)
        sw_map_del(&s->agent_tokens, token_key(a->token_hash));
}

/* ---- tasks ---- */

int sw_server_task(struct sw_server *s, uint64_t id, struct sw_task **out, int *owned)
{
    *owned = 0;
    *out = sw_sched_task(&s->sched, id);
    if (*out)
        return 0;
    int rc = s->store->ops->task_get(s->store, id, out);
    if (rc == 0)
        *owned = 1;
    return rc;
}

int sw_server_task_live(struct sw_server *s, uint64_t id, struct sw_task **out)
{
    int owned;
    int rc = sw_server_task(s, id, out, &owned);
    if (rc || !owned)
        return rc;
    rc = sw_sched_restore_task(&s->sched, *out);
    if (rc) {
        sw_task_free(*out);
        *out = NULL;
    }
    return rc;
}

void sw_server_wait_task(struct sw_server *s, struct sw_request *req, uint64_t id)
{
    struct sw_request *head = sw_map_get(&s->task_waiters, id);
    req->wait_prev = NULL;
    req->wait_next = head;
    if (head)
        head->wait_prev = req;
    if (sw_map_put(&s->task_waiters, id, req)) {
        if (head)
            head->wait_prev = NULL;
        req->wait_next = NULL;
        return;
    }
    req->wait_data = (void *)(uintptr_t)id;
}

void sw_server_unwait_task(struct sw_server *s, struct sw_request *req)
{
    uint64_t id = (uint64_t)(uintptr_t)req->wait_data;
    if (id == 0)
        return;
    if (req->wait_prev)
        req->wait_prev->wait_next = req->wait_next;
    else if (req->wait_next)
        sw_map_put(&s->task_waiters, id, req->wait_next);
    else
        sw_map_del(&s->task_waiters, id);
    if (req->wait_next)
        req->wait_next->wait_prev = req->wait_prev;
    req->wait_next = req->wait_prev = NULL;
    req->wait_data = NULL;
}

/* ---- start-up ---- */

static int load_task_cb(void *ctx, struct sw_task *t)
{
    struct sw_server *s = ctx;
    int rc = sw_sched_restore_task(&s->sched, t);
    if (rc)
        sw_task_free(t);
    return rc;
}

static int load_template_cb(void *ctx, const char *name, const char *spec)
{
    return sw_fleet_load_template(ctx, name, spec);
}

static int load_swarm_cb(void *ctx, const char *name, const char *spec, int stopped)
{
    return sw_fleet_load_swarm(ctx, name, spec, stopped);
}

static int load_memory_cb(void *ctx, struct sw_mem_entry *e)
{
    struct sw_server *s = ctx;
    int rc = sw_memory_restore(&s->memory, e);
    if (rc)
        sw_mem_entry_free(e);
    return rc;
}

static int load_webhook_cb(void *ctx, uint64_t id, const char *spec, const char *state)
{
    return sw_webhooks_load(ctx, id, spec, state);
}

static int load_agent_cb(void *ctx, struct sw_agent *a)
{
    struct sw_server *s = ctx;
    a->event_state = (int)a->state;
    int rc = sw_sched_restore_agent(&s->sched, a);
    rc = rc ? rc : sw_server_add_token(s, a);
    if (rc == 0)
        sw_fleet_adopt_agent(s, a);
    if (rc)
        sw_agent_free(a);
    return rc;
}

static int recover(struct sw_server *s)
{
    int64_t start = sw_clock_mono_ms();
    struct sw_store_loader loader = {s,
                                     load_template_cb,
                                     load_swarm_cb,
                                     load_task_cb,
                                     load_agent_cb,
                                     load_memory_cb,
                                     load_webhook_cb};
    uint64_t max_id = 0;
    int rc = s->store->ops->load(s->store, &loader, &max_id);
    if (rc)
        return rc;
    if (max_id > s->sched.last_task_id)
        s->sched.last_task_id = max_id;
    rc = sw_graph_api_recover(s); /* finished tasks that graphs still need */
    if (rc)
        return rc;
    int64_t now = sw_server_now(s);
    sw_sched_finish_recovery(&s->sched, now);
    sw_log_info("store", "msg=\"recovered\" tasks=%zu agents=%zu ms=%lld", s->sched.tasks.count,
                s->sched.agents.count, (long long)(sw_clock_mono_ms() - start));
    return 0;
}

/* Finished tasks created before now - retention go, from memory and from the store (ids
 * grow with time, so the cut is an id). */
static void retention_timer_cb(uv_timer_t *timer)
{
    struct sw_server *s = timer->data;
    int64_t cutoff = sw_server_now(s) - s->cfg.task_retention_ms;
    if (cutoff <= 0)
        return;
    uint64_t before_id = (uint64_t)cutoff << 16;
    sw_sched_forget_before(&s->sched, before_id);
    if (s->spec_ops == NULL && (s->spec_ops = sw_store_batch_new(s->open_seq)) == NULL)
        return;
    if (sw_store_batch_add_prune(s->spec_ops, before_id) == 0)
        s->has_dirty = 1;
}

static void reap_timer_cb(uv_timer_t *timer)
{
    sw_runner_reap_orphans(timer->data);
}

static void signal_cb(uv_signal_t *sig, int signum)
{
    struct sw_server *s = sig->data;
    if (signum == SIGCHLD) { /* after libuv's own handling and any restart: not urgent */
        if (!uv_is_active((uv_handle_t *)&s->reap_timer))
            uv_timer_start(&s->reap_timer, reap_timer_cb, 100, 0);
        return;
    }
    if (signum == SIGHUP) {
        sw_log_reopen();
        sw_log_info("daemon", "msg=\"logs reopened\"");
        return;
    }
    sw_log_info("daemon", "msg=\"stopping\" signal=%d", signum);
    sw_server_shutdown(s);
}

static void start_signals(struct sw_server *s)
{
    uv_signal_t *sigs[] = {&s->sig_term, &s->sig_int, &s->sig_hup, &s->sig_chld};
    int nums[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
    for (int i = 0; i < 4; i++) {
        uv_signal_init(s->loop, sigs[i]);
        sigs[i]->data = s;
        uv_signal_start(sigs[i], signal_cb, nums[i]);
    }
}

static uint64_t random_seed(void)
{
    uint64_t seed = (uint64_t)sw_clock_mono_us() ^ ((uint64_t)getpid() << 32);
    return seed ? seed : 1;
}

static int start_listeners(struct sw_server *s)
{
    int fd;
    int rc = sw_listen_unix(s->cfg.socket_path, &fd);
    rc = rc ? rc : sw_http_listen(s, &s->unix_listener, fd, 0);
    if (rc)
        return rc;
    snprintf(s->unix_listener.addr, sizeof s->unix_listener.addr, "%s", s->cfg.socket_path);
    sw_log_info("http", "msg=\"listening\" socket=\"%s\"", s->cfg.socket_path);
    if (s->cfg.listen == NULL || *s->cfg.listen == '\0')
        return 0;
    int has_token = s->cfg.admin_token && *s->cfg.admin_token;
    rc = sw_listen_tcp(s->cfg.listen, has_token, &fd, s->tcp_listener.addr,
                       sizeof s->tcp_listener.addr);
    rc = rc ? rc : sw_http_listen(s, &s->tcp_listener, fd, 1);
    if (rc)
        return rc;
    s->has_tcp = 1;
    sw_log_info("http", "msg=\"listening\" addr=%s auth=%s", s->tcp_listener.addr,
                has_token ? "admin-token" : "none");
    return 0;
}

int sw_server_start(struct sw_server *s, uv_loop_t *loop, const struct sw_server_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->cfg = *cfg;
    s->open_seq = 1;
    char cwd[4096], url[4200];
    if (getcwd(cwd, sizeof cwd) == NULL)
        snprintf(cwd, sizeof cwd, "/");
    if (cfg->socket_path[0] == '/')
        snprintf(url, sizeof url, "unix:%s", cfg->socket_path);
    else
        snprintf(url, sizeof url, "unix:%s/%s", cwd, cfg->socket_path);
    char home[4200];
    if (cfg->home[0] == '/')
        snprintf(home, sizeof home, "%s", cfg->home);
    else
        snprintf(home, sizeof home, "%s/%s", cwd, cfg->home);
    sw_sandbox_set_hidden(home); /* sandboxed agents see neither the socket nor the db */
    s->workdir = sw_strdup(cwd);
    s->socket_url = sw_strdup(url);
    if (s->workdir == NULL || s->socket_url == NULL)
        return SW_ENOMEM;
    sw_fleet_init(s);
    sw_memory_init(&s->memory);
    sw_metrics_init(&s->metrics);
    sw_admission_init(&s->admission);
    sw_map_init(&s->task_waiters);
    sw_map_init(&s->agent_tokens);
    struct sw_sched_hooks hooks = {s, hook_task_dirty, hook_agent_dirty, hook_task_event,
                                   hook_agent_event};
    sw_sched_init(&s->sched, &cfg->sched, &hooks, random_seed());
    struct sw_store_options so = {cfg->db_path, cfg->sync};
    int rc = sw_store_sqlite_ops.open(&s->store, &so);
    rc = rc ? rc : sw_events_init(s);
    rc = rc ? rc : sw_webhooks_init(s);
    rc = rc ? rc : recover(s);
    rc = rc ? rc : sw_memory_api_start(s);
    if (rc)
        return rc;
    uv_async_init(loop, &s->commit_async, commit_async_cb);
    s->commit_async.data = s;
    rc = sw_committer_start(&s->committer, s->store, committer_notify, &s->commit_async);
    if (rc)
        return rc;
    uv_timer_init(loop, &s->tick_timer);
    s->tick_timer.data = s;
    uv_timer_init(loop, &s->reap_timer);
    s->reap_timer.data = s;
    uv_timer_init(loop, &s->retention_timer);
    s->retention_timer.data = s;
    if (cfg->task_retention_ms > 0) {
        int64_t every = cfg->task_retention_ms / 4;
        every = every < 100 ? 100 : every > 60000 ? 60000 : every;
        uv_timer_start(&s->retention_timer, retention_timer_cb, (uint64_t)every, (uint64_t)every);
    }
    uv_prepare_init(loop, &s->prepare);
    s->prepare.data = s;
    uv_prepare_start(&s->prepare, prepare_cb);
    start_signals(s);
    rc = start_listeners(s);
    if (rc)
        return rc;
    s->ready = 1;
    rc = sw_scaling_start(s); /* the autoscaled counts, before the swarms start */
    if (rc)
        return rc;
    sw_fleet_start(s);
    rc = sw_webhooks_start(s);
    if (rc)
        return rc;
    sw_log_info("daemon", "msg=\"ready\" home=\"%s\" version=%s", cfg->home, SW_VERSION);
    return 0;
}

/* ---- graceful stop ---- */

static void close_handle(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void answer_all_waiters(struct sw_server *s)
{
    sw_logs_end_all(s);
    sw_event_streams_end_all(s);
    sw_ws_close_all(s);
    /* Long-polls end now with what they have. */
    struct sw_lease_waiter *w;
    while ((w = s->sched.waiters_head)) {
        sw_sched_unwait(&s->sched, w);
        w->ntasks = 0;
        w->rc = 0;
        w->ready_cb(w);
    }
    size_t pos = 0;
    uint64_t id;
    while (sw_map_next(&s->task_waiters, &pos, &id, NULL)) {
        wake_task_waiters(s, id);
        pos = 0;
    }
}

static void finish_stop(struct sw_server *s)
{
    sw_fleet_kill_all(s); /* releases the agents' handles while the loop still runs */
    sw_events_stop_all(s);
    sw_memory_api_stop(s);
    sw_http_stop(&s->unix_listener);
    if (s->has_tcp)
        sw_http_stop(&s->tcp_listener);
    unlink(s->cfg.socket_path);
    sw_committer_stop(s->committer);
    s->committer = NULL;
    uv_handle_t *handles[] = {(uv_handle_t *)&s->commit_async, (uv_handle_t *)&s->tick_timer,
                              (uv_handle_t *)&s->prepare,      (uv_handle_t *)&s->shutdown_timer,
                              (uv_handle_t *)&s->sig_term,     (uv_handle_t *)&s->sig_int,
                              (uv_handle_t *)&s->sig_hup,      (uv_handle_t *)&s->sig_chld,
                              (uv_handle_t *)&s->reap_timer,   (uv_handle_t *)&s->retention_timer};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
        close_handle(handles[i]);
    sw_log_info("daemon", "msg=\"stopped\"");
}

static void shutdown_timer_cb(uv_timer_t *timer)
{
    struct sw_server *s = timer->data;
    answer_all_waiters(s);
    int agents = sw_fleet_stopping(s);
    if (agents && sw_clock_mono_ms() >= s->stop_deadline) {
        sw_log_warn("daemon", "msg=\"killing agents past the grace period\" processes=%d", agents);
        sw_fleet_kill_all(s);
        agents = 0;
    }
    commit_flush(s);
    int idle = !s->has_dirty && s->committed_seq == s->queued_seq && s->commit_head == NULL &&
               s->requests_in_flight == 0 && agents == 0;
    if (!idle && sw_clock_mono_ms() < s->stop_deadline) {
        run_listeners(s);
        return;
    }
    if (!idle)
        sw_log_warn("daemon", "msg=\"stop grace period over\" requests=%lld",
                    (long long)s->requests_in_flight);
    uv_timer_stop(timer);
    if (s->committed_seq != s->queued_seq || s->has_dirty) {
        /* still committing: wait for it whatever the grace (acknowledged data) */
        uv_timer_start(timer, shutdown_timer_cb, 10, 0);
        return;
    }
    finish_stop(s);
}

void sw_server_shutdown(struct sw_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stop_deadline = sw_clock_mono_ms() + s->cfg.shutdown_grace_ms;
    sw_http_quiesce(&s->unix_listener);
    if (s->has_tcp)
        sw_http_quiesce(&s->tcp_listener);
    answer_all_waiters(s);
    sw_webhooks_stop(s); /* the positions it writes join the stop's last commits */
    sw_scaling_stop(s);  /* so do the costs accrued until now */
    uv_timer_init(s->loop, &s->shutdown_timer);
    s->shutdown_timer.data = s;
    uv_timer_start(&s->shutdown_timer, shutdown_timer_cb, 0, 10);
}

void sw_server_free(struct sw_server *s)
{
    s->committed_seq = UINT64_MAX; /* drops what was still waiting (the daemon stops) */
    s->stopping = 1;
    sw_runner_deliver_committed(s);
    sw_fleet_kill_all(s);
    sw_committer_stop(s->committer);
    if (s->store)
        s->store->ops->close(s->store);
    sw_sched_free(&s->sched);
    sw_webhooks_free(s);
    sw_events_free(s);
    sw_memory_free(&s->memory);
    sw_metrics_free(&s->metrics);
    sw_admission_free(&s->admission);
    sw_registry_free(&s->registry);
    sw_map_free(&s->task_waiters);
    sw_map_free(&s->agent_tokens);
    sw_fleet_free(s);
    sw_scaling_free(s);
    sw_free(s->workdir);
    sw_free(s->socket_url);
}
