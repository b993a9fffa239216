// WAL continuity of every PostgreSQL cluster in a location (check): per timeline, every segment
// from the oldest stored one (or a base backup's start) to the newest; a gap is named with its
// segments, LSN range and the time range it makes unrecoverable.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "repository/snapshots.h"
#include "repository/wal_store.h"
#include "storage/storage.h"

namespace stb {

// Where a physical base backup needs WAL from (physical snapshots pass theirs; none exist yet).
struct WalBackupStart {
  std::string backup_id;
  std::string cluster;
  uint32_t tli = 0;
  uint64_t start_lsn = 0;
  uint64_t end_lsn = 0;  // 0 when the entry does not say
  double end_time = 0;   // end_time_unix; 0 when the entry does not say
};

// The starts of the physical base backups among snaps (entries of kind "postgresql-physical"),
// except those whose WAL is included in the backup itself (wal_source "included").
std::vector<WalBackupStart> WalStartsOf(const std::vector<SnapshotRef>& snaps, std::vector<std::string>& errors);

struct WalCheckOptions {
  bool read_data = false;  // open and verify every WAL object
  std::vector<WalBackupStart> backups;
};

struct WalGap {
  uint64_t first = 0, last = 0;  // segment numbers, inclusive
};
// The missing segments of one timeline between from_segno (or its oldest stored segment, if
// lower) and its newest; the newest counts when parts cover it from offset 0.
std::vector<WalGap> FindWalGaps(const WalTimeline& t, std::optional<uint64_t> from_segno = std::nullopt);

// written_ms of the objects either side of the gap; 0 when unknown.
std::string DescribeWalGap(const std::string& cluster, uint32_t tli, const WalGap& g, uint32_t seg_size,
                           int64_t before_ms, int64_t after_ms);

// Appends to errors and warnings; report is the check report's "wal" object.
void CheckWal(const Repository& repo, Storage& from, const WalCheckOptions& o, std::vector<std::string>& errors,
              std::vector<std::string>& warnings, nlohmann::json& report);

}  // namespace stb
