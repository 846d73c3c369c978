/* SPDX-License-Identifier: MIT
 * swarm_cmd.c - the commands on swarms. "ls" draws the swarms as a tree, children
 * under their parent, with how many of their agents are up; "status" adds totals, or
 * for one swarm shows its settings and its agents one by one, and with --watch draws
 * itself again every second. "scale", "start", "stop" and "destroy" change one swarm
 * (destroy asks first on a terminal). */
#include "cli/swarm_cmd.h"

#include "cli/output.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SWARM_TREE_DEPTH   24 /* swarms deeper than this are drawn as roots */
#define SWARM_WATCH_MS     1000L
#define SWARM_REPLICAS_MAX 10000
#define SWARM_PATH_MAX     1024

static const char *swarm_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A count from the swarm's "agents" object: {"total", "ready", "busy", ...}. */
static json_int_t agent_count(const json_t *swarm, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(swarm, "agents"), key));
}

/* "UP/TOTAL": the agents that are ready or busy, of all the swarm's agents. */
static void agents_cell(const json_t *swarm, char *out, size_t size)
{
    if (!json_is_object(json_object_get(swarm, "agents")))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                 agent_count(swarm, "ready") + agent_count(swarm, "busy"),
                 agent_count(swarm, "total"));
}

/* ---- the tree of swarms ------------------------------------------------------------ */

struct swarm_tree {
    const json_t *swarms;  /* borrowed: the array the daemon sent */
    size_t *order;         /* indexes into swarms, by name */
    unsigned char *drawn;  /* one per swarm: already in the table */
    struct sw_table table; /* NAME STATE AGENTS BUSY RESTARTS */
};

static const char *name_of(const json_t *swarm)
{
    const char *name = swarm_str(swarm, "name");
    return name ? name : "";
}

static int is_child_of(const json_t *swarm, const char *parent)
{
    const char *name = swarm_str(swarm, "parent");
    return name && strcmp(name, parent) == 0;
}

/* Whether swarm's parent is in the list, so that it is drawn under it. */
static int parent_listed(const json_t *swarms, const json_t *swarm)
{
    const char *parent = swarm_str(swarm, "parent");
    size_t i;
    json_t *other;

    json_array_foreach(swarms, i, other)
    {
        if (parent && other != swarm && strcmp(name_of(other), parent) == 0)
            return 1;
    }
    return 0;
}

static int tree_row(struct swarm_tree *t, const json_t *swarm, const char *name_cell)
{
    char agents[64], busy[32], restarts[32];

    agents_cell(swarm, agents, sizeof agents);
    if (json_is_object(json_object_get(swarm, "agents")))
        snprintf(busy, sizeof busy, "%" JSON_INTEGER_FORMAT, agent_count(swarm, "busy"));
    else
        snprintf(busy, sizeof busy, "-");
    sw_output_text(json_object_get(swarm, "restarts"), restarts, sizeof restarts);
    const char *row[] = {name_cell, swarm_str(swarm, "state"), agents, busy, restarts};
    return sw_table_add(&t->table, row);
}

/* Whether the swarm at position k of the order is a child of parent not drawn yet. */
static int pending_child(const struct swarm_tree *t, size_t k, const char *parent)
{
    size_t j = t->order[k];
    return !t->drawn[j] && is_child_of(json_array_get(t->swarms, j), parent);
}

/* Adds swarm i, then its children under it. indent is what is drawn left of its
 * branch; last tells whether it is the last child of its parent. */
static int tree_add(struct swarm_tree *t, size_t i, const char *indent, int last, int depth)
{
    const json_t *swarm = json_array_get(t->swarms, i);
    const char *name = name_of(swarm);
    size_t n = json_array_size(t->swarms), nchildren = 0, placed = 0;
    char cell[512], child_indent[256];
    int rc;

    t->drawn[i] = 1;
    if (depth == 0) {
        snprintf(cell, sizeof cell, "%s", name);
        child_indent[0] = '\0';
    } else {
        snprintf(cell, sizeof cell, "%s%s%s", indent, last ? "└─ " : "├─ ", name);
        snprintf(child_indent, sizeof child_indent, "%s%s", indent, last ? "   " : "│  ");
    }
    rc = tree_row(t, swarm, cell);
    if (rc || depth == SWARM_TREE_DEPTH)
        return rc;
    for (size_t k = 0; k < n; k++)
        nchildren += pending_child(t, k, name);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (!pending_child(t, k, name))
            continue;
        placed++;
        rc = tree_add(t, t->order[k], child_indent, placed == nchildren, depth + 1);
    }
    return rc;
}

