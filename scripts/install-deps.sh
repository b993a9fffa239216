#!/usr/bin/env bash
# Installs every Debian package the project builds, tests and benchmarks with. Idempotent:
# packages already present are not fetched again. Usage: scripts/install-deps.sh [--bench]
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libssl-dev libzstd-dev libcurl4-openssl-dev libsqlite3-dev libsodium-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev postgresql postgresql-client
  zstd python3 clang-format redis-server redis-tools openssl logrotate
  radosgw ceph-mon ceph-osd prometheus
)
if [ "${1:-}" = "--bench" ]; then pkgs+=(restic borgbackup time); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
