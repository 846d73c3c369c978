/* SPDX-License-Identifier: MIT
 * tree_cmd.h - "swarm task tree ID" (tree_cmd.c), listed in task_cmd.c's table. */
#ifndef SW_CLI_TREE_CMD_H
#define SW_CLI_TREE_CMD_H

#include "cli/cli.h"

extern const struct sw_flag sw_task_tree_flags[];

/* Shows a task and its descendants as a tree; returns the exit status. */
int sw_task_tree(struct sw_cli *cli);

#endif
