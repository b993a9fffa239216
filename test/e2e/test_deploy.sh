#!/usr/bin/env bash
# The deployment files: scheduled_backup.sh (arguments, env file, binary lookup, lock, exit
# statuses; a fake spacetime-backup records how it is called, so the real binary's `schedule`
# command is not needed), the logrotate file (parsed by logrotate, and a real rotation), the
# systemd units (systemd-analyze verify when it works here, and a parser for what they must say)
# and the cron file (fields, user, commands that run).
source "$(dirname "$0")/lib.sh" "$1"
ROOT=$(cd "$HERE/../.." && pwd)
SB=$ROOT/scripts/operations/backup/scheduled_backup.sh
DEPLOY=$ROOT/deploy
unset SPACETIME_BACKUP_BIN SPACETIME_BACKUP_ENV SPACETIME_BACKUP_LOCK SPACETIME_BACKUP_LOCK_WAIT SPACETIME_BACKUP_LOG
holder=
trap 'if [ -n "$holder" ]; then kill "$holder" 2>/dev/null || true; fi; rm -rf "$W"' EXIT

# --- scheduled_backup.sh: static checks ---
[ -x "$SB" ] || fail "$SB is not executable (cron and the units run it directly)"
bash -n "$SB" || fail "bash -n $SB"
head -40 "$SB" | grep -q "usage\|Exit status" || fail "no header comment in $SB"
grep -q '^set -euo pipefail' "$SB" || fail "$SB lacks set -euo pipefail"
if command -v shellcheck >/dev/null; then
  shellcheck "$SB" || fail "shellcheck $SB"
  pass "shellcheck"
else
  echo "note: shellcheck not installed, skipped"
fi

# The fake binary: its argv, pid, whether the script's lock is still held, and its environment.
cat >"$W/fake" <<'EOF'
#!/usr/bin/env bash
lock=0
flock -n -E 99 "$SPACETIME_BACKUP_LOCK" true || lock=$?
{ printf 'argv:'; printf ' %s' "$@"; echo; echo "pid:$$"; echo "lock:$lock"; env | sort; } >"$FAKE_OUT"
echo "fake report $*"
exit "${FAKE_RC:-0}"
EOF
chmod +x "$W/fake"
: >"$W/empty.env"
# sb [VAR=VALUE...] ARGS...: runs the script with the fake; prints its exit status.
sb() {
  local rc=0
  rm -f "$W/fake.out"
  env SPACETIME_BACKUP_BIN="$W/fake" SPACETIME_BACKUP_LOCK="$W/lock" SPACETIME_BACKUP_ENV="$W/empty.env" \
    FAKE_OUT="$W/fake.out" "$@" >"$W/out" 2>"$W/err" </dev/null || rc=$?
  echo "$rc"
}
not_run() { [ ! -e "$W/fake.out" ] || fail "$1: the binary was started: $(head -1 "$W/fake.out")"; }
line() { grep "^$1" "$W/fake.out" || true; }

# --- arguments ---
for args in "" "weekly" "full incremental" "FULL" "--full"; do
  # shellcheck disable=SC2086
  rc=$(sb "$SB" $args)
  [ "$rc" = 2 ] || fail "scheduled_backup.sh '$args' exited $rc, want 2"
  grep -q "usage: .*full|incremental" "$W/err" || fail "no usage message for '$args': $(cat "$W/err")"
  not_run "'$args'"
done
rc=$(sb "$SB" --help)
[ "$rc" = 0 ] && grep -q usage "$W/out" || fail "--help: rc $rc"
pass "bad arguments: usage, exit 2, nothing started"

# --- the run: env file, exec, lock held by the tool ---
cat >"$W/backup.env" <<EOF
# a comment
DB_HOST=db.example
BACKUP_ROOT=$W/repo-from-env
PLAYER_SAVES_DIR="/srv/saves with space"

