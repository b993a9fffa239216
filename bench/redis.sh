#!/usr/bin/env bash
# Redis component benchmark: a private redis-server 7 on loopback filled with ~1 GiB
# (DEBUG POPULATE), then, each under /usr/bin/time: `redis-cli --rdb` (the baseline), our
# backup of the redis component, a second backup of the unchanged data, and a restore to file.
#   bench/redis.sh            KEYS=2000000 VALUE_BYTES=512
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" release >/dev/null
BIN=$ROOT/build/spacetime-backup
KEYS=${KEYS:-2000000} VALUE_BYTES=${VALUE_BYTES:-512}
W=$(mktemp -d /tmp/stb-redis-bench.XXXXXX)
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
PW=bench-not-secret
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$W" --save "" --requirepass "$PW" --daemonize yes \
  --pidfile "$W/redis.pid" --logfile "$W/redis.log" --repl-diskless-sync-delay 0 --enable-debug-command local
trap 'kill "$(cat "$W/redis.pid")" 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" -a "$PW" --no-auth-warning PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
redis-cli -p "$PORT" -a "$PW" --no-auth-warning DEBUG POPULATE "$KEYS" player: "$VALUE_BYTES" >/dev/null
echo "data set: $KEYS keys x $VALUE_BYTES bytes, used_memory $(redis-cli -p "$PORT" -a "$PW" --no-auth-warning INFO memory | sed -n 's/^used_memory_human:\(.*\)\r$/\1/p')"
export BACKUP_ROOT=$W/repo BACKUP_ENCRYPTION_KEY=$W/key BACKUP_LOG_DIR=$W/log REDIS_HOST=127.0.0.1 REDIS_PORT=$PORT REDIS_PASSWORD=$PW
export PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR=
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null
"$BIN" init >/dev/null
source "$ROOT/bench/lib.sh"
row "step" "wall s" "user s" "sys s" "RSS MiB"
row "---" "---:" "---:" "---:" "---:"
measure "redis-cli --rdb (baseline)" redis-cli -p "$PORT" -a "$PW" --no-auth-warning --rdb "$W/baseline.rdb"
echo "| RDB size: $(stat -c %s "$W/baseline.rdb") bytes"
measure "spacetime-backup backup (redis)" "$BIN" backup full --no-progress
echo "| stored: $(python3 -c "import json; r=json.load(open('$W/out')); print(r['repository']['stored_bytes'])") bytes"
measure "second backup, data unchanged" "$BIN" backup full --no-progress
echo "| stored: $(python3 -c "import json; r=json.load(open('$W/out')); print(r['repository']['stored_bytes'])") bytes"
measure "restore to dump.rdb (verified)" "$BIN" restore latest --components redis --target "$W/restored" --no-progress
redis-check-rdb "$W/restored/redis/dump.rdb" 2>&1 | grep -q "RDB looks OK" \
  && echo "| redis-check-rdb: the restored dump.rdb is valid" || { echo "restored dump.rdb is not valid" >&2; exit 1; }
