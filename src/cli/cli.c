/* SPDX-License-Identifier: MIT
 * cli.c - the run of one swarm command: find the command named by the leading words,
 * show help generated from the command tables, parse the command's flags, run it,
 * and release what it opened. The daemon is looked for, and libcurl started, only
 * when a command first asks for the client. Also what several commands share: JSON
 * arguments (inline, @FILE or stdin), --label flags and query strings. */
#include "cli/cli.h"

#include "core/alloc.h"
#include "cli/client.h"
#include "cli/output.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#define CLI_HELP_WIDTH 28 /* widest left column in help before the text wraps under */

#define FOR_EACH_COMMAND(cli, c)                                                                   \
    for (const struct sw_command *const *t_ = (cli)->tables; *t_; t_++)                            \
        for (const struct sw_command *c = *t_; c->run; c++)

static const char cli_global_help[] =
    "Global flags (accepted anywhere on the line):\n"
    "  -o, --output json|table     output format (default table)\n"
    "  --url URL                   the daemon: http://HOST:PORT or unix:/PATH/swarm.sock\n"
    "  --token T                   bearer token sent to the daemon\n"
    "  -h, --help                  show help\n"
    "  --version                   print the version of swarm\n"
    "\n"
    "The daemon is --url, else $SWARM_URL, else the nearest .swarm/swarm.sock in this\n"
    "directory or above, else $SWARM_HOME/swarm.sock. The token is --token, else\n"
    "$SWARM_TOKEN.\n"
    "\n"
    "Exit status: 0 ok; 1 the task failed or was cancelled, or destroy was not\n"
    "confirmed; 2 bad command line or spec file; 3 cannot reach the daemon; 4 not\n"
    "found; 5 any other error, such as an object of apply that the daemon refused\n"
    "or a memory write whose condition did not hold.\n";

/* Number of words that name matches at the start of words, 0 if it does not. */
static int name_match(const char *name, const char *const *words, int nwords)
{
    int depth = 0;

    while (*name) {
        size_t len = strcspn(name, " ");
        if (depth >= nwords || strlen(words[depth]) != len || memcmp(words[depth], name, len) != 0)
            return 0;
        depth++;
        name += len + (name[len] == ' ');
    }
    return depth;
}

static const struct sw_command *cli_find(const struct sw_cli *cli, const char *const *words,
                                         int nwords, int *depth)
{
    FOR_EACH_COMMAND(cli, c)
    {
        *depth = name_match(c->syntax.name, words, nwords);
        if (*depth)
            return c;
    }
    return NULL;
}

/* Whether word is the first of several words naming commands ("task"). */
static int is_group(const struct sw_cli *cli, const char *word)
{
    size_t len = strlen(word);

    FOR_EACH_COMMAND(cli, c)
    {
        if (strncmp(c->syntax.name, word, len) == 0 && c->syntax.name[len] == ' ')
            return 1;
    }
    return 0;
}

static void print_pair(FILE *out, const char *left, const char *right)
{
    int len = fprintf(out, "  %s", left);

    if (len > CLI_HELP_WIDTH)
        fprintf(out, "\n%*s", CLI_HELP_WIDTH, "");
    else
        fprintf(out, "%*s", CLI_HELP_WIDTH - len, "");
    fprintf(out, "  %s\n", right);
}

/* Lists the commands, only those of group when it is not NULL. */
static void print_commands(const struct sw_cli *cli, const char *group, FILE *out)
{
    size_t len = group ? strlen(group) : 0;
    char left[128];

    fprintf(out, "Commands:\n");
    FOR_EACH_COMMAND(cli, c)
    {
        if (group && (strncmp(c->syntax.name, group, len) != 0 || c->syntax.name[len] != ' '))
            continue;
        snprintf(left, sizeof left, "%s%s%s", c->syntax.name, *c->syntax.operands ? " " : "",
                 c->syntax.operands);
        print_pair(out, left, c->summary);
    }
}