FROM_ENV_FILE=yes
EOF
rc=$(sb SPACETIME_BACKUP_ENV="$W/backup.env" "$SB" full)
[ "$rc" = 0 ] || fail "full run exited $rc: $(cat "$W/err")"
[ "$(line argv:)" = "argv: schedule run full" ] || fail "argv: $(line argv:)"
[ "$(line DB_HOST=)" = "DB_HOST=db.example" ] || fail "DB_HOST from the env file: '$(line DB_HOST=)'"
[ "$(line BACKUP_ROOT=)" = "BACKUP_ROOT=$W/repo-from-env" ] || fail "the env file should override BACKUP_ROOT: '$(line BACKUP_ROOT=)'"
[ "$(line PLAYER_SAVES_DIR=)" = "PLAYER_SAVES_DIR=/srv/saves with space" ] || fail "quoted value: '$(line PLAYER_SAVES_DIR=)'"
[ "$(line FROM_ENV_FILE=)" = "FROM_ENV_FILE=yes" ] || fail "FROM_ENV_FILE not exported"
[ "$(line lock:)" = "lock:99" ] || fail "the lock is not held while the tool runs ($(line lock:))"
pid=$(sed -n 's/.*scheduled_backup.sh\[\([0-9]*\)\]: starting.*/\1/p' "$W/err")
[ -n "$pid" ] && [ "$(line pid:)" = "pid:$pid" ] || fail "the tool should replace the script (exec): script pid '$pid', tool $(line pid:)"
grep -q "fake report schedule run full" "$W/out" || fail "the tool's stdout is lost"
pass "full: exec 'schedule run full' with the env file's variables, under the lock"

rc=$(sb FAKE_RC=1 "$SB" incremental)
[ "$rc" = 1 ] || fail "a failed backup should exit 1, got $rc"
[ "$(line argv:)" = "argv: schedule run incremental" ] || fail "argv: $(line argv:)"
rc=$(sb FAKE_RC=2 "$SB" incremental)
[ "$rc" = 2 ] || fail "the tool's status 2 should pass through, got $rc"
pass "incremental; the tool's exit status is the script's"

rc=$(sb SPACETIME_BACKUP_ENV="$W/no-such.env" "$SB" full)
[ "$rc" = 78 ] && grep -q "no-such.env" "$W/err" || fail "missing named env file: rc $rc, $(cat "$W/err")"
not_run "missing env file"
rc=$(sb SPACETIME_BACKUP_BIN="$W/no-such-bin" "$SB" full)
[ "$rc" = 127 ] && grep -q "no-such-bin" "$W/err" || fail "missing binary: rc $rc, $(cat "$W/err")"
rc=$(sb SPACETIME_BACKUP_LOCK_WAIT=soon "$SB" full)
[ "$rc" = 78 ] || fail "bad SPACETIME_BACKUP_LOCK_WAIT: rc $rc"
not_run "bad SPACETIME_BACKUP_LOCK_WAIT"
if [ "$(id -u)" = 0 ]; then
  : >"$W/foreign.lock"
  chown nobody "$W/foreign.lock"
  rc=$(sb SPACETIME_BACKUP_LOCK="$W/foreign.lock" "$SB" incremental)
  [ "$rc" = 78 ] && grep -q "another user" "$W/err" || fail "lock file of another user: rc $rc, $(cat "$W/err")"
  not_run "foreign lock file"
fi
pass "configuration errors: 78 (env file, lock wait, foreign lock file), 127 (binary)"

# --- the default lock: in BACKUP_STATE_DIR, a directory only the service user can write ---
rc=$(sb SPACETIME_BACKUP_LOCK= BACKUP_STATE_DIR="$W/state" "$SB" full)
[ "$rc" = 0 ] || fail "default lock: rc $rc, $(cat "$W/err")"
[ "$(stat -c %a "$W/state")" = 700 ] && [ "$(stat -c %a "$W/state/scheduled_backup.lock")" = 600 ] ||
  fail "state dir / lock modes: $(stat -c '%a %n' "$W/state" "$W/state/scheduled_backup.lock")"
