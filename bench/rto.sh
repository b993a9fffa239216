#!/usr/bin/env bash
# Recovery time of the whole system at the guide's sizes times SCALE: database 5 GB (pgbench,
# PostgreSQL 15), Redis 2 GB (DEBUG POPULATE), player saves 1 GB in 15,000 files, configuration
# 100 MB, application 2.5 GB. One full backup into a local repository copied to Ceph radosgw (S3)
# on loopback; then everything restored and verified from local, and again from S3 alone (the local
# repository moved away, as after losing the site). Prints each component's duration_seconds and
# the report's rto_seconds beside the guide's example (815 s) and the target (900 s). Everything
# (servers included) lives in one temporary directory, stopped and removed at exit.
#   bench/rto.sh                SCALE=0.1 (1 is the guide's sizes: about 11 GB, three times that on disk)
#   DB_BACKUP_METHOD=physical   (default logical; physical archives WAL with wal-push first)
#   BIN=/path/to/spacetime-backup
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib.sh"
bench_binary
SCALE=${SCALE:-0.1} METHOD=${DB_BACKUP_METHOD:-logical}
export AWS_PARALLEL_JOBS=${AWS_PARALLEL_JOBS:-4}
# The emulator's OSD is in memory: room for the repository (about 2.5 GB at SCALE=1) and more.
export RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-$(python3 -c "print(int((2 + 4 * $SCALE) * 2**30))")}
W=$(mktemp -d /tmp/stb-rto-bench.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$ROOT/test/e2e/pg_lib.sh"
source "$ROOT/test/services/lib.sh"
RPORT=$(free_port) RPW=bench-not-secret
trap '[ -s "$W/redis.pid" ] && kill "$(cat "$W/redis.pid")" 2>/dev/null; pg_stop_dirs "$W"/r-*/pg; service_stop_all; stop_pg; rm -rf "$W"' EXIT
sized() { python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * $SCALE)))" "$1"; }

# ---- The data set ----
export BACKUP_ROOT=$W/repo BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log BACKUP_STATE_DIR=$W/state TMPDIR=$W/tmp
mkdir -p "$W/tmp"
write_wal_push_script
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c max_wal_size=4GB"
[ "$METHOD" = physical ] && PG_OPTS+=" -c archive_mode=on -c archive_command='$W/wal-push.sh %p'"
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
"$BIN" init >/dev/null
repo_for_pg
[ "$(id -u)" -eq 0 ] && chown postgres "$W/tmp"
start_pg
service_start s3 "$W/svc"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$W" --save "" --requirepass "$RPW" --daemonize yes \
  --pidfile "$W/redis.pid" --logfile "$W/redis.log" --enable-debug-command local
for _ in $(seq 1 100); do redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done

psql_ postgres -c "CREATE DATABASE game"
PGPASSWORD=$PG_PW $PGBIN/pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s "$(sized 340)" -q game >/dev/null 2>&1
# 2 GB of Redis memory: values of 512 bytes cost about 600 with their keys.
redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning DEBUG POPULATE "$(sized 3500000)" player: 512 >/dev/null
# Files: player saves are JSON-like and compress; the application is half binary (random).
python3 - "$W/data" "$SCALE" <<'PY'
import os, random, sys
root, scale = sys.argv[1], float(sys.argv[2])
rnd = random.Random(16)
def text(n):
    words = [b"player", b"level", b"inventory", b"gold", b"quest", b"x", b"y", b"hp"]
    out = bytearray()
    while len(out) < n:
        out += b'"%s": %d, ' % (rnd.choice(words), rnd.randrange(1 << 30))
    return bytes(out[:n])
