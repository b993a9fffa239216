#!/usr/bin/env bash
# `dr-test` with real scratch targets: a private PostgreSQL 15 and a private redis-server (both with
# passwords) backed up with the player saves, then drills restore into a scratch directory, a scratch
# database and a scratch redis-server; each component is verified, every scratch target is removed and
# production is untouched; failed drills (a corrupt pack, SIGTERM, PostgreSQL down) exit non-zero with a
# clear error and still clean up; the catalog counts both outcomes (read through `monitor`); no password leaks.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
RPW="test redis \"secret\" \\ $$"  # quotes, spaces and a backslash, as real passwords may have
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # A scratch redis-server a failing drill left running (it daemonizes).
  for f in "$W"/tmp/stb-drill-*/redis-scratch.pid; do [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
  stop_pg
  rm -rf "$W"
}
trap cleanup EXIT

# 1. Production: PostgreSQL with a small database, Redis with keys in two databases.
start_pg
export DB_NAME=game
psql_ postgres -c "CREATE DATABASE game"
psql_ game <<'SQL'
CREATE TABLE players (id int PRIMARY KEY, name text NOT NULL, level int, joined timestamptz);
INSERT INTO players SELECT i, 'player-' || i, i % 60, '2024-01-03 14:25:30+00'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, 5000) i;
CREATE TABLE items (id bigserial PRIMARY KEY, owner int REFERENCES players, kind text, attrs jsonb);
INSERT INTO items (owner, kind, attrs) SELECT 1 + i % 5000, 'sword', jsonb_build_object('dmg', i % 97)
  FROM generate_series(1, 8000) i;
