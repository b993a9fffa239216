# Azurite (Microsoft's Azure Blob emulator, npm) for tests: azurite_start DIR runs it on 127.0.0.1
# and a free port, data in memory and its log under DIR; azurite_stop DIR. Sourced by lib.sh.
# Azurite checks Shared Key signatures for real and closes idle keep-alive connections after 5 s.

# The emulator's fixed development account and its published key (not a secret).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

azurite_start() {
  local dir=$1 port
  local bin="$SERVICES_DIR/node_modules/.bin/azurite-blob"
  if [[ ! -e "$bin" ]]; then
    echo "azurite is not installed: run npm ci in $SERVICES_DIR" >&2
    return 1
  fi
  port=$(free_port)
  mkdir -p "$dir/home"
  # HOME keeps anything it writes under DIR; --inMemoryPersistence keeps blobs in RAM.
  (cd "$dir" &&
    exec env HOME="$dir/home" node "$bin" --blobHost 127.0.0.1 --blobPort "$port" \
      --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent >"$dir/azurite.log" 2>&1) &
  echo $! >"$dir/azurite.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
    kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null || { cat "$dir/azurite.log" >&2; return 1; }
    sleep 0.1
  done
  wait_port "$port" 1 || { cat "$dir/azurite.log" >&2; return 1; }
  # The container exists before the tool runs, as in a real deployment (the tool never creates one).
  _azurite_create_container "$port" stb-test || { cat "$dir/azurite.log" >&2; return 1; }
  export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$port/$AZURITE_ACCOUNT;"
  export BACKUP_AZURE_CONTAINER=stb-test
  export BACKUP_AZURE_ACCOUNT=$AZURITE_ACCOUNT
}

# _azurite_create_container PORT NAME: PUT ?restype=container signed with Shared Key (python3's
# standard library only); 409 (it exists) is fine.
_azurite_create_container() {
  python3 - "$1" "$2" "$AZURITE_ACCOUNT" "$AZURITE_KEY" <<'PY'
import base64, email.utils, hashlib, hmac, http.client, sys
port, container, account, key = sys.argv[1:5]
date = email.utils.formatdate(usegmt=True)
path = "/%s/%s" % (account, container)
to_sign = "PUT" + "\n" * 12 + "x-ms-date:%s\nx-ms-version:2021-08-06\n/%s%s\nrestype:container" % (date, account, path)
sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
c.request("PUT", path + "?restype=container", headers={
    "x-ms-date": date, "x-ms-version": "2021-08-06", "Authorization": "SharedKey %s:%s" % (account, sig)})
status = c.getresponse().status
if status not in (201, 409):
    sys.exit("azurite.sh: create container %s: HTTP %d" % (container, status))
PY
}

azurite_stop() { stop_pidfile "$1/azurite.pid"; }
