#!/usr/bin/env bash
# The operations guide's three disaster scenarios, with its own commands, against a private
# PostgreSQL and Redis and the S3 and Azure emulators (loopback):
#   1. database corruption: restore_manager.py ID local brings the database back as it was;
#   2. data center failure: the local repository, database, Redis and saves all lost;
#      restore_manager.py ID azure restores every component from Azure alone;
#   3. player data loss: RestoreManager(ID, "s3").restore_player_saves(PATH) brings the saves back.
# Each ends verified against the state at backup time; the repository passes check --read-data.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
source "$HERE/../services/lib.sh"
ROOT=$(cd "$HERE/../.." && pwd)
OPS=$ROOT/scripts/operations
export SPACETIME_BACKUP_BIN=$BIN
RPW=scenario-redis-$$
cleanup() {
  [ -f "$W/redis/redis.pid" ] && kill "$(cat "$W/redis/redis.pid")" 2>/dev/null
  service_stop_all
  stop_pg
  rm -rf "$W"
}
trap cleanup EXIT
start_pg
service_start s3 "$W/svc"
service_start azure "$W/svc"
RP=$(free_port)
source "$ROOT/scripts/scratch_redis.sh"
scratch_redis "$W/redis" "$RP" "$RPW"
rcli() { redis-cli -p "$RP" -a "$RPW" --no-auth-warning "$@"; }
export DB_NAME=planetary_survival REDIS_HOST=127.0.0.1 REDIS_PORT=$RP REDIS_PASSWORD=$RPW REDIS_DATA_DIR=$W/redis
export REDIS_RESTART_COMMAND=$W/redis/restart.sh
psql_ postgres -c "CREATE DATABASE planetary_survival"
psql_ planetary_survival -c "CREATE TABLE players (id int PRIMARY KEY, level int, gold bigint);
  INSERT INTO players SELECT i, i % 90, i * 37 FROM generate_series(1, 30000) i"
rcli DEBUG POPULATE 20000 session: 32 >/dev/null 2>&1 || for i in $(seq 1 200); do rcli SET "session:$i" "v$i" >/dev/null; done
rcli ZADD leaderboard 100 alice 200 bob >/dev/null
make_data 40
db_state() { psql_ planetary_survival -At -c "SELECT count(*), sum(level), sum(gold) FROM players"; }
redis_state() { rcli DBSIZE; rcli ZSCORE leaderboard bob; }
"$BIN" init >/dev/null 2>"$W/init.err" || fail "init: $(cat "$W/init.err")"
python3 "$OPS/backup/backup_manager.py" full >"$W/full.json" 2>"$W/full.err" || fail "backup: $(cat "$W/full.json" "$W/full.err")"
id=$(json "$W/full.json" "r['backup_id']")
for l in s3_primary azure_secondary; do
  [ "$(json "$W/full.json" "r['locations']['$l']['status']")" = ok ] || fail "$l copy: $(json "$W/full.json" "r['locations']")"
done
db0=$(db_state)
redis0=$(redis_state)
cp -a "$W/src" "$W/at-backup"

# Scenario 1: database corruption.
psql_ planetary_survival -c "DELETE FROM players WHERE id % 3 = 0; UPDATE players SET gold = 0 WHERE id < 100"
python3 "$OPS/restore/restore_manager.py" "$id" local >"$W/s1.json" 2>"$W/s1.err" || fail "scenario 1: $(cat "$W/s1.json" "$W/s1.err")"
[ "$(db_state)" = "$db0" ] || fail "scenario 1: the database is not back as it was"
pass "scenario 1 (database corruption): restore_manager.py $id local, database as backed up, rto $(json "$W/s1.json" "r['rto_seconds']") s"

# Scenario 2: the data center is gone: local repository, database, Redis and saves.
rm -rf "$BACKUP_ROOT"
psql_ postgres -c "DROP DATABASE planetary_survival"
rcli FLUSHALL >/dev/null
rm -rf "$PLAYER_SAVES_DIR"
python3 "$OPS/restore/restore_manager.py" "$id" azure >"$W/s2.json" 2>"$W/s2.err" || fail "scenario 2: $(cat "$W/s2.json" "$W/s2.err")"
[ "$(json "$W/s2.json" "r['restore_location']")" = azure ] || fail "scenario 2: restore_location"
[ "$(db_state)" = "$db0" ] || fail "scenario 2: database differs"
[ "$(redis_state)" = "$redis0" ] || fail "scenario 2: Redis differs ($(redis_state | tr '\n' ' ') vs $(tr '\n' ' ' <<<"$redis0"))"
same_tree "$W/at-backup/saves" "$PLAYER_SAVES_DIR" || fail "scenario 2: saves differ"
pass "scenario 2 (data center failure): from Azure alone, database, Redis and saves back, rto $(json "$W/s2.json" "r['rto_seconds']") s"

# Scenario 3: player data loss, one component from S3 through the module API.
echo corrupted >"$PLAYER_SAVES_DIR/01/player_1.json"
rm -rf "$PLAYER_SAVES_DIR/02"
(cd "$OPS/restore" && python3 - "$id" <<'PY') || fail "scenario 3: RestoreManager"
import sys
from restore_manager import RestoreManager
manager = RestoreManager(sys.argv[1], "s3")
assert manager.restore_player_saves("/var/backups/player_saves/" + sys.argv[1]), manager.last_report
assert manager.last_report["restore_location"] == "s3"
PY
same_tree "$W/at-backup/saves" "$PLAYER_SAVES_DIR" || fail "scenario 3: saves differ"
pass "scenario 3 (player data loss): RestoreManager('$id', 's3').restore_player_saves(...) brought the saves back"
for loc in s3 azure; do
  "$BIN" check --read-data "$loc" >/dev/null 2>"$W/c.err" || fail "check $loc: $(cat "$W/c.err")"
done
pass "s3 and azure pass check --read-data"
