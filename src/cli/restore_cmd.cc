// `restore BACKUP_ID [local]`: restores the components of one backup in the guide's order
// (restorer/), prints the report with rto_seconds, records it in the catalog and alerts.
#include <algorithm>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "components/component.h"
#include "components/database/pg_recovery_conf.h"
#include "core/log.h"
#include "repository/wal_store.h"
#include "restorer/restorer.h"

namespace stb {

Status ApplyRecoveryArgs(const RestoreArgs& a, RestoreOptions& o) {
  if (!a.target_time.empty()) {
    ASSIGN_OR_RETURN(o.target_time_unix, ParseTargetTime(a.target_time));
    o.recovery_target = "time";
  } else if (!a.target_lsn.empty()) {
    RETURN_IF_ERROR(ParseLsn(a.target_lsn).status().Context("--target-lsn '" + a.target_lsn + "' (X/Y in hex)"));
    o.recovery_target = "lsn";
    o.target_lsn = a.target_lsn;
  } else {
    o.recovery_target = a.immediate ? "immediate" : "latest";
  }
  for (const auto& m : a.tablespace_map) {
    size_t eq = m.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == m.size() || m.find_first_not_of("0123456789") != eq) {
      return InvalidArgument("--tablespace-map '" + m + "': expected OID=DIR");
    }
  }
  o.target_dir = a.target_dir;
  o.tablespace_map = a.tablespace_map;
  o.pg_port = a.pg_port;
  o.archive_preserve = a.archive_mode == "preserve";
  o.stop_after = a.stop_after;
  return Status::Ok();
}

int RunRestore(const Settings& s, const RestoreArgs& a) {
  InitLog(s.log_dir, "restore.log");
  RestoreRequest req{.backup_id = a.backup_id, .location = a.location, .components = a.components};
  req.options = {.target = a.target,
                 .target_db = a.target_db,
                 .live = a.live,
                 .sync = a.sync,
                 .includes = a.includes,
                 .excludes = a.excludes};
  if (Status st = ApplyRecoveryArgs(a, req.options); !st.ok()) return Fail(st);
  if (a.latest) req.options.redis_stream = "latest";
  if (!a.target_time.empty()) req.options.redis_stream = "time";
  // The newest physical database backup before the time, when the database is restored at all.
  const bool database = a.components.empty() ||
                        std::find(a.components.begin(), a.components.end(), "database") != a.components.end();
  if (req.options.recovery_target == "time" && database) req.physical_before_unix = req.options.target_time_unix;
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
