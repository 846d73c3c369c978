#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sse_fanout.sh - event fan-out through Server-Sent Events: SUBSCRIBERS streams of
# /v1/events/stream?type=bench.* on one fresh daemon, RATE events/s published for SECONDS
# (sse_fanout.c: one epoll thread reads every stream, a second thread publishes on its
# own keep-alive connection). Per run: events delivered / expected (every subscriber must
# get every event, in order), publish-to-receive latency p50/p99/max, the publisher's
# POST latency, the daemon's RSS before the subscribers, with them and at the end, bytes
# per subscriber, and the daemon's CPU while publishing. Each run starts a fresh daemon in
# a scratch folder (--max-connections above SUBSCRIBERS, descriptors raised with ulimit)
# and holds the machine-wide lock. Prints a RESULT line per run, the medians and a
# markdown table. Run from anywhere, as root (to raise the descriptor limit).
#
# Knobs (environment): SUBSCRIBERS (default 10000), RATE (events/s, default 1000),
# SECONDS (publishing time per run, default 10), PUBLISHERS (connections that publish,
# default 8), REPS (runs, default 3), SWARMD_BIN or
# SWARMD (the daemon; default build-bench/swarmd, else build/swarmd), BENCH_LOCK (default
# /tmp/bench.lock), KEEP=1 (keep the scratch folder and the daemons' logs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# SECONDS is also bash's own counter: the knob is read from the environment as given
SECONDS_PER_RUN=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^SECONDS=//p')
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
SUBSCRIBERS=${SUBSCRIBERS:-10000} RATE=${RATE:-1000} REPS=${REPS:-3}
BENCH_LOCK=${BENCH_LOCK:-${TMPDIR:-/tmp}/bench.lock}
SWARMD_BIN=${SWARMD_BIN:-${SWARMD:-}}
if [ -z "$SWARMD_BIN" ]; then
    for b in build-bench build; do
        if [ -x "$ROOT/$b/swarmd" ]; then SWARMD_BIN=$ROOT/$b/swarmd; break; fi
    done
fi
[ -x "${SWARMD_BIN:-}" ] || { echo "no swarmd: build it (see bench/README.md) or set SWARMD_BIN" >&2; exit 1; }

# a descriptor per subscriber on each side, and some
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((SUBSCRIBERS + 256)) ]; then
    echo "open-files limit $(ulimit -n) is below SUBSCRIBERS + 256" >&2
    exit 1
fi
max_connections=$((SUBSCRIBERS + 256 > 20000 ? SUBSCRIBERS + 256 : 20000))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sse-fanout.XXXXXX")
daemon_pid=
cleanup() {
    stop_daemon
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
. "$(dirname "$0")/bench_lib.sh"

# the probe: beside the daemon if built there and current, else compiled here
PROBE=$(dirname "$SWARMD_BIN")/sse_fanout
if [ ! -x "$PROBE" ] || [ "$ROOT/bench/sse_fanout.c" -nt "$PROBE" ]; then
    PROBE=$WORK/sse_fanout
    cc -O2 -g -std=c17 -pthread -o "$PROBE" "$ROOT/bench/sse_fanout.c"
fi

# start_daemon DIR: a fresh daemon with its home in DIR; bounded wait (10 ms, 20 s) for /ready
start_daemon() {
    local dir=$1
    mkdir -p "$dir"
    "$SWARMD_BIN" --home "$dir" --log-level warn --max-connections "$max_connections" 2>"$dir/log" &
    daemon_pid=$!
    wait_ready "$dir"
}



log "subscribers=$SUBSCRIBERS rate=$RATE seconds=$SECONDS_PER_RUN reps=$REPS max-connections=$max_connections nofile=$(ulimit -n)"
failed=0
for rep in $(seq "$REPS"); do
    dir=$WORK/run-$rep
    start_daemon "$dir"
    rc=0
    line=$(flock "$BENCH_LOCK" "$PROBE" "$dir/swarm.sock" "$SUBSCRIBERS" "$RATE" "$SECONDS_PER_RUN") || rc=$?
    errors=$(grep -c 'level=error' "$dir/log" || true)
    stop_daemon
    if [ -z "$line" ]; then
        failed=1
        log "run $rep: the probe gave no result (exit $rc)"
        continue
    fi
    echo "$line daemon_log_errors=$errors rep=$rep" | tee -a "$WORK/results"
    [ "$rc" = 0 ] || { failed=1; log "run $rep: not every event reached every subscriber (ok=0 above)"; }
    [ "$errors" = 0 ] || { log "run $rep: errors in the daemon's log:"; grep 'level=error' "$dir/log" | head -5 >&2; }
done
m=$(results_median <"$WORK/results" 2>/dev/null) || { echo "no run gave a result" >&2; exit 1; }
echo "$m"

echo
echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r);" \
    "$("$SWARMD_BIN" --version | sed -n 1p); the probe and the daemon share the machine."
echo "Load: $SUBSCRIBERS SSE subscribers on the Unix socket, $RATE events/s asked for $SECONDS_PER_RUN s; medians of $REPS runs."
echo
echo "| measurement | value |"
echo "|---|---|"
f() { field "$1" <<<"$m"; }
echo "| events published (asked $RATE/s) | $(f published) ($(f publish_rate)/s) |"
echo "| delivered / expected (events × subscribers) | $(f delivered) / $(f expected) |"
echo "| publish → receive latency p50 / p99 / max | $(f lat_p50_ms) / $(f lat_p99_ms) / $(f lat_max_ms) ms |"
echo "| publisher's POST /v1/events p50 / p99 | $(f post_p50_us) / $(f post_p99_us) µs |"
echo "| daemon RSS before / with the subscribers / at the end | $(mib "$(f rss_before_kb)") / $(mib "$(f rss_with_kb)") / $(mib "$(f rss_end_kb)") MiB |"
echo "| RSS per subscriber | $(f bytes_per_sub) bytes |"
echo "| all subscribers connected / ready | $(f connect_ms) / $(f ready_ms) ms |"
echo "| last delivery after the last publish | $(f drain_ms) ms |"
echo "| daemon CPU while publishing (% of one CPU) | $(f daemon_cpu_pct) % |"
exit "$failed"