grep -q "lock $W/state/scheduled_backup.lock" "$W/err" || fail "default lock not in BACKUP_STATE_DIR: $(cat "$W/err")"
mkdir -m 0777 "$W/open-state"
rc=$(sb SPACETIME_BACKUP_LOCK= BACKUP_STATE_DIR="$W/open-state" "$SB" full)
[ "$rc" = 78 ] && grep -q "writable by group or others" "$W/err" || fail "world-writable state dir: rc $rc, $(cat "$W/err")"
not_run "world-writable state dir"
mkdir -m 0700 "$W/state2"
ln -s /etc/passwd "$W/state2/scheduled_backup.lock"
rc=$(sb SPACETIME_BACKUP_LOCK= BACKUP_STATE_DIR="$W/state2" "$SB" full)
[ "$rc" = 78 ] && grep -q "symlink" "$W/err" || fail "symlinked lock: rc $rc, $(cat "$W/err")"
not_run "symlinked lock file"
pass "default lock in BACKUP_STATE_DIR (0700, lock 0600); a group/other-writable dir or a symlinked lock refused (78)"

# --- binary lookup: PATH, then the repository's build/ ---
mkdir -p "$W/pathbin"
cp "$W/fake" "$W/pathbin/spacetime-backup"
rc=$(sb SPACETIME_BACKUP_BIN= PATH="$W/pathbin:$PATH" "$SB" incremental)
[ "$rc" = 0 ] && [ "$(line argv:)" = "argv: schedule run incremental" ] || fail "spacetime-backup on PATH: rc $rc $(cat "$W/err")"
mkdir -p "$W/repo-copy/scripts/operations/backup" "$W/repo-copy/build" "$W/nobin"
cp "$SB" "$W/repo-copy/scripts/operations/backup/"
cp "$W/fake" "$W/repo-copy/build/spacetime-backup"
for t in bash env flock date sort dirname mkdir cat grep; do ln -s "$(command -v $t)" "$W/nobin/$t"; done
rc=$(sb SPACETIME_BACKUP_BIN= PATH="$W/nobin" "$W/repo-copy/scripts/operations/backup/scheduled_backup.sh" full)
[ "$rc" = 0 ] && grep -q "repo-copy/build/spacetime-backup schedule run full" "$W/err" || fail "repository build/ fallback: rc $rc $(cat "$W/err")"
pass "binary lookup: SPACETIME_BACKUP_BIN, PATH, build/"

# --- SPACETIME_BACKUP_LOG: all output appended to one file ---
rc=$(sb SPACETIME_BACKUP_LOG="$W/slog/sub/scheduled_backup.log" "$SB" incremental)
rc2=$(sb SPACETIME_BACKUP_LOG="$W/slog/sub/scheduled_backup.log" "$SB" full)
[ "$rc" = 0 ] && [ "$rc2" = 0 ] || fail "SPACETIME_BACKUP_LOG runs: $rc $rc2"
[ ! -s "$W/out" ] && [ ! -s "$W/err" ] || fail "output should go to SPACETIME_BACKUP_LOG only"
[ "$(grep -c "starting:" "$W/slog/sub/scheduled_backup.log")" = 2 ] &&
  grep -q "fake report schedule run incremental" "$W/slog/sub/scheduled_backup.log" &&
  grep -q "fake report schedule run full" "$W/slog/sub/scheduled_backup.log" || fail "log: $(cat "$W/slog/sub/scheduled_backup.log")"
pass "SPACETIME_BACKUP_LOG"

