#!/usr/bin/env bash
# The asynchronous wal-push spool (WAL_PUSH_ASYNC=yes) against a private PostgreSQL 15 under
# pgbench: every archived segment comes back byte-identical, the daemon ran; then the daemon is
# SIGKILLed at random points while it stores segments: every acknowledged segment is durable and
# intact in the repository, and wal-push afterwards finishes the rest.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
trap 'stop_pg; [ -n "${D_PID:-}" ] && kill "$D_PID" 2>/dev/null; rm -rf "$W"' EXIT

"$BIN" init >/dev/null
PG_OPTS="-c wal_level=replica -c archive_mode=on -c wal_keep_size=1GB -c archive_command='$W/wal-push.sh %p'"
repo_for_pg
write_wal_push_script
sed -i "s|^exec |export WAL_PUSH_ASYNC=yes WAL_PUSH_JOBS=2\nexec |" "$W/wal-push.sh"
start_pg
export DB_NAME=postgres
psql_ postgres -c "CREATE DATABASE bench"
PGPASSWORD=$PG_PW pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s 5 -q bench >/dev/null 2>&1
PGPASSWORD=$PG_PW pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -c 2 -T 10 bench >/dev/null 2>&1 &
LOAD=$!
for _ in 1 2 3 4 5; do psql_ postgres -c "SELECT pg_switch_wal()" >/dev/null; sleep 2; done
wait "$LOAD"
psql_ postgres -c "SELECT pg_switch_wal()" >/dev/null
wait_archived
n=$(ls "$PGD/data/pg_wal/archive_status/" | grep -cE '^[0-9A-F]{24}\.done$')
[ "$n" -ge 6 ] || fail "only $n segments archived"
grep -q "wal-push daemon started" "$BACKUP_LOG_DIR/wal.log" || fail "the spool daemon never ran"
grep -q "acknowledged by the spool daemon" "$BACKUP_LOG_DIR/wal.log" || fail "no wal-push waited for an ack"
for done in "$PGD"/data/pg_wal/archive_status/????????????????????????.done; do
  f=$(basename "$done" .done)
  "$BIN" wal-fetch --pgdata "$PGD/data" "$f" "$W/f" && cmp -s "$W/f" "$PGD/data/pg_wal/$f" || fail "$f did not come back"
done
pass "PostgreSQL archived $n segments through the spool under pgbench; all came back byte-identical"

# A file that is not .ready (an operator's manual push) is pushed synchronously, at once.
seg=$(ls "$PGD/data/pg_wal/archive_status/" | grep -E '^[0-9A-F]{24}\.done$' | sort | head -1 | sed 's/\.done$//')
(cd "$PGD/data" && WAL_PUSH_ASYNC=yes timeout 20 "$BIN" wal-push "pg_wal/$seg") || fail "a manual push of $seg failed"
pass "a manual push of a .done segment is synchronous"

# Kill test: a copy of pg_wal with every segment .ready, the daemon SIGKILLed at random points.
stop_pg
K=$W/kill
mkdir -p "$K/pg_wal/archive_status" "$K/global"
cp "$PGD/data/global/pg_control" "$K/global/"
for done in "$PGD"/data/pg_wal/archive_status/????????????????????????.done; do
  f=$(basename "$done" .done)
  cp "$PGD/data/pg_wal/$f" "$K/pg_wal/"
  : >"$K/pg_wal/archive_status/$f.ready"
done
export BACKUP_ROOT=$W/repo-kill BACKUP_STATE_DIR=$W/state-kill
"$BIN" init >/dev/null
# Every ack must name a segment that is in the repository, whole and with the same bytes.
check_acks() {
  local a f
  for a in "$BACKUP_STATE_DIR"/wal-spool/ack/*.ok; do
    [ -e "$a" ] || continue
    f=$(basename "$a" .ok)
    "$BIN" wal-fetch --pgdata "$K" "$f" "$W/k" 2>/dev/null && cmp -s "$W/k" "$K/pg_wal/$f" ||
      fail "$f was acknowledged but is not intact in the repository"
  done
}
kills=0
for i in $(seq 1 12); do
  (cd "$K" && exec "$BIN" wal-push --daemon "pg_wal/000000010000000000000001") &
  D_PID=$!
  sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$D_PID" 2>/dev/null && kills=$((kills + 1))
  wait "$D_PID" 2>/dev/null || true
  D_PID=
  check_acks
done
acked=$(ls "$BACKUP_STATE_DIR/wal-spool/ack/" | grep -c '\.ok$' || true)
pass "$kills SIGKILLs of the daemon mid-push: all $acked acknowledged segments are intact"
# What is left is finished by wal-push itself (which restarts the daemon), in PostgreSQL's order.
for r in $(ls "$K/pg_wal/archive_status/" | sort); do
  f=${r%.ready}
  (cd "$K" && WAL_PUSH_ASYNC=yes timeout 60 "$BIN" wal-push "pg_wal/$f") || fail "wal-push $f after the kills failed"
  mv "$K/pg_wal/archive_status/$r" "$K/pg_wal/archive_status/$f.done"
done
for f in $(ls "$K/pg_wal" | grep -E '^[0-9A-F]{24}$'); do
  "$BIN" wal-fetch --pgdata "$K" "$f" "$W/k" && cmp -s "$W/k" "$K/pg_wal/$f" || fail "$f not stored after the kills"
done
"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data failed"; }
pass "after the kills every segment is stored once and intact; check --read-data passes"
