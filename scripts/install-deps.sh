#!/usr/bin/env bash
# Installs the Debian packages (and the npm test services) the project needs. Idempotent: what is
# present is not fetched again. Usage: scripts/install-deps.sh [demo|all] [--bench]
#   demo   what the demo needs: the build set and the runtime set (PostgreSQL, Redis, Python)
#   all    (default) also the test set: test servers (Ceph radosgw, Prometheus, the npm storage
#          emulators), clang-format, benchmark library
#   --bench  also restic, borg, time and pgbackrest for bench/
set -euo pipefail

build=(
  build-essential cmake ninja-build ccache pkg-config git
  libssl-dev libzstd-dev libcurl4-openssl-dev libsqlite3-dev libsodium-dev libcpp-httplib-dev
  nlohmann-json3-dev libsimdjson-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libpq-dev libarchive-dev
  libgtest-dev libgmock-dev
)
runtime=(postgresql postgresql-client redis-server redis-tools zstd python3 python-is-python3 openssl)
test_set=(libbenchmark-dev clang-format clang libclang-rt-14-dev logrotate radosgw ceph-mon ceph-osd prometheus chromium)

set_name=all bench=no
for arg in "$@"; do
  case "$arg" in
    demo | all) set_name=$arg ;;
    --bench) bench=yes ;;
    *) echo "usage: $0 [demo|all] [--bench]" >&2; exit 2 ;;
  esac
done
pkgs=("${build[@]}" "${runtime[@]}")
[ "$set_name" = all ] && pkgs+=("${test_set[@]}")
[ "$bench" = yes ] && pkgs+=(restic borgbackup time pgbackrest)

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

[ "$set_name" = all ] || exit 0

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
