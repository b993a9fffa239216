#!/usr/bin/env bash
# Point-in-time recovery over archive_command (plan section 4, scenario 2): heartbeats and pgbench
# against a server archiving through wal-push, a physical base backup, the server lost (SIGKILL,
# data directory deleted); then `restore --latest` (the lost interval is printed), `restore latest
# --target-time` in the middle (every heartbeat up to it, none after), and `pg-recover` of a
# pg_basebackup copy over a deleted segment (fails naming the gap, the server left up at the last
# good point).
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
stop_restored() { pg_stop_dirs "$W"/r1 "$W"/r2 "$W"/bb3; }
trap 'heartbeat_stop; [ -n "${BENCH_PID:-}" ] && kill "$BENCH_PID" 2>/dev/null; stop_pg; stop_restored; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT

unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
export DB_BACKUP_METHOD=physical
"$BIN" init >/dev/null
repo_for_pg
write_wal_push_script
PG_OPTS="-c wal_level=replica -c synchronous_commit=on -c max_wal_senders=5 -c archive_mode=on -c archive_timeout=60 \
  -c 'archive_command=$W/wal-push.sh %p'"
start_pg
export DB_NAME=postgres

# wal-fetch --staging answers from the staging directory alone (no key, no repository).
mkdir -p "$W/stage"
touch "$W/stage/000000010000000000000009.missing"
echo "a test error" >"$W/stage/00000001000000000000000A.error"
echo "bytes" >"$W/stage/00000001000000000000000B"
rc=0; BACKUP_ROOT=$W/nowhere "$BIN" wal-fetch --staging "$W/stage" 000000010000000000000009 "$W/x" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "wal-fetch --staging of a .missing name exited $rc, not 1"
rc=0; "$BIN" wal-fetch --staging "$W/stage" 00000001000000000000000A "$W/x" 2>"$W/err" || rc=$?
[ "$rc" = 255 ] && grep -q "a test error" "$W/err" || fail "wal-fetch --staging of an .error name exited $rc: $(cat "$W/err")"
"$BIN" wal-fetch --staging "$W/stage" 00000001000000000000000B "$W/x" && [ "$(cat "$W/x")" = bytes ] &&
  [ ! -e "$W/stage/00000001000000000000000B" ] || fail "wal-fetch --staging did not move the staged file"
# The stager answers once it sees the .want (at most 60 s: a slow ASan start under load took > 4 s).
( for _ in $(seq 600); do [ -e "$W/stage/00000002.history.want" ] && break; sleep 0.1; done
  touch "$W/stage/00000002.history.missing" ) &
rc=0; "$BIN" wal-fetch --staging "$W/stage" 00000002.history "$W/x" 2>/dev/null || rc=$?
[ "$rc" = 1 ] && [ -e "$W/stage/00000002.history.want" ] || fail "wal-fetch --staging did not ask (.want) and wait ($rc)"
pass "wal-fetch --staging: 0 moved, 1 missing, 255 error, .want after 100 ms"

# Load: heartbeats every 100 ms and pgbench; the base backup 5 s in; heartbeat k noted at 20 s.
PGBENCH=$PGBIN/pgbench
PGPASSWORD=$PG_PW "$PGBENCH" -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s 5 -q postgres >/dev/null 2>&1
heartbeat_start postgres
PGPASSWORD=$PG_PW "$PGBENCH" -h 127.0.0.1 -p "$DB_PORT" -U postgres -c 2 -R 100 -T 25 postgres >"$W/bench.log" 2>&1 &
BENCH_PID=$!
sleep 5
pg_as "$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['database']['method']")" = physical ] || fail "not physical: $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['database']['wal_source']")" = archive ] || fail "wal_source: $(cat "$W/b1.json")"
backup_done=$(date +%s.%N)
mkdir -m 700 "$W/bb3"; chown postgres "$W/bb3" 2>/dev/null || true
pg_as env PGPASSWORD="$PG_PW" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$DB_PORT" -U postgres -D "$W/bb3" -X none -c fast -w
# Light load leaves the current segment unfilled for long; a WAL switch 10 s after the backup
# (what archive_timeout=60 does later) archives a stretch that a middle target can fall in. The
# lost interval below is the time from that switch to the kill: no switch comes after it.
# Three switches 2 s apart give the gap scenario a segment to delete between two others.
sleep 8
for _ in 1 2 3; do psql_ postgres -At -c "SELECT pg_switch_wal()" >/dev/null; sleep 2; done
sleep 3
wait "$BENCH_PID" || { cat "$W/bench.log"; fail "pgbench failed"; }; BENCH_PID=
pg_kill9 "$PGD/data"
heartbeat_stop
acked=$(grep -cE '^[0-9]+\|[0-9.]+$' "$W/hb.log")
pass "load ran ($acked heartbeats acknowledged, $(grep -o 'tps = [0-9.]*' "$W/bench.log" | head -1)); server killed"

# --latest: everything archived comes back.
"$BIN" restore latest --components database --latest --target-dir "$W/r1" --no-progress >"$W/r1full.json" 2>"$W/r1.err" ||
  { cat "$W/r1.err" "$W/r1full.json"; fail "restore --latest failed"; }
json "$W/r1full.json" "json.dumps(r['components']['database'])" >"$W/r1.json"
# Every file's CRC-32C checked against backup_manifest while it was written; no read-back.
[ "$(json "$W/r1.json" "r['manifest_check']['crc32c_files'] == r['manifest_check']['files'] > 0")" = True ] ||
  fail "manifest check: $(cat "$W/r1.json")"
