# Shared by the end-to-end scenarios: a private temporary workspace, the environment the binary
# reads, sample data, and assertions. Usage: source lib.sh "$BINARY"
set -euo pipefail
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=$(mktemp -d /tmp/stb-e2e.XXXXXX)
trap 'rm -rf "$W"' EXIT
export TZ=UTC BACKUP_ROOT=$W/repo BACKUP_LOG_DIR=$W/log BACKUP_STATE_DIR=$W/state
export BACKUP_ENCRYPTION_KEY=$W/key PLAYER_SAVES_DIR=$W/src/saves CONFIG_DIRS=$W/src/server:$W/src/k8s APP_DIR=$W/src/app
unset BACKUP_PASSPHRASE BACKUP_CONFIG DB_HOST REDIS_HOST
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
# json FILE EXPR: evaluates a Python expression over the parsed JSON in FILE (as r).
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
# A TCP port on 127.0.0.1 that is free now.
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

# Sample data: player saves (many small JSON files, a few large ones), two configuration roots,
# an application tree with excluded files; odd names, modes, symlinks and empty directories.
make_data() {
  local n=${1:-200}
  python3 - "$W/src" "$n" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
def write(p, data, mode=0o644):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f: f.write(data)
    os.chmod(p, mode)
for i in range(n):
    body = ('{"player": %d, "inventory": [%s]}' % (i, ",".join(str(rng.randrange(10**6)) for _ in range(rng.randrange(200, 2000))))).encode()
    write(f"{root}/saves/{i % 16:02x}/player_{i}.json", body)
write(f"{root}/saves/world/map.bin", rng.randbytes(3 << 20))
write(f"{root}/saves/world/empty.dat", b"")
write(f"{root}/saves/odd name ünïcödé.json", b"{}", 0o600)
write(os.fsencode(f"{root}/saves/latin1-") + b"\xe9t\xe9.bin", b"bytes-not-utf8")
write(os.fsencode(f"{root}/saves/overlong-") + b"\xc0\xaf-\xed\xa0\x80.bin", b"invalid UTF-8 forms")
os.makedirs(f"{root}/saves/empty-dir/nested", exist_ok=True)
os.symlink("world/map.bin", f"{root}/saves/map-link")
os.symlink("/nonexistent/target", f"{root}/saves/dangling")
write(f"{root}/server/game.yaml", b"tick_rate: 60\n" * 50)
write(f"{root}/server/secrets/db.env", b"DB_USER=game\n", 0o600)
os.chmod(f"{root}/server/secrets", 0o750)
write(f"{root}/k8s/deploy.yaml", b"kind: Deployment\n" * 20)
write(f"{root}/app/bin/server", rng.randbytes(500_000), 0o755)
write(f"{root}/app/scripts/run.py", b"print('hi')\n", 0o755)
write(f"{root}/app/scripts/run.pyc", b"compiled")
write(f"{root}/app/scripts/__pycache__/run.cpython-311.pyc", b"compiled")
write(f"{root}/app/.git/HEAD", b"ref: main\n")
PY
  # Fixed old mtimes, as real data has (and so a restore that forgot them would show).
  find "$W/src" -exec touch -h -d '2024-01-03 14:25:30' {} +
}

# Compares two trees: type, mode, size, mtime (ns), symlink target and content of every entry.
same_tree() { python3 "$HERE/treecmp.py" "$@"; }
