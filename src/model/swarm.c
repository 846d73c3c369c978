/* SPDX-License-Identifier: MIT
 * swarm.c - swarm spec parsing and the restart-intensity window. */
#include "swarm.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

const char *const sw_swarm_state_names[SW_SWARM_NSTATES] = {"running", "stopped", "failed"};
const char *const sw_strategy_names[3] = {"one_for_one", "one_for_all", "rest_for_one"};

static const char *const swarm_fields[] = {
    "name",      "parent",   "template",   "replicas",   "scale",   "strategy",
    "intensity", "topology", "queen",      "labels",     "routing", "budget",
    "max_queue", "isolated", "delegation", "rate_limit", NULL,
};

void sw_swarm_free(struct sw_swarm *s)
{
    if (s == NULL)
        return;
    sw_free(s->name);
    sw_free(s->spec);
    sw_free(s->parent);
    sw_free(s->template_name);
    sw_template_free(s->inline_template);
    sw_free(s->queen);
    sw_template_free(s->queen_template);
    sw_free(s->labels);
    sw_free(s->hash_key);
    sw_free(s->restart_at);
    sw_free(s);
}

static int parse_template_ref(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    json_t *v = json_object_get(spec, "template");
    if (v == NULL || json_is_null(v))
        return sw_field_fail(err, SW_EMISSING_FIELD, "template",
                             "template is required: a template name or an inline template");
    if (json_is_object(v))
        return sw_template_parse(NULL, v, "template.", &s->inline_template, err);
    const char *name = NULL;
    int rc = sw_field_get_string(spec, "template", 1, 63, &name, err);
    if (rc == 0 && !sw_name_valid(name))
        rc = sw_field_fail(err, SW_EBAD_FIELD, "template", "template \"%s\" is not a valid name",
                           name);
    if (rc == 0 && (s->template_name = sw_strdup(name)) == NULL)
        rc = SW_ENOMEM;
    return rc;
}

/* An error of a field inside a map (key "min" of "scale"): named "scale.min", in the
 * field and at the start of the message. */
static int prefix_field(int rc, struct sw_field_error *err, const char *map)
{
    size_t len = strlen(err->field);
    if (rc == 0 || len == 0 || strchr(err->field, '.'))
        return rc;
    char field[96];
    snprintf(field, sizeof field, "%s.%.80s", map, err->field);
    if (strncmp(err->message, err->field, len) == 0) { /* "min must be" -> "scale.min must be" */
        char message[sizeof err->message];
        size_t flen = strlen(field), rest = strlen(err->message + len);
        if (rest > sizeof message - flen - 1)
            rest = sizeof message - flen - 1;
        memcpy(message, field, flen);
        memcpy(message + flen, err->message + len, rest);
        message[flen + rest] = '\0';
        memcpy(err->message, message, flen + rest + 1);
    }
    memcpy(err->field, field, strlen(field) + 1);
    return rc;
}

static int parse_scale(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    static const char *const fields[] = {
        "min", "max", "target_queue_per_agent", "scale_up_after", "scale_down_after", NULL};
    json_t *v = json_object_get(spec, "scale");
    s->scale_target = 1;
    s->scale_up_after_ms = 2000;
    s->scale_down_after_ms = 60000;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_object_get(spec, "replicas"))
        return sw_field_fail(err, SW_EBAD_FIELD, "scale", "give replicas or scale, not both");
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "scale", "scale must be a map {min, max}");
    int rc = sw_fields_only(v, fields, "scale.", err);
    s->scale_max = SW_SWARM_MAX_REPLICAS;
    rc = rc ? rc : sw_field_get_int(v, "min", 0, SW_SWARM_MAX_REPLICAS, &s->scale_min, err);
    rc = rc ? rc : sw_field_get_int(v, "max", 0, SW_SWARM_MAX_REPLICAS, &s->scale_max, err);
    rc = rc ? rc
            : sw_field_get_number(v, "target_queue_per_agent", 0.01, 1e6, &s->scale_target, err);
    rc = rc ? rc
            : sw_field_get_duration(v, "scale_up_after", 0, SW_SCALE_MAX_DELAY_MS,
                                    &s->scale_up_after_ms, err);
    rc = rc ? rc
            : sw_field_get_duration(v, "scale_down_after", 0, SW_SCALE_MAX_DELAY_MS,
                                    &s->scale_down_after_ms, err);
    rc = prefix_field(rc, err, "scale");
    if (rc == 0 && s->scale_max < s->scale_min)
        rc = sw_field_fail(err, SW_EBAD_FIELD, "scale.max", "scale.max is below scale.min");
    s->has_scale = 1;
    s->replicas = s->scale_min;
    return rc;
}

