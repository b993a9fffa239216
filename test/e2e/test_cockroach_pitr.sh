#!/usr/bin/env bash
# CockroachDB restore to a time, end to end against crdb_standin (a PostgreSQL-wire server answering
# as CockroachDB v23.1 documents; written from the documentation, no live cluster): a full backup,
# db-incremental layers with revision history (`schedule run db-incremental`, recorded in the
# catalog, no snapshot), `restore --target-time` between layers giving the row counts of that time,
# a time past the newest layer refused naming it, CockroachDB's revision_history error passed
# through, a wrong password and a PostgreSQL engine refused, COCKROACH_NATIVE_SCHEDULE (CockroachDB's
# own schedule created once, a failed job reported), gc.ttl warnings, and no secret in any output.
source "$(dirname "$0")/lib.sh" "$1"
source "$(dirname "$0")/crdb_lib.sh"
STANDIN_TABLES="game.public.players=1200 game.public.items=37"
# --aost-lag 1: the stand-in's '-10s' goes one second back, so the test waits 1.5 s instead of 11.
sql() { PGPASSWORD=$PW psql -h 127.0.0.1 -p "$1" -U root -d defaultdb -At -c "$2"; }
players() { sql "$1" 'SELECT count(*) FROM "game"."public"."players"'; }
add_players() { sql "$1" "INSERT INTO \"game\".\"public\".\"players\" SELECT generate_series(1, $2)" >/dev/null; }
now_utc() { date -u '+%Y-%m-%d %H:%M:%S.%N' | cut -c1-26; }
db() { json "$1" "r['components']['database']$2"; }
make_data 5
unset CONFIG_DIRS APP_DIR
export DB_HOST=127.0.0.1 DB_PORT=$(start_standin crdb --aost-lag 1 --gc-ttl 2) DB_NAME=game DB_USER=root DB_PASSWORD=$PW DB_ENGINE=cockroachdb
export COCKROACH_BACKUP_URI="s3://game-backups/crdb?AWS_ACCESS_KEY_ID=AKIAEXAMPLE&AWS_SECRET_ACCESS_KEY=$AWS_SECRET_IN_URI"
"$BIN" init >/dev/null

# 1. A full backup, then three db-incrementals with rows added in between.
"$BIN" backup full --no-progress >"$W/b1.json" 2>"$W/b1.err" || fail "backup: $(cat "$W/b1.json" "$W/b1.err")"
id=$(json "$W/b1.json" "r['backup_id']")
subdir=$(db "$W/b1.json" "['cockroach_backup']")
add_players "$DB_PORT" 100
sleep 1.5
"$BIN" schedule run db-incremental >"$W/i1.json" 2>"$W/i1.err" || fail "db-incremental: $(cat "$W/i1.json" "$W/i1.err")"
[ "$(json "$W/i1.json" "r['type']")" = incremental ] || fail "db-incremental type: $(cat "$W/i1.json")"
[ "$(json "$W/i1.json" "r['cockroach_backup']")" = "$subdir" ] || fail "db-incremental chain: $(cat "$W/i1.json")"
grep -q "^BACKUP DATABASE \"game\" INTO LATEST IN 's3://[^']*' AS OF SYSTEM TIME '-10s' WITH revision_history, encryption_passphrase = '[0-9a-f]*'$" "$W/crdb.sql" ||
  fail "db-incremental's BACKUP as received: $(grep BACKUP "$W/crdb.sql")"
grep -q "^SELECT DISTINCT backup_type, start_time::STRING, end_time::STRING FROM \[SHOW BACKUP FROM '$subdir' IN 's3://" "$W/crdb.sql" ||
  fail "SHOW BACKUP FROM not sent: $(cat "$W/crdb.sql")"
sleep 0.3
T1=$(now_utc)  # players: 1300
sleep 0.3
add_players "$DB_PORT" 50
sleep 1.5
"$BIN" schedule run db-incremental >"$W/i2.json" 2>"$W/i2.err" || fail "db-incremental 2: $(cat "$W/i2.json" "$W/i2.err")"
add_players "$DB_PORT" 25
sleep 1.5
"$BIN" schedule run db-incremental >"$W/i3.json" 2>"$W/i3.err" || fail "db-incremental 3: $(cat "$W/i3.json" "$W/i3.err")"
newest=$(json "$W/i3.json" "r['recovery_point']")
[ "$(sqlite3 "$BACKUP_STATE_DIR/catalog.db" "SELECT count(*) FROM backups WHERE backup_id LIKE 'db-incremental:%' AND component = 'database' AND type = 'incremental' AND status = 'success'")" = 3 ] ||
  fail "catalog: $(sqlite3 "$BACKUP_STATE_DIR/catalog.db" 'SELECT * FROM backups')"
