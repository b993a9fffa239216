#!/usr/bin/env bash
# The catalog, the exporter and drills with real processes: backups (one failing), a restore and
# drills move each metric of /metrics as they should; promtool checks a real scrape and the alert
# rules; an exporter restart shows the same figures; bad --listen values, a port in use and a
# damaged catalog are clear errors; a real Prometheus scraping the exporter answers a PromQL query
# with the component and the timestamp the catalog holds.
source "$(dirname "$0")/lib.sh" "$1"
DEPLOY=$(cd "$HERE/../../deploy/prometheus" && pwd)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap "for p in \"\${pids[@]}\"; do kill \$p; done" EXIT
SECRET=aws-secret-$$-do-not-print
# A cloud location on a closed port: its probe must give 0 (and never print the secret).
closed=$(free_port)
# Only the exporter sees it (backups would replicate to it and wait out its retries).
s3_env=(BACKUP_S3_BUCKET=stb-test "BACKUP_S3_ENDPOINT=http://127.0.0.1:$closed" AWS_ACCESS_KEY_ID=AKIATEST
  "AWS_SECRET_ACCESS_KEY=$SECRET")
PORT=$(free_port)
start_monitor() {
  env "${s3_env[@]}" "$BIN" monitor --listen "127.0.0.1:$PORT" --probe-interval 1 2>>"$W/monitor.err" &
  MON=$!
  pids+=($MON)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return; sleep 0.05; done
  fail "monitor did not start: $(cat "$W/monitor.err")"
}
stop_monitor() { kill "$MON"; wait "$MON" || fail "monitor exit status $? after SIGTERM"; }
scrape() { curl -sf "http://127.0.0.1:$PORT/metrics" >"$1" || fail "scrape failed"; }
# metric FILE 'name{labels}' -> its value, or "absent"
metric() {
  python3 - "$1" "$2" <<'PY'
import sys
want = sys.argv[2]
for line in open(sys.argv[1]):
    if line.startswith("#"): continue
    name, _, value = line.rstrip("\n").rpartition(" ")
    if name == want: print(value); break
else: print("absent")
PY
}
catalog() { sqlite3 "$BACKUP_STATE_DIR/catalog.db" "$1"; }
make_data 20
"$BIN" init >/dev/null

# 1. An empty catalog: only backup_system_info has a sample; HELP and TYPE for every family.
start_monitor
scrape "$W/m0"
[ "$(metric "$W/m0" 'backup_system_info{version="0.1.0",target_rto="900",target_rpo="300"}')" = 1 ] ||
  fail "backup_system_info: $(grep system_info "$W/m0")"
[ "$(metric "$W/m0" 'backup_storage_replication_status{location="s3_primary"}')" = 0 ] || fail "s3 not 0 at start"
for f in backup_last_success_timestamp_seconds backup_completed_total backup_duration_seconds backup_size_bytes \
  backup_storage_replication_status backup_restore_duration_seconds transaction_log_lag_seconds \
  dr_test_completed_total backup_system_info backup_recovery_point_seconds backup_target_rpo_seconds \
  dr_test_recovery_point_seconds; do
  grep -q "^# HELP $f " "$W/m0" && grep -q "^# TYPE $f " "$W/m0" || fail "no HELP/TYPE for $f"
done
[ "$(metric "$W/m0" 'backup_completed_total{component="player_saves",status="success",type="full"}')" = absent ] ||
  fail "a backup counted before any ran"
[ "$(metric "$W/m0" 'backup_target_rpo_seconds')" = 300 ] || fail "backup_target_rpo_seconds: $(grep target_rpo "$W/m0")"
pass "empty catalog: 12 families with HELP and TYPE, system info, target RPO 300, s3_primary 0"

# 2. A successful full backup, then one whose database is down (port closed), a restore, drills.
"$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
rc=0
DB_HOST=127.0.0.1 DB_PORT=$closed DB_NAME=game "$BIN" backup full --no-progress >"$W/b2.json" 2>/dev/null || rc=$?
[ $rc = 1 ] || fail "the backup with the database down exited $rc"
"$BIN" restore latest --target "$W/restored" --no-progress >"$W/r.json" || fail "restore: $(cat "$W/r.json")"
"$BIN" dr-test >"$W/d1.json" 2>"$W/d1.err" || fail "dr-test: $(cat "$W/d1.json" "$W/d1.err")"
[ "$(json "$W/d1.json" "r['status']")" = success ] || fail "drill status"
[ "$(json "$W/d1.json" "r['cleanup']['directory']")" = removed ] || fail "drill scratch dir not removed"
scratch=$(json "$W/d1.json" "r['scratch']['directory']")
[ ! -e "$scratch" ] || fail "scratch directory $scratch still exists"
BACKUP_ROOT=$W/no-repo "$BIN" dr-test --scenario failover >"$W/d2.json" 2>/dev/null && fail "drill without a repository succeeded"
[ "$(json "$W/d2.json" "r['status']")" = failed ] || fail "failed drill status"
pass "backups (one failed: database down), a restore, a drill (scratch removed) and a failed drill ran"

