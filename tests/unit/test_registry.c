/* SPDX-License-Identifier: MIT
 * test_registry.c - unit tests of the capability registry (src/sched/registry.c) over a
 * real scheduler and real parsed swarms and templates: version matching, the window of
 * recent attempts with synthetic times (slots moving out of the window, quantiles,
 * the limit on names), statistics fed by the scheduler's own task events, the list and
 * per-name views (entries, totals counted once, swarms scaled to zero, queues), label
 * selectors, and the order discovery puts agents and swarms in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/swarm.h"
#include "model/template.h"
#include "sched/registry.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A wall-clock time at the start of a statistics slot. */
#define NOW ((1700000000000LL / SW_CAP_SLOT_MS) * SW_CAP_SLOT_MS)

static const struct sw_sched_config test_config = {
    .lease_ms = 30000,
    .heartbeat_ms = 5000,
    .lost_after = 3,
    .default_max_attempts = 2,
    .default_backoff = {1000, 60000, 2.0},
    .terminal_cache = 1000,
};

struct fixture {
    struct sw_sched s;
    struct sw_registry reg;
    struct sw_strmap swarms, templates;
    int64_t now; /* the time task events are recorded at */
};

/* The scheduler's task events feed the registry, as the server's hook does. */
static void hook_task_event(void *ctx, struct sw_task *t, enum sw_task_event ev)
{
    struct fixture *f = ctx;
    sw_registry_task_event(&f->reg, t, ev, f->now);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct sw_sched_hooks hooks = {f, NULL, NULL, hook_task_event, NULL};
    sw_sched_init(&f->s, &test_config, &hooks, 7);
    sw_registry_init(&f->reg);
    sw_strmap_init(&f->swarms);
    sw_strmap_init(&f->templates);
    f->now = NOW;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    size_t pos = 0;
    void *value;
    while (sw_strmap_next(&f->swarms, &pos, NULL, &value))
        sw_swarm_free(value);
    pos = 0;
    while (sw_strmap_next(&f->templates, &pos, NULL, &value))
        sw_template_free(value);
    sw_strmap_free(&f->swarms);
    sw_strmap_free(&f->templates);
    sw_registry_free(&f->reg);
    sw_sched_free(&f->s);
    free(f);
    return 0;
}

static struct sw_registry_view view(struct fixture *f)
{
    struct sw_registry_view v = {&f->s, &f->swarms, &f->templates};
    return v;
}

/* ---- building the live state ---- */

static struct sw_agent *add_agent(struct fixture *f, const char *name, int slots,
                                  const char *capabilities, const char *swarm, const char *labels)
{
    struct sw_agent *a = sw_agent_new();
    assert_non_null(a);
    a->name = sw_strdup(name);
    a->slots = slots;
    a->capabilities = sw_calloc(SW_AGENT_MAX_CAPS, sizeof *a->capabilities);
    for (const char *p = capabilities; *p;) {
        size_t n = strcspn(p, ",");
        a->capabilities[a->ncapabilities++] = sw_strndup(p, n);
        p += n + (p[n] == ',');
    }
    a->swarm = swarm ? sw_strdup(swarm) : NULL;
    a->labels = labels ? sw_strdup(labels) : NULL;
    assert_int_equal(sw_sched_register_agent(&f->s, a, NOW), 0);
    return a;
}

static void add_template(struct fixture *f, const char *name, const char *json)
{
    struct sw_field_error err;
    struct sw_template *t = NULL;
    json_t *spec = json_loads(json, 0, NULL);
    assert_non_null(spec);
    assert_int_equal(sw_template_parse(name, spec, "", &t, &err), 0);
    json_decref(spec);
    assert_int_equal(sw_strmap_put(&f->templates, t->name, t), 0);
}

static struct sw_swarm *add_swarm(struct fixture *f, const char *name, const char *json)
{
    struct sw_field_error err;
    struct sw_swarm *sw = NULL;
    json_t *spec = json_loads(json, 0, NULL);
    assert_non_null(spec);
    int rc = sw_swarm_parse(name, spec, &sw, &err);
    if (rc)
        fail_msg("swarm %s: %s: %s", name, err.field, err.message);
    json_decref(spec);
    assert_int_equal(sw_strmap_put(&f->swarms, sw->name, sw), 0);
    return sw;
}

