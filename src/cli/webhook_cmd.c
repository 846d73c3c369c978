/* SPDX-License-Identifier: MIT
 * webhook_cmd.c - "swarm webhook": subscribe a URL to the daemon's events (signed
 * POSTs of each matching CloudEvent), list the subscriptions with how far each got,
 * show one, remove one, and enable one that was disabled after failing too long. */
#include "cli/webhook_cmd.h"

#include "cli/output.h"
#include "core/clock.h"
#include "core/error.h"

#include <string.h>

#define SECRET_LINE_MAX 1024 /* a secret read from stdin; the daemon takes 16..256 */

static const char *webhook_str(const json_t *w, const char *key)
{
    return json_string_value(json_object_get(w, key));
}

/* Writes the webhook's type patterns as "demo.*,swarmd.task.*". */
static void webhook_types(const json_t *w, char *out, size_t size)
{
    const json_t *types = json_object_get(w, "types");
    size_t i, len = 0;
    json_t *t;

    out[0] = '\0';
    json_array_foreach(types, i, t)
    {
        int n = snprintf(out + len, size - len, "%s%s", len ? "," : "",
                         json_string_value(t) ? json_string_value(t) : "?");
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    if (len == 0)
        snprintf(out, size, "-");
}

static int webhook_table(const json_t *webhooks)
{
    static const char *const header[] = {"ID",        "URL",      "TYPES",     "STATE",
                                         "DELIVERED", "FAILURES", "LAST-ERROR"};
    struct sw_table table;
    size_t i;
    json_t *w;
    int rc = sw_table_init(&table, header, (int)(sizeof header / sizeof header[0]));

    json_array_foreach(webhooks, i, w)
    {
        char types[512], delivered[32], failures[32], last_error[80];
        if (rc)
            break;
        webhook_types(w, types, sizeof types);
        sw_output_text(json_object_get(w, "delivered_seq"), delivered, sizeof delivered);
        sw_output_text(json_object_get(w, "failures"), failures, sizeof failures);
        sw_output_text(json_object_get(w, "last_error"), last_error, sizeof last_error);
        const char *row[] = {webhook_str(w, "id"),
                             webhook_str(w, "url"),
                             types,
                             webhook_str(w, "state"),
                             delivered,
                             failures,
                             last_error};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0)
        sw_table_print(&table, stdout);
    sw_table_free(&table);
    return rc;
}

static int webhook_ls(struct sw_cli *cli)
{
    return sw_cli_list(cli, "/v1/webhooks", "webhooks", webhook_table);
}

/* The key: value view of one webhook. */
static void webhook_print(const json_t *w)
{
    int64_t now_ms = sw_clock_wall_ms();
    char types[4096];

    sw_output_field_text(stdout, "id", w, "id");
    sw_output_field_text(stdout, "url", w, "url");
    webhook_types(w, types, sizeof types);
    sw_output_field(stdout, "types", types);
    sw_output_field_text(stdout, "state", w, "state");
    sw_output_field_text(stdout, "delivered", w, "delivered_seq");
    if (json_is_object(json_object_get(w, "pending")))
        sw_output_field_json(stdout, "pending", w, "pending");
    else
        sw_output_field(stdout, "pending", "-");
    sw_output_field_text(stdout, "failures", w, "failures");
    sw_output_field_text(stdout, "last error", w, "last_error");
    sw_output_field_text(stdout, "disabled", w, "disabled_reason");
    sw_output_field_time(stdout, "created", w, "created_at", now_ms);
}

static int webhook_get(struct sw_cli *cli)
{
    return sw_cli_show(cli, "/v1/webhooks/", webhook_print);
}

/* The secret: the flag's value, or one line of standard input for "-". */
static int secret_value(struct sw_args *a, char *line, size_t size, const char **secret)
{
    const char *flag = sw_args_get(a, "--secret");

    if (flag == NULL)
        return sw_args_fail(a, "webhook add needs --secret S (16 to 256 characters)");
    if (strcmp(flag, "-") != 0) {
        *secret = flag;
        return 0;
    }
    if (fgets(line, (int)size, stdin) == NULL)
        return sw_args_fail(a, "--secret -: nothing to read on stdin");
    line[strcspn(line, "\r\n")] = '\0';
    *secret = line;
    return 0;
}

/* Builds the POST /v1/webhooks body (new reference). */
static int add_body(struct sw_args *a, const char *secret, json_t **out)
{
    json_t *body = json_object(), *types = NULL, *v;
    const char *type;
    int pos = 0, rc = body ? 0 : SW_ENOMEM;

    if (rc == 0 &&
        ((v = json_string(a->operands[0])) == NULL || json_object_set_new(body, "url", v)))
        rc = sw_args_fail(a, "URL: '%s' is not valid UTF-8", a->operands[0]);
    if (rc == 0 && ((v = json_string(secret)) == NULL || json_object_set_new(body, "secret", v)))
        rc = sw_args_fail(a, "--secret: not valid UTF-8");
    while (rc == 0 && (type = sw_args_next(a, "--type", &pos)) != NULL) {
        if (types == NULL &&
            ((types = json_array()) == NULL || json_object_set_new(body, "types", types)))
            rc = SW_ENOMEM;
        else if ((v = json_string(type)) == NULL || json_array_append_new(types, v))
            rc = sw_args_fail(a, "--type: '%s' is not valid UTF-8", type);
    }
    if (rc)
        json_decref(body);
    else
        *out = body;
    return rc;
}

static int webhook_add(struct sw_cli *cli)
{
    struct sw_args *a = &cli->args;
    struct sw_client *client;
    char line[SECRET_LINE_MAX];
    const char *secret = NULL;
    json_t *body = NULL, *webhook = NULL;
    int rc = secret_value(a, line, sizeof line, &secret);

    if (rc == 0)
        rc = add_body(a, secret, &body);
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0)
        rc = sw_client_call(client, "POST", "/v1/webhooks", body, 0, &webhook);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, webhook);
    else if (rc == 0)
        printf("%s\n", webhook_str(webhook, "id") ? webhook_str(webhook, "id") : "created");
    memset(line, 0, sizeof line);
    json_decref(body);
    json_decref(webhook);
    return sw_cli_exit(cli, rc);
}

