/* SPDX-License-Identifier: MIT
 * template.h - how to start an agent: command, mode, environment, work dir,
 * capabilities, slots, restart policy and backoff, stop grace, health check, limits,
 * sandbox, idle timeout, cost. A template is parsed from its JSON spec (the document of a
 * spec file), which is kept as given (keys sorted) to tell "unchanged" on a new apply. */
#ifndef SW_TEMPLATE_H
#define SW_TEMPLATE_H

#include "core/buf.h"
#include "model/fields.h"
#include "model/task.h"

#include <jansson.h>
#include <stdint.h>

enum sw_agent_mode { SW_MODE_EXEC = 0, SW_MODE_STDIO };
enum sw_restart_policy { SW_RESTART_ALWAYS = 0, SW_RESTART_ON_FAILURE, SW_RESTART_NEVER };
enum sw_health_kind { SW_HEALTH_NONE = 0, SW_HEALTH_EXEC, SW_HEALTH_HTTP, SW_HEALTH_RPC };

struct sw_template {
    char *name;          /* owned; NULL for a swarm's inline template */
    char *spec;          /* owned: the JSON spec, compact, keys sorted */
    char **argv;         /* owned NULL-terminated; a shell string becomes sh -c */
    int mode;            /* enum sw_agent_mode */
    char **capabilities; /* owned NULL-terminated */
    size_t ncapabilities;
    int slots;
    char **env;    /* owned "K=V" NULL-terminated, or NULL */
    char *workdir; /* owned or NULL */
    int restart;   /* enum sw_restart_policy */
    struct sw_backoff backoff;
    int64_t stop_grace_ms;
    int health; /* enum sw_health_kind */
    char **health_argv;
    char *health_url;
    int64_t health_interval_ms, health_timeout_ms;
    int64_t health_failures;
    int64_t limit_memory, limit_open_files, limit_processes;
    double limit_cpu;
    int sandbox; /* 0 none, 1 development, 2 paranoid */
    int64_t idle_timeout_ms;
    double cost_per_hour;
    char *labels; /* owned JSON object text or NULL */
};

/* Parses and validates a template spec (borrowed). On error fills err and returns
 * SW_EBAD_FIELD (or another SW_E* code). prefix names the object in field paths
 * ("" or "template."). */
int sw_template_parse(const char *name, json_t *spec, const char *prefix, struct sw_template **out,
                      struct sw_field_error *err);
void sw_template_free(struct sw_template *t);
/* Appends {"name", "spec": {...as given...}} to out. */
int sw_template_render(const struct sw_template *t, struct sw_buf *out);

#endif
