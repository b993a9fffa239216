#include "cli/replication.h"

#include <mutex>
#include <thread>

#include "catalog/catalog.h"
#include "cloud/locations.h"
#include "core/log.h"
#include "replication/replicate.h"

namespace stb {

namespace {

using nlohmann::json;

json ReplicateOne(const Settings& s, Storage& from, const LocationInfo& loc, bool mirror) {
  auto start = std::chrono::steady_clock::now();
  auto result = [&]() -> StatusOr<ReplicateStats> {
    ASSIGN_OR_RETURN(auto storage, OpenLocation(s, loc.name, loc.name == "local"));
    return Replicate(from, *storage, {.jobs = storage->Caps().parallelism, .mirror_deletions = mirror});
  }();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // backup_storage_replication_status reads this (with the exporter's own probes).
  UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) {
    return c.RecordReplication(loc.label, result.ok(), "", result.ok() ? "" : result.status().message());
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

json ReplicateToLocations(const Settings& s, Storage& from, const std::vector<std::string>& names, bool mirror) {
  json out = json::object();
  std::mutex mu;
  std::vector<std::thread> threads;
  for (const auto& name : names) {
    threads.emplace_back([&, name] {
      LocationInfo loc{name, LocationLabel(name)};
      json r = ReplicateOne(s, from, loc, mirror);
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
  return ReplicateToLocations(s, local, names, true);
}

}  // namespace stb
