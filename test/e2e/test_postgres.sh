#!/usr/bin/env bash
# The database component against a real, private PostgreSQL 15: pgbench data plus bytea, jsonb,
# arrays, a large object and a second schema; backup, DROP DATABASE, restore, and the restored
# data compared by row counts and by a `pg_dump --data-only` hash; a second full backup after 2%
# of the rows changed stores < 15%; writes during the backup; one-line errors for every way the
# connection can fail, with the other components still backed up and the password nowhere.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
trap 'stop_pg; rm -rf "$W"' EXIT
start_pg
export DB_NAME=game
psql_ postgres -c "CREATE DATABASE game"
PGPASSWORD=$PG_PW $PGBIN/pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s 5 -q game >/dev/null 2>&1 ||
  fail "pgbench -i"
psql_ game <<'SQL'
CREATE SCHEMA ops;
CREATE TABLE ops.events (id bigserial PRIMARY KEY, payload jsonb, tags text[], raw bytea, at timestamptz);
INSERT INTO ops.events (payload, tags, raw, at)
  SELECT jsonb_build_object('player', i, 'score', i * 7, 'items', jsonb_build_array(i, i + 1, 'sword')),
         ARRAY['zone' || (i % 7), 'tier' || (i % 3)], decode(md5(i::text), 'hex'),
         '2024-01-03 14:25:30+00'::timestamptz + i * interval '1 second'
  FROM generate_series(1, 20000) i;
CREATE TABLE public.avatars (player int PRIMARY KEY, image oid, scores double precision[], note text);
INSERT INTO public.avatars VALUES (1, lo_from_bytea(0, decode(repeat('89504e470d0a1a0a', 40000), 'hex')),
  ARRAY[1.5, 2.25, 1e-300], E'it''s \\ "quoted"'), (2, NULL, '{}', NULL);
SQL
# \restrict lines carry a random key per dump (PostgreSQL 15.14+): not data.
dump_hash() {
  PGPASSWORD=$PG_PW pg_dump -h 127.0.0.1 -p "$DB_PORT" -U postgres --data-only "$1" | grep -Ev '^\\(un)?restrict ' |
    sha256sum | cut -c1-64
}
counts() { psql_ "$1" -At -c "SELECT 'accounts=' || count(*) FROM pgbench_accounts UNION ALL SELECT 'events=' || count(*) FROM ops.events UNION ALL SELECT 'lo=' || count(*) FROM pg_largeobject_metadata"; }
make_data 20
unset CONFIG_DIRS APP_DIR
"$BIN" init >/dev/null

# 1. Full backup, DROP DATABASE, restore, compare.
src_hash=$(dump_hash game)
src_counts=$(counts game)
"$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['database']['tables']")" = 6 ] || fail "tables: $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['database']['large_objects']")" = 1 ] || fail "large object not counted"
db_size=$(json "$W/b1.json" "r['components']['database']['size_bytes']")
pass "database backed up: $db_size bytes of dump, $(json "$W/b1.json" "r['components']['database']['rows']") rows"
psql_ postgres -c "DROP DATABASE game"
DB_RESTORE_JOBS=2 "$BIN" restore latest --components database --no-progress >"$W/r1.json" || fail "restore: $(cat "$W/r1.json")"
[ "$(json "$W/r1.json" "r['components']['database']['tables_verified']")" = 6 ] || fail "verified: $(cat "$W/r1.json")"
json "$W/r1.json" "r['components']['database']['duration_seconds']" >/dev/null
[ "$(counts game)" = "$src_counts" ] || fail "row counts differ after restore"
[ "$(dump_hash game)" = "$src_hash" ] || fail "pg_dump --data-only of the restored database differs"
pass "dropped database restored (created, parallel pg_restore): counts and data-only dump identical"

# 2. Restore into an existing, changed database (objects replaced), and streamed (the default, 1 job) into a new one.
psql_ game -c "DELETE FROM ops.events WHERE id % 2 = 0; UPDATE pgbench_branches SET bbalance = 42"
"$BIN" restore latest --components database --no-progress >"$W/r2.json" || fail "restore over: $(cat "$W/r2.json")"
[ "$(dump_hash game)" = "$src_hash" ] || fail "restore over an existing database left differences"
"$BIN" restore latest --components database --target-db game_copy --no-progress >"$W/r3.json" ||
  fail "restore --target-db: $(cat "$W/r3.json")"
[ "$(dump_hash game_copy)" = "$src_hash" ] || fail "streamed restore into game_copy differs"
pass "restore over an existing database, and streamed into --target-db: identical"

