// The database component: PostgreSQL as a consistent pg_dump streamed into the repository with
// per-table row counts from the same snapshot, or as a physical base backup; CockroachDB through its own BACKUP/RESTORE
// into a collection on our locations. Restores verify the recorded counts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "components/database/cockroach_sql.h"
#include "components/database/pg_client.h"
#include "core/progress.h"
#include "repository/blob_saver.h"

namespace stb {

struct DatabaseOptions {
  DbEndpoint endpoint;
  std::string engine;                     // DB_ENGINE: "" = detected from SELECT version(), postgresql, cockroachdb
  std::string pg_bin_dir;                 // DB_PG_BIN_DIR: where pg_dump/pg_restore are; "" = by server version
  int restore_jobs = 1;                   // DB_RESTORE_JOBS: pg_restore --jobs; 1 streams without a staging file
  bool checksums = true;                  // DB_CHECKSUMS: a per-table checksum beside each row count
  std::string staging_dir;                // where a parallel pg_restore stages the dump (it needs a seekable file)
  CrdbStorage crdb;                       // COCKROACH_BACKUP_*: the collection the cluster writes to
  std::string crdb_passphrase;            // derived from the repository key; never printed
  double crdb_target_time = 0;            // restore --target-time (Unix seconds); 0 = the backup's own time
  std::string crdb_incremental_interval;  // DB_INCREMENTAL_INTERVAL ("" = none)
  bool crdb_native_schedule = false;      // COCKROACH_NATIVE_SCHEDULE: CockroachDB's own schedule takes the layers
  double crdb_history_seconds = 0;        // the incrementals' retention (BACKUP_RETENTION_INCREMENTAL within)
  std::string backup_method = "auto";     // DB_BACKUP_METHOD: auto, physical, logical (PostgreSQL)
  std::string wal_source = "auto";        // DB_WAL_SOURCE: auto, archive, included
  int wal_wait_seconds = 120;             // DB_WAL_WAIT_SECONDS
  int max_rate_kb = 0;                    // DB_MAX_RATE_KB
  int workers = 2;                        // threads storing a physical backup's chunks

  // WAL_SLOT: wal-receive's slot; active, it makes DB_WAL_SOURCE auto "archive"
  std::string wal_slot = "spacetime_backup";
};

struct DatabaseBackupResult {
  nlohmann::json entry;   // snapshot entry: kind "postgresql" or "cockroachdb"
  nlohmann::json report;  // the guide's component report
  bool success = false;
};

// type: "full" or "incremental" (CockroachDB: BACKUP INTO LATEST; PostgreSQL always dumps in
// full and lets deduplication store only what changed).
DatabaseBackupResult BackupDatabase(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt,
                                    const std::string& type, Progress& progress);

// Restores into target_db ("" = DB_NAME), created if missing, then compares every table's row
// count (and checksum) with the backup's.
nlohmann::json RestoreDatabase(Repository& repo, const nlohmann::json& entry, const DatabaseOptions& opt,
                               const std::string& target_db, Progress& progress);

// One DB_INCREMENTAL_INTERVAL run: a CockroachDB layer with revision history on the newest chain
// of the collection (a full backup when it has none), taken 10 s back; no snapshot is written
// (the collection is the record). The report: success, error (redacted), cockroach_backup,
// job_id, size_bytes, recovery_point (the newest layer's end). PostgreSQL: an error naming
// BACKUP_STREAMS=wal-receive.
nlohmann::json CockroachIncremental(const DatabaseOptions& opt);
// COCKROACH_NATIVE_SCHEDULE: the state of CockroachDB's schedule (SHOW SCHEDULES) and its newest
// job (SHOW JOBS), for `snapshots --recovery-points`: label, schedules, latest_job, and error
// (redacted) when there is no schedule, its newest job failed or the server cannot be asked.
nlohmann::json CockroachNativeScheduleState(const DatabaseOptions& opt);

// "postgresql" or "cockroachdb" from SELECT version(), or an error when DB_ENGINE disagrees.
StatusOr<std::string> ResolveEngine(const std::string& version, const std::string& configured);

}  // namespace stb