CREATE SCHEMA guilds;
CREATE TABLE guilds.members (guild int, player int, PRIMARY KEY (guild, player));
INSERT INTO guilds.members SELECT i % 40, i FROM generate_series(1, 3000) i;
SQL
counts() { psql_ game -At -c "SELECT (SELECT count(*) FROM players) || '/' || (SELECT count(*) FROM items) || '/' || (SELECT count(*) FROM guilds.members)"; }
dump_hash() {
  PGPASSWORD=$PG_PW pg_dump -h 127.0.0.1 -p "$DB_PORT" -U postgres --data-only game | grep -Ev '^\\(un)?restrict ' |
    sha256sum | cut -c1-64
}
drill_dbs() { psql_ postgres -At -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'stb\_drill\_%'"; }

RP=$(free_port)
mkdir -p "$W/redis"
redis-server --port "$RP" --bind 127.0.0.1 --dir "$W/redis" --save "" --appendonly no --requirepass "$RPW" \
  --enable-debug-command local --daemonize yes --pidfile "$W/redis/redis.pid" --logfile "$W/redis/redis.log"
rcli() { redis-cli -p "$RP" -a "$RPW" --no-auth-warning "$@"; }
for _ in $(seq 1 100); do
  [ -s "$W/redis/redis.pid" ] && rcli PING 2>/dev/null | grep -q PONG && break
  sleep 0.05
done
pids+=("$(cat "$W/redis/redis.pid")")
rcli DEBUG POPULATE 3000 player: 32 >/dev/null
python3 - <<'PY' | rcli --pipe >/dev/null
import sys
out = []
def cmd(*a):
    out.append("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x.encode()), x) for x in map(str, a)))
cmd("SELECT", 3)
for i in range(500):
    cmd("HSET", f"inv:{i}", "sword", i, "gold", i * 3)
    cmd("ZADD", "leaderboard", i * 7 % 1000, f"player-{i}")
    cmd("SET", f"session:{i}", "x" * 40, "EX", 86400)
sys.stdout.write("".join(out))
PY
redis_state() { echo "$(rcli DEBUG DIGEST) $(rcli -n 0 DBSIZE) $(rcli -n 3 DBSIZE) $(rcli INFO server | grep -E '^run_id:' | tr -d '\r')"; }
[ "$(rcli -n 0 DBSIZE)" = 3000 ] && [ "$(rcli -n 3 DBSIZE)" = 1001 ] || fail "redis keys not loaded"
export REDIS_HOST=127.0.0.1 REDIS_PORT=$RP REDIS_PASSWORD=$RPW REDIS_DIGEST=yes
# The drill's scratch directory goes under TMPDIR: a private one, so nothing else's files are counted.
export TMPDIR=$W/tmp
mkdir -p "$TMPDIR"
make_data 20
unset CONFIG_DIRS APP_DIR
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/b1.json" 2>"$W/b1.err" || fail "backup: $(cat "$W/b1.json" "$W/b1.err")"
for c in database redis player_saves; do
  [ "$(json "$W/b1.json" "r['components']['$c']['status']")" = success ] || fail "$c not backed up: $(cat "$W/b1.json")"
done
pass "production: $(counts) rows in game, 3000 + 1001 redis keys; database, redis and player_saves backed up"
prod_counts=$(counts)
prod_hash=$(dump_hash)
prod_redis=$(redis_state)
[ "$(drill_dbs)" = 0 ] || fail "a stb_drill_ database exists before any drill"
# The check for a leftover scratch redis-server must be able to see one: it sees production's.
pgrep -f "redis-server 127.0.0.1:$RP\b" >/dev/null || fail "pgrep does not see the production redis-server"

# Everything a drill must leave behind as it found it; $1 is its report.
check_cleanup() {
  local rep=$1 what=$2 dir port
  dir=$(json "$rep" "r['scratch']['directory']")
  port=$(json "$rep" "r['scratch']['redis'].split(':')[1]")
  case "$dir" in "$TMPDIR"/stb-drill-*) ;; *) fail "$what: scratch directory $dir is not under TMPDIR" ;; esac
  [ ! -e "$dir" ] || fail "$what: scratch directory $dir still exists"
  [ -z "$(ls -A "$TMPDIR")" ] || fail "$what: left in TMPDIR: $(ls -A "$TMPDIR")"
  [ "$(json "$rep" "r['cleanup'] == {'redis': 'stopped', 'database': 'dropped', 'directory': 'removed'}")" = True ] ||
    fail "$what: cleanup $(json "$rep" "r['cleanup']")"
  [ "$port" != "$RP" ] || fail "$what: the scratch redis used production's port"
  ! pgrep -af "redis-server 127.0.0.1:$port\b" || fail "$what: a scratch redis-server still runs on $port"
  ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" 2>/dev/null ||
    fail "$what: something still listens on the scratch port $port"
  [ "$(drill_dbs)" = 0 ] || fail "$what: scratch database left: $(psql_ postgres -At -c "SELECT datname FROM pg_database")"
  [ "$(counts)" = "$prod_counts" ] && [ "$(dump_hash)" = "$prod_hash" ] || fail "$what: the production database changed"
  [ "$(redis_state)" = "$prod_redis" ] || fail "$what: production redis changed: $(redis_state), was $prod_redis"
  [ ! -e "$W/redis/dump.rdb" ] || fail "$what: a dump.rdb was written into production redis's directory"
}

