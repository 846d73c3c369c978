/* SPDX-License-Identifier: MIT
 * costs_cmd.c - "swarm costs [--swarm S] [--since 1h]" asks GET /v1/costs and shows the
 * swarms as a tree (own cost, total with the subtree, agent time), then the templates,
 * then the overall total; -o json prints the daemon's answer. */
#include "cli/costs_cmd.h"

#include "cli/output.h"
#include "core/alloc.h"
#include "core/duration.h"
#include "core/error.h"

#include <string.h>

#define COSTS_PATH_MAX   2048
#define COSTS_TREE_DEPTH 24 /* deeper swarms are drawn as roots */

static const char *entry_str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

static void cost_cell(const json_t *obj, char *out, size_t size)
{
    snprintf(out, size, "%.4f", json_number_value(json_object_get(obj, "cost")));
}

/* Agent time as "12.5s", "3m07s" or "2h05m". */
static void time_cell(const json_t *obj, char *out, size_t size)
{
    double secs = json_number_value(json_object_get(obj, "agent_seconds"));
    long whole = (long)secs;
    if (secs < 60)
        snprintf(out, size, "%.1fs", secs);
    else if (secs < 3600)
        snprintf(out, size, "%ldm%02lds", whole / 60, whole % 60);
    else
        snprintf(out, size, "%ldh%02ldm", whole / 3600, whole / 60 % 60);
}

struct costs_tree {
    const json_t *swarms; /* borrowed: sorted by name by the daemon */
    unsigned char *drawn;
    struct sw_table table; /* SWARM COST TOTAL AGENT-TIME */
};

static int listed(const json_t *swarms, const char *name)
{
    size_t i;
    json_t *sw;
    json_array_foreach(swarms, i, sw)
    {
        if (strcmp(entry_str(sw, "swarm"), name) == 0)
            return 1;
    }
    return 0;
}

/* Adds swarm i indented by depth, then its children under it. */
static int tree_add(struct costs_tree *t, size_t i, int depth)
{
    const json_t *sw = json_array_get(t->swarms, i);
    const char *name = entry_str(sw, "swarm");
    char cell[256], cost[32], total[32], time[32];
    size_t j;
    json_t *child;

    t->drawn[i] = 1;
    snprintf(cell, sizeof cell, "%*s%s", 2 * depth, "", name);
    cost_cell(sw, cost, sizeof cost);
    cost_cell(json_object_get(sw, "total"), total, sizeof total);
    time_cell(sw, time, sizeof time);
    const char *row[] = {cell, cost, total, time};
    int rc = sw_table_add(&t->table, row);
    json_array_foreach(t->swarms, j, child)
    {
        if (rc || depth == COSTS_TREE_DEPTH)
            break;
        if (!t->drawn[j] && strcmp(entry_str(child, "parent"), name) == 0)
            rc = tree_add(t, j, depth + 1);
    }
    return rc;
}

static int swarms_print(const json_t *swarms)
{
    static const char *const header[] = {"SWARM", "COST", "TOTAL", "AGENT-TIME"};
    size_t n = json_array_size(swarms), i;
    struct costs_tree t = {.swarms = swarms};
    json_t *sw;
    int rc = sw_table_init(&t.table, header, 4);

    t.drawn = sw_calloc(n + 1, 1);
    if (t.drawn == NULL)
        rc = SW_ENOMEM;
    json_array_foreach(swarms, i, sw)
    {
        const char *parent = entry_str(sw, "parent");
        if (rc == 0 && !t.drawn[i] && (parent[0] == '\0' || !listed(swarms, parent)))
            rc = tree_add(&t, i, 0);
    }
    for (i = 0; rc == 0 && i < n; i++) /* whatever a too deep tree left out */
        if (!t.drawn[i])
            rc = tree_add(&t, i, 0);
    if (rc == 0 && n == 0)
        printf("(no swarms)\n");
    else if (rc == 0)
        sw_table_print(&t.table, stdout);
    sw_table_free(&t.table);
    sw_free(t.drawn);
    return rc;
}

static int templates_print(const json_t *templates)
{
    static const char *const header[] = {"TEMPLATE", "COST", "AGENT-TIME"};
    struct sw_table table;
    size_t i;
    json_t *tmpl;
    int rc = sw_table_init(&table, header, 3);

    json_array_foreach(templates, i, tmpl)
    {
        char cost[32], time[32];
        if (rc)
            break;
        cost_cell(tmpl, cost, sizeof cost);
        time_cell(tmpl, time, sizeof time);
        const char *row[] = {entry_str(tmpl, "template"), cost, time};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0 && json_array_size(templates) > 0) {
        printf("\n");
        sw_table_print(&table, stdout);
    }
    sw_table_free(&table);
    return rc;
}

static int costs_print(const json_t *reply)
{
    const json_t *swarms = json_object_get(reply, "swarms");
    const json_t *total = json_object_get(reply, "total");
    char cost[32], time[32];

    if (!json_is_array(swarms) || !json_is_object(total)) {
        fprintf(stderr, "swarm: the costs from the daemon have no \"swarms\" or \"total\"\n");
        return SW_EBAD_JSON;
    }
    int rc = swarms_print(swarms);
    rc = rc ? rc : templates_print(json_object_get(reply, "templates"));
    if (rc)
        return rc;
    cost_cell(total, cost, sizeof cost);
    time_cell(total, time, sizeof time);
    printf("\ntotal: %s (agent time %s)%s%s\n", cost, time,
           json_is_string(json_object_get(reply, "since")) ? " since " : "",
           entry_str(reply, "since"));
    return 0;
}

/* GET /v1/costs with --swarm and --since (a duration back from now, or an RFC 3339
 * time, which the daemon checks). */
static int costs_path(struct sw_args *a, struct sw_buf *path)
{
    const char *since = sw_args_get(a, "--since");
    int64_t ms;

    if (since && strchr(since, 'T') == NULL &&
        (strpbrk(since, "smhd") == NULL || sw_duration_parse(since, &ms)))
        return sw_args_fail(a,
                            "--since: '%s' is not a duration such as 1h or 30m, nor an "
                            "RFC 3339 time",
                            since);
    int rc = sw_buf_appendstr(path, "/v1/costs");
    rc = rc ? rc : sw_cli_query_add(path, "swarm", sw_args_get(a, "--swarm"));
    rc = rc ? rc : sw_cli_query_add(path, "since", since);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "the swarm name is too long") : rc;
}

static int costs_show(struct sw_cli *cli)
{
    struct sw_client *client;
    struct sw_buf path;
    json_t *reply = NULL;
    int rc;

    sw_buf_init(&path, COSTS_PATH_MAX);
    rc = costs_path(&cli->args, &path);
    rc = rc ? rc : sw_cli_client(cli, &client);
    rc = rc ? rc : sw_client_call(client, "GET", path.data, NULL, 0, &reply);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        rc = costs_print(reply);
    json_decref(reply);
    sw_buf_free(&path);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag costs_flags[] = {
    {"--swarm", "SWARM", "only this swarm and the swarms under it"},
    {"--since", "WHEN",
     "only costs since then: a duration back from now (1h, 30m, 2d) or an "
     "RFC 3339 time"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_costs_commands[] = {
    {{"costs", "", 0, 0, costs_flags},
     "what the managed agents cost, per swarm (with its subtree) and per template",
     "Each running managed agent costs its template's cost_per_hour for each second it\n"
     "runs. COST is the swarm's own agents, TOTAL adds the swarms under it. Costs are\n"
     "kept per minute, so --since counts from the start of its minute.",
     costs_show},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
