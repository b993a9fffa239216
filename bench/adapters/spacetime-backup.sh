# Adapter for ../shared/bench/run_anchors.sh (contract: its adapters/TEMPLATE.sh). The whole
# data set is backed up as one file component (player_saves); the key lives in $STATE.
spacetime_backup__version() { "$STB_BIN" --version; }
spacetime_backup__env() {
  export BACKUP_ROOT=$REPO BACKUP_ENCRYPTION_KEY=$STATE/backup.key BACKUP_LOG_DIR=$STATE/log BACKUP_STATE_DIR=$STATE
  export PLAYER_SAVES_DIR=$WORK CONFIG_DIRS= APP_DIR=
}
spacetime_backup__init() { "$STB_BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null && "$STB_BIN" init; }
spacetime_backup__backup() {  # $1: full | nochange | incr
  if [ "$1" = full ]; then "$STB_BIN" backup full --no-progress; else "$STB_BIN" backup incremental --no-progress; fi
}
spacetime_backup__restore() { "$STB_BIN" restore latest --target "$2" --no-progress; }
spacetime_backup__restored_root() { echo "$1/player_saves/$(basename "$WORK")"; }
spacetime_backup__check() { "$STB_BIN" check --read-data; }