# --- the lock: a second run does not start the tool ---
# hold_lock SECONDS: another run holding the lock (one process, so killing it releases it).
hold_lock() {
  rm -f "$W/ready"
  bash -c 'exec 9>>"$1"; flock 9; : >"$2"; exec sleep "$3"' _ "$W/lock" "$W/ready" "$1" &
  holder=$!
  for _ in $(seq 100); do [ -e "$W/ready" ] && return; sleep 0.1; done
  fail "the lock holder did not start"
}
hold_lock 60
rc=$(sb "$SB" incremental)
[ "$rc" = 75 ] || fail "incremental while the lock is held exited $rc, want 75: $(cat "$W/err")"
grep -q "skipped: another run holds $W/lock" "$W/err" || fail "skip message: $(cat "$W/err")"
not_run "incremental with the lock held"
start=$(date +%s)
rc=$(sb SPACETIME_BACKUP_LOCK_WAIT=1 "$SB" full)
[ "$rc" = 75 ] || fail "full with a 1 s wait exited $rc, want 75"
[ $(($(date +%s) - start)) -ge 1 ] || fail "full gave up without waiting"
not_run "full with the lock held"
kill "$holder"
wait "$holder" 2>/dev/null || true
rc=$(sb "$SB" incremental)
[ "$rc" = 0 ] || fail "incremental after the lock was released exited $rc"
# full waits (by default up to 30 min) for a run that got there first.
hold_lock 2
start=$(date +%s)
rc=$(sb "$SB" full)
[ "$rc" = 0 ] && [ "$(line argv:)" = "argv: schedule run full" ] || fail "full should wait for the lock and run: rc $rc $(cat "$W/err")"
[ $(($(date +%s) - start)) -ge 1 ] || fail "full ran while the lock was held"
wait "$holder" 2>/dev/null || true
pass "lock: incremental skipped (75), full waits then runs"

# --- logrotate ---
LR=$(command -v logrotate || echo /usr/sbin/logrotate)
[ -x "$LR" ] || fail "logrotate is not installed: run scripts/install-deps.sh"
LRC=$DEPLOY/logrotate/spacetime-backup
"$LR" -d -s "$W/lr.state" "$LRC" >"$W/lr.out" 2>&1 || fail "logrotate -d $LRC: $(cat "$W/lr.out")"
! grep -qi "error" "$W/lr.out" || fail "logrotate -d: $(grep -i error "$W/lr.out")"
python3 - "$LRC" <<'PY' || fail "logrotate directives"
import re, sys
text = "\n".join(l.split("#")[0] for l in open(sys.argv[1]))
m = re.search(r"^([^{]*)\{([^}]*)\}", text, re.S)
assert m, "no { } block"
files = m.group(1).split()
body = [l.strip() for l in m.group(2).splitlines() if l.strip()]
for need in ["backup.log", "restore.log", "schedule.log", "prune.log", "scheduled_backup.log"]:
    assert f"/var/log/spacetime/{need}" in files or "/var/log/spacetime/*.log" in files, f"{need} not rotated"
for d in ["daily", "rotate 14", "compress", "delaycompress", "missingok", "notifempty", "copytruncate"]:
    assert d in body, f"missing '{d}'"
assert not any(l.startswith("create") for l in body), "create conflicts with copytruncate"
PY
# A real rotation of a log the tool holds open in append mode (as spdlog does).
mkdir -p "$W/lrlog"
sed "s#/var/log/spacetime/#$W/lrlog/#g" "$LRC" >"$W/lr.conf"
exec 8>>"$W/lrlog/schedule.log"
echo "line one" >&8
echo "backup" >"$W/lrlog/backup.log"
"$LR" -f -s "$W/lr.state" "$W/lr.conf" 2>"$W/lr.err" || fail "logrotate -f: $(cat "$W/lr.err")"
echo "line two" >&8
[ "$(cat "$W/lrlog/schedule.log.1")" = "line one" ] || fail "rotated copy: $(cat "$W/lrlog/schedule.log.1")"
[ "$(cat "$W/lrlog/schedule.log")" = "line two" ] || fail "after copytruncate the open log should restart empty: $(od -c "$W/lrlog/schedule.log" | head -3)"
[ -e "$W/lrlog/backup.log.1" ] && [ ! -s "$W/lrlog/backup.log" ] || fail "backup.log not rotated"
"$LR" -f -s "$W/lr.state" "$W/lr.conf" 2>"$W/lr.err" || fail "second logrotate -f: $(cat "$W/lr.err")"
exec 8>&-
[ -e "$W/lrlog/schedule.log.2.gz" ] && [ "$(zcat "$W/lrlog/schedule.log.2.gz")" = "line one" ] || fail "delaycompress: $(ls "$W/lrlog")"
pass "logrotate: parses; copytruncate keeps the open log usable; compress, delaycompress"

