/* SPDX-License-Identifier: MIT
 * task_cmd.h - the "swarm task" commands: submit, get, wait, cancel, retry, ls, tree
 * (tree_cmd.c). */
#ifndef SW_CLI_TASK_CMD_H
#define SW_CLI_TASK_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_task_commands[];

#endif
