// The catalog on SQLite: schema, writes from the commands, and the summary the exporter shows.
// WAL mode and a busy timeout let a backup, the schedule and the exporter use it at the same time.
#include "catalog/catalog.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/env.h"
#include "core/file_util.h"
#include "core/log.h"

namespace stb {

using json = nlohmann::json;

namespace {

double Now() { return NowSeconds(); }

// A prepared statement with positional binds; finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt& Bind(const std::string& v) {
    sqlite3_bind_text(st_, ++n_, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(double v) {
    sqlite3_bind_double(st_, ++n_, v);
    return *this;
  }
  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(st_, ++n_, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return rc_ == SQLITE_OK ? sqlite3_step(st_) : rc_; }
  std::string Text(int i) const {
    const unsigned char* t = sqlite3_column_text(st_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  double Double(int i) const { return sqlite3_column_double(st_, i); }
  int64_t Int(int i) const { return sqlite3_column_int64(st_, i); }
  Status Error(const std::string& what) const { return IoError(what + ": " + sqlite3_errmsg(db_)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
  int n_ = 0;
};

Status Run(Stmt& s, const std::string& what) {
  int rc = s.Step();
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : s.Error(what);
}

const char* kSchema = R"(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE backups (
  id INTEGER PRIMARY KEY, backup_id TEXT NOT NULL, component TEXT NOT NULL, type TEXT NOT NULL,
  status TEXT NOT NULL, start_time REAL NOT NULL, end_time REAL NOT NULL, duration_seconds REAL NOT NULL,
  size_bytes INTEGER NOT NULL);
CREATE INDEX backups_by_status ON backups (status, component, type);
CREATE TABLE restores (
  id INTEGER PRIMARY KEY, backup_id TEXT NOT NULL, location TEXT NOT NULL, start_time REAL NOT NULL,
  duration_seconds REAL NOT NULL, rto_seconds REAL NOT NULL, success INTEGER NOT NULL);
CREATE TABLE drills (
  id INTEGER PRIMARY KEY, scenario TEXT NOT NULL, status TEXT NOT NULL, backup_id TEXT NOT NULL,
  start_time REAL NOT NULL, duration_seconds REAL NOT NULL);
CREATE TABLE replication (
  location TEXT NOT NULL, source TEXT NOT NULL, ok INTEGER NOT NULL, backup_id TEXT NOT NULL,
  error TEXT NOT NULL, time REAL NOT NULL, PRIMARY KEY (location, source));
)";

// Tables added after schema version 1: created when missing, so older catalogs gain them and
// older builds ignore them.
const char* kAddedTables = R"(
CREATE TABLE IF NOT EXISTS wal (
  location TEXT NOT NULL, cluster TEXT NOT NULL, stored_lsn INTEGER NOT NULL, stored_at REAL NOT NULL,
  PRIMARY KEY (location, cluster));
CREATE TABLE IF NOT EXISTS recovery_window (
  cluster TEXT PRIMARY KEY, from_time REAL NOT NULL, to_time REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS recovery_point (
  component TEXT NOT NULL, location TEXT NOT NULL, source TEXT NOT NULL, point_time REAL NOT NULL,
  updated_at REAL NOT NULL, PRIMARY KEY (component, location, source));
CREATE TABLE IF NOT EXISTS drill_recovery_point (
  component TEXT PRIMARY KEY, recovered_to REAL NOT NULL, seconds REAL NOT NULL, updated_at REAL NOT NULL);
)";

// "2024-01-03T14:25:30.123456" (local time, as IsoTimestamp writes a report's start_time) as Unix
// seconds; nullopt when it does not read so.
std::optional<double> LocalIsoSeconds(const std::string& iso) {
  std::tm tm{};
  double frac = 0;
  int n = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &n) != 6) {
    return std::nullopt;
  }
  if (iso[n] == '.') frac = std::atof(("0" + iso.substr(n)).c_str());
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<double>(t) + frac;
}

}  // namespace

StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& state_dir) {
  std::string path = state_dir + "/catalog.db";
  auto fail = [&](const std::string& why) {
    return IoError("catalog " + path + " (BACKUP_STATE_DIR=" + state_dir + "): " + why +
                   "; move the file away or set BACKUP_STATE_DIR to another directory");
  };
  Status st = MakeDirs(state_dir, 0700);
  if (!st.ok()) return IoError("catalog: cannot create BACKUP_STATE_DIR: " + st.message());
  // Create the file ourselves so it is 0600 whatever the umask; SQLite gives its -wal and -shm
  // files the database's mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  ::close(fd);
  std::unique_ptr<Catalog> c(new Catalog());
  c->path_ = path;
  if (sqlite3_open_v2(path.c_str(), &c->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    return fail(c->db_ ? sqlite3_errmsg(c->db_) : "out of memory");
  }
  sqlite3_busy_timeout(c->db_, 10000);
  st = c->Init();
  if (!st.ok()) return fail(st.message());
  return c;
}

Catalog::~Catalog() { sqlite3_close(db_); }

Status Catalog::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  return IoError(msg);
}