static struct sw_task *submit(struct fixture *f, const char *capability)
{
    struct sw_task *t = sw_task_new();
    assert_non_null(t);
    assert_int_equal(sw_task_set_str(&t->capability, capability), 0);
    assert_int_equal(sw_task_set_str(&t->payload, "{}"), 0);
    t->max_attempts = test_config.default_max_attempts;
    t->backoff = test_config.default_backoff;
    assert_int_equal(sw_sched_submit(&f->s, t, f->now), 0);
    return t;
}

/* Leases n tasks to a (they must be there). */
static void lease(struct fixture *f, struct sw_agent *a, int n, struct sw_task **out)
{
    struct sw_task *got[16];
    int leased = -1;
    assert_int_equal(sw_sched_lease(&f->s, a, n, f->now, out ? out : got, &leased), 0);
    assert_int_equal(leased, n);
}

/* ---- names and versions ---- */

static void test_version_matching(void **state)
{
    int version = -1;
    assert_true(sw_capability_serves("resize@2", "resize@2", &version));
    assert_int_equal(version, 2);
    assert_false(sw_capability_serves("resize@1", "resize@2", &version));
    assert_false(sw_capability_serves("resize", "resize@2", &version));
    assert_false(sw_capability_serves("resize@2", "resize@1", &version));
    /* bare: any version */
    assert_true(sw_capability_serves("resize@7", "resize", &version));
    assert_int_equal(version, 7);
    assert_true(sw_capability_serves("resize", "resize", &version));
    assert_int_equal(version, 0);
    /* @0 is the unversioned capability spelled out */
    assert_true(sw_capability_serves("resize", "resize@0", &version));
    assert_true(sw_capability_serves("resize@0", "resize", &version));
    assert_int_equal(version, 0);
    /* the base must be the same, not a prefix */
    assert_false(sw_capability_serves("resizer", "resize", &version));
    assert_false(sw_capability_serves("resize", "resizer", &version));
    assert_false(sw_capability_serves("img/resize@2", "resize", &version));
    assert_true(sw_capability_serves("img/resize@2", "img/resize", &version));
    size_t base_len;
    sw_capability_split("img/resize@12", &base_len, &version);
    assert_int_equal(base_len, 10);
    assert_int_equal(version, 12);
}

/* ---- statistics ---- */

static struct sw_cap_window window_of(struct fixture *f, const char *name, int64_t now)
{
    struct sw_cap_window w;
    memset(&w, 0, sizeof w);
    sw_cap_window_add(&w, sw_registry_stats(&f->reg, name), now);
    return w;
}

static void assert_near(int64_t got, int64_t want, double tolerance)
{
    double diff = (double)(got > want ? got - want : want - got);
    if (diff > tolerance * (double)want + 1)
        fail_msg("got %lld, want %lld (within %.0f%%)", (long long)got, (long long)want,
                 tolerance * 100);
}

