/* SPDX-License-Identifier: MIT
 * stdio_agent.c - a complete stdio agent for swarmd in C with jansson.
 *
 * swarmd starts it (template mode: stdio) and writes one JSON-RPC 2.0 object per line on
 * its stdin; it answers one object per line on its stdout. It serves task.run for the
 * capabilities echo (the result is the payload) and upper ({"text": "hi"} -> {"text":
 * "HI"}), one task at a time (slots: 1), and answers swarmd's health ping. A payload
 * that upper cannot use fails the task for good (error.data.retry = false); an unknown
 * capability fails the attempt, which swarmd retries. Before each task it calls
 * swarmd's "log" method with an id of its own and, when the answer comes back on stdin,
 * notes it on stderr. Both go to <home>/logs/<agent>.log. It exits when swarmd closes
 * its stdin or sends SIGTERM.
 *
 * Build: cmake builds it as the target stdio_agent_c (examples/CMakeLists.txt), or
 *   cc -o stdio_agent_c stdio_agent.c $(pkg-config --cflags --libs jansson)
 * See docs/agent-protocol.md, "Managed agents: stdio and exec modes". */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines longer than this are dropped (swarmd's own lines are at most --max-payload
 * + 64 KiB). */
#define MAX_LINE ((size_t)64 << 20)

static json_int_t next_call_id;

/* Writes msg (stolen) as one line and flushes: swarmd reads lines, not buffers. */
static void send_msg(json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        return;
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(text);
}

static void send_result(json_t *id, json_t *result)
{
    send_msg(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

static void send_error(json_t *id, int code, const char *message, int retry)
{
    json_t *error = json_pack("{s:i, s:s}", "code", code, "message", message);
    if (retry >= 0)
        json_object_set_new(error, "data", json_pack("{s:b}", "retry", retry));
    send_msg(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
                       error));
}

/* A call to swarmd; its answer comes back later on stdin with the same id. */
static void call_swarmd(const char *method, json_t *params)
{
    send_msg(json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", ++next_call_id, "method",
                       method, "params", params));
}

/* The result of a task (new reference), or NULL with *message and *retry set. */
static json_t *run_task(const char *capability, json_t *payload, const char **message, int *retry)
{
    size_t len = strcspn(capability, "@"); /* "upper@2" is served as "upper" */
    if (len == 4 && strncmp(capability, "echo", 4) == 0)
        return json_incref(payload);
    if (len == 5 && strncmp(capability, "upper", 5) == 0) {
        const char *text = json_string_value(json_object_get(payload, "text"));
        if (text == NULL) {
            *message = "upper needs a payload {\"text\": string}";
            *retry = 0;
            return NULL;
        }
        char *upper = strdup(text);
        if (upper == NULL) {
            *message = "out of memory";
            *retry = 1;
            return NULL;
        }
        for (char *p = upper; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        json_t *result = json_pack("{s:s}", "text", upper);
        free(upper);
        return result;
    }
    static char unknown[200];
    snprintf(unknown, sizeof unknown, "no handler for %.160s", capability);
    *message = unknown;
    *retry = 1;
    return NULL;
}

static void on_task_run(json_t *id, json_t *task)
{
    const char *task_id = json_string_value(json_object_get(task, "id"));
    const char *capability = json_string_value(json_object_get(task, "capability"));
    if (task_id == NULL || capability == NULL) {
        send_error(id, -32602, "task.run needs the task as params", -1);
        return;
    }
    char note[256];
    snprintf(note, sizeof note, "running %s (%s, attempt %lld)", task_id, capability,
             (long long)json_integer_value(json_object_get(task, "attempt")));
    call_swarmd("log", json_pack("{s:s}", "message", note));

    const char *message = NULL;
    int retry = 1;
    json_t *result = run_task(capability, json_object_get(task, "payload"), &message, &retry);
    if (result)
        send_result(id, result);
    else
        send_error(id, -32000, message, retry);
}

static void on_message(json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method == NULL) { /* an answer to one of our calls */
        char *text = json_dumps(msg, JSON_COMPACT);
        fprintf(stderr, "swarmd answered: %s\n", text ? text : "?");
        free(text);
    } else if (strcmp(method, "task.run") == 0) {
        on_task_run(id, json_object_get(msg, "params"));
    } else if (strcmp(method, "ping") == 0) { /* the health check (health: {rpc: true}) */
        send_result(id, json_string("pong"));
    } else if (strcmp(method, "task.cancel") == 0) {
        /* One task at a time: a cancel can only be for a task already answered. */
        fprintf(stderr, "cancelled: %s\n",
                json_string_value(json_object_get(json_object_get(msg, "params"), "id")));
    } else if (id) {
        send_error(id, -32601, "method not found", -1);
    }
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    fprintf(stderr, "stdio_agent_c up: agent %s in swarm '%s'\n",
            getenv("SWARM_AGENT_NAME") ? getenv("SWARM_AGENT_NAME") : "?",
            getenv("SWARM_SWARM") ? getenv("SWARM_SWARM") : "");
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if ((size_t)len > MAX_LINE) {
            fprintf(stderr, "line of %zd bytes ignored\n", len);
            continue;
        }
        json_error_t err;
        json_t *msg = json_loadb(line, (size_t)len, 0, &err);
        if (msg == NULL || !json_is_object(msg)) {
            if (len > 1)
                fprintf(stderr, "not a JSON object: %s\n", err.text);
            json_decref(msg);
            continue;
        }
        on_message(msg);
        json_decref(msg);
    }
    free(line);
    fprintf(stderr, "stdin closed: exiting\n");
    return 0;
}
