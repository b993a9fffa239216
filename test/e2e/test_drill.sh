#!/usr/bin/env bash
# `dr-test` with real scratch targets: a private PostgreSQL 15 and a private redis-server (both with
# passwords) backed up with the player saves, then drills restore into a scratch directory, a scratch
# database and a scratch redis-server; each component is verified, every scratch target is removed and
# production is untouched; failed drills (a corrupt pack, PostgreSQL down) exit non-zero with a clear
# error and still clean up; the catalog counts both outcomes (read through `monitor`); no password leaks.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
RPW=test-redis-secret-$$
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
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
  json "$d" "r['components']['redis']['verified']" | grep -q "keys per database" || fail "$scenario: redis keys not compared"
  [ "$(json "$d" "r['components']['player_saves']['files']")" -ge 20 ] || fail "$scenario: saves $(cat "$d")"
  check_cleanup "$d" "$scenario"
  pass "dr-test $scenario: $(json "$d" "', '.join(c + ' ' + str(r['components'][c].get('verified', 'verified')) for c in r['restore_order'])"); scratch removed, production unchanged"
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