static const json_t *sort_swarms; /* the array qsort's comparison reads */

static int by_name_cmp(const void *x, const void *y)
{
    return strcmp(name_of(json_array_get(sort_swarms, *(const size_t *)x)),
                  name_of(json_array_get(sort_swarms, *(const size_t *)y)));
}

/* Prints the swarms as a table whose NAME column draws the tree, siblings by name. */
static int tree_print(const json_t *swarms, FILE *out)
{
    static const char *const header[] = {"NAME", "STATE", "AGENTS", "BUSY", "RESTARTS"};
    size_t n = json_array_size(swarms);
    struct swarm_tree t = {.swarms = swarms};
    int rc = sw_table_init(&t.table, header, 5);

    t.drawn = sw_calloc(n + 1, 1);
    t.order = sw_calloc(n + 1, sizeof *t.order);
    if (t.drawn == NULL || t.order == NULL)
        rc = SW_ENOMEM;
    for (size_t k = 0; rc == 0 && k < n; k++)
        t.order[k] = k;
    sort_swarms = swarms;
    if (rc == 0)
        qsort(t.order, n, sizeof *t.order, by_name_cmp);
    for (size_t k = 0; rc == 0 && k < n; k++) /* roots first */
        if (!t.drawn[t.order[k]] && !parent_listed(swarms, json_array_get(swarms, t.order[k])))
            rc = tree_add(&t, t.order[k], "", 1, 0);
    for (size_t k = 0; rc == 0 && k < n; k++) /* then whatever a loop of parents hid */
        if (!t.drawn[t.order[k]])
            rc = tree_add(&t, t.order[k], "", 1, 0);
    if (rc == 0)
        sw_table_print(&t.table, out);
    sw_table_free(&t.table);
    sw_free(t.drawn);
    sw_free(t.order);
    return rc;
}

/* The line under "status": the swarms' agents added up. */
static void totals_print(const json_t *swarms, FILE *out)
{
    static const char *const keys[] = {"total", "ready", "busy", "starting", "failed"};
    json_int_t sums[5] = {0};
    size_t i;
    json_t *swarm;

    json_array_foreach(swarms, i, swarm)
    {
        for (size_t k = 0; k < 5; k++)
            sums[k] += agent_count(swarm, keys[k]);
    }
    fprintf(out,
            "\n%zu swarm%s; agents: %" JSON_INTEGER_FORMAT " up of %" JSON_INTEGER_FORMAT
            ", %" JSON_INTEGER_FORMAT " busy, %" JSON_INTEGER_FORMAT
            " starting, %" JSON_INTEGER_FORMAT " failed\n",
            json_array_size(swarms), json_array_size(swarms) == 1 ? "" : "s", sums[1] + sums[2],
            sums[0], sums[2], sums[3], sums[4]);
}

/* ---- one swarm ------------------------------------------------------------------- */

static void signal_text(json_int_t number, char *out, size_t size)
{
    static const struct {
        int number;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGSEGV, "SIGSEGV"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
        {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGXCPU, "SIGXCPU"},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].number == number) {
            snprintf(out, size, "%s", names[i].name);
            return;
        }
    snprintf(out, size, "signal %" JSON_INTEGER_FORMAT, number);
}