rp=$(sqlite3 "$BACKUP_STATE_DIR/catalog.db" "SELECT location || ' ' || CAST(point_time AS INTEGER) FROM recovery_point WHERE component = 'database' AND source = 'db-incremental'")
[ "$rp" = "cockroach_uri $(json "$W/i3.json" "int(r['recovery_point_unix'])")" ] || fail "db-incremental's recovery point: '$rp'"
"$BIN" snapshots --json >"$W/snaps.json" || fail "snapshots"
[ "$(json "$W/snaps.json" "len(r)")" = 1 ] || fail "db-incremental wrote a snapshot: $(cat "$W/snaps.json")"
[ "$(players "$DB_PORT")" = 1375 ] || fail "players now: $(players "$DB_PORT")"
pass "3 db-incrementals: BACKUP INTO LATEST ... AS OF SYSTEM TIME '-10s' WITH revision_history, in the catalog, no snapshot; newest layer $newest"

# 2. Restore to T1, between the first and second layers: the 1300 players of that time.
: >"$W/crdb.sql"
"$BIN" restore "$id" --components database --target-time "$T1+00" --no-progress >"$W/r1.json" 2>"$W/r1.err" ||
  fail "restore --target-time: $(cat "$W/r1.json" "$W/r1.err")"
[ "$(players "$DB_PORT")" = 1300 ] || fail "players after the restore to $T1: $(players "$DB_PORT")"
[ "$(sql "$DB_PORT" 'SELECT count(*) FROM "game"."public"."items"')" = 37 ] || fail "items"
[ "$(db "$W/r1.json" "['recovered_to']")" = "$T1+00" ] || fail "recovered_to: $(cat "$W/r1.json")"
[ "$(db "$W/r1.json" "['tables_verified']")" = 2 ] || fail "verified against the counts at T1: $(cat "$W/r1.json")"
# gc.ttlseconds 2 on this stand-in: T1 is older than the revision history window.
[[ "$(db "$W/r1.json" "['warnings'][0]")" == *"(gc.ttlseconds = 2 s) is shorter than the age of --target-time"* ]] ||
  fail "no gc.ttl warning: $(cat "$W/r1.json")"
grep -rq "gc.ttlseconds = 2 s" "$BACKUP_LOG_DIR" || fail "gc.ttl warning not logged"
grep -q "^RESTORE DATABASE \"game\" FROM '$subdir' IN 's3://[^']*' AS OF SYSTEM TIME '$T1' WITH new_db_name = 'game_restoring', encryption_passphrase = '[0-9a-f]*'$" "$W/crdb.sql" ||
  fail "RESTORE as received: $(cat "$W/crdb.sql")"
grep -q "^SHOW BACKUPS IN 's3://" "$W/crdb.sql" || fail "SHOW BACKUPS not sent"
pass "restore --target-time $T1: RESTORE ... AS OF SYSTEM TIME from $subdir, 1300 players (full had 1200, now 1375), verified against the counts as of T1"

# 3. A time past the newest layer (restore latest): refused naming the newest layer's time; nothing restored.
: >"$W/crdb.sql"
late=$(date -u -d '+1 hour' '+%Y-%m-%d %H:%M:%S+00')
"$BIN" restore latest --components database --target-time "$late" --no-progress >"$W/r2.json" 2>"$W/r2.err" &&
  fail "a restore past the newest layer succeeded"
err=$(db "$W/r2.json" "['error']")
[[ "$err" == *"is after the newest CockroachDB backup layer, $newest"* ]] || fail "past the newest layer: $err"
grep -q '^RESTORE' "$W/crdb.sql" && fail "RESTORE sent for a time past the newest layer"
pass "a time past the newest layer: '$err'"

# 4. A collection whose layers lack revision history: CockroachDB's own error, passed through.
NOREV_PORT=$(start_standin norev --aost-lag 1 --no-revision-history)
DB_PORT=$NOREV_PORT "$BIN" backup full --no-progress >"$W/b2.json" 2>"$W/b2.err" || fail "backup: $(cat "$W/b2.json")"
add_players "$NOREV_PORT" 10
T2=$(now_utc)
sleep 1.5
DB_PORT=$NOREV_PORT "$BIN" schedule run db-incremental >"$W/i4.json" 2>"$W/i4.err" || fail "db-incremental: $(cat "$W/i4.json")"
DB_PORT=$NOREV_PORT "$BIN" restore "$(json "$W/b2.json" "r['backup_id']")" --components database --target-time "$T2+00" \
  --no-progress >"$W/r3.json" 2>"$W/r3.err" && fail "a restore between layers without revision history succeeded"
