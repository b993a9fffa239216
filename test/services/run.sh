#!/usr/bin/env bash
# Runs a command with storage services started on loopback, then stops them whatever happens.
# Usage: test/services/run.sh s3[,azure,gcs] COMMAND [ARGS...]  (the command sees BACKUP_S3_* etc.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STB_SERVICES_DIR=$(cd "$(dirname "$0")" && pwd)
export STB_SERVICES_DIR
services=$1
shift
dir=$(mktemp -d /tmp/stb-services.XXXXXX)
trap 'service_stop_all; rm -rf "$dir"' EXIT
IFS=, read -ra list <<<"$services"
for s in "${list[@]}"; do service_start "$s" "$dir"; done
"$@"
