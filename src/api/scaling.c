/* SPDX-License-Identifier: MIT
 * scaling.c - the autoscaler's loop side, the cost meters of managed agents, budgets and
 * the GET /v1/swarms/{name}/scaling route. One timer does it all: every 100 ms while a
 * swarm is autoscaled (every second otherwise) one pass over the agents brings each
 * running agent's meter up to now and counts each autoscaled swarm's agents; then each
 * autoscaled swarm is sampled and its decision carried out, spent budgets stop their
 * swarms, and every 10 s the costs go to the store. */
#include "scaling.h"
#include "emit.h"
#include "fleet.h"
#include "json_in.h"
#include "routes.h"
#include "server.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "model/swarm.h"
#include "sched/autoscaler.h"

#include <stdio.h>
#include <string.h>

#define TICK_FAST_MS 100   /* while some swarm is autoscaled */
#define TICK_SLOW_MS 1000  /* costs and budgets only */
#define FLUSH_MS     10000 /* costs are written at least this often */
#define INFLIGHT_MAX 65536 /* cost writes waiting for their commit (then the oldest go) */
#define LINE_KEY_MAX 160

/* An autoscaled swarm (or one with a decision to show): its autoscaler and this
 * tick's counts. */
struct swarm_scale {
    char *name; /* owned: the map's key */
    struct sw_autoscaler as;
    int64_t ready;    /* agents up, at the last pass */
    int64_t top_busy; /* the highest number of an agent that may not go now, -1 */
};

/* Cost per swarm and template: what is not written yet, and the total so far. */
struct cost_line {
    char key[LINE_KEY_MAX]; /* "swarm\ttemplate": the map's key */
    char *swarm, *tmpl;     /* point into name */
    char name[LINE_KEY_MAX];
    double pending;
    int64_t pending_ms, pending_bucket; /* bucket -1: nothing pending */
    double total;                       /* every cost of this line, stored or not */
};

/* A running managed agent: accrued up to `since`. */
struct meter {
    struct cost_line *line;
    int64_t since;
    int64_t started_at; /* of the run being metered */
    uint64_t seen;      /* tick generation */
};

/* Cost handed to a commit batch, not known committed yet. */
struct inflight {
    uint64_t seq;
    struct cost_line *line;
    int64_t bucket;
    double cost;
    int64_t agent_ms;
};

struct sw_scaling {
    uv_timer_t timer;
    struct sw_strmap swarms; /* name -> struct swarm_scale */
    struct sw_strmap lines;  /* key -> struct cost_line */
    struct sw_map meters;    /* agent id -> struct meter */
    struct inflight *inflight;
    size_t ninflight, inflight_cap;
    uint64_t generation;
    int64_t last_flush;
    int fast; /* the timer runs every TICK_FAST_MS */
    int stopped;
};

static int64_t bucket_of(int64_t ms)
{
    return ms - ms % SW_COST_BUCKET_MS;
}

/* ---- per-swarm state ---- */

static struct swarm_scale *swarm_state(struct sw_scaling *sc, const char *name, int create)
{
    struct swarm_scale *st = sw_strmap_get(&sc->swarms, name);
    if (st || !create)
        return st;
    st = sw_calloc(1, sizeof *st);
    if (st == NULL || (st->name = sw_strdup(name)) == NULL) {
        sw_free(st);
        return NULL;
    }
    sw_autoscaler_init(&st->as);
    st->top_busy = -1;
    if (sw_strmap_put(&sc->swarms, st->name, st)) {
        sw_free(st->name);
        sw_free(st);
        return NULL;
    }
    return st;
}

static const struct sw_template *swarm_template(struct sw_server *s, const struct sw_swarm *sw)
{
    if (sw->inline_template)
        return sw->inline_template;
    return sw->template_name ? sw_strmap_get(&s->templates, sw->template_name) : NULL;
}