# --- systemd units ---
UNITS=$DEPLOY/systemd
python3 - "$UNITS" "$ROOT" >"$W/oneshots" <<'PY' || fail "systemd units"
import os, re, sys
units, root = sys.argv[1], sys.argv[2]
def parse(path):
    sections, cur, comments = {}, None, []
    for n, raw in enumerate(open(path), 1):
        l = raw.strip()
        if not l or l[0] in "#;":
            if cur is None and l: comments.append(l)
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", l):
            cur = l[1:-1]
            assert cur not in sections, f"{path}:{n}: section [{cur}] twice"
            sections[cur] = {}
            continue
        assert cur is not None, f"{path}:{n}: key outside a section"
        k, sep, v = l.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", k.strip()), f"{path}:{n}: not KEY=VALUE: {l}"
        sections[cur].setdefault(k.strip(), []).append(v.strip())
    return sections, " ".join(comments)
def one(s, sec, key):
    v = s.get(sec, {}).get(key)
    assert v and len(v) == 1, f"{sec}.{key}: {v}"
    return v[0]
def exec_ok(cmd, name):
    prog = cmd.split()[0].lstrip("-@:+!")
    assert prog.startswith("/"), f"{name}: ExecStart not absolute: {prog}"
    if prog.startswith("/opt/spacetime-backup/"):
        local = os.path.join(root, prog[len("/opt/spacetime-backup/"):])
        assert os.access(local, os.X_OK), f"{name}: {prog} is not in the repository ({local})"
    return prog
names = sorted(os.listdir(units))
want = ["spacetime-backup-full.service", "spacetime-backup-full.timer", "spacetime-backup-incremental.service",
        "spacetime-backup-incremental.timer", "spacetime-backup.service", "spacetime-redis-stream.service",
        "spacetime-wal-receive.service"]
