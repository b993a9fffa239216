// `forget` and `prune`: the retention policy applied to the backups, and the data no backup
// needs removed. Both take the exclusive lock, and refuse at once while a backup, restore or
// check holds the repository (a lock whose process is gone is cleared instead).
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/maintenance.h"
#include "cli/run_alerts.h"
#include "core/log.h"
#include "maintenance/forget.h"
#include "maintenance/prune.h"
#include "repository/lock.h"

namespace stb {

using json = nlohmann::json;

StatusOr<RetentionConfig> RetentionOf(const Settings& s) {
  RetentionConfig c;
  ASSIGN_OR_RETURN(c.full, ParsePolicySpec("BACKUP_RETENTION_FULL", s.retention_full));
  ASSIGN_OR_RETURN(c.incremental, ParsePolicySpec("BACKUP_RETENTION_INCREMENTAL", s.retention_incremental));
  if (c.full.Empty() && c.incremental.Empty()) {
    return InvalidArgument("BACKUP_RETENTION_FULL and BACKUP_RETENTION_INCREMENTAL are both empty: no policy to apply");
  }
  return c;
}

StatusOr<std::unique_ptr<RepoLock>> LockForMaintenance(Repository& repo, const std::string& what,
                                                       std::chrono::seconds wait) {
  auto lock = RepoLock::Acquire(repo, true, wait);
  if (!lock.ok()) return Unavailable(what + " refuses to run: " + lock.status().message());
  return lock;
}

StatusOr<json> ForgetAndPrune(Repository& repo, RepoLock& lock, const RetentionConfig& policy, bool by_type,
                              bool dry_run, bool prune) {
  Progress progress;
  ASSIGN_OR_RETURN(json report, Forget(repo, policy, by_type, dry_run));
  if (prune) {
    PruneOptions po;
    po.dry_run = dry_run;
    po.lock = &lock;
    if (dry_run && report.contains("remove")) {
      for (const auto& r : report["remove"]) po.forgotten.push_back(r.value("backup_id", ""));
    }
    ASSIGN_OR_RETURN(report["prune"], Prune(repo, po, progress));
  }
  return report;
}

StatusOr<json> RetentionAt(const Settings& s, const std::string& location, const RetentionConfig& policy,
                           std::chrono::seconds wait) {
  ASSIGN_OR_RETURN(auto repo, OpenRepository(s, location));
  ASSIGN_OR_RETURN(auto lock, LockForMaintenance(*repo, "retention at " + location, wait));
  return ForgetAndPrune(*repo, *lock, policy, true, false, true);
}

namespace {

int ForgetOnce(const Settings& s, const ForgetArgs& a) {
  InitLog(s.log_dir, "prune.log");
  RetentionConfig policy;
  if (a.explicit_policy) {
    if (a.policy.Empty()) return Fail(InvalidArgument("forget: no --keep-* option keeps anything"));
    policy.full = a.policy;
  } else {
    auto p = RetentionOf(s);
    if (!p.ok()) return Fail(p.status());
    policy = *p;
  }
  // Each location forgets and prunes its own snapshots under its own lock: deletions are never
  // copied from another location.
  auto repo = OpenRepository(s, a.location);
  if (!repo.ok()) return Fail(repo.status());
  auto lock = LockForMaintenance(**repo, a.prune ? "forget --prune" : "forget", std::chrono::seconds(0));
  if (!lock.ok()) return Fail(lock.status());
  auto report = ForgetAndPrune(**repo, **lock, policy, !a.explicit_policy, a.dry_run, a.prune);
  if (!report.ok()) return Fail(report.status());
  PrintJson(*report);
  return 0;
}

int PruneOnce(const Settings& s, const PruneArgs& a) {
  InitLog(s.log_dir, "prune.log");
  auto repo = OpenRepository(s, a.location);
  if (!repo.ok()) return Fail(repo.status());
  auto lock = LockForMaintenance(**repo, "prune", std::chrono::seconds(0));
  if (!lock.ok()) return Fail(lock.status());
  Progress progress;
  PruneOptions po{a.dry_run, a.repack_unused_percent, lock->get()};
  auto report = Prune(**repo, po, progress);
  if (!report.ok()) return Fail(report.status());
  PrintJson(*report);
  return 0;
}

}  // namespace

int RunForget(const Settings& s, const ForgetArgs& a) {
  int rc = ForgetOnce(s, a);
  if (!a.dry_run)
    AlertCommandOutcome(s, a.prune ? "prune" : "forget", rc == 0, LastFailure(), "", {{"location", a.location}});
  return rc;
}

int RunPrune(const Settings& s, const PruneArgs& a) {
  int rc = PruneOnce(s, a);
  if (!a.dry_run) AlertCommandOutcome(s, "prune", rc == 0, LastFailure(), "", {{"location", a.location}});
  return rc;
}

}  // namespace stb
