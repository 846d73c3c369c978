/* SPDX-License-Identifier: MIT
 * apply_cmd.h - the commands that work from spec files: "swarm init" writes a starter
 * spec, "swarm apply" sends specs to the daemon. */
#ifndef SW_CLI_APPLY_CMD_H
#define SW_CLI_APPLY_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_apply_commands[];

#endif
