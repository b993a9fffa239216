// CockroachDB: the cluster backs itself up with BACKUP ... INTO a collection on one of our
// locations (it writes from every node in parallel, which is how it scales past one machine);
// our snapshot records which backup that was and the row counts as of its timestamp.
#include <map>

#include "components/database/engines.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/redact.h"

namespace stb {

using json = nlohmann::json;

namespace {

std::vector<std::string> Secrets(const DatabaseOptions& opt) {
  std::vector<std::string> s = {opt.crdb_passphrase, opt.endpoint.password};
  for (const auto& [k, v] : opt.crdb.params) s.push_back(v);
  // As the URI carries them: percent-encoded (a key with '/' or '+') for the locations' own. A
  // server error may quote the URI it was sent.
  auto uri = CrdbCollectionUri(opt.crdb);
  if (uri.ok()) std::ranges::move(UriSecretValues(uri->sql), std::back_inserter(s));
  return s;
}

StatusOr<std::map<std::string, int64_t>> Counts(PgConnection& c, const std::string& db, const std::string& as_of) {
  ASSIGN_OR_RETURN(auto tables, c.Query(CrdbListTablesSql(db)));
  std::map<std::string, int64_t> out;
  for (const auto& t : tables) {
    ASSIGN_OR_RETURN(std::string n, c.QueryValue(CrdbCountSql(db, *t[0], *t[1], as_of)));
    ASSIGN_OR_RETURN(out[*t[0] + "." + *t[1]], ParseInt(n, 0, INT64_MAX, "row count of " + *t[0] + "." + *t[1]));
  }
  return out;
}

}  // namespace

DatabaseBackupResult BackupCockroach(const DatabaseOptions& opt, PgConnection& c, const std::string& type) {
  DatabaseBackupResult res;
  res.report["engine"] = "cockroachdb";
  auto fail = [&](const Status& st) {
    res.report["success"] = false;
    res.report["error"] = RedactSecrets(st.message(), Secrets(opt));
    return res;
  };
  auto collection = CrdbCollectionUri(opt.crdb);
  if (!collection.ok()) return fail(collection.status());
  // One timestamp for the backup and the counts, 10 s back as CockroachDB recommends (it
  // avoids contending with foreground traffic).
  auto as_of = c.QueryValue("SELECT (now() - INTERVAL '10s')::TIMESTAMP::STRING");
  if (!as_of.ok()) return fail(as_of.status());
  auto counts = Counts(c, opt.endpoint.name, *as_of);
  if (!counts.ok()) return fail(counts.status().Context("counting rows"));

  CrdbBackupSpec spec{opt.endpoint.name, *collection, *as_of, type == "incremental", true, opt.crdb_passphrase};
  CrdbStatement backup = CrdbBackupSql(spec);
  LogInfo("database: " + backup.shown);
  auto result = c.Query(backup.sql);
  if (!result.ok()) return fail(result.status().Context("BACKUP into " + collection->shown));
  auto backups = c.Query(CrdbShowBackupsSql(*collection).sql);
  if (!backups.ok() || backups->empty()) {
    return fail(backups.ok() ? NotFound("SHOW BACKUPS lists nothing after the backup") : backups.status());
  }
  // Subdirectories are named by time and listed in order: the last is the one just written
  // (for an incremental, the full backup its chain hangs on).
  std::string subdir = *backups->back()[0];

  json tables = json::array();
  int64_t rows = 0;
  for (const auto& [name, n] : *counts) {
    size_t dot = name.find('.');
    tables.push_back({{"schema", name.substr(0, dot)}, {"name", name.substr(dot + 1)}, {"rows", n}});
    rows += n;
  }
  uint64_t bytes = 0;
  if (!result->empty() && result->front().size() >= 6 && result->front()[5]) {
    // The size is only reported; an unreadable one is shown as 0 rather than failing the backup.
    auto n = ParseUint(*result->front()[5]);
    bytes = n.ok() ? *n : 0;
  }
  res.entry = {{"kind", "cockroachdb"},
               {"database", opt.endpoint.name},
               {"collection", collection->shown},
               {"location", opt.crdb.kind},
               {"subdir", subdir},
               {"as_of", *as_of},
               {"backup_type", type},
               {"job_id", result->empty() || !result->front()[0] ? "" : *result->front()[0]},
               {"size_bytes", bytes},
               {"tables", tables}};
  res.report["size_bytes"] = bytes;
  res.report["tables"] = tables.size();
  res.report["rows"] = rows;
  res.report["cockroach_backup"] = subdir;
  res.report["success"] = true;
  res.success = true;
  return res;
}

json RestoreCockroach(const json& entry, const DatabaseOptions& opt, const std::string& target) {
  json r = {{"success", false}, {"engine", "cockroachdb"}, {"database", target}};
  auto fail = [&](const Status& st) {
    r["error"] = RedactSecrets(st.message(), Secrets(opt));
    return r;
  };
  auto collection = CrdbCollectionUri(opt.crdb);
  if (!collection.ok()) return fail(collection.status());
  if (collection->shown != entry.value("collection", "")) {
    LogWarn("database: restoring from " + collection->shown + ", the backup was written to " +
            entry.value("collection", "?"));
  }
  auto conn = PgConnection::Connect(opt.endpoint, "defaultdb");
  if (!conn.ok()) return fail(conn.status());
  PgConnection& c = **conn;
  // Restore under a temporary name first: the database it replaces stays until this succeeded.
  std::string staging = target + "_restoring";
  std::string db = entry.at("database").get<std::string>();
  CrdbRestoreSpec spec{db, entry.at("subdir"), *collection, entry.value("as_of", ""), staging, opt.crdb_passphrase};
  CrdbStatement restore = CrdbRestoreSql(spec);
  LogInfo("database: " + restore.shown);
  Status st = c.Exec(CrdbDropDatabaseSql(staging, true));
  if (st.ok()) st = c.Exec(restore.sql);
  if (!st.ok()) return fail(st.Context("RESTORE from " + collection->shown));
  auto exists = c.Query("SELECT 1 FROM [SHOW DATABASES] WHERE database_name = " + SqlString(target));
  if (!exists.ok()) return fail(exists.status());
  std::string replaced = target + "_replaced";
  if (!exists->empty()) st = c.Exec(CrdbRenameDatabaseSql(target, replaced));
  if (st.ok()) st = c.Exec(CrdbRenameDatabaseSql(staging, target));
  if (st.ok() && !exists->empty()) st = c.Exec(CrdbDropDatabaseSql(replaced));
  if (!st.ok()) return fail(st.Context("swapping the restored database in"));

  auto counts = Counts(c, target, "");
  if (!counts.ok()) return fail(counts.status().Context("verification"));
  json mismatches = json::array();
  for (const auto& t : entry.at("tables")) {
    std::string name = t.at("schema").get<std::string>() + "." + t.at("name").get<std::string>();
    auto it = counts->find(name);
    if (it == counts->end() || it->second != t.at("rows").get<int64_t>()) mismatches.push_back(name);
  }
  r["tables_verified"] = entry.at("tables").size();
  if (!mismatches.empty()) {
    r["mismatches"] = mismatches;
    r["error"] = "verification failed: row counts differ in " + mismatches[0].get<std::string>();
    return r;
  }
  r["success"] = true;
  return r;
}

}  // namespace stb
