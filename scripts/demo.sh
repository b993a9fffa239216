#!/usr/bin/env bash
# The demo of the whole system: installs what it needs (the build and runtime package sets, not
# the test servers), builds the binary, starts a scratch PostgreSQL 15 and Redis on 127.0.0.1
# with game-like data (players, inventories, sessions, leaderboards) beside player saves,
# configuration and application trees under ./var/, then runs the guide's day:
#   init, backup full, a burst of game writes, backup incremental,
#   a disaster (database dropped, Redis flushed, saves deleted),
#   the guide's restore (restore_manager.py BACKUP_ID local), verified against what was there.
# Everything it started is stopped at the end; the repository and logs stay in ./var/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/install-deps.sh demo
scripts/build.sh release spacetime-backup
BIN=$ROOT/build/spacetime-backup
V=$ROOT/var
PGBIN=/usr/lib/postgresql/15/bin
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_all() {
  [ -f "$V/pg/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$V/pg/data" -m fast stop >/dev/null 2>&1 || true
  [ -f "$V/redis/redis.pid" ] && kill "$(cat "$V/redis/redis.pid")" 2>/dev/null || true
}
trap stop_all EXIT
[ -d "$V" ] && stop_all
rm -rf "$V"
mkdir -p "$V/pg" "$V/redis"

step "scratch PostgreSQL and Redis on 127.0.0.1"
PG_PW=$(openssl rand -hex 16)
REDIS_PW=$(openssl rand -hex 16)
echo "$PG_PW" >"$V/pg/pw"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$V/pg"; chmod 755 "$V"; fi
as_pg "$PGBIN/initdb" -D "$V/pg/data" -U postgres --auth=scram-sha-256 --pwfile="$V/pg/pw" >/dev/null
DB_PORT=$(free_port)
as_pg "$PGBIN/pg_ctl" -D "$V/pg/data" -l "$V/pg/log" -w -o "-p $DB_PORT -k $V/pg -c listen_addresses=127.0.0.1" start >/dev/null
REDIS_PORT=$(free_port)
source scripts/scratch_redis.sh
scratch_redis "$V/redis" "$REDIS_PORT" "$REDIS_PW"
rcli() { redis-cli -p "$REDIS_PORT" -a "$REDIS_PW" --no-auth-warning "$@"; }
psql_() { PGPASSWORD=$PG_PW psql -h 127.0.0.1 -p "$DB_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

export DB_HOST=127.0.0.1 DB_PORT DB_NAME=planetary_survival DB_USER=postgres DB_PASSWORD=$PG_PW
export REDIS_HOST=127.0.0.1 REDIS_PORT REDIS_PASSWORD=$REDIS_PW REDIS_DATA_DIR=$V/redis
export REDIS_RESTART_COMMAND=$V/redis/restart.sh
export BACKUP_ROOT=$V/repository BACKUP_LOG_DIR=$V/log BACKUP_STATE_DIR=$V/state
export BACKUP_ENCRYPTION_KEY=$V/backup.key PLAYER_SAVES_DIR=$V/data/player_saves
export CONFIG_DIRS=$V/data/config/server:$V/data/config/k8s:$V/data/config/terraform APP_DIR=$V/data/app
export SPACETIME_BACKUP_BIN=$BIN

step "game data: 20,000 players with inventories and sessions, Redis leaderboards and sessions, saves"
psql_ -d postgres -c "CREATE DATABASE planetary_survival"
psql_ -d planetary_survival <<'SQL'
CREATE TABLE players (id int PRIMARY KEY, name text NOT NULL, level int NOT NULL, zone text, gold bigint, updated timestamptz);
CREATE TABLE inventories (player int REFERENCES players, slot int, item int, qty int, PRIMARY KEY (player, slot));
CREATE TABLE sessions (id bigserial PRIMARY KEY, player int REFERENCES players, started timestamptz, server text);
INSERT INTO players SELECT i, 'player_' || i, 1 + i % 90, (ARRAY['frostpeak','ashen_wastes','skyreach'])[1 + i % 3],
  i * 37 % 100000, '2024-01-03 14:25:30+00' FROM generate_series(1, 20000) i;
INSERT INTO inventories SELECT p, s, (p * 31 + s * 7) % 5000, 1 + (p + s) % 99 FROM generate_series(1, 20000) p, generate_series(1, 10) s;
INSERT INTO sessions (player, started, server) SELECT 1 + i % 20000, '2024-01-03 14:00:00+00'::timestamptz + i * interval '1 s',
  'eu-' || (i % 4) FROM generate_series(1, 50000) i;
CREATE INDEX ON sessions (player);
SQL
python3 - <<'PY' | rcli --pipe >/dev/null
out = []
def cmd(*a):
    out.append("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x.encode()), x) for x in map(str, a)))
for i in range(1, 20001):
    cmd("ZADD", "leaderboard:season1", i * 7919 % 100000, f"player_{i}")
    cmd("HSET", f"player:{i}", "zone", ("frostpeak", "ashen_wastes", "skyreach")[i % 3], "online", i % 5 == 0)
    if i % 4 == 0:
        cmd("SET", f"session:{i}", f"token-{i * 104729}", "EX", 86400)
print("".join(out), end="")
PY
python3 - "$V/data" <<'PY'
import json, os, random, sys
root = sys.argv[1]
rng = random.Random(2024)
def write(p, data, mode=0o644):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f: f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(p, mode)
for i in range(2000):
    save = {"player_id": i, "level": rng.randrange(1, 90), "zone": rng.choice(["frostpeak", "ashen_wastes", "skyreach"]),
            "inventory": [{"item": rng.randrange(10**6), "qty": rng.randrange(1, 99)} for _ in range(rng.randrange(20, 300))]}
    write(f"{root}/player_saves/{i % 32:02x}/player_{i}.json", json.dumps(save))
write(f"{root}/player_saves/world/terrain.bin", rng.randbytes(8 << 20))
for name in ("game", "matchmaking", "chat"):
    write(f"{root}/config/server/{name}.yaml", f"service: {name}\nreplicas: 3\ntick_rate: 60\n" * 20)
write(f"{root}/config/k8s/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n" * 30)
write(f"{root}/config/terraform/main.tf", 'resource "aws_s3_bucket" "backups" {}\n' * 30)
write(f"{root}/app/bin/spacetime-server", rng.randbytes(2 << 20), 0o755)
write(f"{root}/app/scripts/maintenance.py", "print('maintenance')\n", 0o755)
write(f"{root}/app/scripts/__pycache__/maintenance.cpython-311.pyc", b"\0compiled")
os.symlink("bin/spacetime-server", f"{root}/app/current")
PY
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY"

step "spacetime-backup init"
"$BIN" init
step "python scripts/operations/backup/backup_manager.py full"
python3 scripts/operations/backup/backup_manager.py full | tee "$V/full.json"
full_id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['backup_id'])" "$V/full.json")

step "a burst of game writes: 500 players level up, new sessions, leaderboard moves, 50 saves change"
psql_ -d planetary_survival -c "UPDATE players SET level = level + 1, gold = gold + 100, updated = now() WHERE id % 40 = 0;
  INSERT INTO sessions (player, started, server) SELECT 1 + i % 20000, now(), 'us-1' FROM generate_series(1, 2000) i;"
for i in $(seq 40 40 2000); do echo "ZINCRBY leaderboard:season1 500 player_$i"; done | rcli >/dev/null
python3 - "$V/data" <<'PY'
import sys
root = sys.argv[1]
for i in range(0, 2000, 40):
    with open(f"{root}/player_saves/{i % 32:02x}/player_{i}.json", "a") as f: f.write(" ")
with open(f"{root}/config/server/game.yaml", "a") as f: f.write("tick_rate: 64\n")
PY
sleep 1
step "python scripts/operations/backup/backup_manager.py incremental /var/backups/db/$full_id"
python3 scripts/operations/backup/backup_manager.py incremental "/var/backups/db/$full_id" | tee "$V/incremental.json"
incr_id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['backup_id'])" "$V/incremental.json")

# What must come back, taken now.
db_state() { psql_ -d planetary_survival -At -c "SELECT count(*), sum(level), sum(gold) FROM players UNION ALL
  SELECT count(*), sum(item), sum(qty) FROM inventories UNION ALL SELECT count(*), sum(player), 0 FROM sessions"; }
db_before=$(db_state)
redis_before=$(rcli DBSIZE; rcli ZSCORE leaderboard:season1 player_40)
cp -a "$V/data/player_saves" "$V/saves-before"

step "disaster: the database is dropped, Redis flushed, the player saves deleted"
psql_ -d postgres -c "DROP DATABASE planetary_survival"
rcli FLUSHALL >/dev/null
rm -rf "$V/data/player_saves"

step "python scripts/operations/restore/restore_manager.py $incr_id local"
python3 scripts/operations/restore/restore_manager.py "$incr_id" local | tee "$V/restore.json"

step "verify against the state before the disaster"
[ "$(db_state)" = "$db_before" ] || { echo "database differs after the restore" >&2; exit 1; }
[ "$(rcli DBSIZE; rcli ZSCORE leaderboard:season1 player_40)" = "$redis_before" ] || { echo "Redis differs after the restore" >&2; exit 1; }
diff -r "$V/saves-before" "$V/data/player_saves"
"$BIN" check --read-data
python3 - "$V" <<'PY'
import json, sys
v = sys.argv[1]
full, incr, rest = (json.load(open(f"{v}/{n}.json")) for n in ("full", "incremental", "restore"))
print(f"full backup {full['backup_id']}: {full['repository']['stored_bytes']/2**20:.1f} MiB stored in {full['duration_seconds']:.2f} s")
print(f"incremental {incr['backup_id']}: {incr['repository']['stored_bytes']/2**20:.2f} MiB stored in {incr['duration_seconds']:.2f} s")
comps = ", ".join(f"{c} {r.get('duration_seconds', 0):.2f} s" for c, r in rest["components"].items())
print(f"restore of {rest['backup_id']}: {comps}; rto_seconds {rest['rto_seconds']:.2f}, overall_success {rest['overall_success']}")
PY
echo "demo finished: database, Redis and saves are back as they were (repository in $V/repository, logs in $V/log)" >&2
