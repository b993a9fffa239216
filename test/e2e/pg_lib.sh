# A private PostgreSQL 15 for the database scenarios: temporary data directory, loopback only,
# a free port, password authentication (scram) for the user "postgres". Usage (after lib.sh):
#   source pg_lib.sh; start_pg  -> exports DB_HOST DB_PORT DB_USER DB_PASSWORD; psql_ DB SQL...
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || fail "PostgreSQL 15 is not installed (scripts/install-deps.sh)"
PG_PW=test-pg-secret-$$
PGD=$W/pg
pg_as() {  # initdb and pg_ctl refuse to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
stop_pg() { [ -f "$PGD/data/postmaster.pid" ] && pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate stop >/dev/null 2>&1 || true; }
start_pg() {
  mkdir -p "$PGD"
  [ "$(id -u)" -eq 0 ] && { chmod 755 "$W"; chown postgres "$PGD"; }
  echo "$PG_PW" >"$PGD/pw"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGD/pw"
  pg_as "$PGBIN/initdb" -D "$PGD/data" -U postgres --auth=scram-sha-256 --pwfile="$PGD/pw" >/dev/null
  DB_PORT=$(pg_free_port)
  pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -o "-p $DB_PORT -k $PGD -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  export DB_HOST=127.0.0.1 DB_PORT DB_USER=postgres DB_PASSWORD=$PG_PW
}
# psql_ DBNAME ARGS...: psql against the private server, quiet, failing on errors.
psql_() { local db=$1; shift; PGPASSWORD=$PG_PW psql -h 127.0.0.1 -p "$DB_PORT" -U postgres -d "$db" -X -q -v ON_ERROR_STOP=1 "$@"; }
