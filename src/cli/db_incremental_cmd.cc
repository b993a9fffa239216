// `schedule run db-incremental` (DB_INCREMENTAL_INTERVAL): a CockroachDB backup layer with revision
// history on the collection's newest chain, recorded in the catalog as a database incremental and
// alerted on like any run, its layer's end the database's recovery point in that collection. No
// snapshot: a database-only one would become `latest`. With COCKROACH_NATIVE_SCHEDULE the run
// only makes sure CockroachDB's own schedule exists and alerts when its newest job failed.
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "cloud/locations.h"
#include "components/database/database.h"
#include "components/database/database_component.h"
#include "core/env.h"
#include "core/log.h"
#include "monitor/recovery_point.h"

namespace stb {

using json = nlohmann::json;

namespace {

// The metric label of the collection the layer went to: the cloud location's own ("s3_primary"),
// or cockroach_nodelocal / cockroach_uri for a place that is none of ours.
std::string CollectionLabel(const Settings& s) {
  auto c = CockroachCollectionOf(s);
  std::string kind = c.ok() ? c->kind : "uri";
  const LocationSpec* l = kind == "s3" || kind == "azure" || kind == "gcs" ? FindLocation(kind) : nullptr;
  return l ? std::string(l->label) : "cockroach_" + kind;
}

}  // namespace

int RunDbIncremental(const Settings& s) {
  InitLog(s.log_dir, "backup.log");
  double start = NowSeconds();
  json r;
  auto repo = OpenRepository(s, "local");  // the encryption passphrase is derived from its key
  auto opt = repo.ok() ? DatabaseOptionsOf(s, **repo) : StatusOr<DatabaseOptions>(repo.status());
  if (s.db_host.empty()) opt = InvalidArgument("db-incremental needs a database: set DB_HOST");
  r = opt.ok() ? CockroachIncremental(*opt) : json{{"success", false}, {"error", opt.status().message()}};
  bool ok = r.value("success", false);
  r["duration_seconds"] = NowSeconds() - start;
  BackupRecord rec{"db-incremental:" + r.value("job_id", std::string("none")),
                   "database",
                   "incremental",
                   ok ? "success" : "failed",
                   start,
                   r["duration_seconds"].get<double>(),
                   r.value("size_bytes", uint64_t{0})};
  UpdateCatalogBestEffort(s.state_dir,
                          [&](Catalog& c) { return RecordDbIncremental(c, rec, r, {CollectionLabel(s)}); });
  if (ok && r.contains("native_schedule")) {
    LogInfo("db-incremental: CockroachDB's schedule " + r["native_schedule"].value("label", "") +
            (r["native_schedule"].value("created", false) ? " created" : " in place"));
  } else if (ok) {
    LogInfo("db-incremental: " + r.value("cockroach_backup", "") + " now reaches " + r.value("recovery_point", ""));
  } else {
    LogError("db-incremental failed: " + r.value("error", ""));
  }
  if (!ok || s.alert_on_success) {
    Alert a;
    a.event = ok ? "backup_succeeded" : "backup_failed";
    a.severity = ok ? "info" : "critical";
    a.components = {"database"};
    a.error = r.value("error", "");
    a.details = {{"type", "db-incremental"}, {"recovery_point", r.value("recovery_point", "")}};
    NotifyBestEffort(WebhookOf(s), a);
  }
  PrintJson(r);
  return ok ? 0 : 1;
}

}  // namespace stb
