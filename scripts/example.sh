#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# example.sh - the main job: builds swarmd, starts it on embedded SQLite in ./.swarm,
# applies the example swarm (examples/swarm.yaml: supervised agents in Python, shell and
# C in a small swarm tree), starts two example remote workers (examples/worker.py),
# submits a handful of tasks with the swarm CLI and shows them finishing. With --keep,
# everything stays up (Ctrl-C stops it); otherwise it is all stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
export PATH="$PWD/build:$PATH"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
mkdir -p .swarm
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
swarmd --home .swarm 2>>.swarm/swarmd.log &
daemon=$!
pids+=("$daemon")
for _ in $(seq 100); do
    swarm health >/dev/null 2>&1 && break
    kill -0 "$daemon" 2>/dev/null || { tail -5 .swarm/swarmd.log; exit 1; }
    sleep 0.05
done
echo "== swarmd is up (home .swarm, socket .swarm/swarm.sock, log .swarm/swarmd.log)"
echo "== applying the example swarm (examples/swarm.yaml)"
swarm apply -f examples/swarm.yaml
python3 examples/worker.py --name worker-1 --slots 4 &
pids+=("$!")
python3 examples/worker.py --name worker-2 --slots 4 &
pids+=("$!")
echo "== submitting tasks"
ids=()
ids+=("$(swarm task submit echo --payload '{"hello":"swarm"}')")
ids+=("$(swarm task submit upper --payload '{"text":"durable tasks"}' --priority 5)")
ids+=("$(swarm task submit sum --payload '{"numbers":[1,2,3,4,5]}')")
ids+=("$(swarm task submit sleep --payload '{"ms":300}')")
ids+=("$(swarm task submit echo --payload '"delayed by 1s"' --delay 1s)")
ids+=("$(swarm task submit fail --payload '{"retry":false}')")
ids+=("$(swarm task submit echo --payload '{"once":true}' --key example-once)")
ids+=("$(swarm task submit echo --payload '{"once":true}' --key example-once)")
ids+=("$(swarm task submit upper-exec --payload '{"text":"run by an exec agent"}')")
ids+=("$(swarm task submit sum --payload '{"numbers":[40,2]}')")
for id in "${ids[@]}"; do
    swarm task wait "$id" >/dev/null 2>&1 || true
done
echo "== tasks"
swarm task ls
echo "== swarms"
swarm ls
echo "== agents"
swarm agent ls
echo "== the result of ${ids[1]}"
swarm task get "${ids[1]}"
if [ "$keep" = 1 ]; then
    echo "== running; try: PATH=\$PWD/build:\$PATH swarm task submit echo --payload '{\"a\":1}' --wait   (Ctrl-C stops)"
    wait "$daemon"
fi