static void test_window_quantiles(void **state)
{
    struct fixture *f = *state;
    for (int ms = 1; ms <= 1000; ms++) /* 1..1000 ms, one each, spread over 30 s */
        assert_int_equal(sw_registry_record(&f->reg, "resize", 1, ms, NOW + ms * 29), 0);
    for (int i = 0; i < 250; i++)
        assert_int_equal(sw_registry_record(&f->reg, "resize", 0, 0, NOW + i), 0);
    struct sw_cap_window w = window_of(f, "resize", NOW + 29999);
    assert_int_equal(w.succeeded, 1000);
    assert_int_equal(w.failed, 250);
    assert_near(sw_cap_window_quantile(&w, 0.50), 500, 0.0625);
    assert_near(sw_cap_window_quantile(&w, 0.95), 950, 0.0625);
    assert_near(sw_cap_window_quantile(&w, 0.99), 990, 0.0625);
    assert_int_equal(sw_cap_window_quantile(&w, 0.001), 1); /* exact below 16 ms */
    /* a window with no success has no quantile */
    struct sw_cap_window none = window_of(f, "other", NOW);
    assert_int_equal(none.succeeded + none.failed, 0);
    assert_int_equal(sw_cap_window_quantile(&none, 0.5), -1);
    /* long runs land in the last bucket, short ones are exact */
    struct sw_cap_window edge;
    memset(&edge, 0, sizeof edge);
    assert_int_equal(sw_registry_record(&f->reg, "long", 1, (int64_t)1 << 40, NOW), 0);
    sw_cap_window_add(&edge, sw_registry_stats(&f->reg, "long"), NOW);
    assert_true(sw_cap_window_quantile(&edge, 0.5) >= (int64_t)1 << 31);
    assert_int_equal(sw_registry_record(&f->reg, "short", 1, 0, NOW), 0);
    assert_int_equal(window_of(f, "short", NOW).runs[0], 1);
}

static void test_window_moves(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(sw_registry_record(&f->reg, "a", 1, 10, NOW), 0);
    assert_int_equal(sw_registry_record(&f->reg, "a", 0, 0, NOW + SW_CAP_SLOT_MS), 0);
    assert_int_equal(sw_registry_record(&f->reg, "a", 1, 20, NOW + 4 * SW_CAP_SLOT_MS), 0);
    /* all three inside: the last slot of the window ends now */
    struct sw_cap_window w = window_of(f, "a", NOW + 4 * SW_CAP_SLOT_MS);
    assert_int_equal(w.succeeded, 2);
    assert_int_equal(w.failed, 1);
    /* the first slot is in the window for SW_CAP_SLOTS slots, then out */
    w = window_of(f, "a", NOW + (SW_CAP_SLOTS - 1) * SW_CAP_SLOT_MS + SW_CAP_SLOT_MS - 1);
    assert_int_equal(w.succeeded + w.failed, 3);
    w = window_of(f, "a", NOW + SW_CAP_WINDOW_MS);
    assert_int_equal(w.succeeded, 1);
    assert_int_equal(w.failed, 1);
    /* a slot reused for a later period starts again from zero */
    assert_int_equal(sw_registry_record(&f->reg, "a", 0, 0, NOW + SW_CAP_WINDOW_MS), 0);
    w = window_of(f, "a", NOW + SW_CAP_WINDOW_MS);
    assert_int_equal(w.succeeded, 1); /* the 20 ms run, not the 10 ms one */
    assert_int_equal(w.failed, 2);
    assert_near(sw_cap_window_quantile(&w, 0.5), 20, 0.0625);
    /* five minutes after the last attempt nothing is left; the totals are */
    w = window_of(f, "a", NOW + 2 * SW_CAP_WINDOW_MS);
    assert_int_equal(w.succeeded + w.failed, 0);
    const struct sw_cap_stats *st = sw_registry_stats(&f->reg, "a");
    assert_int_equal(st->succeeded_total, 2);
    assert_int_equal(st->failed_total, 2);
    assert_int_equal(st->last_at, NOW + SW_CAP_WINDOW_MS);
    /* a time before the slot's period does not count it either */
    w = window_of(f, "a", NOW - 1);
    assert_int_equal(w.succeeded + w.failed, 0);
}

static void test_name_limit(void **state)
{
    struct fixture *f = *state;
    char name[32];
    for (int i = 0; i < SW_REGISTRY_NAMES; i++) {
        snprintf(name, sizeof name, "cap%d", i);
        assert_int_equal(sw_registry_record(&f->reg, name, 1, 5, NOW + i), 0);
    }
    /* full, every window busy: a new name is refused, a known one still counts */
    assert_int_equal(sw_registry_record(&f->reg, "new", 1, 5, NOW + 5000), SW_ELIMIT);
    assert_int_equal(sw_registry_record(&f->reg, "cap3", 1, 5, NOW + 5000), 0);
    assert_null(sw_registry_stats(&f->reg, "new"));
    /* once windows are empty the name whose last attempt is oldest gives way */
    int64_t later = NOW + 2 * SW_CAP_WINDOW_MS;
    assert_int_equal(sw_registry_record(&f->reg, "new", 1, 5, later), 0);
    assert_non_null(sw_registry_stats(&f->reg, "new"));
    assert_null(sw_registry_stats(&f->reg, "cap0"));
    assert_non_null(sw_registry_stats(&f->reg, "cap3"));
    assert_int_equal(f->reg.stats.count, SW_REGISTRY_NAMES);
}

