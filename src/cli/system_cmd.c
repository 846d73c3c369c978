/* SPDX-License-Identifier: MIT
 * system_cmd.c - "swarm health" asks the daemon whether it is alive (GET /health) and
 * ready for work (GET /ready) and exits 0 only when it is both, 3 otherwise; "swarm
 * version" and "swarm help" answer without looking for a daemon. */
#include "cli/system_cmd.h"

#include "cli/output.h"
#include "core/error.h"

#include <string.h>

#define HEALTH_TIMEOUT_MS 10000L

/* Writes what a probe answered: "ok" for a 200, else the status and the daemon's
 * error message. */
static void probe_text(long status, const json_t *body, const char *good, char *out, size_t size)
{
    const char *message =
        json_string_value(json_object_get(json_object_get(body, "error"), "message"));

    if (status == 200)
        snprintf(out, size, "%s", good);
    else
        snprintf(out, size, "no (HTTP %ld%s%s)", status, message ? ": " : "",
                 message ? message : "");
}

static int health_print(const struct sw_cli *cli, long health, json_t *health_body, long ready,
                        json_t *ready_body)
{
    char text[512];
    json_t *report;

    if (cli->json) {
        report = json_pack("{s:s,s:b,s:O?,s:b}", "url", cli->endpoint.url, "healthy", health == 200,
                           "health", health_body, "ready", ready == 200);
        if (report == NULL)
            return SW_ENOMEM;
        sw_output_json(stdout, report);
        json_decref(report);
        return 0;
    }
    sw_output_field(stdout, "url", cli->endpoint.url);
    probe_text(health, health_body, "ok", text, sizeof text);
    sw_output_field(stdout, "health", text);
    probe_text(ready, ready_body, "yes", text, sizeof text);
    sw_output_field(stdout, "ready", text);
    return 0;
}

static int system_health(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *health_body = NULL, *ready_body = NULL;
    long health = 0, ready = 0;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0)
        rc = sw_client_request(client, "GET", "/health", NULL, HEALTH_TIMEOUT_MS, &health,
                               &health_body);
    if (rc == 0)
        rc = sw_client_request(client, "GET", "/ready", NULL, HEALTH_TIMEOUT_MS, &ready,
                               &ready_body);
    if (rc == 0)
        rc = health_print(cli, health, health_body, ready, ready_body);
    json_decref(health_body);
    json_decref(ready_body);
    if (rc)
        return sw_cli_exit(cli, rc);
    return health == 200 && ready == 200 ? SW_EXIT_OK : SW_EXIT_UNREACHABLE;
}

static int system_version(struct sw_cli *cli)
{
    if (cli->json)
        printf("{\n  \"version\": \"%s\"\n}\n", SW_VERSION);
    else
        printf("swarm %s\n", SW_VERSION);
    return SW_EXIT_OK;
}

static int system_help(struct sw_cli *cli)
{
    return sw_cli_help(cli, cli->args.operands, cli->args.noperands, stdout);
}

const struct sw_command sw_system_commands[] = {
    {{"health", "", 0, 0, NULL},
     "check that the daemon is up and ready (exit 0), else exit 3",
     NULL,
     system_health},
    {{"version", "", 0, 0, NULL}, "print the version of swarm", NULL, system_version},
    {{"help", "[COMMAND]", 0, 2, NULL}, "show help for a command", NULL, system_help},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