err=$(db "$W/r3.json" "['error']")
[[ "$err" == *"RESTORE from s3://game-backups/crdb?"*"invalid RESTORE timestamp: restoring to arbitrary time requires that BACKUP for requested time be created with 'revision_history' option. nearest backup time is "* ]] ||
  fail "revision history error: $err"
[ "$(players "$NOREV_PORT")" = 1210 ] || fail "the database changed"
pass "no revision history: '$(echo "$err" | tail -c 150)'"

# 5. Wrong password, and DB_INCREMENTAL_INTERVAL with PostgreSQL: one-line errors.
DB_PASSWORD=not-the-Pw-4410 "$BIN" schedule run db-incremental >"$W/f1.json" 2>"$W/f1.err" && fail "wrong password succeeded"
err=$(json "$W/f1.json" "r['error']")
[[ "$err" == *"(check DB_PASSWORD"* ]] || fail "wrong password error: $err"
DB_ENGINE=postgresql DB_INCREMENTAL_INTERVAL='*/5 * * * *' "$BIN" schedule run db-incremental >"$W/f2.json" 2>"$W/f2.err" &&
  fail "DB_INCREMENTAL_INTERVAL with PostgreSQL accepted"
grep -q "DB_INCREMENTAL_INTERVAL is for CockroachDB.*BACKUP_STREAMS=wal-receive" "$W/f2.err" || fail "PostgreSQL: $(cat "$W/f2.err")"
[ "$(sqlite3 "$BACKUP_STATE_DIR/catalog.db" "SELECT count(*) FROM backups WHERE backup_id LIKE 'db-incremental:%' AND status = 'failed'")" = 1 ] ||
  fail "the failed run is not in the catalog"
pass "db-incremental: wrong password '$err'; PostgreSQL refused naming BACKUP_STREAMS=wal-receive"

# 5b. COCKROACH_NATIVE_SCHEDULE: `backup` creates CockroachDB's own schedule once, db-incremental
# then only checks it (no BACKUP of its own), a failed job of the schedule fails the run; gc.ttlseconds
# (3600) under the incrementals' retention (1 day) is warned about.
NATIVE_PORT=$(start_standin native --gc-ttl 3600)
native() { DB_PORT=$NATIVE_PORT COCKROACH_NATIVE_SCHEDULE=yes DB_INCREMENTAL_INTERVAL='*/5 * * * *' "$BIN" "$@"; }
native backup full --no-progress >"$W/n1.json" 2>"$W/n1.err" || fail "native backup: $(cat "$W/n1.json" "$W/n1.err")"
[ "$(db "$W/n1.json" "['native_schedule']['created']")" = True ] || fail "schedule not created: $(cat "$W/n1.json")"
[[ "$(db "$W/n1.json" "['warnings']")" == *"(gc.ttlseconds = 3600 s) is shorter than the incrementals' retention"* ]] ||
  fail "no gc.ttl warning: $(cat "$W/n1.json")"
native schedule run db-incremental >"$W/n2.json" 2>"$W/n2.err" || fail "native db-incremental: $(cat "$W/n2.json" "$W/n2.err")"
[ "$(json "$W/n2.json" "r['native_schedule']['created']")" = False ] || fail "second run: $(cat "$W/n2.json")"
[ "$(json "$W/n2.json" "r['native_schedule']['latest_job']['status']")" = succeeded ] || fail "job: $(cat "$W/n2.json")"
[ "$(grep -c "^CREATE SCHEDULE IF NOT EXISTS 'spacetime_backup_game' FOR BACKUP DATABASE \"game\" INTO 's3://[^']*' WITH revision_history, encryption_passphrase = '[0-9a-f]*' RECURRING '\*/5 \* \* \* \*' FULL BACKUP '@daily' WITH SCHEDULE OPTIONS first_run = 'now'$" "$W/native.sql")" = 2 ] ||
  fail "CREATE SCHEDULE as received: $(grep SCHEDULE "$W/native.sql")"
