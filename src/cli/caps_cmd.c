/* SPDX-License-Identifier: MIT
 * caps_cmd.c - "swarm caps" lists the capabilities the daemon knows (GET
 * /v1/capabilities) as a table: providing swarms, agents ready, busy and in all,
 * queued tasks, run-time p50 and p95 and the success rate of the last five minutes;
 * "swarm caps NAME" shows what a request for NAME matches, version by version.
 * "swarm discover CAPABILITY" shows the swarms and agents that could serve it (GET
 * /v1/discover), in the order the router picks them, filtered by -l key=value. */
#include "cli/caps_cmd.h"

#include "cli/output.h"
#include "core/duration.h"
#include "core/error.h"

#include <string.h>

#define CAPS_PATH_MAX 8192

static const char *obj_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_int_t obj_int(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static void int_cell(json_int_t v, char *out, size_t size)
{
    snprintf(out, size, "%" JSON_INTEGER_FORMAT, v);
}

/* "12ms", "1500ms", "2m"; "-" when the daemon sent null (no success in the window). */
static void ms_cell(const json_t *v, char *out, size_t size)
{
    if (json_is_integer(v))
        sw_duration_format(json_integer_value(v), out, size);
    else
        snprintf(out, size, "-");
}

/* "97.5%", or "-" with nothing finished in the window. */
static void rate_cell(const json_t *v, char *out, size_t size)
{
    if (json_is_number(v))
        snprintf(out, size, "%.1f%%", json_number_value(v) * 100.0);
    else
        snprintf(out, size, "-");
}

/* The swarm names joined with commas, "-" for none. */
static void swarms_cell(const json_t *swarms, char *out, size_t size)
{
    size_t used = 0, i;
    json_t *name;

    snprintf(out, size, "-");
    json_array_foreach(swarms, i, name)
    {
        int n = snprintf(out + used, size - used, "%s%s", i ? "," : "",
                         json_string_value(name) ? json_string_value(name) : "?");
        if (n < 0 || (size_t)n >= size - used) {
            if (size > 4)
                memcpy(out + size - 4, "...", 4);
            return;
        }
        used += (size_t)n;
    }
}

static int caps_row(struct sw_table *t, const json_t *cap)
{
    const json_t *agents = json_object_get(cap, "agents"), *stats = json_object_get(cap, "stats");
    char swarms[256], ready[24], busy[24], total[24], queued[24], p50[32], p95[32], rate[24];

    swarms_cell(json_object_get(cap, "swarms"), swarms, sizeof swarms);
    int_cell(obj_int(agents, "ready"), ready, sizeof ready);
    int_cell(obj_int(agents, "busy"), busy, sizeof busy);
    int_cell(obj_int(agents, "total"), total, sizeof total);
    int_cell(obj_int(cap, "queued"), queued, sizeof queued);
    ms_cell(json_object_get(stats, "p50_ms"), p50, sizeof p50);
    ms_cell(json_object_get(stats, "p95_ms"), p95, sizeof p95);
    rate_cell(json_object_get(stats, "success_rate"), rate, sizeof rate);
    const char *row[] = {obj_str(cap, "name"), swarms, ready, busy, total, queued, p50, p95, rate};
    return sw_table_add(t, row);
}

static int caps_table(const json_t *caps, FILE *out)
{
    static const char *const header[] = {"CAPABILITY", "SWARMS", "READY", "BUSY",   "TOTAL",
                                         "QUEUED",     "P50",    "P95",   "SUCCESS"};
    struct sw_table table;
    size_t i;
    json_t *cap;
    int rc = sw_table_init(&table, header, 9);

    json_array_foreach(caps, i, cap)
    {
        if (rc)
            break;
        rc = caps_row(&table, cap);
    }
    if (rc == 0 && json_array_size(caps) == 0)
        fprintf(out, "(no capabilities)\n");
    else if (rc == 0)
        sw_table_print(&table, out);
    sw_table_free(&table);
    return rc;
}

/* One capability: what a request for it matches, added up, then each version. */
static int cap_print(const json_t *cap, FILE *out)
{
    const json_t *stats = json_object_get(cap, "stats");
    char text[256], p50[32], p95[32], rate[24];

    sw_output_field_text(out, "capability", cap, "name");
    swarms_cell(json_object_get(cap, "swarms"), text, sizeof text);
    sw_output_field(out, "swarms", text);
    snprintf(text, sizeof text,
             "%" JSON_INTEGER_FORMAT " ready, %" JSON_INTEGER_FORMAT " busy, %" JSON_INTEGER_FORMAT
             " in all",
             obj_int(json_object_get(cap, "agents"), "ready"),
             obj_int(json_object_get(cap, "agents"), "busy"),
             obj_int(json_object_get(cap, "agents"), "total"));
    sw_output_field(out, "agents", text);
    snprintf(text, sizeof text,
             "%" JSON_INTEGER_FORMAT " queued, %" JSON_INTEGER_FORMAT
             " scheduled, %" JSON_INTEGER_FORMAT " running",
             obj_int(cap, "queued"), obj_int(cap, "scheduled"), obj_int(cap, "running"));
    sw_output_field(out, "tasks", text);
    json_int_t ended = obj_int(stats, "succeeded") + obj_int(stats, "failed");
    ms_cell(json_object_get(stats, "p50_ms"), p50, sizeof p50);
    ms_cell(json_object_get(stats, "p95_ms"), p95, sizeof p95);
    rate_cell(json_object_get(stats, "success_rate"), rate, sizeof rate);
    if (ended == 0)
        snprintf(text, sizeof text, "no attempt ended in the last 5m");
    else
        snprintf(text, sizeof text,
                 "%s of %" JSON_INTEGER_FORMAT " attempts succeeded in the last 5m; run time "
                 "p50 %s, p95 %s",
                 rate, ended, p50, p95);
    sw_output_field(out, "recent", text);
    fputc('\n', out);
    return caps_table(json_object_get(cap, "versions"), out);
}

static int caps_run(struct sw_cli *cli)
{
    const char *name = cli->args.noperands ? cli->args.operands[0] : NULL;
    struct sw_client *client;
    json_t *reply = NULL;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0 && name)
        rc = sw_client_call_on(client, "GET", "/v1/capabilities/", name, "", NULL, 0, &reply);
    else if (rc == 0)
        rc = sw_client_call(client, "GET", "/v1/capabilities", NULL, 0, &reply);
    if (rc == 0 && !cli->json &&
        !json_is_array(json_object_get(reply, name ? "versions" : "capabilities"))) {
        fprintf(stderr, "swarm: the daemon's reply has no \"%s\" array\n",
                name ? "versions" : "capabilities");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0 && name)
        rc = cap_print(reply, stdout);
    else if (rc == 0)
        rc = caps_table(json_object_get(reply, "capabilities"), stdout);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

/* ---- discover ---- */

/* Appends each -l / --label K=V to sel as "K=V,K2=V2". 0, SW_EINVAL or a buffer error. */
static int selector_add(struct sw_args *a, const char *flag, struct sw_buf *sel)
{
    const char *label;
    int pos = 0, rc = 0;

    while (rc == 0 && (label = sw_args_next(a, flag, &pos)) != NULL) {
        const char *eq = strchr(label, '=');
        if (eq == NULL || eq == label || strchr(label, ','))
            return sw_args_fail(a, "%s: '%s' is not KEY=VALUE (without commas)", flag, label);
        rc = sel->len ? sw_buf_append(sel, ",", 1) : 0;
        rc = rc ? rc : sw_buf_appendstr(sel, label);
    }
    return rc;
}

static int discover_path(struct sw_args *a, struct sw_buf *path)
{
    struct sw_buf sel;
    int64_t limit = 0;
    char limit_text[24];
    int rc = sw_args_int(a, "--limit", 1, 100000, &limit);

    sw_buf_init(&sel, CAPS_PATH_MAX);
    rc = rc ? rc : selector_add(a, "-l", &sel);
    rc = rc ? rc : selector_add(a, "--label", &sel);
    snprintf(limit_text, sizeof limit_text, "%lld", (long long)limit);
    rc = rc ? rc : sw_buf_appendstr(path, "/v1/discover");
    rc = rc ? rc : sw_cli_query_add(path, "capability", a->operands[0]);
    rc = rc ? rc : sw_cli_query_add(path, "labels", sel.len ? sel.data : NULL);
    rc = rc ? rc : sw_cli_query_add(path, "swarm", sw_args_get(a, "--swarm"));
    rc = rc ? rc : sw_cli_query_add(path, "limit", limit ? limit_text : NULL);
    sw_buf_free(&sel);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "the labels are too long") : rc;
}

