#!/bin/sh
# SPDX-License-Identifier: MIT
# exec_upper.sh - an exec-mode agent for swarmd: one process per task.
#
# swarmd starts it once for each task (template mode: exec) with the task's payload as
# JSON on stdin and SWARM_TASK (the task id) and TRACEPARENT in the environment. What it
# prints on stdout is the result: JSON if it parses as JSON, else a string. Exit 0 is
# success; any other exit fails the attempt with code exit_N and the end of stderr as
# the message, and swarmd retries it while attempts are left.
#
#   {"text": "hello"}  ->  {"text": "HELLO", "task": "t_..."}
set -eu

payload=$(cat)
if ! printf '%s' "$payload" | jq -e '.text | strings' >/dev/null 2>&1; then
    echo "exec_upper.sh: the payload must be {\"text\": string}, got: $payload" >&2
    exit 2
fi
echo "exec_upper.sh: task $SWARM_TASK (traceparent $TRACEPARENT)" >&2
printf '%s' "$payload" | jq -c --arg task "$SWARM_TASK" '{text: (.text | ascii_upcase), task: $task}'