Status Catalog::Init() {
  // journal_mode is the first statement that reads the file: a file that is not SQLite fails here.
  RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st = [&]() -> Status {
    Stmt tables(db_, "SELECT name FROM sqlite_master WHERE type='table'");
    bool any = false, versioned = false;
    int rc;
    while ((rc = tables.Step()) == SQLITE_ROW) {
      any = true;
      versioned |= tables.Text(0) == "schema_version";
    }
    if (rc != SQLITE_DONE) return tables.Error("reading the schema");
    if (!any) {
      RETURN_IF_ERROR(Exec(kSchema));
      RETURN_IF_ERROR(Exec(kAddedTables));
      return Exec("INSERT INTO schema_version VALUES (" + std::to_string(kCatalogSchemaVersion) + ")");
    }
    if (!versioned) return Corrupt("not a spacetime-backup catalog (no schema_version table)");
    Stmt v(db_, "SELECT version FROM schema_version");
    if (v.Step() != SQLITE_ROW) return Corrupt("not a spacetime-backup catalog (empty schema_version)");
    int64_t version = v.Int(0);
    if (version > kCatalogSchemaVersion) {
      return Corrupt("schema version " + std::to_string(version) + " is newer than this build's (" +
                     std::to_string(kCatalogSchemaVersion) + ")");
    }
    return Exec(kAddedTables);
  }();
  if (!st.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return Exec("COMMIT");
}

Status Catalog::RecordBackup(const BackupRecord& r) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(db_,
         "INSERT INTO backups (backup_id, component, type, status, start_time, end_time, duration_seconds, "
         "size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  s.Bind(r.backup_id)
      .Bind(r.component)
      .Bind(r.type)
      .Bind(r.status)
      .Bind(r.start_time)
      .Bind(r.start_time + r.duration_seconds)
      .Bind(r.duration_seconds)
      .Bind(static_cast<int64_t>(r.size_bytes));
  return Run(s, "catalog: recording a backup");
}

Status Catalog::RecordRestore(const RestoreRecord& r) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(db_,
         "INSERT INTO restores (backup_id, location, start_time, duration_seconds, rto_seconds, success) "
         "VALUES (?, ?, ?, ?, ?, ?)");
  s.Bind(r.backup_id)
      .Bind(r.location)
      .Bind(r.start_time)
      .Bind(r.duration_seconds)
      .Bind(r.rto_seconds)
      .Bind(int64_t{r.success});
  return Run(s, "catalog: recording a restore");
}

Status Catalog::RecordDrill(const DrillRecord& r) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(db_, "INSERT INTO drills (scenario, status, backup_id, start_time, duration_seconds) VALUES (?, ?, ?, ?, ?)");
  s.Bind(r.scenario).Bind(r.status).Bind(r.backup_id).Bind(r.start_time).Bind(r.duration_seconds);
  return Run(s, "catalog: recording a drill");
}

namespace {

Status RecordLocation(sqlite3* db, const std::string& label, const std::string& source, bool ok,
                      const std::string& backup_id, const std::string& error) {
  Stmt s(db, "INSERT OR REPLACE INTO replication (location, source, ok, backup_id, error, time) VALUES (?,?,?,?,?,?)");
  s.Bind(label).Bind(source).Bind(int64_t{ok}).Bind(backup_id).Bind(error).Bind(Now());
  return Run(s, "catalog: recording the state of " + label);
}

}  // namespace

