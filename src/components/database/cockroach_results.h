// What CockroachDB answers, read without a cluster: its timestamps (TIMESTAMP text and decimal
// HLC), the rows of SHOW BACKUPS, SHOW BACKUP, BACKUP jobs, SHOW SCHEDULES/JOBS and zone
// configurations, and the choice of the backup chain a restore to a time uses. Pure functions
// over strings, unit-tested and fuzzed (crdb_results).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace stb {

using CrdbRow = std::vector<std::optional<std::string>>;

// "2024-01-03 14:25:20.123456+00" (TIMESTAMPTZ) or "2024-01-03 14:25:20.123456" (TIMESTAMP,
// which CockroachDB keeps in UTC) to Unix seconds.
StatusOr<double> ParseCrdbTimestamp(std::string_view text);
// An HLC timestamp as CockroachDB prints it, "1704291920123456789.0000000000" (wall nanoseconds
// "." logical counter), to Unix seconds.
StatusOr<double> ParseCrdbHlc(std::string_view text);
// The AS OF SYSTEM TIME value for a Unix time: "2024-01-03 14:25:20.123456" (UTC).
std::string CrdbAsOf(double unix_seconds);

// SHOW BACKUPS IN: one row per full backup (chain), its subdirectory in the first column.
StatusOr<std::vector<std::string>> ParseShowBackups(const std::vector<CrdbRow>& rows);

struct CrdbLayer {
  bool full = false;
  double start_unix = 0;  // 0 for a full backup
  double end_unix = 0;    // the time it holds the data of
};
// The rows of CrdbShowLayersSql (backup_type, start_time, end_time; one per object and layer) to
// the layers of one chain, oldest first; the first must be the full backup.
StatusOr<std::vector<CrdbLayer>> ParseBackupLayers(const std::vector<CrdbRow>& rows);

// The row a BACKUP or RESTORE job answers: job_id, status, fraction_completed, rows,
// index_entries, bytes.
struct CrdbJob {
  std::string job_id, status;
  int64_t rows = 0;
  uint64_t bytes = 0;
};
StatusOr<CrdbJob> ParseJobRow(const CrdbRow& row);

struct CrdbChain {
  std::string subdir;
  std::vector<CrdbLayer> layers;  // ParseBackupLayers
};
// The chain a restore to `t` uses: the newest whose full backup ended at or before t and whose
// newest layer ended at or after it. Else an error naming the recoverable times around t.
StatusOr<const CrdbChain*> ChooseCrdbChain(const std::vector<CrdbChain>& chains, double t);

// COCKROACH_NATIVE_SCHEDULE: the rows of CrdbShowScheduleSql (id, label, schedule_status,
// next_run, state, recurrence), and of CrdbScheduleLatestJobSql (job_id, status, finished, error).
struct CrdbSchedule {
  std::string id, label, status, next_run, state, recurrence;
};
StatusOr<std::vector<CrdbSchedule>> ParseSchedules(const std::vector<CrdbRow>& rows);
struct CrdbScheduleJob {
  std::string job_id, status, error;
  double finished_unix = 0;  // 0 while it runs
};
StatusOr<CrdbScheduleJob> ParseScheduleJob(const CrdbRow& row);

// gc.ttlseconds from SHOW ZONE CONFIGURATION's raw_config_sql: how far back revisions are kept.
StatusOr<int64_t> ParseGcTtlSeconds(std::string_view raw_config_sql);

}  // namespace stb
