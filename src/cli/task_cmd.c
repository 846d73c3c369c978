/* SPDX-License-Identifier: MIT
 * task_cmd.c - "swarm task": submit a task (payload inline, from a file or stdin),
 * show one, wait for it by long-polling GET /v1/tasks/{id}?wait_ms=, cancel or retry
 * it, list tasks page by page, and show a task's tree (tree_cmd.c). The exit status
 * tells how a waited-for task ended: 0 succeeded, 1 failed or cancelled. */
#include "cli/task_cmd.h"

#include "cli/output.h"
#include "cli/tree_cmd.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"

#include <stdint.h>
#include <string.h>

#define TASK_WAIT_MS       30000L /* one long poll */
#define TASK_WAIT_SLACK_MS 15000L /* the request's limit is this much above the poll */
#define TASK_PATH_MAX      8192

static const char *const task_states[] = {
    "scheduled", "queued", "running", "succeeded", "failed", "cancelled", "waiting", NULL,
};

static const char *task_str(const json_t *task, const char *key)
{
    return json_string_value(json_object_get(task, key));
}

/* task_str for printing: "-" when the field is absent or not a string. */
static const char *task_text(const json_t *task, const char *key)
{
    const char *text = task_str(task, key);
    return text ? text : "-";
}

static int task_is_terminal(const json_t *task)
{
    const char *state = task_str(task, "state");
    return state && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
                     strcmp(state, "cancelled") == 0);
}

/* Long-polls until task id ends; *task is its final state (new reference). */
static int task_wait_end(struct sw_client *client, const char *id, json_t **task)
{
    char suffix[32];
    int rc;

    snprintf(suffix, sizeof suffix, "?wait_ms=%ld", TASK_WAIT_MS);
    for (;;) {
        int64_t started_ms = sw_clock_mono_ms();
        rc = sw_client_call_on(client, "GET", "/v1/tasks/", id, suffix, NULL,
                               TASK_WAIT_MS + TASK_WAIT_SLACK_MS, task);
        if (rc || task_is_terminal(*task))
            return rc;
        json_decref(*task);
        *task = NULL;
        if (sw_clock_mono_ms() - started_ms < 1000)
            sw_cli_sleep_ms(500); /* the daemon did not hold the poll: do not spin */
    }
}

static void task_print_failure(const json_t *task)
{
    const json_t *error = json_object_get(task, "error");
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));

    fprintf(stderr, "swarm: task %s %s", task_text(task, "id"), task_text(task, "state"));
    if (code || message)
        fprintf(stderr, ": %s%s%s", code ? code : "", code && message ? ": " : "",
                message ? message : "");
    fputc('\n', stderr);
}

/* Shows how a task ended: with -o json the whole task, else the result of a success
 * on stdout or the error on stderr. Returns SW_EXIT_OK or SW_EXIT_FAILED. */
static int task_report_end(const struct sw_cli *cli, const json_t *task)
{
    const char *state = task_str(task, "state");
    int succeeded = state && strcmp(state, "succeeded") == 0;
    const json_t *result = json_object_get(task, "result");

    if (cli->json)
        sw_output_json(stdout, task);
    else if (succeeded)
        sw_output_json(stdout, result ? result : json_null());
    else
        task_print_failure(task);
    return succeeded ? SW_EXIT_OK : SW_EXIT_FAILED;
}

/* Sets obj[field] to the string value given by flag (named in the error). */
static int set_string(struct sw_args *a, json_t *obj, const char *field, const char *value,
                      const char *flag)
{
    json_t *s = json_string(value);

    if (s == NULL)
        return sw_args_fail(a, "%s: '%s' is not valid UTF-8", flag, value);
    return json_object_set_new(obj, field, s) ? SW_ENOMEM : 0;
}

static const struct submit_number {
    const char *flag;
    const char *field;
    int is_duration;
    int64_t min, max;
} submit_numbers[] = {
    {"--priority", "priority", 0, INT32_MIN, INT32_MAX},
    {"--delay", "delay_ms", 1, 0, 0},
    {"--timeout", "timeout_ms", 1, 0, 0},
    {"--attempts", "max_attempts", 0, 1, INT32_MAX},
};

