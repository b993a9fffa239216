#!/usr/bin/env bash
# The scheduled run and the daemon with real processes: alerts reach a local webhook with the
# expected payload (failure, RPO, success); a webhook that answers 500 or hangs does not change
# the run's result; a run killed or hung past BACKUP_RUN_TIMEOUT still alerts; SIGTERM in the middle of a backup stops the daemon cleanly and leaves a valid
# repository. (Due times, DST and overlap are unit-tested with a fake clock: src/schedule.)
source "$(dirname "$0")/lib.sh" "$1"
servers=()
cleanup() { for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
start_webhook() {  # start_webhook MODE DIR -> sets HOOK_URL
  mkdir -p "$2"
  python3 "$HERE/webhook_server.py" "$1" "$2" >"$2.port" &
  servers+=($!)
  for _ in $(seq 1 100); do [ -s "$2.port" ] && break; sleep 0.05; done
  local port
  port=$(head -1 "$2.port")
  HOOK_URL="http://127.0.0.1:$port/services/T000/B000/secret-token-$$"
}
make_data 20
"$BIN" init >/dev/null
closed=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")

# 1. A failed run: the database is down. Alerts: backup_failed and rpo_exceeded.
start_webhook ok "$W/hook1"
rc=0
BACKUP_ALERT_WEBHOOK=$HOOK_URL DB_HOST=127.0.0.1 DB_PORT=$closed DB_NAME=game DB_PASSWORD=pw-$$ \
  "$BIN" schedule run full >"$W/run1.json" 2>"$W/run1.err" || rc=$?
[ $rc = 1 ] || fail "failed run exited $rc"
[ "$(json "$W/run1.json" "r['components']['player_saves']['status']")" = success ] || fail "saves not backed up"
[ -f "$W/hook1/1.json" ] || fail "no alert arrived"
[ "$(cat "$W/hook1/1.content-type")" = application/json ] || fail "content type $(cat "$W/hook1/1.content-type")"
[ "$(json "$W/hook1/1.json" "r['event']")" = backup_failed ] || fail "first alert: $(cat "$W/hook1/1.json")"
[ "$(json "$W/hook1/1.json" "r['backup_id']")" = "$(json "$W/run1.json" "r['backup_id']")" ] || fail "alert backup id"
[ "$(json "$W/hook1/1.json" "r['components']")" = "['database']" ] || fail "alert components"
json "$W/hook1/1.json" "r['error']" | grep -q "DB_HOST and DB_PORT" || fail "alert error: $(json "$W/hook1/1.json" "r['error']")"
json "$W/hook1/1.json" "r['text']" | grep -q "failed" || fail "alert text: $(json "$W/hook1/1.json" "r['text']")"
[ "$(json "$W/hook1/2.json" "r['event']")" = rpo_exceeded ] || fail "no RPO alert: $(ls "$W/hook1")"
! grep -rq "pw-$$\|secret-token-$$" "$W/run1.json" "$W/run1.err" "$W/log" || fail "a secret was printed or logged"
pass "failed run: alerts backup_failed ($(json "$W/hook1/1.json" "r['text']")) and rpo_exceeded"

# 1b. Alerts from every run, not only scheduled ones: a failing `backup full` run directly (the
# guide's Task Scheduler recipe), a failing restore, replicate and a failing drill.
hook1_url=$HOOK_URL
start_webhook ok "$W/hook-direct"
rc=0
BACKUP_ALERT_WEBHOOK=$HOOK_URL DB_HOST=127.0.0.1 DB_PORT=$closed DB_NAME=game \
  "$BIN" backup full --no-progress >"$W/direct.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "direct failed backup exited $rc"
[ "$(json "$W/hook-direct/1.json" "r['event']")" = backup_failed ] || fail "direct backup: no backup_failed alert"
[ "$(json "$W/hook-direct/1.json" "r['components']")" = "['database']" ] || fail "direct backup alert components"
BACKUP_ALERT_WEBHOOK=$HOOK_URL "$BIN" restore 19990101_000000 --target "$W/nowhere" >/dev/null 2>&1 &&
  fail "restore of a missing backup succeeded"
[ "$(json "$W/hook-direct/2.json" "r['event']")" = restore_failed ] || fail "no restore_failed alert"
json "$W/hook-direct/2.json" "r['error']" | grep -q 19990101_000000 || fail "restore alert: $(cat "$W/hook-direct/2.json")"
BACKUP_ALERT_WEBHOOK=$HOOK_URL "$BIN" replicate >/dev/null 2>&1 && fail "replicate with no location succeeded"
[ "$(json "$W/hook-direct/3.json" "r['event']")" = replicate_failed ] || fail "no replicate_failed alert"
BACKUP_ALERT_WEBHOOK=$HOOK_URL BACKUP_ROOT=$W/no-repo "$BIN" dr-test >/dev/null 2>&1 && fail "drill without a repository succeeded"
[ "$(json "$W/hook-direct/4.json" "r['event']")" = drill_failed ] || fail "no drill_failed alert: $(ls "$W/hook-direct")"
BACKUP_ALERT_WEBHOOK=$HOOK_URL BACKUP_ALERT_ON_SUCCESS=yes "$BIN" prune >/dev/null || fail "prune"
[ "$(json "$W/hook-direct/5.json" "r['event']")" = prune_succeeded ] || fail "no prune_succeeded alert"
! grep -rq "secret-token-$$" "$W/log" || fail "the webhook URL's token was logged"
pass "direct runs alert: backup_failed, restore_failed, replicate_failed, drill_failed, prune_succeeded"
HOOK_URL=$hook1_url

# 2. Success alert when asked for; retention ran after the run (prune.log).
BACKUP_ALERT_WEBHOOK=$HOOK_URL BACKUP_ALERT_ON_SUCCESS=yes "$BIN" schedule run incremental >"$W/run2.json" ||
  fail "incremental run failed"
[ "$(json "$W/hook1/3.json" "r['event']")" = backup_succeeded ] || fail "no success alert"
grep -q "retention: kept 3, removed 0 backups" "$W/log/prune.log" || fail "retention did not run: $(tail -3 "$W/log/prune.log")"
pass "successful run: backup_succeeded alert; retention ran (kept 3: two scheduled runs and the direct one)"

# 3. A webhook answering 500, and one that never answers: same result, the run completes.
for mode in 500 hang; do
  start_webhook "$mode" "$W/hook-$mode"
  start=$(date +%s)
  BACKUP_ALERT_WEBHOOK=$HOOK_URL BACKUP_ALERT_TIMEOUT=1 DB_HOST=127.0.0.1 DB_PORT=$closed DB_NAME=game \
    "$BIN" schedule run full >"$W/run-$mode.json" 2>/dev/null && fail "$mode: the failed run succeeded"
  took=$(($(date +%s) - start))
  [ "$(json "$W/run-$mode.json" "r['components']['player_saves']['status']")" = success ] || fail "$mode: saves"
  [ -f "$W/hook-$mode/1.json" ] || fail "$mode: webhook never called"
  grep -q "alert.*BACKUP_ALERT_WEBHOOK" "$W/log/schedule.log" "$W/log/backup.log" 2>/dev/null ||
    fail "$mode: undelivered alert not logged"
  pass "webhook $mode: run result unchanged, alert failure logged, done in ${took}s"
done

# 4. A run that never reports: killed (a crash, the OOM killer) or hung past BACKUP_RUN_TIMEOUT.
# Redis here is a server that accepts and never answers, so the run waits on it.
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c); open(sys.argv[1], "a").write("connected\n")
' "$W/silent.log" >"$W/silent.port" &
servers+=($!)
for _ in $(seq 1 100); do [ -s "$W/silent.port" ] && break; sleep 0.05; done
silent=$(head -1 "$W/silent.port")
start_webhook ok "$W/hook-died"
BACKUP_ALERT_WEBHOOK=$HOOK_URL REDIS_HOST=127.0.0.1 REDIS_PORT=$silent "$BIN" schedule run full >"$W/killed.json" 2>"$W/killed.err" &
spid=$!
for _ in $(seq 1 200); do [ -s "$W/silent.log" ] && break; sleep 0.05; done
[ -s "$W/silent.log" ] || fail "the run never reached the silent Redis"
worker=$(pgrep -P "$spid" | head -1)
[ -n "$worker" ] || fail "no worker process under schedule run"
kill -KILL "$worker"
rc=0
wait "$spid" || rc=$?
[ "$rc" = 137 ] || fail "a killed run should exit 137, got $rc: $(cat "$W/killed.err")"
[ "$(json "$W/hook-died/1.json" "r['event']")" = backup_failed ] || fail "no backup_failed for a killed run: $(ls "$W/hook-died")"
json "$W/hook-died/1.json" "r['error']" | grep -q "signal 9 (SIGKILL)" || fail "killed-run alert: $(cat "$W/hook-died/1.json")"
pass "a run killed with SIGKILL still alerts: $(json "$W/hook-died/1.json" "r['error']")"
start=$(date +%s)
rc=0
BACKUP_ALERT_WEBHOOK=$HOOK_URL BACKUP_RUN_TIMEOUT=2 REDIS_HOST=127.0.0.1 REDIS_PORT=$silent \
  "$BIN" schedule run full >"$W/hung.json" 2>"$W/hung.err" || rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 1 ] || fail "a run over BACKUP_RUN_TIMEOUT should exit 1, got $rc"