/* Tasks queued for the capabilities of the swarm's template that its agents may take
 * (unrouted, or routed to it): "name@2" also counts the queue of bare "name" (served by
 * any version). */
static int64_t queued_for(struct sw_server *s, const struct sw_swarm *sw)
{
    const struct sw_template *t = swarm_template(s, sw);
    char names[2 * SW_AGENT_MAX_CAPS][160];
    size_t n = 0;
    int64_t queued = 0;
    for (size_t i = 0; t && i < t->ncapabilities && n + 2 <= 2 * SW_AGENT_MAX_CAPS; i++) {
        const char *cap = t->capabilities[i], *at = strchr(cap, '@');
        snprintf(names[n++], sizeof names[0], "%s", cap);
        if (at)
            snprintf(names[n++], sizeof names[0], "%.*s", (int)(at - cap), cap);
    }
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(names[i], names[j]) == 0;
        struct sw_queue *q = dup ? NULL : sw_sched_queue(&s->sched, names[i]);
        if (q)
            queued += (int64_t)sw_queue_ready_for(q, sw->name);
    }
    return queued;
}

static struct sw_scale_policy policy_of(const struct sw_swarm *sw)
{
    struct sw_scale_policy p = {sw->scale_min, sw->scale_max, sw->scale_target,
                                sw->scale_up_after_ms, sw->scale_down_after_ms};
    if (!sw->has_scale)
        p.min = p.max = sw->replicas;
    return p;
}

static struct sw_scale_budget budget_of(struct sw_server *s, const struct sw_swarm *sw)
{
    const struct sw_template *t = swarm_template(s, sw);
    const struct sw_template *queen = sw->queen_template ? sw->queen_template
                                      : sw->queen        ? sw_strmap_get(&s->templates, sw->queen)
                                                         : NULL;
    struct sw_scale_budget b = {sw->budget_max_agents, sw->budget_max_cost_per_hour,
                                t ? t->cost_per_hour : 0, queen ? queen->cost_per_hour : 0};
    return b;
}

/* An agent the autoscaler counts: a numbered worker of its swarm. */
static int is_worker(const struct sw_agent *a)
{
    return a->kind == SW_AGENT_MANAGED && a->swarm && !a->queen && a->replica >= 0 &&
           a->template_name == NULL;
}

/* Adds the worker to its swarm's counts: up, or holding the numbers above it. */
static void count_worker(struct swarm_scale *st, const struct sw_agent *a)
{
    st->ready += sw_agent_running(a);
    int may_go = a->running == 0 && a->state != SW_AGENT_STARTING && a->state != SW_AGENT_STOPPING;
    if (!may_go && a->replica > st->top_busy)
        st->top_busy = a->replica;
}

/* The swarm as the last pass counted it; an agent asked for but missing may go. */
static void sample_of(struct sw_server *s, const struct sw_swarm *sw, struct swarm_scale *st,
                      int64_t now, struct sw_scale_sample *in)
{
    int64_t keep = st->top_busy + 1;
    in->now = now;
    in->current = sw->replicas;
    in->queued = queued_for(s, sw);
    in->ready = st->ready;
    in->idle = sw->replicas > keep ? sw->replicas - keep : 0;
}

/* ---- decisions ---- */

/* Keeps the decision, tells it (event, log). */
static int record(struct sw_server *s, const char *swarm, const struct sw_scale_decision *d)
{
    struct swarm_scale *st = swarm_state(s->scaling, swarm, 1);
    if (st == NULL)
        return SW_ENOMEM;
    sw_autoscaler_record(&st->as, d);
    sw_log_info("scale", "msg=\"swarm scaled\" swarm=%s from=%lld to=%lld reason=\"%s\"", swarm,
                (long long)d->from, (long long)d->to, d->reason);
    struct sw_buf data;
    sw_buf_init(&data, 4096);
    if (sw_buf_appendf(&data, "{\"from\":%lld,\"to\":%lld,\"reason\":", (long long)d->from,
                       (long long)d->to) == 0 &&
        sw_json_append_string(&data, d->reason) == 0 && sw_buf_append(&data, "}", 1) == 0)
        sw_emit_swarm(s, swarm, "scaled", data.data);
    sw_buf_free(&data);
    return 0;
}