# 2. Drills: every component restored into scratch targets and verified, then removed.
for scenario in restore_verify failover; do
  args=()
  [ $scenario = failover ] && args=(--scenario failover)
  "$BIN" dr-test "${args[@]}" >"$W/d-$scenario.json" 2>"$W/d-$scenario.err" ||
    fail "dr-test $scenario: $(cat "$W/d-$scenario.json" "$W/d-$scenario.err")"
  d=$W/d-$scenario.json
  [ "$(json "$d" "r['status'], r['overall_success'], r['scenario']")" = "success True $scenario" ] ||
    fail "$scenario: $(cat "$d")"
  [ "$(json "$d" "sorted(r['components'])")" = "['database', 'player_saves', 'redis']" ] || fail "$scenario: components $(cat "$d")"
  [ "$(json "$d" "all(c['success'] for c in r['components'].values())")" = True ] || fail "$scenario: $(cat "$d")"
  [ "$(json "$d" "r['components']['database']['tables_verified']")" = 3 ] || fail "$scenario: database $(cat "$d")"
  db=$(json "$d" "r['scratch']['database']")
  case "$db" in stb_drill_"$(json "$d" "r['backup_id']")"_*) ;; *) fail "$scenario: scratch database $db" ;; esac
  [ "$(json "$d" "r['components']['redis']['keyspace']")" = "{'db0': 3000, 'db3': 1001}" ] ||
    fail "$scenario: redis keyspace $(json "$d" "r['components']['redis']")"
  json "$d" "r['components']['redis']['verified']" | grep -q "keys per database, DEBUG DIGEST" ||
    fail "$scenario: redis keys or DEBUG DIGEST not compared: $(json "$d" "r['components']['redis']")"
  [ "$(json "$d" "r['components']['player_saves']['files']")" -ge 20 ] || fail "$scenario: saves $(cat "$d")"
  check_cleanup "$d" "$scenario"
  pass "dr-test $scenario: database $(json "$d" "r['components']['database']['rows_verified']") rows in $db, redis \
$(json "$d" "r['components']['redis']['verified']"), $(json "$d" "r['components']['player_saves']['verified_files']") \
saves; scratch removed, production unchanged"
done

# 3a. A damaged pack: the backup is one pack (database dump, then the RDB, then the saves); a byte
#     in its middle is inside the 3 MiB of random map.bin, so the database and redis restore into
#     their scratch targets and the saves fail: the drill fails and still removes every scratch target.
pack=$(find "$BACKUP_ROOT/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
cp "$pack" "$W/pack.orig"
python3 - "$pack" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0xFF]))
PY
rc=0
"$BIN" dr-test >"$W/f1.json" 2>"$W/f1.err" || rc=$?
[ $rc = 1 ] || fail "drill over a damaged pack exited $rc: $(cat "$W/f1.json" "$W/f1.err")"
[ "$(json "$W/f1.json" "r['status'], r['overall_success']")" = "failed False" ] || fail "damaged pack: $(cat "$W/f1.json")"
[ "$(json "$W/f1.json" "r['components']['database']['success'], r['components']['redis']['success']")" = "True True" ] ||
  fail "damaged pack: expected only the saves to fail: $(cat "$W/f1.json")"
err=$(json "$W/f1.json" "'; '.join(r['errors'])")
case "$err" in player_saves:*) ;; *) fail "damaged pack: error $err" ;; esac
grep -q "dr-test: player_saves:" "$W/log/dr-test.log" || fail "damaged pack: the error is not in dr-test.log"
check_cleanup "$W/f1.json" "damaged pack"
pass "damaged pack: exit 1, '$err'; scratch database, redis and directory removed"
cp "$W/pack.orig" "$pack"

# 3b. Interrupted (SIGTERM, as a scheduler's timeout sends) once the scratch database exists:
#     the restore is stopped, the scratch targets are still removed, the drill is recorded failed.
"$BIN" dr-test --scenario interrupted >"$W/f3.json" 2>"$W/f3.err" &
drill=$!
for _ in $(seq 1 400); do [ "$(drill_dbs)" = 1 ] && break; sleep 0.01; done
[ "$(drill_dbs)" = 1 ] || fail "interrupted: the scratch database never appeared"
kill -TERM $drill
rc=0
wait $drill || rc=$?
[ $rc = 1 ] || fail "interrupted drill exited $rc: $(cat "$W/f3.json" "$W/f3.err")"
json "$W/f3.json" "r['errors']" | grep -q "interrupted by signal 15" || fail "interrupted: $(cat "$W/f3.json")"
check_cleanup "$W/f3.json" "interrupted"
pass "SIGTERM during the drill: exit 1, '$(json "$W/f3.json" "r['errors'][-1]")'; scratch targets removed"

