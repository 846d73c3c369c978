#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# queue_1m.sh [TASKS] - a queue of TASKS (default 1,000,000) tasks: fill rate through the
# API (64 connections), daemon RSS with the queue in memory, then SIGTERM and restart:
# time from start to /ready, and RSS after recovery. Run from the repository root after
# scripts/build.sh. Prints RESULT lines.
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-1000000}
home=$(mktemp -d /tmp/swarmd-bench.XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$home"' EXIT
sock=$home/swarm.sock
wait_ready() {
    local start=$1
    while ! curl -fs --unix-socket "$sock" http://x/ready >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "swarmd exited" >&2; exit 1; }
        sleep 0.005
    done
    echo $(( $(date +%s%N) / 1000000 - start ))
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

build/swarmd --home "$home" --log-level warn 2>"$home/log" &
pid=$!
wait_ready "$(( $(date +%s%N) / 1000000 ))" >/dev/null
build/submit_load "$sock" "$tasks" 64
echo "RESULT phase=filled tasks=$tasks rss_kb=$(rss_kb) db_bytes=$(stat -c %s "$home/swarmd.db")"
kill -TERM "$pid"; wait "$pid" || true
start=$(( $(date +%s%N) / 1000000 ))
build/swarmd --home "$home" --log-level warn 2>>"$home/log" &
pid=$!
ms=$(wait_ready "$start")
echo "RESULT phase=restarted tasks=$tasks restart_to_ready_ms=$ms rss_kb=$(rss_kb)"
grep -o 'msg="recovered".*' "$home/log" | tail -1