static int store_count(struct sw_server *s, const char *swarm, int64_t replicas)
{
    struct sw_store_batch *b = sw_server_open_batch(s);
    return b ? sw_store_batch_add_scaled(b, swarm, replicas) : SW_ENOMEM;
}

/* The autoscaler's decision: stored, recorded, then the fleet brings the agents to it. */
static int carry_out(struct sw_server *s, struct sw_swarm *sw, const struct sw_scale_decision *d)
{
    int rc = d->to != d->from ? store_count(s, sw->name, d->to) : 0;
    rc = rc ? rc : record(s, sw->name, d);
    if (rc) {
        sw_log_error("scale", "msg=\"cannot carry out a decision\" swarm=%s error=%s", sw->name,
                     sw_strerror_code(rc));
        return rc;
    }
    if (d->to != d->from)
        sw_fleet_set_replicas(s, sw, d->to);
    return 0;
}

static int can_scale(const struct sw_swarm *sw)
{
    return sw->has_scale && sw->state == SW_SWARM_RUNNING && !sw->stopped;
}

static void autoscale(struct sw_server *s, struct sw_swarm *sw, int64_t now)
{
    struct swarm_scale *st = swarm_state(s->scaling, sw->name, 1);
    if (st == NULL)
        return;
    struct sw_scale_policy p = policy_of(sw);
    struct sw_scale_budget b = budget_of(s, sw);
    struct sw_scale_sample in;
    struct sw_scale_decision d;
    sample_of(s, sw, st, now, &in);
    if (sw_autoscaler_step(&st->as, &p, &b, &in, &d))
        carry_out(s, sw, &d);
}

int sw_scaling_cold_start(struct sw_server *s, struct sw_swarm *sw)
{
    struct sw_scaling *sc = s->scaling;
    struct swarm_scale *st = sc && !sc->stopped ? swarm_state(sc, sw->name, 1) : NULL;
    if (st == NULL || !can_scale(sw) || sw->replicas != 0)
        return 0;
    struct sw_scale_policy p = policy_of(sw);
    struct sw_scale_budget b = budget_of(s, sw);
    struct sw_scale_sample in;
    struct sw_scale_decision d;
    sample_of(s, sw, st, sw_server_now(s), &in);
    in.ready = in.idle = 0;
    if (in.queued < 1)
        in.queued = 1; /* the task that called us */
    if (!sw_autoscaler_step(&st->as, &p, &b, &in, &d) || carry_out(s, sw, &d))
        return 0;
    return d.to > d.from;
}

static void tick_cb(uv_timer_t *timer);

void sw_scaling_swarm_applied(struct sw_server *s, struct sw_swarm *sw)
{
    struct sw_scaling *sc = s->scaling;
    if (sc == NULL || sc->stopped)
        return;
    store_count(s, sw->name, sw->has_scale ? sw->replicas : -1);
    if (can_scale(sw))
        autoscale(s, sw, sw_server_now(s)); /* new bounds apply at once */
    if (sw->has_scale && !sc->fast) {       /* the first autoscaled swarm: sample it often now */
        sc->fast = 1;
        uv_timer_start(&sc->timer, tick_cb, TICK_FAST_MS, 0);
    }
}

void sw_scaling_swarm_scaled(struct sw_server *s, struct sw_swarm *sw, int64_t from)
{
    struct sw_scale_decision d = {sw_server_now(s), from, sw->replicas, "scaled by request"};
    if (s->scaling == NULL)
        return;
    store_count(s, sw->name, -1);
    record(s, sw->name, &d);
}

