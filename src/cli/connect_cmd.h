/* SPDX-License-Identifier: MIT
 * connect_cmd.h - "swarm connect": a shell in an agent's environment. */
#ifndef SW_CLI_CONNECT_CMD_H
#define SW_CLI_CONNECT_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_connect_commands[];

#endif