static void print_command_help(const struct sw_command *c, FILE *out)
{
    const char *operands = c->syntax.operands;
    char left[128];

    fprintf(out, "usage: swarm %s%s%s%s\n\n%s\n", c->syntax.name, *operands ? " " : "", operands,
            c->syntax.flags ? " [flags]" : "", c->summary);
    if (c->details)
        fprintf(out, "\n%s", c->details);
    if (c->syntax.flags) {
        fprintf(out, "\nFlags:\n");
        for (const struct sw_flag *f = c->syntax.flags; f->name; f++) {
            snprintf(left, sizeof left, "%s%s%s", f->name, f->metavar ? " " : "",
                     f->metavar ? f->metavar : "");
            print_pair(out, left, f->help);
        }
    }
    fprintf(out, "\nGlobal flags: -o json|table, --url URL, --token T (see 'swarm --help').\n");
}

int sw_cli_help(struct sw_cli *cli, const char *const *words, int nwords, FILE *out)
{
    int depth;
    const struct sw_command *c = cli_find(cli, words, nwords, &depth);

    if (nwords == 0) {
        fprintf(out, "usage: swarm <command> [flags]\n\nswarm talks to swarmd, the task "
                     "orchestration daemon.\n\n");
        print_commands(cli, NULL, out);
        fprintf(out, "\n%s", cli_global_help);
    } else if (c && depth == nwords) {
        print_command_help(c, out);
    } else if (nwords == 1 && is_group(cli, words[0])) {
        fprintf(out, "usage: swarm %s <command> [flags]\n\n", words[0]);
        print_commands(cli, words[0], out);
        fprintf(out, "\nRun 'swarm %s <command> --help' for the flags of one command.\n", words[0]);
    } else {
        fprintf(stderr, "swarm: no command '%s' (see 'swarm --help')\n", words[0]);
        return SW_EXIT_USAGE;
    }
    return SW_EXIT_OK;
}

static int usage_error(const struct sw_cli *cli)
{
    const char *name = cli->command ? cli->command->syntax.name : NULL;

    fprintf(stderr, "swarm: %s (see 'swarm%s%s --help')\n", cli->args.error, name ? " " : "",
            name ? name : "");
    return SW_EXIT_USAGE;
}

/* When the leading words name no command: help for a group, else a usage error. */
static int cli_no_command(struct sw_cli *cli, int nlead)
{
    const char *const *words = cli->args.words;

    if (nlead == 0 && cli->args.nwords > 0) {
        sw_args_fail(&cli->args, "unknown flag '%s'", words[0]);
    } else if (nlead == 0) {
        if (cli->args.help)
            return sw_cli_help(cli, NULL, 0, stdout);
        sw_cli_help(cli, NULL, 0, stderr);
        return SW_EXIT_USAGE;
    } else if (is_group(cli, words[0]) && nlead == 1 && cli->args.help) {
        return sw_cli_help(cli, words, 1, stdout);
    } else if (is_group(cli, words[0]) && nlead == 1) {
        fprintf(stderr, "swarm: '%s' needs a command (see 'swarm %s --help')\n", words[0],
                words[0]);
        return SW_EXIT_USAGE;
    } else if (is_group(cli, words[0])) {
        fprintf(stderr, "swarm: unknown command '%s %s' (see 'swarm %s --help')\n", words[0],
                words[1], words[0]);
        return SW_EXIT_USAGE;
    } else {
        sw_args_fail(&cli->args, "unknown command '%s'", words[0]);
    }
    return usage_error(cli);
}

static int cli_dispatch(struct sw_cli *cli)
{
    struct sw_args *a = &cli->args;
    int depth, nlead = sw_args_leading_words(a);
    const struct sw_command *c;

    if (a->version) {
        printf("swarm %s\n", SW_VERSION);
        return SW_EXIT_OK;
    }
    c = cli_find(cli, a->words, nlead, &depth);
    if (c == NULL)
        return cli_no_command(cli, nlead);
    cli->command = c;
    if (a->help) {
        print_command_help(c, stdout);
        return SW_EXIT_OK;
    }
    if (sw_args_parse(a, depth, &c->syntax))
        return usage_error(cli);
    return c->run(cli);
}