void sw_scaling_swarm_removed(struct sw_server *s, const char *name)
{
    struct swarm_scale *st = s->scaling ? sw_strmap_del(&s->scaling->swarms, name) : NULL;
    if (st) {
        sw_free(st->name);
        sw_free(st);
    }
}

/* ---- budgets ---- */

static double spent_by(struct sw_scaling *sc, const char *swarm)
{
    size_t pos = 0;
    void *value;
    double spent = 0;
    while (sw_strmap_next(&sc->lines, &pos, NULL, &value)) {
        struct cost_line *line = value;
        if (strcmp(line->swarm, swarm) == 0)
            spent += line->total;
    }
    return spent;
}

/* max_cost_total spent: the swarm's agents stop (and stay stopped: after a restart
 * the reason is shown again). */
static void check_budget(struct sw_server *s, struct sw_swarm *sw, int64_t now)
{
    double spent = spent_by(s->scaling, sw->name);
    char reason[SW_SCALE_REASON_MAX];
    if (spent < sw->budget_max_cost_total)
        return;
    snprintf(reason, sizeof reason, "budget: max_cost_total %g spent (%.4f): its agents stop",
             sw->budget_max_cost_total, spent);
    if (sw->stopped) {
        if (sw->failure[0] == '\0')
            snprintf(sw->failure, sizeof sw->failure, "%s", reason);
        return;
    }
    if (sw->state != SW_SWARM_RUNNING)
        return;
    struct sw_scale_decision d = {now, sw->replicas, 0, ""};
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    if (sw_fleet_swarm_halt(s, sw, reason) == 0)
        record(s, sw->name, &d);
}

/* ---- cost meters ---- */

static struct cost_line *cost_line(struct sw_scaling *sc, const char *swarm, const char *tmpl)
{
    char key[LINE_KEY_MAX];
    snprintf(key, sizeof key, "%s\t%s", swarm, tmpl);
    struct cost_line *line = sw_strmap_get(&sc->lines, key);
    if (line)
        return line;
    if ((line = sw_calloc(1, sizeof *line)) == NULL)
        return NULL;
    memcpy(line->key, key, sizeof key);
    memcpy(line->name, key, sizeof key);
    char *tab = strchr(line->name, '\t');
    *tab = '\0';
    line->swarm = line->name;
    line->tmpl = tab + 1;
    line->pending_bucket = -1;
    if (sw_strmap_put(&sc->lines, line->key, line)) {
        sw_free(line);
        return NULL;
    }
    return line;
}

/* The line an agent's cost goes to: its swarm and its template's name (an inline
 * template: "<swarm>/inline", or "<swarm>/queen" for the queen's). */
static struct cost_line *line_of(struct sw_server *s, const struct sw_agent *a)
{
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    const char *swarm = a->swarm ? a->swarm : "";
    char tmpl[96];
    if (t && t->name)
        snprintf(tmpl, sizeof tmpl, "%s", t->name);
    else
        snprintf(tmpl, sizeof tmpl, "%.63s/%s", swarm, a->queen ? "queen" : "inline");
    return cost_line(s->scaling, swarm, tmpl);
}

static int inflight_push(struct sw_scaling *sc, const struct inflight *f)
{
    if (sc->ninflight == INFLIGHT_MAX) { /* the writer is stuck: forget the oldest */
        memmove(sc->inflight, sc->inflight + 1, (sc->ninflight - 1) * sizeof *sc->inflight);
        sc->ninflight--;
    }
    if (sc->ninflight == sc->inflight_cap) {
        size_t cap = sc->inflight_cap ? sc->inflight_cap * 2 : 64;
        struct inflight *grown = sw_realloc(sc->inflight, cap * sizeof *grown);
        if (grown == NULL)
            return SW_ENOMEM;
        sc->inflight = grown;
        sc->inflight_cap = cap;
    }
    sc->inflight[sc->ninflight++] = *f;
    return 0;
}

