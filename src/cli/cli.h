/* SPDX-License-Identifier: MIT
 * cli.h - one run of the swarm command: the command tables, the dispatch from the
 * words on the line to a command, the help generated from each command's syntax, the
 * connection to the daemon opened on first use, the exit statuses, and helpers the
 * commands share. Each command module (task_cmd.c, agent_cmd.c, system_cmd.c, ...)
 * exports one table of commands. */
#ifndef SW_CLI_CLI_H
#define SW_CLI_CLI_H

#include "cli/args.h"
#include "cli/client.h"
#include "cli/endpoint.h"

#include <stdio.h>

/* The exit statuses of swarm, documented in its --help. */
enum sw_exit {
    SW_EXIT_OK = 0,
    SW_EXIT_FAILED = 1,      /* the task failed or was cancelled */
    SW_EXIT_USAGE = 2,       /* a bad command line */
    SW_EXIT_UNREACHABLE = 3, /* no daemon found, or it did not answer */
    SW_EXIT_NOT_FOUND = 4,   /* the daemon answered 404 */
    SW_EXIT_ERROR = 5,       /* any other error */
};

struct sw_cli;

struct sw_command {
    struct sw_syntax syntax; /* syntax.name is the words that name it: "task submit" */
    const char *summary;     /* one line for the command list */
    const char *details;     /* more text for its --help; NULL if none */
    /* Runs the command; returns an enum sw_exit, the status main exits with. */
    int (*run)(struct sw_cli *cli);
};

struct sw_cli {
    struct sw_args args;
    const struct sw_command *const *tables; /* borrowed; each table ends with {.run = NULL} */
    const struct sw_command *command;       /* the command being run */
    int json;                               /* -o json */
    struct sw_endpoint endpoint;
    struct sw_client client;
    int client_open; /* client (and endpoint) are set up */
};

/* Parses argv, runs the command it names and returns the exit status. */
int sw_cli_main(const struct sw_command *const *tables, int argc, char **argv);

/* The client for the daemon, found and opened on first use (borrowed from cli).
 * 0; SW_EINVAL for a malformed URL (message in cli->args.error); SW_EIO when no
 * daemon socket was found, SW_ENOMEM (both printed). */
int sw_cli_client(struct sw_cli *cli, struct sw_client **client);

/* Maps the code of a failed step to an exit status: 0 = ok; SW_EINVAL = usage (prints
 * cli->args.error with a hint to --help); SW_EIO = unreachable; SW_ENOT_FOUND = not
 * found; anything else = error (already printed, except SW_ENOMEM, printed here). */
int sw_cli_exit(struct sw_cli *cli, int rc);
/* GET <prefix><first operand> and print it: as JSON with -o json, else with print.
 * Returns the exit status. */
int sw_cli_show(struct sw_cli *cli, const char *prefix, void (*print)(const json_t *obj));
/* POST <prefix><first operand><suffix> with {}, then print the reply (-o json) or
 * "ID STATE". Returns the exit status. */
int sw_cli_act(struct sw_cli *cli, const char *prefix, const char *suffix);
/* GET path and prints its array `key` with table() (the whole reply with -o json). */
int sw_cli_list(struct sw_cli *cli, const char *path, const char *key,
                int (*table)(const json_t *items));

/* The largest JSON argument read from a file or stdin (sw_cli_json_arg). */
#define SW_CLI_JSON_ARG_MAX ((size_t)64 << 20)

/* Reads the JSON value of an argument: spec is inline JSON text, "@FILE", or "-" for
 * standard input. *value is a new reference. 0, SW_ENOMEM, or SW_EINVAL with a message
 * naming what ("--payload") in cli->args.error: unreadable, too large, not JSON (with
 * a hint to quote a bare word meant as a string). */
int sw_cli_json_arg(struct sw_args *a, const char *what, const char *spec, json_t **value);
/* Puts the --label K=V flags, if any, into body["labels"] as an object of strings.
 * 0, SW_ENOMEM, or SW_EINVAL (message in a->error). */
int sw_cli_labels(struct sw_args *a, json_t *body);
/* Appends "?key=value" (or "&key=value" after the first) to path, value
 * percent-encoded; nothing when value is NULL. 0 or an sw_buf error. */
int sw_cli_query_add(struct sw_buf *path, const char *key, const char *value);

/* Sleeps ms milliseconds, resumed after signals. */
void sw_cli_sleep_ms(long ms);

/* Prints the help for the command or group named by words (all commands for none)
 * on out. Returns SW_EXIT_OK, or SW_EXIT_USAGE when the words name nothing. */
int sw_cli_help(struct sw_cli *cli, const char *const *words, int nwords, FILE *out);

#endif