static int discover_swarms(const json_t *swarms, FILE *out)
{
    static const char *const header[] = {"SWARM", "CAPABILITY", "STATE", "READY",
                                         "BUSY",  "TOTAL",      "HOPS"};
    struct sw_table table;
    size_t i;
    json_t *sw;
    int rc = sw_table_init(&table, header, 7);

    json_array_foreach(swarms, i, sw)
    {
        const json_t *agents = json_object_get(sw, "agents");
        char ready[24], busy[24], total[24], hops[24];
        if (rc)
            break;
        int_cell(obj_int(agents, "ready"), ready, sizeof ready);
        int_cell(obj_int(agents, "busy"), busy, sizeof busy);
        int_cell(obj_int(agents, "total"), total, sizeof total);
        int_cell(obj_int(sw, "distance"), hops, sizeof hops);
        const char *row[] = {obj_str(sw, "name"),
                             obj_str(sw, "capability"),
                             obj_str(sw, "state"),
                             ready,
                             busy,
                             total,
                             hops};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0 && json_array_size(swarms) == 0)
        fprintf(out, "(no swarms)\n");
    else if (rc == 0)
        sw_table_print(&table, out);
    sw_table_free(&table);
    return rc;
}

static int discover_agents(const json_t *agents, FILE *out)
{
    static const char *const header[] = {"AGENT", "NAME", "SWARM", "CAPABILITY",
                                         "STATE", "FREE", "HOPS"};
    struct sw_table table;
    size_t i;
    json_t *a;
    int rc = sw_table_init(&table, header, 7);

    json_array_foreach(agents, i, a)
    {
        char free_slots[48], hops[24];
        if (rc)
            break;
        snprintf(free_slots, sizeof free_slots, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                 obj_int(a, "free_slots"), obj_int(a, "slots"));
        int_cell(obj_int(a, "distance"), hops, sizeof hops);
        const char *swarm = obj_str(a, "swarm");
        const char *row[] = {obj_str(a, "id"),
                             obj_str(a, "name"),
                             swarm ? swarm : "-",
                             obj_str(a, "capability"),
                             obj_str(a, "state"),
                             free_slots,
                             hops};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0 && json_array_size(agents) == 0)
        fprintf(out, "(no agents)\n");
    else if (rc == 0)
        sw_table_print(&table, out);
    sw_table_free(&table);
    return rc;
}

