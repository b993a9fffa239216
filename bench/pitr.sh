#!/usr/bin/env bash
# Physical PostgreSQL backup and restore beside pgBackRest and beside our logical method, in one
# run on one private PostgreSQL 15 holding pgbench data, each step under /usr/bin/time (wall, CPU,
# peak RSS of the main process). archive_command archives every segment to both tools (ours
# first, then pgbackrest archive-push), so both backups and restores see the same WAL.
#   backups:  ours physical full; pgbackrest --type=full; ours logical (pg_dump); then, after 2% of
#             the rows changed, ours physical full again (deduplicated) beside pgbackrest --type=incr
#   restores: ours physical to the backup's end (--immediate: lay-down, recovery, promotion,
#             pg_amcheck; and with DB_VERIFY=none) beside pgbackrest restore --type=immediate plus
#             pg_ctl start until promoted; ours logical into a new database (verified)
# Both use zstd level 1 and encrypt (ours AES-256-GCM, pgBackRest AES-256-CBC), 2 processes.
#   bench/pitr.sh              SCALE=50 (about 750 MB); SCALE=340 is about 5 GB
#   BIN=build/spacetime-backup (scripts/install-deps.sh --bench installs pgbackrest)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${BIN:-$ROOT/build/spacetime-backup}")
[ -x "$BIN" ] || { echo "build first: $BIN" >&2; exit 1; }
command -v pgbackrest >/dev/null || { echo "pgbackrest is not installed: scripts/install-deps.sh --bench" >&2; exit 1; }
SCALE=${SCALE:-50}
W=$(mktemp -d /tmp/stb-pitr-bench.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$ROOT/test/e2e/pg_lib.sh"
source "$ROOT/bench/lib.sh"
trap 'pg_stop_dirs "$W/r/pgbr" "$W/r/ours" "$W/r/ours2"; stop_pg; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT  # KEEP_W=1 keeps it
export TZ=UTC
AS=(); [ "$(id -u)" -ne 0 ] || AS=(runuser -u postgres --)  # pg_as, for /usr/bin/time

# The repositories belong to the server's account: archive_command runs as it.
export BACKUP_ROOT=$W/repo BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log BACKUP_STATE_DIR=$W/state
export PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR= REDIS_HOST= TMPDIR=$W/tmp
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
"$BIN" init >/dev/null
mkdir -p "$W/pgbr" "$W/tmp" "$W/r"
chmod 700 "$W/r"
cat >"$W/pgbackrest.conf" <<CONF
[global]
repo1-path=$W/pgbr
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-$$
repo1-retention-full=9
compress-type=zst
compress-level=1
process-max=2
log-path=$W/pgbr
lock-path=$W/pgbr
log-level-console=warn
start-fast=y
[bench]
pg1-path=$W/pg/data
CONF
chmod 644 "$W/pgbackrest.conf"
write_wal_push_script
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c archive_mode=on -c max_wal_size=4GB" start_pg
repo_for_pg
[ "$(id -u)" -eq 0 ] && chown -R postgres "$W/pgbr" "$W/tmp" "$W/r"
export PGPASSWORD=$PG_PW PGHOST=127.0.0.1 PGPORT=$DB_PORT PGUSER=postgres
PGBR=(pgbackrest --config="$W/pgbackrest.conf" --stanza=bench --pg1-port="$DB_PORT" --pg1-socket-path="$PGD" --pg1-user=postgres)

# No archiving while pgbench -i fills the tables (the backups start after it); a setting given
# on the server's command line could not be changed by ALTER SYSTEM later.
psql_ postgres -c "ALTER SYSTEM SET archive_command = 'true'" -c "SELECT pg_reload_conf()" >/dev/null
psql_ postgres -c "CREATE DATABASE bench"
pg_as env PGPASSWORD="$PG_PW" "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s "$SCALE" -q bench >/dev/null 2>&1 ||
  fail "pgbench -i"
# Archiving from here on, to both repositories.
psql_ postgres -c "ALTER SYSTEM SET archive_command = '$W/wal-push.sh %p && pgbackrest --config=$W/pgbackrest.conf --stanza=bench archive-push %p'" \
  -c "SELECT pg_reload_conf()" >/dev/null
pg_as env PGPASSWORD="$PG_PW" "${PGBR[@]}" stanza-create >/dev/null 2>"$W/err" || fail "pgbackrest stanza-create: $(cat "$W/err")"
pg_as env PGPASSWORD="$PG_PW" "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres -c 2 -T 10 bench >/dev/null 2>&1
psql_ postgres -c "SELECT pg_switch_wal()" >/dev/null
echo "data set: pgbench scale $SCALE, $(psql_ bench -At -c "SELECT pg_size_pretty(pg_database_size('bench'))") on disk"
echo

# Our report's numbers; the size of pgbackrest's backup set directory.
ours() { python3 -c "import json; r=json.load(open('$W/out')); print(r['backup_id'], r['repository']['stored_bytes'])"; }
pgbr_bytes() { du -sb "$W/pgbr/backup/bench/$(ls -t "$W/pgbr/backup/bench" | grep -E '^[0-9]{8}-' | head -1)" | cut -f1; }
stored() { echo "| $1 stored: $2 bytes"; }

row "step" "wall s" "user s" "sys s" "RSS MiB"
row "---" "---:" "---:" "---:" "---:"
export DB_NAME=bench
measure "ours: physical full backup" "${AS[@]}" env DB_BACKUP_METHOD=physical "$BIN" backup full --no-progress
read -r PHYS1 BYTES <<<"$(ours)"; stored "ours physical full" "$BYTES"
measure "pgbackrest backup --type=full" "${AS[@]}" env PGPASSWORD="$PG_PW" "${PGBR[@]}" backup --type=full
stored "pgbackrest full" "$(pgbr_bytes)"
measure "ours: logical backup (pg_dump)" "${AS[@]}" env DB_BACKUP_METHOD=logical "$BIN" backup full --no-progress
read -r LOGICAL BYTES <<<"$(ours)"; stored "ours logical" "$BYTES"

psql_ bench -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $((SCALE * 2000))" >/dev/null
psql_ postgres -c "CHECKPOINT" -c "SELECT pg_switch_wal()" >/dev/null
measure "ours: physical full again, 2% changed" "${AS[@]}" env DB_BACKUP_METHOD=physical "$BIN" backup full --no-progress
read -r _ BYTES <<<"$(ours)"; stored "ours second physical full (new)" "$BYTES"
measure "pgbackrest backup --type=incr, 2% changed" "${AS[@]}" env PGPASSWORD="$PG_PW" "${PGBR[@]}" backup --type=incr
stored "pgbackrest incr" "$(pgbr_bytes)"

# Restores of the first full backup to its end point, each into an empty directory.
R_PORT=$(pg_free_port)
measure "ours: restore physical, verified" "${AS[@]}" "$BIN" restore "$PHYS1" --components database --immediate \
  --target-dir "$W/r/ours" --pg-port "$R_PORT" --stop-after --no-progress
echo "| ours: rto_seconds $(python3 -c "import json; print(round(json.load(open('$W/out'))['components']['database']['rto_seconds'], 1))")"
measure "ours: restore physical, DB_VERIFY=none" "${AS[@]}" env DB_VERIFY=none "$BIN" restore "$PHYS1" --components database \
  --immediate --target-dir "$W/r/ours2" --pg-port "$R_PORT" --stop-after --no-progress
# pgBackRest lays down the files and the recovery settings; the server then replays and promotes.
pgbr_restore() {
  pgbackrest --config="$W/pgbackrest.conf" --stanza=bench restore --type=immediate --target-action=promote \
    --set="$(ls "$W/pgbr/backup/bench" | grep -E '^[0-9]{8}-[0-9]{6}F$' | head -1)" --pg1-path="$W/r/pgbr" >/dev/null || return 1
  "$PGBIN/pg_ctl" -D "$W/r/pgbr" -l "$W/r/pgbr.log" -w -t 3600 \
    -o "-p $R_PORT -k $W/r -c listen_addresses='' -c archive_mode=off" start >/dev/null || return 1
  local i
  for i in $(seq 36000); do
    [ "$("$PGBIN/psql" -h "$W/r" -p "$R_PORT" -U postgres -d postgres -At -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" != f ] || break
    sleep 0.1
  done
  "$PGBIN/pg_ctl" -D "$W/r/pgbr" -m fast stop >/dev/null
}
export -f pgbr_restore
export W R_PORT PGBIN
measure "pgbackrest restore + start until promoted" "${AS[@]}" bash -c pgbr_restore
measure "ours: restore logical, verified" "${AS[@]}" "$BIN" restore "$LOGICAL" --components database --target-db restored --no-progress
echo
echo "RSS is the main process's peak (pgbackrest and PostgreSQL run helper processes beside it)."
