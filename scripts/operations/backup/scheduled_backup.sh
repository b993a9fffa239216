#!/usr/bin/env bash
# scheduled_backup.sh full|incremental
#
# One scheduled backup run, for cron or systemd timers (the operations guide's entry point):
#
#   0 2 * * *  /opt/spacetime-backup/scripts/operations/backup/scheduled_backup.sh full
#   0 * * * *  /opt/spacetime-backup/scripts/operations/backup/scheduled_backup.sh incremental
#
# It runs `spacetime-backup schedule run full|incremental` (one backup, then retention: forget +
# prune, then alerts to BACKUP_ALERT_WEBHOOK) under a lock, so two runs never overlap. It does
# not schedule anything itself; use it OR the `spacetime-backup schedule` daemon, not both.
#
# Steps:
#   1. The one argument must be `full` or `incremental` (else usage on stderr, exit 2).
#   2. Settings: SPACETIME_BACKUP_ENV (default /etc/spacetime/backup.env) is loaded with
#      `set -a; . FILE; set +a` if it exists; a file named explicitly must exist. KEY=VALUE
#      lines, the same file systemd's EnvironmentFile= reads (keep values unquoted or in double
#      quotes, no `export`). Its values override the caller's environment. The tool also reads
#      /etc/spacetime/backup.toml by itself.
#   3. SPACETIME_BACKUP_LOG, if set (the cron file sets /var/log/spacetime/scheduled_backup.log):
#      from here on, this script's and the tool's stdout and stderr are appended to that file.
#   4. The binary: SPACETIME_BACKUP_BIN, else `spacetime-backup` on PATH, else the repository's
#      build/spacetime-backup next to this script.
#   5. The lock: flock(1) on SPACETIME_BACKUP_LOCK, default
#      ${BACKUP_STATE_DIR:-/var/lib/spacetime-backup}/scheduled_backup.lock: a directory only the
#      service user can write (created 0700 if missing; refused if it belongs to another user or
#      is group/other-writable), so nobody else can plant, hold or replace the lock. (Not
#      /run/lock: anyone may create files there and hold a lock on them for ever.) The lock file
#      itself must belong to the user running the script and is created mode 0600.
#      How long to wait for it: SPACETIME_BACKUP_LOCK_WAIT seconds; default 0 (give up at once)
#      for `incremental` and 1800 for `full`. So at 02:00, when both cron lines fire, either the
#      full run holds the lock and the incremental one is skipped, or the incremental one got
#      there first and the full run waits for it to finish and then runs.
#   6. `exec spacetime-backup schedule run full|incremental`: the tool replaces this shell and
#      keeps the lock (inherited descriptor 9) until it exits; signals (SIGTERM from systemd)
#      reach the tool directly.
#
# Exit status:
#   0    the backup succeeded (the tool's status; a retention failure is alerted, not returned)
#   1    the backup failed (the tool's status; details in $BACKUP_LOG_DIR/backup.log)
#   2    usage error: no argument, more than one, or not full|incremental (or the tool's usage error)
#   75   skipped: another run held the lock (EX_TEMPFAIL); nothing was started. The incremental
#        systemd unit counts 75 as success (SuccessExitStatus=75).
#   78   configuration error (EX_CONFIG): the named env file is missing, the log or lock file
#        cannot be opened, the lock file belongs to another user, SPACETIME_BACKUP_LOCK_WAIT is
#        not a number
#   127  spacetime-backup was not found or is not executable
set -euo pipefail

prog=scheduled_backup.sh
usage() {
  echo "usage: $prog full|incremental" >&2
  echo "  one scheduled backup run (spacetime-backup schedule run TYPE) under a lock; see the header of $0" >&2
}
msg() { printf '%s %s[%d]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$prog" "$$" "$*" >&2; }
die() {
  local rc=$1
  shift
  msg "error: $*"
  exit "$rc"
}

case "$#:${1:-}" in
  1:full | 1:incremental) mode=$1 ;;
  1:-h | 1:--help)
    usage 2>&1
    exit 0
    ;;
  *)
    usage
    exit 2
    ;;
