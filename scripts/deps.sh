#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deps.sh - installs the Debian 12 packages swarmd builds and tests with, and the Node
# packages of tests/node (npm ci). Idempotent and quick when everything is there: apt-get
# runs only for packages that are missing, npm only when node_modules is older than the lock.
set -euo pipefail
packages=(build-essential cmake pkg-config git curl jq python3 clang
          libuv1-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
          libssl-dev libcmocka-dev libfyaml-dev libwslay-dev bubblewrap util-linux)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: run as root (or install these packages): ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Node (tests/node drives swarmd with Node clients): any node + npm will do, so a node
# from another source is kept; Debian's are installed only when there is none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "deps: installing nodejs npm" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: run as root (or install node and npm)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
node_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
   [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$node_dir" --no-audit --no-fund --loglevel=error >&2
fi
