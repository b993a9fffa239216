// `restore BACKUP_ID [local]`: restores the components of one backup in the guide's order
// (configuration, database, redis, player saves, application), each verified before the next,
// and prints the report with rto_seconds.
#include <algorithm>

#include "browse/browse.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "components/files/file_backup.h"
#include "components/files/file_restore.h"
#include "components/redis/redis_component.h"
#include "core/log.h"
#include "core/progress.h"
#include "repository/lock.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

json RestoreFileComponent(Repository& repo, const Settings& s, const RestoreArgs& a, const std::string& comp,
                          const json& entry, Progress& progress) {
  auto tree = LoadTree(repo, entry);
  if (!tree.ok()) return {{"success", false}, {"error", tree.status().message()}};
  if (!a.includes.empty() || !a.excludes.empty()) *tree = SelectNodes(*tree, comp, a.includes, a.excludes);
  FileRestoreOptions opt;
  // Restoring many small files waits on file-system metadata more than on the CPU.
  opt.workers = s.workers > 0 ? s.workers : 2 * s.EffectiveWorkers();
  opt.sync = a.sync;
  if (!a.target.empty()) {
    opt.anchor = a.target;  // trusted; <component>/<root> beneath it are never followed
    for (const auto& root : tree->roots) opt.destinations[root.name] = a.target + "/" + comp + "/" + root.name;
  }
  json r = RestoreFiles(repo, *tree, opt, progress).report;
  json dests = json::array();
  for (const auto& root : tree->roots) {
    dests.push_back(opt.destinations.count(root.name) ? opt.destinations[root.name] : root.path);
  }
  r["restored_to"] = dests;
  return r;
}

}  // namespace

namespace {

int RestoreOnce(const Settings& s, const RestoreArgs& a, json& report) {
  double t_start = NowSeconds();
  InitLog(s.log_dir, "restore.log");
  LogInfo("restore " + a.backup_id + " from " + a.location + " starting");
  for (const auto& c : a.components) {
    if (std::find(kRestoreOrder.begin(), kRestoreOrder.end(), c) == kRestoreOrder.end()) {
      return Fail(InvalidArgument("--components: unknown component '" + c +
                                  "' (known: configuration, database, redis, player_saves, application)"));
    }
  }
  auto repo_or = OpenRepository(s, a.location);
  if (!repo_or.ok()) return Fail(repo_or.status());
  Repository& repo = **repo_or;
  std::vector<std::string> index_problems;
  // The lock before the index, so that a prune cannot move the packs the loaded index names.
  auto lock = LockAndLoadIndex(repo, false, std::chrono::seconds(60), &index_problems);
  if (!lock.ok()) return Fail(lock.status());
  for (const auto& p : index_problems) LogError("damaged index: " + p);
  auto snap = FindSnapshot(repo, a.backup_id);
  if (!snap.ok()) return Fail(snap.status());

  json components = json::object(), order = json::array();
  bool ok = index_problems.empty();
  Progress progress;
  progress.phase = "restore " + snap->backup_id;
  {
    ProgressPrinter printer(progress, a.progress);
    const json& entries = snap->doc["components"];
    for (const auto& comp : kRestoreOrder) {
      bool wanted =
          a.components.empty() || std::find(a.components.begin(), a.components.end(), comp) != a.components.end();
      if (!wanted) continue;
      if (!entries.is_object() || !entries.contains(comp) || !entries[comp].is_object()) {
        if (!a.components.empty()) {
          components[comp] = {{"success", false}, {"error", "backup " + snap->backup_id + " does not contain " + comp}};
          ok = false;
        }
        continue;
      }
      double c0 = NowSeconds();
      json r;
      std::string kind = entries[comp].value("kind", "");
      if (kind == "postgresql" || kind == "cockroachdb") {
        auto opt = DatabaseOptionsOf(s, repo);
        r = opt.ok() ? RestoreDatabase(repo, entries[comp], *opt, a.target_db, progress)
                     : json{{"success", false}, {"error", opt.status().message()}};
      } else if (kind == "redis" && a.live) {
        r = RestoreRedisLive(repo, entries[comp], RedisOptionsOf(s));
      } else if (kind == "redis") {
        r = RestoreRedis(repo, entries[comp], a.target.empty() ? s.redis_data_dir : a.target + "/redis",
                         RedisOptionsOf(s));
      } else {
        r = RestoreFileComponent(repo, s, a, comp, entries[comp], progress);
      }
      r["duration_seconds"] = NowSeconds() - c0;
      if (!r["success"].get<bool>()) {
        ok = false;
        if (!index_problems.empty()) r["damaged_index"] = index_problems;
        LogError(comp + ": " + r.value("error", "failed"));
      } else {
        LogInfo(comp + ": restored and verified");
      }
      components[comp] = r;
      order.push_back(comp);
    }
  }
  double t_end = NowSeconds();
  report = {{"backup_id", snap->backup_id},    {"start_time", IsoTimestamp(t_start)},
            {"end_time", IsoTimestamp(t_end)}, {"restore_location", a.location},
            {"rto_seconds", t_end - t_start},  {"components", components},
            {"restore_order", order},          {"overall_success", ok && !components.empty()}};
  if (!a.target.empty()) report["target"] = a.target;
  if (!index_problems.empty()) report["errors"] = index_problems;
  if (components.empty()) report["error"] = "nothing was restored";
  LogInfo("restore " + snap->backup_id + (report["overall_success"].get<bool>() ? " succeeded" : " failed"));
  UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) { return c.RecordRestoreReport(report, t_end); });
  PrintJson(report);
  return report["overall_success"].get<bool>() ? 0 : 1;
}

}  // namespace

int RunRestore(const Settings& s, const RestoreArgs& a) {
  json report = json::object();
  int rc = RestoreOnce(s, a, report);
  std::string error = report.value("error", LastFailure());
  if (report.contains("components")) {
    for (const auto& [comp, r] : report["components"].items()) {
      if (!r.value("success", false) && error.empty()) error = comp + ": " + r.value("error", "failed");
    }
  }
  AlertCommandOutcome(s, "restore", rc == 0, error, report.value("backup_id", a.backup_id),
                      {{"location", a.location}, {"rto_seconds", report.value("rto_seconds", 0.0)}});
  return rc;
}

}  // namespace stb
