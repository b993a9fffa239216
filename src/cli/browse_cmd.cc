// `ls`, `find`, `dump`, `diff`, `export`: look into backups without restoring them (one
// player's save out of last night's backup, what changed in the last hour, a component handed
// out as a tar archive). Read-only, under a shared lock.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "browse/browse.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/file_util.h"
#include "repository/lock.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

// The repository of a location, locked (shared) and with its index loaded.
struct OpenedRepo {
  std::unique_ptr<Repository> repo;
  std::unique_ptr<RepoLock> lock;
};

StatusOr<OpenedRepo> OpenForReading(const Settings& s, const std::string& location) {
  OpenedRepo o;
  ASSIGN_OR_RETURN(o.repo, OpenRepository(s, location));
  ASSIGN_OR_RETURN(o.lock, LockAndLoadIndex(*o.repo, false, std::chrono::seconds(60)));
  return o;
}

// "player_saves/saves/00" -> component "player_saves".
std::string ComponentOf(const std::string& path) { return path.substr(0, path.find('/')); }

std::string ModeText(const BackupEntry& e) {
  std::string m = e.type == FileNode::Type::kDir ? "d" : e.type == FileNode::Type::kSymlink ? "l" : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) m += (e.mode >> (8 - i)) & 1 ? rwx[i] : '-';
  return m;
}

json EntryJson(const BackupEntry& e) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", e.mode & 07777);
  json j = {{"path", e.path},
            {"type", EntryTypeName(e.type)},
            {"mode", mode},
            {"uid", e.uid},
            {"gid", e.gid},
            {"size", e.size},
            {"mtime", IsoTimestamp(static_cast<double>(e.mtime_ns) / 1e9)}};
  if (e.type == FileNode::Type::kSymlink) j["target"] = e.target;
  return j;
}

void PrintEntry(const BackupEntry& e, const std::string& prefix = "") {
  std::printf("%s%s %5u:%-5u %12llu %s %s%s%s\n", prefix.c_str(), ModeText(e).c_str(), e.uid, e.gid,
              static_cast<unsigned long long>(e.size),
              IsoTimestamp(static_cast<double>(e.mtime_ns) / 1e9).substr(0, 19).c_str(), e.path.c_str(),
              e.type == FileNode::Type::kSymlink ? " -> " : "", e.target.c_str());
}

// A JSON array printed element by element, as PrintJson would print it whole: `ls --json` of a
// million files holds one entry at a time.
class JsonArrayPrinter {
 public:
  void Add(const json& j) {
    std::string s = j.dump(2, ' ', false, json::error_handler_t::replace);
    std::string out = std::exchange(first_, false) ? "[\n  " : ",\n  ";
    for (char c : s) {
      out += c;
      if (c == '\n') out += "  ";
    }
    std::fputs(out.c_str(), stdout);
  }
  void Finish() { std::puts(first_ ? "[]" : "\n]"); }

 private:
  bool first_ = true;
};

// The entries of a backup (of the component path starts with), one at a time.
Status VisitEntriesOf(Repository& repo, const std::string& backup_id, const std::string& path,
                      const EntryVisitor& visit, std::string* resolved_id = nullptr) {
  ASSIGN_OR_RETURN(SnapshotRef snap, FindSnapshot(repo, backup_id));
  if (resolved_id) *resolved_id = snap.backup_id;
  return VisitSnapshotEntries(repo, snap.doc, path.empty() ? "" : ComponentOf(path), visit);
}

}  // namespace

int RunLs(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  JsonArrayPrinter list;
  size_t n = 0;
  Status st = VisitEntriesOf(*o->repo, a.backup_id, a.path, [&](const BackupEntry& e) -> StatusOr<bool> {
    if (!IsUnder(e.path, a.path)) return true;
    ++n;
    if (a.json) {
      list.Add(EntryJson(e));
    } else {
      PrintEntry(e);
    }
    return true;
  });
  if (!st.ok()) return Fail(st);
  if (n == 0 && !a.path.empty()) return Fail(NotFound("backup " + a.backup_id + " has nothing at '" + a.path + "'"));
  if (a.json) list.Finish();
  return 0;
}

