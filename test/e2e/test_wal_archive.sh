#!/usr/bin/env bash
# WAL archiving against a private PostgreSQL 15: archive_command = wal-push, then every archived
# segment fetched back byte-identical, check's continuity rule (a deleted segment is named), the
# exit codes of wal-fetch (0, 1 missing, 255 cannot tell) and wal-push (idempotent, conflict = 1),
# and the wal-push rate.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
trap 'stop_pg; rm -rf "$W"' EXIT

"$BIN" init >/dev/null
start_pg
export DB_NAME=postgres
# wal-push runs as the server's user: it needs the repository, key, state and log directories.
mkdir -p "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$BACKUP_ROOT" "$BACKUP_ENCRYPTION_KEY" "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
cat >"$W/wal-push.sh" <<EOF
#!/bin/sh
unset DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME
export BACKUP_ROOT=$BACKUP_ROOT BACKUP_ENCRYPTION_KEY=$BACKUP_ENCRYPTION_KEY BACKUP_STATE_DIR=$BACKUP_STATE_DIR
export BACKUP_LOG_DIR=$BACKUP_LOG_DIR
exec "$BIN" wal-push "\$@"
EOF
chmod 755 "$W/wal-push.sh"
psql_ postgres -c "ALTER SYSTEM SET archive_mode = on" -c "ALTER SYSTEM SET archive_command = '$W/wal-push.sh %p'" \
  -c "ALTER SYSTEM SET wal_keep_size = '1GB'"
pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -m fast restart >/dev/null

# A base backup makes PostgreSQL archive a backup history file (<segment>.<offset>.backup).
PGPASSWORD=$PG_PW "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$DB_PORT" -U postgres -D "$W/bb" -X none -c fast -w
# Load: random rows (so segments do not compress to nothing), one WAL switch after each batch.
psql_ postgres -c "CREATE TABLE t (id bigint, v text)"
for i in $(seq 1 6); do
  psql_ postgres -c "INSERT INTO t SELECT g, md5(random()::text) || md5(g::text) FROM generate_series(1, 40000) g" \
    -c "SELECT pg_switch_wal()" >/dev/null
done
wait_archived
n=$(ls "$PGD/data/pg_wal/archive_status/" | grep -c '\.done$')
[ "$n" -ge 6 ] || fail "only $n segments archived"
pass "PostgreSQL archived $n WAL files through wal-push"

