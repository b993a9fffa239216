// CockroachDB: the cluster backs itself up with BACKUP ... INTO a collection on one of our
// locations (it writes from every node in parallel, which is how it scales past one machine);
// our snapshot records which backup that was and the row counts as of its timestamp.
#include <map>
#include <optional>

#include "components/database/cockroach_results.h"
#include "components/database/engines.h"
#include "components/database/pg_recovery_conf.h"
#include "core/env.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/redact.h"

namespace stb {

using json = nlohmann::json;

std::vector<std::string> CockroachSecrets(const DatabaseOptions& opt) {
  std::vector<std::string> s = {opt.crdb_passphrase, opt.endpoint.password};
  for (const auto& [k, v] : opt.crdb.params) s.push_back(v);
  // As the URI carries them: percent-encoded (a key with '/' or '+') for the locations' own. A
  // server error may quote the URI it was sent.
  auto uri = CrdbCollectionUri(opt.crdb);
  if (uri.ok()) std::ranges::move(UriSecretValues(uri->sql), std::back_inserter(s));
  return s;
}

namespace {

std::vector<std::string> Secrets(const DatabaseOptions& opt) { return CockroachSecrets(opt); }

// Every string in a server's answer (a job's error may quote the URI it was given).
void RedactAll(json& j, const std::vector<std::string>& secrets) {
  if (j.is_string()) {
    j = RedactSecrets(j.get<std::string>(), secrets);
  } else if (j.is_structured()) {
    for (auto& v : j) RedactAll(v, secrets);
  }
}

// DB_INCREMENTAL_INTERVAL: the layers carry revision history, which CockroachDB keeps gc.ttlseconds.
void WarnGcTtl(PgConnection& c, const DatabaseOptions& opt, json& report) {
  if (opt.crdb_incremental_interval.empty() || opt.crdb_history_seconds <= 0) return;
  auto w = CockroachGcTtlWarning(c, opt, opt.crdb_history_seconds,
                                 "the incrementals' retention (BACKUP_RETENTION_INCREMENTAL)");
  if (!w) return;
  if (!report.contains("warnings")) report["warnings"] = json::array();
  report["warnings"].push_back(RedactSecrets(*w, Secrets(opt)));
}

// COCKROACH_NATIVE_SCHEDULE: the schedule, created when missing; its state goes in the report.
void EnsureSchedule(PgConnection& c, const DatabaseOptions& opt, json& report) {
  if (!opt.crdb_native_schedule) return;
  json st = EnsureCockroachSchedule(opt, c);
  RedactAll(st, Secrets(opt));
  if (st.contains("error")) {
    if (!report.contains("warnings")) report["warnings"] = json::array();
    report["warnings"].push_back("native schedule: " + st["error"].get<std::string>());
    LogWarn("database: native schedule: " + st["error"].get<std::string>());
  }
  report["native_schedule"] = st;
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
  // The job row is only reported; an unreadable one shows as 0 bytes rather than failing the backup.
  auto job = result->empty() ? StatusOr<CrdbJob>(NotFound("no job row")) : ParseJobRow(result->front());
  uint64_t bytes = job.ok() ? job->bytes : 0;
  res.entry = {{"kind", "cockroachdb"},
               {"database", opt.endpoint.name},
               {"collection", collection->shown},
               {"location", opt.crdb.kind},
               {"subdir", subdir},
               {"as_of", *as_of},
               {"backup_type", type},
               {"job_id", job.ok() ? job->job_id : ""},
               {"size_bytes", bytes},
               {"tables", tables}};
  res.report["size_bytes"] = bytes;
  res.report["tables"] = tables.size();
  res.report["rows"] = rows;
  res.report["cockroach_backup"] = subdir;
  res.report["success"] = true;
  res.success = true;
  WarnGcTtl(c, opt, res.report);
  EnsureSchedule(c, opt, res.report);
  return res;
}

json RunCockroachIncremental(const DatabaseOptions& opt, PgConnection& c) {
  json r = {{"success", false}, {"engine", "cockroachdb"}, {"database", opt.endpoint.name}, {"type", "incremental"}};
  auto fail = [&](const Status& st) {
    r["error"] = RedactSecrets(st.message(), Secrets(opt));
    return r;
  };
  WarnGcTtl(c, opt, r);
  if (opt.crdb_native_schedule) {
    // CockroachDB's schedule takes the layers: this run only makes sure it exists and reports its
    // newest job, failing (and so alerting) when that job failed.
    json st = EnsureCockroachSchedule(opt, c);
    RedactAll(st, Secrets(opt));
    r["type"] = "native-schedule";
    r["native_schedule"] = st;
    if (st.contains("error")) return fail(Internal(st["error"].get<std::string>()));
    if (st.contains("latest_job")) r["job_id"] = st["latest_job"].value("job_id", "");
    r["success"] = true;
    return r;
  }
  auto coll = CrdbCollectionUri(opt.crdb);
  if (!coll.ok()) return fail(coll.status());
  auto before = c.Query(CrdbShowBackupsSql(*coll).sql);
  if (!before.ok()) return fail(before.status().Context("SHOW BACKUPS IN " + coll->shown));
  // Revision history in every layer: a restore can then go to any time the chain spans.
  CrdbBackupSpec spec{opt.endpoint.name, *coll, "-10s", !before->empty(), true, opt.crdb_passphrase};
  CrdbStatement backup = CrdbBackupSql(spec);
  LogInfo("database: " + backup.shown);
  auto result = c.Query(backup.sql);
  if (!result.ok()) return fail(result.status().Context("BACKUP into " + coll->shown));
  auto job = result->empty() ? StatusOr<CrdbJob>(NotFound("BACKUP answered no job row")) : ParseJobRow(result->front());
  if (!job.ok()) return fail(job.status());
  if (job->status != "succeeded") return fail(Internal("the BACKUP job " + job->job_id + " ended " + job->status));
  auto after = c.Query(CrdbShowBackupsSql(*coll).sql);
  auto subdirs = after.ok() ? ParseShowBackups(*after) : StatusOr<std::vector<std::string>>(after.status());
  if (!subdirs.ok() || subdirs->empty()) {
    return fail(subdirs.ok() ? NotFound("SHOW BACKUPS lists nothing after the backup") : subdirs.status());
  }
  auto rows = c.Query(CrdbShowLayersSql(subdirs->back(), *coll, opt.crdb_passphrase).sql);
  auto layers = rows.ok() ? ParseBackupLayers(*rows) : StatusOr<std::vector<CrdbLayer>>(rows.status());
  if (!layers.ok()) return fail(layers.status().Context("SHOW BACKUP FROM " + subdirs->back()));
  r["type"] = before->empty() ? "full" : "incremental";
  r["cockroach_backup"] = subdirs->back();
  r["job_id"] = job->job_id;
  r["size_bytes"] = job->bytes;
  r["rows"] = job->rows;
  r["recovery_point"] = PgTimestampUtc(layers->back().end_unix);
  r["recovery_point_unix"] = layers->back().end_unix;
  r["success"] = true;
  return r;
}

namespace {

// The backup and the time a restore uses: the snapshot's own (its subdirectory at its as_of), or
// for --target-time the collection's chain that holds it. Chains are listed oldest first; from the
// newest back, the first whose full backup ended by T is the one (older ones end sooner).
struct RestorePoint {
  std::string subdir, as_of;
};
StatusOr<RestorePoint> PointOf(PgConnection& c, const json& entry, const DatabaseOptions& opt,
                               const CrdbStatement& coll) {
  if (opt.crdb_target_time <= 0) return RestorePoint{entry.at("subdir"), entry.value("as_of", "")};
  ASSIGN_OR_RETURN(auto rows, c.Query(CrdbShowBackupsSql(coll).sql));
  ASSIGN_OR_RETURN(auto subdirs, ParseShowBackups(rows));
  std::vector<CrdbChain> chains;
  for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) {
    ASSIGN_OR_RETURN(auto layer_rows, c.Query(CrdbShowLayersSql(*it, coll, opt.crdb_passphrase).sql));
    auto layers = ParseBackupLayers(layer_rows);
    if (!layers.ok()) return layers.status().Context("the backup " + *it + " in " + coll.shown);
    chains.push_back({*it, std::move(*layers)});
    if (chains.back().layers.front().end_unix <= opt.crdb_target_time) break;
  }
  ASSIGN_OR_RETURN(const CrdbChain* chain, ChooseCrdbChain(chains, opt.crdb_target_time));
  return RestorePoint{chain->subdir, CrdbAsOf(opt.crdb_target_time)};
}

// RESTORE under a temporary name first, so that the database it replaces stays until it
// succeeded; then the swap.
Status RestoreAndSwap(PgConnection& c, const std::string& db, const RestorePoint& point, const DatabaseOptions& opt,
                      const CrdbStatement& coll, const std::string& target, bool exists) {
  std::string staging = target + "_restoring";
  CrdbRestoreSpec spec{db, point.subdir, coll, point.as_of, staging, opt.crdb_passphrase};
  CrdbStatement restore = CrdbRestoreSql(spec);
  LogInfo("database: " + restore.shown);
  Status st = c.Exec(CrdbDropDatabaseSql(staging, true));
  if (st.ok()) st = c.Exec(restore.sql);
  if (!st.ok()) return st.Context("RESTORE from " + coll.shown);
  std::string replaced = target + "_replaced";
  if (exists) st = c.Exec(CrdbRenameDatabaseSql(target, replaced));
  if (st.ok()) st = c.Exec(CrdbRenameDatabaseSql(staging, target));
  if (st.ok() && exists) st = c.Exec(CrdbDropDatabaseSql(replaced));
  return st.ok() ? st : st.Context("swapping the restored database in");
}

// What the restored tables must hold: the snapshot's counts, or for --target-time the counts of
// the database being replaced as of T (nullopt: it is gone or T is past its GC TTL).
std::optional<std::map<std::string, int64_t>> Reference(PgConnection& c, const json& entry, const DatabaseOptions& opt,
                                                        const std::string& target, const std::string& as_of,
                                                        bool exists) {
  if (opt.crdb_target_time > 0) {
    if (!exists) return std::nullopt;
    auto counts = Counts(c, target, as_of);
    if (!counts.ok())
      LogWarn("database: no row counts of " + target + " as of " + as_of + ": " +
              RedactSecrets(counts.status().message(), Secrets(opt)));
    return counts.ok() ? std::optional(*counts) : std::nullopt;
  }
  std::map<std::string, int64_t> out;
  for (const auto& t : entry.at("tables")) {
    out[t.at("schema").get<std::string>() + "." + t.at("name").get<std::string>()] = t.at("rows").get<int64_t>();
  }
  return out;
}

}  // namespace

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
  auto point = PointOf(c, entry, opt, *collection);
  if (!point.ok()) return fail(point.status());
  if (opt.crdb_target_time > 0) {
    // The live database's rows as of T (the verification's reference) exist only within gc.ttlseconds.
    auto w = CockroachGcTtlWarning(c, opt, NowSeconds() - opt.crdb_target_time, "the age of --target-time");
    if (w) r["warnings"] = json::array({RedactSecrets(*w, Secrets(opt))});
  }
  auto exists = c.Query("SELECT 1 FROM [SHOW DATABASES] WHERE database_name = " + SqlString(target));
  if (!exists.ok()) return fail(exists.status());
  auto reference = Reference(c, entry, opt, target, point->as_of, !exists->empty());
  Status st = RestoreAndSwap(c, entry.at("database"), *point, opt, *collection, target, !exists->empty());
  if (!st.ok()) return fail(st);
  r["cockroach_backup"] = point->subdir;
  if (opt.crdb_target_time > 0) r["recovered_to"] = PgTimestampUtc(opt.crdb_target_time);

  auto counts = Counts(c, target, "");
  if (!counts.ok()) return fail(counts.status().Context("verification"));
  if (!reference) {
    r["verification"] = "row counts not compared (no reference at " + point->as_of + ")";
    r["success"] = true;
    return r;
  }
  json mismatches = json::array();
  for (const auto& [name, rows] : *reference) {
    auto it = counts->find(name);
    if (it == counts->end() || it->second != rows) mismatches.push_back(name);
  }
  r["tables_verified"] = reference->size();
  if (!mismatches.empty()) {
    r["mismatches"] = mismatches;
    r["error"] = "verification failed: row counts differ in " + mismatches[0].get<std::string>();
    return r;
  }
  r["success"] = true;
  return r;
}

}  // namespace stb
