/* SPDX-License-Identifier: MIT
 * fleet.c - templates, swarms and the managed agents behind them. The desired state
 * (templates, swarms, standalone managed agents) is validated, compared with what is
 * stored (created / updated / unchanged), queued in the commit batch, and reconciled:
 * a swarm gets `replicas` agents named <swarm>-<n>, each started as a process unless
 * stopped. The supervision decisions come from src/sched/supervisor.c; this file
 * carries them out. Tasks reach managed agents through the scheduler's lease waiters,
 * exactly as a remote agent's long poll: see runner.c for the processes themselves. */
#include "fleet.h"
#include "sched/registry.h"
#include "emit.h"
#include "runner.h"
#include "scaling.h"
#include "server.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "model/swarm.h"
#include "sched/supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sw_apply_action_names[3] = {"created", "updated", "unchanged"};

int sw_fleet_init(struct sw_server *s)
{
    sw_strmap_init(&s->templates);
    sw_strmap_init(&s->swarms);
    return 0;
}

static void each_managed(struct sw_server *s, const char *swarm,
                         void (*fn)(struct sw_server *, struct sw_agent *, void *), void *arg)
{
    size_t pos = 0;
    void *value;
    /* collect first: fn may remove agents */
    size_t n = 0, cap = s->sched.agents.count + 1;
    struct sw_agent **list = sw_calloc(cap, sizeof *list);
    if (list == NULL)
        return;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->kind != SW_AGENT_MANAGED)
            continue;
        if (swarm && (a->swarm == NULL || strcmp(a->swarm, swarm) != 0))
            continue;
        list[n++] = a;
    }
    for (size_t i = 0; i < n; i++)
        fn(s, list[i], arg);
    sw_free(list);
}

void sw_fleet_free(struct sw_server *s)
{
    size_t pos = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&s->templates, &pos, &key, &value))
        sw_template_free(value);
    pos = 0;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value))
        sw_swarm_free(value);
    sw_strmap_free(&s->templates);
    sw_strmap_free(&s->swarms);
}

/* ---- templates ---- */

/* The template an agent runs: its swarm's inline one, or the named one. Borrowed. */
const struct sw_template *sw_fleet_agent_template(struct sw_server *s, const struct sw_agent *a)
{
    if (a->template_name && !a->queen) /* created with an explicit template */
        return sw_strmap_get(&s->templates, a->template_name);
    struct sw_swarm *sw = a->swarm ? sw_strmap_get(&s->swarms, a->swarm) : NULL;
    if (sw && a->queen)
        return sw->queen_template ? sw->queen_template
               : sw->queen        ? sw_strmap_get(&s->templates, sw->queen)
                                  : NULL;
    if (sw && sw->inline_template)
        return sw->inline_template;
    const char *name = sw && sw->template_name ? sw->template_name : a->template_name;
    return name ? sw_strmap_get(&s->templates, name) : NULL;
}

static int template_in_use(struct sw_server *s, const char *name, char *user, size_t size)
{
    size_t pos = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value)) {
        struct sw_swarm *sw = value;
        if ((sw->template_name && strcmp(sw->template_name, name) == 0) ||
            (sw->queen && strcmp(sw->queen, name) == 0)) {
            snprintf(user, size, "swarm %s", key);
            return 1;
        }
    }
    pos = 0;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->kind == SW_AGENT_MANAGED && a->swarm == NULL && a->template_name &&
            strcmp(a->template_name, name) == 0) {
            snprintf(user, size, "agent %s", a->name);
            return 1;
        }
    }
    return 0;
}

static void mark_outdated(struct sw_server *s, struct sw_agent *a, void *arg)
{
    const char *name = arg;
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    if (t && t->name && strcmp(t->name, name) == 0)
        sw_runner_roll(s, a);
}

int sw_fleet_load_template(struct sw_server *s, const char *name, const char *spec)
{
    struct sw_field_error err;
    json_t *body = json_loads(spec, 0, NULL);
    struct sw_template *t = NULL;
    int rc = body ? sw_template_parse(name, body, "", &t, &err) : SW_ESTORE;
    json_decref(body);
    if (rc == 0 && (rc = sw_strmap_put(&s->templates, t->name, t)))
        sw_template_free(t);
    if (rc)
        sw_log_error("fleet", "msg=\"stored template does not load\" template=%s error=%s", name,
                     sw_strerror_code(rc));
    return 0; /* a bad stored spec must not stop the daemon */
}