static void test_task_events_feed_statistics(void **state)
{
    struct fixture *f = *state;
    struct sw_agent *a = add_agent(f, "w", 4, "resize@2", NULL, NULL);
    struct sw_task *t[3];
    submit(f, "resize@2");
    submit(f, "resize@2");
    struct sw_task *third = submit(f, "resize@2");
    struct sw_task *never = submit(f, "resize@2");
    lease(f, a, 3, t);
    f->now = NOW + 40;
    assert_int_equal(sw_sched_complete(&f->s, t[0], a, t[0]->lease_id, "{}", f->now), 0);
    f->now = NOW + 120;
    assert_int_equal(sw_sched_complete(&f->s, t[1], a, t[1]->lease_id, "{}", f->now), 0);
    /* an attempt failed (retried), then the task fails for good */
    assert_ptr_equal(t[2], third);
    assert_int_equal(sw_sched_fail(&f->s, third, a, third->lease_id, NULL, 1, f->now), 0);
    assert_int_equal(third->state, SW_TASK_SCHEDULED);
    /* a task cancelled before it ran counts for nothing */
    assert_int_equal(sw_sched_cancel(&f->s, never, f->now), 0);
    struct sw_cap_window w = window_of(f, "resize@2", f->now);
    assert_int_equal(w.succeeded, 2);
    assert_int_equal(w.failed, 1);
    assert_near(sw_cap_window_quantile(&w, 0.5), 40, 0.0625);
    assert_near(sw_cap_window_quantile(&w, 0.95), 120, 0.0625);
    f->now = NOW + 2000;
    sw_sched_tick(&f->s, f->now); /* the retry comes due */
    lease(f, a, 1, t);
    assert_int_equal(sw_sched_fail(&f->s, t[0], a, t[0]->lease_id, NULL, 1, f->now), 0);
    assert_int_equal(t[0]->state, SW_TASK_FAILED); /* its last attempt: dead */
    w = window_of(f, "resize@2", f->now);
    assert_int_equal(w.failed, 2);
    assert_null(sw_registry_stats(&f->reg, "resize"));
}

/* ---- list and describe ---- */

static const struct sw_cap_entry *entry(const struct sw_cap_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->entries[i].name, name) == 0)
            return &l->entries[i];
    fail_msg("no entry %s", name);
    return NULL;
}

/* resize@1 (a1, 2 slots), resize@2 (a2 busy, a5 in swarm img), bare resize (a3),
 * other (a4); swarm img (template resize@2, scaled to zero) and swarm tools (template
 * "other" and "resize@1", stopped). */
static void state_for_views(struct fixture *f)
{
    add_template(f, "imgt",
                 "{\"command\":[\"true\"],\"capabilities\":[\"resize@2\"],\"labels\":{\"gpu\":"
                 "\"true\"}}");
    add_template(f, "toolt", "{\"command\":[\"true\"],\"capabilities\":[\"other\",\"resize@1\"]}");
    add_swarm(f, "img", "{\"template\":\"imgt\",\"replicas\":0,\"labels\":{\"zone\":\"a\"}}");
    struct sw_swarm *tools = add_swarm(f, "tools", "{\"template\":\"toolt\",\"replicas\":2}");
    tools->state = SW_SWARM_STOPPED;
    tools->stopped = 1;
    add_agent(f, "a1", 2, "resize@1", NULL, "{\"gpu\":\"false\"}");
    struct sw_agent *a2 = add_agent(f, "a2", 1, "resize@2,resize@1", NULL, NULL);
    add_agent(f, "a3", 1, "resize", NULL, NULL);
    add_agent(f, "a4", 1, "other", NULL, NULL);
    add_agent(f, "a5", 1, "resize@2", "img", NULL);
    submit(f, "resize@2");
    lease(f, a2, 1, NULL);
    submit(f, "resize@2");
    submit(f, "resize@2"); /* a5 could take them: they stay queued in this test */
    submit(f, "orphan");   /* nothing provides it: listed by its queue */
}

