// `backup full|incremental [PARENT]`: backs up every configured component into one snapshot (the
// archiver), copies it to the other locations, prints the guide's JSON report, records it in
// the catalog and alerts.
#include "archiver/archiver.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/replication.h"
#include "cli/run_alerts.h"
#include "core/log.h"

namespace stb {

using json = nlohmann::json;

namespace {

// The catalog records *report when this returns (metrics); the caller alerts from it.
int BackupOnce(const Settings& s, const BackupArgs& a, BackupReport* report) {
  double t_start = NowSeconds();
  RecordBackupOnExit record_in_catalog(s.state_dir, report);
  InitLog(s.log_dir, "backup.log");
  LogInfo("backup " + a.type + " starting");
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  auto done = ArchiveBackup(**repo, s, Components(), {a.type, a.parent, a.progress, t_start});
  if (!done.ok()) return Fail(done.status());
  BackupReport& r = done->report;
  if (r.Stored()) {
    // The copies: each location on its own, in parallel. One that is down leaves the backup a
    // success (local has it), reported and logged; the next backup or `replicate` fills it.
    json locations = ReplicateToCopies(s, (*repo)->storage());
    locations["local"] = r.locations["local"];
    r.locations = locations;
    LogInfo("backup " + r.backup_id + (r.overall_success ? " succeeded" : " finished with failures") + ": " +
            r.ToJson().dump(-1, ' ', false, json::error_handler_t::replace));
  }
  PrintJson(r.ToJson());
  *report = std::move(r);
  return report->overall_success ? 0 : 1;
}

}  // namespace

int RunBackup(const Settings& s, const BackupArgs& a, json* report_out) {
  BackupReport report;
  int rc = BackupOnce(s, a, &report);
  json out = report.components.empty() ? json::object() : report.ToJson();
  // A backup that could not start has no report: its alert carries the error it failed with.
  if (rc != 0 && !report.error && report.components.empty()) {
    report.error = LastFailure();
    out["error"] = *report.error;
  }
  AlertBackupOutcome(s, a.type, report, rc == 0);
  if (report_out) *report_out = out;
  return rc;
}

}  // namespace stb
