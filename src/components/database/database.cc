#include "components/database/database.h"

#include "components/database/pg_physical_restore.h"

#include <cstdlib>

#include "cloud/locations.h"
#include "core/file_util.h"
#include "repository/repository.h"
#include "retention/policy.h"

namespace stb {

using json = nlohmann::json;

namespace {

class DatabaseComponent : public Component {
 public:
  std::string_view name() const override { return "database"; }

  std::string MissingSetting(const Settings& s) const override { return s.db_host.empty() ? "DB_HOST" : ""; }

  ComponentBackup Backup(BackupContext& ctx) override {
    DatabaseBackupResult r;
    auto opt = DatabaseOptionsOf(ctx.settings, ctx.repo);
    if (opt.ok()) {
      r = BackupDatabase(ctx.repo, ctx.saver, *opt, ctx.type, ctx.progress);
    } else {
      r.report = {{"type", ctx.type}, {"success", false}, {"error", opt.status().message()}};
    }
    ComponentBackup b{std::move(r.entry), ComponentReport::FromJson(r.report)};
    b.report.success = r.success;
    return b;
  }

  ComponentReport Restore(const json& entry, RestoreContext& ctx) override {
    if (entry.value("kind", "") == "postgresql-physical") {
      return ComponentReport::FromJson(RestorePhysical(ctx.repo, entry, ctx.settings, ctx.options, ctx.progress));
    }
    auto opt = DatabaseOptionsOf(ctx.settings, ctx.repo);
    if (opt.ok() && ctx.options.recovery_target == "time") opt->crdb_target_time = ctx.options.target_time_unix;
    json r = opt.ok() ? RestoreDatabase(ctx.repo, entry, *opt, ctx.options.target_db, ctx.progress)
                      : json{{"success", false}, {"error", opt.status().message()}};
    return ComponentReport::FromJson(r);
  }

  void VisitBlobs(Repository& repo, const json& entry, const std::string& prefix, const BlobVisitor& visit,
                  std::vector<std::string>& errors) override {
    std::string kind = entry.value("kind", "");
    if (kind == "postgresql") {
      VisitIdList(entry.contains("blobs") ? entry["blobs"] : json(), prefix, "database", "dump", visit, errors);
    } else if (kind == "postgresql-physical") {
      VisitTreeBlobs(repo, entry, prefix, "database", "tree", visit, errors);
      VisitIdList(entry.contains("manifest") ? entry["manifest"] : json(), prefix, "database", "backup manifest", visit,
                  errors);
    } else if (kind != "cockroachdb") {  // the cluster's own backup lives in its collection, not in our packs
      errors.push_back(prefix + "database: unknown component kind '" + kind + "'");
    }
  }
};

// The span BACKUP_RETENTION_INCREMENTAL keeps incrementals for ("within=1d"), roughly in seconds
// (a month 30 days); 0 when it keeps them by count or cannot be read (checked where it is used).
double RetentionWithinSeconds(const std::string& spec) {
  auto p = ParsePolicySpec("BACKUP_RETENTION_INCREMENTAL", spec);
  if (!p.ok() || p->within.empty()) return 0;
  auto d = ParseWithin(p->within);
  if (!d.ok()) return 0;
  return ((d->years * 365.0 + d->months * 30.0 + d->days) * 24 + d->hours) * 3600;
}

}  // namespace

StatusOr<DatabaseOptions> DatabaseOptionsOf(const Settings& s, const Repository& repo) {
  DatabaseOptions o;
  o.endpoint = {s.db_host, s.db_port, s.db_name, s.db_user, s.db_password, s.db_sslmode};
  o.engine = s.db_engine;
  o.pg_bin_dir = s.db_pg_bin_dir;
  o.restore_jobs = s.db_restore_jobs;
  o.checksums = s.db_checksums;
  o.backup_method = s.db_backup_method;
  o.wal_source = s.db_wal_source;
  o.wal_slot = s.wal_slot;
  o.wal_wait_seconds = s.db_wal_wait_seconds;
  o.max_rate_kb = s.db_max_rate_kb;
  o.workers = s.EffectiveWorkers();
  if (const char* tmp = std::getenv("TMPDIR")) o.staging_dir = tmp;
  ASSIGN_OR_RETURN(o.crdb, CockroachCollectionOf(s));
  o.crdb_passphrase = repo.DeriveSecretHex("cockroach backup passphrase");
  o.crdb_incremental_interval = s.db_incremental_interval;
  o.crdb_native_schedule = s.cockroach_native_schedule;
  o.crdb_history_seconds = RetentionWithinSeconds(s.retention_incremental);
  return o;
}

std::unique_ptr<Component> NewDatabaseComponent() { return std::make_unique<DatabaseComponent>(); }

}  // namespace stb