static int submit_add_numbers(struct sw_args *a, json_t *body)
{
    for (size_t i = 0; i < sizeof submit_numbers / sizeof submit_numbers[0]; i++) {
        const struct submit_number *n = &submit_numbers[i];
        int64_t value = 0;
        int rc;
        if (!sw_args_has(a, n->flag))
            continue;
        rc = n->is_duration ? sw_args_duration(a, n->flag, &value)
                            : sw_args_int(a, n->flag, n->min, n->max, &value);
        if (rc)
            return rc;
        if (json_object_set_new(body, n->field, json_integer(value)))
            return SW_ENOMEM;
    }
    return 0;
}

/* Builds the POST /v1/tasks body from the command line (new reference). */
static int submit_body(struct sw_args *a, json_t **out)
{
    json_t *body = json_object(), *payload;
    int rc = body ? 0 : SW_ENOMEM;

    if (rc == 0 && a->operands[0][0] == '\0')
        rc = sw_args_fail(a, "CAPABILITY must not be empty");
    if (rc == 0)
        rc = set_string(a, body, "capability", a->operands[0], "CAPABILITY");
    if (rc == 0 && sw_args_has(a, "--payload") &&
        (rc = sw_cli_json_arg(a, "--payload", sw_args_get(a, "--payload"), &payload)) == 0)
        rc = json_object_set_new(body, "payload", payload) ? SW_ENOMEM : 0;
    if (rc == 0)
        rc = submit_add_numbers(a, body);
    if (rc == 0 && sw_args_has(a, "--key"))
        rc = set_string(a, body, "idempotency_key", sw_args_get(a, "--key"), "--key");
    if (rc == 0 && sw_args_has(a, "--swarm"))
        rc = set_string(a, body, "swarm", sw_args_get(a, "--swarm"), "--swarm");
    if (rc == 0 && sw_args_has(a, "--wait-for-provider"))
        rc = json_object_set_new(body, "wait_for_provider", json_true()) ? SW_ENOMEM : 0;
    if (rc == 0)
        rc = sw_cli_labels(a, body);
    if (rc)
        json_decref(body);
    else
        *out = body;
    return rc;
}

static int task_submit(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *body = NULL, *task = NULL, *end = NULL;
    int status = SW_EXIT_OK;
    int rc = submit_body(&cli->args, &body);

    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0)
        rc = sw_client_call(client, "POST", "/v1/tasks", body, 0, &task);
    if (rc == 0 && task_str(task, "id") == NULL) {
        fprintf(stderr, "swarm: the daemon's reply to the submit has no task id\n");
        rc = SW_EBAD_JSON;
    }
    if (rc)
        goto out;
    if (sw_args_has(&cli->args, "--wait")) {
        rc = task_is_terminal(task) ? 0 : task_wait_end(client, task_str(task, "id"), &end);
        if (rc == 0)
            status = task_report_end(cli, end ? end : task);
    } else if (cli->json) {
        sw_output_json(stdout, task);
    } else {
        printf("%s\n", task_str(task, "id"));
    }
out:
    json_decref(body);
    json_decref(task);
    json_decref(end);
    return rc ? sw_cli_exit(cli, rc) : status;
}

/* The key: value view of one task. */
static void task_print(const json_t *task)
{
    int64_t now_ms = sw_clock_wall_ms();
    char attempt[64];

    sw_output_field_text(stdout, "id", task, "id");
    sw_output_field_text(stdout, "capability", task, "capability");
    sw_output_field_text(stdout, "state", task, "state");
    snprintf(attempt, sizeof attempt, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(task, "attempt")),
             json_integer_value(json_object_get(task, "max_attempts")));
    sw_output_field(stdout, "attempt", attempt);
    sw_output_field_text(stdout, "priority", task, "priority");
    sw_output_field_text(stdout, "agent", task, "agent");
    sw_output_field_time(stdout, "created", task, "created_at", now_ms);
    if (json_is_string(json_object_get(task, "run_at")))
        sw_output_field_time(stdout, "run at", task, "run_at", now_ms);
    sw_output_field_time(stdout, "started", task, "started_at", now_ms);
    sw_output_field_time(stdout, "finished", task, "finished_at", now_ms);
    sw_output_field_text(stdout, "dead", task, "dead");
    if (json_is_string(json_object_get(task, "idempotency_key")))
        sw_output_field_text(stdout, "key", task, "idempotency_key");
    if (json_object_size(json_object_get(task, "labels")) > 0)
        sw_output_field_json(stdout, "labels", task, "labels");
    sw_output_field_json(stdout, "payload", task, "payload");
    if (json_object_get(task, "result"))
        sw_output_field_json(stdout, "result", task, "result");
    if (json_object_get(task, "error"))
        sw_output_field_json(stdout, "error", task, "error");
}

