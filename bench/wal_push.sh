#!/usr/bin/env bash
# wal-push throughput, in 16 MiB segments per second, as archive_command runs it (one process per
# segment, one after another): real segments captured from a private PostgreSQL 15 under pgbench
# (archive_command = cp), then pushed by: cp + fsync (the floor), our wal-push in its synchronous
# mode (WAL_PUSH_ASYNC=no) and with the async spool (WAL_PUSH_ASYNC=yes), and pgbackrest
# archive-push (synchronous and archive-async) when it is installed (scripts/install-deps.sh --bench).
# Each is measured idle and again while pgbench loads the machine (LOAD=no skips that).
#   bench/wal_push.sh         SEGMENTS=60 LOAD=yes BIN=build/spacetime-backup
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${BIN:-$ROOT/build/spacetime-backup}")
[ -x "$BIN" ] || { echo "build first: $BIN" >&2; exit 1; }
SEGMENTS=${SEGMENTS:-60} LOAD=${LOAD:-yes}
W=$(mktemp -d /tmp/stb-walpush-bench.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$ROOT/test/e2e/pg_lib.sh"
LOAD_PID=
trap '[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null; wait 2>/dev/null; stop_pg; rm -rf "$W"' EXIT
export TZ=UTC

# 1. Capture real segments: archive_command copies them aside.
mkdir -p "$W/walsrc"
[ "$(id -u)" -eq 0 ] && chown postgres "$W/walsrc"
PG_OPTS="-c wal_level=replica -c archive_mode=on -c archive_command='cp %p $W/walsrc/%f' -c max_wal_size=4GB" start_pg
export PGPASSWORD=$PG_PW PGHOST=127.0.0.1 PGPORT=$DB_PORT PGUSER=postgres
psql_ postgres -c "CREATE DATABASE bench"
pgbench -i -s 20 -q bench >/dev/null 2>&1
while [ "$(ls "$W/walsrc" | grep -cE '^[0-9A-F]{24}$')" -lt "$SEGMENTS" ]; do
  pgbench -c 2 -T 5 bench >/dev/null 2>&1
  psql_ postgres -c "SELECT pg_switch_wal()" >/dev/null
done
mkdir -p "$W/pgdata/pg_wal/archive_status" "$W/pgdata/global"
cp "$PGD/data/global/pg_control" "$W/pgdata/global/"
ls "$W/walsrc" | grep -E '^[0-9A-F]{24}$' | sort | head -"$SEGMENTS" | while read -r f; do mv "$W/walsrc/$f" "$W/pgdata/pg_wal/"; done
echo "captured $SEGMENTS segments of 16 MiB from pgbench (scale 20)"

# A fresh copy of pg_wal with every segment marked .ready, as PostgreSQL leaves them.
fresh_wal() {
  rm -rf "$W/run" && mkdir -p "$W/run/pg_wal/archive_status" "$W/run/global"
  cp "$W/pgdata/global/pg_control" "$W/run/global/"
  for f in "$W"/pgdata/pg_wal/0*; do
    ln "$f" "$W/run/pg_wal/" 2>/dev/null || cp "$f" "$W/run/pg_wal/"
    : >"$W/run/pg_wal/archive_status/$(basename "$f").ready"
  done
}
# rate LABEL CMD: runs "CMD pg_wal/<seg>" in the data directory for every segment, in order
# (marking each .done as the archiver does) and prints segments/s.
rate() {
  local label=$1; shift
  fresh_wal
  local start end
  start=$(date +%s.%N)
  for f in "$W"/run/pg_wal/0*; do
    local b; b=$(basename "$f")
    (cd "$W/run" && "$@" "pg_wal/$b") >/dev/null 2>>"$W/err" || fail "$label: pushing $b failed: $(tail -3 "$W/err")"
    mv "$W/run/pg_wal/archive_status/$b.ready" "$W/run/pg_wal/archive_status/$b.done"
  done
  end=$(date +%s.%N)
  python3 -c "import sys; n,a,b=int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print(f'| {sys.argv[1]:<44} | {n/(b-a):7.1f} | {b-a:7.2f} |')" \
    "$label" "$SEGMENTS" "$start" "$end"
}
cp_fsync() { cp "$1" "$W/cpdst/" && sync "$W/cpdst/$(basename "$1")"; }

export BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log BACKUP_STATE_DIR=$W/state
unset DB_HOST DB_PORT DB_USER DB_PASSWORD
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
ours() {  # ours MODE: a fresh repository each time
  rm -rf "$W/repo" "$W/state" && BACKUP_ROOT=$W/repo "$BIN" init >/dev/null
  BACKUP_ROOT=$W/repo WAL_PUSH_ASYNC=$1 rate "spacetime-backup wal-push (WAL_PUSH_ASYNC=$1)$2" "$BIN" wal-push
  # let the spool daemon finish before the repository goes
  BACKUP_ROOT=$W/repo "$BIN" check --read-data >/dev/null 2>"$W/err" || fail "check after wal-push: $(tail -3 "$W/err")"
}
pgbr() {  # pgbr ASYNC
  command -v pgbackrest >/dev/null || return 0
  rm -rf "$W/pgbr" "$W/pgbr-spool" && mkdir -p "$W/pgbr" "$W/pgbr-spool"
  cat >"$W/pgbackrest.conf" <<CONF
[global]
repo1-path=$W/pgbr
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-$$
compress-type=zst
compress-level=1
archive-async=$1
spool-path=$W/pgbr-spool
process-max=2
log-path=$W/pgbr
lock-path=$W/pgbr
log-level-console=warn
[bench]
pg1-path=$W/run
CONF
  fresh_wal
  pgbackrest --config="$W/pgbackrest.conf" --stanza=bench --pg1-path="$PGD/data" --pg1-port="$PGPORT" \
    --pg1-socket-path="$PGD" --pg1-user=postgres stanza-create >/dev/null 2>>"$W/err" || {
    echo "| pgbackrest stanza-create failed: $(tail -1 "$W/err")"; return 0; }
  rate "pgbackrest archive-push (archive-async=$1)$2" pgbackrest --config="$W/pgbackrest.conf" --stanza=bench archive-push
}
mkdir -p "$W/cpdst"
run_all() {
  rate "cp + fsync$1" cp_fsync
  ours no "$1"
  ours yes "$1"
  pgbr n "$1"
  pgbr y "$1"
}
echo "| tool | segments/s | seconds |"
echo "|---|---:|---:|"
run_all ""
if [ "$LOAD" = yes ]; then
  ( while :; do pgbench -c 4 -T 30 bench >/dev/null 2>&1 || true; done ) &
  LOAD_PID=$!
  run_all ", pgbench -c 4 running"
fi
