/* SPDX-License-Identifier: MIT
 * template.c - template spec parsing and rendering. */
#include "template.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS (86400000LL)

static const char *const template_fields[] = {
    "name",    "command",      "mode",          "capabilities", "slots",  "env",
    "workdir", "restart",      "backoff",       "stop_grace",   "health", "limits",
    "sandbox", "idle_timeout", "cost_per_hour", "labels",       NULL,
};

void sw_template_free(struct sw_template *t)
{
    if (t == NULL)
        return;
    sw_free(t->name);
    sw_free(t->spec);
    sw_strv_free(t->argv);
    sw_strv_free(t->capabilities);
    sw_strv_free(t->env);
    sw_free(t->workdir);
    sw_strv_free(t->health_argv);
    sw_free(t->health_url);
    sw_free(t->labels);
    sw_free(t);
}

static int parse_command(json_t *spec, struct sw_template *t, struct sw_field_error *err)
{
    json_t *v = json_object_get(spec, "command");
    if (v == NULL || json_is_null(v))
        return sw_field_fail(err, SW_EMISSING_FIELD, "command", "command is required");
    if (json_is_string(v)) {
        const char *shell[] = {"/bin/sh", "-c", json_string_value(v), NULL};
        if (json_string_length(v) == 0)
            return sw_field_fail(err, SW_EBAD_FIELD, "command", "command must not be empty");
        t->argv = sw_strv_dup((char *const *)shell);
        return t->argv ? 0 : SW_ENOMEM;
    }
    return sw_field_get_strv(spec, "command", 4096, 65536, &t->argv, NULL, err);
}

static int parse_capabilities(json_t *spec, struct sw_template *t, struct sw_field_error *err)
{
    if (json_object_get(spec, "capabilities") == NULL)
        return sw_field_fail(err, SW_EMISSING_FIELD, "capabilities", "capabilities is required");
    int rc =
        sw_field_get_strv(spec, "capabilities", 64, 140, &t->capabilities, &t->ncapabilities, err);
    for (size_t i = 0; rc == 0 && i < t->ncapabilities; i++) {
        const char *c = t->capabilities[i];
        if (!sw_capability_name_valid(c))
            rc = sw_field_fail(err, SW_EBAD_FIELD, "capabilities",
                               "capabilities[%zu] \"%s\" is not a valid capability name", i, c);
    }
    return rc;
}

/* Puts prefix before a field name that is not a path yet ("initial" -> "backoff.initial"). */
static int nested(int rc, const char *prefix, struct sw_field_error *err)
{
    size_t plen = strlen(prefix) - 1; /* without the dot */
    if (rc && err->field[0] && strchr(err->field, '.') == NULL &&
        !(strlen(err->field) == plen && strncmp(err->field, prefix, plen) == 0)) {
        char field[96];
        snprintf(field, sizeof field, "%.15s%.80s", prefix, err->field);
        snprintf(err->field, sizeof err->field, "%s", field);
    }
    return rc;
}

static int parse_backoff(json_t *spec, struct sw_template *t, struct sw_field_error *err)
{
    static const char *const fields[] = {"initial", "max", "multiplier", NULL};
    json_t *v = json_object_get(spec, "backoff");
    t->backoff = (struct sw_backoff){1000, 30000, 2.0};
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "backoff", "backoff must be a map");
    int rc = sw_fields_only(v, fields, "backoff.", err);
    rc = rc ? rc : sw_field_get_duration(v, "initial", 0, DAY_MS, &t->backoff.initial_ms, err);
    rc = rc ? rc : sw_field_get_duration(v, "max", 0, DAY_MS, &t->backoff.max_ms, err);
    rc = rc ? rc : sw_field_get_number(v, "multiplier", 1, 100, &t->backoff.multiplier, err);
    if (rc == 0 && t->backoff.max_ms < t->backoff.initial_ms)
        rc = sw_field_fail(err, SW_EBAD_FIELD, "backoff.max",
                           "backoff.max is below backoff.initial");
    return rc;
}

static int parse_health(json_t *spec, struct sw_template *t, struct sw_field_error *err)
{
    static const char *const fields[] = {"exec",    "http",     "rpc", "interval",
                                         "timeout", "failures", NULL};
    json_t *v = json_object_get(spec, "health");
    t->health_interval_ms = 10000;
    t->health_timeout_ms = 2000;
    t->health_failures = 3;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "health", "health must be a map");
    const char *url = NULL;
    int rpc = 0;
    int rc = sw_fields_only(v, fields, "health.", err);
    rc = rc ? rc : sw_field_get_strv(v, "exec", 256, 4096, &t->health_argv, NULL, err);
    rc = rc ? rc : sw_field_get_string(v, "http", 0, 2048, &url, err);
    rc = rc ? rc : sw_field_get_bool(v, "rpc", &rpc, err);
    rc = rc ? rc : sw_field_get_duration(v, "interval", 100, DAY_MS, &t->health_interval_ms, err);
    rc = rc ? rc : sw_field_get_duration(v, "timeout", 10, DAY_MS, &t->health_timeout_ms, err);
    rc = rc ? rc : sw_field_get_int(v, "failures", 1, 1000, &t->health_failures, err);
    if (rc)
        return rc;
    int kinds = (t->health_argv != NULL) + (url != NULL) + rpc;
    if (kinds != 1)
        return sw_field_fail(err, SW_EBAD_FIELD, "health",
                             "health needs exactly one of exec, http or rpc: true");
    t->health = t->health_argv ? SW_HEALTH_EXEC : url ? SW_HEALTH_HTTP : SW_HEALTH_RPC;
    if (url && (t->health_url = sw_strdup(url)) == NULL)
        return SW_ENOMEM;
    if (rpc && t->mode != SW_MODE_STDIO)
        return sw_field_fail(err, SW_EBAD_FIELD, "health.rpc",
                             "health.rpc needs mode: stdio (a JSON-RPC ping)");
    return 0;
}