[ "$took" -lt 20 ] || fail "the hung run took ${took}s despite BACKUP_RUN_TIMEOUT=2"
json "$W/hook-died/2.json" "r['error']" | grep -q "BACKUP_RUN_TIMEOUT=2" || fail "timeout alert: $(cat "$W/hook-died/2.json")"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check after the killed and timed-out runs: $(cat "$W/c.err")"
pass "a run over BACKUP_RUN_TIMEOUT is stopped after ${took}s and alerted: $(json "$W/hook-died/2.json" "r['error']")"

# 5. The daemon: --now starts a full backup; SIGTERM in the middle stops everything cleanly.
head -c 209715200 /dev/urandom >"$PLAYER_SAVES_DIR/big.bin"
BACKUP_SCHEDULE_FULL="0 2 * * *" "$BIN" schedule --now >"$W/daemon.out" 2>"$W/daemon.err" &
dpid=$!
packs() { find "$BACKUP_ROOT/data" -type f | wc -l; }
n0=$(packs)
for _ in $(seq 1 500); do [ "$(packs)" -gt "$n0" ] && break; sleep 0.02; done
[ "$(packs)" -gt "$n0" ] || fail "the daemon's backup did not start"
kill -TERM $dpid
for _ in $(seq 1 100); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
kill -0 $dpid 2>/dev/null && fail "the daemon did not stop within 10 s of SIGTERM"
wait $dpid || fail "daemon exit status $?: $(cat "$W/daemon.err")"
pgrep -f "spacetime-backup schedule run" >/dev/null && fail "a scheduled run outlived the daemon"
grep -q "schedule stopped" "$W/log/schedule.log" || fail "no stop in the log"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check after SIGTERM: $(cat "$W/c.err")"
"$BIN" prune >/dev/null || fail "prune after SIGTERM"
"$BIN" backup full --no-progress >/dev/null || fail "backup after SIGTERM"
pass "SIGTERM during the daemon's backup: stopped, repository valid, next backup fine"
