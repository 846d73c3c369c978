#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# memory_cas.sh - durable compare-and-swap writes: swarmd's memory API beside Redis
# (appendfsync always, the CAS as a Lua script through EVALSHA) and etcd (a txn through its
# JSON gateway), in one run, with the same load generator (memory_cas.c): CLIENTS
# threads, each rewriting its own key with the version its previous write returned, one
# request in flight per client, keep-alive connections, for SECONDS. Every server is fresh
# for each run, in a scratch folder, and every timed run holds the machine-wide lock.
# etcd comes from Debian's etcd-server, installed with apt-get when missing (as root);
# without it etcd is skipped with a note. Prints a RESULT line per run, the medians, and a
# markdown table with the ratios. Run from anywhere, as root on Debian 12.
#
# Knobs (environment): REPS (runs per target, default 3), CLIENTS (default 4), SECONDS
# (per run, default 5), PAD (bytes of padding in each value, default 100), SWARMD_BIN or
# SWARMD (the daemon; default build-bench/swarmd, else build/swarmd), ETCD=0 (skip etcd),
# NO_INSTALL=1 (never run apt-get), BENCH_LOCK (default /tmp/bench.lock), KEEP=1 (keep the
# scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# SECONDS is also bash's own counter: the knob is read from the environment as given
SECONDS_PER_RUN=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^SECONDS=//p')
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
REPS=${REPS:-3} CLIENTS=${CLIENTS:-4} PAD=${PAD:-100}
BENCH_LOCK=${BENCH_LOCK:-${TMPDIR:-/tmp}/bench.lock}
SWARMD_BIN=${SWARMD_BIN:-${SWARMD:-}}
if [ -z "$SWARMD_BIN" ]; then
    for b in build-bench build; do
        if [ -x "$ROOT/$b/swarmd" ]; then SWARMD_BIN=$ROOT/$b/swarmd; break; fi
    done
fi
[ -x "${SWARMD_BIN:-}" ] || { echo "no swarmd: build it (see bench/README.md) or set SWARMD_BIN" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memory-cas.XXXXXX")
server_pid=
cleanup() {
    stop_server
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
. "$(dirname "$0")/bench_lib.sh"

# the load generator: beside the daemon if built there and current, else compiled here
LOADGEN=$(dirname "$SWARMD_BIN")/memory_cas
if [ ! -x "$LOADGEN" ] || [ "$ROOT/bench/memory_cas.c" -nt "$LOADGEN" ]; then
    LOADGEN=$WORK/memory_cas
    cc -O2 -g -std=c17 -pthread -o "$LOADGEN" "$ROOT/bench/memory_cas.c"
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for TEST...: bounded poll (10 ms, 30 s) until the command succeeds
wait_for() {
    for _ in $(seq 3000); do
        "$@" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || { echo "server exited: $(tail -3 "$dir/log")" >&2; exit 1; }
        sleep 0.01
    done
    echo "server not ready after 30 s: $*" >&2
    exit 1
}

stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 3000); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

etcd_healthy() { curl -fs "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }

# run_one TARGET REP: a fresh server in its own folder, one timed run; prints its RESULT line
run_one() {
    local target=$1 dir=$WORK/$1-$2 addr port peer
    mkdir -p "$dir"
    case $target in
    swarmd)
        "$SWARMD_BIN" --home "$dir" --log-level warn 2>"$dir/log" &
        server_pid=$!
        addr=$dir/swarm.sock
        wait_for curl -fs --unix-socket "$addr" http://x/ready
        ;;
    redis)
        port=$(free_port)
        redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --appendonly yes \
            --appendfsync always --save "" --daemonize no --logfile "$dir/log" &
        server_pid=$!
        addr=127.0.0.1:$port
        wait_for redis-cli -p "$port" ping
        ;;
    etcd)
        port=$(free_port) peer=$(free_port)
        # durable: every commit is fsynced (no --unsafe-no-fsync)
        etcd --name bench --data-dir "$dir/data" \
            --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
            --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
            --initial-cluster "bench=http://127.0.0.1:$peer" --initial-cluster-state new \
            --logger zap --log-outputs stderr --log-level warn 2>"$dir/log" &
        server_pid=$!
        addr=127.0.0.1:$port
        wait_for etcd_healthy "$port"
        ;;
    esac
    local line rc=0
    line=$(flock "$BENCH_LOCK" "$LOADGEN" "$target" "$addr" "$CLIENTS" "$SECONDS_PER_RUN" "$PAD") || rc=$?
    stop_server
    echo "$line rep=$2" | tee -a "$WORK/results"
    [ "$rc" = 0 ] || { echo "$target: the run had failed or conflicting writes (see above)" >&2; exit 1; }
}

