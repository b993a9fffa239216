// `check [--read-data[=PERCENT]]`: verifies the repository's structure and, optionally, its data;
// prints a JSON summary and exits non-zero when anything is damaged.
#include <cstdio>

#include "checker/checker.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/recovery_state.h"
#include "core/log.h"
#include "repository/lock.h"

namespace stb {

namespace {

// The recovery windows (recorded for backup_recovery_window_seconds, so the metric is fresh
// without `snapshots`), and WAL wal-receive lost that no physical base backup has healed: the
// recoverable window ended there, which check must not pass over in silence.
void CheckRecoveryState(const Settings& s, Repository& repo, const std::string& location, CheckResult& r) {
  auto snaps = ListSnapshots(repo, nullptr);
  if (!snaps.ok()) return;  // CheckRepository named the damage
  std::vector<std::string> errors;
  auto windows = RefreshRecoveryWindows(s, repo, *snaps, location, errors);
  for (const auto& e : errors) r.warnings.push_back("recovery window: " + e);
  if (!windows.empty()) r.report["recovery_windows"] = RecoveryWindowsJson(windows);
  auto lost = UnhealedLosses(s, windows);
  if (!lost.ok()) {
    r.errors.push_back("the record of lost WAL: " + lost.status().message());
    return;
  }
  for (const auto& l : *lost) {
    r.errors.push_back(DescribeWalLoss(l) +
                       ", and no physical base backup has ended since: run `backup full` with "
                       "DB_BACKUP_METHOD=physical (schedule does it at its next run)");
    r.report["wal_slot_lost"].push_back(DescribeWalLoss(l));
  }
}

}  // namespace

int RunCheck(const Settings& s, const CheckArgs& a) {
  InitLog(s.log_dir, "backup.log");
  auto repo = OpenRepository(s, a.location);
  if (!repo.ok()) return Fail(repo.status());
  auto lock = RepoLock::Acquire(**repo, false);
  if (!lock.ok()) return Fail(lock.status());
  Progress progress;
  CheckOptions opt;
  opt.read_data = a.read_data;
  opt.read_data_percent = a.percent;
  opt.workers = s.EffectiveWorkers();
  CheckResult r;
  {
    ProgressPrinter printer(progress, true);
    r = CheckRepository(**repo, opt, progress);
  }
  CheckRecoveryState(s, **repo, a.location, r);
  for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : r.errors) {
    std::fprintf(stderr, "damaged: %s\n", e.c_str());
    LogError("check: " + e);
  }
  LogInfo(std::string("check ") + (r.ok() ? "passed" : "found damage"));
  PrintJson(r.report);
  return r.ok() ? 0 : 1;
}

}  // namespace stb