Status Catalog::RecordReplication(const std::string& location_label, bool ok, const std::string& backup_id,
                                  const std::string& error) {
  std::lock_guard<std::mutex> g(mu_);
  return RecordLocation(db_, location_label, "replicate", ok, backup_id, error);
}

Status Catalog::RecordProbe(const std::string& location_label, bool ok, const std::string& error) {
  std::lock_guard<std::mutex> g(mu_);
  return RecordLocation(db_, location_label, "probe", ok, "", error);
}

Status Catalog::RecordBackupReport(const BackupReport& report, double end_time) {
  if (report.components.empty()) return InvalidArgument("catalog: the backup report has no components");
  // Without a snapshot nothing was backed up, whatever each component reported.
  bool stored = report.Stored();
  for (const auto& [comp, r] : report.components) {
    BackupRecord b;
    b.backup_id = report.backup_id;
    b.component = comp;
    b.type = report.type;
    b.status = r.status.empty() ? "failed" : r.status;
    if (b.status == "success" && !stored) b.status = "failed";
    b.duration_seconds = r.duration_seconds.value_or(report.duration_seconds);
    b.start_time = end_time - b.duration_seconds;
    b.size_bytes = r.size_bytes.value_or(0);
    RETURN_IF_ERROR(RecordBackup(b));
  }
  if (!stored) return Status::Ok();
  // The snapshot holds each component as of the run's start at the latest (its time_unix), in
  // every location that reported it stored.
  double point = LocalIsoSeconds(report.start_time).value_or(end_time - report.duration_seconds);
  for (const auto& [comp, r] : report.components) {
    if (r.status != "success") continue;
    for (const auto& [label, where] : report.locations.items()) {
      if (!where.is_object() || where.value("status", "") != "ok") continue;
      RETURN_IF_ERROR(RecordRecoveryPoint(comp, label, "backup", point));
    }
  }
  return Status::Ok();
}

Status Catalog::RecordRestoreReport(const RestoreReport& report, double end_time) {
  RestoreRecord r;
  r.backup_id = report.backup_id;
  r.location = report.restore_location;
  r.rto_seconds = report.rto_seconds;
  r.duration_seconds = r.rto_seconds;
  r.start_time = end_time - r.duration_seconds;
  r.success = report.overall_success;
  return RecordRestore(r);
}

Status Catalog::RecordWal(const std::string& location, const std::string& cluster, uint64_t end_lsn, double stored_at) {
  std::lock_guard<std::mutex> g(mu_);
  // Files may be stored out of order (parallel pushes): the newest position wins.
  Stmt s(db_,
         "INSERT INTO wal (location, cluster, stored_lsn, stored_at) VALUES (?, ?, ?, ?) "
         "ON CONFLICT (location, cluster) DO UPDATE SET stored_lsn = excluded.stored_lsn, "
         "stored_at = excluded.stored_at WHERE excluded.stored_lsn >= wal.stored_lsn");
  s.Bind(location).Bind(cluster).Bind(static_cast<int64_t>(end_lsn)).Bind(stored_at);
  return Run(s, "catalog: recording WAL stored in " + location);
}

Status Catalog::RecordRecoveryWindow(const std::string& cluster, double from_time, double to_time) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(db_, "INSERT OR REPLACE INTO recovery_window (cluster, from_time, to_time, updated) VALUES (?, ?, ?, ?)");
  s.Bind(cluster).Bind(from_time).Bind(to_time).Bind(Now());
  return Run(s, "catalog: recording the recovery window");
}

Status Catalog::RecordRecoveryPoint(const std::string& component, const std::string& location,
                                    const std::string& source, double point_time) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(db_,
         "INSERT INTO recovery_point (component, location, source, point_time, updated_at) VALUES (?, ?, ?, ?, ?) "
         "ON CONFLICT (component, location, source) DO UPDATE SET point_time = MAX(point_time, excluded.point_time), "
         "updated_at = excluded.updated_at");
  s.Bind(component).Bind(location).Bind(source).Bind(point_time).Bind(Now());
  return Run(s, "catalog: recording the recovery point of " + component + " in " + location);
}

