// `replicate [--from LOC] [--to LOC]... [--delete [--force]]`: copies what the target locations lack from the
// source (local by default, to every configured cloud location): the repair after an outage.
#include <algorithm>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/replication.h"
#include "cli/run_alerts.h"
#include "cloud/locations.h"
#include "core/log.h"
#include "repository/lock.h"

namespace stb {

namespace {

int ReplicateOnce(const Settings& s, const ReplicateArgs& a, nlohmann::json& report) {
  InitLog(s.log_dir, "backup.log");
  std::vector<std::string> to = a.to;
  if (to.empty()) {
    for (const auto& loc : ConfiguredLocations(s)) {
      if (loc.name != a.from) to.push_back(loc.name);
    }
    if (a.from != "local") to = {"local"};
  }
  if (to.empty()) {
    return Fail(
        InvalidArgument("no location to replicate to: configure BACKUP_S3_BUCKET, BACKUP_AZURE_CONTAINER or "
                        "BACKUP_GCS_BUCKET, or name one with --to"));
  }
  if (a.force && !a.delete_extra) return Fail(InvalidArgument("--force only applies with --delete"));
  if (std::find(to.begin(), to.end(), a.from) != to.end()) {
    return Fail(InvalidArgument("--to " + a.from + " is also --from"));
  }
  // Opening the source as a repository checks the key, and its shared lock keeps prune from
  // deleting packs while they are copied.
  auto repo = OpenRepository(s, a.from);
  if (!repo.ok()) return Fail(repo.status());
  auto lock = RepoLock::Acquire(**repo, false);
  if (!lock.ok()) return Fail(lock.status());
  LogInfo("replicate from " + a.from + " starting");
  nlohmann::json locations =
      ReplicateToLocations(s, (*repo)->storage(), to, a.delete_extra, a.force, LocationLabel(a.from));
  bool all = true;
  for (const auto& [label, l] : locations.items()) all &= l.value("status", "") == "ok";
  report = {{"from", LocationLabel(a.from)}, {"locations", locations}, {"overall_success", all}};
  PrintJson(report);
  return all ? 0 : 1;
}

}  // namespace

int RunReplicate(const Settings& s, const ReplicateArgs& a) {
  nlohmann::json report = nlohmann::json::object();
  int rc = ReplicateOnce(s, a, report);
  std::string error = LastFailure();
  if (report.contains("locations")) {
    for (const auto& [label, l] : report["locations"].items()) {
      if (l.value("status", "") != "ok" && error.empty()) error = label + ": " + l.value("error", "failed");
    }
  }
  AlertCommandOutcome(s, "replicate", rc == 0, error, "", {{"from", a.from}});
  return rc;
}

}  // namespace stb
