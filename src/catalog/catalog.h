// The catalog: a small SQLite database in BACKUP_STATE_DIR (catalog.db) that every backup, restore,
// replication, probe and drill updates, and that the exporter reads, so its figures survive restarts.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "core/status.h"
#include "reports/reports.h"

typedef struct sqlite3 sqlite3;

namespace stb {

inline constexpr int kCatalogSchemaVersion = 1;

// One component of one backup run.
struct BackupRecord {
  std::string backup_id;
  std::string component;  // database, redis, player_saves, configuration, application
  std::string type;       // full, incremental
  std::string status;     // success, failed, skipped
  double start_time = 0;  // Unix seconds
  double duration_seconds = 0;
  uint64_t size_bytes = 0;
};

struct RestoreRecord {
  std::string backup_id, location;
  double start_time = 0, duration_seconds = 0, rto_seconds = 0;
  bool success = false;
};

struct DrillRecord {
  std::string scenario, status;  // status: success, failed
  std::string backup_id;
  double start_time = 0, duration_seconds = 0;
};

// The last word on one location: from the replication after a backup ("replicate") or from the
// exporter's probe ("probe").
struct ReplicationState {
  bool ok = false;
  std::string backup_id, error, source;
  double time = 0;
};

// What the exporter shows, computed by the catalog in one read.
struct CatalogSummary {
  using Key = std::pair<std::string, std::string>;  // (component, type)
  std::map<Key, double> last_success_end;           // end of the newest successful run (Unix s)
  std::map<Key, double> last_success_duration;      // its duration
  std::map<std::string, uint64_t> last_size;        // component -> size of its newest successful backup
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> completed;  // (component, status, type)
  double last_database_success_end = 0;  // 0 = no successful database backup yet
  bool has_restore = false;
  double last_restore_rto = 0;  // rto_seconds of the newest successful restore (drills' included)
  std::map<std::pair<std::string, std::string>, uint64_t> drills;  // (scenario, status) -> count
  std::map<std::string, ReplicationState> replication;             // label -> the newer of replicate/probe
  std::map<std::string, BackupRecord> last_backup;                 // component -> its newest run, whatever its status
  bool has_drill = false;
  DrillRecord last_drill;  // the newest drill
  // WAL archiving: location -> when its newest WAL was stored (Unix s), over every cluster.
  std::map<std::string, double> wal_stored_at;
  // The recoverable window of each cluster, as `snapshots` or `check` last computed it.
  std::map<std::string, std::pair<double, double>> recovery_window;  // cluster -> (from, to) Unix s
  // The recorded recovery points (table recovery_point): (component, location) -> the newest
  // point_time over every source (Unix s). monitor/recovery_point.h adds what derives from WAL.
  std::map<std::pair<std::string, std::string>, double> recorded_points;
  // The newest drill's recovery_point_seconds per component (dr_test_recovery_point_seconds).
  std::map<std::string, double> drill_recovery_point_seconds;
};

// Thread-safe (one connection behind a mutex). Several processes may use one catalog at once
// (WAL, busy timeout).
class Catalog {
 public:
  // Opens state_dir/catalog.db, creating the directory (0700), the file (0600) and the schema when
  // missing. A file that is not a catalog, unreadable, or of a newer schema is an error naming
  // BACKUP_STATE_DIR.
  static StatusOr<std::unique_ptr<Catalog>> Open(const std::string& state_dir);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const std::string& path() const { return path_; }

  Status RecordBackup(const BackupRecord& r);
  Status RecordRestore(const RestoreRecord& r);
  Status RecordDrill(const DrillRecord& r);
  // The result of replicating backup_id to a location (its metric label, e.g. "s3_primary");
  // timestamp = now. error is stored for operators and never exported (it is secret-free anyway).
  Status RecordReplication(const std::string& location_label, bool ok, const std::string& backup_id,
                           const std::string& error);
  // The exporter's periodic check of a location; timestamp = now.
  Status RecordProbe(const std::string& location_label, bool ok, const std::string& error);

  // From a `backup` JSON report (the guide's): one record per component. A component counts as
  // a success only when the snapshot was written (locations.local.status == "ok"). end_time is when
  // the run finished (Unix seconds).
  Status RecordBackupReport(const BackupReport& report, double end_time);
  // From a restore's report (rto_seconds, overall_success); a drill's restore too.
  Status RecordRestoreReport(const RestoreReport& report, double end_time);

  // A WAL file stored in a location (its end position; the newest per location and cluster is
  // kept): transaction_log_lag_seconds is the age of the newest.
  Status RecordWal(const std::string& location, const std::string& cluster, uint64_t end_lsn, double stored_at);
  // The recoverable window of a cluster (backup_recovery_window_seconds).
  Status RecordRecoveryWindow(const std::string& cluster, double from_time, double to_time);

  // A location now holds a point to which `component` can be restored from it alone
  // (backup_recovery_point_seconds). source names the writer ("backup" for snapshots; a later
  // stream capture writes its own rows, e.g. "redis-stream"); a row only moves forward.
  Status RecordRecoveryPoint(const std::string& component, const std::string& location, const std::string& source,
                             double point_time);
  // A replication from `from` to `to` succeeded: `to` holds every snapshot `from` held, so it
  // gains from's "backup" points.
  Status RecordRecoveryPointsCopied(const std::string& from, const std::string& to);
  // A drill restored `component` to recovered_to (Unix s), `seconds` before the drill started.
  Status RecordDrillRecoveryPoint(const std::string& component, double recovered_to, double seconds);

  StatusOr<CatalogSummary> Summary();
  StatusOr<std::vector<BackupRecord>> Backups();  // oldest first, for tests and tools

 private:
  Catalog() = default;
  Status Exec(const std::string& sql);
  Status Init();
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

// For commands whose result must not depend on the catalog (a backup never fails because the
// catalog cannot be written): opens it, runs fn, and on any failure logs a warning and prints
// "warning: catalog: ..." on stderr.
void UpdateCatalogBestEffort(const std::string& state_dir, const std::function<Status(Catalog&)>& fn);

// Records a backup report in the catalog when destroyed, if *report was filled by then (a run
// that ended before it had a report is not recorded). Put at the top of RunBackup.
class RecordBackupOnExit {
 public:
  RecordBackupOnExit(std::string state_dir, const BackupReport* report)
      : state_dir_(std::move(state_dir)), report_(report) {}
  ~RecordBackupOnExit();
  RecordBackupOnExit(const RecordBackupOnExit&) = delete;
  RecordBackupOnExit& operator=(const RecordBackupOnExit&) = delete;

 private:
  std::string state_dir_;
  const BackupReport* report_;
};

}  // namespace stb