Status Catalog::RecordRecoveryPointsCopied(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(db_,
         "INSERT INTO recovery_point (component, location, source, point_time, updated_at) "
         "SELECT component, ?, source, point_time, ? FROM recovery_point WHERE location = ? AND source = 'backup' "
         "ON CONFLICT (component, location, source) DO UPDATE SET "
         "point_time = MAX(point_time, excluded.point_time), updated_at = excluded.updated_at");
  s.Bind(to).Bind(Now()).Bind(from);
  return Run(s, "catalog: recording the recovery points copied to " + to);
}

Status Catalog::RecordDrillRecoveryPoint(const std::string& component, double recovered_to, double seconds) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt s(
      db_,
      "INSERT OR REPLACE INTO drill_recovery_point (component, recovered_to, seconds, updated_at) VALUES (?, ?, ?, ?)");
  s.Bind(component).Bind(recovered_to).Bind(seconds).Bind(Now());
  return Run(s, "catalog: recording the drill's recovery point of " + component);
}

StatusOr<CatalogSummary> Catalog::Summary() {
  std::lock_guard<std::mutex> g(mu_);
  CatalogSummary out;
  // One read transaction: the figures are consistent with each other.
  RETURN_IF_ERROR(Exec("BEGIN"));
  Status st = [&]() -> Status {
    int rc;
    Stmt last(db_,
              "SELECT b.component, b.type, b.end_time, b.duration_seconds FROM backups b JOIN "
              "(SELECT MAX(id) AS id FROM backups WHERE status = 'success' GROUP BY component, type) m "
              "ON b.id = m.id");
    while ((rc = last.Step()) == SQLITE_ROW) {
      CatalogSummary::Key k{last.Text(0), last.Text(1)};
      out.last_success_end[k] = last.Double(2);
      out.last_success_duration[k] = last.Double(3);
    }
    if (rc != SQLITE_DONE) return last.Error("catalog: reading backups");
    Stmt size(db_,
              "SELECT b.component, b.size_bytes FROM backups b JOIN "
              "(SELECT MAX(id) AS id FROM backups WHERE status = 'success' GROUP BY component) m ON b.id = m.id");
    while ((rc = size.Step()) == SQLITE_ROW) out.last_size[size.Text(0)] = static_cast<uint64_t>(size.Int(1));
    if (rc != SQLITE_DONE) return size.Error("catalog: reading sizes");
    Stmt count(db_, "SELECT component, status, type, COUNT(*) FROM backups GROUP BY component, status, type");
    while ((rc = count.Step()) == SQLITE_ROW) {
      out.completed[{count.Text(0), count.Text(1), count.Text(2)}] = static_cast<uint64_t>(count.Int(3));
    }
    if (rc != SQLITE_DONE) return count.Error("catalog: counting backups");
    Stmt db(db_, "SELECT MAX(end_time) FROM backups WHERE component = 'database' AND status = 'success'");
    if (db.Step() == SQLITE_ROW) out.last_database_success_end = db.Double(0);  // NULL reads as 0
    Stmt restore(db_, "SELECT rto_seconds FROM restores WHERE success = 1 ORDER BY id DESC LIMIT 1");
    rc = restore.Step();
    if (rc == SQLITE_ROW) {
      out.has_restore = true;
      out.last_restore_rto = restore.Double(0);
    } else if (rc != SQLITE_DONE) {
      return restore.Error("catalog: reading restores");
    }
    Stmt drills(db_, "SELECT scenario, status, COUNT(*) FROM drills GROUP BY scenario, status");
    while ((rc = drills.Step()) == SQLITE_ROW) {
      out.drills[{drills.Text(0), drills.Text(1)}] = static_cast<uint64_t>(drills.Int(2));
    }
    if (rc != SQLITE_DONE) return drills.Error("catalog: reading drills");
    Stmt rep(db_, "SELECT location, source, ok, backup_id, error, time FROM replication");
    while ((rc = rep.Step()) == SQLITE_ROW) {
      ReplicationState s{rep.Int(2) != 0, rep.Text(3), rep.Text(4), rep.Text(1), rep.Double(5)};
      auto it = out.replication.find(rep.Text(0));
      // The newer of the last replication and the last probe decides.
      if (it == out.replication.end() || s.time > it->second.time) out.replication[rep.Text(0)] = s;
    }
    if (rc != SQLITE_DONE) return rep.Error("catalog: reading replication");
    Stmt newest(db_,
                "SELECT b.backup_id, b.component, b.type, b.status, b.start_time, b.duration_seconds, b.size_bytes "
                "FROM backups b JOIN (SELECT MAX(id) AS id FROM backups GROUP BY component) m ON b.id = m.id");
    while ((rc = newest.Step()) == SQLITE_ROW) {
      out.last_backup[newest.Text(1)] = {newest.Text(0),
                                         newest.Text(1),
                                         newest.Text(2),
                                         newest.Text(3),
                                         newest.Double(4),
                                         newest.Double(5),
                                         static_cast<uint64_t>(newest.Int(6))};
    }
    if (rc != SQLITE_DONE) return newest.Error("catalog: reading the newest backups");
    Stmt drill(db_,
               "SELECT scenario, status, backup_id, start_time, duration_seconds FROM drills ORDER BY id DESC LIMIT 1");
    rc = drill.Step();
    if (rc == SQLITE_ROW) {
      out.has_drill = true;
      out.last_drill = {drill.Text(0), drill.Text(1), drill.Text(2), drill.Double(3), drill.Double(4)};
    } else if (rc != SQLITE_DONE) {
      return drill.Error("catalog: reading drills");
    }
    Stmt wal(db_, "SELECT location, MAX(stored_at) FROM wal GROUP BY location");
    while ((rc = wal.Step()) == SQLITE_ROW) out.wal_stored_at[wal.Text(0)] = wal.Double(1);
    if (rc != SQLITE_DONE) return wal.Error("catalog: reading WAL positions");
    Stmt window(db_, "SELECT cluster, from_time, to_time FROM recovery_window");
    while ((rc = window.Step()) == SQLITE_ROW)
      out.recovery_window[window.Text(0)] = {window.Double(1), window.Double(2)};
    if (rc != SQLITE_DONE) return window.Error("catalog: reading recovery windows");
    Stmt points(db_, "SELECT component, location, MAX(point_time) FROM recovery_point GROUP BY component, location");
    while ((rc = points.Step()) == SQLITE_ROW) out.recorded_points[{points.Text(0), points.Text(1)}] = points.Double(2);
    if (rc != SQLITE_DONE) return points.Error("catalog: reading recovery points");
    Stmt drilled(db_, "SELECT component, seconds FROM drill_recovery_point");
    while ((rc = drilled.Step()) == SQLITE_ROW) out.drill_recovery_point_seconds[drilled.Text(0)] = drilled.Double(1);
    if (rc != SQLITE_DONE) return drilled.Error("catalog: reading the drills' recovery points");
    return Status::Ok();
  }();
  Exec("COMMIT").IgnoreError();
  if (!st.ok()) return st;
  return out;
}

StatusOr<std::vector<BackupRecord>> Catalog::Backups() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<BackupRecord> out;
  Stmt s(db_,
         "SELECT backup_id, component, type, status, start_time, duration_seconds, size_bytes FROM backups "
         "ORDER BY id");
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back(
        {s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Double(4), s.Double(5), static_cast<uint64_t>(s.Int(6))});
  }
  if (rc != SQLITE_DONE) return s.Error("catalog: reading backups");
  return out;
}

void UpdateCatalogBestEffort(const std::string& state_dir, const std::function<Status(Catalog&)>& fn) {
  Status st = [&]() -> Status {
    ASSIGN_OR_RETURN(auto catalog, Catalog::Open(state_dir));
    return fn(*catalog);
  }();
  if (st.ok()) return;
  LogWarn("the catalog was not updated (metrics will miss this run): " + st.message());
  std::fprintf(stderr, "warning: the catalog was not updated (metrics will miss this run): %s\n", st.message().c_str());
}

RecordBackupOnExit::~RecordBackupOnExit() {
  if (!report_ || report_->components.empty()) return;
  UpdateCatalogBestEffort(state_dir_, [&](Catalog& c) { return c.RecordBackupReport(*report_, Now()); });
}

}  // namespace stb
