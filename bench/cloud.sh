#!/usr/bin/env bash
# Cloud location throughput: a repository of ~SIZE_MIB MiB of incompressible player data is
# uploaded (`replicate --to`) to Ceph radosgw (S3) and Azurite (Azure Blob) on loopback, and
# downloaded back (`replicate --from ... --to local` into an empty directory), with 1, 4 and 8
# parallel jobs (AWS_PARALLEL_JOBS / AZURE_PARALLEL_JOBS). Each run uses a fresh prefix.
#   bench/cloud.sh            SIZE_MIB=512 JOBS="1 4 8" SERVICES="s3 azure"
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" release >/dev/null
BIN=$ROOT/build/spacetime-backup
SIZE_MIB=${SIZE_MIB:-512} JOBS=${JOBS:-1 4 8} SERVICES=${SERVICES:-s3 azure}
W=$(mktemp -d /tmp/stb-cloud-bench.XXXXXX)
source "$ROOT/test/services/lib.sh"
trap 'service_stop_all; rm -rf "$W"' EXIT
for s in $SERVICES; do service_start "$s" "$W/svc"; done

export BACKUP_ROOT=$W/repo BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log BACKUP_STATE_DIR=$W/state
export PLAYER_SAVES_DIR=$W/data CONFIG_DIRS= APP_DIR= BACKUP_COMPRESSION=0
mkdir -p "$W/data"
for i in $(seq 1 $((SIZE_MIB / 8))); do head -c $((8 << 20)) /dev/urandom >"$W/data/save_$i.bin"; done
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
# The local repository first, with no cloud location configured, so that only replicate moves data.
( unset BACKUP_S3_BUCKET BACKUP_AZURE_CONTAINER BACKUP_GCS_BUCKET; "$BIN" init >/dev/null; "$BIN" backup full --no-progress >/dev/null )
bytes=$(du -sb "$BACKUP_ROOT/data" | cut -f1)
echo "repository: $((bytes >> 20)) MiB of packs"

mibs() { python3 -c "print(f'{$1 / 1048576 / ($3 - $2):.0f}')"; }  # BYTES START END
printf '| %-8s | %4s | %14s | %16s |\n' location jobs "upload MiB/s" "download MiB/s"
printf '| %-8s | %4s | %14s | %16s |\n' --- ---: ---: ---:
for s in $SERVICES; do
  for j in $JOBS; do
    export AWS_PARALLEL_JOBS=$j AZURE_PARALLEL_JOBS=$j GCS_PARALLEL_JOBS=$j
    export BACKUP_S3_PREFIX=bench-$j/ BACKUP_AZURE_PREFIX=bench-$j/ BACKUP_GCS_PREFIX=bench-$j/
    t0=$(date +%s.%N)
    "$BIN" replicate --to "$s" >"$W/up.json" || { cat "$W/up.json"; exit 1; }
    t1=$(date +%s.%N)
    BACKUP_ROOT=$W/down-$s-$j "$BIN" replicate --from "$s" --to local >"$W/down.json" || { cat "$W/down.json"; exit 1; }
    t2=$(date +%s.%N)
    rm -rf "$W/down-$s-$j"
    printf '| %-8s | %4s | %14s | %16s |\n' "$s" "$j" "$(mibs "$bytes" "$t0" "$t1")" "$(mibs "$bytes" "$t1" "$t2")"
  done
done
