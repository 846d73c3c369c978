/* SPDX-License-Identifier: MIT
 * webhook_cmd.h - the "swarm webhook" commands: add, ls, get, rm, enable. */
#ifndef SW_CLI_WEBHOOK_CMD_H
#define SW_CLI_WEBHOOK_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_webhook_commands[];

#endif