static int parse_budget(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    static const char *const fields[] = {"max_cost_per_hour", "max_agents", "max_cost_total", NULL};
    json_t *v = json_object_get(spec, "budget");
    s->budget_max_agents = -1;
    s->budget_max_cost_per_hour = -1;
    s->budget_max_cost_total = -1;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "budget",
                             "budget must be a map {max_cost_per_hour, max_agents, "
                             "max_cost_total}");
    int rc = sw_fields_only(v, fields, "budget.", err);
    rc = rc ? rc
            : sw_field_get_int(v, "max_agents", 0, SW_SWARM_MAX_REPLICAS, &s->budget_max_agents,
                               err);
    rc = rc ? rc
            : sw_field_get_number(v, "max_cost_per_hour", 0, SW_BUDGET_MAX_COST,
                                  &s->budget_max_cost_per_hour, err);
    rc = rc ? rc
            : sw_field_get_number(v, "max_cost_total", 0, SW_BUDGET_MAX_COST,
                                  &s->budget_max_cost_total, err);
    rc = prefix_field(rc, err, "budget");
    if (rc == 0 && s->has_scale && s->budget_max_agents >= 0 && s->budget_max_agents < s->scale_min)
        rc = sw_field_fail(err, SW_EBAD_FIELD, "budget.max_agents",
                           "budget.max_agents (%lld) is below scale.min (%lld)",
                           (long long)s->budget_max_agents, (long long)s->scale_min);
    return rc;
}

static int parse_intensity(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    static const char *const fields[] = {"restarts", "period", NULL};
    json_t *v = json_object_get(spec, "intensity");
    s->intensity_restarts = 5;
    s->intensity_period_ms = 60000;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "intensity",
                             "intensity must be a map {restarts, period}");
    int rc = sw_fields_only(v, fields, "intensity.", err);
    rc =
        rc ? rc : sw_field_get_int(v, "restarts", 0, SW_INTENSITY_MAX, &s->intensity_restarts, err);
    rc = rc ? rc : sw_field_get_duration(v, "period", 1, 86400000LL, &s->intensity_period_ms, err);
    return rc;
}

static int parse_queen(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    json_t *v = json_object_get(spec, "queen");
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_object(v))
        return sw_template_parse(NULL, v, "queen.", &s->queen_template, err);
    if (!json_is_string(v) || !sw_name_valid(json_string_value(v)))
        return sw_field_fail(err, SW_EBAD_FIELD, "queen",
                             "queen must be a template name or an inline template");
    s->queen = sw_strdup(json_string_value(v));
    return s->queen ? 0 : SW_ENOMEM;
}

/* max_queue, and rate_limit: {per_second, burst}. */
/* routing: {"hash": "payload.FIELD" | "labels.KEY"}: a task's agent is chosen by
 * consistent hashing of that value. */
static int parse_routing(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    json_t *v = json_object_get(spec, "routing");
    if (v == NULL || json_is_null(v))
        return 0;
    const char *key = json_string_value(json_object_get(v, "hash"));
    if (!json_is_object(v) || json_object_size(v) != 1 || key == NULL)
        return sw_field_fail(err, SW_EBAD_FIELD, "routing",
                             "routing must be {\"hash\": \"payload.FIELD\"} or {\"hash\": "
                             "\"labels.KEY\"}");
    size_t len = strlen(key);
    if (!((strncmp(key, "payload.", 8) == 0 && len > 8) ||
          (strncmp(key, "labels.", 7) == 0 && len > 7)) ||
        len > 135)
        return sw_field_fail(err, SW_EBAD_FIELD, "routing.hash",
                             "routing.hash must be payload.FIELD or labels.KEY");
    s->hash_key = sw_strdup(key);
    return s->hash_key ? 0 : SW_ENOMEM;
}

static int parse_shedding(json_t *spec, struct sw_swarm *s, struct sw_field_error *err)
{
    static const char *const fields[] = {"per_second", "burst", NULL};
    int rc = sw_field_get_int(spec, "max_queue", 1, SW_SWARM_MAX_QUEUE, &s->max_queue, err);
    json_t *v = json_object_get(spec, "rate_limit");
    if (rc || v == NULL || json_is_null(v))
        return rc;
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "rate_limit",
                             "rate_limit must be a map {per_second, burst}");
    json_t *rate = json_object_get(v, "per_second");
    if (rate == NULL || json_is_null(rate))
        return sw_field_fail(err, SW_EMISSING_FIELD, "rate_limit.per_second",
                             "rate_limit.per_second is required");
    rc = sw_fields_only(v, fields, "rate_limit.", err);
    rc = rc ? rc : sw_field_get_number(v, "per_second", 0.001, 1e6, &s->rate_per_second, err);
    s->rate_burst = s->rate_per_second < 1 ? 1 : (int64_t)(s->rate_per_second + 0.999);
    rc = rc ? rc : sw_field_get_int(v, "burst", 1, SW_SWARM_MAX_QUEUE, &s->rate_burst, err);
    return prefix_field(rc, err, "rate_limit");
}

