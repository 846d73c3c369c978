#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# registry.sh - the capability registry at scale: AGENTS remote agents (default 10,000)
# registered over CAPS capabilities (default 100, two versions each, 1 to 4 slots, a
# zone label), then QUERIES discoveries (default 10,000) one at a time: a bare name, a
# version, a label selector, in turn; and 100 capability lists. The load generator is
# registry_load.c (see its header). A fresh daemon per run (heartbeats every hour, so no
# agent is lost during the run), each in a scratch folder, every timed run under the
# machine-wide lock. Prints a RESULT line per run, the medians, and a markdown table.
# Run from anywhere, as root on Debian 12.
#
# Knobs (environment): AGENTS, CAPS, QUERIES, CONNS (registering connections, default
# 8), REPS (runs, default 3), SWARMD_BIN or SWARMD (default build-bench/swarmd, else
# build/swarmd), BENCH_LOCK (default /tmp/bench.lock), KEEP=1 (keep the scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
AGENTS=${AGENTS:-10000} CAPS=${CAPS:-100} QUERIES=${QUERIES:-10000} CONNS=${CONNS:-8}
REPS=${REPS:-3}
BENCH_LOCK=${BENCH_LOCK:-${TMPDIR:-/tmp}/bench.lock}
SWARMD_BIN=${SWARMD_BIN:-${SWARMD:-}}
if [ -z "$SWARMD_BIN" ]; then
    for b in build-bench build; do
        if [ -x "$ROOT/$b/swarmd" ]; then SWARMD_BIN=$ROOT/$b/swarmd; break; fi
    done
fi
[ -x "${SWARMD_BIN:-}" ] || { echo "no swarmd: build it (see bench/README.md) or set SWARMD_BIN" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry.XXXXXX")
daemon_pid=
cleanup() {
    stop_daemon
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
. "$(dirname "$0")/bench_lib.sh"

# the load generator: beside the daemon if built there and current, else compiled here
LOADGEN=$(dirname "$SWARMD_BIN")/registry_load
if [ ! -x "$LOADGEN" ] || [ "$ROOT/bench/registry_load.c" -nt "$LOADGEN" ]; then
    LOADGEN=$WORK/registry_load
    cc -O2 -g -std=c17 -pthread -o "$LOADGEN" "$ROOT/bench/registry_load.c"
fi

# start_daemon DIR: a fresh daemon with its home in DIR; bounded wait (10 ms, 20 s) for /ready
start_daemon() {
    local dir=$1
    mkdir -p "$dir"
    "$SWARMD_BIN" --home "$dir" --log-level warn --heartbeat 1h 2>"$dir/log" &
    daemon_pid=$!
    wait_ready "$dir"
}



log "agents=$AGENTS caps=$CAPS queries=$QUERIES conns=$CONNS reps=$REPS"
failed=0
for rep in $(seq "$REPS"); do
    dir=$WORK/run-$rep
    start_daemon "$dir"
    rc=0
    line=$(flock "$BENCH_LOCK" "$LOADGEN" "$dir/swarm.sock" "$AGENTS" "$CAPS" "$QUERIES" "$CONNS") || rc=$?
    stop_daemon
    if [ "$rc" != 0 ] || [ -z "$line" ]; then
        failed=1
        log "run $rep: the load generator failed (exit $rc)"
        continue
    fi
    echo "$line rep=$rep" | tee -a "$WORK/results"
done
m=$(results_median <"$WORK/results" 2>/dev/null) || { echo "no run gave a result" >&2; exit 1; }
echo "$m"

echo
echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r);" \
    "$("$SWARMD_BIN" --version | sed -n 1p); the load generator and the daemon share the machine."
echo "Load: $AGENTS remote agents over $CAPS capabilities, $QUERIES discoveries one at a time; medians of $REPS runs."
echo
echo "| measurement | value |"
echo "|---|---|"
f() { field "$1" <<<"$m"; }
echo "| registration ($CONNS connections) | $(f register_s) s ($(f register_per_s) agents/s) |"
echo "| discover p50 / p90 / p99 / max | $(f discover_p50_us) / $(f discover_p90_us) / $(f discover_p99_us) / $(f discover_max_us) µs |"
echo "| discover p99: bare / version / label selector | $(f bare_p99_us) / $(f version_p99_us) / $(f labels_p99_us) µs |"
echo "| GET /v1/capabilities p50 / p99 | $(f list_p50_us) / $(f list_p99_us) µs |"
echo "| GET /health p50 / p99 (the HTTP path alone) | $(f health_p50_us) / $(f health_p99_us) µs |"
echo "| daemon RSS before / after registering | $(mib "$(f rss_before_kb)") / $(mib "$(f rss_after_kb)") MiB |"
exit "$failed"