int sw_cli_main(const struct sw_command *const *tables, int argc, char **argv)
{
    struct sw_cli cli;
    int status;

    memset(&cli, 0, sizeof cli);
    cli.tables = tables;
    if (sw_args_init(&cli.args, argc, argv) == 0) {
        cli.json = strcmp(cli.args.output, "json") == 0;
        status = cli_dispatch(&cli);
    } else {
        status = cli.args.error[0] ? usage_error(&cli) : sw_cli_exit(&cli, SW_ENOMEM);
    }
    fflush(stdout);
    if (cli.client_open)
        sw_client_close(&cli.client);
    sw_endpoint_free(&cli.endpoint);
    sw_args_free(&cli.args);
    return status;
}

int sw_cli_client(struct sw_cli *cli, struct sw_client **client)
{
    char err[512];
    int rc;

    if (!cli->client_open) {
        sw_endpoint_free(&cli->endpoint);
        rc = sw_endpoint_find(&cli->endpoint, cli->args.url, cli->args.token, err, sizeof err);
        if (rc == SW_EINVAL)
            return sw_args_fail(&cli->args, "%s", err);
        if (rc == SW_EIO)
            fprintf(stderr, "swarm: %s\n", err);
        if (rc)
            return rc;
        rc = sw_client_open(&cli->client, &cli->endpoint);
        if (rc) {
            sw_client_close(&cli->client);
            return rc;
        }
        cli->client_open = 1;
    }
    *client = &cli->client;
    return 0;
}

int sw_cli_exit(struct sw_cli *cli, int rc)
{
    switch (rc) {
    case 0:
        return SW_EXIT_OK;
    case SW_EINVAL:
        return usage_error(cli);
    case SW_EIO:
        return SW_EXIT_UNREACHABLE;
    case SW_ENOT_FOUND:
        return SW_EXIT_NOT_FOUND;
    case SW_ENOMEM:
        fprintf(stderr, "swarm: out of memory\n");
        return SW_EXIT_ERROR;
    default:
        return SW_EXIT_ERROR;
    }
}

int sw_cli_show(struct sw_cli *cli, const char *prefix, void (*print)(const json_t *obj))
{
    struct sw_client *client;
    json_t *obj = NULL;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0)
        rc = sw_client_call_on(client, "GET", prefix, cli->args.operands[0], "", NULL, 0, &obj);
    if (rc == 0 && cli->json)
        sw_output_json(stdout, obj);
    else if (rc == 0)
        print(obj);
    json_decref(obj);
    return sw_cli_exit(cli, rc);
}

int sw_cli_list(struct sw_cli *cli, const char *path, const char *key,
                int (*table)(const json_t *items))
{
    struct sw_client *client;
    json_t *reply = NULL;
    int rc = sw_cli_client(cli, &client);

    if (rc == 0)
        rc = sw_client_call(client, "GET", path, NULL, 0, &reply);
    if (rc == 0 && !cli->json && !json_is_array(json_object_get(reply, key))) {
        fprintf(stderr, "swarm: the daemon's reply to GET %s has no \"%s\" array\n", path, key);
        rc = SW_EBAD_JSON;
    }
    if (rc == 0 && cli->json)
        sw_output_json(stdout, reply);
    else if (rc == 0)
        rc = table(json_object_get(reply, key));
    json_decref(reply);
    return sw_cli_exit(cli, rc);
}

int sw_cli_act(struct sw_cli *cli, const char *prefix, const char *suffix)
{
    struct sw_client *client;
    json_t *body = json_object(), *obj = NULL;
    int rc = body ? sw_cli_client(cli, &client) : SW_ENOMEM;

    if (rc == 0)
        rc =
            sw_client_call_on(client, "POST", prefix, cli->args.operands[0], suffix, body, 0, &obj);
    const char *state = json_string_value(json_object_get(obj, "state"));
    if (rc == 0 && cli->json)
        sw_output_json(stdout, obj);
    else if (rc == 0)
        printf("%s %s\n", cli->args.operands[0], state ? state : suffix + 1);
    json_decref(body);
    json_decref(obj);
    return sw_cli_exit(cli, rc);
}