# Every archived segment comes back byte-identical.
mkdir -p "$W/fetched"
for done in "$PGD"/data/pg_wal/archive_status/*.done; do
  f=$(basename "$done" .done)
  "$BIN" wal-fetch --pgdata "$PGD/data" "$f" "$W/fetched/$f" || fail "wal-fetch $f exited $?"
  cmp -s "$W/fetched/$f" "$PGD/data/pg_wal/$f" || fail "wal-fetch $f: not the bytes of pg_wal/$f"
done
bk=$(ls "$PGD/data/pg_wal/" | grep '\.backup$' | head -1)
[ -n "$bk" ] || fail "no backup history file in pg_wal"
"$BIN" wal-fetch --pgdata "$PGD/data" "$bk" "$W/fetched/$bk" && cmp -s "$W/fetched/$bk" "$PGD/data/pg_wal/$bk" ||
  fail "backup history file $bk did not come back"
pass "all $n archived WAL files fetched back byte-identical (backup history file $bk too)"

"$BIN" check >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check failed on complete WAL"; }
segs=$(json "$W/check.json" "r['wal']['segments']")
[ "$segs" -ge 6 ] || fail "check saw $segs WAL segments"
[ "$(json "$W/check.json" "r['wal']['gaps']")" = 0 ] || fail "check reported gaps"
pass "check: $segs segments, no gap"

# wal-fetch: 1 when the archive does not have it, 255 when it cannot tell.
rc=0; "$BIN" wal-fetch --pgdata "$PGD/data" 0000000100000001000000FF "$W/x" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "wal-fetch of a missing segment exited $rc, not 1"
rc=0; "$BIN" wal-fetch --pgdata "$PGD/data" 00000002.history "$W/x" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "wal-fetch of a missing history file exited $rc, not 1"
[ ! -e "$W/x" ] || fail "wal-fetch wrote a file for a missing segment"
rc=0; BACKUP_ROOT=$W/nowhere "$BIN" wal-fetch --pgdata "$PGD/data" "$f" "$W/x" 2>/dev/null || rc=$?
[ "$rc" = 255 ] || fail "wal-fetch with an unreadable BACKUP_ROOT exited $rc, not 255"
pass "wal-fetch exits 1 for missing files and 255 when it cannot tell"

# wal-push: the same file again is success; the same name with other bytes is refused (1).
seg=$(ls "$PGD/data/pg_wal/archive_status/" | grep -E '^[0-9A-F]{24}\.done$' | sort | sed -n 2p | sed 's/\.done$//')
(cd "$PGD/data" && "$BIN" wal-push "pg_wal/$seg") || fail "pushing an archived segment again failed"
mkdir -p "$W/fake/pg_wal" "$W/fake/global"
cp "$PGD/data/global/pg_control" "$W/fake/global/"
cp "$PGD/data/pg_wal/$seg" "$W/fake/pg_wal/"
printf 'X' | dd of="$W/fake/pg_wal/$seg" bs=1 seek=100000 conv=notrunc 2>/dev/null
rc=0; (cd "$W/fake" && "$BIN" wal-push "pg_wal/$seg") 2>"$W/push.err" || rc=$?
[ "$rc" = 1 ] || fail "pushing changed content exited $rc, not 1"
grep -q "different content" "$W/push.err" || fail "no 'different content' in: $(cat "$W/push.err")"
"$BIN" wal-fetch --pgdata "$PGD/data" "$seg" "$W/again" && cmp -s "$W/again" "$PGD/data/pg_wal/$seg" ||
  fail "the stored segment changed after a refused push"
# A file that is not a PG15 segment of this cluster is refused before anything is stored.
head -c 16777216 /dev/zero >"$W/fake/pg_wal/0000000100000000000000F0"
rc=0; (cd "$W/fake" && "$BIN" wal-push pg_wal/0000000100000000000000F0) 2>"$W/push.err" || rc=$?
[ "$rc" = 1 ] && grep -q "page magic" "$W/push.err" || fail "a zero segment was not refused ($rc): $(cat "$W/push.err")"
pass "wal-push is idempotent, refuses different content and invalid segments"

# A damaged stored segment: wal-fetch cannot tell (255), check --read-data names it.
cluster=$(ls "$BACKUP_ROOT/wal/")
obj=$(find "$BACKUP_ROOT/wal/$cluster" -name "$seg")
cp "$obj" "$W/saved"
chmod u+w "$obj"
printf 'X' | dd of="$obj" bs=1 seek=200 conv=notrunc 2>/dev/null
rc=0; "$BIN" wal-fetch --pgdata "$PGD/data" "$seg" "$W/y" 2>/dev/null || rc=$?
[ "$rc" = 255 ] || fail "wal-fetch of a damaged object exited $rc, not 255"
rc=0; "$BIN" check --read-data >/dev/null 2>"$W/check.err" || rc=$?
[ "$rc" = 1 ] && grep -q "$seg.*authentication" "$W/check.err" || fail "check --read-data missed the damage: $(cat "$W/check.err")"
cp "$W/saved" "$obj"
pass "a damaged WAL object: wal-fetch 255, check --read-data names it"

# A deleted segment between the oldest and newest: check fails naming it, its LSN and time range.
rm "$obj"
rc=0; "$BIN" check >/dev/null 2>"$W/check.err" || rc=$?
[ "$rc" = 1 ] || fail "check passed with a missing WAL segment"
grep -q "wal: $seg missing (cluster $cluster, timeline 1, [0-9A-F]*/[0-9A-F]*-[0-9A-F]*/[0-9A-F]*): WAL written between 20" \
  "$W/check.err" || fail "check's gap message: $(cat "$W/check.err")"
rc=0; "$BIN" wal-fetch --pgdata "$PGD/data" "$seg" "$W/z" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "wal-fetch of the deleted segment exited $rc, not 1"
grep "wal: $seg" "$W/check.err" | sed 's/^/  /'
pass "a deleted WAL segment is named by check"
# Pushing it again (as the archiver would after a repair) restores continuity.
(cd "$PGD/data" && "$BIN" wal-push "pg_wal/$seg") || fail "re-pushing the deleted segment failed"

# prune keeps all WAL while no physical backup exists, and says so.
"$BIN" prune >"$W/prune.json" 2>/dev/null || fail "prune failed"
[ "$(json "$W/prune.json" "r['wal_objects_deleted']")" = 0 ] || fail "prune deleted WAL with no physical backup"
json "$W/prune.json" "r['wal_warnings'][0]" | grep -q "WAL objects are kept" || fail "no prune warning"
pass "prune keeps every WAL object without a physical backup, with a warning"

# The wal-push rate, into a fresh repository (one process per segment, as archive_command runs).
mkdir -p "$W/rate/pg_wal" "$W/rate/global"
cp "$PGD/data/global/pg_control" "$W/rate/global/"
for done in "$PGD"/data/pg_wal/archive_status/????????????????????????.done; do
  cp "$PGD/data/pg_wal/$(basename "$done" .done)" "$W/rate/pg_wal/"
done
BACKUP_ROOT=$W/repo2 "$BIN" init >/dev/null
start=$(date +%s.%N)
count=0
for f in "$W"/rate/pg_wal/0*; do
  (cd "$W/rate" && BACKUP_ROOT=$W/repo2 "$BIN" wal-push "pg_wal/$(basename "$f")") || fail "wal-push (rate) failed"
  count=$((count + 1))
done
end=$(date +%s.%N)
python3 -c "import sys; n,a,b=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'  wal-push: {n} segments of 16 MiB in {b-a:.2f} s = {n/(b-a):.1f} segments/s')" "$count" "$start" "$end"

"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data failed"; }
[ "$(json "$W/check.json" "r['wal']['objects_read']")" -ge "$n" ] || fail "check --read-data did not read the WAL"
pass "check --read-data passes"
