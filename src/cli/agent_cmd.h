/* SPDX-License-Identifier: MIT
 * agent_cmd.h - the "swarm agent" commands: ls, get, create, stop, start, restart,
 * rm. */
#ifndef SW_CLI_AGENT_CMD_H
#define SW_CLI_AGENT_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_agent_commands[];

#endif
