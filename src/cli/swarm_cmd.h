/* SPDX-License-Identifier: MIT
 * swarm_cmd.h - the commands on swarms: ls, status, scale, start, stop, destroy. */
#ifndef SW_CLI_SWARM_CMD_H
#define SW_CLI_SWARM_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_swarm_commands[];

#endif
