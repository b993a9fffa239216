#include "restorer/restorer.h"

#include <algorithm>
#include <chrono>

#include "core/log.h"
#include "core/progress.h"
#include "repository/lock.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

bool Wanted(const RestoreRequest& req, std::string_view name) {
  return req.components.empty() ||
         std::find(req.components.begin(), req.components.end(), name) != req.components.end();
}

// Restores the wanted components of one snapshot into report (components, restore_order); false
// when any failed.
bool RestoreComponents(const ComponentRegistry& registry, RestoreContext& ctx, const SnapshotRef& snap,
                       const RestoreRequest& req, const std::vector<std::string>& index_problems,
                       RestoreReport& report) {
  bool ok = true;
  static const json kNone;
  const json& entries = snap.doc.contains("components") ? snap.doc.at("components") : kNone;
  for (Component* c : registry.RestoreOrder()) {
    std::string name(c->name());
    if (!Wanted(req, name)) continue;
    if (!entries.is_object() || !entries.contains(name) || !entries[name].is_object()) {
      if (!req.components.empty()) {  // asked for by name: its absence is a failure
        ComponentReport missing;
        missing.error = "backup " + snap.backup_id + " does not contain " + name;
        report.components[name] = missing;
        ok = false;
      }
      continue;
    }
    if (req.stop_requested && req.stop_requested()) {
      report.error = "stopped before " + name + ": the restore did not complete";
      LogError("restore: " + *report.error);
      return false;
    }
    double c0 = NowSeconds();
    ComponentReport r = c->Restore(entries[name], ctx);
    r.duration_seconds = NowSeconds() - c0;
    if (!r.success) {
      ok = false;
      if (!index_problems.empty()) r.details["damaged_index"] = index_problems;
      LogError(name + ": " + r.error.value_or("failed"));
    } else {
      LogInfo(name + ": restored and verified");
    }
    report.components[name] = std::move(r);
    report.restore_order.push_back(name);
  }
  return ok;
}

// The newest snapshot whose database entry is a physical backup that ended before t (or is a
// CockroachDB one).
StatusOr<SnapshotRef> LatestPhysicalBefore(Repository& repo, double t) {
  ASSIGN_OR_RETURN(auto snaps, ListSnapshots(repo, nullptr));
  std::optional<SnapshotRef> best;
  double earliest = 0;
  for (auto& snap : snaps) {
    const json* db = snap.doc.contains("components") ? &snap.doc["components"] : nullptr;
    if (!db || !db->contains("database")) continue;
    // CockroachDB: the restore finds the chain holding t in the collection; any snapshot of it will do.
    if ((*db)["database"].value("kind", "") == "cockroachdb") best = std::move(snap);
    if ((*db)["database"].value("kind", "") != "postgresql-physical") continue;
    double end = (*db)["database"].value("end_time_unix", 0.0);
    if (earliest == 0 || end < earliest) earliest = end;
    if (end < t) best = std::move(snap);  // oldest first: the last match is the newest
  }
  if (best) return *best;
  if (earliest == 0) return NotFound("no physical database backup in the repository to recover to --target-time");
  return NotFound("no physical database backup ended before --target-time: the earliest recoverable time is " +
                  IsoTimestamp(earliest));
}

}  // namespace

StatusOr<RestoreReport> RestoreBackup(const ComponentRegistry& registry, const Settings& s,
                                      const RepositoryOpener& open, const RestoreRequest& req) {
  double t_start = NowSeconds();
  LogInfo("restore " + req.backup_id + " from " + req.location + " starting");
  for (const auto& name : req.components) {
    if (!registry.Find(name)) {
      return InvalidArgument("--components: unknown component '" + name + "' (known: " + registry.Names() + ")");
    }
  }
  ASSIGN_OR_RETURN(auto repo, open(req.location));
  std::vector<std::string> index_problems;
  // The lock before the index, so that a prune cannot move the packs the loaded index names.
  ASSIGN_OR_RETURN(auto lock, LockAndLoadIndex(*repo, false, std::chrono::seconds(60), &index_problems));
  for (const auto& p : index_problems) LogError("damaged index: " + p);
  ASSIGN_OR_RETURN(SnapshotRef snap, req.backup_id == "latest" && req.physical_before_unix
                                         ? LatestPhysicalBefore(*repo, *req.physical_before_unix)
                                         : FindSnapshot(*repo, req.backup_id));

  RestoreReport report;
  report.backup_id = snap.backup_id;
  report.restore_location = req.location;
  Progress progress;
  progress.phase = "restore " + snap.backup_id;
  bool ok = index_problems.empty();
  {
    ProgressPrinter printer(progress, req.progress);
    RestoreContext ctx{*repo, s, req.options, progress};
    ok &= RestoreComponents(registry, ctx, snap, req, index_problems, report);
  }
  double t_end = NowSeconds();
  report.start_time = IsoTimestamp(t_start);
  report.end_time = IsoTimestamp(t_end);
  report.rto_seconds = t_end - t_start;
  if (!req.options.target.empty()) report.target = req.options.target;
  report.errors = index_problems;
  if (report.components.empty() && !report.error) report.error = "nothing was restored";
  report.overall_success = ok && !report.components.empty();
  LogInfo("restore " + snap.backup_id + (report.overall_success ? " succeeded" : " failed"));
  return report;
}

}  // namespace stb