static int webhook_rm(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *reply = NULL;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0)
        rc = sw_client_call_on(client, "DELETE", "/v1/webhooks/", cli->args.operands[0], "", NULL,
                               0, &reply);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        printf("%s removed\n", cli->args.operands[0]);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

static int webhook_enable(struct sw_cli *cli)
{
    return sw_cli_act(cli, "/v1/webhooks/", "/enable");
}

static const struct sw_flag add_flags[] = {
    {"--secret", "S", "the signing secret, 16 to 256 characters; - reads it from stdin"},
    {"--type", "T", "an event type, or a prefix ending in '*' (repeatable; default all)"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_webhook_commands[] = {
    {{"webhook add", "URL", 1, 1, add_flags},
     "POST matching events to URL, signed; print the webhook's id",
     "Delivery starts with the next event. Each request carries X-Swarm-Timestamp,\n"
     "X-Swarm-Event-Id and X-Swarm-Signature: sha256=HMAC-SHA256(secret,\n"
     "\"<timestamp>.<body>\") in hex. With -o json, the webhook as the daemon returned it.\n",
     webhook_add},
    {{"webhook ls", "", 0, 0, NULL}, "list webhooks", NULL, webhook_ls},
    {{"webhook get", "ID", 1, 1, NULL}, "show a webhook and its delivery state", NULL, webhook_get},
    {{"webhook rm", "ID", 1, 1, NULL}, "remove a webhook", NULL, webhook_rm},
    {{"webhook enable", "ID", 1, 1, NULL},
     "resume a disabled webhook with the event that failed",
     NULL,
     webhook_enable},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
