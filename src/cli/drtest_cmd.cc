// `dr-test [--scenario NAME]`: the disaster-recovery drill (drill/): restores the latest backup
// into scratch targets, verifies it, removes them; prints the report and alerts.
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "components/component.h"
#include "core/log.h"
#include "drill/drill.h"

namespace stb {

int RunDrTest(const Settings& s, const DrTestArgs& a) {
  InitLog(s.log_dir, "dr-test.log");
  DrillReport r = RunDrill(
      Components(), s, [&](const std::string& location) { return OpenRepository(s, location); }, a.scenario);
  PrintJson(r.ToJson());
  // As `restore` alerts when it runs on its own; not for a restore the drill was told to stop.
  if (r.restore && r.signal == 0) AlertRestoreOutcome(s, "local", r.backup_id.value_or(""), *r.restore);
  AlertCommandOutcome(s, "drill", r.overall_success, r.errors.empty() ? "" : r.errors[0], r.backup_id.value_or(""),
                      {{"scenario", a.scenario}, {"duration_seconds", r.duration_seconds}});
  return r.overall_success ? 0 : 1;
}

}  // namespace stb
