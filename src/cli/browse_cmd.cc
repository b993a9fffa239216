// `ls`, `find`, `dump`, `diff`, `export`: look into backups without restoring them (one
// player's save out of last night's backup, what changed in the last hour, a component handed
// out as a tar archive). Read-only, under a shared lock.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

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

StatusOr<std::vector<BackupEntry>> EntriesOf(Repository& repo, const std::string& backup_id, const std::string& path,
                                             std::string* resolved_id = nullptr) {
  ASSIGN_OR_RETURN(SnapshotRef snap, FindSnapshot(repo, backup_id));
  if (resolved_id) *resolved_id = snap.backup_id;
  return SnapshotEntries(repo, snap.doc, path.empty() ? "" : ComponentOf(path));
}

}  // namespace

int RunLs(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  auto entries = EntriesOf(*o->repo, a.backup_id, a.path);
  if (!entries.ok()) return Fail(entries.status());
  json list = json::array();
  size_t n = 0;
  for (const auto& e : *entries) {
    if (!IsUnder(e.path, a.path)) continue;
    ++n;
    if (a.json) {
      list.push_back(EntryJson(e));
    } else {
      PrintEntry(e);
    }
  }
  if (n == 0 && !a.path.empty()) return Fail(NotFound("backup " + a.backup_id + " has nothing at '" + a.path + "'"));
  if (a.json) PrintJson(list);
  return 0;
}

int RunFind(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  auto snaps = ListSnapshots(*o->repo, nullptr);
  if (!snaps.ok()) return Fail(snaps.status());
  json found = json::array();
  for (const auto& snap : *snaps) {
    auto entries = SnapshotEntries(*o->repo, snap.doc);
    if (!entries.ok()) return Fail(entries.status().Context("backup " + snap.backup_id));
    for (const auto& e : *entries) {
      if (!GlobMatches(a.pattern, e.path)) continue;
      if (a.json) {
        json j = EntryJson(e);
        j["backup_id"] = snap.backup_id;
        found.push_back(j);
      } else {
        PrintEntry(e, snap.backup_id + "  ");
      }
    }
  }
  if (a.json) PrintJson(found);
  return 0;
}

int RunDump(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  auto entries = EntriesOf(*o->repo, a.backup_id, a.path);
  if (!entries.ok()) return Fail(entries.status());
  for (const auto& e : *entries) {
    if (e.path != a.path) continue;
    if (e.type == FileNode::Type::kDir) {
      return Fail(InvalidArgument(a.path + " is a directory: use `export " + a.backup_id + " " + a.path + "`"));
    }
    std::fflush(stdout);
    Status st = WriteContent(*o->repo, e, STDOUT_FILENO);
    return st.ok() ? 0 : Fail(st);
  }
  return Fail(NotFound("backup " + a.backup_id + " has no file '" + a.path + "' (list it with `ls " + a.backup_id +
                       " " + ComponentOf(a.path) + "`)"));
}

int RunDiff(const Settings& s, const BrowseArgs& a) {
  auto o = OpenForReading(s, a.location);
  if (!o.ok()) return Fail(o.status());
  std::string id1, id2;
  auto before = EntriesOf(*o->repo, a.backup_id, "", &id1);
  if (!before.ok()) return Fail(before.status());
  auto after = EntriesOf(*o->repo, a.backup_id2, "", &id2);
  if (!after.ok()) return Fail(after.status());
  auto changes = DiffEntries(*before, *after);
  if (a.json) {
    json r = {{"from", id1},
              {"to", id2},
              {"added", json::array()},
              {"removed", json::array()},
              {"modified", json::array()},
              {"type_changed", json::array()},
              {"metadata_changed", json::array()}};
    for (const auto& c : changes) {
      const char* key = c.kind == '+'   ? "added"
                        : c.kind == '-' ? "removed"
                        : c.kind == 'M' ? "modified"
                        : c.kind == 'T' ? "type_changed"
                                        : "metadata_changed";
      r[key].push_back(c.path);
    }
    PrintJson(r);
  } else {
    for (const auto& c : changes) std::printf("%c %s\n", c.kind, c.path.c_str());
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
  auto entries = EntriesOf(*o->repo, a.backup_id, a.path);
  if (!entries.ok()) return Fail(entries.status());
  std::string tmp;
  Fd out;
  if (!a.output.empty()) {
    tmp = a.output + ".partial";
    out = Fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) return Fail(ErrnoStatus("creating " + tmp, errno));
    fd = out.get();
  }
  Status st = ExportArchive(*o->repo, *entries, a.path, a.format, fd);
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
