#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agents_tasks.sh - durable tasks through managed stdio agents: a swarm of AGENTS (4)
# noop_agent processes with SLOTS (8) slots each; tasks (capability bench.noop, ~100-byte
# payload) submitted over HTTP on the Unix socket by CLIENTS (4) keep-alive connections
# (agent_bench load). Per run, on a fresh daemon:
#   drain: TASKS tasks queued first (build/submit_load, 32 connections), then the swarm is
#         applied: drain rate = TASKS / (PUT -> all succeeded): what the agents and the
#         daemon's dispatch/complete path reach when the submitters are not the limit.
#   flat: TASKS (50,000) tasks as fast as they are acknowledged; end-to-end rate = TASKS /
#         (first submit -> swarmd_tasks_succeeded_total grown by TASKS, /metrics polled
#         every 10 ms); daemon and agents CPU per task; commits per task and commit time
#         (swarmd_store_* counters).
#   paced: PACED_TASKS (5,000) at RATE (1,000) tasks/s on an absolute schedule; latency
#         submit -> agent received, in µs: each payload carries the CLOCK_REALTIME µs of
#         its submit and noop_agent writes (receive time - that) per task to a file
#         (NOOP_LATENCY_DIR); also swarmd's own dispatch histogram (queued -> leased),
#         which it computes from ms timestamps, so only its buckets are reported.
# REPS runs (default 3); medians.
source "$(dirname "$0")/agents_lib.sh"
AGENTS=${AGENTS:-4} SLOTS=${SLOTS:-8} CLIENTS=${CLIENTS:-4}
TASKS=${TASKS:-50000} PACED_TASKS=${PACED_TASKS:-5000} RATE=${RATE:-1000}

metric() { # NAME (first sample of that name, labels ignored) from a saved /metrics text
    awk -v k="$1" '$1 == k || index($1, k "{") == 1 { print $2; exit }' "$2"
}
children_cpu_ms() { # summed utime+stime of swarmd's children (the agents)
    local sum=0 c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        sum=$((sum + $(cpu_ms "$c" 2>/dev/null || echo 0)))
    done
    echo $sum
}
SUBMIT_LOAD=$(dirname "$SWARMD")/submit_load
[ -x "$SUBMIT_LOAD" ] || { echo "no $SUBMIT_LOAD: build the submit_load target" >&2; exit 1; }
percentiles() { # file of numbers -> "p50 p99 max n"
    sort -n "$1" | awk '{ v[++n] = $1 } END {
        if (!n) { print "-1 -1 -1 0"; exit }
        i50 = int(n * 0.50 + 0.999999); i99 = int(n * 0.99 + 0.999999)
        print v[i50], v[i99], v[n], n }'
}

raw=$WORK/tasks.raw
: >"$raw"
for rep in $(seq "$REPS"); do
    dir=$WORK/tasks-$rep
    start_daemon "$dir"
    mkdir -p "$dir/lat"
    apply_template noop "$SLOTS" "{\"NOOP_LATENCY_DIR\":\"$dir/lat\"}"
    load=$(loadavg)
    locked "$SUBMIT_LOAD" "$SOCK" "$TASKS" 32 bench.noop >"$dir/fill"
    drain=$(locked "$AB" drain "$SOCK" w noop "$AGENTS" "$TASKS" bench.noop)
    wait_swarm_ready w "$AGENTS"

    api GET /metrics >"$dir/m0"
    cpu0=$(cpu_ms "$daemon_pid"); acpu0=$(children_cpu_ms "$daemon_pid")
    flat=$(locked "$AB" load "$SOCK" "$TASKS" "$CLIENTS" 0 bench.noop)
    cpu1=$(cpu_ms "$daemon_pid"); acpu1=$(children_cpu_ms "$daemon_pid")
    api GET /metrics >"$dir/m1"
    rss=$(rss_kb "$daemon_pid")
    commits=$(( $(metric swarmd_store_commits_total "$dir/m1") - $(metric swarmd_store_commits_total "$dir/m0") ))
    csec=$(awk -v a="$(metric swarmd_store_commit_seconds_total "$dir/m0")" \
        -v b="$(metric swarmd_store_commit_seconds_total "$dir/m1")" 'BEGIN { print b - a }')
    extra=$(awk -v t="$TASKS" -v c="$commits" -v s="$csec" -v d=$((cpu1 - cpu0)) -v a=$((acpu1 - acpu0)) \
        'BEGIN { printf "commits_per_task=%.3f commit_us=%.0f daemon_cpu_us_per_task=%.1f agents_cpu_us_per_task=%.1f",
                 c / t, c ? s * 1e6 / c : 0, d * 1000 / t, a * 1000 / t }')

    for f in "$dir"/lat/*.lat; do [ -e "$f" ] && : >"$f"; done # the paced run's latencies only
    paced=$(locked "$AB" load "$SOCK" "$PACED_TASKS" "$CLIENTS" "$RATE" bench.noop)
    sleep 0.2
    cat "$dir"/lat/*.lat >"$dir/lat.all"
    read -r l50 l99 lmax ln < <(percentiles "$dir/lat.all")
    stop_daemon >/dev/null
    errs=$(grep -c 'level=error' "$dir/swarmd.log" || true)
    line="RESULT agents=$AGENTS slots=$SLOTS clients=$CLIENTS tasks=$TASKS"
    line+=" fill_per_s=$(field tasks_per_s <"$dir/fill") drain_per_s=$(field drain_per_s <<<"$drain")"
    line+=" e2e_per_s=$(field e2e_per_s <<<"$flat") submit_per_s=$(field submit_per_s <<<"$flat")"
    line+=" flat_ack_p50_us=$(field ack_p50_us <<<"$flat") flat_ack_p99_us=$(field ack_p99_us <<<"$flat")"
    line+=" flat_errors=$(field errors <<<"$flat") $extra rss_kb=$rss"
    line+=" paced_rate=$RATE paced_tasks=$PACED_TASKS paced_submit_per_s=$(field submit_per_s <<<"$paced")"
    line+=" paced_e2e_ms=$(field e2e_ms <<<"$paced") paced_errors=$(field errors <<<"$paced")"
    line+=" recv_p50_us=$l50 recv_p99_us=$l99 recv_max_us=$lmax recv_n=$ln"
    line+=" paced_ack_p50_us=$(field ack_p50_us <<<"$paced") paced_ack_p99_us=$(field ack_p99_us <<<"$paced")"
    line+=" dispatch_p50_le_s=$(field dispatch_p50_le_s <<<"$paced") dispatch_p99_le_s=$(field dispatch_p99_le_s <<<"$paced")"
    line+=" dispatch_hist=$(field dispatch_hist <<<"$paced") log_errors=$errs loadavg=$load"
    echo "$line" | tee -a "$raw" >&2
    rm -rf "$dir"
done
median_of <"$raw"