int sw_fleet_apply_template(struct sw_server *s, const char *name, json_t *spec, int dry_run,
                            enum sw_apply_action *action, struct sw_field_error *err)
{
    struct sw_template *t = NULL, *old = sw_strmap_get(&s->templates, name);
    if (!sw_name_valid(name))
        return sw_field_fail(err, SW_EBAD_FIELD, "name",
                             "template name \"%s\" is not valid: use [a-z0-9][a-z0-9._-]{0,62}",
                             name);
    int rc = sw_template_parse(name, spec, "", &t, err);
    if (rc)
        return rc;
    *action = old == NULL                       ? SW_APPLY_CREATED
              : strcmp(old->spec, t->spec) == 0 ? SW_APPLY_UNCHANGED
                                                : SW_APPLY_UPDATED;
    if (dry_run || *action == SW_APPLY_UNCHANGED) {
        sw_template_free(t);
        return 0;
    }
    rc = sw_server_spec_changed(s, 0, name, t->spec, 0);
    if (rc == 0)
        rc = sw_strmap_put(&s->templates, t->name, t);
    if (rc) {
        sw_template_free(t);
        return rc;
    }
    sw_template_free(old);
    if (*action == SW_APPLY_UPDATED)
        each_managed(s, NULL, mark_outdated, (void *)t->name);
    sw_log_info("fleet", "msg=\"template %s\" template=%s", sw_apply_action_names[*action], name);
    return 0;
}

int sw_fleet_delete_template(struct sw_server *s, const char *name, struct sw_field_error *err)
{
    struct sw_template *t = sw_strmap_get(&s->templates, name);
    char user[160];
    if (t == NULL)
        return SW_ENOT_FOUND;
    if (template_in_use(s, name, user, sizeof user))
        return sw_field_fail(err, SW_EIN_USE, NULL, "template %s is used by %s", name, user);
    int rc = sw_server_spec_changed(s, 0, name, NULL, 0);
    if (rc)
        return rc;
    sw_strmap_del(&s->templates, name);
    sw_template_free(t);
    return 0;
}

/* ---- swarms ---- */

static void agent_name(const char *swarm, int index, char *out, size_t size)
{
    snprintf(out, size, "%s-%d", swarm, index);
}

static int create_managed(struct sw_server *s, const char *name, const char *template_name,
                          struct sw_swarm *sw, int replica, struct sw_agent **out)
{
    struct sw_agent *a = sw_agent_new();
    if (a == NULL)
        return SW_ENOMEM;
    a->kind = SW_AGENT_MANAGED;
    a->replica = replica;
    a->slots = 1;
    int rc = (a->name = sw_strdup(name)) ? 0 : SW_ENOMEM;
    if (rc == 0 && sw && (a->swarm = sw_strdup(sw->name)) == NULL)
        rc = SW_ENOMEM;
    if (rc == 0 && template_name && (a->template_name = sw_strdup(template_name)) == NULL)
        rc = SW_ENOMEM;
    if (rc == 0)
        rc = sw_runner_describe(s, a); /* capabilities, slots, labels from the template */
    if (rc) {
        sw_agent_free(a);
        return rc;
    }
    rc = sw_sched_register_agent(&s->sched, a, sw_server_now(s));
    if (rc)
        return rc;
    a->state = SW_AGENT_STOPPED;
    *out = a;
    return 0;
}

struct reconcile {
    struct sw_swarm *sw;
    int64_t keep;
    int destroy; /* the swarm goes: every agent in it goes */
};

static void drop_extra(struct sw_server *s, struct sw_agent *a, void *arg)
{
    struct reconcile *r = arg;
    int has_queen = r->sw && (r->sw->queen || r->sw->queen_template) && r->keep > 0;
    int standalone = a->template_name != NULL && !a->queen; /* created into the swarm */
    if (a->queen ? !has_queen : standalone ? r->destroy : (a->replica >= r->keep || a->replica < 0))
        sw_sched_remove_agent(&s->sched, a, sw_server_now(s));
}

