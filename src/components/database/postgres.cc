// PostgreSQL: one REPEATABLE READ transaction exports its snapshot; pg_dump --snapshot dumps
// exactly that state (custom format, uncompressed so that successive dumps deduplicate) into a
// pipe we chunk straight into the repository, while the same transaction counts every table.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "components/database/engines.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/stop.h"
#include "core/subprocess.h"

namespace stb {

using json = nlohmann::json;

namespace {

struct TableCount {
  std::string schema, name;
  int64_t rows = 0;
  std::string checksum;  // "" when not taken
};

// Settings that make a row's text form (and so its checksum) independent of the session.
constexpr const char* kStableText =
    "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; "
    "SET bytea_output = 'hex'; SET TimeZone = 'UTC'";

// Ordinary tables whose rows pg_dump writes: no catalogs, temporary or extension-owned tables;
// partitions are counted one by one (the partitioned parent holds no rows of its own).
constexpr const char* kListTables =
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
    "'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2";

StatusOr<std::vector<TableCount>> CountTables(PgConnection& c, bool checksums) {
  ASSIGN_OR_RETURN(auto rows, c.Query(kListTables));
  std::vector<TableCount> out;
  for (const auto& r : rows) {
    TableCount t{*r[0], *r[1]};
    std::string from = "ONLY " + c.QuoteIdent(t.schema) + "." + c.QuoteIdent(t.name) + " AS t";
    std::string sql = checksums ? "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM " + from
                                : "SELECT count(*), '' FROM " + from;
    ASSIGN_OR_RETURN(auto v, c.Query(sql));
    if (v.size() != 1 || v[0].size() < 2 || !v[0][0] || !v[0][1]) {
      return Corrupt("the server answered an unreadable row count for " + t.schema + "." + t.name);
    }
    ASSIGN_OR_RETURN(t.rows, ParseInt(*v[0][0], 0, INT64_MAX, "row count of " + t.schema + "." + t.name));
    t.checksum = *v[0][1];
    out.push_back(std::move(t));
  }
  return out;
}

json TablesToJson(const std::vector<TableCount>& tables) {
  json out = json::array();
  for (const auto& t : tables) {
    json e = {{"schema", t.schema}, {"name", t.name}, {"rows", t.rows}};
    if (!t.checksum.empty()) e["checksum"] = t.checksum;
    out.push_back(e);
  }
  return out;
}

int ToolMajor(const std::string& path) {
  // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
  SubprocessSpec spec{{path, "--version"}, {}, false, true};
  auto p = Subprocess::Start(spec);
  if (!p.ok()) return -1;
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read((*p)->stdout_fd(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  if ((*p)->Wait() != 0) return -1;
  size_t pos = out.find(") ");
  if (pos == std::string::npos) return -1;
  std::string_view v = std::string_view(out).substr(pos + 2);
  auto major = ParseUint(v.substr(0, v.find_first_not_of("0123456789")), 1000);
  return major.ok() ? static_cast<int>(*major) : -1;
}

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

}  // namespace

// pg_dump refuses servers newer than itself and pg_restore archives newer than itself, so the
// tool must be at least the server's major version: Debian installs each major side by side.
StatusOr<std::string> FindPgTool(const std::string& tool, int server_major, const std::string& bin_dir) {
  if (!bin_dir.empty()) {
    std::string p = bin_dir + "/" + tool;
    if (!Executable(p)) return NotFound(tool + " not found in DB_PG_BIN_DIR (" + bin_dir + ")");
    int major = ToolMajor(p);
    if (major < server_major) {
      return NotFound(p + " is PostgreSQL " + std::to_string(major) + ", older than the server (" +
                      std::to_string(server_major) + "): point DB_PG_BIN_DIR at a newer one");
    }
    return p;
  }
  for (int m = server_major; m <= server_major + 5; ++m) {
    std::string p = "/usr/lib/postgresql/" + std::to_string(m) + "/bin/" + tool;
    if (Executable(p)) return p;
  }
  if (const char* path = std::getenv("PATH")) {
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      std::string p = (dir.empty() ? "." : dir) + "/" + tool;
      if (Executable(p) && ToolMajor(p) >= server_major) return p;
    }
  }
  return NotFound(tool + " for PostgreSQL " + std::to_string(server_major) + " not found: install postgresql-client-" +
                  std::to_string(server_major) + " or set DB_PG_BIN_DIR");
}

DatabaseBackupResult BackupPostgres(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt, PgConnection& c,
                                    Progress& progress) {
  DatabaseBackupResult res;
  auto fail = [&](const Status& st) {
    res.report["success"] = false;
    res.report["error"] = st.message();
    return res;
  };
  int major = c.server_version() / 10000;
  auto pg_dump = FindPgTool("pg_dump", major, opt.pg_bin_dir);
  if (!pg_dump.ok()) return fail(pg_dump.status());
  Status st = c.Exec(kStableText);
  if (st.ok()) st = c.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  auto snapshot = st.ok() ? c.QueryValue("SELECT pg_export_snapshot()") : StatusOr<std::string>(st);
  if (!snapshot.ok()) return fail(snapshot.status().Context("starting the dump's snapshot"));

  // Custom format is what pg_restore can restore in parallel and selectively; -Z 0 leaves the
  // compression to us, after deduplication.
  SubprocessSpec spec;
  spec.argv = {*pg_dump, "--format=custom", "--compress=0", "--snapshot=" + *snapshot, "--no-sync"};
  spec.env = opt.endpoint.LibpqEnv("");
  spec.pipe_stdout = true;
  auto proc = Subprocess::Start(spec);
  if (!proc.ok()) return fail(proc.status());
  Subprocess& dump = **proc;

  // The counts come from the exported snapshot's own transaction while pg_dump streams.
  StatusOr<std::vector<TableCount>> counts = Internal("not counted");
  StatusOr<std::string> large_objects = Internal("not counted");
  std::thread counter([&] {
    counts = CountTables(c, opt.checksums);
    if (counts.ok()) large_objects = c.QueryValue("SELECT count(*) FROM pg_largeobject_metadata");
  });

  std::vector<Id> blobs;
  uint64_t size = 0;
  Chunker chunker = repo.MakeChunker(kDumpChunks);
  ChunkStream stream(chunker, dump.stdout_fd(), uint64_t{1} << 40, "pg_dump's output");
  for (;;) {
    std::span<const uint8_t> chunk;
    st = stream.Next(chunk);
    if (!st.ok() || chunk.empty()) break;
    auto id = saver.Save(BlobType::kData, chunk.data(), chunk.size());
    if (!id.ok()) {
      st = id.status();
      break;
    }
    blobs.push_back(*id);
    size += chunk.size();
    progress.bytes_done += chunk.size();
  }
  if (!st.ok()) dump.Kill(SIGTERM);
  int rc = dump.Wait();
  counter.join();
  c.Exec("COMMIT").IgnoreError();
  if (!st.ok()) return fail(st);
  if (rc != 0) {
    std::string why = dump.FirstErrorLine();
    if (why.find("connection") != std::string::npos || why.find("password") != std::string::npos) {
      why = ExplainConnectError(why, opt.endpoint, "");
    }
    return fail(Internal("pg_dump failed (exit " + std::to_string(rc) + "): " + why));
  }
  if (!counts.ok()) return fail(counts.status().Context("counting rows"));
  if (!large_objects.ok()) return fail(large_objects.status().Context("counting large objects"));
  auto large_object_count = ParseInt(*large_objects, 0, INT64_MAX, "large object count");
  if (!large_object_count.ok()) return fail(large_object_count.status());

  int64_t rows = 0;
  for (const auto& t : *counts) rows += t.rows;
  json ids = json::array();
  for (const auto& id : blobs) ids.push_back(id.Hex());
  res.entry = {{"kind", "postgresql"},
               {"database", opt.endpoint.name},
               {"blobs", ids},
               {"size_bytes", size},
               {"format", "pg_dump custom, uncompressed"},
               {"server_version", c.server_version()},
               {"tables", TablesToJson(*counts)},
               {"large_objects", *large_object_count},
               {"checksums", opt.checksums}};
  res.report["engine"] = "postgresql";
  res.report["size_bytes"] = size;
  res.report["tables"] = counts->size();
  res.report["rows"] = rows;
  res.report["large_objects"] = *large_object_count;
  res.report["success"] = true;
  res.success = true;
  return res;
}

namespace {

// Streams the stored dump to fd (pg_restore's stdin or a staging file). A stop (a drill told to
// end) cuts the stream short, so pg_restore fails at once instead of loading gigabytes first.
Status WriteDump(Repository& repo, const json& entry, int fd, Progress& progress) {
  for (const auto& h : entry.at("blobs")) {
    if (ProcessStopToken().stopped()) return Unavailable("the restore was stopped");
    auto id = Id::FromHex(h.get<std::string>());
    if (!id) return Corrupt("snapshot names an invalid blob id");
    ASSIGN_OR_RETURN(Bytes data, repo.ReadBlob(*id));
    RETURN_IF_ERROR(WriteFull(fd, data.data(), data.size(), "the dump"));
    progress.bytes_done += data.size();
  }
  return Status::Ok();
}

// Creates the target database if it is missing; returns whether it already held tables.
StatusOr<bool> PrepareTarget(const DatabaseOptions& opt, const std::string& target) {
  auto maint = PgConnection::Connect(opt.endpoint, "postgres");
  if (!maint.ok()) maint = PgConnection::Connect(opt.endpoint, "template1");
  if (!maint.ok()) return maint.status();
  PgConnection& m = **maint;
  ASSIGN_OR_RETURN(auto exists, m.Query("SELECT 1 FROM pg_database WHERE datname = " + m.QuoteLiteral(target)));
  if (exists.empty()) {
    Status st = m.Exec("CREATE DATABASE " + m.QuoteIdent(target));
    if (!st.ok()) {
      return PermissionDenied("creating database '" + target + "' failed: " + st.message() +
                              " (DB_USER needs CREATEDB, or create it first)");
    }
    LogInfo("database: created " + target);
    return false;
  }
  ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(opt.endpoint, target));
  ASSIGN_OR_RETURN(auto tables, conn->Query(kListTables));
  return !tables.empty();
}

json Verify(const DatabaseOptions& opt, const std::string& target, const json& entry) {
  json r = {{"success", false}};
  auto conn = PgConnection::Connect(opt.endpoint, target);
  if (!conn.ok()) {
    r["error"] = "verification: " + conn.status().message();
    return r;
  }
  bool checksums = entry.value("checksums", false);
  Status st = (*conn)->Exec(kStableText);
  auto counts = st.ok() ? CountTables(**conn, checksums) : StatusOr<std::vector<TableCount>>(st);
  if (!counts.ok()) {
    r["error"] = "verification: " + counts.status().message();
    return r;
  }
  std::map<std::string, const TableCount*> now;
  for (const auto& t : *counts) now[t.schema + "." + t.name] = &t;
  json mismatches = json::array();
  int64_t rows = 0;
  for (const auto& t : entry.at("tables")) {
    std::string name = t.at("schema").get<std::string>() + "." + t.at("name").get<std::string>();
    auto it = now.find(name);
    int64_t want = t.at("rows").get<int64_t>();
    rows += want;
    if (it == now.end()) {
      mismatches.push_back(name + ": missing");
    } else if (it->second->rows != want) {
      mismatches.push_back(name + ": " + std::to_string(it->second->rows) + " rows, backup has " +
                           std::to_string(want));
    } else if (checksums && t.contains("checksum") && t["checksum"].get<std::string>() != it->second->checksum) {
      mismatches.push_back(name + ": row count equal, content checksum differs");
    }
  }
  auto lo = (*conn)->QueryValue("SELECT count(*) FROM pg_largeobject_metadata");
  int64_t want_lo = entry.value("large_objects", int64_t{0});
  if (auto n = lo.ok() ? ParseInt(*lo, 0, INT64_MAX) : StatusOr<int64_t>(lo.status()); n.ok() && *n != want_lo) {
    mismatches.push_back("large objects: " + *lo + ", backup has " + std::to_string(want_lo));
  }
  r["tables_verified"] = entry.at("tables").size();
  r["rows_verified"] = rows;
  r["large_objects"] = want_lo;
  if (!mismatches.empty()) {
    r["mismatches"] = mismatches;
    r["error"] = "verification failed: " + mismatches[0].get<std::string>() +
                 (mismatches.size() > 1 ? " (and " + std::to_string(mismatches.size() - 1) + " more)" : "");
    return r;
  }
  r["success"] = true;
  return r;
}

}  // namespace

json RestorePostgres(Repository& repo, const json& entry, const DatabaseOptions& opt, const std::string& target,
                     Progress& progress) {
  json r = {{"success", false}, {"engine", "postgresql"}, {"database", target}};
  auto fail = [&](const Status& st) {
    r["error"] = st.message();
    return r;
  };
  auto had_tables = PrepareTarget(opt, target);
  if (!had_tables.ok()) return fail(had_tables.status());
  int server_major = 0;
  {
    auto conn = PgConnection::Connect(opt.endpoint, target);
    if (!conn.ok()) return fail(conn.status());
    server_major = (*conn)->server_version() / 10000;
  }
  // The archive's own version decides too: pg_restore refuses archives newer than itself.
  int dump_major = entry.value("server_version", 0) / 10000;
  auto pg_restore = FindPgTool("pg_restore", std::max(server_major, dump_major), opt.pg_bin_dir);
  if (!pg_restore.ok()) return fail(pg_restore.status());

  SubprocessSpec spec;
  spec.argv = {*pg_restore, "--dbname=" + target, "--exit-on-error"};
  // An existing database is brought to the backup's state object by object.
  if (*had_tables) {
    spec.argv.push_back("--clean");
    spec.argv.push_back("--if-exists");
  }
  spec.env = opt.endpoint.LibpqEnv(target);
  r["mode"] = *had_tables ? "replaced existing objects" : "into an empty database";

  std::string staging;
  Fd staging_fd;
  if (opt.restore_jobs > 1) {
    // Parallel restore needs a seekable archive: stage the dump in a private, unlinked-later file.
    std::string dir = opt.staging_dir.empty() ? "/tmp" : opt.staging_dir;
    staging = dir + "/spacetime-restore-" + RandomHex(8) + ".dump";
    staging_fd = Fd(open(staging.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!staging_fd.valid()) {
      return fail(
          ErrnoStatus("creating the staging file in " + dir + " (set DB_RESTORE_JOBS=1 to stream instead)", errno));
    }
    Status st = WriteDump(repo, entry, staging_fd.get(), progress);
    if (!st.ok()) {
      unlink(staging.c_str());
      return fail(st);
    }
    staging_fd = Fd();
    spec.argv.push_back("--jobs=" + std::to_string(opt.restore_jobs));
    spec.argv.push_back(staging);
  } else {
    spec.pipe_stdin = true;
  }
  auto proc = Subprocess::Start(spec);
  if (!proc.ok()) {
    if (!staging.empty()) unlink(staging.c_str());
    return fail(proc.status());
  }
  Status st;
  if (opt.restore_jobs <= 1) {
    st = WriteDump(repo, entry, (*proc)->stdin_fd(), progress);
    (*proc)->CloseStdin();
  }
  int rc = (*proc)->Wait();
  if (!staging.empty()) unlink(staging.c_str());
  if (rc != 0) {
    return fail(Internal("pg_restore failed (exit " + std::to_string(rc) + "): " + (*proc)->FirstErrorLine()));
  }
  if (!st.ok()) return fail(st);
  json v = Verify(opt, target, entry);
  for (auto& [k, val] : v.items()) r[k] = val;
  return r;
}

}  // namespace stb