static int task_get(struct sw_cli *cli)
{
    return sw_cli_show(cli, "/v1/tasks/", task_print);
}

static int task_wait(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *task = NULL;
    int rc = sw_cli_client(cli, &client);
    int status = SW_EXIT_OK;

    if (rc == 0)
        rc = task_wait_end(client, cli->args.operands[0], &task);
    if (rc == 0)
        status = task_report_end(cli, task);
    json_decref(task);
    return rc ? sw_cli_exit(cli, rc) : status;
}

/* POST /v1/tasks/{id}/{action}, then prints the reply (or "ID STATE"). */
static int task_act(struct sw_cli *cli, const char *suffix)
{
    return sw_cli_act(cli, "/v1/tasks/", suffix);
}

static int task_cancel(struct sw_cli *cli)
{
    return task_act(cli, "/cancel");
}

static int task_retry(struct sw_cli *cli)
{
    return task_act(cli, "/retry");
}

/* Checks --state and --limit, and builds the query path of the first page. */
static int ls_path(struct sw_args *a, const char *cursor, struct sw_buf *path)
{
    const char *state = sw_args_get(a, "--state");
    int64_t limit = 0;
    char limit_text[24];
    size_t i;
    int rc;

    for (i = 0; state && task_states[i] && strcmp(task_states[i], state) != 0; i++)
        ;
    if (state && task_states[i] == NULL)
        return sw_args_fail(a,
                            "--state: unknown state '%s' (scheduled, queued, running, "
                            "succeeded, failed, cancelled, waiting)",
                            state);
    if ((rc = sw_args_int(a, "--limit", 1, INT32_MAX, &limit)) != 0)
        return rc;
    snprintf(limit_text, sizeof limit_text, "%lld", (long long)limit);
    sw_buf_reset(path);
    rc = sw_buf_appendstr(path, "/v1/tasks");
    if (rc == 0)
        rc = sw_cli_query_add(path, "state", state);
    if (rc == 0)
        rc = sw_cli_query_add(path, "capability", sw_args_get(a, "--capability"));
    if (rc == 0)
        rc = sw_cli_query_add(path, "dead", sw_args_has(a, "--dead") ? "true" : NULL);
    if (rc == 0)
        rc = sw_cli_query_add(path, "limit", limit ? limit_text : NULL);
    if (rc == 0)
        rc = sw_cli_query_add(path, "cursor", cursor);
    return rc == SW_ETOO_LARGE ? sw_args_fail(a, "the filters are too long") : rc;
}

/* Fetches the pages (all of them with --all) into *tasks; *last is the last page. */
static int ls_fetch(struct sw_cli *cli, struct sw_client *client, json_t *tasks, json_t **last)
{
    struct sw_buf path;
    char *cursor = NULL;
    const char *next;
    int rc;

    sw_buf_init(&path, TASK_PATH_MAX);
    while ((rc = ls_path(&cli->args, cursor, &path)) == 0) {
        json_decref(*last);
        rc = sw_client_call(client, "GET", path.data, NULL, 0, last);
        if (rc)
            break;
        if (json_array_extend(tasks, json_object_get(*last, "tasks"))) {
            fprintf(stderr, "swarm: the task list from the daemon has no \"tasks\" array\n");
            rc = SW_EBAD_JSON;
            break;
        }
        next = json_string_value(json_object_get(*last, "next_cursor"));
        if (!sw_args_has(&cli->args, "--all") || next == NULL)
            break;
        if (cursor && strcmp(cursor, next) == 0) {
            fprintf(stderr, "swarm: the daemon returned the same cursor twice: %s\n", next);
            rc = SW_EBAD_JSON;
            break;
        }
        sw_free(cursor);
        if ((cursor = sw_strdup(next)) == NULL)
            rc = SW_ENOMEM;
    }
    sw_free(cursor);
    sw_buf_free(&path);
    return rc;
}

static int ls_table(const json_t *tasks)
{
    static const char *const header[] = {"ID",      "STATE", "CAPABILITY", "PRIO",
                                         "ATTEMPT", "AGE",   "AGENT"};
    int64_t now_ms = sw_clock_wall_ms();
    struct sw_table table;
    size_t i;
    json_t *task;
    int rc = sw_table_init(&table, header, (int)(sizeof header / sizeof header[0]));

    json_array_foreach(tasks, i, task)
    {
        char prio[32], attempt[64], age[32];
        if (rc)
            break;
        sw_output_text(json_object_get(task, "priority"), prio, sizeof prio);
        snprintf(attempt, sizeof attempt, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(task, "attempt")),
                 json_integer_value(json_object_get(task, "max_attempts")));
        sw_output_age(json_object_get(task, "created_at"), now_ms, age, sizeof age);
        const char *row[] = {task_str(task, "id"),
                             task_str(task, "state"),
                             task_str(task, "capability"),
                             prio,
                             attempt,
                             age,
                             task_str(task, "agent")};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0)
        sw_table_print(&table, stdout);
    sw_table_free(&table);
    return rc;
}

