#!/usr/bin/env bash
# Cloud locations end to end, against Ceph radosgw (S3), Azurite (Azure Blob) and the GCS emulator
# on loopback: init and a full backup (files and a PostgreSQL database) reach all three; with the
# local repository gone, each one alone restores identical trees and an identical database; S3
# stopped during a backup leaves the backup a success with S3 reported failed, and `replicate`
# repairs it; a wrong secret gives one line naming the variable and the secret appears nowhere.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
source "$HERE/../services/lib.sh"
trap 'service_stop_all; stop_pg; rm -rf "$W"' EXIT
start_pg
service_start s3 "$W/svc"
service_start azure "$W/svc"
service_start gcs "$W/svc"
export DB_NAME=game
psql_ postgres -c "CREATE DATABASE game"
psql_ game -c "CREATE TABLE scores (player int PRIMARY KEY, score bigint, note text);
  INSERT INTO scores SELECT i, i * 31, md5(i::text) FROM generate_series(1, 50000) i"
dump_hash() {
  PGPASSWORD=$PG_PW pg_dump -h 127.0.0.1 -p "$DB_PORT" -U postgres --data-only "$1" | grep -Ev '^\\(un)?restrict ' |
    sha256sum | cut -c1-64
}
make_data 100
unset APP_DIR
no_secret() {  # no output file or log holds a secret
  local f
  for f in "$W"/*.json "$W"/*.err "$W"/log/*; do
    [ -f "$f" ] || continue
    for secret in "$AWS_SECRET_ACCESS_KEY" "$PG_PW" "$AZ_KEY" "$@"; do
      grep -qF -- "$secret" "$f" && fail "a secret is in $f"
    done
  done
  return 0
}
AZ_KEY=$(sed -n 's/.*AccountKey=\([^;]*\);.*/\1/p' <<<"$AZURE_STORAGE_CONNECTION_STRING")
[ -n "$AZ_KEY" ] || fail "no AccountKey in the Azurite connection string"

# 1. init and a full backup reach every location.
"$BIN" init >"$W/init.json" 2>"$W/init.err" || fail "init: $(cat "$W/init.json" "$W/init.err")"
for l in s3_primary azure_secondary gcs_tertiary; do
  [ "$(json "$W/init.json" "r['locations']['$l']['status']")" = ok ] || fail "init $l: $(cat "$W/init.json")"
done
"$BIN" backup full --no-progress >"$W/b1.json" 2>"$W/b1.err" || fail "backup: $(cat "$W/b1.json" "$W/b1.err")"
for l in s3_primary azure_secondary gcs_tertiary; do
  [ "$(json "$W/b1.json" "r['locations']['$l']['status']")" = ok ] || fail "backup $l: $(cat "$W/b1.json")"
done
id=$(json "$W/b1.json" "r['backup_id']")
pass "init and full backup $id replicated to S3, Azure and GCS"

# 2. Each location alone: the local repository is gone.
src_hash=$(dump_hash game)
mv "$BACKUP_ROOT" "$W/repo.away"
for loc in s3 azure gcs; do
  "$BIN" snapshots "$loc" --json >"$W/snaps-$loc.json" || fail "snapshots $loc"
  [ "$(json "$W/snaps-$loc.json" "r[0]['backup_id']")" = "$id" ] || fail "snapshots $loc: $(cat "$W/snaps-$loc.json")"
  "$BIN" restore "$id" "$loc" --target "$W/r-$loc" --target-db "game_$loc" --no-progress >"$W/r-$loc.json" \
    2>"$W/r-$loc.err" || fail "restore from $loc: $(cat "$W/r-$loc.json" "$W/r-$loc.err")"
  same_tree "$W/src/saves" "$W/r-$loc/player_saves/saves" || fail "player saves from $loc differ"
  same_tree "$W/src/server" "$W/r-$loc/configuration/server" || fail "configuration from $loc differs"
  [ "$(dump_hash "game_$loc")" = "$src_hash" ] || fail "database restored from $loc differs"
  "$BIN" check "$loc" --read-data >"$W/c-$loc.json" 2>&1 || fail "check --read-data $loc: $(cat "$W/c-$loc.json")"
  pass "restore from $loc alone: identical trees and database, rto $(json "$W/r-$loc.json" "r.get('rto_seconds')") s"
done
mv "$W/repo.away" "$BACKUP_ROOT"

# 3. S3 stopped during a backup: the backup succeeds, S3 is reported failed, the others get it.
head -c $((120 << 20)) /dev/urandom >"$W/src/saves/world/big.bin"
"$BIN" backup full --no-progress >"$W/b2.json" 2>"$W/b2.err" &
bpid=$!
sleep 1
radosgw_stop_gateway "$W/svc/s3"
wait $bpid || fail "backup with S3 down failed: $(cat "$W/b2.json" "$W/b2.err")"
[ "$(json "$W/b2.json" "r['overall_success']")" = True ] || fail "overall_success with S3 down"
[ "$(json "$W/b2.json" "r['locations']['s3_primary']['status']")" = failed ] || fail "S3 not reported failed"
for l in azure_secondary gcs_tertiary; do
  [ "$(json "$W/b2.json" "r['locations']['$l']['status']")" = ok ] || fail "$l during the S3 outage"
done
grep -q "replication to s3_primary failed" "$BACKUP_LOG_DIR/backup.log" || fail "S3 failure not logged"
pass "S3 down during a backup: backup succeeded, s3_primary failed ($(json "$W/b2.json" "r['locations']['s3_primary']['error'][:80]")...)"
radosgw_start_gateway "$W/svc/s3"
"$BIN" replicate --to s3 >"$W/rep.json" 2>"$W/rep.err" || fail "replicate: $(cat "$W/rep.json" "$W/rep.err")"
[ "$(json "$W/rep.json" "r['locations']['s3_primary']['objects_copied'] > 0")" = True ] || fail "replicate copied nothing"
"$BIN" check s3 --read-data >"$W/c2.json" 2>&1 || fail "check --read-data s3 after repair: $(cat "$W/c2.json")"
"$BIN" snapshots s3 --json >"$W/snaps2.json"
[ "$(json "$W/snaps2.json" "len(r)")" = 2 ] || fail "S3 lacks the second backup after replicate"
pass "replicate filled S3 ($(json "$W/rep.json" "r['locations']['s3_primary']['bytes_copied']") bytes); check --read-data on S3 passes"

# 4. A wrong secret: one line naming the variable, the secret nowhere.
wrong=WrongSecret$RANDOM$RANDOM
if AWS_SECRET_ACCESS_KEY=$wrong "$BIN" snapshots s3 >"$W/w1.out" 2>"$W/w1.err"; then fail "wrong S3 secret accepted"; fi
[ "$(wc -l <"$W/w1.err")" = 1 ] || fail "not one line: $(cat "$W/w1.err")"
grep -q AWS_SECRET_ACCESS_KEY "$W/w1.err" || fail "S3 error does not name the variable: $(cat "$W/w1.err")"
bad_key=$(head -c 64 /dev/urandom | base64 -w0)
bad_cs=${AZURE_STORAGE_CONNECTION_STRING/$AZ_KEY/$bad_key}
if AZURE_STORAGE_CONNECTION_STRING=$bad_cs "$BIN" snapshots azure >"$W/w2.out" 2>"$W/w2.err"; then
  fail "wrong Azure key accepted"
fi
[ "$(wc -l <"$W/w2.err")" = 1 ] || fail "not one line: $(cat "$W/w2.err")"
grep -q AZURE_STORAGE_CONNECTION_STRING "$W/w2.err" || fail "Azure error does not name the variable: $(cat "$W/w2.err")"
AWS_SECRET_ACCESS_KEY=$wrong "$BIN" backup full --no-progress >"$W/b3.json" 2>"$W/b3.err" ||
  fail "a backup with one wrong secret must still succeed: $(cat "$W/b3.json")"
[ "$(json "$W/b3.json" "r['locations']['s3_primary']['status']")" = failed ] || fail "wrong secret: S3 not failed"
no_secret "$wrong" "$bad_key"
pass "wrong secrets: one line naming AWS_SECRET_ACCESS_KEY / AZURE_STORAGE_CONNECTION_STRING, no secret in any output or log"
