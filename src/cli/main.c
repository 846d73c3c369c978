/* SPDX-License-Identifier: MIT
 * main.c - the swarm command-line client of swarmd: lists the command tables and
 * hands the line to the dispatcher in cli.c, whose status is the exit status. */
#include "cli/agent_cmd.h"
#include "cli/apply_cmd.h"
#include "cli/caps_cmd.h"
#include "cli/cli.h"
#include "cli/connect_cmd.h"
#include "cli/costs_cmd.h"
#include "cli/events_cmd.h"
#include "cli/logs_cmd.h"
#include "cli/memory_cmd.h"
#include "cli/swarm_cmd.h"
#include "cli/system_cmd.h"
#include "cli/task_cmd.h"
#include "cli/webhook_cmd.h"
#include "core/alloc.h"

static const struct sw_command *const command_tables[] = {
    sw_apply_commands,
    sw_swarm_commands,
    sw_costs_commands,
    sw_caps_commands,
    sw_logs_commands,
    sw_connect_commands,
    sw_task_commands,
    sw_agent_commands,
    sw_events_commands,
    sw_memory_commands,
    sw_webhook_commands,
    sw_system_commands,
    NULL,
};

int main(int argc, char **argv)
{
    sw_alloc_install_jansson();
    return sw_cli_main(command_tables, argc, argv);
}
