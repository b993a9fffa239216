// A CockroachDB stand-in for the e2e tests: a PostgreSQL-wire server answering the statements our
// client sends the way CockroachDB v23.1 documents them (version string, BACKUP job rows, SHOW BACKUPS,
// RESTORE, its error texts), logging in with SCRAM-SHA-256 as CockroachDB does since v22.2. Written
// from CockroachDB's documentation; no live cluster was used.
//
// crdb_standin [--port N] [--port-file F] [--log F] [--user U] [--password P]
//              [--table db.schema.name=rows]... [--fail-backup] [--error-quotes-uri]
//              [--no-revision-history] [--aost-lag S] [--gc-ttl S] [--fail-schedule-job]
// Row counts have a history (INSERT INTO t SELECT generate_series(1, N) adds N rows now), so
// count(*) AS OF SYSTEM TIME and RESTORE ... AS OF SYSTEM TIME answer the counts of that time.
// --aost-lag S: "now() - INTERVAL '10s'" and AS OF SYSTEM TIME '-10s' go S seconds back (a test
// speed knob; CockroachDB goes 10 s back). --no-revision-history: BACKUP ignores revision_history
// (a collection written without it, to get CockroachDB's error for a time between layers).
// CREATE SCHEDULE FOR BACKUP, SHOW SCHEDULES, SHOW JOBS FOR SCHEDULES and SHOW ZONE CONFIGURATION
// answer as v23.1 documents; --gc-ttl S: the database's gc.ttlseconds (default 14400, v23.1's);
// --fail-schedule-job: the schedule's first job fails writing to the bucket.
// Prints its port on stdout and serves until SIGTERM or SIGINT.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>

#include "pgwire_server.h"

namespace stb {
namespace {

using Tables = std::map<std::string, int64_t>;  // "schema.name" -> rows
// A database's counts over time: (time, counts from then on), oldest first. Times are
// "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, which sort as strings.
using History = std::vector<std::pair<std::string, Tables>>;

Tables At(const History& h, const std::string& time) {
  Tables out;
  for (const auto& [t, tables] : h) {
    if (t <= time) out = tables;
  }
  return out;
}

struct Layer {
  std::string start_time, end_time;  // start "" for a full backup; end = the AS OF SYSTEM TIME it was taken at
  bool revision_history = false;
  std::map<std::string, History> databases;  // with revision history, every time up to end_time
};
struct Backup {  // one full backup and its incrementals: a subdirectory of the collection
  std::string subdir, passphrase;
  std::vector<Layer> layers;
};

// CREATE SCHEDULE FOR BACKUP makes two schedules under one label (the incremental one and the
// full one); with first_run = 'now' the full one's job starts at once.
struct Schedule {
  std::string id, label, recurrence, created, next_run, state;
};
struct ScheduleJob {
  std::string job_id, schedule_id, status, created, finished, error;
};

struct Model {
  std::mutex mu;
  std::vector<Schedule> schedules;
  std::vector<ScheduleJob> schedule_jobs;
  bool fail_schedule_job = false;
  int64_t gc_ttl = 14400;  // v23.1's default gc.ttlseconds (4 hours)
  std::map<std::string, Tables> databases;
  std::map<std::string, History> history;
  std::map<std::string, std::vector<Backup>> collections;  // by URI, as given
  bool fail_backup = false;
  bool ignore_revision_history = false;
  int aost_lag = 10;
  bool error_quotes_uri = false;  // a hostile case, not a documented text: the error repeats the URI as sent
  int64_t next_job = 903485071233875969;
};

PgWireResult Err(const std::string& sqlstate, const std::string& message) {
  PgWireResult r;
  r.sqlstate = sqlstate;
  r.message = message;
  return r;
}

PgWireResult Tag(const std::string& tag) {
  PgWireResult r;
  r.tag = tag;
  return r;
}

PgWireResult One(const std::string& column, const std::string& value, uint32_t oid = 25) {
  PgWireResult r;
  r.columns = {column};
  r.types = {oid};
  r.rows = {{value}};
  return r;
}

std::string Unquote(const std::string& s, char q) {  // the inside of '...' or "..." with doubled quotes
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == q && i + 1 < s.size() && s[i + 1] == q) ++i;
  }
  return out;
}