grep -q 'INTO LATEST IN' "$W/native.sql" && fail "db-incremental ran its own BACKUP beside the native schedule"
native snapshots --recovery-points --json >"$W/n3.json" || fail "snapshots: $(cat "$W/n3.json")"
[ "$(json "$W/n3.json" "len(r['cockroach_schedule']['schedules'])")" = 2 ] || fail "SHOW SCHEDULES: $(cat "$W/n3.json")"
FAILJOB_PORT=$(start_standin failjob --fail-schedule-job)
NATIVE_PORT=$FAILJOB_PORT native schedule run db-incremental >"$W/n4.json" 2>"$W/n4.err" && fail "a failed schedule job passed"
[[ "$(json "$W/n4.json" "r['error']")" == *"CockroachDB's backup schedule spacetime_backup_game: job "*" failed: failed to run backup: "*"AccessDenied"* ]] ||
  fail "failed job: $(cat "$W/n4.json")"
NATIVE_PORT=$FAILJOB_PORT native snapshots --recovery-points >"$W/n5.out" || fail "snapshots text"
grep -q "CockroachDB schedule spacetime_backup_game: problem: .*AccessDenied" "$W/n5.out" || fail "status: $(cat "$W/n5.out")"
COCKROACH_NATIVE_SCHEDULE=maybe "$BIN" snapshots >"$W/n6.out" 2>"$W/n6.err" && fail "COCKROACH_NATIVE_SCHEDULE=maybe accepted"
grep -q "COCKROACH_NATIVE_SCHEDULE must be yes or no" "$W/n6.err" || fail "bad setting: $(cat "$W/n6.err")"
pass "native schedule: created once (second CREATE SCHEDULE IF NOT EXISTS answered no row), no BACKUP of ours, failed job reported, gc.ttl warned"

# 6. The daemon: db-incremental on its own timer (every minute here), the backups' timer idle.
ok_runs() { sqlite3 "$BACKUP_STATE_DIR/catalog.db" "SELECT count(*) FROM backups WHERE backup_id LIKE 'db-incremental:%' AND status = 'success'"; }
before=$(ok_runs)
BACKUP_SCHEDULE_FULL='0 0 1 1 *' BACKUP_SCHEDULE_INCREMENTAL='' DB_INCREMENTAL_INTERVAL='* * * * *' \
  "$BIN" schedule >"$W/sched.out" 2>"$W/sched.err" &
sched=$!
echo "$sched" >"$W/schedule.pid"
for _ in $(seq 150); do [ "$(ok_runs)" -gt "$before" ] && break; sleep 0.5; done
[ "$(ok_runs)" -gt "$before" ] || fail "schedule ran no db-incremental in 75 s: $(cat "$W/sched.err" "$BACKUP_LOG_DIR/schedule.log")"
kill -TERM "$sched"
wait "$sched" || fail "schedule exited $? on SIGTERM"
grep -q "db-incremental '\* \* \* \* \*'" "$BACKUP_LOG_DIR/schedule.log" || fail "schedule.log: $(cat "$BACKUP_LOG_DIR/schedule.log")"
"$BIN" snapshots --json >"$W/snaps2.json" || fail "snapshots"
[ "$(json "$W/snaps2.json" "len(r)")" = 3 ] || fail "the daemon's db-incremental wrote a snapshot"
pass "schedule with DB_INCREMENTAL_INTERVAL='* * * * *': a db-incremental run on its own timer, no snapshot, exit 0 on SIGTERM"

# 7. No secret anywhere we wrote: stdout, stderr, logs, reports, the catalog.
passphrase=$(sed -n "s/.*encryption_passphrase = '\([0-9a-f]*\)'.*/\1/p" "$W/norev.sql" | head -1)
[ -n "$passphrase" ] || fail "no passphrase sent"
for s in "$PW" "$AWS_SECRET" "$AWS_SECRET_IN_URI" "$passphrase" not-the-Pw-4410; do
  hits=$(grep -rlF -- "$s" "$W"/*.json "$W"/*.err "$W"/*.out "$BACKUP_LOG_DIR" "$BACKUP_STATE_DIR" 2>/dev/null | grep -v '/\(crdb\|norev\|native\|failjob\)\.' || true)
  [ -z "$hits" ] || fail "secret found in: $hits"
  sqlite3 "$BACKUP_STATE_DIR/catalog.db" .dump | grep -qF -- "$s" && fail "secret in the catalog dump"
done
grep -qF "$AWS_SECRET_IN_URI" "$W/norev.sql" || fail "the grep cannot fail: the secret was not sent at all"
pass "password, passphrase and AWS secret in no output, log, report or catalog"

"$BIN" check --read-data >"$W/check.json" || fail "check: $(cat "$W/check.json")"
pass "check --read-data"
