#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# peers.sh - the durable task rate and latency of swarmd beside Redis (appendfsync always)
# and beanstalkd (-f0), in one run, with the same load generator (qbench from peer-bench:
# PEER_BENCH, default ../shared/peer-bench) and the same 100-byte payload. Tables land in
# $PEER_BENCH/run/report.md. Knobs as peer-bench's: REPS, TASKS, DURATION, RATE, PACED_TASKS.
set -euo pipefail
cd "$(dirname "$0")/.."
pb=${PEER_BENCH:-$(cd .. && pwd)/shared/peer-bench}
swarmd_bin=$PWD/build/swarmd
export REPS=${REPS:-3} TASKS=${TASKS:-100000} DURATION=${DURATION:-5} RATE=${RATE:-1000} PACED_TASKS=${PACED_TASKS:-5000}
cd "$pb"
make -s
rm -rf run/results
SWARMD=$swarmd_bin scripts/peer.sh swarmd
scripts/peer.sh redis aof-always
scripts/peer.sh beanstalk binlog-f0
scripts/report.sh > run/report.md
grep -h '^RESULT' run/results/* 2>/dev/null | sed 's/rss_start.*workload=/workload=/' || true
echo "report: $pb/run/report.md"