assert names == want, f"unit files: {names}"
for name in names:
    s, comments = parse(os.path.join(units, name))
    assert "Unit" in s and one(s, "Unit", "Description"), f"{name}: no [Unit] Description"
    if name not in ("spacetime-wal-receive.service", "spacetime-redis-stream.service"):  # beside either schedule
        assert re.search(r"EITHER", comments) and "daemon" in comments and "timers" in comments, f"{name}: top comment must say daemon OR timers"
    if name.endswith(".timer"):
        kind = name.split("-")[2].split(".")[0]
        cal = one(s, "Timer", "OnCalendar")
        assert cal == {"full": "*-*-* 02:00:00", "incremental": "hourly"}[kind], f"{name}: OnCalendar={cal}"
        assert one(s, "Timer", "Persistent") == "true", name
        assert one(s, "Timer", "RandomizedDelaySec") == "0", name
        unit = s["Timer"].get("Unit", [name.replace(".timer", ".service")])[0]
        assert unit in names, f"{name}: triggers {unit}, which is not here"
        assert "timers.target" in one(s, "Install", "WantedBy"), name
        continue
    svc = s.get("Service")
    assert svc, f"{name}: no [Service]"
    cmd = one(s, "Service", "ExecStart")
    prog = exec_ok(cmd, name)
    assert one(s, "Service", "EnvironmentFile") == "-/etc/spacetime/backup.env", name
    assert one(s, "Service", "KillSignal") == "SIGTERM", name
    assert one(s, "Service", "TimeoutStopSec") == "120", name
    assert one(s, "Service", "ProtectSystem") == "strict", name
    assert one(s, "Service", "PrivateTmp") == "true" and one(s, "Service", "NoNewPrivileges") == "true", name
    rw = {p.lstrip("-") for v in svc.get("ReadWritePaths", []) for p in v.split()}
    for p in ["/var/backups/spacetime", "/var/lib/spacetime-backup", "/var/log/spacetime"]:
        assert p in rw, f"{name}: {p} not in ReadWritePaths"
    if name in ("spacetime-wal-receive.service", "spacetime-redis-stream.service"):
        assert one(s, "Service", "Type") == "simple", name
        sub = name[len("spacetime-"):-len(".service")]
        assert cmd == f"/usr/local/bin/spacetime-backup {sub}", f"{name}: ExecStart={cmd}"
        assert one(s, "Service", "Restart") == "always", name
        assert one(s, "Install", "WantedBy") == "multi-user.target", name
    elif name == "spacetime-backup.service":
        assert one(s, "Service", "Type") == "simple", name
        assert cmd == "/usr/local/bin/spacetime-backup schedule", f"{name}: ExecStart={cmd}"
        assert one(s, "Service", "Restart") == "on-failure", name
        assert one(s, "Install", "WantedBy") == "multi-user.target", name
    else:
        kind = name.split("-")[2].split(".")[0]
        assert one(s, "Service", "Type") == "oneshot", name
        args = cmd.split()[1:]
        assert args in (["schedule", "run", kind], [kind]), f"{name}: ExecStart={cmd}"
        if prog.endswith("scheduled_backup.sh"):
            assert one(s, "Service", "StateDirectory") == "spacetime-backup", f"{name}: the run lock's directory"
            assert one(s, "Service", "StateDirectoryMode") == "0700", f"{name}: the run lock's directory is private"
            if kind == "incremental":
                assert "75" in " ".join(svc.get("SuccessExitStatus", [])).split(), f"{name}: a skipped run (75) is not a failure"
        print(f"{name}\t{kind}\t{cmd}")
