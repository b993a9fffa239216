// Point-in-time recovery of a laid-down PostgreSQL base backup from the WAL in the repository:
// plan (timeline path, end of contiguous WAL, binaries of the backup's major), recovery settings,
// the server started as its own account, WAL served through a staging directory, the wait for
// promotion, and the check of where recovery ended (then pg_amcheck).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "components/database/pg_client.h"
#include "components/database/pg_recovery_conf.h"
#include "core/status.h"
#include "repository/repository.h"

#include "wal/recovery_plan.h"

namespace stb {

class Storage;

struct PgBinaries {
  std::string postgres, pg_ctl, pg_verifybackup, pg_amcheck;
};
// The tools of exactly `major`: from bin_dir (DB_PG_BIN_DIR, checked with --version), else
// /usr/lib/postgresql/<major>/bin.
StatusOr<PgBinaries> FindPgBinaries(int major, const std::string& bin_dir);

// Where the base backup starts, from its backup_label ("START WAL LOCATION", "START TIMELINE").
struct BackupLabel {
  uint64_t start_lsn = 0;
  uint32_t start_tli = 0;
};
StatusOr<BackupLabel> ParseBackupLabel(std::string_view text);

// postmaster.pid: the pid (first line), the port (fourth) and the socket directory (fifth, "" when
// the server has no unix socket). complete is false while the server has not written the fifth line.
struct PostmasterPidFile {
  pid_t pid = 0;
  int port = 0;
  std::string socket_dir;
  bool complete = false;
};
StatusOr<PostmasterPidFile> ParsePostmasterPid(std::string_view text);

struct PgRecoveryPlan {
  uint64_t system_id = 0;
  std::string cluster;
  RecoveryPlan wal;
  RecoveryTarget target;
  PgBinaries bin;
  // The WAL store holds none of the backup's WAL: recovery replays what the backup carries in
  // pg_wal (DB_WAL_SOURCE included) and ends at the backup's end.
  bool included_wal_only = false;
};

// Before anything is laid down: the WAL path and its end, the target against it, the binaries.
StatusOr<PgRecoveryPlan> PlanPgRecovery(const Repository& repo, Storage& from, uint64_t system_id, uint32_t start_tli,
                                        uint64_t start_lsn, const RecoveryTarget& target, int major,
                                        const std::string& bin_dir);
// The plan for a physical backup's snapshot entry: PlanPgRecovery, or, for a backup that carries
// its own WAL (wal_source included) whose start is not in the WAL store, replay of that WAL alone;
// then only --latest/--immediate (the backup's end) can be reached, and other targets are refused
// naming what point-in-time recovery needs.
StatusOr<PgRecoveryPlan> PlanEntryRecovery(const Repository& repo, Storage& from, const nlohmann::json& entry,
                                           const RecoveryTarget& target, const std::string& bin_dir);

struct PgRecoveryOptions {
  std::string data_dir;   // laid down, backup_label in it
  std::string backup_id;  // for the settings' comment
  bool scratch = true;    // beside the original; else the configured server's own directory (in place)
  bool archive_preserve = false;
  int port = 0;  // 0: a free one
  bool stop_after = false;
  std::string os_user = "postgres";  // DB_PG_OS_USER: runs the server when we are root
  std::string start_command;         // DB_START_COMMAND: instead of pg_ctl
  bool amcheck = true;               // DB_VERIFY != none
  double timeout_seconds = 0;        // DB_RECOVERY_TIMEOUT: 0 = none
  int prefetch = 8, jobs = 4, workers = 2;
  double retry_seconds = 60;
  DbEndpoint endpoint;      // user and password; host and port for an in-place restore
  double started_unix = 0;  // the restore's start, for rto_seconds
  std::string self_binary;  // our absolute path, for restore_command
};

// The report: success, error, rto_seconds, recovered_to, wal_end_lsn, target, timeline_path,
// data_directory, socket_directory, port, server_log, amcheck; postmaster_pid (beside the
// original), started (in place: "DB_START_COMMAND" or "pg_ctl"), stopped. Recovery always runs on
// the socket in the run directory, in place with no TCP listener and trust on that socket alone,
// then stopped and started as configured. On a WAL gap the server is left running at the last
// good point and success is false.
nlohmann::json RunPgRecovery(const Repository& repo, Storage& from, const PgRecoveryPlan& plan,
                             const PgRecoveryOptions& o);

}  // namespace stb