/* How the agent's process last ended: "exit 1, 3m ago", "SIGKILL, 5s ago", "-". */
static void exit_text(const json_t *agent, int64_t now_ms, char *out, size_t size)
{
    const json_t *last = json_object_get(agent, "exit");
    const json_t *code = json_object_get(last, "code"), *sig = json_object_get(last, "signal");
    char how[64], age[32];

    if (!json_is_object(last)) {
        snprintf(out, size, "-");
        return;
    }
    if (json_is_string(sig))
        snprintf(how, sizeof how, "%s", json_string_value(sig));
    else if (json_is_integer(sig) && json_integer_value(sig) > 0)
        signal_text(json_integer_value(sig), how, sizeof how);
    else if (json_is_integer(code))
        snprintf(how, sizeof how, "exit %" JSON_INTEGER_FORMAT, json_integer_value(code));
    else
        snprintf(how, sizeof how, "exited");
    sw_output_age(json_object_get(last, "at"), now_ms, age, sizeof age);
    if (strcmp(age, "-") == 0)
        snprintf(out, size, "%s", how);
    else
        snprintf(out, size, "%s, %s ago", how, age);
}

/* The agent's process id; "-" while it has none (0, as between exec tasks). */
static void pid_text(const json_t *agent, char *out, size_t size)
{
    const json_t *pid = json_object_get(agent, "pid");

    if (json_is_integer(pid) && json_integer_value(pid) > 0)
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(pid));
    else
        snprintf(out, size, "-");
}

/* Time since the agent's process started, while it runs. */
static void uptime_text(const json_t *agent, int64_t now_ms, char *out, size_t size)
{
    static const char *const running[] = {"starting", "ready", "busy", "stopping", NULL};
    const char *state = swarm_str(agent, "state");
    size_t i;

    for (i = 0; state && running[i] && strcmp(running[i], state) != 0; i++)
        ;
    if (state && running[i])
        sw_output_age(json_object_get(agent, "started_at"), now_ms, out, size);
    else
        snprintf(out, size, "-");
}

/* The state of the agent's circuit breaker: closed, open or half-open ("-" if unknown). */
static void breaker_text(const json_t *agent, char *out, size_t size)
{
    const char *state = swarm_str(json_object_get(agent, "breaker"), "state");

    snprintf(out, size, "%s",
             state == NULL                     ? "-"
             : strcmp(state, "half_open") == 0 ? "half-open"
                                               : state);
}

static int agents_print(const json_t *agents, FILE *out)
{
    static const char *const header[] = {"ID",       "NAME",   "STATE",     "PID",
                                         "RESTARTS", "UPTIME", "LAST-EXIT", "BREAKER"};
    int64_t now_ms = sw_clock_wall_ms();
    struct sw_table table;
    size_t i;
    json_t *agent;
    int rc = sw_table_init(&table, header, 8);

    json_array_foreach(agents, i, agent)
    {
        char pid[32], restarts[32], uptime[32], last_exit[128], breaker[32];
        if (rc)
            break;
        pid_text(agent, pid, sizeof pid);
        sw_output_text(json_object_get(agent, "restarts"), restarts, sizeof restarts);
        uptime_text(agent, now_ms, uptime, sizeof uptime);
        exit_text(agent, now_ms, last_exit, sizeof last_exit);
        breaker_text(agent, breaker, sizeof breaker);
        const char *row[] = {swarm_str(agent, "id"),
                             swarm_str(agent, "name"),
                             swarm_str(agent, "state"),
                             pid,
                             restarts,
                             uptime,
                             last_exit,
                             breaker};
        rc = sw_table_add(&table, row);
    }
    if (rc == 0 && json_array_size(agents) == 0)
        fprintf(out, "(no agents)\n");
    else if (rc == 0)
        sw_table_print(&table, out);
    sw_table_free(&table);
    return rc;
}

/* The settings of one swarm, then its agents. */
static int swarm_print(const json_t *reply, FILE *out)
{
    const json_t *swarm = json_object_get(reply, "swarm");
    char agents[64];

    sw_output_field_text(out, "name", swarm, "name");
    sw_output_field_text(out, "parent", swarm, "parent");
    sw_output_field_text(out, "state", swarm, "state");
    sw_output_field_text(out, "template", swarm, "template");
    if (json_is_object(json_object_get(swarm, "scale")))
        sw_output_field_json(out, "scale", swarm, "scale");
    sw_output_field_text(out, "replicas", swarm, "replicas");
    sw_output_field_text(out, "strategy", swarm, "strategy");
    if (json_object_get(swarm, "failure") && !json_is_null(json_object_get(swarm, "failure")))
        sw_output_field_text(out, "failure", swarm, "failure");
    agents_cell(swarm, agents, sizeof agents);
    sw_output_field(out, "agents up", agents);
    fputc('\n', out);
    return agents_print(json_object_get(reply, "agents"), out);
}