/* A swarm with a queen template runs one queen agent, <swarm>-queen, besides its
 * workers: a planner that submits tasks to its swarm (role queen). */
static void reconcile_queen(struct sw_server *s, struct sw_swarm *sw)
{
    char name[96];
    if ((sw->queen == NULL && sw->queen_template == NULL) || sw->replicas == 0)
        return;
    snprintf(name, sizeof name, "%s-queen", sw->name);
    struct sw_agent *a = sw_sched_agent_by_name(&s->sched, name);
    if (a == NULL && create_managed(s, name, NULL, sw, -1, &a) == 0) {
        a->queen = 1;
        sw_runner_describe(s, a);
    }
}

static void start_member(struct sw_server *s, struct sw_agent *a, void *arg)
{
    struct sw_swarm *sw = arg;
    if (sw->state == SW_SWARM_RUNNING && !sw->stopped && !a->stopped && !sw_agent_running(a) &&
        a->state != SW_AGENT_STARTING && a->state != SW_AGENT_BACKOFF &&
        a->state != SW_AGENT_STOPPING && !sw_runner_resting(a))
        sw_runner_start_supervised(s, a);
}

static void stop_member(struct sw_server *s, struct sw_agent *a, void *arg)
{
    sw_runner_stop(s, a, 0);
}

static void count_zero_swarms(struct sw_server *s);

/* Brings the swarm's agents to its replicas, then starts the ones that should run. */
static void reconcile(struct sw_server *s, struct sw_swarm *sw)
{
    struct reconcile r = {sw, sw->replicas, 0};
    each_managed(s, sw->name, drop_extra, &r);
    for (int i = 0; i < sw->replicas; i++) {
        char name[96];
        agent_name(sw->name, i, name, sizeof name);
        struct sw_agent *a = sw_sched_agent_by_name(&s->sched, name);
        if (a && (a->kind != SW_AGENT_MANAGED || a->swarm == NULL || strcmp(a->swarm, sw->name))) {
            sw_log_warn("fleet", "msg=\"agent name taken by another agent\" agent=%s", name);
            continue;
        }
        if (a == NULL && create_managed(s, name, NULL, sw, i, &a))
            continue;
        a->replica = i;
    }
    reconcile_queen(s, sw);
    if (sw->stopped || sw->state != SW_SWARM_RUNNING)
        each_managed(s, sw->name, stop_member, NULL);
    else
        each_managed(s, sw->name, start_member, sw);
    count_zero_swarms(s);
}

int sw_fleet_load_swarm(struct sw_server *s, const char *name, const char *spec, int stopped)
{
    struct sw_field_error err;
    json_t *body = json_loads(spec, 0, NULL);
    struct sw_swarm *sw = NULL;
    int rc = body ? sw_swarm_parse(name, body, &sw, &err) : SW_ESTORE;
    json_decref(body);
    if (rc == 0) {
        /* the stored flag: 0 running, 1 stopped by request, 2 failed (until started) */
        sw->stopped = stopped == 1;
        sw->state = stopped == 1   ? SW_SWARM_STOPPED
                    : stopped == 2 ? SW_SWARM_FAILED
                                   : SW_SWARM_RUNNING;
        if (stopped == 2)
            snprintf(sw->failure, sizeof sw->failure,
                     "failed before the daemon restarted: start it to run it again");
        sw->persisted = 1;
        if ((rc = sw_strmap_put(&s->swarms, sw->name, sw)))
            sw_swarm_free(sw);
    }
    if (rc)
        sw_log_error("fleet", "msg=\"stored swarm does not load\" swarm=%s error=%s", name,
                     sw_strerror_code(rc));
    return 0;
}

/* What the swarms table keeps of the state: 1 stopped by request, 2 failed, 0 running. */
static int stored_flag(const struct sw_swarm *sw)
{
    return sw->stopped ? 1 : sw->state == SW_SWARM_FAILED ? 2 : 0;
}

