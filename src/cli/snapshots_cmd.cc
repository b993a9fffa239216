// `snapshots` (alias `list`): the backups in the repository, as a table or JSON.
#include <algorithm>
#include <cstdio>

#include "catalog/catalog.h"
#include "checker/recovery_window.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/recovery_state.h"
#include "components/database/database.h"
#include "core/env.h"
#include "monitor/recovery_point.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

// The point-in-time windows of the physical backups; the local ones also feed
// backup_recovery_window_seconds through the catalog.
std::vector<RecoveryWindow> Windows(const Settings& s, Repository& repo, const std::vector<SnapshotRef>& snaps,
                                    const std::string& location) {
  std::vector<std::string> errors;
  auto windows = RefreshRecoveryWindows(s, repo, snaps, location, errors);
  for (const auto& e : errors) std::fprintf(stderr, "warning: recovery window: %s\n", e.c_str());
  return windows;
}

// The windows a backup recovers into.
json WindowsOf(const std::vector<RecoveryWindow>& windows, const std::string& backup_id) {
  std::vector<RecoveryWindow> mine;
  for (const auto& w : windows) {
    if (std::find(w.backup_ids.begin(), w.backup_ids.end(), backup_id) != w.backup_ids.end()) mine.push_back(w);
  }
  return RecoveryWindowsJson(mine);
}

// backup_recovery_point_seconds as a listing: every (component, location) the catalog knows.
int PrintRecoveryPoints(const Settings& s, bool as_json) {
  auto catalog = Catalog::Open(s.state_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  auto summary = (*catalog)->Summary();
  if (!summary.ok()) return Fail(summary.status());
  const double now = Env::Default().NowSeconds();
  json points = json::array();
  for (const auto& [key, at] : RecoveryPoints(*summary)) {
    points.push_back({{"component", key.first},
                      {"location", key.second},
                      {"time", IsoTimestamp(at)},
                      {"time_unix", at},
                      {"age_seconds", std::max(0.0, now - at)}});
  }
  // COCKROACH_NATIVE_SCHEDULE: CockroachDB's own schedule holds the layers; show how it is doing.
  json schedule;
  if (s.cockroach_native_schedule && !s.db_host.empty()) {
    auto repo = OpenRepository(s, "local");
    auto opt = repo.ok() ? DatabaseOptionsOf(s, **repo) : StatusOr<DatabaseOptions>(repo.status());
    schedule =
        opt.ok() ? CockroachNativeScheduleState(*opt) : json{{"success", false}, {"error", opt.status().message()}};
  }
  if (as_json) {
    json out = {{"recovery_points", points}};
    if (!schedule.is_null()) out["cockroach_schedule"] = schedule;
    PrintJson(out);
    return 0;
  }
  if (!schedule.is_null()) {
    std::string job = schedule.contains("latest_job") ? ", newest job " + schedule["latest_job"].value("job_id", "") +
                                                            " " + schedule["latest_job"].value("status", "")
                                                      : "";
    std::printf("CockroachDB schedule %s: %s%s\n", schedule.value("label", "").c_str(),
                schedule.contains("error") ? ("problem: " + schedule.value("error", "")).c_str() : "ok", job.c_str());
  }
  std::printf("%-16s %-18s %-28s %12s\n", "COMPONENT", "LOCATION", "RECOVERS TO", "AGE S");
  for (const auto& p : points) {
    std::printf("%-16s %-18s %-28s %12.0f\n", p["component"].get<std::string>().c_str(),
                p["location"].get<std::string>().c_str(), p["time"].get<std::string>().c_str(),
                p["age_seconds"].get<double>());
  }
  return 0;
}

}  // namespace

int RunSnapshots(const Settings& s, bool as_json, const std::string& location, bool recovery_points) {
  auto repo = OpenRepository(s, location);
  if (!repo.ok()) return Fail(repo.status());
  std::vector<std::string> problems;
  auto snaps = ListSnapshots(**repo, &problems);
  if (!snaps.ok()) return Fail(snaps.status());
  for (const auto& p : problems) std::fprintf(stderr, "warning: damaged snapshot %s\n", p.c_str());
  auto windows = Windows(s, **repo, *snaps, location);
  if (recovery_points) return PrintRecoveryPoints(s, as_json);
  json out = json::array();
  for (const auto& sn : *snaps) {
    static const json kEmpty = json::object();
    auto rit = sn.doc.find("report");
    const json& rep = rit != sn.doc.end() && rit->is_object() ? *rit : kEmpty;
    auto cit = rep.find("components");
    const json& rcomps = cit != rep.end() && cit->is_object() ? *cit : kEmpty;
    json comps = json::array();
    uint64_t size = 0;
    for (const auto& [name, c] : rcomps.items()) {
      if (c.value("status", "") == "skipped") continue;
      comps.push_back(name);
      size += c.value("size_bytes", uint64_t{0});
    }
    out.push_back({{"backup_id", sn.backup_id},
                   {"type", sn.doc.value("type", "")},
                   {"parent", sn.doc.value("parent", json(nullptr))},
                   {"start_time", sn.doc.value("start_time", "")},
                   {"hostname", sn.doc.value("hostname", "")},
                   {"components", comps},
                   {"size_bytes", size},
                   {"overall_success", rep.value("overall_success", false)},
                   {"object", sn.object}});
    json w = WindowsOf(windows, sn.backup_id);
    if (!w.empty()) out.back()["recovery_window"] = w;
  }
  if (as_json) {
    PrintJson(out);
    return 0;
  }
  std::printf("%-16s %-12s %-26s %-16s %12s  %s\n", "BACKUP ID", "TYPE", "START", "HOST", "SIZE MiB", "COMPONENTS");
  for (const auto& o : out) {
    std::string comps;
    for (const auto& c : o["components"]) comps += (comps.empty() ? "" : ",") + c.get<std::string>();
    std::printf("%-16s %-12s %-26s %-16s %12.1f  %s%s\n", o["backup_id"].get<std::string>().c_str(),
                o["type"].get<std::string>().c_str(), o["start_time"].get<std::string>().c_str(),
                o["hostname"].get<std::string>().c_str(), o["size_bytes"].get<double>() / 1048576.0, comps.c_str(),
                o["overall_success"].get<bool>() ? "" : "  (failed)");
  }
  std::printf("%zu backup(s)\n", out.size());
  for (const auto& w : RecoveryWindowsJson(windows)) {
    std::string tlis;
    for (const auto& t : w["timeline_path"]) tlis += (tlis.empty() ? "" : " -> ") + std::to_string(t.get<uint32_t>());
    std::printf("recovery window: cluster %s timeline%s %s, %s to %s (%s)\n", w["cluster"].get<std::string>().c_str(),
                w["timeline_path"].size() > 1 ? "s" : "", tlis.c_str(),
                w["from_time"].is_string() ? w["from_time"].get<std::string>().c_str() : "?",
                w["to_time"].is_string() ? w["to_time"].get<std::string>().c_str() : "?",
                w["to_lsn"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace stb