/* ---- ls and status ------------------------------------------------------------------ */

/* GET prefix + name (percent-encoded) + suffix. */
static int call_named(struct sw_client *client, const char *method, const char *name,
                      const char *suffix, const json_t *body, json_t **reply)
{
    return sw_client_call_on(client, method, "/v1/swarms/", name, suffix, body, 0, reply);
}

/* Fetches what ls or status shows and renders it on out. */
static int swarms_render(struct sw_cli *cli, struct sw_client *client, int totals, FILE *out)
{
    const char *name = cli->args.noperands ? cli->args.operands[0] : NULL;
    json_t *reply = NULL;
    int rc = name ? call_named(client, "GET", name, "", NULL, &reply)
                  : sw_client_call(client, "GET", "/v1/swarms", NULL, 0, &reply);

    if (rc == 0 && !cli->json && name == NULL && !json_is_array(json_object_get(reply, "swarms"))) {
        fprintf(stderr, "swarm: the swarm list from the daemon has no \"swarms\" array\n");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && !cli->json && name && !json_is_object(json_object_get(reply, "swarm"))) {
        fprintf(stderr, "swarm: the daemon's reply has no \"swarm\" object\n");
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && cli->json) {
        sw_output_json(out, reply);
    } else if (rc == 0 && name) {
        rc = swarm_print(reply, out);
    } else if (rc == 0) {
        rc = tree_print(json_object_get(reply, "swarms"), out);
        if (rc == 0 && totals)
            totals_print(json_object_get(reply, "swarms"), out);
    }
    json_decref(reply);
    return rc;
}

/* Draws status again every second until interrupted: on a terminal in place of the
 * previous drawing, elsewhere one after the other. Returns only on an error. */
static int status_watch(struct sw_cli *cli, struct sw_client *client)
{
    int tty = isatty(STDOUT_FILENO);
    char *frame;
    size_t len;
    FILE *mem;
    int rc;

    for (;;) {
        frame = NULL;
        mem = open_memstream(&frame, &len);
        if (mem == NULL)
            return SW_ENOMEM;
        rc = swarms_render(cli, client, 1, mem);
        if (fclose(mem) != 0 && rc == 0)
            rc = SW_ENOMEM;
        if (rc == 0) {
            fputs(tty ? "\033[H\033[2J" : "", stdout);
            fwrite(frame, 1, len, stdout);
            fputs(tty ? "" : "\n", stdout);
            fflush(stdout);
        }
        free(frame); /* open_memstream's buffer comes from malloc */
        if (rc)
            return rc;
        sw_cli_sleep_ms(SWARM_WATCH_MS);
    }
}

static int swarm_ls(struct sw_cli *cli)
{
    struct sw_client *client;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0)
        rc = swarms_render(cli, client, 0, stdout);
    return sw_cli_exit(cli, rc);
}

static int swarm_status(struct sw_cli *cli)
{
    struct sw_client *client;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0 && sw_args_has(&cli->args, "--watch"))
        rc = status_watch(cli, client);
    else if (rc == 0)
        rc = swarms_render(cli, client, 1, stdout);
    return sw_cli_exit(cli, rc);
}

/* ---- changing one swarm ------------------------------------------------------------ */

