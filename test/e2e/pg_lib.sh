# A private PostgreSQL 15 for the database scenarios: temporary data directory, loopback only,
# a free port, password authentication (scram) for the user "postgres". Usage (after lib.sh):
#   source pg_lib.sh; start_pg  -> exports DB_HOST DB_PORT DB_USER DB_PASSWORD; psql_ DB SQL...
# PG_OPTS: extra server options for start_pg ("-c wal_level=replica -c archive_mode=on ...").
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || fail "PostgreSQL 15 is not installed (scripts/install-deps.sh)"
PG_PW=test-pg-secret-$$
PGD=$W/pg
pg_as() {  # initdb and pg_ctl refuse to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# Stops (immediate) the servers of the data directories given that are running.
pg_stop_dirs() {
  local d
  for d in "$@"; do [ -f "$d/postmaster.pid" ] && pg_as "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1; done
  return 0
}
stop_pg() { [ -f "$PGD/data/postmaster.pid" ] && pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate stop >/dev/null 2>&1 || true; }
start_pg() {
  mkdir -p "$PGD"
  [ "$(id -u)" -eq 0 ] && { chmod 755 "$W"; chown postgres "$PGD"; }
  echo "$PG_PW" >"$PGD/pw"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGD/pw"
  pg_as "$PGBIN/initdb" -D "$PGD/data" -U postgres --auth=scram-sha-256 --pwfile="$PGD/pw" >/dev/null
  DB_PORT=$(pg_free_port)
  pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -o "-p $DB_PORT -k $PGD -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${PG_OPTS:-}" start >/dev/null
  export DB_HOST=127.0.0.1 DB_PORT DB_USER=postgres DB_PASSWORD=$PG_PW
}
# psql_ DBNAME ARGS...: psql against the private server, quiet, failing on errors.
psql_() { local db=$1; shift; PGPASSWORD=$PG_PW psql -h 127.0.0.1 -p "$DB_PORT" -U postgres -d "$db" -X -q -v ON_ERROR_STOP=1 "$@"; }

# The repository, key, state and log directories readable by the server's account, which runs
# wal-push/wal-fetch (archive_command, restore_command); then commands run through pg_as.
repo_for_pg() {
  mkdir -p "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$BACKUP_ROOT" "$BACKUP_ENCRYPTION_KEY" "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
  return 0
}
# A script PostgreSQL can run as archive_command ("$W/wal-push.sh %p"): the repository settings
# only, none of the DB_* variables of the test.
write_wal_push_script() {
  {
    echo '#!/bin/sh'
    echo 'unset DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME'
    echo "export BACKUP_ROOT=$BACKUP_ROOT BACKUP_ENCRYPTION_KEY=$BACKUP_ENCRYPTION_KEY BACKUP_STATE_DIR=$BACKUP_STATE_DIR"
    echo "export BACKUP_LOG_DIR=$BACKUP_LOG_DIR"
    echo "exec $BIN wal-push \"\$@\""
  } >"$W/wal-push.sh"
  chmod 755 "$W/wal-push.sh"
}
# Heartbeats: one committed row every 100 ms into DB.heartbeat; each line "id|epoch" of
# $W/hb.log is a commit the server acknowledged.
heartbeat_start() {
  psql_ "$1" -c "CREATE TABLE IF NOT EXISTS heartbeat (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
  ( while :; do psql_ "$1" -At -c "INSERT INTO heartbeat DEFAULT VALUES RETURNING id, extract(epoch FROM at)" >>"$W/hb.log" 2>/dev/null || true; sleep 0.1; done ) &
  HB_PID=$!
}
heartbeat_stop() {  # the loop may have ended already (its server killed)
  if [ -n "${HB_PID:-}" ]; then kill "$HB_PID" 2>/dev/null || true; wait "$HB_PID" 2>/dev/null || true; fi
  HB_PID=
}
# The server lost: SIGKILL the postmaster of data directory DIR and delete DIR.
pg_kill9() {
  local pid; pid=$(head -1 "$1/postmaster.pid")
  kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -rf "$1"
}
# Seconds between the last acknowledged heartbeat and the newest one in the restored server
# (psql arguments for it: -h HOST -p PORT); fails when an acknowledged id at or below the
# restored maximum is missing.
lost_interval() {
  local db=$1; shift
  local got; got=$(PGPASSWORD=$PG_PW psql -X -At -U postgres -d "$db" "$@" -c "SELECT max(id), extract(epoch FROM max(at)), count(*) FROM heartbeat")
  local max_id=${got%%|*} rest=${got#*|}; local max_at=${rest%%|*} count=${rest#*|}
  [ "$count" = "$max_id" ] || fail "heartbeat: $count rows but max id $max_id (an acknowledged commit is missing)"
  local last; last=$(grep -E '^[0-9]+\|[0-9.]+$' "$W/hb.log" | tail -1 | cut -d'|' -f2)
  python3 -c "print(round(max(0.0, $last - $max_at), 3))"
}
# Waits (60 s at most) until the archiver has archived the WAL file in use now, then fails if
# archive_command ever failed.
wait_archived() {
  local last archived failed
  last=$(psql_ postgres -At -c "SELECT pg_walfile_name(pg_current_wal_lsn() - 1)")
  for _ in $(seq 1 300); do
    archived=$(psql_ postgres -At -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
    { [ "$archived" \> "$last" ] || [ "$archived" = "$last" ]; } && break
    sleep 0.2
  done
  failed=$(psql_ postgres -At -c "SELECT failed_count FROM pg_stat_archiver")
  [ "$failed" = 0 ] || { tail -20 "$PGD/log"; fail "archive_command failed $failed times"; }
}