static void test_list(void **state)
{
    struct fixture *f = *state;
    struct sw_registry_view v = view(f);
    struct sw_cap_list l;
    state_for_views(f);
    assert_int_equal(sw_registry_record(&f->reg, "gone", 1, 5, NOW), 0);
    assert_int_equal(sw_registry_list(&f->reg, &v, NOW, &l), 0);
    /* by base name, then version */
    const char *order[] = {"gone", "orphan", "other", "resize", "resize@1", "resize@2"};
    assert_int_equal(l.n, 6);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(l.entries[i].name, order[i]);
    const struct sw_cap_entry *e = entry(&l, "resize@2");
    assert_int_equal(e->version, 2);
    assert_int_equal(e->agents.total, 2);
    assert_int_equal(e->agents.busy, 1);
    assert_int_equal(e->agents.ready, 1);
    assert_int_equal(e->nswarms, 1);
    assert_string_equal(e->swarms[0], "img"); /* scaled to zero, still a provider */
    assert_int_equal(e->queued, 2);
    assert_int_equal(e->running, 1);
    e = entry(&l, "resize@1");
    assert_int_equal(e->agents.total, 2); /* a1, a2 */
    assert_int_equal(e->nswarms, 1);
    assert_string_equal(e->swarms[0], "tools"); /* stopped, still a provider */
    e = entry(&l, "orphan");
    assert_int_equal(e->agents.total, 0);
    assert_int_equal(e->nswarms, 0);
    assert_int_equal(e->queued, 1);
    e = entry(&l, "gone");
    assert_int_equal(e->succeeded, 1);
    assert_int_equal(e->p50_ms, 5);
    assert_int_equal(entry(&l, "other")->p50_ms, -1);
    sw_cap_list_free(&l);
}