esac

# 2. Settings.
env_file=${SPACETIME_BACKUP_ENV:-/etc/spacetime/backup.env}
if [ -e "$env_file" ]; then
  [ -r "$env_file" ] || die 78 "cannot read $env_file"
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
elif [ -n "${SPACETIME_BACKUP_ENV:-}" ]; then
  die 78 "SPACETIME_BACKUP_ENV=$env_file does not exist"
fi

# 3. Output.
if [ -n "${SPACETIME_BACKUP_LOG:-}" ]; then
  mkdir -p "$(dirname "$SPACETIME_BACKUP_LOG")" 2>/dev/null || true
  { exec >>"$SPACETIME_BACKUP_LOG"; } 2>/dev/null || die 78 "cannot append to SPACETIME_BACKUP_LOG=$SPACETIME_BACKUP_LOG"
  exec 2>&1
fi

# 4. The binary.
if [ -n "${SPACETIME_BACKUP_BIN:-}" ]; then
  bin=$SPACETIME_BACKUP_BIN
elif bin=$(command -v spacetime-backup); then
  :
else
  bin=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/spacetime-backup
fi
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
  die 127 "spacetime-backup not found or not executable: $bin (set SPACETIME_BACKUP_BIN or install it as /usr/local/bin/spacetime-backup)"
fi

# 5. The lock.
if [ -n "${SPACETIME_BACKUP_LOCK:-}" ]; then
  lock=$SPACETIME_BACKUP_LOCK
else
  state_dir=${BACKUP_STATE_DIR:-/var/lib/spacetime-backup}
  [ -d "$state_dir" ] || (umask 077 && mkdir -p "$state_dir") 2>/dev/null ||
    die 78 "cannot create BACKUP_STATE_DIR=$state_dir for the run lock"
  if [ -L "$state_dir" ] || [ ! -O "$state_dir" ]; then
    die 78 "BACKUP_STATE_DIR=$state_dir belongs to another user (or is a symlink); the run lock must live where only the service user can write"
  fi
  case "$(stat -c %A "$state_dir")" in
    ?????w???? | ????????w?) die 78 "BACKUP_STATE_DIR=$state_dir is writable by group or others; chmod go-w it (the run lock lives there)" ;;
  esac
  lock=$state_dir/scheduled_backup.lock
fi
if [ "$mode" = full ]; then wait_s=${SPACETIME_BACKUP_LOCK_WAIT:-1800}; else wait_s=${SPACETIME_BACKUP_LOCK_WAIT:-0}; fi
case "$wait_s" in
  '' | *[!0-9]*) die 78 "SPACETIME_BACKUP_LOCK_WAIT must be a number of seconds, not '$wait_s'" ;;
esac
[ ! -L "$lock" ] || die 78 "the lock file $lock is a symlink; remove it"
umask 077
{ exec 9>>"$lock"; } 2>/dev/null || die 78 "cannot open the lock file $lock (set SPACETIME_BACKUP_LOCK)"
# A lock file planted by another user could otherwise hold every run off for ever.
[ -O "$lock" ] || die 78 "the lock file $lock belongs to another user; remove it"
if [ "$wait_s" -eq 0 ]; then
  flock_args=(-n)
else
  flock_args=(-w "$wait_s")
fi
rc=0
flock "${flock_args[@]}" -E 75 9 || rc=$?
if [ "$rc" -eq 75 ]; then
  msg "skipped: another run holds $lock ($mode backup not started; waited ${wait_s}s)"
  exit 75
elif [ "$rc" -ne 0 ]; then
  die 78 "flock $lock failed (status $rc)"
fi

# 6. The run.
msg "starting: $bin schedule run $mode (lock $lock)"
exec "$bin" schedule run "$mode"