static int parse_limits(json_t *spec, struct sw_template *t, struct sw_field_error *err)
{
    static const char *const fields[] = {"memory", "cpu", "open_files", "processes", NULL};
    json_t *v = json_object_get(spec, "limits");
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return sw_field_fail(err, SW_EBAD_FIELD, "limits", "limits must be a map");
    int rc = sw_fields_only(v, fields, "limits.", err);
    rc = rc ? rc : sw_field_get_size(v, "memory", 1LL << 50, &t->limit_memory, err);
    rc = rc ? rc : sw_field_get_number(v, "cpu", 0.01, 1024, &t->limit_cpu, err);
    rc = rc ? rc : sw_field_get_int(v, "open_files", 8, 1 << 24, &t->limit_open_files, err);
    rc = rc ? rc : sw_field_get_int(v, "processes", 1, 1 << 22, &t->limit_processes, err);
    return rc;
}

static int parse_body(json_t *spec, const char *name, struct sw_template *t,
                      struct sw_field_error *err)
{
    int64_t slots = 1;
    const char *workdir = NULL, *given_name = NULL;
    t->mode = SW_MODE_STDIO;
    t->stop_grace_ms = 10000;
    int rc = sw_fields_only(spec, template_fields, NULL, err);
    rc = rc ? rc : sw_field_get_string(spec, "name", 0, 63, &given_name, err);
    if (rc == 0 && given_name && name && strcmp(given_name, name) != 0)
        rc = sw_field_fail(err, SW_EBAD_FIELD, "name", "name \"%s\" differs from the URL's \"%s\"",
                           given_name, name);
    rc = rc ? rc : sw_field_get_enum(spec, "mode", "exec|stdio", &t->mode, err);
    rc = rc ? rc : parse_command(spec, t, err);
    rc = rc ? rc : parse_capabilities(spec, t, err);
    rc = rc ? rc : sw_field_get_int(spec, "slots", 1, 10000, &slots, err);
    rc = rc ? rc : sw_field_get_env(spec, "env", &t->env, NULL, err);
    rc = rc ? rc : sw_field_get_string(spec, "workdir", 0, 4096, &workdir, err);
    rc = rc ? rc : sw_field_get_enum(spec, "restart", "always|on-failure|never", &t->restart, err);
    rc = rc ? rc : nested(parse_backoff(spec, t, err), "backoff.", err);
    rc = rc ? rc : sw_field_get_duration(spec, "stop_grace", 0, DAY_MS, &t->stop_grace_ms, err);
    rc = rc ? rc : nested(parse_health(spec, t, err), "health.", err);
    rc = rc ? rc : nested(parse_limits(spec, t, err), "limits.", err);
    rc =
        rc ? rc : sw_field_get_enum(spec, "sandbox", "none|development|paranoid", &t->sandbox, err);
    rc =
        rc ? rc
           : sw_field_get_duration(spec, "idle_timeout", 0, 365 * DAY_MS, &t->idle_timeout_ms, err);
    rc = rc ? rc : sw_field_get_number(spec, "cost_per_hour", 0, 1e9, &t->cost_per_hour, err);
    rc = rc ? rc : sw_field_get_labels(spec, "labels", &t->labels, err);
    t->slots = (int)slots;
    if (rc == 0 && workdir && (t->workdir = sw_strdup(workdir)) == NULL)
        rc = SW_ENOMEM;
    return rc;
}

int sw_template_parse(const char *name, json_t *spec, const char *prefix, struct sw_template **out,
                      struct sw_field_error *err)
{
    struct sw_template *t = sw_calloc(1, sizeof *t);
    if (t == NULL)
        return SW_ENOMEM;
    int rc = json_is_object(spec)
                 ? parse_body(spec, name, t, err)
                 : sw_field_fail(err, SW_EBAD_FIELD, prefix, "a template must be a map");
    if (rc == 0 && name && (t->name = sw_strdup(name)) == NULL)
        rc = SW_ENOMEM;
    if (rc == 0 && (t->spec = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        rc = SW_ENOMEM;
    if (rc && prefix && *prefix && err->field[0]) {
        char field[96];
        snprintf(field, sizeof field, "%.15s%.80s", prefix, err->field);
        snprintf(err->field, sizeof err->field, "%s", field);
    }
    if (rc) {
        sw_template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int sw_template_render(const struct sw_template *t, struct sw_buf *out)
{
    int rc = sw_buf_appendstr(out, "{\"name\":");
    rc = rc ? rc : sw_json_append_string(out, t->name ? t->name : "");
    rc = rc ? rc : sw_buf_appendf(out, ",\"mode\":\"%s\",\"spec\":", t->mode ? "stdio" : "exec");
    rc = rc ? rc : sw_buf_appendstr(out, t->spec);
    return rc ? rc : sw_buf_append(out, "}", 1);
}
