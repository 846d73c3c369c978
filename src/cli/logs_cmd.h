/* SPDX-License-Identifier: MIT
 * logs_cmd.h - "swarm logs": what an agent, or every agent of a swarm, printed. */
#ifndef SW_CLI_LOGS_CMD_H
#define SW_CLI_LOGS_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_logs_commands[];

#endif
