#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agents_start.sh [N...] - starting a swarm of N no-op stdio agents (default: 100 1000).
# Per run, on a fresh daemon: the machine's raw process-creation rate (peer-bench's
# spawn_rate -n 1000 -j 1: posix_spawn + waitpid of /bin/true, one at a time), then
# agent_bench start: from the PUT of the swarm to its answer, to all N "ready" with a pid
# in GET /v1/swarms/NAME (polled every 10 ms) and to N exec'd agents in /proc (every
# 1 ms); the longest /health wait meanwhile; daemon RSS before, and descriptors and RSS
# with N agents (again 2 s later); then the time SIGTERM takes to stop the daemon and its N agents,
# and agents left behind. REPS runs (default 3); prints each run's RESULT line, then
# the medians with spawns/s through swarmd beside the raw rate of the same run.
source "$(dirname "$0")/agents_lib.sh"
sizes=${*:-100 1000}
spawn_rate=$PEER_BENCH/bin/spawn_rate
make -s -C "$PEER_BENCH" "$spawn_rate" >&2 || { echo "cannot build $spawn_rate" >&2; exit 1; }

for n in $sizes; do
    raw=$WORK/start-$n.raw
    : >"$raw"
    for rep in $(seq "$REPS"); do
        dir=$WORK/start-$n-$rep
        start_daemon "$dir"
        apply_template noop 1
        rss0=$(rss_kb "$daemon_pid")
        load=$(loadavg)
        rawline=$(locked "$spawn_rate" -n 1000 -j 1)
        line=$(locked "$AB" start "$SOCK" "$daemon_pid" s noop "$n" noop_agent)
        sleep 2
        rss2=$(rss_kb "$daemon_pid")
        stop_ms=$(stop_daemon)
        left=$(leftover_agents)
        errs=$(grep -c 'level=error' "$dir/swarmd.log" || true)
        rate=$(awk -v n="$n" -v ms="$(field procs_ms <<<"$line")" 'BEGIN { printf "%.0f", n / (ms / 1000) }')
        line="$line swarmd_spawns_per_s=$rate raw_spawns_per_s=$(field spawns_per_s <<<"$rawline") raw_p50_us=$(field p50_us <<<"$rawline") rss_idle_kb=$rss0 rss_2s_kb=$rss2 kb_per_agent=$(( (rss2 - rss0) / n )) stop_ms=$stop_ms leftover_agents=$left log_errors=$errs loadavg=$load"
        echo "$line" | tee -a "$raw" >&2
        rm -rf "$dir"
    done
    med=$(median_of <"$raw")
    ratio=$(awk -v a="$(field swarmd_spawns_per_s <<<"$med")" -v b="$(field raw_spawns_per_s <<<"$med")" \
        'BEGIN { printf "%.2f", a / b }')
    echo "$med vs_raw=$ratio"
done
