# Ceph radosgw (a real S3 server) on one node for the S3 tests: a monitor, one memstore OSD and
# the gateway, all on 127.0.0.1 with cephx off, every file under DIR (nothing touches /etc/ceph).
# Sourced by lib.sh. radosgw_start DIR exports BACKUP_S3_ENDPOINT, BACKUP_S3_BUCKET,
# BACKUP_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and S3_SERVICE_DIR;
# radosgw_stop_gateway / radosgw_start_gateway DIR stop and restart only the gateway (data kept),
# for outage tests; radosgw_stop DIR stops everything by PID file. The OSD keeps everything in
# memory: RGW_MEMSTORE_BYTES (default 2 GiB) is all the bucket can hold.

# Every ceph tool gets the private config: --conf here and CEPH_CONF for anything they spawn.
_rgw_ceph() { CEPH_CONF="$1/ceph.conf" ceph --conf "$1/ceph.conf" --connect-timeout 10 "${@:2}"; }

# _rgw_ceph_retry DIR SECONDS ARGS...: a command the monitor may refuse while it is still forming
# its first quorum (seen as "EPERM: problem getting command descriptions from mon" a second after
# start). Only idempotent commands go through here; the last attempt's stderr is shown.
_rgw_ceph_retry() {
  local dir=$1 secs=$2 i out
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    out=$(_rgw_ceph "$dir" "$@" 2>"$dir/log/ceph-cli.err") && { printf '%s' "$out"; return 0; }
    sleep 0.2
  done
  cat "$dir/log/ceph-cli.err" >&2
  return 1
}

# On failure: what the daemons said last.
_rgw_logs() {
  local f
  for f in "$1"/log/*.log; do
    [[ -s $f ]] || continue
    echo "--- tail of $f" >&2
    tail -n 25 "$f" >&2
  done
}

# _rgw_wait_pid_file FILE SECONDS: a daemon writes its PID file once it has started.
_rgw_wait_pid_file() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

radosgw_start() {
  # A half-started cluster is stopped here: the caller only stops services that started.
  _rgw_start_all "$1" || {
    radosgw_stop "$1"
    return 1
  }
}

_rgw_start_all() {
  local dir
  dir=$(cd "$1" && pwd)
  local conf=$dir/ceph.conf mon_port rgw_port fsid osd_uuid osd_id i
  mon_port=$(free_port)
  rgw_port=$(free_port)
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  mkdir -p "$dir"/{log,run,mon/ceph-a,osd/ceph-0,rgw}
  echo "$rgw_port" >"$dir/rgw_port"
  # Small PG counts and no autoscaler: radosgw creates half a dozen pools on one OSD.
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$mon_port
public_addr = 127.0.0.1
ms_bind_msgr2 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
auth_allow_insecure_global_id_reclaim = true
keyring = $dir/keyring
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
crash_dir = $dir/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 1
osd_pool_default_pgp_num = 1
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
# A map change is proposed after 1 s by default; radosgw's first start makes a dozen of them.
paxos_propose_interval = 0.05
[mon]
mon_data = $dir/mon/ceph-\$id
[osd]
osd_data = $dir/osd/ceph-\$id
osd_objectstore = memstore
# The OSD would set its own crush location and device class with mon commands sent before it
# has the monitor map: now and then they carry a zero fsid, are refused, and the OSD exits. The
# script adds the OSD to the crush map itself.
osd_crush_update_on_start = false
osd_class_update_on_start = false
memstore_device_bytes = ${RGW_MEMSTORE_BYTES:-2147483648}
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_dns_name = localhost
rgw_data = $dir/rgw
rgw_enable_usage_log = false
EOF
  {
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
      monmaptool --create --fsid "$fsid" --add a "v1:127.0.0.1:$mon_port" "$dir/monmap" >/dev/null &&
      ceph-mon --conf "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" >"$dir/log/mon-mkfs.err" 2>&1 &&
      ceph-mon --conf "$conf" -i a &&
      _rgw_wait_pid_file "$dir/run/mon.a.pid" 10 &&
      _rgw_ceph_retry "$dir" 30 mon stat >/dev/null
  } || {
    echo "radosgw.sh: the ceph monitor did not start" >&2
    cat "$dir/log/mon-mkfs.err" >&2 2>/dev/null
    _rgw_logs "$dir"
    return 1
  }
  # "osd new" with the same uuid returns the same id, so a retried one creates nothing twice.
  osd_id=$(_rgw_ceph_retry "$dir" 30 osd new "$osd_uuid") &&
    ceph-osd --conf "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>"$dir/log/osd-mkfs.err" &&
    ceph-osd --conf "$conf" -i "$osd_id" 2>>"$dir/log/osd.err" &&
    _rgw_ceph_retry "$dir" 30 osd crush add "osd.$osd_id" 1 root=default host=localhost >/dev/null || {
    echo "radosgw.sh: the OSD did not start" >&2
    cat "$dir/log/osd-mkfs.err" >&2 2>/dev/null
    _rgw_logs "$dir"
    return 1
  }
  for ((i = 0; i < 300; i++)); do
    [[ $(_rgw_ceph "$dir" osd stat 2>/dev/null) == *"1 up"* ]] && break
    sleep 0.1
  done
  if ((i == 300)); then
    echo "radosgw.sh: the OSD did not come up in 30 s" >&2
    _rgw_logs "$dir"
    return 1
  fi
  radosgw_start_gateway "$dir" || return 1
  # Keys generated per run: nothing secret is fixed in the repository.
  local ak sk
  ak=$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_uppercase+string.digits) for _ in range(20)))')
  sk=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30)[:40])')
  radosgw-admin --conf "$conf" user create --uid=stb-test --display-name=stb-test \
    --access-key="$ak" --secret-key="$sk" >/dev/null 2>"$dir/log/user-create.err" || {
    echo "radosgw.sh: radosgw-admin user create failed" >&2
    cat "$dir/log/user-create.err" >&2
    _rgw_logs "$dir"
    return 1
  }
  export BACKUP_S3_ENDPOINT=http://127.0.0.1:$rgw_port
  export BACKUP_S3_BUCKET=stb-test
  export BACKUP_S3_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=$ak
  export AWS_SECRET_ACCESS_KEY=$sk
  export S3_SERVICE_DIR=$dir
  # The bucket, as an operator provisions it (the tool never creates buckets): one signed PUT.
  python3 "$SERVICES_DIR/s3_create_bucket.py" || { echo "radosgw.sh: creating bucket stb-test failed" >&2; return 1; }
}

# Starts (again) only the gateway, on the port of the first start.
radosgw_start_gateway() {
  local dir
  dir=$(cd "$1" && pwd)
  local port
  port=$(cat "$dir/rgw_port")
  radosgw --conf "$dir/ceph.conf" -n client.rgw.a 2>>"$dir/log/radosgw.err" &&
    _rgw_wait_pid_file "$dir/run/client.rgw.a.pid" 10 &&
    wait_port "$port" 30 || {
    echo "radosgw.sh: radosgw did not listen on 127.0.0.1:$port" >&2
    _rgw_logs "$dir"
    return 1
  }
}

radosgw_stop_gateway() { stop_pidfile "$1/run/client.rgw.a.pid" 15; }

# One at a time, ~2 s each: a gateway whose OSD is going waits for it, and an OSD whose monitor
# is gone waits 5 s for the acknowledgement of its shutdown.
radosgw_stop() {
  local f
  stop_pidfile "$1/run/client.rgw.a.pid" 15
  for f in "$1"/run/osd.*.pid; do stop_pidfile "$f" 15; done
  stop_pidfile "$1/run/mon.a.pid" 15
}
