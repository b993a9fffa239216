#!/usr/bin/env bash
# Installs every Debian package the project builds, tests and benchmarks with. Idempotent:
# packages already present are not fetched again. Usage: scripts/install-deps.sh [--bench]
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libssl-dev libzstd-dev libcurl4-openssl-dev libsqlite3-dev libsodium-dev libcpp-httplib-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev postgresql postgresql-client
  zstd python3 python-is-python3 clang-format redis-server redis-tools openssl logrotate
  radosgw ceph-mon ceph-osd prometheus
)
if [ "${1:-}" = "--bench" ]; then pkgs+=(restic borgbackup time); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The storage emulators the tests start (Azurite, the GCS emulator of firebase-tools), pinned by
# test/services/package-lock.json. Node.js and npm come with the machine (Debian's npm conflicts
# with the nodesource build some machines carry).
services="$(cd "$(dirname "$0")/../test/services" && pwd)"
if ! cmp -s "$services/package-lock.json" "$services/node_modules/.installed-lock.json" 2>/dev/null; then
  command -v npm >/dev/null || { echo "npm not found: install Node.js 20 and npm" >&2; exit 1; }
  echo "installing test services (npm ci in test/services)" >&2
  (cd "$services" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$services/package-lock.json" "$services/node_modules/.installed-lock.json"
fi
