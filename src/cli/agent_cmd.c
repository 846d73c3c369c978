/* SPDX-License-Identifier: MIT
 * agent_cmd.c - "swarm agent": list the agents the daemon knows (managed and remote)
 * with their swarm, process and load, show one, create a managed one from a template,
 * stop, start or restart its process, and remove one. */
#include "cli/agent_cmd.h"

#include "cli/output.h"
#include "core/clock.h"
#include "core/error.h"

#include <string.h>

static const char *agent_str(const json_t *agent, const char *key)
{
    return json_string_value(json_object_get(agent, key));
}

/* Writes the agent's capabilities as "resize,thumbnail", "-" when it has none. */
static void agent_capabilities(const json_t *agent, char *out, size_t size)
{
    const json_t *caps = json_object_get(agent, "capabilities");
    size_t i, len = 0;
    json_t *cap;

    out[0] = '\0';
    json_array_foreach(caps, i, cap)
    {
        const char *name = json_string_value(json_object_get(cap, "name"));
        char text[128];
        int n;
        if (name)
            snprintf(text, sizeof text, "%s", name); /* {"name":"resize","version":2} */
        else
            sw_output_text(cap, text, sizeof text);
        n = snprintf(out + len, size - len, "%s%s", len ? "," : "", text);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    if (len == 0)
        snprintf(out, size, "-");
}

/* The agent's process id; "-" while it has none (0, as between exec tasks). */
static void agent_pid(const json_t *agent, char *out, size_t size)
{
    const json_t *pid = json_object_get(agent, "pid");

    if (json_is_integer(pid) && json_integer_value(pid) > 0)
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(pid));
    else
        snprintf(out, size, "-");
}

/* The state of the agent's circuit breaker: closed, open or half-open ("-" if unknown). */
static void agent_breaker(const json_t *agent, char *out, size_t size)
{
    const char *state =
        json_string_value(json_object_get(json_object_get(agent, "breaker"), "state"));

    snprintf(out, size, "%s",
             state == NULL                     ? "-"
             : strcmp(state, "half_open") == 0 ? "half-open"
                                               : state);
}

static int agent_table(const json_t *agents)
{
    static const char *const header[] = {"ID",        "NAME",         "SWARM", "STATE",
                                         "PID",       "CAPABILITIES", "SLOTS", "RUNNING",
                                         "LAST-SEEN", "BREAKER"};
    int64_t now_ms = sw_clock_wall_ms();
    struct sw_table table;
    size_t i;
    json_t *agent;
    int rc = sw_table_init(&table, header, (int)(sizeof header / sizeof header[0]));

    json_array_foreach(agents, i, agent)
    {
        char caps[512], slots[32], running[32], seen[32], pid[32], breaker[32];
        if (rc)
            break;
        agent_capabilities(agent, caps, sizeof caps);
        agent_pid(agent, pid, sizeof pid);
        sw_output_text(json_object_get(agent, "slots"), slots, sizeof slots);
        sw_output_text(json_object_get(agent, "running"), running, sizeof running);
        sw_output_age(json_object_get(agent, "last_seen_at"), now_ms, seen, sizeof seen);
        agent_breaker(agent, breaker, sizeof breaker);
        const char *row[] = {agent_str(agent, "id"),
                             agent_str(agent, "name"),
                             agent_str(agent, "swarm"),
                             agent_str(agent, "state"),
                             pid,
                             caps,
                             slots,
                             running,
                             seen,
                             breaker};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0)
        sw_table_print(&table, stdout);
    sw_table_free(&table);
    return rc;
}

static int agent_ls(struct sw_cli *cli)
{
    return sw_cli_list(cli, "/v1/agents", "agents", agent_table);
}

