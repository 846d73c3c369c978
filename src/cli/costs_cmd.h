/* SPDX-License-Identifier: MIT
 * costs_cmd.h - "swarm costs": what the managed agents cost, per swarm (as a tree, each
 * swarm's total with its children's) and per template, over all time or a recent
 * window. */
#ifndef SW_CLI_COSTS_CMD_H
#define SW_CLI_COSTS_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_costs_commands[];

#endif
