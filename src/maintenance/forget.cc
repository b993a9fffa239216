#include "maintenance/forget.h"

#include <map>

#include "core/log.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

StatusOr<json> Forget(Repository& repo, const RetentionConfig& policy, bool by_type, bool dry_run) {
  std::vector<std::string> problems;
  ASSIGN_OR_RETURN(auto snaps, ListSnapshots(repo, &problems));
  std::vector<RetentionItem> items;
  std::map<std::string, std::string> object_of;
  // Newest first: backups in the same second (ids one second apart) then rank by recorded time.
  for (auto it = snaps.rbegin(); it != snaps.rend(); ++it) {
    const SnapshotRef& s = *it;
    items.push_back({s.backup_id, static_cast<int64_t>(s.doc.value("time_unix", 0.0)), s.doc.value("type", "full")});
    object_of[s.backup_id] = s.object;
  }
  ASSIGN_OR_RETURN(auto decisions,
                   by_type ? ApplyRetention(std::move(items), policy) : ApplyPolicy(std::move(items), policy.full));
  json keep = json::array(), removed = json::array();
  for (const auto& d : decisions) {
    json e = {{"backup_id", d.item.id}, {"type", d.item.type}, {"time_unix", d.item.time_unix}};
    if (d.keep) {
      e["reasons"] = d.reasons;
      keep.push_back(e);
      continue;
    }
    if (!dry_run) {
      RETURN_IF_ERROR(repo.storage().Remove(object_of[d.item.id]).Context("removing backup " + d.item.id));
      LogInfo("forget: removed backup " + d.item.id);
    }
    removed.push_back(e);
  }
  json described = by_type ? json{{"full", policy.full.Describe()}, {"incremental", policy.incremental.Describe()}}
                           : json{{"all", policy.full.Describe()}};
  json report = {{"policy", described}, {"dry_run", dry_run}, {"keep", keep}, {"remove", removed}};
  if (!problems.empty()) report["warnings"] = problems;
  return report;
}

}  // namespace stb