[ "$(json "$W/r1.json" "r['pg_verifybackup'].startswith('not run')")" = True ] || fail "pg_verifybackup ran: $(cat "$W/r1.json")"
sock=$(json "$W/r1.json" "r['socket_directory']"); port=$(json "$W/r1.json" "r['port']")
lost=$(lost_interval postgres -h "$sock" -p "$port")
rto=$(json "$W/r1.json" "round(r['rto_seconds'], 2)")
echo "  lost interval (RPO, archive_command, archive_timeout=60): $lost s; RTO: $rto s;" \
  "recovered_to $(json "$W/r1.json" "r['recovered_to']"), wal_end_lsn $(json "$W/r1.json" "r['wal_end_lsn']")"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 65 else 1)" "$lost" || fail "lost interval $lost s > 65 s"
[ "$(json "$W/r1.json" "r['amcheck']")" = ok ] || fail "pg_amcheck did not run"
[ ! -e "$W/r1/recovery.signal" ] || fail "recovery.signal left behind"
ls -d "$W"/r1.stb-wal-* 2>/dev/null && fail "the staging directory was not removed"
pass "--latest: lost interval $lost s <= 65 s, amcheck ok, RTO $rto s"

# --target-time in the middle: heartbeat k and every one before it, none after. k is the heartbeat
# halfway between the backup's end and the newest archived commit (what --latest recovered).
mid=$(python3 -c "import sys; print((float(sys.argv[1]) + float(sys.argv[2])) / 2)" "$backup_done" "$(json "$W/r1.json" "r['recovered_to']['time_unix']")")
k_line=$(grep -E '^[0-9]+\|[0-9.]+$' "$W/hb.log" | awk -F'|' -v m="$mid" '$2 < m' | tail -1)
id_k=${k_line%%|*}; at_k=${k_line#*|}
[ -n "$id_k" ] || fail "no heartbeat between the backup and the newest archived commit"
T=$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(float(sys.argv[1]) + 0.05, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f+00:00'))" "$at_k")
# DB_VERIFY=full: pg_verifybackup reads the data directory back as well.
DB_VERIFY=full "$BIN" restore latest --components database --target-time "$T" --target-dir "$W/r2" --pg-port "$(pg_free_port)" \
  --no-progress >"$W/r2full.json" 2>"$W/r2.err" || { cat "$W/r2.err" "$W/r2full.json"; fail "restore --target-time failed"; }
json "$W/r2full.json" "json.dumps(r['components']['database'])" >"$W/r2.json"
[ "$(json "$W/r2.json" "r['pg_verifybackup']")" = ok ] || fail "DB_VERIFY=full: pg_verifybackup did not run: $(cat "$W/r2.json")"
sock=$(json "$W/r2.json" "r['socket_directory']"); port=$(json "$W/r2.json" "r['port']")
got=$(PGPASSWORD=$PG_PW psql -X -At -h "$sock" -p "$port" -U postgres -d postgres -c "SELECT max(id), count(*) FROM heartbeat")
[ "$got" = "$id_k|$id_k" ] || fail "target $T: max(id)|count = $got, expected $id_k|$id_k"
pass "--target-time $T: heartbeats 1..$id_k present, none after (recovered_to $(json "$W/r2.json" "r['recovered_to']['time']"))"

# A segment deleted between the backup's start and the newest: recovery stops before it, fails
# naming it, and leaves the server up with the data up to there.
cluster=$(ls "$BACKUP_ROOT/wal/")
start_seg=$(grep 'START WAL LOCATION' "$W/bb3/backup_label" | sed 's/.*file \([0-9A-F]*\).*/\1/')
# The second segment after the backup's start, with at least one stored after it.
victim=$(find "$BACKUP_ROOT/wal/$cluster" -type f -printf '%f\n' | python3 -c "
import re, sys
segs = sorted(l.strip() for l in sys.stdin if re.fullmatch(r'[0-9A-F]{24}', l.strip()) and l.strip() > sys.argv[1])
print(segs[1] if len(segs) >= 3 else '')" "$start_seg")
[ -n "$victim" ] || fail "not enough archived segments after the backup's start $start_seg"
obj=$(find "$BACKUP_ROOT/wal/$cluster" -name "$victim")
mv "$obj" "$W/victim"
rc=0; "$BIN" pg-recover "$W/bb3" --latest >"$W/r3.json" 2>"$W/r3.err" || rc=$?
[ "$rc" = 1 ] || { ls -R "$BACKUP_ROOT/wal" | tail -20; cat "$W/r3.json"; fail "pg-recover over a gap ($victim, start $start_seg) exited $rc"; }
json "$W/r3.json" "r['error']" | grep -q "WAL gap: $victim" || fail "the gap is not named: $(json "$W/r3.json" "r.get('error')")"
rec=$(json "$W/r3.json" "r['recovered_to']['lsn']")
sock=$(json "$W/r3.json" "r['socket_directory']"); port=$(json "$W/r3.json" "r['port']")
n=$(PGPASSWORD=$PG_PW psql -X -At -h "$sock" -p "$port" -U postgres -d postgres -c "SELECT count(*) FROM heartbeat")
[ "$n" -gt 0 ] || fail "the server over the gap is not up with data"
echo "  gap: $(json "$W/r3.json" "r['error']")"
mv "$W/victim" "$obj"
pass "a missing segment: pg-recover fails naming $victim, server left up at $rec with $n heartbeats"

stop_restored
"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data failed"; }
pass "check --read-data passes"
