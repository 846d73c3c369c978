#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# routing.sh - the cost of routing a task across a swarm tree at submit, beside one
# served in the submitter's own swarm (bench/routing.py), on a fresh daemon per run.
# Knobs: N (submits of each kind, default 3000), REPS (default 3), SWARMD_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000} REPS=${REPS:-3}
SWARMD_BIN=${SWARMD_BIN:-build/swarmd}
WORK=$(mktemp -d)
daemon_pid=
cleanup() {
    stop_daemon
    rm -rf "$WORK"
}
trap cleanup EXIT
. bench/bench_lib.sh
for rep in $(seq "$REPS"); do
    dir=$WORK/run-$rep
    mkdir -p "$dir"
    "$SWARMD_BIN" --home "$dir" --log-level warn --heartbeat 1h 2>"$dir/log" &
    daemon_pid=$!
    wait_ready "$dir"
    python3 bench/routing.py "$dir/swarm.sock" "$N" | sed "s/\$/ rep=$rep/" | tee -a "$WORK/results"
    stop_daemon
done
for c in own_swarm across_tree difference; do
    grep "case=$c " "$WORK/results" | results_median
done
