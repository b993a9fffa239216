// `pg-recover DIR`: point-in-time recovery of a base backup laid down by other means (pg_basebackup
// -X none) from the WAL in the repository; the work is in components/database/pg_physical_restore.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "components/database/pg_physical_restore.h"
#include "core/log.h"

namespace stb {

int RunPgRecover(const Settings& s, const PgRecoverArgs& a) {
  InitLog(s.log_dir, "restore.log");
  RestoreOptions o;
  if (Status st = ApplyRecoveryArgs(a.target, o); !st.ok()) return Fail(st);
  if (!a.target.target_dir.empty() || !a.target.tablespace_map.empty()) {
    return Fail(InvalidArgument("pg-recover recovers DIR in place: --target-dir and --tablespace-map are restore's"));
  }
  auto repo = OpenRepository(s, a.location);
  if (!repo.ok()) return Fail(repo.status());
  LogInfo("pg-recover " + a.data_dir + " from " + a.location + " starting");
  nlohmann::json r = RecoverLaidDown(**repo, (*repo)->storage(), a.data_dir, s, o);
  bool ok = r.value("success", false);
  LogInfo("pg-recover " + a.data_dir + (ok ? " succeeded" : " failed: " + r.value("error", "")));
  PrintJson(r);
  return ok ? 0 : 1;
}

}  // namespace stb
