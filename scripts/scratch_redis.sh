# shellcheck shell=bash
# A scratch Redis on 127.0.0.1 that a restore can restart: sourced by scripts/demo.sh and the
# scenario tests. scratch_redis DIR PORT PASSWORD writes DIR/start.sh and DIR/restart.sh (stop
# without saving, so the restored dump.rdb is what loads, then start with the same settings; the
# REDIS_RESTART_COMMAND for the restore), starts the server and waits until it answers.
scratch_redis() {
  local dir=$1 port=$2 pw=$3
  mkdir -p "$dir"
  cat >"$dir/start.sh" <<START
#!/bin/sh
exec redis-server --port $port --bind 127.0.0.1 --dir "$dir" --requirepass "$pw" \\
  --save "" --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
START
  cat >"$dir/restart.sh" <<RESTART
#!/bin/sh
redis-cli -p $port -a "$pw" --no-auth-warning SHUTDOWN NOSAVE >/dev/null 2>&1
while [ -e "$dir/redis.pid" ] && kill -0 "\$(cat "$dir/redis.pid")" 2>/dev/null; do sleep 0.05; done
exec "$dir/start.sh"
RESTART
  chmod 700 "$dir/start.sh" "$dir/restart.sh"
  "$dir/start.sh"
  for _ in $(seq 1 100); do
    redis-cli -p "$port" -a "$pw" --no-auth-warning PING 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "scratch Redis on 127.0.0.1:$port did not start: $(tail -3 "$dir/redis.log" 2>/dev/null)" >&2
  return 1
}
