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
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

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
    for _ in $(seq 2000); do
        curl -fs --unix-socket "$dir/swarm.sock" http://x/ready >/dev/null 2>&1 && return 0
        kill -0 "$daemon_pid" 2>/dev/null || { echo "swarmd exited: $(tail -3 "$dir/log")" >&2; exit 1; }
        sleep 0.01
    done
    echo "swarmd not ready after 20 s" >&2
    exit 1
}

# stop_daemon: SIGTERM, bounded wait (60 s), then SIGKILL
stop_daemon() {
    [ -n "$daemon_pid" ] || return 0
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 6000); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
}

median_of() {
    awk '
    /^RESULT / {
        n++
        for (i = 2; i <= NF; i++) {
            k = $i; sub(/=.*/, "", k); v = substr($i, length(k) + 2)
            if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
            val[k, n] = v
        }
    }
    END {
        if (!n) exit 1
        line = "RESULT median"
        for (j = 1; j <= nk; j++) {
            k = order[j]
            if (k == "rep") continue
            if (val[k, 1] !~ /^-?[0-9.]+$/) { line = line " " k "=" val[k, 1]; continue }
            for (r = 1; r <= n; r++) a[r] = val[k, r] + 0
            for (x = 2; x <= n; x++) { t = a[x]; y = x - 1
                while (y >= 1 && a[y] > t) { a[y + 1] = a[y]; y-- } a[y + 1] = t }
            line = line " " k "=" ((n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
        }
        print line " reps=" n
    }'
}
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2); exit }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

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
m=$(median_of <"$WORK/results" 2>/dev/null) || { echo "no run gave a result" >&2; exit 1; }
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
