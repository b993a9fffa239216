#!/usr/bin/env bash
# Configures and builds one configuration. Usage: scripts/build.sh [release|asan] [TARGET...]
# release -> build/, asan -> build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSTB_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so that a clone in another folder (CI, a worktree) hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=true
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
# Further arguments: targets to build (default: all).
ninja -C "$dir" -j "$(nproc)" "${@:2}"
