#!/usr/bin/env bash
# Database component benchmark: a private PostgreSQL 15 on loopback with pgbench data (scale 50,
# about 750 MB on disk), then, each under /usr/bin/time: pg_dump -Fc and pg_restore --jobs alone
# (the baseline), our backup of the database component, a second backup after 2% of the rows
# changed, and our verified restore into a new database, streamed (the default) and staged for
# pg_restore --jobs.
#   bench/postgres.sh            SCALE=50 JOBS=2
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" release >/dev/null
BIN=$ROOT/build/spacetime-backup
SCALE=${SCALE:-50} JOBS=${JOBS:-2}
W=$(mktemp -d /tmp/stb-pg-bench.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$ROOT/test/e2e/pg_lib.sh"
trap 'stop_pg; rm -rf "$W"' EXIT
start_pg
psql_ postgres -c "CREATE DATABASE bench"
PGPASSWORD=$PG_PW $PGBIN/pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s "$SCALE" -q bench >/dev/null 2>&1
echo "data set: pgbench scale $SCALE, $(psql_ bench -At -c "SELECT pg_size_pretty(pg_database_size('bench'))") on disk"
export BACKUP_ROOT=$W/repo BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log DB_NAME=bench
export PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR= TMPDIR=$W
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
"$BIN" init >/dev/null
source "$ROOT/bench/lib.sh"
stored() { python3 -c "import json; r=json.load(open('$W/out'))['repository']; print(r['stored_bytes'], 'bytes,', r['new_bytes'], 'new before compression')"; }
export PGPASSWORD=$PG_PW PGHOST=127.0.0.1 PGPORT=$DB_PORT PGUSER=postgres
row "step" "wall s" "user s" "sys s" "RSS MiB"
row "---" "---:" "---:" "---:" "---:"
measure "pg_dump -Fc (baseline)" pg_dump -Fc -f "$W/bench.dump" bench
echo "| pg_dump -Fc file: $(stat -c %s "$W/bench.dump") bytes"
psql_ postgres -c "CREATE DATABASE baseline"
measure "pg_restore --jobs $JOBS (baseline)" pg_restore --jobs "$JOBS" -d baseline "$W/bench.dump"
measure "pg_dump -Fc -Z0 > /dev/null (our dump alone)" pg_dump -Fc -Z0 --no-sync -f /dev/null bench
measure "backup, DB_CHECKSUMS=no (counts only)" env DB_CHECKSUMS=no "$BIN" backup full --no-progress
measure "spacetime-backup backup (database)" "$BIN" backup full --no-progress
echo "| stored: $(stored) (dump $(python3 -c "import json; print(json.load(open('$W/out'))['components']['database']['size_bytes'])") bytes)"
psql_ bench -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $((SCALE * 2000))"
measure "second backup, 2% of rows changed" "$BIN" backup full --no-progress
echo "| stored: $(stored)"
measure "restore, verified (streamed, 1 job)" "$BIN" restore latest --components database --target-db restored --no-progress
echo "| verified $(python3 -c "import json; r=json.load(open('$W/out'))['components']['database']; print(r['tables_verified'], 'tables,', r['rows_verified'], 'rows')")"
measure "restore, DB_RESTORE_JOBS=$JOBS (staged file)" env DB_RESTORE_JOBS=$JOBS "$BIN" restore latest --components database --target-db restored2 --no-progress