static int parse_body(const char *name, json_t *spec, struct sw_swarm *s,
                      struct sw_field_error *err)
{
    const char *parent = NULL, *given_name = NULL;
    s->replicas = 1;
    int rc = sw_fields_only(spec, swarm_fields, NULL, err);
    rc = rc ? rc : sw_field_get_string(spec, "name", 0, 63, &given_name, err);
    if (rc == 0 && given_name && strcmp(given_name, name) != 0)
        rc = sw_field_fail(err, SW_EBAD_FIELD, "name", "name \"%s\" differs from the URL's \"%s\"",
                           given_name, name);
    rc = rc ? rc : sw_field_get_string(spec, "parent", 0, 63, &parent, err);
    if (rc == 0 && parent && (!sw_name_valid(parent) || strcmp(parent, name) == 0))
        rc = sw_field_fail(err, SW_EBAD_FIELD, "parent",
                           "parent must name another swarm ([a-z0-9][a-z0-9._-]{0,62})");
    rc = rc ? rc : parse_template_ref(spec, s, err);
    rc = rc ? rc : sw_field_get_int(spec, "replicas", 0, SW_SWARM_MAX_REPLICAS, &s->replicas, err);
    rc = rc ? rc : parse_scale(spec, s, err);
    rc = rc ? rc : parse_budget(spec, s, err);
    rc = rc ? rc
            : sw_field_get_enum(spec, "strategy", "one_for_one|one_for_all|rest_for_one",
                                &s->strategy, err);
    rc = rc ? rc : parse_intensity(spec, s, err);
    if (rc && (strcmp(err->field, "restarts") == 0 || strcmp(err->field, "period") == 0)) {
        char field[96];
        snprintf(field, sizeof field, "intensity.%.80s", err->field);
        snprintf(err->field, sizeof err->field, "%s", field);
    }
    rc = rc ? rc : sw_field_get_enum(spec, "topology", "hierarchical|mesh", &s->topology, err);
    rc = rc ? rc : sw_field_get_bool(spec, "isolated", &s->isolated, err);
    rc = rc ? rc : sw_field_get_enum(spec, "delegation", "any|down_only", &s->delegation, err);
    rc = rc ? rc : parse_routing(spec, s, err);
    rc = rc ? rc : parse_queen(spec, s, err);
    rc = rc ? rc : sw_field_get_labels(spec, "labels", &s->labels, err);
    rc = rc ? rc : parse_shedding(spec, s, err);
    if (rc == 0 && parent && (s->parent = sw_strdup(parent)) == NULL)
        rc = SW_ENOMEM;
    return rc;
}

int sw_swarm_parse(const char *name, json_t *spec, struct sw_swarm **out,
                   struct sw_field_error *err)
{
    struct sw_swarm *s = sw_calloc(1, sizeof *s);
    if (s == NULL)
        return SW_ENOMEM;
    int rc = json_is_object(spec)
                 ? parse_body(name, spec, s, err)
                 : sw_field_fail(err, SW_EBAD_FIELD, NULL, "a swarm must be a map");
    if (rc == 0 && ((s->name = sw_strdup(name)) == NULL ||
                    (s->spec = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL))
        rc = SW_ENOMEM;
    if (rc == 0 &&
        (s->restart_at = sw_calloc((size_t)s->intensity_restarts + 1, sizeof(int64_t))) == NULL)
        rc = SW_ENOMEM;
    if (rc) {
        sw_swarm_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int sw_swarm_note_restart(struct sw_swarm *s, int64_t now)
{
    size_t cap = (size_t)s->intensity_restarts + 1;
    s->restart_at[s->restart_next] = now;
    s->restart_next = (s->restart_next + 1) % cap;
    if (s->restart_count < cap)
        s->restart_count++;
    s->total_restarts++;
    if (s->restart_count < cap)
        return 0;
    /* the oldest of the last restarts+1 restarts is the next slot */
    int64_t oldest = s->restart_at[s->restart_next];
    return now - oldest < s->intensity_period_ms;
}

void sw_swarm_reset_restarts(struct sw_swarm *s)
{
    s->restart_count = s->restart_next = 0;
}

void sw_swarm_take_state(struct sw_swarm *s, const struct sw_swarm *old)
{
    s->state = old->state;
    s->stopped = old->stopped;
    s->failed_at = old->failed_at;
    s->total_restarts = old->total_restarts;
    s->persisted = old->persisted;
    memcpy(s->failure, old->failure, sizeof s->failure);
    if (s->has_scale && old->has_scale)
        s->replicas = old->replicas; /* the autoscaler brings it within the new bounds */
}
