# SPDX-License-Identifier: MIT
# agents_lib.sh - sourced by the agents_*.sh benchmarks: builds the helpers (noop_agent,
# agent_bench), starts and stops private daemons in a scratch folder, and takes medians
# of RESULT lines.
#
# Knobs (environment): SWARMD (the daemon; default build-bench/swarmd, else build/swarmd),
# REPS (runs per measurement, default 3), BENCH_LOCK (the machine-wide lock every timed
# command holds, as in ../shared/peer-bench; default /tmp/bench.lock), PEER_BENCH
# (default ../shared/peer-bench), KEEP=1 keeps the scratch folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
if [ -z "${SWARMD:-}" ]; then
    for b in build-bench build; do
        if [ -x "$ROOT/$b/swarmd" ]; then SWARMD=$ROOT/$b/swarmd; break; fi
    done
fi
[ -x "${SWARMD:-}" ] || { echo "no swarmd: build it (see bench/README.md) or set SWARMD" >&2; exit 1; }
REPS=${REPS:-3}
BENCH_LOCK=${BENCH_LOCK:-${TMPDIR:-/tmp}/bench.lock}
PEER_BENCH=${PEER_BENCH:-$(cd "$ROOT/.." && pwd)/shared/peer-bench}
BENCH_BIN=$(dirname "$SWARMD")/bench-tools
mkdir -p "$BENCH_BIN"
make -s -C "$ROOT/bench" O="$BENCH_BIN" >&2
NOOP=$BENCH_BIN/noop_agent
AB=$BENCH_BIN/agent_bench
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agents-bench.XXXXXX")
daemon_pid=
SOCK=

locked() { flock "$BENCH_LOCK" "$@"; }
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# start_daemon DIR: a fresh daemon with its home in DIR/.swarm, cwd DIR; waits (bounded)
# until /ready answers 200
start_daemon() {
    local dir=$1 i
    mkdir -p "$dir"
    SOCK=$dir/.swarm/swarm.sock
    (cd "$dir" && exec "$SWARMD" --home "$dir/.swarm" --log-level warn 2>>"$dir/swarmd.log") &
    daemon_pid=$!
    for i in $(seq 2000); do
        curl -fs --unix-socket "$SOCK" http://x/ready >/dev/null 2>&1 && return 0
        kill -0 "$daemon_pid" 2>/dev/null || { echo "swarmd exited: $(tail -3 "$dir/swarmd.log")" >&2; exit 1; }
        sleep 0.01
    done
    echo "swarmd not ready after 20 s" >&2
    exit 1
}

# stop_daemon: SIGTERM, wait up to 60 s (then SIGKILL); prints the ms it took to exit
stop_daemon() {
    [ -n "$daemon_pid" ] || return 0
    local t0 i
    t0=$(ms_now)
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for i in $(seq 6000); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
    echo $(( $(ms_now) - t0 ))
}

# agents still running our noop_agent binary (after the daemon is gone: leftovers)
leftover_agents() {
    local n=0 p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$NOOP" ] && n=$((n + 1))
    done
    echo $n
}

cleanup() {
    stop_daemon >/dev/null
    [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

# api METHOD PATH [BODY]
api() {
    if [ $# -gt 2 ]; then
        curl -fsS --unix-socket "$SOCK" -X "$1" "http://x$2" -H 'Content-Type: application/json' -d "$3"
    else
        curl -fsS --unix-socket "$SOCK" -X "$1" "http://x$2"
    fi
}

# the noop template: apply_template NAME SLOTS [ENV_JSON]
apply_template() {
    api PUT "/v1/templates/$1" "{\"command\":[\"$NOOP\"],\"mode\":\"stdio\",\"capabilities\":[\"bench.noop\"],\"slots\":$2,\"env\":${3:-{\}}}" >/dev/null
}

# wait_swarm_ready NAME N: bounded poll (10 ms, 60 s) until all N agents are ready with a pid
wait_swarm_ready() {
    local i
    for i in $(seq 6000); do
        if api GET "/v1/swarms/$1" | jq -e --argjson n "$2" \
            '[.agents[] | select(.state == "ready" and .pid > 0)] | length == $n' >/dev/null; then
            return 0
        fi
        sleep 0.01
    done
    echo "swarm $1: not all $2 agents ready after 60 s" >&2
    api GET "/v1/swarms/$1" | jq -c .swarm.agents >&2
    exit 1
}

# swarmd's CPU time so far, in ms (utime + stime)
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$1/stat"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# median_of: RESULT lines (one measurement repeated) on stdin -> one line: the median of
# every numeric key (first value otherwise), reps=N
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
    function isnum(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?$/ }
    END {
        if (!n) exit 1
        line = "RESULT"
        for (j = 1; j <= nk; j++) {
            k = order[j]; m = 0; allnum = 1
            for (r = 1; r <= n; r++)
                if ((k, r) in val) { a[++m] = val[k, r]; if (!isnum(val[k, r])) allnum = 0 }
            if (!allnum || m == 0) { line = line " " k "=" a[1]; continue }
            for (x = 2; x <= m; x++) { t = a[x] + 0; y = x - 1
                while (y >= 1 && a[y] + 0 > t) { a[y + 1] = a[y]; y-- } a[y + 1] = t }
            out = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
            line = line " " k "=" out
        }
        print line " reps=" n
    }'
}

# field KEY < RESULT line
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2); exit }'; }
