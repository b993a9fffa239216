#!/usr/bin/env bash
# Restore from a cloud location beside the same restore from local (issue 16's goal: S3 at most
# 1.5x local). A private PostgreSQL 15 with pgbench data and a redis-server filled by DEBUG
# POPULATE are backed up into a local repository replicated to Ceph radosgw (S3) on loopback; then
# the database (logical dump into a new database, verified) and Redis (dump.rdb to a directory,
# verified) are restored from local, and from S3 alone with the local repository moved away, each
# under /usr/bin/time. Everything it writes (servers included) lives in one temporary directory,
# stopped and removed at exit.
#   bench/restore_cloud.sh     SCALE=20 KEYS=1000000 VALUE_BYTES=512 AWS_PARALLEL_JOBS=4 RUNS=1
#   BIN=/path/to/spacetime-backup bench/restore_cloud.sh    (another build, e.g. before a change)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib.sh"
bench_binary
SCALE=${SCALE:-20} KEYS=${KEYS:-1000000} VALUE_BYTES=${VALUE_BYTES:-512} RUNS=${RUNS:-1}
export AWS_PARALLEL_JOBS=${AWS_PARALLEL_JOBS:-4}
W=$(mktemp -d /tmp/stb-restore-cloud-bench.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$ROOT/test/e2e/pg_lib.sh"
source "$ROOT/test/services/lib.sh"
RPORT=$(free_port) RPW=bench-not-secret
trap '[ -s "$W/redis.pid" ] && kill "$(cat "$W/redis.pid")" 2>/dev/null; service_stop_all; stop_pg; rm -rf "$W"' EXIT
start_pg
service_start s3 "$W/svc"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$W" --save "" --requirepass "$RPW" --daemonize yes \
  --pidfile "$W/redis.pid" --logfile "$W/redis.log" --repl-diskless-sync-delay 0 --enable-debug-command local
for _ in $(seq 1 100); do redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done

psql_ postgres -c "CREATE DATABASE bench"
PGPASSWORD=$PG_PW $PGBIN/pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s "$SCALE" -q bench >/dev/null 2>&1
redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning DEBUG POPULATE "$KEYS" player: "$VALUE_BYTES" >/dev/null
echo "data set: pgbench scale $SCALE ($(psql_ bench -At -c "SELECT pg_size_pretty(pg_database_size('bench'))")" \
  "on disk), Redis $KEYS keys x $VALUE_BYTES bytes; AWS_PARALLEL_JOBS=$AWS_PARALLEL_JOBS"
export BACKUP_ROOT=$W/repo BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log BACKUP_STATE_DIR=$W/state TMPDIR=$W
export DB_NAME=bench REDIS_HOST=127.0.0.1 REDIS_PORT=$RPORT REDIS_PASSWORD=$RPW PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR=
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/backup.json" || fail "backup: $(cat "$W/backup.json")"
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
[ "$(field "$W/backup.json" "r['locations']['s3_primary']['status']")" = ok ] || fail "S3 copy: $(cat "$W/backup.json")"
id=$(field "$W/backup.json" "r['backup_id']")
echo "backup $id: dump $(field "$W/backup.json" "r['components']['database']['size_bytes']") bytes," \
  "RDB $(field "$W/backup.json" "r['components']['redis']['size_bytes']") bytes"

# restore_secs COMPONENT LOCATION N: wall seconds of one verified restore (the location empty: local).
restore_secs() {
  local comp=$1 loc=$2 n=$3 args
  if [ "$comp" = database ]; then args=(--target-db "r_${loc:-local}_$n"); else args=(--target "$W/r-${loc:-local}-$n"); fi
  /usr/bin/time -f %e -o "$W/t" "$BIN" restore "$id" $loc --components "$comp" "${args[@]}" --no-progress \
    >"$W/r.json" 2>"$W/r.err" || fail "restore $comp ${loc:-local}: $(cat "$W/r.json" "$W/r.err")"
  [ "$(field "$W/r.json" "r['components']['$comp']['success']")" = True ] || fail "restore $comp: $(cat "$W/r.json")"
  rm -rf "$W/r-${loc:-local}-$n"
  [ "$comp" = database ] && psql_ postgres -c "DROP DATABASE r_${loc:-local}_$n"
  cat "$W/t"
}
declare -A t
for comp in database redis; do
  for n in $(seq 1 "$RUNS"); do t[$comp-local]+="$(restore_secs "$comp" "" "$n") "; done
done
mv "$BACKUP_ROOT" "$W/repo.away"  # S3 alone, as after losing the site
for comp in database redis; do
  for n in $(seq 1 "$RUNS"); do t[$comp-s3]+="$(restore_secs "$comp" s3 "$n") "; done
done
mv "$W/repo.away" "$BACKUP_ROOT"
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '| %-10s | %12s | %12s | %8s |\n' component "local s" "S3 s" "S3/local"
printf '| %-10s | %12s | %12s | %8s |\n' --- ---: ---: ---:
for comp in database redis; do
  l=$(median "${t[$comp-local]}") s=$(median "${t[$comp-s3]}")
  printf '| %-10s | %12s | %12s | %8s |\n' "$comp" "$l" "$s" "$(python3 -c "print(f'{$s / $l:.2f}')")"
done
