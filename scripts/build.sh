#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build.sh [DIR] [cmake args...] - configures and builds swarmd and swarm (default DIR: build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