PY
# The timer services' commands, run as systemd would (with the fake binary).
while IFS=$'\t' read -r name kind cmd; do
  # shellcheck disable=SC2086
  rc=$(sb ${cmd//\/opt\/spacetime-backup/$ROOT})
  [ "$rc" = 0 ] && [ "$(line argv:)" = "argv: schedule run $kind" ] || fail "$name: ExecStart ran with status $rc, $(line argv:)"
done <"$W/oneshots"
[ "$(wc -l <"$W/oneshots")" = 2 ] || fail "expected two oneshot services"
pass "systemd units: sections, keys, absolute ExecStart, OnCalendar, hardening (parser)"

# systemd-analyze verify, when it works in this container (probed with a known-good unit).
mkdir -p "$W/probe" "$W/units"
printf '[Unit]\nDescription=probe\n[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$W/probe/probe.service"
if command -v systemd-analyze >/dev/null && out=$(systemd-analyze verify --man=no "$W/probe/probe.service" 2>&1) && [ -z "$out" ]; then
  # The installed paths do not exist here: point them at the fake binary and this repository.
  for f in "$UNITS"/*; do
    sed -e "s#/usr/local/bin/spacetime-backup#$W/fake#g" -e "s#/opt/spacetime-backup/#$ROOT/#g" "$f" >"$W/units/$(basename "$f")"
  done
  out=$(cd "$W/units" && systemd-analyze verify --man=no ./* 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify warnings: $out"
  for f in "$UNITS"/*.timer; do
    cal=$(sed -n 's/^OnCalendar=//p' "$f")
    systemd-analyze calendar "$cal" >/dev/null || fail "$f: OnCalendar=$cal"
  done
  pass "systemd-analyze verify: no errors or warnings"
else
  echo "note: systemd-analyze verify does not work here (${out:-not installed}); the parser checks above stand"
fi

# --- cron ---
CRON=$DEPLOY/cron/spacetime-backup
case "$(basename "$CRON")" in *.*) fail "cron ignores /etc/cron.d files with a dot in the name" ;; esac
[ -z "$(tail -c1 "$CRON")" ] || fail "$CRON must end with a newline (cron drops an unterminated last line)"
python3 - "$CRON" "$ROOT" >"$W/cronjobs" <<'PY' || fail "cron file"
import os, re, shlex, sys
path, root = sys.argv[1], sys.argv[2]
bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
def field_ok(f, lo, hi):
    for part in f.split(","):
        m = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
        if not m: return False
        if m.group(2):
            a, b = int(m.group(2)), int(m.group(3) or m.group(2))
            if not (lo <= a <= b <= hi): return False
        if m.group(4) and int(m.group(4)) == 0: return False
    return True
env, jobs = {}, []
for n, raw in enumerate(open(path), 1):
    l = raw.strip()
    if not l or l.startswith("#"): continue
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", l)
    if m:
        env[m.group(1)] = m.group(2); continue
    f = l.split(None, 6)
    assert len(f) == 7, f"{path}:{n}: want 5 time fields, a user and a command: {l}"
    for i in range(5):
        assert field_ok(f[i], *bounds[i]), f"{path}:{n}: bad time field {f[i]!r}"
    assert re.fullmatch(r"[a-z_][a-z0-9_-]*", f[5]), f"{path}:{n}: bad user {f[5]!r}"
    cmd = shlex.split(f[6])
    assert cmd[0].startswith("/"), f"{path}:{n}: command not absolute: {cmd[0]}"
    assert cmd[0].startswith("/opt/spacetime-backup/"), f"{path}:{n}: {cmd[0]}"
    assert os.access(os.path.join(root, cmd[0][len("/opt/spacetime-backup/"):]), os.X_OK), f"{path}:{n}: {cmd[0]} not in the repository"
    jobs.append((" ".join(f[:5]), f[5], cmd))
assert "MAILTO" in env, "no MAILTO line"
assert "/usr/local/bin" in env.get("PATH", "").split(":"), "PATH must include /usr/local/bin (the installed binary)"
sched = {c[-1]: t for t, u, c in jobs}
assert sched == {"full": "0 2 * * *", "incremental": "0 * * * *"}, f"schedule: {sched}"
assert all(u == "root" for _, u, _ in jobs)
for t, u, c in jobs: print(c[-1] + "\t" + " ".join(c))
PY
# Each cron command, run as cron would (sh -c, the file's PATH), with the fake binary.
cron_path=$(sed -n 's/^PATH=//p' "$CRON")
while IFS=$'\t' read -r kind cmd; do
  rc=$(sb PATH="$cron_path" SPACETIME_BACKUP_LOG="$W/cronlog/scheduled_backup.log" sh -c "${cmd//\/opt\/spacetime-backup/$ROOT}")
  [ "$rc" = 0 ] && [ "$(line argv:)" = "argv: schedule run $kind" ] || fail "cron $kind: status $rc, $(line argv:)"
done <"$W/cronjobs"
grep -q "^SPACETIME_BACKUP_LOG=/var/log/spacetime/" "$CRON" || fail "the cron file should log to /var/log/spacetime"
pass "cron: 5 fields + user + absolute command; both commands run"

# --- README ---
for f in spacetime-backup.service spacetime-backup-full.timer spacetime-backup-incremental.timer cron/spacetime-backup logrotate/spacetime-backup scheduled_backup.sh; do
  grep -q "$f" "$DEPLOY/README.md" || fail "deploy/README.md does not mention $f"
done
pass "deploy/README.md"
