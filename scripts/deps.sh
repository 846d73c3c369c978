#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deps.sh - installs the Debian 12 packages swarmd builds and tests with. Idempotent and
# quick when everything is there: apt-get runs only for packages that are missing.
set -euo pipefail
packages=(build-essential cmake pkg-config git curl jq python3 clang
          libuv1-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev
          libssl-dev libcmocka-dev libfyaml-dev bubblewrap util-linux)
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