/* The key: value view of one agent. */
static void agent_print(const json_t *agent)
{
    int64_t now_ms = sw_clock_wall_ms();
    char caps[4096], pid[32], breaker[96];
    const char *reason;

    sw_output_field_text(stdout, "id", agent, "id");
    sw_output_field_text(stdout, "name", agent, "name");
    sw_output_field_text(stdout, "kind", agent, "kind");
    sw_output_field_text(stdout, "state", agent, "state");
    agent_capabilities(agent, caps, sizeof caps);
    sw_output_field(stdout, "capabilities", caps);
    sw_output_field_text(stdout, "slots", agent, "slots");
    sw_output_field_text(stdout, "running", agent, "running");
    sw_output_field_text(stdout, "swarm", agent, "swarm");
    agent_breaker(agent, breaker, sizeof breaker);
    reason = json_string_value(json_object_get(json_object_get(agent, "breaker"), "reason"));
    if (reason)
        snprintf(breaker + strlen(breaker), sizeof breaker - strlen(breaker), " (%s)", reason);
    sw_output_field(stdout, "breaker", breaker);
    if (json_object_get(agent, "template")) {
        sw_output_field_text(stdout, "template", agent, "template");
        agent_pid(agent, pid, sizeof pid);
        sw_output_field(stdout, "pid", pid);
        sw_output_field_text(stdout, "restarts", agent, "restarts");
        sw_output_field_time(stdout, "started", agent, "started_at", now_ms);
        if (json_is_object(json_object_get(agent, "exit")))
            sw_output_field_json(stdout, "last exit", agent, "exit");
        else
            sw_output_field(stdout, "last exit", "-");
    }
    if (json_object_size(json_object_get(agent, "labels")) > 0)
        sw_output_field_json(stdout, "labels", agent, "labels");
    sw_output_field_time(stdout, "created", agent, "created_at", now_ms);
    sw_output_field_time(stdout, "last seen", agent, "last_seen_at", now_ms);
}

static int agent_get(struct sw_cli *cli)
{
    return sw_cli_show(cli, "/v1/agents/", agent_print);
}

static int agent_rm(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *reply = NULL;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0)
        rc = sw_client_call_on(client, "DELETE", "/v1/agents/", cli->args.operands[0], "", NULL, 0,
                               &reply);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        printf("%s removed\n", cli->args.operands[0]);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

/* Sets obj[field] to value, named by flag in the error when it is not UTF-8. */
static int set_string(struct sw_args *a, json_t *obj, const char *field, const char *value,
                      const char *flag)
{
    json_t *s = json_string(value);

    if (s == NULL)
        return sw_args_fail(a, "%s: '%s' is not valid UTF-8", flag, value);
    return json_object_set_new(obj, field, s) ? SW_ENOMEM : 0;
}

static int agent_create(struct sw_cli *cli)
{
    struct sw_args *a = &cli->args;
    struct sw_client *client;
    json_t *body = json_object(), *agent = NULL;
    int rc = body ? 0 : SW_ENOMEM;

    if (rc == 0 && !sw_args_has(a, "--name"))
        rc = sw_args_fail(a, "agent create needs --name N");
    if (rc == 0 && !sw_args_has(a, "--template"))
        rc = sw_args_fail(a, "agent create needs --template T");
    if (rc == 0)
        rc = set_string(a, body, "name", sw_args_get(a, "--name"), "--name");
    if (rc == 0)
        rc = set_string(a, body, "template", sw_args_get(a, "--template"), "--template");
    if (rc == 0 && sw_args_has(a, "--swarm"))
        rc = set_string(a, body, "swarm", sw_args_get(a, "--swarm"), "--swarm");
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0)
        rc = sw_client_call(client, "POST", "/v1/agents", body, 0, &agent);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, agent);
    else if (rc == 0)
        printf("%s\n", agent_str(agent, "id") ? agent_str(agent, "id") : "created");
    json_decref(body);
    json_decref(agent);
    return sw_cli_exit(cli, rc);
}

/* POST /v1/agents/{id}/{action}, then prints the reply (or "ID STATE"). */
static int agent_act(struct sw_cli *cli, const char *suffix)
{
    return sw_cli_act(cli, "/v1/agents/", suffix);
}

static int agent_stop(struct sw_cli *cli)
{
    return agent_act(cli, "/stop");
}

static int agent_start(struct sw_cli *cli)
{
    return agent_act(cli, "/start");
}

static int agent_restart(struct sw_cli *cli)
{
    return agent_act(cli, "/restart");
}

static const struct sw_flag create_flags[] = {
    {"--name", "N", "the agent's name (required)"},
    {"--template", "T", "the template it runs (required)"},
    {"--swarm", "S", "the swarm it belongs to"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_agent_commands[] = {
    {{"agent ls", "", 0, 0, NULL}, "list agents", NULL, agent_ls},
    {{"agent get", "ID", 1, 1, NULL}, "show an agent", NULL, agent_get},
    {{"agent create", "--name N --template T", 0, 0, create_flags},
     "start a managed agent from a template and print its id",
     "With -o json, the agent as the daemon returned it.\n",
     agent_create},
    {{"agent stop", "ID", 1, 1, NULL}, "stop a managed agent's process", NULL, agent_stop},
    {{"agent start", "ID", 1, 1, NULL}, "start a stopped managed agent", NULL, agent_start},
    {{"agent restart", "ID", 1, 1, NULL},
     "stop a managed agent's process and start it again",
     NULL,
     agent_restart},
    {{"agent rm", "ID", 1, 1, NULL}, "remove an agent", NULL, agent_rm},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
