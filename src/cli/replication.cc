#include "cli/replication.h"

#include <mutex>
#include <thread>

#include "catalog/catalog.h"
#include "cli/common.h"
#include "cloud/locations.h"
#include "core/env.h"
#include "core/log.h"
#include "replication/replicate.h"
#include "repository/lock.h"

namespace stb {

namespace {

using nlohmann::json;

json ReplicateOne(const Settings& s, Storage& from, const std::string& from_label, const LocationInfo& loc, bool mirror,
                  bool force) {
  const double start = Env::Default().MonotonicSeconds();
  auto result = [&]() -> StatusOr<ReplicateStats> {
    ASSIGN_OR_RETURN(auto storage, OpenLocation(s, loc.name, loc.name == "local"));
    // The target's own lock: shared for copying (a prune running there, which takes it
    // exclusively, would otherwise delete the packs being copied in as unindexed ones before
    // their index arrives), exclusive for deleting, as prune does there. A target without a
    // repository yet has no lock to take, and nothing can prune it.
    std::unique_ptr<Repository> target;
    std::unique_ptr<RepoLock> target_lock;
    auto target_config = storage->Get("config");
    auto source_config = from.Get("config");
    // (A target holding another repository is refused by Replicate, naming both.)
    if (target_config.ok() && source_config.ok() && *target_config == *source_config) {
      ASSIGN_OR_RETURN(target, OpenRepository(s, loc.name));
      ASSIGN_OR_RETURN(target_lock, RepoLock::Acquire(*target, mirror));
    }
    ReplicateOptions o = AutomaticCopyOptions(storage->Caps().parallelism);
    o.mirror_deletions = mirror;  // only `replicate --delete` sets it
    o.force = force;
    return Replicate(from, *storage, o);
  }();
  double seconds = Env::Default().MonotonicSeconds() - start;
  // backup_storage_replication_status reads this (with the exporter's own probes).
  UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) {
    RETURN_IF_ERROR(c.RecordReplication(loc.label, result.ok(), "", result.ok() ? "" : result.status().message()));
    // backup_recovery_point_seconds: the copy now holds what the source holds.
    return result.ok() ? c.RecordRecoveryPointsCopied(from_label, loc.label) : Status::Ok();
  });
  if (!result.ok()) {
    LogError("replication to " + loc.label + " failed, it is behind until `replicate --to " + loc.name +
             "` or the next backup: " + result.status().message());
    return {{"status", "failed"}, {"error", result.status().message()}, {"duration_seconds", seconds}};
  }
  LogInfo("replicated to " + loc.label + ": " + std::to_string(result->objects_copied) + " objects, " +
          std::to_string(result->bytes_copied) + " bytes in " + std::to_string(seconds) + " s");
  return {{"status", "ok"},
          {"objects_copied", result->objects_copied},
          {"bytes_copied", result->bytes_copied},
          {"objects_deleted", result->objects_deleted},
          {"duration_seconds", seconds}};
}

}  // namespace

json ReplicateToLocations(const Settings& s, Storage& from, const std::vector<std::string>& names, bool mirror,
                          bool force, const std::string& from_label) {
  json out = json::object();
  std::mutex mu;
  std::vector<std::thread> threads;
  for (const auto& name : names) {
    threads.emplace_back([&, name] {
      LocationInfo loc{name, LocationLabel(name)};
      json r = ReplicateOne(s, from, from_label, loc, mirror, force);
      std::lock_guard lk(mu);
      out[loc.label] = std::move(r);
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

json ReplicateToCopies(const Settings& s, Storage& local) {
  std::vector<std::string> names;
  for (const auto& loc : ConfiguredLocations(s)) {
    if (loc.name != "local") names.push_back(loc.name);
  }
  // Additions only: a local repository that was rolled back or partly restored must not delete
  // history from the copies. A copy's own retention is `forget --prune LOCATION`.
  return ReplicateToLocations(s, local, names, false, false, "local");
}

}  // namespace stb
