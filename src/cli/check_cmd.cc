// `check [--read-data[=PERCENT]]`: verifies the repository's structure and, optionally, its data;
// prints a JSON summary and exits non-zero when anything is damaged.
#include <cstdio>

#include "checker/checker.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/log.h"
#include "repository/lock.h"

namespace stb {

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