# median_of TARGET: the median of every numeric key of that target's RESULT lines
median_of() { grep "^RESULT target=$1 " "$WORK/results" | results_median; }

targets="swarmd redis"
etcd_note=
if [ "${ETCD:-1}" != 0 ]; then
    if ! command -v etcd >/dev/null && [ "${NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] &&
        command -v apt-get >/dev/null; then
        log "installing etcd-server"
        { DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server ||
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server; }; } \
            >"$WORK/apt.log" 2>&1 || true
    fi
    if command -v etcd >/dev/null; then
        targets="$targets etcd"
    else
        etcd_note="etcd skipped: not installed (apt-get install etcd-server failed or was not allowed)"
    fi
else
    etcd_note="etcd skipped: ETCD=0"
fi
[ -z "$etcd_note" ] || log "$etcd_note"

log "clients=$CLIENTS seconds=$SECONDS_PER_RUN reps=$REPS pad=$PAD targets: $targets"
for rep in $(seq "$REPS"); do
    for t in $targets; do
        run_one "$t" "$rep"
    done
done
for t in $targets; do median_of "$t"; done | tee "$WORK/medians"

versions="$("$SWARMD_BIN" --version 2>/dev/null | sed -n 1p); $(redis-server --version | cut -d' ' -f1-3)"
command -v etcd >/dev/null && versions="$versions; etcd $(etcd --version 2>/dev/null | sed -n "s/^etcd Version: //p")"
echo
echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r);" \
    "disk: $(df -h --output=source,fstype,size "$WORK" | tail -1 | tr -s ' ') ($WORK)"
echo "Software: $versions"
echo "Load: $CLIENTS clients, each its own key, CAS writes for $SECONDS_PER_RUN s, $PAD-byte pad; medians of $REPS runs."
echo
echo "| target | how | writes/s | p50 µs | p90 µs | p99 µs | max µs |"
echo "|---|---|---|---|---|---|---|"
describe() {
    case $1 in
    swarmd) echo "PUT /v1/memory with If-Match, Unix socket, synchronous=FULL" ;;
    redis) echo "EVALSHA Lua CAS on a hash, appendfsync always, TCP" ;;
    etcd) echo "POST /v3/kv/txn (JSON gateway), fsync per commit, TCP" ;;
    esac
}
for t in $targets; do
    m=$(grep "target=$t " "$WORK/medians")
    echo "| $t | $(describe "$t") | $(field writes_per_s <<<"$m") | $(field p50_us <<<"$m") |" \
        "$(field p90_us <<<"$m") | $(field p99_us <<<"$m") | $(field max_us <<<"$m") |"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
s=$(grep "target=swarmd " "$WORK/medians")
for t in redis etcd; do
    case " $targets " in *" $t "*) ;; *) continue ;; esac
    m=$(grep "target=$t " "$WORK/medians")
    echo
    echo "swarmd / $t: writes/s $(ratio "$(field writes_per_s <<<"$s")" "$(field writes_per_s <<<"$m")")×," \
        "p50 $(ratio "$(field p50_us <<<"$s")" "$(field p50_us <<<"$m")")×," \
        "p99 $(ratio "$(field p99_us <<<"$s")" "$(field p99_us <<<"$m")")×"
done
[ -z "$etcd_note" ] || { echo; echo "Note: $etcd_note"; }