static int check_swarm_refs(struct sw_server *s, struct sw_swarm *sw, struct sw_field_error *err)
{
    if (sw->template_name && sw_strmap_get(&s->templates, sw->template_name) == NULL)
        return sw_field_fail(err, SW_EBAD_FIELD, "template",
                             "template \"%s\" does not exist: apply it first (or inline it)",
                             sw->template_name);
    if (sw->queen && sw_strmap_get(&s->templates, sw->queen) == NULL)
        return sw_field_fail(err, SW_EBAD_FIELD, "queen",
                             "template \"%s\" does not exist: apply it first (or inline it)",
                             sw->queen);
    for (const char *p = sw->parent; p;) {
        struct sw_swarm *up = sw_strmap_get(&s->swarms, p);
        if (up == NULL)
            return sw_field_fail(err, SW_EBAD_FIELD, "parent",
                                 "parent swarm \"%s\" does not exist: apply it first", p);
        if (strcmp(up->name, sw->name) == 0)
            return sw_field_fail(err, SW_EBAD_FIELD, "parent",
                                 "parent \"%s\" would make a cycle in the swarm tree", sw->parent);
        p = up->parent;
    }
    return 0;
}

int sw_fleet_apply_swarm(struct sw_server *s, const char *name, json_t *spec, int dry_run,
                         enum sw_apply_action *action, struct sw_field_error *err)
{
    struct sw_swarm *sw = NULL, *old = sw_strmap_get(&s->swarms, name);
    if (!sw_name_valid(name))
        return sw_field_fail(err, SW_EBAD_FIELD, "name",
                             "swarm name \"%s\" is not valid: use [a-z0-9][a-z0-9._-]{0,62}", name);
    int rc = sw_swarm_parse(name, spec, &sw, err);
    /* a dry run of a whole file checks a swarm before its templates exist */
    rc = rc || dry_run ? rc : check_swarm_refs(s, sw, err);
    if (rc) {
        sw_swarm_free(sw);
        return rc;
    }
    *action = old == NULL                        ? SW_APPLY_CREATED
              : strcmp(old->spec, sw->spec) == 0 ? SW_APPLY_UNCHANGED
                                                 : SW_APPLY_UPDATED;
    if (dry_run || *action == SW_APPLY_UNCHANGED) {
        sw_swarm_free(sw);
        return 0;
    }
    if (old)
        sw_swarm_take_state(sw, old);
    rc = sw_server_spec_changed(s, 1, name, sw->spec, stored_flag(sw));
    if (rc == 0)
        rc = sw_strmap_put(&s->swarms, sw->name, sw);
    if (rc) {
        sw_swarm_free(sw);
        return rc;
    }
    int template_changed = old && strcmp(old->template_name ? old->template_name : "",
                                         sw->template_name ? sw->template_name : "");
    template_changed |= old && (old->inline_template == NULL) != (sw->inline_template == NULL);
    template_changed |= old && old->inline_template && sw->inline_template &&
                        strcmp(old->inline_template->spec, sw->inline_template->spec);
    sw_swarm_free(old);
    sw_log_info("fleet", "msg=\"swarm %s\" swarm=%s replicas=%lld", sw_apply_action_names[*action],
                name, (long long)sw->replicas);
    char data[96];
    snprintf(data, sizeof data, "{\"action\":\"%s\",\"replicas\":%lld}",
             sw_apply_action_names[*action], (long long)sw->replicas);
    sw_emit_swarm(s, name, "applied", data);
    reconcile(s, sw);
    if (template_changed)
        each_managed(s, sw->name, sw_runner_roll_cb, NULL);
    sw_scaling_swarm_applied(s, sw);
    return 0;
}