/* Writes the line's pending cost into the open commit batch. */
static int flush_line(struct sw_server *s, struct cost_line *line)
{
    struct sw_scaling *sc = s->scaling;
    if (line->pending_bucket < 0)
        return 0;
    struct sw_store_batch *b = sw_server_open_batch(s);
    if (b == NULL)
        return SW_ENOMEM;
    struct inflight f = {b->seq, line, line->pending_bucket, line->pending, line->pending_ms};
    int rc = inflight_push(sc, &f);
    if (rc == 0 && (rc = sw_store_batch_add_cost(b, line->swarm, line->tmpl, f.bucket, f.cost,
                                                 f.agent_ms)) != 0)
        sc->ninflight--;
    if (rc)
        return rc;
    line->pending = 0;
    line->pending_ms = 0;
    line->pending_bucket = -1;
    return 0;
}

static void flush_all(struct sw_server *s, int64_t now)
{
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&s->scaling->lines, &pos, NULL, &value))
        if (flush_line(s, value))
            return; /* the rest waits for the next flush */
    s->scaling->last_flush = now;
}

/* Adds the meter's run time up to `until` to its line, at the template's price now. */
static void accrue(struct sw_server *s, struct meter *m, const struct sw_agent *a, int64_t until)
{
    if (until <= m->since || m->line == NULL)
        return;
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    int64_t ms = until - m->since, bucket = bucket_of(until);
    double cost = (t ? t->cost_per_hour : 0) * (double)ms / 3600000.0;
    struct cost_line *line = m->line;
    if (line->pending_bucket >= 0 && line->pending_bucket != bucket)
        flush_line(s, line); /* one row per minute */
    if (line->pending_bucket < 0)
        line->pending_bucket = bucket;
    line->pending += cost;
    line->pending_ms += ms;
    line->total += cost;
    m->since = until;
}

/* Whether the agent runs now (its process lives, or an exec agent is up). */
static int agent_runs(const struct sw_agent *a)
{
    return sw_agent_running(a) || a->state == SW_AGENT_STARTING || a->state == SW_AGENT_STOPPING;
}

static void meter_end(struct sw_server *s, struct meter *m, const struct sw_agent *a)
{
    int64_t end = a->has_exit && a->exit_at >= m->started_at ? a->exit_at : m->since;
    accrue(s, m, a, end);
}

/* Brings the agent's meter up to now: opened at its start, closed at its exit. */
static void meter_update(struct sw_server *s, struct sw_agent *a, int64_t now)
{
    struct sw_scaling *sc = s->scaling;
    struct meter *m = sw_map_get(&sc->meters, a->id);
    int runs = agent_runs(a) && a->started_at > 0;
    if (m && (!runs || a->started_at != m->started_at)) {
        meter_end(s, m, a); /* stopped, or restarted since the last look */
        sw_free(sw_map_del(&sc->meters, a->id));
        m = NULL;
    }
    if (!runs)
        return;
    if (m == NULL) {
        if ((m = sw_calloc(1, sizeof *m)) == NULL)
            return;
        m->line = line_of(s, a);
        m->since = m->started_at = a->started_at;
        if (sw_map_put(&sc->meters, a->id, m)) {
            sw_free(m);
            return;
        }
    }
    m->seen = sc->generation;
    accrue(s, m, a, now);
}

void sw_scaling_agent_gone(struct sw_server *s, const struct sw_agent *a)
{
    struct sw_scaling *sc = s->scaling;
    struct meter *m = sc && !sc->stopped ? sw_map_del(&sc->meters, a->id) : NULL;
    if (m == NULL)
        return;
    if (agent_runs(a) && a->started_at == m->started_at)
        accrue(s, m, a, sw_server_now(s));
    else
        meter_end(s, m, a);
    sw_free(m);
}

/* One pass over the agents: meters up to now, the autoscaled swarms' counts. Meters
 * of agents no longer there are dropped. */
