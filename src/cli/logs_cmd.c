/* SPDX-License-Identifier: MIT
 * logs_cmd.c - "swarm logs": the output the daemon kept of an agent's process
 * (GET /v1/agents/{id}/logs), copied as it arrives; with -f, followed until the agent
 * is removed or the user interrupts. Given a swarm, it asks for the swarm's agents and
 * shows each one's lines after its name: one agent after the other, or with -f all of
 * them at once. */
#include "cli/logs_cmd.h"

#include "cli/stream.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

#define LOGS_TAIL_MAX     100000
#define LOGS_PATH_MAX     2048
#define LOGS_PREFIX_WIDTH 24 /* longer agent names push their lines right */

static int is_agent_id(const char *word)
{
    return strncmp(word, "a_", 2) == 0;
}

/* Writes "/v1/agents/ID/logs" and its query into path (caller frees). */
static int logs_path(const char *id, int64_t tail, int follow, char **path)
{
    struct sw_buf b;
    char sep = '?';
    int rc;

    sw_buf_init(&b, LOGS_PATH_MAX);
    rc = sw_buf_appendstr(&b, "/v1/agents/");
    if (rc == 0)
        rc = sw_client_escape(&b, id);
    if (rc == 0)
        rc = sw_buf_appendstr(&b, "/logs");
    if (rc == 0 && tail >= 0) {
        rc = sw_buf_appendf(&b, "%ctail=%lld", sep, (long long)tail);
        sep = '&';
    }
    if (rc == 0 && follow)
        rc = sw_buf_appendf(&b, "%cfollow=1", sep);
    if (rc == 0)
        *path = sw_buf_detach(&b, NULL);
    sw_buf_free(&b);
    return rc;
}

static int logs_agent(struct sw_cli *cli, const char *id, int64_t tail, int follow)
{
    struct sw_stream_source source = {NULL, NULL};
    char *path = NULL;
    int rc = logs_path(id, tail, follow, &path);

    source.path = path;
    if (rc == 0)
        rc = sw_stream_run(&cli->endpoint, &source, 1, follow);
    sw_free(path);
    return rc;
}

/* The name shown before each line of an agent: its name, else its id. */
static const char *agent_label(const json_t *agent)
{
    const char *name = json_string_value(json_object_get(agent, "name"));
    return name ? name : json_string_value(json_object_get(agent, "id"));
}

/* Fills one source per agent: path and padded prefix (both freed by logs_free). */
static int logs_sources(const json_t *agents, int64_t tail, int follow,
                        struct sw_stream_source *sources)
{
    size_t i, n = json_array_size(agents);
    int width = 0, rc = 0;
    json_t *agent;

    json_array_foreach(agents, i, agent)
    {
        int len = (int)strlen(agent_label(agent) ? agent_label(agent) : "-");
        width = len > width ? len : width;
    }
    width = width > LOGS_PREFIX_WIDTH ? LOGS_PREFIX_WIDTH : width;
    for (i = 0; rc == 0 && i < n; i++) {
        const json_t *a = json_array_get(agents, i);
        const char *id = json_string_value(json_object_get(a, "id"));
        const char *label = agent_label(a) ? agent_label(a) : "-";
        size_t size = strlen(label) + (size_t)width + 4;
        char *prefix = sw_malloc(size), *path = NULL;
        if (id == NULL) {
            fprintf(stderr, "swarm: an agent in the daemon's reply has no id\n");
            rc = SW_EBAD_JSON;
        } else if (prefix == NULL) {
            rc = SW_ENOMEM;
        } else {
            snprintf(prefix, size, "%-*s | ", width, label);
            rc = logs_path(id, tail, follow, &path);
        }
        sources[i].prefix = prefix;
        sources[i].path = path;
    }
    return rc;
}

static void logs_free(struct sw_stream_source *sources, size_t n)
{
    for (size_t i = 0; sources && i < n; i++) {
        sw_free((char *)sources[i].prefix);
        sw_free((char *)sources[i].path);
    }
    sw_free(sources);
}

static int logs_swarm(struct sw_cli *cli, struct sw_client *client, const char *name, int64_t tail,
                      int follow)
{
    struct sw_stream_source *sources = NULL;
    const json_t *agents;
    json_t *reply = NULL;
    size_t n = 0;
    int rc = sw_client_call_on(client, "GET", "/v1/swarms/", name, "", NULL, 0, &reply);

    agents = json_object_get(reply, "agents");
    if (rc == 0 && !json_is_array(agents)) {
        fprintf(stderr, "swarm: the daemon's reply about swarm \"%s\" has no \"agents\"\n", name);
        rc = SW_EBAD_JSON;
    }
    n = json_array_size(agents);
    if (rc == 0 && n == 0)
        fprintf(stderr, "swarm: swarm \"%s\" has no agents\n", name);
    if (rc == 0 && n > 0 && (sources = sw_calloc(n, sizeof *sources)) == NULL)
        rc = SW_ENOMEM;
    if (rc == 0 && n > 0)
        rc = logs_sources(agents, tail, follow, sources);
    if (rc == 0 && n > 0 && follow) {
        rc = sw_stream_run(&cli->endpoint, sources, n, 1);
    } else {
        /* one after the other; an agent removed meanwhile does not stop the rest */
        int status = 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
            if ((status = sw_stream_run(&cli->endpoint, &sources[i], 1, 0)) != SW_ENOT_FOUND)
                rc = status;
    }
    logs_free(sources, n);
    json_decref(reply);
    return rc;
}

static int logs_run(struct sw_cli *cli)
{
    const char *target = cli->args.operands[0];
    int follow = sw_args_has(&cli->args, "-f") || sw_args_has(&cli->args, "--follow");
    struct sw_client *client;
    int64_t tail = -1;
    int rc = sw_args_int(&cli->args, "--tail", 0, LOGS_TAIL_MAX, &tail);

    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0 && is_agent_id(target))
        rc = logs_agent(cli, target, tail, follow);
    else if (rc == 0)
        rc = logs_swarm(cli, client, target, tail, follow);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag logs_flags[] = {
    {"-f", NULL, "follow: keep printing new lines until Ctrl-C"},
    {"--follow", NULL, "the same as -f"},
    {"--tail", "N", "start with the last N lines (0 to 100000; default 100)"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_logs_commands[] = {
    {{"logs", "AGENT|SWARM", 1, 1, logs_flags},
     "print the output of an agent, or of every agent of a swarm",
     "AGENT is an agent id (a_...); anything else names a swarm, whose agents' lines\n"
     "are each prefixed with the agent's name: one agent after the other, or with -f\n"
     "all of them as the lines come. With -f, the agents of the swarm are those it has\n"
     "when the command starts.\n",
     logs_run},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