int sw_fleet_delete_swarm(struct sw_server *s, const char *name, struct sw_field_error *err)
{
    struct sw_swarm *sw = sw_strmap_get(&s->swarms, name);
    if (sw == NULL)
        return SW_ENOT_FOUND;
    size_t pos = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value)) {
        struct sw_swarm *child = value;
        if (child->parent && strcmp(child->parent, name) == 0)
            return sw_field_fail(err, SW_EIN_USE, NULL,
                                 "swarm %s has a child swarm %s: destroy it first", name, key);
    }
    int rc = sw_server_spec_changed(s, 1, name, NULL, 0);
    if (rc)
        return rc;
    struct reconcile r = {sw, 0, 1};
    each_managed(s, name, drop_extra, &r);
    sw_strmap_del(&s->swarms, name);
    sw_swarm_free(sw);
    sw_log_info("fleet", "msg=\"swarm destroyed\" swarm=%s", name);
    sw_emit_swarm(s, name, "destroyed", NULL);
    sw_scaling_swarm_removed(s, name);
    return 0;
}

int sw_fleet_scale(struct sw_server *s, const char *name, int64_t replicas)
{
    struct sw_swarm *sw = sw_strmap_get(&s->swarms, name);
    if (sw == NULL)
        return SW_ENOT_FOUND;
    json_t *spec = json_loads(sw->spec, 0, NULL);
    if (spec == NULL)
        return SW_ENOMEM;
    json_object_del(spec, "scale");
    json_object_set_new(spec, "replicas", json_integer(replicas));
    char *text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(spec);
    if (text == NULL)
        return SW_ENOMEM;
    int rc = sw_server_spec_changed(s, 1, name, text, stored_flag(sw));
    if (rc == 0) {
        sw_free(sw->spec);
        sw->spec = text;
        int64_t from = sw->replicas;
        sw->replicas = replicas;
        sw->has_scale = 0;
        sw_scaling_swarm_scaled(s, sw, from); /* recorded, told as swarmd.swarm.scaled */
        reconcile(s, sw);
    } else {
        sw_free(text);
    }
    return rc;
}

void sw_fleet_set_replicas(struct sw_server *s, struct sw_swarm *sw, int64_t replicas)
{
    sw->replicas = replicas;
    reconcile(s, sw);
}

int sw_fleet_swarm_halt(struct sw_server *s, struct sw_swarm *sw, const char *reason)
{
    int rc = sw_server_spec_changed(s, 1, sw->name, sw->spec, 1);
    if (rc)
        return rc;
    sw->stopped = 1;
    sw->state = SW_SWARM_STOPPED;
    snprintf(sw->failure, sizeof sw->failure, "%s", reason);
    sw_log_warn("fleet", "msg=\"swarm stopped\" swarm=%s reason=\"%s\"", sw->name, reason);
    struct sw_buf data;
    sw_buf_init(&data, 4096);
    if (sw_buf_appendstr(&data, "{\"reason\":") == 0 && sw_json_append_string(&data, reason) == 0 &&
        sw_buf_append(&data, "}", 1) == 0)
        sw_emit_swarm(s, sw->name, "stopped", data.data);
    sw_buf_free(&data);
    reconcile(s, sw);
    return 0;
}

int sw_fleet_swarm_stop(struct sw_server *s, const char *name, int stop)
{
    struct sw_swarm *sw = sw_strmap_get(&s->swarms, name);
    if (sw == NULL)
        return SW_ENOT_FOUND;
    int rc = sw_server_spec_changed(s, 1, name, sw->spec, stop);
    if (rc)
        return rc;
    sw->stopped = stop;
    sw->state = stop ? SW_SWARM_STOPPED : SW_SWARM_RUNNING;
    sw_emit_swarm(s, name, stop ? "stopped" : "started", NULL);
    if (!stop) {
        sw_swarm_reset_restarts(sw);
        sw->failure[0] = '\0';
    }
    reconcile(s, sw);
    return 0;
}

/* ---- failure escalation ---- */

static void restart_member(struct sw_server *s, struct sw_agent *a, void *arg)
{
    sw_runner_restart(s, a, 0);
}

static void swarm_fail(struct sw_server *s, struct sw_swarm *sw, const char *why);