static void pass(struct sw_server *s, int64_t now)
{
    struct sw_scaling *sc = s->scaling;
    size_t pos = 0;
    void *value;
    uint64_t id;
    sc->generation++;
    while (sw_strmap_next(&sc->swarms, &pos, NULL, &value)) {
        struct swarm_scale *st = value;
        st->ready = 0;
        st->top_busy = -1;
    }
    for (pos = 0; sw_map_next(&s->sched.agents, &pos, NULL, &value);) {
        struct sw_agent *a = value;
        if (a->kind != SW_AGENT_MANAGED)
            continue;
        meter_update(s, a, now);
        struct swarm_scale *st = is_worker(a) ? sw_strmap_get(&sc->swarms, a->swarm) : NULL;
        if (st)
            count_worker(st, a);
    }
    for (pos = 0; sw_map_next(&sc->meters, &pos, &id, &value);) {
        struct meter *m = value;
        if (m->seen != sc->generation) {
            sw_free(sw_map_del(&sc->meters, id));
            pos = 0;
        }
    }
}

void sw_scaling_accrue(struct sw_server *s)
{
    if (s->scaling && !s->scaling->stopped)
        pass(s, sw_server_now(s));
}

/* Forgets the writes whose batch is committed: the store has them. */
static void prune_inflight(struct sw_server *s)
{
    struct sw_scaling *sc = s->scaling;
    size_t kept = 0;
    for (size_t i = 0; i < sc->ninflight; i++)
        if (sc->inflight[i].seq > s->committed_seq)
            sc->inflight[kept++] = sc->inflight[i];
    sc->ninflight = kept;
}

int sw_scaling_costs_unstored(struct sw_server *s, uint64_t seq, int64_t since_ms,
                              sw_cost_row_fn row, void *ctx)
{
    struct sw_scaling *sc = s->scaling;
    int64_t since = bucket_of(since_ms);
    int rc = 0;
    for (size_t i = 0; sc && rc == 0 && i < sc->ninflight; i++) {
        const struct inflight *f = &sc->inflight[i];
        if (f->seq > seq && f->bucket >= since)
            rc = row(ctx, f->line->swarm, f->line->tmpl, f->cost, f->agent_ms);
    }
    size_t pos = 0;
    void *value;
    while (sc && rc == 0 && sw_strmap_next(&sc->lines, &pos, NULL, &value)) {
        const struct cost_line *line = value;
        if (line->pending_bucket >= since)
            rc = row(ctx, line->swarm, line->tmpl, line->pending, line->pending_ms);
    }
    return rc;
}

/* ---- the timer ---- */

static void tick_cb(uv_timer_t *timer)
{
    struct sw_server *s = timer->data;
    struct sw_scaling *sc = s->scaling;
    int64_t now = sw_server_now(s);
    size_t pos = 0;
    const char *name;
    void *value;
    int autoscaled = 0;
    while (sw_strmap_next(&s->swarms, &pos, &name, &value)) {
        struct sw_swarm *sw = value;
        autoscaled |= sw->has_scale;
        if (can_scale(sw))
            swarm_state(sc, name, 1); /* so that the pass counts its agents */
    }
    pass(s, now);
    prune_inflight(s);
    for (pos = 0; sw_strmap_next(&s->swarms, &pos, &name, &value);) {
        struct sw_swarm *sw = value;
        struct swarm_scale *st;
        if (can_scale(sw))
            autoscale(s, sw, now);
        else if ((st = swarm_state(sc, name, 0)) != NULL)
            sw_autoscaler_pause(&st->as);
        if (sw->budget_max_cost_total >= 0)
            check_budget(s, sw, now);
    }
    if (now - sc->last_flush >= FLUSH_MS)
        flush_all(s, now);
    sc->fast = autoscaled;
    uv_timer_start(timer, tick_cb, autoscaled ? TICK_FAST_MS : TICK_SLOW_MS, 0);
}

/* ---- start-up and stop ---- */

