// One function per command; main.cc parses the command line and calls them. Each returns the
// process exit status (0 only on full success).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "components/component.h"
#include "config/settings.h"
#include "core/status.h"
#include "retention/policy.h"

namespace stb {

int RunInit(const Settings& s);

struct BackupArgs {
  std::string type;    // "full" or "incremental"
  std::string parent;  // incremental: backup id or a path ending in one; "" = latest
  bool progress = true;
};
// The report is also stored in *report when given (the scheduled run sends alerts from it).
int RunBackup(const Settings& s, const BackupArgs& a, nlohmann::json* report = nullptr);

struct RestoreArgs {
  std::string backup_id;
  std::string location = "local";
  std::vector<std::string> components;  // empty: all in the backup
  std::string target;                   // "": original locations
  std::string target_db;                // database: restore into this database instead of DB_NAME
  bool sync = false;                    // flush to disk before reporting success
  bool live = false;                    // redis: load into the running server by replication
  // File components: only entries matching an include glob (all when none), less the excluded.
  std::vector<std::string> includes, excludes;
  bool progress = true;
  // Physical PostgreSQL backups: the recovery target (at most one) and placement.
  std::string target_time, target_lsn;
  bool latest = false, immediate = false;
  std::string target_dir;
  std::vector<std::string> tablespace_map;
  int pg_port = 0;
  std::string archive_mode = "off";
  bool stop_after = false;
};
int RunRestore(const Settings& s, const RestoreArgs& a);
// The recovery target and placement options of `a` into `o`; a bad --target-time, --target-lsn
// or --tablespace-map is InvalidArgument.
Status ApplyRecoveryArgs(const RestoreArgs& a, RestoreOptions& o);

// recovery_points: print {"recovery_points": [{component, location, time, age_seconds}]} (or a
// table) from the catalog, after refreshing the local recovery windows it derives from.
int RunSnapshots(const Settings& s, bool json, const std::string& location = "local", bool recovery_points = false);

// `ls`, `find`, `dump`, `diff`, `export`: looking into backups without restoring them.
struct BrowseArgs {
  std::string backup_id, backup_id2;  // diff: from, to
  std::string path;                   // "COMPONENT[/ROOT/PATH]"
  std::string pattern;                // find: glob
  std::string format = "tar.gz";      // export: tar.gz or tar.zst
  std::string output;                 // export: file (default stdout)
  std::string location = "local";
  bool json = false;
};
int RunLs(const Settings& s, const BrowseArgs& a);
int RunFind(const Settings& s, const BrowseArgs& a);
int RunDump(const Settings& s, const BrowseArgs& a);
int RunDiff(const Settings& s, const BrowseArgs& a);
int RunExport(const Settings& s, const BrowseArgs& a);

struct ReplicateArgs {
  std::string from = "local";
  std::vector<std::string> to;  // empty: every other configured location (local when from a copy)
  bool delete_extra = false;    // also delete from the targets what the source no longer has
  bool force = false;           // --delete even when the source holds fewer snapshots than a target
};
int RunReplicate(const Settings& s, const ReplicateArgs& a);

struct CheckArgs {
  bool read_data = false;
  double percent = 100;
  std::string location = "local";
};
int RunCheck(const Settings& s, const CheckArgs& a);

struct ForgetArgs {
  Policy policy;                 // from --keep-* flags: applied to full and incremental backups alike
  bool explicit_policy = false;  // false: BACKUP_RETENTION_FULL / _INCREMENTAL (the guide's defaults)
  bool dry_run = false;
  bool prune = false;
  std::string location = "local";  // each location applies the policy to its own snapshots
};
int RunForget(const Settings& s, const ForgetArgs& a);

struct PruneArgs {
  bool dry_run = false;
  double repack_unused_percent = 20;
  std::string location = "local";
};
int RunPrune(const Settings& s, const PruneArgs& a);

// `schedule`: the daemon. `schedule run full|incremental`: one scheduled run (backup, retention,
// alerts), for cron and systemd timers.
struct ScheduleArgs {
  bool run_now = false;  // run a full backup at start, then follow the schedule
};
int RunSchedule(const Settings& s, const ScheduleArgs& a);
// `schedule run TYPE`: runs the job below in a child process and watches it, so that a run that
// crashes, is killed or outlives BACKUP_RUN_TIMEOUT still ends in a backup_failed alert.
int SuperviseScheduledJob(const Settings& s, const std::string& type);
// The job itself (`schedule run TYPE --worker`): backup, retention, alerts.
int RunScheduledJob(const Settings& s, const std::string& type);
// `schedule run db-incremental` (DB_INCREMENTAL_INTERVAL): a CockroachDB revision-history layer,
// recorded in the catalog, alerted on; no snapshot, no retention run.
int RunDbIncremental(const Settings& s);

// `monitor`: the Prometheus exporter (/metrics, /healthz) over the catalog in BACKUP_STATE_DIR.
struct MonitorArgs {
  std::string listen = "0.0.0.0:9091";  // HOST:PORT, :PORT or PORT
  double probe_interval_seconds = 60;   // how often each cloud location is probed
  std::string version;                  // backup_system_info{version}
};
int RunMonitor(const Settings& s, const MonitorArgs& a);

// `dr-test`: restores the latest backup into scratch targets, verifies it, removes them, records
// the drill in the catalog.
struct DrTestArgs {
  std::string scenario = "restore_verify";
};
int RunDrTest(const Settings& s, const DrTestArgs& a);

// `wal-push %p` (archive_command): exit 0 once stored, else 1 (never above 125).
struct WalPushArgs {
  std::string path;
  std::string pgdata;   // default: the directory above the file's pg_wal
  bool daemon = false;  // --daemon: the spool daemon for the file's pg_wal (WAL_PUSH_ASYNC)
};
int RunWalPush(const Settings& s, const WalPushArgs& a);
// `wal-fetch %f %p` (restore_command): 0 with the whole file, 1 when not in the archive, 255
// when it cannot tell (PostgreSQL then stops recovery instead of ending it early).
struct WalFetchArgs {
  std::string file, dest;
  std::string pgdata;  // default: the current directory
  std::string location = "local";
  std::string staging;  // --staging DIR: take the file from a restore's staging directory
};
int RunWalFetch(const Settings& s, const WalFetchArgs& a);
// `wal-receive`: resident; streams WAL from the slot into the repository until SIGTERM (exit 0).
struct WalReceiveArgs {
  bool sync = false;  // --sync, or WAL_RECEIVE_SYNC
};
int RunWalReceive(const Settings& s, const WalReceiveArgs& a);
// `redis-stream`: resident; captures the Redis replication stream into the local repository until
// SIGTERM (exit 0); `--status` prints the stored chains.
struct RedisStreamArgs {
  bool status = false;
};
int RunRedisStream(const Settings& s, const RedisStreamArgs& a);

// `pg-recover DIR`: point-in-time recovery of a base backup already laid down in DIR (its
// backup_label, e.g. from pg_basebackup -X none) from the WAL in the repository.
struct PgRecoverArgs {
  std::string data_dir;
  std::string location = "local";
  RestoreArgs target;  // the recovery target and placement options of restore
};
int RunPgRecover(const Settings& s, const PgRecoverArgs& a);

int RunKeyGenerate(const std::string& path);
int RunKeyList(const Settings& s);
int RunKeyAdd(const Settings& s, const std::string& new_key_file);
int RunKeyRemove(const Settings& s, const std::string& key_id);
int RunKeyRotate(const Settings& s, const std::string& new_key_file);

}  // namespace stb