/* The child swarm failed: its parent's strategy decides, counting in its intensity. */
static void escalate(struct sw_server *s, struct sw_swarm *child)
{
    struct sw_swarm *parent = child->parent ? sw_strmap_get(&s->swarms, child->parent) : NULL;
    if (parent == NULL) {
        sw_log_error("fleet", "msg=\"root swarm failed\" swarm=%s reason=\"%s\"", child->name,
                     child->failure);
        return;
    }
    enum sw_sup_action act = sw_supervisor_on_child_failed(parent, sw_server_now(s));
    if (act == SW_SUP_STAY_DOWN)
        return;
    if (act == SW_SUP_SWARM_FAILED) {
        char why[256];
        snprintf(why, sizeof why, "child swarm %s failed and %s's restart intensity is spent",
                 child->name, parent->name);
        swarm_fail(s, parent, why);
        return;
    }
    sw_log_warn("fleet", "msg=\"restarting failed child swarm\" swarm=%s parent=%s strategy=%s",
                child->name, parent->name, sw_strategy_names[parent->strategy]);
    child->state = SW_SWARM_RUNNING;
    sw_emit_swarm(s, child->name, "restarted", NULL);
    sw_server_spec_changed(s, 1, child->name, child->spec, stored_flag(child));
    child->failure[0] = '\0';
    sw_swarm_reset_restarts(child);
    reconcile(s, child);
    if (act == SW_SUP_RESTART_ALL)
        each_managed(s, parent->name, restart_member, NULL);
}

static void stop_subtree(struct sw_server *s, struct sw_swarm *sw)
{
    each_managed(s, sw->name, stop_member, NULL);
    size_t pos = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value)) {
        struct sw_swarm *child = value;
        if (child->parent && strcmp(child->parent, sw->name) == 0 &&
            child->state == SW_SWARM_RUNNING) {
            child->state = SW_SWARM_FAILED;
            snprintf(child->failure, sizeof child->failure, "its parent %s failed", sw->name);
            sw_server_spec_changed(s, 1, child->name, child->spec, 2);
            stop_subtree(s, child);
        }
    }
}

static void swarm_fail(struct sw_server *s, struct sw_swarm *sw, const char *why)
{
    sw->state = SW_SWARM_FAILED;
    sw->failed_at = sw_server_now(s);
    snprintf(sw->failure, sizeof sw->failure, "%s", why);
    sw_server_spec_changed(s, 1, sw->name, sw->spec, 2); /* stays failed across a restart */
    sw_log_error("fleet", "msg=\"swarm failed\" swarm=%s reason=\"%s\"", sw->name, why);
    struct sw_buf data;
    sw_buf_init(&data, 4096);
    if (sw_buf_appendstr(&data, "{\"reason\":") == 0 && sw_json_append_string(&data, why) == 0 &&
        sw_buf_append(&data, "}", 1) == 0)
        sw_emit_swarm(s, sw->name, "failed", data.data);
    sw_buf_free(&data);
    stop_subtree(s, sw);
    escalate(s, sw);
}

struct sibling_restart {
    int from_replica;
    struct sw_agent *except;
};

static void restart_sibling(struct sw_server *s, struct sw_agent *a, void *arg)
{
    struct sibling_restart *r = arg;
    if (a != r->except && a->replica >= r->from_replica && !a->stopped)
        sw_runner_restart(s, a, 0);
}

void sw_fleet_agent_exited(struct sw_server *s, struct sw_agent *a, const struct sw_sup_exit *e,
                           int *fast_exits)
{
    const struct sw_template *t = sw_fleet_agent_template(s, a);
    struct sw_swarm *sw = a->swarm ? sw_strmap_get(&s->swarms, a->swarm) : NULL;
    if (t == NULL || (sw && sw->state != SW_SWARM_RUNNING)) {
        a->state = SW_AGENT_STOPPED;
        return;
    }
    struct sw_sup_decision d =
        sw_supervisor_on_exit(t, sw, e, sw_server_now(s), sw_sched_random(&s->sched));
    *fast_exits = d.fast_exits;
    struct sibling_restart r = {0, a};
    switch (d.action) {
    case SW_SUP_STAY_DOWN:
        a->state = SW_AGENT_STOPPED;
        break;
    case SW_SUP_SWARM_FAILED: {
        char why[256];
        snprintf(why, sizeof why, "more than %lld restarts in %lld ms (agent %s)",
                 (long long)sw->intensity_restarts, (long long)sw->intensity_period_ms, a->name);
        a->state = SW_AGENT_FAILED;
        swarm_fail(s, sw, why);
        break;
    }
    case SW_SUP_RESTART_ALL:
    case SW_SUP_RESTART_REST:
        r.from_replica = d.action == SW_SUP_RESTART_ALL ? 0 : a->replica + 1;
        each_managed(s, sw->name, restart_sibling, &r);
        sw_runner_schedule_start(s, a, d.delay_ms); /* the failed one, after its delay */
        break;
    default:
        sw_runner_schedule_start(s, a, d.delay_ms);
        break;
    }
}