static int load_cost_cb(void *ctx, const char *swarm, const char *tmpl, double cost,
                        int64_t agent_ms)
{
    struct sw_server *s = ctx;
    struct cost_line *line = cost_line(s->scaling, swarm, tmpl);
    if (line == NULL)
        return SW_ENOMEM;
    line->total += cost;
    return 0;
}

static int load_scaled_cb(void *ctx, const char *name, int64_t replicas)
{
    struct sw_server *s = ctx;
    struct sw_swarm *sw = sw_strmap_get(&s->swarms, name);
    if (sw == NULL || !sw->has_scale)
        return 0;
    sw->replicas = replicas < sw->scale_min   ? sw->scale_min
                   : replicas > sw->scale_max ? sw->scale_max
                                              : replicas;
    return 0;
}

int sw_scaling_start(struct sw_server *s)
{
    struct sw_scaling *sc = sw_calloc(1, sizeof *sc);
    uint64_t seq;
    if (sc == NULL)
        return SW_ENOMEM;
    sw_strmap_init(&sc->swarms);
    sw_strmap_init(&sc->lines);
    sw_map_init(&sc->meters);
    s->scaling = sc;
    sc->last_flush = sw_server_now(s);
    int rc = s->store->ops->cost_totals(s->store, 0, load_cost_cb, s, &seq);
    rc = rc ? rc : s->store->ops->swarm_scaled(s->store, load_scaled_cb, s);
    if (rc)
        return rc;
    uv_timer_init(s->loop, &sc->timer);
    sc->timer.data = s;
    sc->fast = 1;
    uv_timer_start(&sc->timer, tick_cb, TICK_FAST_MS, 0);
    return 0;
}

void sw_scaling_stop(struct sw_server *s)
{
    struct sw_scaling *sc = s->scaling;
    if (sc == NULL || sc->stopped)
        return;
    int64_t now = sw_server_now(s);
    pass(s, now);
    flush_all(s, now);
    sc->stopped = 1;
    if (sc->timer.loop)
        uv_close((uv_handle_t *)&sc->timer, NULL);
}

void sw_scaling_free(struct sw_server *s)
{
    struct sw_scaling *sc = s->scaling;
    size_t pos = 0;
    void *value;
    if (sc == NULL)
        return;
    while (sw_strmap_next(&sc->swarms, &pos, NULL, &value)) {
        struct swarm_scale *st = value;
        sw_free(st->name);
        sw_free(st);
    }
    for (pos = 0; sw_strmap_next(&sc->lines, &pos, NULL, &value);)
        sw_free(value);
    for (pos = 0; sw_map_next(&sc->meters, &pos, NULL, &value);)
        sw_free(value);
    sw_strmap_free(&sc->swarms);
    sw_strmap_free(&sc->lines);
    sw_map_free(&sc->meters);
    sw_free(sc->inflight);
    sw_free(sc);
    s->scaling = NULL;
}

/* ---- GET /v1/swarms/{name}/scaling ---- */

struct swarm_now {
    int64_t ready, top_busy;
    double per_hour; /* what its running agents cost per hour */
};

static struct swarm_now look_at(struct sw_server *s, const struct sw_swarm *sw)
{
    struct swarm_now n = {0, -1, 0};
    struct swarm_scale probe = {.top_busy = -1};
    size_t pos = 0;
    void *value;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->kind != SW_AGENT_MANAGED || a->swarm == NULL || strcmp(a->swarm, sw->name))
            continue;
        if (agent_runs(a)) {
            const struct sw_template *t = sw_fleet_agent_template(s, a);
            n.per_hour += t ? t->cost_per_hour : 0;
        }
        if (is_worker(a))
            count_worker(&probe, a);
    }
    n.ready = probe.ready;
    n.top_busy = probe.top_busy;
    return n;
}