scrape "$W/m1"
ts=$(metric "$W/m1" 'backup_last_success_timestamp_seconds{component="player_saves",type="full"}')
cat_ts=$(catalog "SELECT printf('%.6f', MAX(end_time)) FROM backups WHERE component='player_saves' AND status='success'")
python3 -c "import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<1e-5 else 1)" "$ts" "$cat_ts" ||
  fail "timestamp $ts, catalog $cat_ts"
python3 -c "import sys,time; t=float(sys.argv[1]); sys.exit(0 if time.time()-120 < t <= time.time() else 1)" "$ts" ||
  fail "timestamp $ts is not recent"
check() {  # check 'metric{labels}' expected
  local got
  got=$(metric "$W/m1" "$1")
  [ "$got" = "$2" ] || fail "$1 = $got, expected $2"
}
check 'backup_completed_total{component="player_saves",status="success",type="full"}' 2
check 'backup_completed_total{component="player_saves",status="failed",type="full"}' 0
check 'backup_completed_total{component="database",status="failed",type="full"}' 1
check 'backup_completed_total{component="database",status="success",type="full"}' 0
check 'backup_completed_total{component="redis",status="skipped",type="full"}' 2
check 'dr_test_completed_total{scenario="restore_verify",status="success"}' 1
check 'dr_test_completed_total{scenario="failover",status="failed"}' 1
check 'backup_storage_replication_status{location="s3_primary"}' 0
check 'transaction_log_lag_seconds' absent  # no database backup ever succeeded
size=$(metric "$W/m1" 'backup_size_bytes{component="player_saves"}')
[ "$size" = "$(json "$W/b2.json" "r['components']['player_saves']['size_bytes']")" ] || fail "size $size"
dur=$(metric "$W/m1" 'backup_duration_seconds{component="player_saves",type="full"}')
python3 -c "import sys; sys.exit(0 if 0 < float(sys.argv[1]) < 60 else 1)" "$dur" || fail "duration $dur"
rto=$(metric "$W/m1" 'backup_restore_duration_seconds')
# The newest successful restore is the drill's own (the restore command it ran).
python3 -c "import sys; sys.exit(0 if abs(float(sys.argv[1])-float(sys.argv[2]))<1e-6 else 1)" "$rto" \
  "$(json "$W/d1.json" "r['rto_seconds']")" || fail "restore duration $rto is not the drill's"
# The closed port is retried by the location's retry wrapper (about 15 s) before the probe records 0.
for _ in $(seq 1 400); do
  [ "$(catalog "SELECT COUNT(*) FROM replication WHERE location='s3_primary' AND source='probe' AND ok=0")" = 1 ] &&
    break
  sleep 0.1
done
[ "$(catalog "SELECT COUNT(*) FROM replication WHERE location='s3_primary' AND source='probe' AND ok=0")" = 1 ] ||
  fail "the probe of s3_primary was not recorded: $(tail -2 "$W/log/monitor.log")"
! grep -rq "$SECRET" "$W/m1" "$W/monitor.err" "$W/log" "$BACKUP_STATE_DIR" || fail "a secret was exposed"
pass "metrics moved: timestamp $ts = catalog, completed success 2 / failed database 1, size $size, restore $rto s, drills 1+1"

# 2b. Recovery points: player_saves in local is as old as the newest backup's start (b2 stored it
# although its database failed); s3_primary never received a backup and the database never
# succeeded, so neither has a point; the drill's recovery point is the one it reported.
t_scrape=$(stat -c %Y "$W/m1")
rp=$(metric "$W/m1" 'backup_recovery_point_seconds{component="player_saves",location="local"}')
python3 - "$rp" "$t_scrape" "$(json "$W/b2.json" "r['start_time']")" <<'PY' || fail "recovery point $rp"
import sys, datetime
rp, scraped = float(sys.argv[1]), float(sys.argv[2])
start = datetime.datetime.fromisoformat(sys.argv[3]).timestamp()  # local time, as the report writes it
sys.exit(0 if abs(rp - (scraped - start)) < 2 and 0 < rp < 300 else 1)
PY
check 'backup_recovery_point_seconds{component="player_saves",location="s3_primary"}' absent
check 'backup_recovery_point_seconds{component="database",location="local"}' absent
check 'backup_target_rpo_seconds' 300
drp=$(json "$W/d1.json" "r['recovery_points']['player_saves']['recovery_point_seconds']")
python3 -c "import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<1e-6 and 0 <= a < 300 else 1)" \
  "$(metric "$W/m1" 'dr_test_recovery_point_seconds{component="player_saves"}')" "$drp" ||
  fail "dr_test_recovery_point_seconds is not the drill's $drp"
[ "$(json "$W/d1.json" "r['recovery_points']['player_saves']['recovered_to']")" = "$(json "$W/b2.json" "r['start_time']")" ] ||
  fail "the drill did not recover player_saves to the latest backup's time: $(cat "$W/d1.json")"
