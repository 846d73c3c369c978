/* SPDX-License-Identifier: MIT
 * memory_cmd.h - the "swarm memory" commands: get, set, rm, ls, watch, history. */
#ifndef SW_CLI_MEMORY_CMD_H
#define SW_CLI_MEMORY_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_memory_commands[];

#endif
