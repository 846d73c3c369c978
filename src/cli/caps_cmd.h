/* SPDX-License-Identifier: MIT
 * caps_cmd.h - the commands of the capability registry: caps (what the swarms and
 * agents can do, how loaded, how it went lately) and discover (who could serve a
 * capability, in the order the router picks). */
#ifndef SW_CLI_CAPS_CMD_H
#define SW_CLI_CAPS_CMD_H

#include "cli/cli.h"

/* Ends with {.run = NULL}. */
extern const struct sw_command sw_caps_commands[];

#endif