int RunFind(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  auto snaps = ListSnapshots(*o->repo, nullptr);
  if (!snaps.ok()) return Fail(snaps.status());
  JsonArrayPrinter found;
  for (const auto& snap : *snaps) {
    Status st = VisitSnapshotEntries(*o->repo, snap.doc, "", [&](const BackupEntry& e) -> StatusOr<bool> {
      if (!GlobMatches(a.pattern, e.path)) return true;
      if (a.json) {
        json j = EntryJson(e);
        j["backup_id"] = snap.backup_id;
        found.Add(j);
      } else {
        PrintEntry(e, snap.backup_id + "  ");
      }
      return true;
    });
    if (!st.ok()) return Fail(st.Context("backup " + snap.backup_id));
  }
  if (a.json) found.Finish();
  return 0;
}

int RunDump(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  std::optional<BackupEntry> hit;
  Status st = VisitEntriesOf(*o->repo, a.backup_id, a.path, [&](const BackupEntry& e) -> StatusOr<bool> {
    if (e.path != a.path) return true;
    hit = e;
    return false;
  });
  if (!st.ok()) return Fail(st);
  if (!hit) {
    return Fail(NotFound("backup " + a.backup_id + " has no file '" + a.path + "' (list it with `ls " + a.backup_id +
                         " " + ComponentOf(a.path) + "`)"));
  }
  if (hit->type == FileNode::Type::kDir) {
    return Fail(InvalidArgument(a.path + " is a directory: use `export " + a.backup_id + " " + a.path + "`"));
  }
  std::fflush(stdout);
  st = WriteContent(*o->repo, *hit, STDOUT_FILENO);
  return st.ok() ? 0 : Fail(st);
}

int RunDiff(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  auto before = FindSnapshot(*o->repo, a.backup_id);
  if (!before.ok()) return Fail(before.status());
  auto after = FindSnapshot(*o->repo, a.backup_id2);
  if (!after.ok()) return Fail(after.status());
  auto from = TreeOrderEntries(*o->repo, before->doc);
  auto to = TreeOrderEntries(*o->repo, after->doc);
  // The text form streams, in tree order; the JSON form holds the changed paths (not the entries)
  // to group them.
  json r = {{"from", before->backup_id},        {"to", after->backup_id},    {"added", json::array()},
            {"removed", json::array()},         {"modified", json::array()}, {"type_changed", json::array()},
            {"metadata_changed", json::array()}};
  Status st = DiffStreams(*from, *to, [&](const EntryChange& c) {
    if (!a.json) {
      std::printf("%c %s\n", c.kind, c.path.c_str());
      return Status::Ok();
    }
    const char* key = c.kind == '+'   ? "added"
                      : c.kind == '-' ? "removed"
                      : c.kind == 'M' ? "modified"
                      : c.kind == 'T' ? "type_changed"
                                      : "metadata_changed";
    r[key].push_back(c.path);
    return Status::Ok();
  });
  if (!st.ok()) return Fail(st);
  if (a.json) {
    // Each list by byte order, as before the diff streamed (the text form is in tree order).
    for (const char* key : {"added", "removed", "modified", "type_changed", "metadata_changed"}) {
      std::sort(r[key].begin(), r[key].end());
    }
    PrintJson(r);
  }
  return 0;
}

int RunExport(const Settings& s, const BrowseArgs& a) {
  int fd = STDOUT_FILENO;
  if (a.output.empty() && isatty(STDOUT_FILENO)) {
    return Fail(InvalidArgument("export writes a compressed archive: redirect stdout or give --output FILE"));
  }
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  auto snap = FindSnapshot(*o->repo, a.backup_id);
  if (!snap.ok()) return Fail(snap.status());
  std::string tmp;
  Fd out;
  if (!a.output.empty()) {
    tmp = a.output + ".partial";
    out = Fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) return Fail(ErrnoStatus("creating " + tmp, errno));
    fd = out.get();
  }
  Status st = ExportArchive(*o->repo, snap->doc, a.path, a.format, fd);
  if (st.ok() && out.valid() && ::fsync(fd) != 0) st = ErrnoStatus("fsync " + tmp, errno);
  if (st.ok() && out.valid() && ::rename(tmp.c_str(), a.output.c_str()) != 0) {
    st = ErrnoStatus("renaming into " + a.output, errno);
  }
  if (!st.ok()) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return Fail(st);
  }
  return 0;
}

}  // namespace stb
