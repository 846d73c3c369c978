/* SPDX-License-Identifier: MIT
 * tree_cmd.c - "swarm task tree ID": a task and its descendants from
 * GET /v1/tasks/{id}/tree, drawn as a tree with each task's state, what it runs (its
 * capability, or how its children decide it), how long it ran or has waited, and why
 * it failed. With -o json, the daemon's reply as it is. */
#include "cli/tree_cmd.h"

#include "cli/output.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TREE_DEPTH_MAX 4096 /* deeper levels are drawn at this indent */

const struct sw_flag sw_task_tree_flags[] = {
    {"--limit", "N", "show at most N tasks (default 10000, at most 100000)"},
    {NULL, NULL, NULL},
};

static int64_t field_time(const json_t *task, const char *key)
{
    int64_t ms = 0;
    const char *text = json_string_value(json_object_get(task, key));
    return text && sw_output_parse_time(text, &ms) == 0 ? ms : 0;
}

/* 850ms, 1.2s, 3m04s, 2h05m */
static void format_duration(int64_t ms, char *out, size_t size)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf(out, size, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(out, size, "%.1fs", (double)ms / 1000);
    else if (ms < 3600000)
        snprintf(out, size, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        snprintf(out, size, "%lldh%02lldm", (long long)(ms / 3600000),
                 (long long)(ms / 60000 % 60));
}

/* "ran 1.2s" (a parent: "took"; never started: "ended after", since created),
 * "running 3s", "waiting 2s" (since created). */
static void task_timing(const json_t *task, int64_t now_ms, char *out, size_t size)
{
    char span[32];
    int64_t created = field_time(task, "created_at"), started = field_time(task, "started_at");
    int64_t finished = field_time(task, "finished_at");
    const char *state = json_string_value(json_object_get(task, "state"));
    int parent = json_is_string(json_object_get(task, "fan_in"));
    if (finished && (started || created)) {
        format_duration(finished - (started ? started : created), span, sizeof span);
        snprintf(out, size, "%s %s", parent ? "took" : started ? "ran" : "ended after", span);
    } else if (state && strcmp(state, "running") == 0 && started) {
        format_duration(now_ms - started, span, sizeof span);
        snprintf(out, size, "running %s", span);
    } else if (created) {
        format_duration(now_ms - created, span, sizeof span);
        snprintf(out, size, "waiting %s", span);
    } else {
        snprintf(out, size, "-");
    }
}

/* The capability, or for a parent of children how they decide it. */
static void task_what(const json_t *task, char *out, size_t size)
{
    const char *fan_in = json_string_value(json_object_get(task, "fan_in"));
    const char *capability = json_string_value(json_object_get(task, "capability"));
    if (fan_in && strcmp(fan_in, "quorum") == 0)
        snprintf(out, size, "fan_in quorum %lld",
                 (long long)json_integer_value(json_object_get(task, "quorum")));
    else if (fan_in)
        snprintf(out, size, "fan_in %s", fan_in);
    else
        snprintf(out, size, "%s", capability ? capability : "-");
}

/* What else matters: the error's code, blocked, the dependencies' count. */
static void task_note(const json_t *task, char *out, size_t size)
{
    const char *code = json_string_value(json_object_get(json_object_get(task, "error"), "code"));
    const char *state = json_string_value(json_object_get(task, "state"));
    size_t after = json_array_size(json_object_get(task, "after"));
    out[0] = '\0';
    if (code && state && (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0))
        snprintf(out, size, "%s", code);
    else if (json_is_true(json_object_get(task, "blocked")))
        snprintf(out, size, "blocked by %zu of its after", after);
    else if (after)
        snprintf(out, size, "after %zu", after);
}

/* last[i]: no later sibling follows task i (the next task as deep or shallower is
 * shallower, or none). */
static unsigned char *last_siblings(const json_t *tasks)
{
    size_t n = json_array_size(tasks);
    unsigned char *last = sw_calloc(n + 1, 1), *more = sw_calloc(TREE_DEPTH_MAX + 1, 1);
    if (last == NULL || more == NULL) {
        sw_free(last);
        sw_free(more);
        return NULL;
    }
    int deepest = 0;
    for (size_t i = n; i-- > 0;) {
        json_int_t d = json_integer_value(json_object_get(json_array_get(tasks, i), "depth"));
        int depth = d < 0 ? 0 : d > TREE_DEPTH_MAX ? TREE_DEPTH_MAX : (int)d;
        last[i] = !more[depth];
        more[depth] = 1;
        for (int k = depth + 1; k <= deepest; k++)
            more[k] = 0;
        if (depth > deepest)
            deepest = depth;
    }
    sw_free(more);
    return last;
}

static int print_tree(const json_t *tasks)
{
    unsigned char *last = last_siblings(tasks), *open = sw_calloc(TREE_DEPTH_MAX + 1, 1);
    int64_t now_ms = sw_clock_wall_ms();
    struct sw_buf line;
    size_t i;
    json_t *task;
    if (last == NULL || open == NULL) {
        sw_free(last);
        sw_free(open);
        return SW_ENOMEM;
    }
    sw_buf_init(&line, (size_t)TREE_DEPTH_MAX * 8 + 4096);
    json_array_foreach(tasks, i, task)
    {
        char what[160], timing[64], note[160];
        json_int_t d = json_integer_value(json_object_get(task, "depth"));
        int depth = d < 0 ? 0 : d > TREE_DEPTH_MAX ? TREE_DEPTH_MAX : (int)d;
        sw_buf_reset(&line);
        for (int k = 1; k < depth; k++)
            sw_buf_appendstr(&line, open[k] ? "\xe2\x94\x82  " : "   ");
        if (depth > 0)
            sw_buf_appendstr(&line,
                             last[i] ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ");
        open[depth] = !last[i];
        task_what(task, what, sizeof what);
        task_timing(task, now_ms, timing, sizeof timing);
        task_note(task, note, sizeof note);
        const char *id = json_string_value(json_object_get(task, "id"));
        const char *state = json_string_value(json_object_get(task, "state"));
        printf("%s%s  %-9s  %-16s  %s%s%s\n", line.data ? line.data : "", id ? id : "-",
               state ? state : "-", what, timing, note[0] ? "  " : "", note);
    }
    sw_buf_free(&line);
    sw_free(last);
    sw_free(open);
    return 0;
}

int sw_task_tree(struct sw_cli *cli)
{
    struct sw_client *client;
    json_t *tree = NULL;
    int64_t limit = 0;
    char suffix[48] = "/tree";
    int rc = sw_args_int(&cli->args, "--limit", 1, 100000, &limit);

    if (rc == 0 && limit)
        snprintf(suffix, sizeof suffix, "/tree?limit=%lld", (long long)limit);
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    if (rc == 0)
        rc = sw_client_call_on(client, "GET", "/v1/tasks/", cli->args.operands[0], suffix, NULL, 0,
                               &tree);
    if (rc == 0 && cli->json) {
        sw_output_json(stdout, tree);
    } else if (rc == 0) {
        rc = print_tree(json_object_get(tree, "tasks"));
        fflush(stdout);
        if (rc == 0 && json_is_true(json_object_get(tree, "truncated")))
            fprintf(stderr, "(the tree has more tasks: raise --limit)\n");
    }
    json_decref(tree);
    return sw_cli_exit(cli, rc);
}
