// The point-in-time recovery window of each PostgreSQL cluster (`snapshots`, the
// backup_recovery_window_seconds metric): from a physical base backup's end to the newest WAL
// stored without a gap after it, per timeline; after a failover a window follows the timeline
// path that restore --latest takes (the backup's timeline, then the newer ones off it).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker/wal_check.h"
#include "repository/repository.h"
#include "repository/snapshots.h"
#include "storage/storage.h"

namespace stb {

struct RecoveryWindow {
  std::string cluster;
  uint32_t tli = 0;                     // the timeline the window ends on
  std::vector<uint32_t> timeline_path;  // from the backups' timeline to tli
  double from_time = 0;                 // the earliest end (end_time_unix) of the backups that recover into it
  double to_time = 0;                   // the written time of the newest contiguous WAL object
  uint64_t to_lsn = 0;                  // the end of that WAL
  uint64_t newest_start_lsn = 0;        // the latest start_lsn of those backups
  std::vector<std::string> backup_ids;
};

// The newest segment reachable from from_segno without a gap (the newest may be parts from 0);
// nullopt when from_segno itself is missing.
std::optional<uint64_t> ContiguousWalEnd(const WalTimeline& t, uint64_t from_segno);

// One window per timeline and contiguous run of WAL that some physical backup among snaps can
// replay up to its end (a backup whose own WAL has a gap recovers nowhere and opens none).
std::vector<RecoveryWindow> RecoveryWindows(const Repository& repo, Storage& from,
                                            const std::vector<SnapshotRef>& snaps, std::vector<std::string>& errors);

// [{tli, from_time, to_time, ...}] as `snapshots --json` shows it (times in ISO 8601 UTC).
nlohmann::json RecoveryWindowsJson(const std::vector<RecoveryWindow>& windows);

}  // namespace stb
