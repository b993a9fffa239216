# The GCS JSON API emulator (firebase-tools' Cloud Storage emulator, see gcs_emulator.js) for
# tests: gcs_start DIR runs it on 127.0.0.1 and a free port with its data under DIR; gcs_stop DIR.
# Sourced by lib.sh (service_start gcs DIR). It checks no credentials and creates buckets on first use.

gcs_start() {
  local dir=$1 port
  port=$(free_port)
  if [[ ! -d "$SERVICES_DIR/node_modules/firebase-tools" ]]; then
    echo "firebase-tools is not installed: run npm ci in $SERVICES_DIR" >&2
    return 1
  fi
  mkdir -p "$dir/home" "$dir/tmp"
  # HOME/XDG_CONFIG_HOME/TMPDIR keep its config store and blob files under DIR; the other
  # variables turn off anything that could phone home (the script also refuses non-loopback sockets).
  (cd "$SERVICES_DIR" &&
    exec env HOME="$dir/home" XDG_CONFIG_HOME="$dir/home" TMPDIR="$dir/tmp" CI=true \
      FIREBASE_CLI_DISABLE_UPDATE_CHECK=true NO_UPDATE_NOTIFIER=1 FIREBASE_EMULATORS_PATH="$dir/home" \
      node gcs_emulator.js "$port" demo-stb >"$dir/gcs.log" 2>&1) &
  echo $! >"$dir/gcs.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q '^ready' "$dir/gcs.log" 2>/dev/null && break
    kill -0 "$(cat "$dir/gcs.pid")" 2>/dev/null || { cat "$dir/gcs.log" >&2; return 1; }
    sleep 0.1
  done
  wait_port "$port" 5 || { cat "$dir/gcs.log" >&2; return 1; }
  export STORAGE_EMULATOR_HOST="http://127.0.0.1:$port"
  export BACKUP_GCS_BUCKET=stb-test
  export BACKUP_GCS_PROJECT=demo-stb
}

gcs_stop() { stop_pidfile "$1/gcs.pid"; }