/* Appends the whole of f to text. */
static int read_stream(FILE *f, struct sw_buf *text)
{
    char chunk[16384];
    size_t n;
    int rc;

    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = sw_buf_append(text, chunk, n)) != 0)
            return rc;
    return ferror(f) ? SW_EIO : 0;
}

/* The text of a JSON argument: inline, "@file" or "-" for stdin. */
static int json_arg_text(struct sw_args *a, const char *what, const char *spec, struct sw_buf *text)
{
    int from_stdin = strcmp(spec, "-") == 0;
    const char *name;
    FILE *f;
    int rc;

    if (spec[0] != '@' && !from_stdin)
        return sw_buf_appendstr(text, spec);
    name = from_stdin ? "stdin" : spec + 1;
    f = from_stdin ? stdin : fopen(name, "rb");
    if (f == NULL)
        return sw_args_fail(a, "%s: cannot open '%s': %s", what, name, strerror(errno));
    rc = read_stream(f, text);
    if (f != stdin)
        fclose(f);
    if (rc == SW_ETOO_LARGE)
        return sw_args_fail(a, "%s: %s is larger than %zu MiB", what, name,
                            SW_CLI_JSON_ARG_MAX >> 20);
    if (rc == SW_EIO)
        return sw_args_fail(a, "%s: cannot read '%s'", what, name);
    return rc;
}

/* Whether text starts with a letter: a bare word meant as a string. */
static int looks_like_word(const struct sw_buf *text)
{
    size_t i = 0;
    while (i < text->len && isspace((unsigned char)text->data[i]))
        i++;
    return i < text->len && isalpha((unsigned char)text->data[i]) &&
           strncmp(text->data + i, "true", 4) != 0 && strncmp(text->data + i, "false", 5) != 0 &&
           strncmp(text->data + i, "null", 4) != 0;
}

int sw_cli_json_arg(struct sw_args *a, const char *what, const char *spec, json_t **value)
{
    struct sw_buf text;
    json_error_t err;
    int rc;

    sw_buf_init(&text, SW_CLI_JSON_ARG_MAX);
    rc = json_arg_text(a, what, spec, &text);
    if (rc)
        goto out;
    *value = json_loadb(text.len ? text.data : "", text.len, JSON_DECODE_ANY, &err);
    if (*value == NULL)
        rc = sw_args_fail(a, "%s: not valid JSON: %s (line %d, column %d)%s", what, err.text,
                          err.line, err.column,
                          looks_like_word(&text) ? "; a string needs quotes: '\"text\"'" : "");
out:
    sw_buf_free(&text);
    return rc;
}

int sw_cli_labels(struct sw_args *a, json_t *body)
{
    json_t *labels = NULL;
    const char *label;
    int pos = 0;

    while ((label = sw_args_next(a, "--label", &pos)) != NULL) {
        const char *eq = strchr(label, '=');
        json_t *value;
        if (eq == NULL || eq == label)
            return sw_args_fail(a, "--label: '%s' is not KEY=VALUE", label);
        if (labels == NULL) {
            labels = json_object();
            if (json_object_set_new(body, "labels", labels))
                return SW_ENOMEM;
        }
        value = json_string(eq + 1);
        if (value == NULL || json_object_setn_new(labels, label, (size_t)(eq - label), value))
            return sw_args_fail(a, "--label: '%s' is not valid UTF-8", label);
    }
    return 0;
}

int sw_cli_query_add(struct sw_buf *path, const char *key, const char *value)
{
    int rc;

    if (value == NULL)
        return 0;
    rc = sw_buf_appendf(path, "%c%s=", strchr(path->data, '?') ? '&' : '?', key);
    return rc ? rc : sw_client_escape(path, value);
}

void sw_cli_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