static void test_describe(void **state)
{
    struct fixture *f = *state;
    struct sw_registry_view v = view(f);
    struct sw_cap_list l;
    struct sw_cap_entry total;
    state_for_views(f);
    assert_int_equal(sw_registry_record(&f->reg, "resize@2", 1, 10, NOW), 0);
    assert_int_equal(sw_registry_record(&f->reg, "resize@1", 0, 0, NOW), 0);
    /* bare: every version, the highest first; each agent and swarm counted once */
    assert_int_equal(sw_registry_describe(&f->reg, &v, "resize", NOW, &total, &l), 0);
    assert_string_equal(total.name, "resize");
    assert_int_equal(l.n, 3);
    assert_string_equal(l.entries[0].name, "resize@2");
    assert_string_equal(l.entries[1].name, "resize@1");
    assert_string_equal(l.entries[2].name, "resize");
    assert_int_equal(total.agents.total, 4); /* a1, a2 (two versions), a3, a5 */
    assert_int_equal(total.agents.busy, 1);
    assert_int_equal(total.nswarms, 2);
    assert_string_equal(total.swarms[0], "img");
    assert_string_equal(total.swarms[1], "tools");
    assert_int_equal(total.queued, 2);
    assert_int_equal(total.running, 1);
    assert_int_equal(total.succeeded, 1);
    assert_int_equal(total.failed, 1);
    assert_int_equal(total.p50_ms, 10);
    sw_cap_entry_free(&total);
    sw_cap_list_free(&l);
    /* a version: only its providers */
    assert_int_equal(sw_registry_describe(&f->reg, &v, "resize@1", NOW, &total, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(total.agents.total, 2);
    assert_int_equal(total.nswarms, 1);
    assert_int_equal(total.queued, 0);
    assert_int_equal(total.failed, 1);
    sw_cap_entry_free(&total);
    sw_cap_list_free(&l);
    /* nothing provides it and nothing ran */
    assert_int_equal(sw_registry_describe(&f->reg, &v, "resize@3", NOW, &total, &l), SW_ENOT_FOUND);
    assert_int_equal(sw_registry_describe(&f->reg, &v, "nothing", NOW, &total, &l), SW_ENOT_FOUND);
}

static void test_agent_gone_leaves_views(void **state)
{
    struct fixture *f = *state;
    struct sw_registry_view v = view(f);
    struct sw_cap_list l;
    struct sw_cap_entry total;
    struct sw_agent *a = add_agent(f, "only", 1, "blur@3", NULL, NULL);
    assert_int_equal(sw_registry_describe(&f->reg, &v, "blur", NOW, &total, &l), 0);
    assert_int_equal(total.agents.ready, 1);
    sw_cap_entry_free(&total);
    sw_cap_list_free(&l);
    sw_sched_remove_agent(&f->s, a, NOW);
    assert_int_equal(sw_registry_describe(&f->reg, &v, "blur", NOW, &total, &l), SW_ENOT_FOUND);
    assert_int_equal(sw_registry_list(&f->reg, &v, NOW, &l), 0);
    assert_int_equal(l.n, 0);
    sw_cap_list_free(&l);
}

/* ---- selectors ---- */

static void test_selector(void **state)
{
    struct sw_selector sel;
    struct sw_field_error err;
    assert_int_equal(sw_selector_parse(NULL, "labels", &sel, &err), 0);
    assert_int_equal(sel.n, 0);
    assert_true(sw_selector_matches(&sel, NULL, NULL));
    assert_int_equal(sw_selector_parse("gpu=true,zone=", "labels", &sel, &err), 0);
    assert_int_equal(sel.n, 2);
    assert_string_equal(sel.keys[1], "zone");
    assert_string_equal(sel.values[1], "");
    assert_true(sw_selector_matches(&sel, "{\"gpu\":\"true\",\"zone\":\"\"}", NULL));
    assert_true(sw_selector_matches(&sel, "{\"gpu\":\"true\"}", "{\"zone\":\"\",\"gpu\":\"x\"}"));
    assert_false(sw_selector_matches(&sel, "{\"gpu\":\"false\"}", "{\"gpu\":\"true\"}"));
    assert_false(sw_selector_matches(&sel, "{\"gpu\":\"true\"}", NULL));
    assert_false(sw_selector_matches(&sel, NULL, NULL));
    sw_selector_free(&sel);
    const char *bad[] = {"gpu", "=true", "a=1,,b=2", "a=1,b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sw_selector_parse(bad[i], "labels", &sel, &err), SW_EBAD_QUERY);
        assert_string_equal(err.field, "labels");
        assert_int_equal(sel.n, 0);
    }
    char many[1024] = "";
    for (int i = 0; i <= SW_SELECTOR_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sk%d=v", i ? "," : "", i);
    assert_int_equal(sw_selector_parse(many, "labels", &sel, &err), SW_EBAD_QUERY);
}

/* ---- discovery ---- */

static void assert_agents(const struct sw_discovery *d, const char *const *names, size_t n)
{
    for (size_t i = 0; i < d->nagents && i < n; i++)
        if (strcmp(d->agents[i].agent->name, names[i]) != 0)
            fail_msg("agent %zu is %s, want %s", i, d->agents[i].agent->name, names[i]);
    assert_int_equal(d->nagents, n);
}

static void test_discover_agent_order(void **state)
{
    struct fixture *f = *state;
    struct sw_registry_view v = view(f);
    struct sw_discovery d;
    struct sw_agent *busy2 = add_agent(f, "busy2", 1, "resize@2", NULL, NULL);
    add_agent(f, "ready1-4", 4, "resize@1", NULL, NULL);
    add_agent(f, "ready2-1", 1, "resize@2", NULL, NULL);
    struct sw_agent *half = add_agent(f, "ready2-3", 3, "resize@2", NULL, NULL);
    add_agent(f, "ready2-2", 2, "resize@2,resize", NULL, NULL);
    struct sw_agent *down = add_agent(f, "down2", 8, "resize@2", NULL, NULL);
    add_agent(f, "bare", 8, "resize", NULL, NULL);
    add_agent(f, "unrelated", 8, "crop@2", NULL, NULL);
    submit(f, "resize@2");
    lease(f, busy2, 1, NULL);
    submit(f, "resize@2");
    submit(f, "resize@2");
    lease(f, half, 2, NULL); /* 1 of 3 slots free */
    sw_sched_agent_down(&f->s, down, SW_AGENT_STOPPED, NULL, NOW);
    /* bare: ready first, then the highest version, then most free slots; busy; others */
    assert_int_equal(sw_registry_discover(&v, "resize", NULL, NULL, &d), 0);
    const char *bare_order[] = {"ready2-2", "ready2-1", "ready2-3", "ready1-4",
                                "bare",     "busy2",    "down2"};
    assert_agents(&d, bare_order, 7);
    assert_string_equal(d.agents[0].capability, "resize@2"); /* its highest version */
    assert_int_equal(d.agents[0].free_slots, 2);
    assert_int_equal(d.agents[2].free_slots, 1);
    assert_int_equal(d.agents[6].free_slots, 0);
    sw_discovery_free(&d);
    /* a version: its providers only */
    assert_int_equal(sw_registry_discover(&v, "resize@2", NULL, NULL, &d), 0);
    const char *v2_order[] = {"ready2-2", "ready2-1", "ready2-3", "busy2", "down2"};
    assert_agents(&d, v2_order, 5);
    sw_discovery_free(&d);
    /* an unversioned request spelled @0: only the unversioned providers */
    assert_int_equal(sw_registry_discover(&v, "resize@0", NULL, NULL, &d), 0);
    const char *v0_order[] = {"bare", "ready2-2"};
    assert_agents(&d, v0_order, 2);
    sw_discovery_free(&d);
    assert_int_equal(sw_registry_discover(&v, "resize@9", NULL, NULL, &d), 0);
    assert_int_equal(d.nagents + d.nswarms, 0);
    sw_discovery_free(&d);
}

static void test_discover_breaker_open_last(void **state)
{
    struct fixture *f = *state;
    struct sw_registry_view v = view(f);
    struct sw_discovery d;
    struct sw_agent *tripped = add_agent(f, "tripped", 8, "ocr", NULL, NULL);
    add_agent(f, "fine", 1, "ocr", NULL, NULL);
    tripped->breaker.state = SW_BREAKER_OPEN;
    assert_int_equal(sw_registry_discover(&v, "ocr", NULL, NULL, &d), 0);
    const char *order[] = {"fine", "tripped"}; /* still a provider, picked last */
    assert_agents(&d, order, 2);
    sw_discovery_free(&d);
}

static void test_discover_swarms_and_labels(void **state)
{
    struct fixture *f = *state;
    struct sw_registry_view v = view(f);
    struct sw_discovery d;
    struct sw_selector sel;
    struct sw_field_error err;
    add_template(f, "v1", "{\"command\":[\"true\"],\"capabilities\":[\"resize@1\"]}");
    add_template(f, "v2",
                 "{\"command\":[\"true\"],\"capabilities\":[\"resize@2\"],\"labels\":{\"gpu\":"
                 "\"true\"}}");
    add_swarm(f, "east", "{\"template\":\"v2\",\"replicas\":2,\"labels\":{\"zone\":\"east\"}}");
    add_swarm(f, "west", "{\"template\":\"v1\",\"replicas\":2,\"labels\":{\"zone\":\"west\"}}");
    add_swarm(f, "zero", "{\"template\":\"v2\",\"replicas\":0}");
    add_swarm(f, "remote", "{\"template\":\"v1\",\"replicas\":0}");
    add_swarm(f, "idle", "{\"template\":{\"command\":[\"true\"],\"capabilities\":[\"x\"]}}");
    struct sw_agent *e0 = add_agent(f, "east-0", 1, "resize@2", "east", "{\"gpu\":\"true\"}");
    add_agent(f, "east-1", 1, "resize@2", "east", "{\"gpu\":\"true\"}");
    add_agent(f, "west-0", 1, "resize@1", "west", NULL);
    add_agent(f, "west-1", 1, "resize@1", "west", NULL);
    add_agent(f, "r", 1, "resize@3", "idle", NULL); /* a member provides what its template lacks */
    add_agent(f, "loose", 1, "resize@1", "nowhere", NULL);
    submit(f, "resize@2");
    lease(f, e0, 1, NULL);

    /* from no swarm: fewest busy first, then the highest version, then name */
    assert_int_equal(sw_registry_discover(&v, "resize", NULL, NULL, &d), 0);
    assert_int_equal(d.nswarms, 5);
    const char *swarms[] = {"idle", "zero", "remote", "west", "east"};
    for (size_t i = 0; i < d.nswarms; i++)
        assert_string_equal(d.swarms[i].swarm->name, swarms[i]);
    assert_int_equal(d.swarms[0].version, 3);
    assert_string_equal(d.swarms[0].capability, "resize@3");
    assert_int_equal(d.swarms[4].agents.busy, 1);
    assert_int_equal(d.swarms[4].agents.total, 2);
    assert_int_equal(d.swarms[1].agents.total, 0); /* scaled to zero */
    sw_discovery_free(&d);

    /* from east: its swarm and agents first */
    assert_int_equal(sw_registry_discover(&v, "resize", NULL, "east", &d), 0);
    assert_string_equal(d.swarms[0].swarm->name, "east");
    assert_int_equal(d.swarms[0].distance, 0);
    assert_int_equal(d.swarms[1].distance, 1);              /* another root: [east, it] */
    assert_string_equal(d.agents[0].agent->name, "east-1"); /* ready, in east */
    assert_string_equal(d.agents[1].agent->name, "east-0"); /* busy, in east */
    assert_string_equal(d.agents[2].agent->name, "r");      /* ready, @3, elsewhere */
    sw_discovery_free(&d);

    /* labels: a swarm by its labels then its template's; an agent by its own then its
     * swarm's */
    assert_int_equal(sw_selector_parse("zone=east", "labels", &sel, &err), 0);
    assert_int_equal(sw_registry_discover(&v, "resize", &sel, NULL, &d), 0);
    assert_int_equal(d.nswarms, 1);
    assert_string_equal(d.swarms[0].swarm->name, "east");
    assert_int_equal(d.nagents, 2);
    sw_discovery_free(&d);
    sw_selector_free(&sel);
    assert_int_equal(sw_selector_parse("gpu=true", "labels", &sel, &err), 0);
    assert_int_equal(sw_registry_discover(&v, "resize", &sel, NULL, &d), 0);
    assert_int_equal(d.nswarms, 2); /* zero, east: from the template v2 */
    assert_string_equal(d.swarms[0].swarm->name, "zero");
    assert_string_equal(d.swarms[1].swarm->name, "east");
    const char *gpu_agents[] = {"east-1", "east-0"};
    assert_agents(&d, gpu_agents, 2);
    sw_discovery_free(&d);
    sw_selector_free(&sel);

    assert_true(sw_registry_swarm_known(&v, "east"));
    assert_true(sw_registry_swarm_known(&v, "nowhere")); /* named by an agent */
    assert_false(sw_registry_swarm_known(&v, "atlantis"));
    assert_int_equal(sw_registry_distance(&v, NULL, "east"), 0);
    assert_int_equal(sw_registry_distance(&v, "east", NULL), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    sw_alloc_install_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_matching),
        T(test_window_quantiles),
        T(test_window_moves),
        T(test_name_limit),
        T(test_task_events_feed_statistics),
        T(test_list),
        T(test_describe),
        T(test_agent_gone_leaves_views),
        cmocka_unit_test(test_selector),
        T(test_discover_agent_order),
        T(test_discover_breaker_open_last),
        T(test_discover_swarms_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