static int append_cap(struct sw_buf *b, const char *key, double value, int is_int)
{
    if (value < 0)
        return sw_buf_appendf(b, "\"%s\":null", key);
    return is_int ? sw_buf_appendf(b, "\"%s\":%lld", key, (long long)value)
                  : sw_buf_appendf(b, "\"%s\":%.9g", key, value);
}

static int render_decisions(struct sw_buf *b, const struct swarm_scale *st)
{
    int rc = sw_buf_appendstr(b, ",\"decisions\":[");
    for (size_t i = 0; st && rc == 0 && i < st->as.count; i++) {
        const struct sw_scale_decision *d = sw_autoscaler_decision(&st->as, i);
        char at[40];
        sw_clock_format_rfc3339(d->at, at, sizeof at);
        rc = sw_buf_appendf(b,
                            "%s{\"at\":\"%s\",\"from\":%lld,\"to\":%lld,\"reason\":", i ? "," : "",
                            at, (long long)d->from, (long long)d->to);
        rc = rc ? rc : sw_json_append_string(b, d->reason);
        rc = rc ? rc : sw_buf_append(b, "}", 1);
    }
    return rc ? rc : sw_buf_appendstr(b, "]}");
}

void sw_api_swarm_scaling(struct sw_request *req)
{
    struct sw_server *s = req->server;
    struct sw_swarm *sw = sw_strmap_get(&s->swarms, req->params[0]);
    if (sw == NULL) {
        sw_reply_error(req, SW_ENOT_FOUND, NULL, "no swarm %s", req->params[0]);
        return;
    }
    struct sw_scale_policy p = policy_of(sw);
    struct sw_scale_budget budget = budget_of(s, sw);
    struct swarm_now n = look_at(s, sw);
    int64_t idle = sw->replicas > n.top_busy + 1 ? sw->replicas - (n.top_busy + 1) : 0;
    struct swarm_scale *st = s->scaling ? swarm_state(s->scaling, sw->name, 0) : NULL;
    struct sw_buf b;
    sw_buf_init(&b, 1 << 20);
    int rc = sw_buf_appendstr(&b, "{\"swarm\":");
    rc = rc ? rc : sw_json_append_string(&b, sw->name);
    rc = rc ? rc
            : sw_buf_appendf(&b,
                             ",\"autoscaled\":%s,\"min\":%lld,\"max\":%lld,\"current\":%lld,"
                             "\"desired\":%lld,\"target_queue_per_agent\":%.9g,"
                             "\"scale_up_after_ms\":%lld,\"scale_down_after_ms\":%lld,"
                             "\"queued\":%lld,\"ready\":%lld,\"idle\":%lld,\"cost\":{"
                             "\"per_hour\":%.9g,\"spent\":%.9g},\"budget\":{",
                             sw->has_scale ? "true" : "false", (long long)p.min, (long long)p.max,
                             (long long)n.ready, (long long)sw->replicas, sw->scale_target,
                             (long long)sw->scale_up_after_ms, (long long)sw->scale_down_after_ms,
                             (long long)queued_for(s, sw), (long long)n.ready, (long long)idle,
                             n.per_hour, s->scaling ? spent_by(s->scaling, sw->name) : 0.0);
    rc = rc ? rc : append_cap(&b, "max_agents", (double)budget.max_agents, 1);
    rc = rc ? rc : sw_buf_append(&b, ",", 1);
    rc = rc ? rc : append_cap(&b, "max_cost_per_hour", budget.max_cost_per_hour, 0);
    rc = rc ? rc : sw_buf_append(&b, ",", 1);
    rc = rc ? rc : append_cap(&b, "max_cost_total", sw->budget_max_cost_total, 0);
    rc = rc ? rc : sw_buf_append(&b, "}", 1);
    rc = rc ? rc : render_decisions(&b, st);
    if (rc) {
        sw_buf_free(&b);
        sw_reply_error(req, rc, NULL, NULL);
        return;
    }
    sw_reply(req, 200, &b);
}