/* ---- cold start ---- */

static int agent_serves(const struct sw_agent *a, const char *capability)
{
    int version;
    for (size_t i = 0; i < a->ncapabilities; i++)
        if (sw_capability_serves(a->capabilities[i], capability, &version))
            return 1;
    return 0;
}

static int provides(const struct sw_template *t, const char *capability)
{
    int version;
    for (size_t i = 0; t && i < t->ncapabilities; i++)
        if (sw_capability_serves(t->capabilities[i], capability, &version))
            return 1;
    return 0;
}

/* A task for capability is queued: if no running agent can take it, start an agent that
 * rests (idle-stopped), or the first agent of a swarm scaled to zero (the autoscaler's
 * decision: the budget may refuse it, then another swarm may serve). */
static void reconcile(struct sw_server *s, struct sw_swarm *sw);

void sw_fleet_cold_start(struct sw_server *s, const char *capability)
{
    size_t pos = 0;
    void *value;
    struct sw_agent *resting = NULL;
    while (sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (!agent_serves(a, capability))
            continue;
        if (sw_agent_running(a) || a->state == SW_AGENT_STARTING || a->state == SW_AGENT_BACKOFF)
            return; /* it will be served */
        if (resting == NULL && a->kind == SW_AGENT_MANAGED && !a->stopped &&
            a->state == SW_AGENT_STOPPED && sw_runner_resting(a))
            resting = a;
    }
    if (resting) {
        sw_log_info("fleet", "msg=\"cold start\" agent=%s capability=%s", resting->name,
                    capability);
        sw_runner_start(s, resting);
        return;
    }
    const char *key;
    pos = 0;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value)) {
        struct sw_swarm *sw = value;
        const struct sw_template *t = sw->inline_template
                                          ? sw->inline_template
                                          : sw_strmap_get(&s->templates, sw->template_name);
        if (sw->has_scale && sw->replicas == 0 && sw->scale_max > 0 &&
            sw->state == SW_SWARM_RUNNING && !sw->stopped && provides(t, capability) &&
            sw_scaling_cold_start(s, sw)) {
            sw_log_info("fleet", "msg=\"cold start: scaling up from zero\" swarm=%s capability=%s",
                        sw->name, capability);
            return;
        }
    }
}

static void count_zero_swarms(struct sw_server *s)
{
    size_t pos = 0;
    const char *key;
    void *value;
    int n = 0;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value)) {
        struct sw_swarm *sw = value;
        n += sw->has_scale && sw->replicas == 0;
    }
    s->zero_swarms = n;
}

/* ---- standalone managed agents ---- */

int sw_fleet_create_agent(struct sw_server *s, const char *name, const char *template_name,
                          const char *swarm, struct sw_agent **out, struct sw_field_error *err)
{
    struct sw_swarm *sw = NULL;
    if (!sw_name_valid(name))
        return sw_field_fail(err, SW_EBAD_FIELD, "name",
                             "a managed agent's name must match [a-z0-9][a-z0-9._-]{0,62} "
                             "(it names its log file)");
    if (swarm && (sw = sw_strmap_get(&s->swarms, swarm)) == NULL)
        return sw_field_fail(err, SW_EBAD_FIELD, "swarm", "swarm \"%s\" does not exist", swarm);
    if (sw_strmap_get(&s->templates, template_name) == NULL)
        return sw_field_fail(err, SW_EBAD_FIELD, "template", "template \"%s\" does not exist",
                             template_name);
    if (sw_sched_agent_by_name(&s->sched, name))
        return sw_field_fail(err, SW_EAGENT_EXISTS, "name", "an agent named \"%s\" exists", name);
    struct sw_agent *a = NULL;
    int rc = create_managed(s, name, template_name, sw, -1, &a);
    if (rc)
        return rc;
    if (sw == NULL || (sw->state == SW_SWARM_RUNNING && !sw->stopped))
        sw_runner_start(s, a);
    *out = a;
    return 0;
}