"$BIN" snapshots --recovery-points --json >"$W/rp.json" || fail "snapshots --recovery-points"
json "$W/rp.json" "[p for p in r['recovery_points'] if p['component']=='player_saves' and p['location']=='local'][0]['age_seconds'] < 300" |
  grep -qx True || fail "snapshots --recovery-points: $(cat "$W/rp.json")"
pass "recovery points: player_saves local $rp s (= since the newest backup), none in s3_primary, drill $drp s"

# 3. promtool on a real scrape and on the shipped rules.
promtool check metrics <"$W/m1" || fail "promtool check metrics"
promtool check rules "$DEPLOY/alerts.yml" >/dev/null || fail "promtool check rules"
(cd "$DEPLOY" && promtool test rules alerts_test.yml >/dev/null) || fail "promtool test rules"
promtool check config "$DEPLOY/prometheus.yml" >/dev/null || fail "promtool check config"
pass "promtool: metrics, rules, rule unit tests and config pass"

# 4. Restart: the same figures (they come from the catalog).
stop_monitor
start_monitor
scrape "$W/m2"
# (Recovery point ages grow with the clock: the points behind them are compared instead.)
ages='^(#|backup_recovery_point_seconds)'
diff <(grep -Ev "$ages" "$W/m1" | sort) <(grep -Ev "$ages" "$W/m2" | sort) || fail "figures changed across a restart"
rp2=$(metric "$W/m2" 'backup_recovery_point_seconds{component="player_saves",location="local"}')
python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs((b-a)-t) < 2 else 1)" "$rp" "$rp2" \
  "$(($(stat -c %Y "$W/m2") - t_scrape))" || fail "recovery point $rp then $rp2 across a restart"
pass "after a restart the exporter shows the same $(grep -vc '^#' "$W/m2") samples"

# 5. Errors: one clear line, non-zero exit.
for bad in abc 127.0.0.1:99999 ":0" "127.0.0.1:" "[::1]9091"; do
  rc=0
  "$BIN" monitor --listen "$bad" >/dev/null 2>"$W/e" || rc=$?
  [ $rc = 2 ] && [ "$(wc -l <"$W/e")" = 1 ] && grep -q "^error: --listen" "$W/e" || fail "--listen $bad: rc $rc: $(cat "$W/e")"
done
rc=0
timeout 10 "$BIN" monitor --listen "127.0.0.1:$PORT" >/dev/null 2>"$W/e" || rc=$?
[ $rc = 1 ] && grep -q "already in use" "$W/e" || fail "port in use: rc $rc: $(cat "$W/e")"
mkdir -p "$W/bad-state"
head -c 8192 /dev/urandom >"$W/bad-state/catalog.db"
rc=0
BACKUP_STATE_DIR=$W/bad-state timeout 10 "$BIN" monitor --listen "127.0.0.1:$(free_port)" >/dev/null 2>"$W/e" || rc=$?
[ $rc = 1 ] && grep -q "BACKUP_STATE_DIR=$W/bad-state" "$W/e" || fail "damaged catalog: rc $rc: $(cat "$W/e")"
BACKUP_STATE_DIR=$W/bad-state "$BIN" backup incremental --no-progress >/dev/null 2>"$W/e" ||
  fail "a damaged catalog failed a backup: $(cat "$W/e")"
grep -q "warning: the catalog was not updated" "$W/e" || fail "no warning for the damaged catalog"
pass "errors: bad --listen (exit 2), port in use, damaged catalog (exit 1) are one line; a backup only warns"

# 6. A real Prometheus scraping the exporter every second; PromQL through its HTTP API.
PP=$(free_port)
cat >"$W/prom.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: spacetime-backup
    static_configs: [{targets: ['127.0.0.1:$PORT']}]
EOF
prometheus --config.file="$W/prom.yml" --storage.tsdb.path="$W/prom-data" --web.listen-address="127.0.0.1:$PP" \
  >"$W/prom.log" 2>&1 &
pids+=($!)
q='backup_last_success_timestamp_seconds{component="player_saves",type="full"}'
got=""
for _ in $(seq 1 150); do
  got=$(curl -sf "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$q" 2>/dev/null |
    python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; print(r[0]['metric']['component'], r[0]['value'][1]) if r else None" 2>/dev/null) || true
  [ -n "$got" ] && [ "$got" != None ] && break
  sleep 0.2
done
[ -n "$got" ] && [ "$got" != None ] || fail "Prometheus never returned $q: $(tail -3 "$W/prom.log")"
set -- $got
[ "$1" = player_saves ] || fail "component $1"
python3 -c "import sys; a,b=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<1e-3 else 1)" "$2" "$cat_ts" ||
  fail "Prometheus has $2, the catalog $cat_ts"
pass "Prometheus on 127.0.0.1:$PP scraped the exporter: $q = $2 (component $1), as in the catalog"