/* POSTs body to /v1/swarms/NAME/ACTION and prints "swarm/NAME WHAT". */
static int swarm_act(struct sw_cli *cli, const char *action, json_t *body, const char *what)
{
    const char *name = cli->args.operands[0];
    struct sw_client *client;
    json_t *reply = NULL;
    char suffix[32];
    int rc = body ? sw_cli_client(cli, &client) : SW_ENOMEM;

    snprintf(suffix, sizeof suffix, "/%s", action);
    if (rc == 0)
        rc = call_named(client, "POST", name, suffix, body, &reply);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        printf("swarm/%s %s\n", name, what);
    json_decref(body);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

static int swarm_scale(struct sw_cli *cli)
{
    const char *text = cli->args.operands[1];
    char *end, what[64];
    long long replicas;

    errno = 0;
    replicas = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno == ERANGE || replicas < 0 ||
        replicas > SWARM_REPLICAS_MAX)
        return sw_cli_exit(cli,
                           sw_args_fail(&cli->args, "N: '%s' is not a whole number from 0 to %d",
                                        text, SWARM_REPLICAS_MAX));
    snprintf(what, sizeof what, "scaled to %lld", replicas);
    return swarm_act(cli, "scale", json_pack("{s:I}", "replicas", (json_int_t)replicas), what);
}

static int swarm_start(struct sw_cli *cli)
{
    return swarm_act(cli, "start", json_object(), "started");
}

static int swarm_stop(struct sw_cli *cli)
{
    return swarm_act(cli, "stop", json_object(), "stopped");
}

/* Asks on the terminal whether to destroy; 1 yes, 0 no. */
static int destroy_confirmed(const char *name)
{
    char answer[16];

    fprintf(stderr, "destroy swarm \"%s\" and stop its agents? [y/N] ", name);
    fflush(stderr);
    if (fgets(answer, sizeof answer, stdin) == NULL)
        return 0;
    return answer[0] == 'y' || answer[0] == 'Y';
}

static int swarm_destroy(struct sw_cli *cli)
{
    const char *name = cli->args.operands[0];
    struct sw_client *client;
    json_t *reply = NULL;
    int rc;

    if (!sw_args_has(&cli->args, "--yes") && !isatty(STDIN_FILENO))
        return sw_cli_exit(cli, sw_args_fail(&cli->args, "destroy asks first on a terminal; "
                                                         "elsewhere, add --yes"));
    if (!sw_args_has(&cli->args, "--yes") && !destroy_confirmed(name)) {
        fprintf(stderr, "swarm: swarm \"%s\" not destroyed\n", name);
        return SW_EXIT_FAILED;
    }
    rc = sw_cli_client(cli, &client);
    if (rc == 0)
        rc = call_named(client, "DELETE", name, "", NULL, &reply);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        printf("swarm/%s destroyed\n", name);
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

static const struct sw_flag status_flags[] = {
    {"--watch", NULL, "draw it again every second, until Ctrl-C"},
    {NULL, NULL, NULL},
};

static const struct sw_flag destroy_flags[] = {
    {"--yes", NULL, "do not ask first (needed when standard input is not a terminal)"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_swarm_commands[] = {
    {{"ls", "", 0, 0, NULL},
     "list the swarms as a tree, children under their parent",
     "Columns: NAME, STATE, AGENTS (up, that is ready or busy, / total), BUSY and\n"
     "RESTARTS. With -o json, the daemon's reply: {\"swarms\": [...]}.\n",
     swarm_ls},
    {{"status", "[SWARM]", 0, 1, status_flags},
     "the swarms and their totals; or one swarm and its agents",
     "Without SWARM: the tree of 'swarm ls', then the agents of all swarms added up.\n"
     "With SWARM: its settings, then one line per agent: ID, NAME, STATE, PID,\n"
     "RESTARTS, UPTIME (since its process started), LAST-EXIT (how its process last\n"
     "ended) and BREAKER (its circuit breaker: closed, open or half-open). With -o json,\n"
     "the daemon's reply.\n",
     swarm_status},
    {{"scale", "SWARM N", 2, 2, NULL}, "run N agents in a swarm (0 to 10000)", NULL, swarm_scale},
    {{"start", "SWARM", 1, 1, NULL}, "start a stopped swarm's agents", NULL, swarm_start},
    {{"stop", "SWARM", 1, 1, NULL}, "stop a swarm's agents, keeping the swarm", NULL, swarm_stop},
    {{"destroy", "SWARM", 1, 1, destroy_flags},
     "stop a swarm's agents and remove the swarm",
     "Asks for confirmation when standard input is a terminal; elsewhere --yes is\n"
     "required (exit 2 without it). Answering anything but y leaves the swarm and\n"
     "exits 1.\n",
     swarm_destroy},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
