#include "monitor/recovery_point.h"

#include <algorithm>

namespace stb {

std::map<RecoveryPointKey, double> RecoveryPoints(const CatalogSummary& s) {
  std::map<RecoveryPointKey, double> out = s.recorded_points;
  if (s.recovery_window.empty()) return out;
  double window_end = 0;
  for (const auto& [cluster, window] : s.recovery_window) window_end = std::max(window_end, window.second);
  // The window was computed on the local repository: local recovers to its end.
  double& local = out[{"database", "local"}];
  local = std::max(local, window_end);
  for (const auto& [location, stored_at] : s.wal_stored_at) {
    if (location == "local") continue;
    auto held = s.recorded_points.find({"database", location});
    // Without a base backup there, its WAL alone recovers nothing.
    if (held == s.recorded_points.end()) continue;
    out[held->first] = std::max(held->second, std::min(window_end, stored_at));
  }
  return out;
}

Status RecordDbIncremental(Catalog& catalog, const BackupRecord& run, const nlohmann::json& report,
                           const std::vector<std::string>& locations) {
  RETURN_IF_ERROR(catalog.RecordBackup(run));
  if (run.status != "success" || !report.is_object()) return Status::Ok();
  auto it = report.find("recovery_point_unix");
  // A native-schedule run writes no layer itself: it has no point to record.
  if (it == report.end() || !it->is_number() || it->get<double>() <= 0) return Status::Ok();
  for (const auto& location : locations) {
    RETURN_IF_ERROR(catalog.RecordRecoveryPoint("database", location, "db-incremental", it->get<double>()));
  }
  return Status::Ok();
}

}  // namespace stb
