#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agents_restart.sh [N...] - restart latency of a SIGKILLed managed agent, with N no-op
# stdio agents running (default: 100 1000). Per run, on a fresh daemon: start the swarm,
# wait until every agent has run 5.5 s (swarmd restarts at once only after a run of 5 s
# or more; shorter runs back off >= 1 s), then agent_bench restart: KILLS times, SIGKILL
# a random agent that has run >= 5.5 s, 300 ms apart, and time the new process from
# outside by polling swarmd's children in /proc every 100 µs (fork seen, exec seen: the
# method of peer-bench's sup_probe), then GET /v1/agents/ID every 1 ms until it shows
# the new pid and "ready". Afterwards: every agent ready, none in backoff or failed,
# swarmd's RSS and descriptors before/after. KILLS: 200 at N <= 100, else 40 (override
# with KILLS). REPS runs (default 3); medians of the per-run p50/p99/max.
# PEERS=1 also runs peer-bench's supervisord and minisup at N = 100 in the same session
# (REPS=1 ROUNDS=100 scripts/super.sh 100, its scratch files in our scratch folder).
source "$(dirname "$0")/agents_lib.sh"
sizes=${*:-100 1000}

for n in $sizes; do
    kills=${KILLS:-$([ "$n" -le 100 ] && echo 200 || echo 40)}
    raw=$WORK/restart-$n.raw
    : >"$raw"
    for rep in $(seq "$REPS"); do
        dir=$WORK/restart-$n-$rep
        start_daemon "$dir"
        apply_template noop 1
        api PUT /v1/swarms/s "{\"template\":\"noop\",\"replicas\":$n,\"intensity\":{\"restarts\":1000,\"period\":\"1s\"}}" >/dev/null
        wait_swarm_ready s "$n"
        sleep 5.5 # every agent's first run lasts >= 5 s (the probe checks each victim's age too)
        load=$(loadavg)
        line=$(locked "$AB" restart "$SOCK" "$daemon_pid" noop_agent "$kills" 5500 300 "$rep")
        sleep 1 # the last restarted agent settles
        summary=$(api GET /v1/swarms/s | jq -r '.swarm | "swarm_state=\(.state) swarm_restarts=\(.restarts) ready=\(.agents.ready) backoff=\(.agents.backoff) failed=\(.agents.failed) stopped=\(.agents.stopped)"')
        restarts=$(api GET /v1/swarms/s | jq '[.agents[].restarts] | add')
        stop_daemon >/dev/null
        errs=$(grep -c 'level=error' "$dir/swarmd.log" || true)
        line="$line $summary agent_restarts=$restarts left=$(leftover_agents) log_errors=$errs loadavg=$load"
        echo "$line" | tee -a "$raw" >&2
        rm -rf "$dir"
    done
    median_of <"$raw"
done

if [ "${PEERS:-0}" = 1 ]; then
    log "peer-bench supervision at N = 100 (supervisord, minisup), scratch in $WORK/peer-run"
    (cd "$PEER_BENCH" && BENCH_RUN=$WORK/peer-run SUPERVISORS="supervisord minisup" REPS=1 \
        ROUNDS=${PEER_ROUNDS:-100} scripts/super.sh 100) | sed 's/^/peer-bench /'
fi