def tree(name, total, count, random_share):
    each = max(1, int(total * scale) // max(1, int(count * scale)))
    for i in range(max(1, int(count * scale))):
        d = os.path.join(root, name, "%02x" % (i % 256))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%06d" % i), "wb") as f:
            r = int(each * random_share)
            f.write(os.urandom(r) + text(each - r))
tree("saves", 1 << 30, 15000, 0.3)
tree("config", 100 << 20, 500, 0.0)
tree("app", 5 << 29, 400, 0.5)
PY
export DB_NAME=game DB_BACKUP_METHOD=$METHOD REDIS_HOST=127.0.0.1 REDIS_PORT=$RPORT REDIS_PASSWORD=$RPW
export PLAYER_SAVES_DIR=$W/data/saves CONFIG_DIRS=$W/data/config APP_DIR=$W/data/app
echo "data set (SCALE=$SCALE): database $(psql_ game -At -c "SELECT pg_size_pretty(pg_database_size('game'))")," \
  "Redis $(redis-cli -p "$RPORT" -a "$RPW" --no-auth-warning INFO memory | grep -oP 'used_memory_human:\K\S+')," \
  "saves $(du -sh "$W/data/saves" | cut -f1), configuration $(du -sh "$W/data/config" | cut -f1)," \
  "application $(du -sh "$W/data/app" | cut -f1); database method $METHOD; AWS_PARALLEL_JOBS=$AWS_PARALLEL_JOBS"

# ---- Backup, then restores ----
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
as_pg=(); [ "$METHOD" = physical ] && [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
/usr/bin/time -f %e -o "$W/t" "${as_pg[@]}" "$BIN" backup full --no-progress >"$W/backup.json" ||
  fail "backup: $(cat "$W/backup.json")"
[ "$(field "$W/backup.json" "r['locations']['s3_primary']['status']")" = ok ] || fail "S3 copy: $(cat "$W/backup.json")"
id=$(field "$W/backup.json" "r['backup_id']")
echo "backup $id in $(cat "$W/t") s, $(field "$W/backup.json" "r['repository']['stored_bytes']") bytes stored"

restore() {  # LOCATION: every component, verified; the report in $W/r-LOCATION.json
  local loc=$1 args=(--target "$W/r-$1")
  if [ "$METHOD" = physical ]; then args+=(--target-dir "$W/r-$1/pg" --stop-after); else args+=(--target-db "r_$1"); fi
  mkdir -p "$W/r-$loc"
  "$BIN" restore "$id" "$loc" "${args[@]}" --no-progress >"$W/r-$loc.json" 2>"$W/r-$loc.err" ||
    fail "restore from $loc: $(cat "$W/r-$loc.json" "$W/r-$loc.err")"
  [ "$(field "$W/r-$loc.json" "r['overall_success']")" = True ] || fail "restore from $loc: $(cat "$W/r-$loc.json")"
}
# Each restore starts from the same state: the writes before it (pgbench -i, the other restore)
# checkpointed and on disk, so neither pays for the other's write-back; the first restore's
# database is dropped.
settle() { psql_ postgres -c CHECKPOINT >/dev/null; sync; }
settle
restore local
rm -rf "$W/r-local"
[ "$METHOD" = physical ] || psql_ postgres -c "DROP DATABASE r_local" >/dev/null
settle
mv "$BACKUP_ROOT" "$W/repo.away"
restore s3
mv "$W/repo.away" "$BACKUP_ROOT"

printf '| %-14s | %10s | %10s | %8s |\n' component "local s" "S3 s" "S3/local"
printf '| %-14s | %10s | %10s | %8s |\n' --- ---: ---: ---:
line() { printf '| %-14s | %10s | %10s | %8s |\n' "$1" "$2" "$3" "$(python3 -c "print(f'{$3 / max($2, 0.01):.2f}')")"; }
for c in configuration database redis player_saves application; do
  line "$c" "$(field "$W/r-local.json" "round(r['components']['$c']['duration_seconds'], 2)")" \
    "$(field "$W/r-s3.json" "round(r['components']['$c']['duration_seconds'], 2)")"
done
line "rto_seconds" "$(field "$W/r-local.json" "round(r['rto_seconds'], 1)")" "$(field "$W/r-s3.json" "round(r['rto_seconds'], 1)")"
echo "(the guide's example: rto_seconds 815.5 at full size; the target is 900)"
