// The point a disaster-recovery drill recovers a physical PostgreSQL backup to: a random time in
// its recoverable window (the backup's end to the newest commit in the contiguous stored WAL).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "components/database/pg_recovery.h"
#include "core/status.h"
#include "repository/repository.h"

namespace stb {

struct DrillPoint {
  std::string target = "immediate";  // "time" or "immediate" (restore's recovery_target)
  double target_time_unix = 0;       // time
  double window_from_unix = 0;       // the backup's end
  double window_to_unix = 0;         // the newest commit found in the WAL; 0 when none after the end
  std::string wal_end_lsn;           // the end of the contiguous stored WAL
  std::string note;                  // why the target is the backup's end
  nlohmann::json ToJson() const;
};

// The newest commit (or abort) timestamp in `pg_waldump` output (TZ=UTC); 0 when there is none.
double NewestCommitTime(const std::string& waldump_output);

// Whether pg_waldump's exit (code, stderr) is the expected one at the end of the WAL it was given.
Status WaldumpOutcome(int exit_code, const std::string& stderr_text);

// The newest commit (or abort) time in the stored WAL of the plan at or after from_lsn, read back
// from the end with pg_waldump (the backup's major), at most 32 segments; time_unix 0 when none
// was found. NotFound when pg_waldump is not installed.
struct StoredCommit {
  double time_unix = 0;
  int segments_scanned = 0;
};
StatusOr<StoredCommit> NewestStoredCommit(Repository& repo, const PgRecoveryPlan& plan, uint64_t from_lsn);

// A time must lie strictly before the newest commit replayed: PostgreSQL refuses to finish a
// recovery whose target time it never passed. `random01` in [0, 1) picks the point. An empty
// window (no commit after the backup's end) gives the backup's end (--immediate).
StatusOr<DrillPoint> ChooseDrillPoint(Repository& repo, const nlohmann::json& entry, const std::string& pg_bin_dir,
                                      double random01);

}  // namespace stb