# 3c. PostgreSQL down: the database fails with an error naming the settings to check; the scratch
#     redis and directory are removed; once PostgreSQL is back, no scratch database exists.
stop_pg
rc=0
"$BIN" dr-test --scenario failover >"$W/f2.json" 2>"$W/f2.err" || rc=$?
[ $rc = 1 ] || fail "drill with PostgreSQL down exited $rc: $(cat "$W/f2.json" "$W/f2.err")"
[ "$(json "$W/f2.json" "r['status'], r['components']['database']['success'], r['components']['redis']['success']")" = \
  "failed False True" ] || fail "PostgreSQL down: $(cat "$W/f2.json")"
err=$(json "$W/f2.json" "r['errors'][0]")
case "$err" in database:*DB_HOST*) ;; *) fail "PostgreSQL down: first error: $err" ;; esac
[ "$(json "$W/f2.json" "r['cleanup']['redis'], r['cleanup']['directory']")" = "stopped removed" ] ||
  fail "PostgreSQL down: cleanup $(json "$W/f2.json" "r['cleanup']")"
port=$(json "$W/f2.json" "r['scratch']['redis'].split(':')[1]")
! pgrep -af "redis-server 127.0.0.1:$port\b" || fail "PostgreSQL down: a scratch redis-server still runs on $port"
[ -z "$(ls -A "$TMPDIR")" ] || fail "PostgreSQL down: left in TMPDIR: $(ls -A "$TMPDIR")"
pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -o "-p $DB_PORT -k $PGD -c listen_addresses=127.0.0.1 -c fsync=off" \
  start >/dev/null
[ "$(drill_dbs)" = 0 ] || fail "PostgreSQL down: a scratch database exists after the restart"
[ "$(counts)" = "$prod_counts" ] && [ "$(dump_hash)" = "$prod_hash" ] || fail "PostgreSQL down: production database changed"
[ "$(redis_state)" = "$prod_redis" ] || fail "PostgreSQL down: production redis changed"
pass "PostgreSQL down: exit 1, '$err'; cleanup $(json "$W/f2.json" "r['cleanup']")"

# 4. The catalog holds all four drills: `monitor` reports them by scenario and status.
MP=$(free_port)
"$BIN" monitor --listen "127.0.0.1:$MP" >"$W/monitor.out" 2>"$W/monitor.err" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MP/metrics" -o "$W/metrics" 2>/dev/null && break; sleep 0.05; done
[ -s "$W/metrics" ] || fail "monitor did not answer: $(cat "$W/monitor.err")"
kill "${pids[-1]}"
metric() { awk -v want="$1" '!/^#/ { v = $NF; $NF = ""; sub(/ $/, ""); if ($0 == want) print v }' "$W/metrics"; }
for want in restore_verify,success,1 restore_verify,failed,1 failover,success,1 failover,failed,1 \
  interrupted,failed,1 interrupted,success,0; do
  IFS=, read -r sc st n <<<"$want"
  got=$(metric "dr_test_completed_total{scenario=\"$sc\",status=\"$st\"}")
  [ "${got:-0}" = "$n" ] || fail "dr_test_completed_total{scenario=\"$sc\",status=\"$st\"} = '$got', expected $n"
done
rows=$(sqlite3 "$BACKUP_STATE_DIR/catalog.db" "SELECT scenario || '=' || status FROM drills ORDER BY id" | tr '\n' ' ')
[ "$rows" = "restore_verify=success failover=success restore_verify=failed interrupted=failed failover=failed " ] ||
  fail "the catalog's drills: $rows"
pass "monitor: dr_test_completed_total 1 for restore_verify and failover x success/failed, and interrupted/failed"

# 5. No password anywhere: outputs, logs, the state directory, the scrape.
for pw in "$PG_PW" "$RPW"; do
  ! grep -rlF "$pw" "$W"/*.json "$W"/*.err "$W/metrics" "$W/monitor.out" "$BACKUP_LOG_DIR" "$BACKUP_STATE_DIR" ||
    fail "a password appears in the files above"
done
pass "no password in any output, log, the state directory or /metrics"
