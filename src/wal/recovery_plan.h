// The WAL a point-in-time restore will replay, planned from a listing of the repository before
// anything is laid down: the timeline path recovery_target_timeline='latest' takes, which
// timeline serves each segment, and how far the stored WAL is contiguous (a gap is named).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "repository/wal_store.h"
#include "storage/storage.h"

namespace stb {

struct TimelineStep {
  uint32_t tli = 0;
  uint64_t begin_lsn = 0;  // where replay enters this timeline (the backup's start, or a switch point)
  uint64_t end_lsn = 0;    // its switch point to the next step; 0 on the newest timeline
};

struct RecoveryPlan {
  uint32_t seg_size = 0;
  std::vector<TimelineStep> path;  // from the backup's timeline to the newest
  uint64_t wal_end_lsn = 0;        // the stored WAL is contiguous from the backup's start up to here
  uint64_t last_segno = 0;         // the segment that holds wal_end_lsn (or ends at it)
  std::optional<std::string> gap;  // a missing stretch with stored WAL after it, described
  // The timeline PostgreSQL reads segment segno from: the newest step that begins at or before it.
  uint32_t TimelineFor(uint64_t segno) const;
  // The timeline of the step holding lsn (for recovered_to).
  uint32_t TimelineAt(uint64_t lsn) const;
  std::vector<uint32_t> Timelines() const;
};

// histories: the parsed N.history files stored for the cluster (N -> its ancestors). As
// PostgreSQL does for 'latest', the newest timeline is found by probing start_tli+1, +2, ...
// Fails when no segment size is known or the backup's start segment is not stored.
StatusOr<RecoveryPlan> PlanRecovery(const WalListing& listing,
                                    const std::map<uint32_t, std::vector<TimelineHistoryEntry>>& histories,
                                    uint32_t start_tli, uint64_t start_lsn);

// When the WAL holding the plan's end (its segment, or the part ending last) was stored, in Unix
// seconds: nothing committed after it is in the repository. 0 when it cannot be read.
double NewestWalWrittenAt(const WalStore& store, Storage& from, const WalListing& listing, const RecoveryPlan& plan);
// The written time of the newest object of one segment: the complete segment, else its part that
// ends last; 0 when none can be read.
double SegmentWrittenAt(const WalStore& store, Storage& from, const WalTimeline& t, uint32_t tli, uint64_t segno,
                        uint32_t seg_size);

// A --target-time after the newest stored WAL cannot be reached: PostgreSQL would replay everything
// and stop without promoting ("recovery ended before configured recovery target was reached"), and
// recovering less than asked without saying so is worse. Refused before anything is laid down,
// naming the newest recoverable time and --latest (which takes everything there is).
// newest_written_unix 0 (unknown) lets any target through.
Status CheckTargetTime(const RecoveryPlan& plan, double target_unix, double newest_written_unix);

}  // namespace stb
