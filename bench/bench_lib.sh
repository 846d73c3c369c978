#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_lib.sh - what the daemon benchmarks share (sourced): logging, waiting for a
# started daemon to be ready, stopping it, the median of RESULT lines, and field access.
# The caller sets daemon_pid when it starts swarmd.

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# wait_ready DIR: polls DIR/swarm.sock's /ready for up to 20 s (the log is DIR/log)
wait_ready() {
    local dir=$1
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

# results_median: the RESULT lines on stdin -> one "RESULT median k=v ... reps=N" line (numeric
# fields: the median; others: the first run's value)
results_median() {
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
