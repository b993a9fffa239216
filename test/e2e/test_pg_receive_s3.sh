#!/usr/bin/env bash
# Scenario 2 of the operations guide with wal-receive (issue 16 acceptance): a physical base backup
# of a server whose WAL only wal-receive stores (no archive_command), heartbeats and pgbench; the
# server and the receiver SIGKILLed, the data directory and then the whole local repository
# deleted; `restore latest s3 --latest` from the S3 location alone (radosgw) replays the parts the
# receiver shipped there. The lost interval (last acknowledged heartbeat minus the newest restored)
# is printed and at most 5 s (30 s in an ASan build, several times slower).
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
source "$HERE/../services/lib.sh"
RECV_PID= BENCH_PID=
stop_restored() { pg_stop_dirs "$W/r1"; }
trap 'heartbeat_stop || true; [ -n "$RECV_PID" ] && kill -9 "$RECV_PID" 2>/dev/null; [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null;
  stop_pg; stop_restored; service_stop_all; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT
RPO_LIMIT=5
ldd "$BIN" 2>/dev/null | grep -q libasan && RPO_LIMIT=30

unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
service_start s3 "$W/svc"
"$BIN" init >/dev/null
mkdir -p "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
export DB_BACKUP_METHOD=physical DB_NAME=postgres
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c synchronous_commit=on" start_pg

"$BIN" wal-receive >>"$W/recv.out" 2>&1 &
RECV_PID=$!
for _ in $(seq 1 100); do
  [ "$(psql_ postgres -At -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'spacetime_wal' AND state = 'streaming'")" = 1 ] && break
  kill -0 "$RECV_PID" 2>/dev/null || { cat "$W/recv.out"; fail "wal-receive exited"; }
  sleep 0.1
done
PGBENCH="$PGBIN/pgbench -h 127.0.0.1 -p $DB_PORT -U postgres"
PGPASSWORD=$PG_PW $PGBENCH -i -s 5 -q postgres >/dev/null 2>&1
heartbeat_start postgres
PGPASSWORD=$PG_PW $PGBENCH -c 2 -R 300 -T 40 postgres >"$W/bench.log" 2>&1 &
BENCH_PID=$!
sleep 2
# No archive_command: DB_WAL_SOURCE auto sees the receiver's active slot, and the backup waits for
# its WAL to be stored from the stream.
"$BIN" backup full --no-progress >"$W/b1.json" 2>"$W/b1.err" || fail "backup: $(cat "$W/b1.json" "$W/b1.err")"
[ "$(json "$W/b1.json" "r['components']['database']['wal_source']")" = archive ] ||
  fail "the backup does not rely on the stored WAL: $(json "$W/b1.json" "r['components']['database']")"
[ "$(json "$W/b1.json" "r['locations']['s3_primary']['status']")" = ok ] || fail "the backup did not reach s3: $(cat "$W/b1.json")"
sleep 8  # load after the backup: the receiver's parts carry it
kill_at=$(date +%s.%N)
kill -9 "$RECV_PID"
pg_kill9 "$PGD/data"
wait "$RECV_PID" 2>/dev/null || true; RECV_PID=
heartbeat_stop || true
wait "$BENCH_PID" 2>/dev/null || true; BENCH_PID=
acked=$(grep -cE '^[0-9]+\|[0-9.]+$' "$W/hb.log")
pass "wal-receive and the server SIGKILLed under load ($acked heartbeats acknowledged)"

# Scenario 2: the local repository is lost with the host; only S3 is left.
rm -rf "$BACKUP_ROOT"
"$BIN" restore latest s3 --components database --latest --target-dir "$W/r1" --no-progress >"$W/r1full.json" 2>"$W/r1.err" ||
  { tail -5 "$W/r1.err"; cat "$W/r1full.json"; fail "restore --latest from s3 failed"; }
json "$W/r1full.json" "json.dumps(r['components']['database'])" >"$W/r1.json"
sock=$(json "$W/r1.json" "r['socket_directory']"); port=$(json "$W/r1.json" "r['port']")
lost=$(lost_interval postgres -h "$sock" -p "$port")
echo "  lost interval (RPO, wal-receive, from s3 alone): $lost s; RTO $(json "$W/r1.json" "round(r['rto_seconds'], 2)") s;" \
  "recovered_to $(json "$W/r1.json" "r['recovered_to']"), $(python3 -c "print(round($kill_at - $(json "$W/r1.json" "r['recovered_to']['time_unix']"), 3))") s before the kill"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$lost" "$RPO_LIMIT" ||
  fail "lost interval $lost s > $RPO_LIMIT s"
[ "$(json "$W/r1.json" "r['amcheck']")" = ok ] || fail "pg_amcheck did not run"
pass "restore --latest from s3 alone: lost interval $lost s <= $RPO_LIMIT s"
stop_restored

"$BIN" check --read-data s3 >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data s3_primary"; }
pass "check --read-data s3 passes ($(json "$W/check.json" "r['wal']['parts']") parts, $(json "$W/check.json" "r['wal']['segments']") segments)"
