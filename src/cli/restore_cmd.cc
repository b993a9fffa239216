// `restore BACKUP_ID [local]`: restores the components of one backup in the guide's order
// (restorer/), prints the report with rto_seconds, records it in the catalog and alerts.
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "components/component.h"
#include "core/log.h"
#include "restorer/restorer.h"

namespace stb {

int RunRestore(const Settings& s, const RestoreArgs& a) {
  InitLog(s.log_dir, "restore.log");
  RestoreRequest req{.backup_id = a.backup_id, .location = a.location, .components = a.components};
  req.options = {.target = a.target,
                 .target_db = a.target_db,
                 .live = a.live,
                 .sync = a.sync,
                 .includes = a.includes,
                 .excludes = a.excludes};
  req.progress = a.progress;
  auto report = RestoreBackup(
      Components(), s, [&](const std::string& location) { return OpenRepository(s, location); }, req);
  int rc = 1;
  if (!report.ok()) {
    Fail(report.status());
  } else {
    double t_end = NowSeconds();
    UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) { return c.RecordRestoreReport(*report, t_end); });
    PrintJson(report->ToJson());
    rc = report->overall_success ? 0 : 1;
  }
  AlertRestoreOutcome(s, a.location, a.backup_id, report);
  return rc;
}

}  // namespace stb
