// The disaster-recovery drill (`dr-test`): restores the latest backup in process into scratch
// targets (a temporary directory, a scratch database, a scratch redis-server that loads the
// restored RDB), so every component is verified as a real restore verifies it; then removes them
// and records the drill, and its restore, in the catalog.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "components/component.h"
#include "config/settings.h"
#include "reports/reports.h"
#include "restorer/restorer.h"

namespace stb {

struct DrillScratch {
  std::string directory;
  std::optional<std::string> database;  // its name
  std::optional<std::string> redis;     // "127.0.0.1:PORT"
  std::optional<std::string> postgres;  // a physical backup's recovered server: its data directory
};

struct DrillReport {
  std::string scenario;
  std::string start_time, end_time;
  double start_unix = 0;
  double duration_seconds = 0;
  // Each component restored: the time it was recovered to (Unix s): a physical database's
  // recovered_to.time_unix, else the backup's time. ToJson adds recovery_point_seconds.
  std::map<std::string, double> recovered_to;
  std::optional<std::string> backup_id;  // the latest backup, once found
  std::optional<DrillScratch> scratch;   // once the scratch directory exists
  // A physical database backup: the window, the random target chosen in it (pg_drill_point.h).
  std::optional<nlohmann::json> point_in_time;
  // The restore's outcome when it was run (an error: it could not start).
  std::optional<StatusOr<RestoreReport>> restore;
  std::map<std::string, std::string> cleanup;  // target -> "stopped", "dropped", "removed" or the error
  std::vector<std::string> errors;
  int signal = 0;  // the terminating signal that cut the drill short, 0 if none
  bool overall_success = false;

  // What `dr-test` prints: the restore's rto_seconds, components and restore_order among the
  // drill's own fields, and status "success" or "failed"; point_in_time gets the database's
  // recovered_to and rto_seconds beside the target; recovery_points: per component recovered_to
  // (ISO, as start_time), recovered_to_unix and recovery_point_seconds (start - recovered_to).
  nlohmann::json ToJson() const;
};

// Never fails as a whole: every problem is in the report's errors. Catches SIGINT, SIGTERM and
// SIGHUP from here on (the process stop token, core/stop.h) to stop the restore and still clean up.
DrillReport RunDrill(const ComponentRegistry& registry, const Settings& s, const RepositoryOpener& open,
                     const std::string& scenario);

}  // namespace stb
