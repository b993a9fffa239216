#include "archiver/archiver.h"

#include <cmath>
#include <optional>

#include "core/file_util.h"
#include "core/log.h"
#include "core/progress.h"
#include "repository/blob_saver.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

// The parent: incremental backups skip unchanged files of it; full backups read everything.
StatusOr<std::optional<SnapshotRef>> FindParent(Repository& repo, const ArchiveOptions& a) {
  if (a.type != "incremental") return std::optional<SnapshotRef>();
  std::string pid = a.parent.empty() ? "latest" : Basename(a.parent);
  if (!a.parent.empty() && !IsBackupId(pid)) {
    return InvalidArgument("PARENT '" + a.parent +
                           "' is neither a backup id (YYYYMMDD_HHMMSS) nor a path ending in one");
  }
  auto found = FindSnapshot(repo, pid);
  if (found.ok()) return std::optional<SnapshotRef>(std::move(*found));
  if (!a.parent.empty() || found.status().code() != Code::kNotFound) return found.status();
  LogWarn("no earlier backup: this incremental backup reads every file");
  return std::optional<SnapshotRef>();
}

const json* ParentEntry(const std::optional<SnapshotRef>& parent, std::string_view name) {
  if (!parent) return nullptr;
  auto comps = parent->doc.find("components");
  if (comps == parent->doc.end() || !comps->is_object()) return nullptr;
  auto it = comps->find(std::string(name));
  return it == comps->end() ? nullptr : &*it;
}

struct Outcome {
  bool ok = true, any = false;
  std::vector<std::string> unset;  // the settings of the skipped components, in backup order
};

// Each configured component in backup order; their reports and entries go into the snapshot.
Outcome BackupAll(const ComponentRegistry& registry, BackupContext ctx, const std::optional<SnapshotRef>& parent,
                  Snapshot& snap) {
  Outcome out;
  for (Component* c : registry.BackupOrder()) {
    std::string name(c->name());
    if (std::string setting = c->MissingSetting(ctx.settings); !setting.empty()) {
      snap.report.components[name] = ComponentReport::Skipped("not configured (" + setting + ")");
      out.unset.push_back(setting);
      continue;
    }
    out.any = true;
    ctx.parent_entry = ParentEntry(parent, name);
    ComponentBackup b = c->Backup(ctx);
    b.report.status = b.report.success ? "success" : "failed";
    if (!b.report.success) LogError(name + ": " + b.report.FirstError());
    out.ok &= b.report.success;
    snap.report.components[name] = std::move(b.report);
    if (b.entry.is_object()) snap.components[name] = std::move(b.entry);
  }
  return out;
}

std::string NothingToBackUp(const std::vector<std::string>& unset) {
  std::string list;
  for (size_t i = 0; i < unset.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == unset.size() ? " or " : ", ") + unset[i];
  }
  return "nothing to back up: set " + list + " (see --help)";
}

RepositoryStats StatsOf(const SaveStats& ss) {
  RepositoryStats r;
  r.new_bytes = ss.new_bytes.load();
  r.reused_bytes = ss.reused_bytes.load();
  r.stored_bytes = ss.stored_bytes.load();
  r.new_blobs = ss.new_blobs.load();
  uint64_t total = r.new_bytes + r.reused_bytes;
  r.dedup_ratio = r.stored_bytes ? static_cast<double>(total) / static_cast<double>(r.stored_bytes) : 0.0;
  return r;
}

// The report once the data is stored (fin) or not; the snapshot is written only when it is.
void Conclude(Repository& repo, RepoLock& lock, const Settings& s, const Outcome& done, const Status& fin,
              Snapshot& snap) {
  BackupReport& report = snap.report;
  if (!done.any) {  // nothing was backed up: a snapshot would only clutter the list
    report.error = NothingToBackUp(done.unset);
    LogError(*report.error);
    return;
  }
  if (!fin.ok()) {
    report.error = "storing the backup failed, no snapshot was written: " + fin.message();
    report.locations = {{"local", {{"status", "failed"}, {"error", fin.message()}}}};
    LogError(*report.error);
    return;
  }
  report.overall_success = done.ok;
  auto name = WriteSnapshot(repo, lock, snap);
  if (!name.ok()) {
    report.overall_success = false;
    report.error = "writing the snapshot failed: " + name.status().message();
    LogError(*report.error);
    return;
  }
  report.locations = {{"local", {{"status", "ok"}, {"path", s.backup_root}}}};
}

}  // namespace

StatusOr<ArchiveResult> ArchiveBackup(Repository& repo, const Settings& s, const ComponentRegistry& registry,
                                      const ArchiveOptions& opt) {
  double t_start = opt.start_unix > 0 ? opt.start_unix : NowSeconds();
  ArchiveResult res;
  std::vector<std::string> index_problems;
  // The lock before the index: a prune cannot delete what the loaded index names.
  ASSIGN_OR_RETURN(res.lock, LockAndLoadIndex(repo, false, opt.lock_wait, &index_problems));
  for (const auto& p : index_problems) LogWarn("damaged index ignored (its blobs will be stored again): " + p);
  ASSIGN_OR_RETURN(std::optional<SnapshotRef> parent, FindParent(repo, opt));
  ASSIGN_OR_RETURN(std::string backup_id, repo.ReserveBackupId(static_cast<int64_t>(std::floor(t_start))));
  LogInfo("backup id " + backup_id + (parent ? ", parent " + parent->backup_id : ""));

  Snapshot snap;
  snap.backup_id = snap.report.backup_id = backup_id;
  snap.type = snap.report.type = opt.type;
  if (parent) snap.parent = snap.report.parent = parent->backup_id;
  snap.hostname = Hostname();
  snap.time_unix = t_start;
  snap.start_time = snap.report.start_time = IsoTimestamp(t_start);
  Progress progress;
  progress.phase = "backup " + backup_id;
  BlobSaver saver(repo, s.compression);
  Outcome done;
  {
    ProgressPrinter printer(progress, opt.progress);
    done = BackupAll(registry, BackupContext{repo, saver, s, opt.type, nullptr, progress}, parent, snap);
  }
  if (!done.any) LogError("nothing to back up");
  Status fin = saver.Finish();
  double t_end = NowSeconds();
  snap.end_time = snap.report.end_time = IsoTimestamp(t_end);
  snap.report.duration_seconds = t_end - t_start;
  snap.report.repository = StatsOf(saver.stats());
  snap.report.warnings = index_problems;
  Conclude(repo, *res.lock, s, done, fin, snap);
  res.report = std::move(snap.report);
  return res;
}

}  // namespace stb
