/* SPDX-License-Identifier: MIT
 * system_cmd.h - the commands about swarm and swarmd themselves: health, version,
 * help. */
#ifndef SW_CLI_SYSTEM_CMD_H
#define SW_CLI_SYSTEM_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_system_commands[];

#endif