/* Prints the pages fetched: with -o json the one page as received, or with --all
 * every task in one list; else a table. */
static int ls_print(const struct sw_cli *cli, json_t *tasks, const json_t *last)
{
    int all = sw_args_has(&cli->args, "--all");
    json_t *merged;

    if (cli->json && !all) {
        sw_output_json(stdout, last);
        return 0;
    }
    if (cli->json) {
        merged = json_pack("{s:O,s:n}", "tasks", tasks, "next_cursor");
        if (merged == NULL)
            return SW_ENOMEM;
        sw_output_json(stdout, merged);
        json_decref(merged);
        return 0;
    }
    int rc = ls_table(tasks);
    fflush(stdout);
    if (rc == 0 && !all && json_is_string(json_object_get(last, "next_cursor")))
        fprintf(stderr, "(more tasks: add --all to list them all)\n");
    return rc;
}

static int task_ls(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *tasks = json_array(), *last = NULL;
    struct sw_buf check;
    int rc;

    sw_buf_init(&check, TASK_PATH_MAX);
    rc = tasks ? ls_path(&cli->args, NULL, &check) : SW_ENOMEM; /* usage errors first */
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0)
        rc = ls_fetch(cli, client, tasks, &last);
    if (rc == 0)
        rc = ls_print(cli, tasks, last);
    sw_buf_free(&check);
    json_decref(tasks);
    json_decref(last);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag submit_flags[] = {
    {"--payload", "JSON|@FILE|-", "the task's input: inline JSON, a file, or - for stdin"},
    {"--priority", "N", "higher runs first (default 0)"},
    {"--delay", "DURATION", "run no sooner than this from now (500ms, 5s, 1m30s)"},
    {"--timeout", "DURATION", "fail an attempt that runs longer than this"},
    {"--attempts", "N", "how many attempts before the task is dead"},
    {"--key", "K", "idempotency key: submitting it again returns the first task"},
    {"--label", "K=V", "a label; repeat for more"},
    {"--swarm", "S", "run it in this swarm (else it is routed: see docs/architecture.md)"},
    {"--wait-for-provider", NULL,
     "queue it even if no agent or swarm can run it yet (else refused, 422 no_provider)"},
    {"--wait", NULL, "wait for the task to end and print its result"},
    {NULL, NULL, NULL},
};

static const struct sw_flag ls_flags[] = {
    {"--state", "S", "scheduled, queued, running, succeeded, failed, cancelled or waiting"},
    {"--capability", "C", "only tasks of this capability"},
    {"--dead", NULL, "only dead tasks (failed after their last attempt)"},
    {"--limit", "N", "at most N tasks per page"},
    {"--all", NULL, "follow the pages to the end"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_task_commands[] = {
    {{"task submit", "CAPABILITY", 1, 1, submit_flags},
     "submit a task and print its id",
     "With --wait, print the task's result when it succeeds, or its error on stderr\n"
     "and exit 1 when it fails or is cancelled. With -o json, print the whole task.\n",
     task_submit},
    {{"task get", "ID", 1, 1, NULL}, "show a task", NULL, task_get},
    {{"task wait", "ID", 1, 1, NULL},
     "wait for a task to end and print its result",
     "Exit 0 when it succeeded; 1 when it failed or was cancelled (the error is on\n"
     "stderr). With -o json, print the whole task.\n",
     task_wait},
    {{"task cancel", "ID", 1, 1, NULL}, "cancel a task", NULL, task_cancel},
    {{"task retry", "ID", 1, 1, NULL}, "run a failed or cancelled task again", NULL, task_retry},
    {{"task ls", "", 0, 0, ls_flags}, "list tasks", NULL, task_ls},
    {{"task tree", "ID", 1, 1, sw_task_tree_flags},
     "show a task and its descendants as a tree",
     "Each task with its state, its capability (or how its children decide it), how\n"
     "long it ran or has waited, and why it failed. With -o json, the daemon's reply.\n",
     sw_task_tree},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
