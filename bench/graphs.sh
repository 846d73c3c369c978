#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# graphs.sh - task graphs at scale, run by no-op agents (a swarm of AGENTS (4) noop_agent
# stdio agents with SLOTS (8) slots each). Per run, on a fresh daemon, for each shape the
# tasks are submitted first (no agent yet), then the swarm is applied:
#   fanout: one parent {"fan_in":"all","children":[]} and FANOUT (100,000) children naming
#       it, in batches of 10,000 (POST /v1/tasks:batch): submit_ms for all of them; the
#       daemon's RSS with them queued; then drain (agent_bench drain: the swarm's PUT ->
#       every child succeeded, per /metrics) and done_ms (the PUT -> the parent succeeded,
#       long-polled); RSS and peak RSS (VmHWM) at the end.
#   dag: a diamond lattice of DAG_LAYERS x DAG_WIDTH (99 x 101; each task after two of the
#       layer before) and a sink after the whole last layer: 10,000 tasks in one batch:
#       submit_ms, RSS, drain and done_ms (the PUT -> the sink succeeded), RSS, peak RSS.
# REPS runs (default 3); a RESULT line per run and shape, then the medians. Needs python3
# (to write the batches), jq and curl; see agents_lib.sh for the other knobs.
source "$(dirname "$0")/agents_lib.sh"
AGENTS=${AGENTS:-4} SLOTS=${SLOTS:-8} FANOUT=${FANOUT:-100000}
DAG_LAYERS=${DAG_LAYERS:-99} DAG_WIDTH=${DAG_WIDTH:-101}

hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# write_batches DIR PARENT: DIR/children-N.json, FANOUT children of PARENT by 10,000
write_batches() {
    python3 - "$1" "$2" "$FANOUT" <<'EOF'
import json, sys
out, parent, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
for n, first in enumerate(range(0, total, 10000)):
    tasks = [{"capability": "bench.noop", "parent": parent, "payload": {"i": i}}
             for i in range(first, min(first + 10000, total))]
    with open("%s/children-%03d.json" % (out, n), "w") as f:
        json.dump({"tasks": tasks}, f)
EOF
}

# write_dag FILE: the lattice and its sink as one batch
write_dag() {
    python3 - "$1" "$DAG_LAYERS" "$DAG_WIDTH" <<'EOF'
import json, sys
out, layers, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tasks = []
for l in range(layers):
    for k in range(width):
        t = {"ref": "n%d_%d" % (l, k), "capability": "bench.noop"}
        if l:
            t["after"] = ["n%d_%d" % (l - 1, k), "n%d_%d" % (l - 1, (k + 1) % width)]
        tasks.append(t)
tasks.append({"ref": "sink", "capability": "bench.noop",
              "after": ["n%d_%d" % (layers - 1, k) for k in range(width)]})
with open(out, "w") as f:
    json.dump({"tasks": tasks}, f)
EOF
}

# post_batch FILE: POST /v1/tasks:batch (holding the lock); prints the reply
post_batch() {
    locked curl -fsS --unix-socket "$SOCK" -X POST http://x/v1/tasks:batch \
        -H 'Content-Type: application/json' --data-binary "@$1"
}

# wait_done ID: long-polls the task until it succeeded (fails on another end)
wait_done() {
    local state
    while :; do
        state=$(api GET "/v1/tasks/$1?wait_ms=30000" | jq -r .state)
        case $state in
        succeeded) return 0 ;;
        failed | cancelled) echo "task $1 $state" >&2; exit 1 ;;
        esac
    done
}

# drain_and_wait TOTAL ROOT: the swarm drains TOTAL tasks, then ROOT ends; prints the tail
# of the RESULT line
drain_and_wait() {
    local total=$1 root=$2 t0 drain done_ms
    t0=$(ms_now)
    drain=$(locked "$AB" drain "$SOCK" w noop "$AGENTS" "$total" bench.noop)
    wait_done "$root"
    done_ms=$(( $(ms_now) - t0 ))
    echo "drain_ms=$(field drain_ms <<<"$drain") drain_per_s=$(field drain_per_s <<<"$drain") done_ms=$done_ms"
}

raw=$WORK/graphs.raw
: >"$raw"
for rep in $(seq "$REPS"); do
    dir=$WORK/fanout-$rep
    start_daemon "$dir"
    apply_template noop "$SLOTS"
    parent=$(api POST /v1/tasks '{"fan_in":"all","children":[]}' | jq -r .id)
    mkdir -p "$dir/batches"
    write_batches "$dir/batches" "$parent"
    rss0=$(rss_kb "$daemon_pid")
    t0=$(ms_now)
    for f in "$dir"/batches/children-*.json; do
        post_batch "$f" >/dev/null
    done
    submit_ms=$(( $(ms_now) - t0 ))
    rss1=$(rss_kb "$daemon_pid")
    tail=$(drain_and_wait "$FANOUT" "$parent")
    children=$(api GET "/v1/tasks/$parent" | jq .result.succeeded)
    line="RESULT shape=fanout tasks=$FANOUT agents=$AGENTS slots=$SLOTS submit_ms=$submit_ms"
    line+=" submit_per_s=$(( FANOUT * 1000 / (submit_ms > 0 ? submit_ms : 1) )) $tail"
    line+=" children_succeeded=$children rss_idle_kb=$rss0 rss_queued_kb=$rss1"
    line+=" rss_end_kb=$(rss_kb "$daemon_pid") rss_peak_kb=$(hwm_kb "$daemon_pid")"
    stop_daemon >/dev/null
    echo "$line" | tee -a "$raw.fanout" >&2
    rm -rf "$dir"

    dir=$WORK/dag-$rep
    start_daemon "$dir"
    apply_template noop "$SLOTS"
    write_dag "$dir/dag.json"
    total=$(( DAG_LAYERS * DAG_WIDTH + 1 ))
    rss0=$(rss_kb "$daemon_pid")
    t0=$(ms_now)
    sink=$(post_batch "$dir/dag.json" | jq -r .refs.sink)
    submit_ms=$(( $(ms_now) - t0 ))
    rss1=$(rss_kb "$daemon_pid")
    tail=$(drain_and_wait "$total" "$sink")
    line="RESULT shape=dag tasks=$total layers=$DAG_LAYERS width=$DAG_WIDTH agents=$AGENTS"
    line+=" slots=$SLOTS submit_ms=$submit_ms $tail rss_idle_kb=$rss0 rss_queued_kb=$rss1"
    line+=" rss_end_kb=$(rss_kb "$daemon_pid") rss_peak_kb=$(hwm_kb "$daemon_pid")"
    stop_daemon >/dev/null
    echo "$line" | tee -a "$raw.dag" >&2
    rm -rf "$dir"
done
median_of <"$raw.fanout"
median_of <"$raw.dag"