const char* kName = R"re("((?:[^"]|"")*)")re";
const char* kString = R"re('((?:[^']|'')*)')re";

std::string Now(int offset_seconds, const char* fmt) {
  auto t = std::chrono::system_clock::now() + std::chrono::seconds(offset_seconds);
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64], frac[16];
  std::strftime(buf, sizeof buf, fmt, &tm);
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
  return std::string(buf) + frac;
}

// CockroachDB names a full backup's subdirectory by its end time; SHOW BACKUPS IN lists it as
// <year>/<month>/<day>-<timestamp>, e.g. 2024/01/03-142520.12 (RESTORE FROM takes it with or
// without a leading slash).
std::string Subdir(const std::string& end_time) {
  std::smatch m;
  static const std::regex re(R"((\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d\d))");
  if (!std::regex_search(end_time, m, re)) return end_time;
  return m[1].str() + "/" + m[2].str() + "/" + m[3].str() + "-" + m[4].str() + m[5].str() + m[6].str() + "." +
         m[7].str();
}

std::string Option(const std::string& with, const std::string& name) {
  std::smatch m;
  std::regex re(name + R"(\s*=\s*)" + kString);
  return std::regex_search(with, m, re) ? Unquote(m[1], '\'') : "";
}

// An AS OF SYSTEM TIME value as the stand-in's clock reads it: '-10s' (the lag back), or a
// timestamp with or without "+00".
std::string ResolveAost(const Model& model, std::string aost) {
  if (aost == "-10s") return Now(-model.aost_lag, "%Y-%m-%d %H:%M:%S");
  for (const char* z : {"+00:00", "+00"}) {
    if (aost.size() > strlen(z) && aost.ends_with(z)) aost.resize(aost.size() - strlen(z));
  }
  if (aost.size() == 19) aost += ".000000";
  while (aost.size() > 19 && aost.size() < 26) aost += '0';
  return aost;
}

void SetCounts(Model& model, const std::string& db, const Tables& tables) {
  model.databases[db] = tables;
  model.history[db].push_back({Now(0, "%Y-%m-%d %H:%M:%S"), tables});
}

PgWireResult JobRow(Model& model, const Tables& tables) {
  int64_t rows = 0;
  for (const auto& [t, n] : tables) rows += n;
  PgWireResult r;
  r.columns = {"job_id", "status", "fraction_completed", "rows", "index_entries", "bytes"};
  r.types = {20, 25, 700, 20, 20, 20};
  r.rows = {{std::to_string(model.next_job++), "succeeded", "1", std::to_string(rows), "0",
             std::to_string(rows * 97 + 1024)}};
  return r;
}

PgWireResult DoBackup(Model& model, const std::smatch& m) {
  std::string db = Unquote(m[1], '"'), uri = Unquote(m[3], '\'');
  std::string aost = m[4].matched ? ResolveAost(model, Unquote(m[4], '\'')) : "";
  std::string with = m[5].matched ? m[5].str() : "";
  bool latest = m[2].matched;
  auto it = model.databases.find(db);
  if (it == model.databases.end()) return Err("3D000", "database \"" + db + "\" does not exist");
  if (model.error_quotes_uri) {
    return Err("XXUUU", "failed to run backup: writing to '" + uri + "': AccessDenied");
  }
  if (model.fail_backup) {
    // The shape of a job that failed writing to the bucket (the cloud SDK's error, passed through).
    return Err("XXUUU",
               "failed to run backup: exporting 3 ranges: export file: s3: AccessDenied: Access Denied\n"
               "\tstatus code: 403, request id: 7N2K9Q");
  }
  Layer layer{"",
              aost.empty() ? Now(0, "%Y-%m-%d %H:%M:%S") : aost,
              !model.ignore_revision_history && with.find("revision_history") != std::string::npos,
              {{db, model.history[db]}}};
  auto& backups = model.collections[uri];
  if (latest) {
    if (backups.empty()) return Err("XXUUU", "path does not exist: no backups found in the collection");
    layer.start_time = backups.back().layers.back().end_time;
    backups.back().layers.push_back(layer);
  } else {
    backups.push_back({Subdir(layer.end_time), Option(with, "encryption_passphrase"), {layer}});
  }
  return JobRow(model, At(model.history[db], layer.end_time));
}

PgWireResult DoRestore(Model& model, const std::smatch& m) {
  std::string db = Unquote(m[1], '"'), subdir = Unquote(m[2], '\''), uri = Unquote(m[3], '\'');
  std::string with = m[5].matched ? m[5].str() : "";
  auto coll = model.collections.find(uri);
  const Backup* b = nullptr;
  if (coll != model.collections.end()) {
    for (const auto& x : coll->second) {
      if (x.subdir == subdir || "/" + x.subdir == subdir) b = &x;
    }
  }
  if (b == nullptr) return Err("XXUUU", "failed to resolve backup: path does not exist: " + subdir);
  std::string pass = Option(with, "encryption_passphrase");
  if (!b->passphrase.empty() && pass.empty()) {
    return Err("XXUUU", "file appears encrypted -- try specifying one of \"encryption_passphrase\" or \"kms\"");
  }
  if (b->passphrase != pass) return Err("XXUUU", "failed to decrypt: cipher: message authentication failed");
  // The layer whose span holds the requested time (by default the newest layer's end): at its end
  // any backup restores; inside its span only one taken with revision history (CockroachDB's texts).
  std::string aost = m[4].matched ? ResolveAost(model, Unquote(m[4], '\'')) : b->layers.back().end_time;
  const Layer* layer = nullptr;
  for (const auto& l : b->layers) {
    if (layer == nullptr && l.end_time >= aost) layer = &l;
  }
  if (layer == nullptr || aost < b->layers.front().end_time) {
    return Err("XXUUU", "invalid RESTORE timestamp: supplied backups do not cover requested time");
  }
  if (layer->end_time != aost && !layer->revision_history) {
    return Err("XXUUU",
               "invalid RESTORE timestamp: restoring to arbitrary time requires that BACKUP for requested time be "
               "created with 'revision_history' option. nearest backup time is " +
                   layer->end_time);
  }
  auto src = layer->databases.find(db);
  if (src == layer->databases.end()) return Err("42704", "database \"" + db + "\" not found in the backup");
  std::string target = Option(with, "new_db_name");
  if (target.empty()) target = db;
  if (model.databases.count(target)) return Err("42P04", "database \"" + target + "\" already exists");
  Tables restored = At(src->second, aost);
  SetCounts(model, target, restored);
  return JobRow(model, restored);
}

// SHOW BACKUP FROM, as the stand-in's client selects it: one row per table and layer.
PgWireResult ShowBackup(Model& model, const std::string& subdir, const std::string& uri, const std::string& with) {
  const Backup* b = nullptr;
  for (const auto& x : model.collections[uri]) {
    if (x.subdir == subdir || "/" + x.subdir == subdir) b = &x;
  }
  if (b == nullptr) return Err("XXUUU", "failed to resolve backup: path does not exist: " + subdir);
  if (!b->passphrase.empty() && Option(with, "encryption_passphrase") != b->passphrase) {
    return Err("XXUUU", "file appears encrypted -- try specifying one of \"encryption_passphrase\" or \"kms\"");
  }
  PgWireResult r;
  r.columns = {"backup_type", "start_time", "end_time"};
  for (const auto& l : b->layers) {
    for (const auto& [db, h] : l.databases) {
      for (size_t i = 0; i < At(h, l.end_time).size(); ++i) {
        r.rows.push_back({l.start_time.empty() ? "full" : "incremental",
                          l.start_time.empty() ? std::nullopt : std::optional(l.start_time), l.end_time});
      }
    }
  }
  return r;
}

// CREATE SCHEDULE IF NOT EXISTS 'label' FOR BACKUP DATABASE ... : the answer CockroachDB
// documents (schedule_id, label, status, first_run, schedule, backup_stmt), no row when the label
// exists. The first full backup runs now: into the collection, or failed under --fail-schedule-job.
PgWireResult CreateSchedule(Model& model, const std::smatch& m) {
  std::string label = Unquote(m[1], '\''), db = Unquote(m[2], '"'), uri = Unquote(m[3], '\'');
  std::string with = m[4].matched ? m[4].str() : "", recurring = Unquote(m[5], '\''), full = Unquote(m[6], '\'');
  PgWireResult r;
  r.columns = {"schedule_id", "label", "status", "first_run", "schedule", "backup_stmt"};
  r.types = {20, 25, 25, 1184, 25, 25};
  for (const auto& sc : model.schedules) {
    if (sc.label == label) return r;
  }
  if (!model.databases.count(db)) return Err("3D000", "database \"" + db + "\" does not exist");
  std::string now = Now(0, "%Y-%m-%d %H:%M:%S");
  for (const auto& [recurrence, kind] : {std::pair{recurring, "INTO LATEST IN"}, std::pair{full, "INTO"}}) {
    std::string id = std::to_string(model.next_job++);
    model.schedules.push_back({id, label, recurrence, now, Now(60, "%Y-%m-%d %H:%M:%S") + "+00", ""});
    // backup_stmt as CockroachDB shows it: the URI's secrets redacted (here: the whole URI).
    r.rows.push_back({id, label, "ACTIVE", now + "+00", recurrence,
                      "BACKUP DATABASE " + db + " " + kind + " 'redacted' WITH revision_history, detached"});
  }
  ScheduleJob job{std::to_string(model.next_job++), model.schedules.back().id, "succeeded", now, now, ""};
  if (model.fail_schedule_job) {
    job.status = "failed";
    job.error = "failed to run backup: exporting 3 ranges: export file: s3: AccessDenied: Access Denied";
    model.schedules.back().state = "reschedule: " + job.error;
  } else {
    Layer layer{"", now, true, {{db, model.history[db]}}};
    model.collections[uri].push_back({Subdir(now), Option(with, "encryption_passphrase"), {layer}});
  }
  model.schedule_jobs.push_back(job);
  return r;
}

PgWireResult ShowSchedules(Model& model, const std::string& label) {
  PgWireResult r;
  r.columns = {"id", "label", "schedule_status", "next_run", "state", "recurrence"};
  for (const auto& sc : model.schedules) {
    if (sc.label != label) continue;
    r.rows.push_back({sc.id, sc.label, "ACTIVE", sc.next_run, sc.state.empty() ? std::nullopt : std::optional(sc.state),
                      sc.recurrence});
  }
  return r;
}

PgWireResult LatestScheduleJob(Model& model, const std::string& label) {
  PgWireResult r;
  r.columns = {"job_id", "status", "finished", "error"};
  for (auto it = model.schedule_jobs.rbegin(); it != model.schedule_jobs.rend(); ++it) {
    for (const auto& sc : model.schedules) {
      if (sc.id == it->schedule_id && sc.label == label) {
        r.rows.push_back({it->job_id, it->status, it->finished + "+00", it->error});
        return r;
      }
    }
  }
  return r;
}

PgWireResult Handle(Model& model, const std::string& sql) {
  std::lock_guard<std::mutex> lock(model.mu);
  std::smatch m;
  auto is = [&](const std::string& pattern) {
    return std::regex_match(sql, m, std::regex(pattern, std::regex::icase));
  };
  const std::string name = kName, str = kString;
  if (is(R"(SELECT version\(\))")) {
    return One("version", "CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 01:53:43, go1.19.10)");
  }
  if (is(R"(SELECT \(now\(\) - INTERVAL '10s'\)::TIMESTAMP::STRING)"))
    return One("text", Now(-model.aost_lag, "%Y-%m-%d %H:%M:%S"));
  if (is("BACKUP DATABASE " + name + " INTO (LATEST IN )?" + str + "(?: AS OF SYSTEM TIME " + str +
         ")?(?: WITH (.*))?")) {
    return DoBackup(model, m);
  }
  if (is("CREATE SCHEDULE IF NOT EXISTS " + str + " FOR BACKUP DATABASE " + name + " INTO " + str +
         "(?: WITH (.*?))? RECURRING " + str + " FULL BACKUP " + str + " WITH SCHEDULE OPTIONS first_run = 'now'")) {
    return CreateSchedule(model, m);
  }
  if (is(R"(SELECT id::STRING, label, schedule_status, next_run::STRING, state, recurrence FROM \[SHOW SCHEDULES\] WHERE label = )" +
         str + " ORDER BY created")) {
    return ShowSchedules(model, Unquote(m[1], '\''));
  }
  if (is(R"(SELECT job_id::STRING, status, finished::STRING, error FROM \[SHOW JOBS FOR SCHEDULES SELECT id FROM \[SHOW SCHEDULES\] WHERE label = )" +
         str + R"(\] ORDER BY created DESC LIMIT 1)")) {
    return LatestScheduleJob(model, Unquote(m[1], '\''));
  }
  if (is("SELECT raw_config_sql FROM \\[SHOW ZONE CONFIGURATION FROM DATABASE " + name + "\\]")) {
    std::string db = Unquote(m[1], '"');
    if (!model.databases.count(db)) return Err("3D000", "database \"" + db + "\" does not exist");
    // As CockroachDB prints it: the inherited default zone, one setting a line.
    return One("raw_config_sql", "ALTER DATABASE " + db +
                                     " CONFIGURE ZONE USING\n\trange_min_bytes = 134217728,\n\trange_max_bytes = "
                                     "536870912,\n\tgc.ttlseconds = " +
                                     std::to_string(model.gc_ttl) +
                                     ",\n\tnum_replicas = 3,\n\tconstraints = '[]',\n\tlease_preferences = '[]'");
  }
  if (is("SHOW BACKUPS IN " + str)) {
    PgWireResult r;
    r.columns = {"path"};
    for (const auto& b : model.collections[Unquote(m[1], '\'')]) r.rows.push_back({b.subdir});
    return r;
  }
  if (is(R"(SELECT DISTINCT backup_type, start_time::STRING, end_time::STRING FROM \[SHOW BACKUP FROM )" + str +
         " IN " + str + R"((?: WITH (.*))?\] ORDER BY 3)")) {
    return ShowBackup(model, Unquote(m[1], '\''), Unquote(m[2], '\''), m[3].matched ? m[3].str() : "");
  }
  if (is("INSERT INTO " + name + "\\." + name + "\\." + name + R"( SELECT generate_series\(1, (\d+)\))")) {
    std::string db = Unquote(m[1], '"'), table = Unquote(m[2], '"') + "." + Unquote(m[3], '"');
    auto d = model.databases.find(db);
    if (d == model.databases.end() || !d->second.count(table)) {
      return Err("42P01", "relation \"" + db + "." + table + "\" does not exist");
    }
    Tables t = d->second;
    t[table] += std::stoll(m[4]);
    SetCounts(model, db, t);
    return Tag("INSERT 0 " + m[4].str());
  }
  if (is("RESTORE DATABASE " + name + " FROM " + str + " IN " + str + "(?: AS OF SYSTEM TIME " + str +
         ")?(?: WITH (.*))?")) {
    return DoRestore(model, m);
  }
  if (is("SELECT table_schema, table_name FROM " + name + R"(\.information_schema\.tables WHERE .*)")) {
    auto db = model.databases.find(Unquote(m[1], '"'));
    if (db == model.databases.end()) return Err("3D000", "database \"" + Unquote(m[1], '"') + "\" does not exist");
    PgWireResult r;
    r.columns = {"table_schema", "table_name"};
    for (const auto& [t, n] : db->second) r.rows.push_back({t.substr(0, t.find('.')), t.substr(t.find('.') + 1)});
    return r;
  }
  if (is("SELECT count\\(\\*\\) FROM " + name + "\\." + name + "\\." + name + "(?: AS OF SYSTEM TIME " + str + ")?")) {
    std::string db = Unquote(m[1], '"'), table = Unquote(m[2], '"') + "." + Unquote(m[3], '"');
    auto d = model.databases.find(db);
    if (d == model.databases.end() || !d->second.count(table)) {
      return Err("42P01", "relation \"" + db + "." + table + "\" does not exist");
    }
    if (!m[4].matched) return One("count", std::to_string(d->second[table]), 20);
    Tables then = At(model.history[db], ResolveAost(model, Unquote(m[4], '\'')));
    if (!then.count(table)) return Err("42P01", "relation \"" + db + "." + table + "\" does not exist");
    return One("count", std::to_string(then[table]), 20);
  }
  if (is("SELECT 1 FROM \\[SHOW DATABASES\\] WHERE database_name = " + str)) {
    PgWireResult r;
    r.columns = {"?column?"};
    r.types = {20};
    if (model.databases.count(Unquote(m[1], '\''))) r.rows.push_back({"1"});
    return r;
  }
  if (is("DROP DATABASE (IF EXISTS )?" + name + "(?: CASCADE)?")) {
    std::string db = Unquote(m[2], '"');
    model.history.erase(db);
    if (!model.databases.erase(db) && !m[1].matched) return Err("3D000", "database \"" + db + "\" does not exist");
    return Tag("DROP DATABASE");
  }
  if (is("ALTER DATABASE " + name + " RENAME TO " + name)) {
    std::string from = Unquote(m[1], '"'), to = Unquote(m[2], '"');
    if (!model.databases.count(from)) return Err("3D000", "database \"" + from + "\" does not exist");
    if (model.databases.count(to)) return Err("42P04", "database \"" + to + "\" already exists");
    model.databases[to] = model.databases[from];
    model.history[to] = model.history[from];
    model.databases.erase(from);
    model.history.erase(from);
    return Tag("RENAME DATABASE");
  }
  return Err("0A000", "statement not modelled by the CockroachDB stand-in");
}

int Usage(const std::string& why) {
  std::cerr << "crdb_standin: " << why
            << "\nusage: crdb_standin [--port N] [--port-file F] [--log F] [--user U] [--password P] "
               "[--table db.schema.name=rows]... [--fail-backup] [--error-quotes-uri] [--no-revision-history] "
               "[--aost-lag S] [--gc-ttl S] [--fail-schedule-job]\n";
  return 2;
}

}  // namespace
}  // namespace stb