int sw_fleet_agent_stop(struct sw_server *s, struct sw_agent *a)
{
    if (a->kind != SW_AGENT_MANAGED)
        return SW_EBAD_STATE;
    a->stopped = 1;
    sw_sched_agent_changed(&s->sched, a);
    sw_runner_stop(s, a, 0);
    return 0;
}

int sw_fleet_agent_start(struct sw_server *s, struct sw_agent *a)
{
    if (a->kind != SW_AGENT_MANAGED)
        return SW_EBAD_STATE;
    a->stopped = 0;
    sw_sched_agent_changed(&s->sched, a);
    if (!sw_agent_running(a) && a->state != SW_AGENT_STARTING && a->state != SW_AGENT_STOPPING)
        sw_runner_start(s, a);
    return 0;
}

int sw_fleet_agent_restart(struct sw_server *s, struct sw_agent *a)
{
    if (a->kind != SW_AGENT_MANAGED)
        return SW_EBAD_STATE;
    a->stopped = 0;
    sw_sched_agent_changed(&s->sched, a);
    sw_runner_restart(s, a, 1);
    return 0;
}

void sw_fleet_agent_removed(struct sw_server *s, struct sw_agent *a)
{
    if (a->kind == SW_AGENT_MANAGED) {
        sw_scaling_agent_gone(s, a); /* its cost up to now */
        sw_runner_forget(s, a);
    }
    if (s->followers)
        sw_logs_written(s, a->id); /* its followers see the end */
}

void sw_fleet_reconcile_swarm(struct sw_server *s, const char *name)
{
    struct sw_swarm *sw = name ? sw_strmap_get(&s->swarms, name) : NULL;
    if (sw)
        reconcile(s, sw);
}

/* ---- start-up and stop ---- */

void sw_fleet_adopt_agent(struct sw_server *s, struct sw_agent *a)
{
    if (a->kind != SW_AGENT_MANAGED)
        return;
    a->state = SW_AGENT_STOPPED;
    a->pid = 0;
    if (a->swarm && a->name) {
        size_t len = strlen(a->swarm);
        if (strncmp(a->name, a->swarm, len) == 0 && a->name[len] == '-')
            a->replica = atoi(a->name + len + 1);
        if (strncmp(a->name, a->swarm, len) == 0 && strcmp(a->name + len, "-queen") == 0) {
            a->queen = 1;
            a->replica = -1;
        }
    }
}

void sw_fleet_start(struct sw_server *s)
{
    size_t pos = 0;
    const char *key;
    void *value;
    while (sw_strmap_next(&s->swarms, &pos, &key, &value))
        reconcile(s, value);
    pos = 0;
    size_t n = 0;
    struct sw_agent **standalone = sw_calloc(s->sched.agents.count + 1, sizeof *standalone);
    while (standalone && sw_map_next(&s->sched.agents, &pos, NULL, &value)) {
        struct sw_agent *a = value;
        if (a->kind == SW_AGENT_MANAGED && a->swarm == NULL && !a->stopped)
            standalone[n++] = a;
    }
    for (size_t i = 0; i < n; i++)
        sw_runner_start(s, standalone[i]);
    sw_free(standalone);
}

static void stop_for_shutdown(struct sw_server *s, struct sw_agent *a, void *arg)
{
    sw_runner_stop(s, a, 0);
}

static void kill_one(struct sw_server *s, struct sw_agent *a, void *arg)
{
    sw_runner_forget(s, a);
}

void sw_fleet_kill_all(struct sw_server *s)
{
    each_managed(s, NULL, kill_one, NULL);
}

int sw_fleet_stopping(struct sw_server *s)
{
    each_managed(s, NULL, stop_for_shutdown, NULL);
    return sw_runner_active(s);
}
