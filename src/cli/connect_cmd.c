/* SPDX-License-Identifier: MIT
 * connect_cmd.c - "swarm connect": asks the daemon how to run a shell as the agent
 * runs (GET /v1/agents/{id}/connect: argv, environment, working directory, and the
 * agent's sandbox already in argv) and replaces swarm with it. The shell runs here, so
 * this needs the daemon on this machine: only a Unix socket URL is accepted. */
#define _GNU_SOURCE /* execvpe */

#include "cli/connect_cmd.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_MAX_ARGS 4096
#define CONNECT_MAX_ENV  4096

/* Variables of the terminal kept from this environment when the agent's lacks them. */
static const char *const connect_terminal_vars[] = {"TERM", "COLORTERM", NULL};

/* Copies argv from the reply into a NULL-terminated array (caller frees the array;
 * the strings are borrowed from reply). */
static int connect_argv(const json_t *reply, char ***out)
{
    const json_t *argv = json_object_get(reply, "argv");
    size_t n = json_array_size(argv), i;
    char **list;
    json_t *arg;

    if (n == 0 || n > CONNECT_MAX_ARGS) {
        fprintf(stderr, "swarm: the daemon's reply has no \"argv\" to run\n");
        return SW_EBAD_JSON;
    }
    list = sw_calloc(n + 1, sizeof *list);
    if (list == NULL)
        return SW_ENOMEM;
    json_array_foreach(argv, i, arg)
    {
        if (!json_is_string(arg)) {
            fprintf(stderr, "swarm: argv[%zu] in the daemon's reply is not a string\n", i);
            sw_free(list);
            return SW_EBAD_JSON;
        }
        list[i] = (char *)json_string_value(arg);
    }
    *out = list;
    return 0;
}

/* Adds "NAME=VALUE" to env at *n (the string is owned by env). */
static int env_add(char **env, size_t *n, const char *name, const char *value)
{
    size_t size = strlen(name) + strlen(value) + 2;

    if ((env[*n] = sw_malloc(size)) == NULL)
        return SW_ENOMEM;
    snprintf(env[(*n)++], size, "%s=%s", name, value);
    return 0;
}

static void env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        sw_free(env[i]);
    sw_free(env);
}

/* Builds the shell's environment: the agent's, plus this terminal's TERM. */
static int connect_env(const json_t *reply, char ***out)
{
    const json_t *vars = json_object_get(reply, "env");
    size_t n = 0, size = json_object_size(vars);
    const char *name;
    json_t *value;
    char **env;
    int rc = 0;

    if (size > CONNECT_MAX_ENV || (vars && !json_is_object(vars))) {
        fprintf(stderr, "swarm: \"env\" in the daemon's reply is not an object of strings\n");
        return SW_EBAD_JSON;
    }
    env = sw_calloc(size + sizeof connect_terminal_vars / sizeof connect_terminal_vars[0] + 1,
                    sizeof *env);
    if (env == NULL)
        return SW_ENOMEM;
    json_object_foreach((json_t *)vars, name, value)
    {
        if (rc == 0 && !json_is_string(value)) {
            fprintf(stderr, "swarm: env %s in the daemon's reply is not a string\n", name);
            rc = SW_EBAD_JSON;
        }
        if (rc == 0)
            rc = env_add(env, &n, name, json_string_value(value));
    }
    for (const char *const *t = connect_terminal_vars; rc == 0 && *t; t++)
        if (getenv(*t) && !json_object_get(vars, *t))
            rc = env_add(env, &n, *t, getenv(*t));
    if (rc) {
        env_free(env);
        return rc;
    }
    *out = env;
    return 0;
}

/* Runs the shell the reply describes in place of this process; returns only when it
 * cannot. */
static int connect_exec(struct sw_cli *cli, const json_t *reply)
{
    const char *cwd = json_string_value(json_object_get(reply, "cwd"));
    char **argv = NULL, **env = NULL;
    int rc = connect_argv(reply, &argv);

    if (rc == 0)
        rc = connect_env(reply, &env);
    if (rc == 0 && cwd && chdir(cwd) != 0) {
        fprintf(stderr, "swarm: cannot enter the agent's directory %s: %s\n", cwd, strerror(errno));
        rc = SW_EIO;
    }
    if (rc == 0) {
        fflush(NULL);
        sw_client_close(&cli->client); /* no connection to the daemon left to the shell */
        cli->client_open = 0;
        execvpe(argv[0], argv, env);
        fprintf(stderr, "swarm: cannot run %s: %s\n", argv[0], strerror(errno));
        rc = SW_EIO;
    }
    sw_free(argv);
    env_free(env);
    return rc;
}

static int connect_run(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *reply = NULL;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0 && cli->endpoint.socket_path == NULL) {
        fprintf(stderr,
                "swarm: connect starts the shell on this machine, so it needs the daemon's "
                "Unix socket; %s (from %s) is not one\n",
                cli->endpoint.url, cli->endpoint.source);
        return SW_EXIT_USAGE;
    }
    if (rc == 0)
        rc = sw_client_call_on(client, "GET", "/v1/agents/", cli->args.operands[0], "/connect",
                               NULL, 0, &reply);
    if (rc == 0)
        rc = connect_exec(cli, reply);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

const struct sw_command sw_connect_commands[] = {
    {{"connect", "AGENT", 1, 1, NULL},
     "open a shell with an agent's environment, directory and sandbox",
     "The daemon says what to run (GET /v1/agents/AGENT/connect) and swarm runs it in\n"
     "its place, so swarm must be on the daemon's machine and reach it by its Unix\n"
     "socket (exit 2 otherwise). TERM and COLORTERM are kept from this terminal when\n"
     "the agent's environment has none. The exit status is the shell's.\n",
     connect_run},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
