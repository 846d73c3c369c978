#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_speed.sh - wall time of `swarm --version` and `swarm task get` against a running
# daemon (hyperfine: medians over many runs), beside `curl` doing the same GET.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
home=$(mktemp -d /tmp/swarmd-bench.XXXXXX)
build/swarmd --home "$home" --log-level warn 2>"$home/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$home"' EXIT
for _ in $(seq 200); do curl -fs --unix-socket "$home/swarm.sock" http://x/ready >/dev/null 2>&1 && break; sleep 0.01; done
export SWARM_URL=unix:$home/swarm.sock
id=$(build/swarm task submit bench.noop --payload '{"a":1}')
hyperfine -N --warmup 20 --runs 300 --export-markdown /dev/stdout \
    "build/swarm --version" \
    "build/swarm task get $id" \
    "curl -s --unix-socket $home/swarm.sock http://x/v1/tasks/$id"