static int discover_print(const json_t *reply, FILE *out)
{
    const json_t *total = json_object_get(reply, "total");
    const json_t *swarms = json_object_get(reply, "swarms"),
                 *agents = json_object_get(reply, "agents");
    int rc = discover_swarms(swarms, out);

    fputc('\n', out);
    rc = rc ? rc : discover_agents(agents, out);
    if (rc == 0 && obj_int(total, "agents") > (json_int_t)json_array_size(agents))
        fprintf(out, "(%" JSON_INTEGER_FORMAT " agents in all: raise --limit to see them)\n",
                obj_int(total, "agents"));
    return rc;
}

static int discover_run(struct sw_cli *cli)
{
    struct sw_client *client;
    struct sw_buf path;
    json_t *reply = NULL;
    int rc;

    sw_buf_init(&path, CAPS_PATH_MAX);
    rc = discover_path(&cli->args, &path); /* usage errors first */
    rc = rc ? rc : sw_cli_client(cli, &client);
    rc = rc ? rc : sw_client_call(client, "GET", path.data, NULL, 0, &reply);
    if (rc == 0 && !cli->json &&
        (!json_is_array(json_object_get(reply, "agents")) ||
         !json_is_array(json_object_get(reply, "swarms")))) {
        fprintf(stderr, "swarm: the daemon's reply has no \"agents\" and \"swarms\" arrays\n");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        rc = discover_print(reply, stdout);
    json_decref(reply);
    sw_buf_free(&path);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag discover_flags[] = {
    {"-l", "K=V", "only agents and swarms with this label; repeat for more"},
    {"--label", "K=V", "the same as -l"},
    {"--swarm", "S", "ask from swarm S: its own agents and swarm come first"},
    {"--limit", "N", "at most N swarms and N agents (default 1000)"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_caps_commands[] = {
    {{"caps", "[CAPABILITY]", 0, 1, NULL},
     "list the capabilities with their providers, queues and recent run times",
     "Columns: CAPABILITY (as providers and tasks spell it, with its @version), SWARMS\n"
     "(whose template or agents provide it, also when scaled to zero), READY, BUSY and\n"
     "TOTAL (its agents), QUEUED (its tasks waiting for an agent), P50 and P95 (run\n"
     "time of the successes of the last five minutes) and SUCCESS (successes of the\n"
     "attempts that ended in the last five minutes). With CAPABILITY: what a request for\n"
     "it matches (a bare name matches every version), added up, then version by version.\n"
     "With -o json, the daemon's reply.\n",
     caps_run},
    {{"discover", "CAPABILITY", 1, 1, discover_flags},
     "show who could serve a capability, in the order the router picks",
     "Swarms first: with --swarm, that swarm before the others (HOPS 0), then the\n"
     "fewest busy agents, then the highest version. Then agents: with --swarm, its\n"
     "agents first; then ready before busy before the rest, the highest version, the\n"
     "most free slots (FREE is free/slots). A bare CAPABILITY matches every version,\n"
     "CAPABILITY@N only version N. With -o json, the daemon's reply.\n",
     discover_run},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