int main(int argc, char** argv) {
  using namespace stb;
  Model model;
  model.databases["defaultdb"];
  PgWireOptions opt;
  std::string port_file, log_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") {
      opt.port = std::atoi(value().c_str());
    } else if (a == "--port-file") {
      port_file = value();
    } else if (a == "--log") {
      log_file = value();
    } else if (a == "--user") {
      value();  // any user is accepted; the password decides
    } else if (a == "--password") {
      opt.password = value();
    } else if (a == "--error-quotes-uri") {
      model.error_quotes_uri = true;
    } else if (a == "--no-revision-history") {
      model.ignore_revision_history = true;
    } else if (a == "--aost-lag") {
      model.aost_lag = std::atoi(value().c_str());
    } else if (a == "--fail-schedule-job") {
      model.fail_schedule_job = true;
    } else if (a == "--gc-ttl") {
      model.gc_ttl = std::atoll(value().c_str());
    } else if (a == "--fail-backup") {
      model.fail_backup = true;
    } else if (a == "--table") {
      std::smatch m;
      std::string spec = value();
      static const std::regex re(R"(([^.=]+)\.([^.=]+\.[^.=]+)=(\d+))");
      if (!std::regex_match(spec, m, re)) return Usage("--table wants db.schema.name=rows, not '" + spec + "'");
      model.databases[m[1]][m[2]] = std::stoll(m[3]);
      model.history[m[1]] = {{"2000-01-01 00:00:00.000000", model.databases[m[1]]}};
    } else {
      return Usage("unknown argument '" + a + "'");
    }
  }
  // CockroachDB's session parameters, as a PostgreSQL 13 server would send them.
  opt.parameters = {
      {"server_version", "13.0.0"},
      {"crdb_version", "CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 01:53:43, go1.19.10)"},
      {"standard_conforming_strings", "on"},
      {"client_encoding", "UTF8"},
      {"integer_datetimes", "on"},
      {"DateStyle", "ISO, MDY"},
      {"TimeZone", "UTC"},
      {"application_name", ""}};
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::mutex log_mu;
  std::ofstream log;
  if (!log_file.empty()) log.open(log_file, std::ios::app);
  PgWireServer server(opt, [&](const PgWireSession&, const std::string& sql) { return Handle(model, sql); });
  server.on_statement = [&](const std::string& sql) {
    std::lock_guard<std::mutex> lock(log_mu);
    if (log.is_open()) log << sql << "\n" << std::flush;
  };
  std::string error;
  if (!server.Start(&error)) {
    std::cerr << "crdb_standin: " << error << "\n";
    return 1;
  }
  std::cout << server.port() << std::endl;
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << server.port() << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  int sig = 0;
  sigwait(&set, &sig);
  server.Stop();
  return 0;
}
