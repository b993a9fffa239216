// `backup full|incremental [PARENT]`: backs up every configured component into one snapshot and
// prints the guide's JSON report. Write order: packs, then the index, then the snapshot.
#include <cmath>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/replication.h"
#include "cli/run_alerts.h"
#include "components/files/file_backup.h"
#include "components/files/walker.h"
#include "components/redis/redis_component.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/progress.h"
#include "repository/blob_saver.h"
#include "repository/lock.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

// Which roots and excludes a file component has, or "" roots when it is not configured.
struct FileSource {
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
  const char* variable;
};

FileSource SourceOf(const Settings& s, const std::string& component) {
  if (component == "player_saves")
    return {s.player_saves_dir.empty() ? std::vector<std::string>{} : std::vector<std::string>{s.player_saves_dir},
            {},
            "PLAYER_SAVES_DIR"};
  if (component == "configuration") return {s.config_dirs, {}, "CONFIG_DIRS"};
  return {s.app_dir.empty() ? std::vector<std::string>{} : std::vector<std::string>{s.app_dir}, s.app_exclude,
          "APP_DIR"};
}

json Skipped(const std::string& reason) { return {{"status", "skipped"}, {"reason", reason}}; }

}  // namespace

namespace {

// The catalog records *report_out when this returns (metrics); the caller alerts from it.
int BackupOnce(const Settings& s, const BackupArgs& a, json* report_out) {
  double t_start = NowSeconds();
  RecordBackupOnExit record_in_catalog(s.state_dir, report_out);
  InitLog(s.log_dir, "backup.log");
  LogInfo("backup " + a.type + " starting");
  auto repo_or = OpenRepository(s, "local");
  if (!repo_or.ok()) return Fail(repo_or.status());
  Repository& repo = **repo_or;
  std::vector<std::string> index_problems;
  // The lock before the index: a prune cannot delete what the loaded index names.
  auto lock = LockAndLoadIndex(repo, false, std::chrono::seconds(60), &index_problems);
  if (!lock.ok()) return Fail(lock.status());
  for (const auto& p : index_problems) LogWarn("damaged index ignored (its blobs will be stored again): " + p);

  // The parent: incremental backups skip unchanged files of it; full backups read everything.
  std::optional<SnapshotRef> parent;
  if (a.type == "incremental") {
    std::string pid = a.parent.empty() ? "latest" : Basename(a.parent);
    if (!a.parent.empty() && !IsBackupId(pid)) {
      return Fail(InvalidArgument("PARENT '" + a.parent +
                                  "' is neither a backup id (YYYYMMDD_HHMMSS) nor a path ending in one"));
    }
    auto found = FindSnapshot(repo, pid);
    if (found.ok()) {
      parent = std::move(*found);
    } else if (!a.parent.empty() || found.status().code() != Code::kNotFound) {
      return Fail(found.status());
    } else {
      LogWarn("no earlier backup: this incremental backup reads every file");
    }
  }

  auto backup_id = repo.ReserveBackupId(static_cast<int64_t>(std::floor(t_start)));
  if (!backup_id.ok()) return Fail(backup_id.status());
  LogInfo("backup id " + *backup_id + (parent ? ", parent " + parent->backup_id : ""));

  Progress progress;
  progress.phase = "backup " + *backup_id;
  BlobSaver saver(repo, s.compression);
  json components = json::object(), entries = json::object();
  bool ok = true, any = false;
  {
    ProgressPrinter printer(progress, a.progress);
    for (const auto& comp : kBackupOrder) {
      if (comp == "database") {
        if (s.db_host.empty()) {
          components[comp] = Skipped("not configured (DB_HOST)");
          continue;
        }
        any = true;
        DatabaseBackupResult r;
        auto opt = DatabaseOptionsOf(s, repo);
        if (opt.ok()) {
          r = BackupDatabase(repo, saver, *opt, a.type, progress);
        } else {
          r.report = {{"type", a.type}, {"success", false}, {"error", opt.status().message()}};
        }
        r.report["status"] = r.success ? "success" : "failed";
        if (!r.success) LogError("database: " + r.report.value("error", "failed"));
        ok &= r.success;
        components[comp] = r.report;
        if (r.entry.is_object()) entries[comp] = r.entry;
        continue;
      }
      if (comp == "redis") {
        if (s.redis_host.empty()) {
          components[comp] = Skipped("not configured (REDIS_HOST)");
          continue;
        }
        any = true;
        RedisBackupResult r = BackupRedis(repo, saver, RedisOptionsOf(s), progress);
        r.report["status"] = r.success ? "success" : "failed";
        if (!r.success) LogError("redis: " + r.report.value("error", "failed"));
        ok &= r.success;
        components[comp] = r.report;
        if (r.entry.is_object()) entries[comp] = r.entry;
        continue;
      }
      FileSource src = SourceOf(s, comp);
      if (src.paths.empty()) {
        components[comp] = Skipped(std::string("not configured (") + src.variable + ")");
        continue;
      }
      any = true;
      FileBackupOptions opt;
      opt.roots = NameRoots(src.paths);
      opt.excludes = src.excludes;
      opt.workers = s.EffectiveWorkers();
      std::optional<Tree> parent_tree;
      if (parent && parent->doc["components"].contains(comp)) {
        auto t = LoadTree(repo, parent->doc["components"][comp]);
        if (t.ok()) {
          parent_tree = std::move(*t);
          opt.parent = &*parent_tree;
        } else {
          LogWarn(comp + ": parent tree unreadable, reading every file: " + t.status().message());
        }
      }
      FileBackupResult r = BackupFiles(repo, saver, comp, opt, progress);
      r.report["status"] = r.success ? "success" : "failed";
      if (!r.success) {
        LogError(comp + ": " + r.FirstError());
        if (r.report.contains("error")) {
          r.report["error"] = r.report["error"].get<std::string>() + " (check " + src.variable + ")";
        }
      }
      ok &= r.success;
      components[comp] = r.report;
      if (r.entry.is_object()) entries[comp] = r.entry;  // a source that could not be walked has no tree
    }
  }
  if (!any) {
    ok = false;
    LogError("nothing to back up");
  }
  Status fin = saver.Finish();
  json report = {{"backup_id", *backup_id},
                 {"type", a.type},
                 {"parent", parent ? json(parent->backup_id) : json(nullptr)},
                 {"start_time", IsoTimestamp(t_start)}};
  double t_end = NowSeconds();
  report["end_time"] = IsoTimestamp(t_end);
  report["duration_seconds"] = t_end - t_start;
  report["components"] = components;
  const SaveStats& ss = saver.stats();
  uint64_t total = ss.new_bytes + ss.reused_bytes;
  report["repository"] = {
      {"new_bytes", ss.new_bytes.load()},
      {"reused_bytes", ss.reused_bytes.load()},
      {"stored_bytes", ss.stored_bytes.load()},
      {"new_blobs", ss.new_blobs.load()},
      {"dedup_ratio", ss.stored_bytes ? static_cast<double>(total) / static_cast<double>(ss.stored_bytes) : 0.0}};
  if (!index_problems.empty()) report["warnings"] = index_problems;
  if (!any)
    report["error"] =
        "nothing to back up: set DB_HOST, REDIS_HOST, PLAYER_SAVES_DIR, CONFIG_DIRS or APP_DIR (see --help)";
  if (!fin.ok() || !any) {
    report["overall_success"] = false;
    if (!any) {  // nothing was backed up: a snapshot would only clutter the list
      LogError(report["error"]);
      PrintJson(report);
      if (report_out) *report_out = report;
      return 1;
    }
    report["error"] = "storing the backup failed, no snapshot was written: " + fin.message();
    report["locations"] = {{"local", {{"status", "failed"}, {"error", fin.message()}}}};
    LogError(report["error"]);
    PrintJson(report);
    if (report_out) *report_out = report;
    return 1;
  }
  report["overall_success"] = ok;
  json snapshot = {{"version", 1},           {"backup_id", *backup_id},
                   {"type", a.type},         {"parent", report["parent"]},
                   {"hostname", Hostname()}, {"start_time", report["start_time"]},
                   {"time_unix", t_start},   {"end_time", report["end_time"]},
                   {"components", entries},  {"report", report}};
  auto name = WriteSnapshot(repo, **lock, snapshot);
  if (!name.ok()) {
    report["overall_success"] = false;
    report["error"] = "writing the snapshot failed: " + name.status().message();
    LogError(report["error"]);
    PrintJson(report);
    if (report_out) *report_out = report;
    return 1;
  }
  // The copies: each location on its own, in parallel. One that is down leaves the backup a
  // success (local has it), reported and logged; the next backup or `replicate` fills it.
  json locations = ReplicateToCopies(s, repo.storage());
  locations["local"] = {{"status", "ok"}, {"path", s.backup_root}};
  report["locations"] = locations;
  LogInfo("backup " + *backup_id + (ok ? " succeeded" : " finished with failures") + ": " +
          report.dump(-1, ' ', false, json::error_handler_t::replace));
  PrintJson(report);
  if (report_out) *report_out = report;
  return ok ? 0 : 1;
}

}  // namespace

int RunBackup(const Settings& s, const BackupArgs& a, json* report_out) {
  json own_report;
  if (!report_out) report_out = &own_report;
  int rc = BackupOnce(s, a, report_out);
  // A backup that could not start has no report: its alert carries the error it failed with.
  if (rc != 0 && !report_out->contains("error") && !report_out->contains("components")) {
    (*report_out)["error"] = LastFailure();
  }
  AlertBackupOutcome(s, a.type, *report_out, rc == 0);
  return rc;
}

}  // namespace stb
