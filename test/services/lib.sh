# Shared by the service scripts (radosgw.sh, azurite.sh, gcs.sh): each defines <name>_start DIR,
# which starts its server on 127.0.0.1 and a free port with its data under DIR and exports the
# settings that reach it (BACKUP_S3_*, AWS_*, ...), and <name>_stop DIR, which stops it by PID.
# Usage in a test: source test/services/lib.sh; service_start s3 "$tmp"; ...; service_stop_all
SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

# Waits up to $2 seconds (default 30) for a TCP listener on 127.0.0.1:$1.
wait_port() {
  local port=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stop_pidfile FILE [SECONDS]: SIGTERM to the process in FILE, then SIGKILL if it is still there
# after SECONDS (default 5); waits until it is gone and removes FILE.
stop_pidfile() {
  local file=$1 limit=${2:-5} pid i
  [[ -s $file ]] || return 0
  pid=$(cat "$file")
  rm -f "$file"
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

_started_services=()
# service_start NAME DIR: NAME is s3, azure or gcs.
service_start() {
  local name=$1 dir=$2
  local script
  case "$name" in
    s3) script=radosgw ;;
    azure) script=azurite ;;
    gcs) script=gcs ;;
    *) echo "unknown service $name" >&2; return 1 ;;
  esac
  # shellcheck source=/dev/null
  source "$SERVICES_DIR/$script.sh"
  mkdir -p "$dir/$name"
  "${script}_start" "$dir/$name" || { echo "could not start $name (see $dir/$name)" >&2; return 1; }
  _started_services+=("$script:$dir/$name")
}

service_stop_all() {
  local entry
  for entry in "${_started_services[@]}"; do
    "${entry%%:*}_stop" "${entry#*:}" || true
  done
  _started_services=()
}