# 3. About 2% of the rows change (a contiguous range of players, as a day's play touches): the
#    second full backup stores < 15% of the first.
psql_ game -c "UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid <= 10000" \
  -c "INSERT INTO ops.events (payload) SELECT jsonb_build_object('new', i) FROM generate_series(1, 200) i"
PLAYER_SAVES_DIR= "$BIN" backup full --no-progress >"$W/b2.json" || fail "second backup: $(cat "$W/b2.json")"
new2=$(json "$W/b2.json" "r['repository']['new_bytes']")
pct=$(python3 -c "print(round(100 * $new2 / $db_size, 1))")
python3 -c "import sys; sys.exit(0 if $new2 < 0.15 * $db_size else 1)" || fail "second full backup stored $pct% (>= 15%)"
pass "second full backup after 2% of rows changed stored $new2 of $db_size bytes ($pct%)"

# 4. Writes during the backup: the recorded counts come from the dump's own snapshot.
PGPASSWORD=$PG_PW $PGBIN/pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -T 6 -c 2 game >"$W/pgbench.log" 2>&1 &
bench=$!
sleep 1.5
"$BIN" backup full --no-progress >"$W/b3.json" || fail "backup under load: $(cat "$W/b3.json")"
wait $bench || fail "pgbench: $(tail -3 "$W/pgbench.log")"
live_hist=$(psql_ game -At -c "SELECT count(*) FROM pgbench_history")
"$BIN" restore latest --components database --target-db game_load --no-progress >"$W/r4.json" ||
  fail "restore of the backup taken under load: $(cat "$W/r4.json")"
rest_hist=$(psql_ game_load -At -c "SELECT count(*) FROM pgbench_history")
[ "$rest_hist" -gt 0 ] && [ "$rest_hist" -lt "$live_hist" ] ||
  fail "history rows: restored $rest_hist, live $live_hist (writes were not concurrent with the backup?)"
pass "backup under pgbench load: restored counts equal the recorded ones ($rest_hist of $live_hist history rows existed at the snapshot)"

# 5. Failures: one line naming the setting; database failed, the rest backed up; check passes;
#    no password anywhere.
expect_fail() {  # expect_fail NAME SETTING [env assignments...] -- [command prefix]
  local name=$1 setting=$2; shift 2
  env "$@" "$BIN" backup full --no-progress >"$W/f.json" 2>"$W/f.err" && fail "$name: backup succeeded"
  local err
  err=$(json "$W/f.json" "r['components']['database']['error']")
  [ "$(json "$W/f.json" "r['components']['database']['status']")" = failed ] || fail "$name: not reported failed"
  [ "$(json "$W/f.json" "r['overall_success']")" = False ] || fail "$name: overall_success not false"
  [ "$(json "$W/f.json" "r['components']['player_saves']['status']")" = success ] || fail "$name: saves not backed up"
  case "$err" in *"$setting"*) ;; *) fail "$name: error does not name $setting: $err" ;; esac
  [ "$(printf '%s' "$err" | wc -l)" = 0 ] || fail "$name: error is not one line: $err"
  ! grep -rq "$PG_PW" "$W/f.json" "$W/f.err" "$W/log" || fail "$name: the password was printed"
  pass "$name: $err"
}
closed=$(pg_free_port)
expect_fail "connection refused" DB_PORT DB_PORT="$closed"
expect_fail "wrong password" DB_PASSWORD DB_PASSWORD=not-the-password
expect_fail "missing database" DB_NAME DB_NAME=no_such_db
expect_fail "missing pg_dump" DB_PG_BIN_DIR DB_PG_BIN_DIR="$W/empty"
# An unknown host: resolved inside a network namespace of its own, so no query leaves the machine.
ns=(unshare -n)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rn)
if "${ns[@]}" true 2>/dev/null; then
  env DB_HOST=db.invalid "${ns[@]}" "$BIN" backup full --no-progress >"$W/f.json" 2>"$W/f.err" && fail "unknown host: succeeded"
  err=$(json "$W/f.json" "r['components']['database']['error']")
  case "$err" in *DB_HOST*) pass "unknown host: $err" ;; *) fail "unknown host: $err" ;; esac
else
  fail "unshare is not available: cannot test an unknown host without DNS traffic"
fi
"$BIN" check --read-data >"$W/check.json" || fail "check after the failed backups: $(cat "$W/check.json")"
pass "repository checks clean after the failed backups"
