#include "components/database/database_component.h"

#include <chrono>

#include "components/database/engines.h"
#include "core/log.h"
#include "core/redact.h"

namespace stb {

using json = nlohmann::json;

StatusOr<std::string> ResolveEngine(const std::string& version, const std::string& configured) {
  std::string detected = IsCockroachVersion(version) ? "cockroachdb" : "postgresql";
  if (configured.empty() || configured == detected) return detected;
  if (configured != "postgresql" && configured != "cockroachdb") {
    return InvalidArgument("DB_ENGINE '" + configured + "' is not postgresql or cockroachdb");
  }
  return InvalidArgument("DB_ENGINE is " + configured + " but the server is " + detected + " (" +
                         version.substr(0, version.find(' ', version.find(' ') + 1)) + "): fix DB_ENGINE or DB_HOST");
}

json CockroachIncremental(const DatabaseOptions& opt) {
  auto conn = PgConnection::Connect(opt.endpoint);
  auto version = conn.ok() ? (*conn)->QueryValue("SELECT version()") : StatusOr<std::string>(conn.status());
  auto engine = version.ok() ? ResolveEngine(*version, opt.engine) : StatusOr<std::string>(version.status());
  if (engine.ok() && *engine != "cockroachdb") {
    engine = InvalidArgument(
        "DB_INCREMENTAL_INTERVAL is for CockroachDB; this PostgreSQL database gets continuous "
        "protection from BACKUP_STREAMS=wal-receive");
  }
  if (!engine.ok()) {
    return {{"success", false}, {"error", RedactSecrets(engine.status().message(), {opt.endpoint.password})}};
  }
  return RunCockroachIncremental(opt, **conn);
}

json CockroachNativeScheduleState(const DatabaseOptions& opt) {
  auto conn = PgConnection::Connect(opt.endpoint);
  json st = conn.ok()
                ? CockroachScheduleState(opt, **conn)
                : json{{"label", CockroachScheduleLabel(opt)}, {"success", false}, {"error", conn.status().message()}};
  if (st.contains("error")) st["error"] = RedactSecrets(st["error"].get<std::string>(), CockroachSecrets(opt));
  if (st.contains("latest_job")) {
    st["latest_job"]["error"] = RedactSecrets(st["latest_job"].value("error", ""), CockroachSecrets(opt));
  }
  if (st.contains("schedules")) {
    for (auto& sc : st["schedules"]) sc["state"] = RedactSecrets(sc.value("state", ""), CockroachSecrets(opt));
  }
  return st;
}

namespace {

// DB_BACKUP_METHOD: physical when it can run (auto) or must (physical), else pg_dump; the
// fallback's warning names what to change.
DatabaseBackupResult BackupPostgresChoosing(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt,
                                            PgConnection& conn, Progress& progress) {
  std::string blocker = opt.backup_method == "logical" ? "" : PhysicalBackupBlocker(conn, opt.endpoint);
  // restore and dr-test recover a physical backup from WAL archived in the repository: auto takes
  // pg_dump until archive_command runs wal-push or wal-receive streams from WAL_SLOT (an explicit
  // DB_WAL_SOURCE is the operator's choice).
  if (opt.backup_method == "auto" && blocker.empty() && opt.wal_source == "auto") {
    json unused = json::array();
    if (ChooseWalSource(conn, "auto", opt.wal_slot, unused) != "archive") {
      blocker =
          "no WAL archiving (archive_mode on with archive_command running spacetime-backup wal-push, readable "
          "by DB_USER, or wal-receive active on slot " +
          opt.wal_slot + "): a physical backup is restored from archived WAL";
    }
  }
  if (opt.backup_method != "logical" && blocker.empty()) {
    return BackupPostgresPhysical(repo, saver, opt, conn, progress);
  }
  if (opt.backup_method == "physical") {
    DatabaseBackupResult res;
    res.report = {{"success", false}, {"method", "physical"}, {"error", "physical backup impossible: " + blocker}};
    return res;
  }
  DatabaseBackupResult res = BackupPostgres(repo, saver, opt, conn, progress);
  res.report["method"] = "logical";
  if (!blocker.empty()) {
    if (!res.report.contains("warnings")) res.report["warnings"] = json::array();
    res.report["warnings"].push_back("physical backup not possible, used pg_dump: " + blocker);
  }
  return res;
}

}  // namespace

DatabaseBackupResult BackupDatabase(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt,
                                    const std::string& type, Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  DatabaseBackupResult res;
  auto conn = PgConnection::Connect(opt.endpoint);
  auto version = conn.ok() ? (*conn)->QueryValue("SELECT version()") : StatusOr<std::string>(conn.status());
  auto engine = version.ok() ? ResolveEngine(*version, opt.engine) : StatusOr<std::string>(version.status());
  if (!engine.ok()) {
    res.report = {{"success", false}, {"error", RedactSecrets(engine.status().message(), {opt.endpoint.password})}};
  } else if (*engine == "cockroachdb") {
    res = BackupCockroach(opt, **conn, type);
  } else {
    res = BackupPostgresChoosing(repo, saver, opt, **conn, progress);
    if (!res.success) res.report["error"] = RedactSecrets(res.report.value("error", ""), {opt.endpoint.password});
  }
  res.report["type"] = type;
  res.report["database"] = opt.endpoint.name;
  res.report["duration_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (res.entry.is_object()) res.entry["duration_seconds"] = res.report["duration_seconds"];
  return res;
}

json RestoreDatabase(Repository& repo, const json& entry, const DatabaseOptions& opt, const std::string& target_db,
                     Progress& progress) {
  std::string target = target_db.empty() ? opt.endpoint.name : target_db;
  if (target.empty()) return {{"success", false}, {"error", "no database to restore into: set DB_NAME or --target-db"}};
  std::string kind = entry.value("kind", "");
  json r = kind == "cockroachdb"  ? RestoreCockroach(entry, opt, target)
           : kind == "postgresql" ? RestorePostgres(repo, entry, opt, target, progress)
                                  : json{{"success", false}, {"error", "unknown database backup kind '" + kind + "'"}};
  if (r.contains("error")) r["error"] = RedactSecrets(r["error"].get<std::string>(), {opt.endpoint.password});
  return r;
}

}  // namespace stb
