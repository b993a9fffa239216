#include "cli/recovery_state.h"

#include <algorithm>
#include <map>

#include "catalog/catalog.h"
#include "cli/common.h"

namespace stb {

std::vector<RecoveryWindow> RefreshRecoveryWindows(const Settings& s, Repository& repo,
                                                   const std::vector<SnapshotRef>& snaps, const std::string& location,
                                                   std::vector<std::string>& errors) {
  auto windows = RecoveryWindows(repo, repo.storage(), snaps, errors);
  if (location != "local" || windows.empty()) return windows;
  UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) {
    std::map<std::string, std::pair<double, double>> span;  // cluster -> (earliest from, newest to)
    for (const auto& w : windows) {
      auto [it, fresh] = span.try_emplace(w.cluster, w.from_time, w.to_time);
      if (!fresh) it->second = {std::min(it->second.first, w.from_time), std::max(it->second.second, w.to_time)};
    }
    for (const auto& [cluster, fs] : span) RETURN_IF_ERROR(c.RecordRecoveryWindow(cluster, fs.first, fs.second));
    return Status::Ok();
  });
  return windows;
}

StatusOr<std::vector<WalLoss>> UnhealedLosses(const Settings& s, const std::vector<RecoveryWindow>& windows) {
  ASSIGN_OR_RETURN(auto losses, LoadWalLosses(s.state_dir));
  std::multimap<std::string, double> starts;
  std::multimap<std::string, uint64_t> start_lsns;
  for (const auto& w : windows) {
    starts.emplace(w.cluster, w.from_time);
    start_lsns.emplace(w.cluster, w.newest_start_lsn);
  }
  return UnhealedWalLosses(losses, starts, start_lsns);
}

StatusOr<std::vector<WalLoss>> UnhealedLosses(const Settings& s) {
  ASSIGN_OR_RETURN(auto losses, LoadWalLosses(s.state_dir));
  if (losses.empty()) return losses;
  ASSIGN_OR_RETURN(auto repo, OpenRepository(s, "local"));
  ASSIGN_OR_RETURN(auto snaps, ListSnapshots(*repo, nullptr));
  std::vector<std::string> errors;
  return UnhealedLosses(s, RefreshRecoveryWindows(s, *repo, snaps, "local", errors));
}

}  // namespace stb
