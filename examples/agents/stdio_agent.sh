#!/bin/sh
# SPDX-License-Identifier: MIT
# stdio_agent.sh - a complete stdio agent for swarmd in POSIX shell and jq.
#
# swarmd starts it (template mode: stdio) and writes one JSON-RPC 2.0 object per line
# on its stdin; it answers one object per line on its stdout. It serves task.run for the
# capabilities echo (the result is the payload) and upper ({"text": "hi"} -> {"text":
# "HI"}), one task at a time (slots: 1), and answers swarmd's health ping. A payload
# that upper cannot use fails the task for good (error.data.retry = false); an unknown
# capability fails the attempt, which swarmd retries. It logs each task through the
# "log" notification, writes notes to stderr (both end up in <home>/logs/<agent>.log),
# and exits when swarmd closes its stdin or sends SIGTERM. See docs/agent-protocol.md,
# "Managed agents: stdio and exec modes".
set -u

echo "stdio_agent.sh up: agent $SWARM_AGENT_NAME ($SWARM_AGENT) in swarm '$SWARM_SWARM'" >&2

# One answer line for a task.run request (the whole request is on stdin).
run_task() {
    jq -c '
      .id as $id | .params as $task |
      ($task.capability | sub("@.*$"; "")) as $cap |
      def ok(r): {jsonrpc: "2.0", id: $id, result: r};
      def fail(msg; retry): {jsonrpc: "2.0", id: $id,
                             error: {code: -32000, message: msg, data: {retry: retry}}};
      if $cap == "echo" then ok($task.payload)
      elif $cap == "upper" then
        if ($task.payload | type) == "object" and ($task.payload.text | type) == "string"
        then ok({text: ($task.payload.text | ascii_upcase)})
        else fail("upper needs a payload {\"text\": string}"; false) end
      else fail("no handler for " + $cap; true) end'
}

while IFS= read -r line; do
    [ -n "$line" ] || continue
    # A line that is not JSON: note it and go on (swarmd sends only JSON).
    if ! method=$(printf '%s\n' "$line" | jq -r 'if type == "object" then .method // "" else "" end' 2>/dev/null); then
        echo "not JSON: $line" >&2
        continue
    fi
    case $method in
    task.run)
        printf '%s\n' "$line" | jq -c '{jsonrpc: "2.0", method: "log",
            params: {message: ("running " + .params.id + " (" + .params.capability
                               + ", attempt " + (.params.attempt | tostring) + ")")}}'
        printf '%s\n' "$line" | run_task
        ;;
    ping)
        # swarmd's health check (template health: {rpc: true}): answer with any result.
        printf '%s\n' "$line" | jq -c '{jsonrpc: "2.0", id: .id, result: "pong"}'
        ;;
    task.cancel)
        # One task at a time: a cancel can only be for a task already answered.
        echo "cancelled: $(printf '%s\n' "$line" | jq -r .params.id)" >&2
        ;;
    "")
        # An answer to a call of ours (we make none with an id), or an error swarmd
        # sent about a line of ours: note it.
        echo "from swarmd: $line" >&2
        ;;
    *)
        printf '%s\n' "$line" | jq -c 'select(has("id")) |
            {jsonrpc: "2.0", id: .id, error: {code: -32601, message: "method not found"}}'
        ;;
    esac
done
echo "stdin closed: exiting" >&2
