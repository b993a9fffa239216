#include "browse/browse.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>

#include "repository/blob_stream.h"
#include "repository/tree.h"

namespace stb {

using json = nlohmann::json;

namespace {

BackupEntry FromNode(const std::string& component, const FileNode& n) {
  BackupEntry e;
  e.path = component + "/" + n.path;
  e.type = n.type;
  e.mode = n.mode;
  e.uid = n.uid;
  e.gid = n.gid;
  e.mtime_ns = n.mtime_ns;
  e.size = n.size;
  e.target = n.target;
  e.content = n.content;
  return e;
}

// A stream component (database dump, RDB) as one file, named for what it is.
StatusOr<BackupEntry> StreamEntry(const std::string& component, const std::string& name, const json& entry,
                                  double time_unix) {
  BackupEntry e;
  e.path = component + "/" + name;
  e.mode = 0600;
  e.mtime_ns = static_cast<int64_t>(time_unix * 1e9);
  if (!entry.contains("blobs") || !entry["blobs"].is_array()) return Corrupt(component + " entry has no blobs");
  for (const auto& h : entry["blobs"]) {
    auto id = h.is_string() ? Id::FromHex(h.get<std::string>()) : std::nullopt;
    if (!id) return Corrupt("bad blob id in the " + component + " entry");
    e.content.push_back(*id);
  }
  const json& size = entry.contains("size_bytes") ? entry["size_bytes"] : json();
  if (!size.is_number_unsigned()) return Corrupt(component + " entry has no size");
  e.size = size.get<uint64_t>();
  return e;
}

bool SameMeta(const BackupEntry& a, const BackupEntry& b) {
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime_ns == b.mtime_ns;
}

}  // namespace

std::string EntryTypeName(FileNode::Type t) {
  switch (t) {
    case FileNode::Type::kDir:
      return "dir";
    case FileNode::Type::kSymlink:
      return "symlink";
    case FileNode::Type::kFile:
      break;
  }
  return "file";
}

namespace {

// Visits a stored tree node by node; false when the visitor stopped.
StatusOr<bool> VisitTree(Repository& repo, const std::string& component, const json& tree_entry,
                         const EntryVisitor& visit) {
  ASSIGN_OR_RETURN(auto cursor, TreeCursor::Open(repo, tree_entry));
  FileNode n;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, cursor->Next(n));
    if (!more) return true;
    ASSIGN_OR_RETURN(bool go_on, visit(FromNode(component, n)));
    if (!go_on) return false;
  }
}

// A component's entries in stored order; false when the visitor stopped.
StatusOr<bool> VisitComponent(Repository& repo, const std::string& component, const json& entry,
                              const EntryVisitor& visit) {
  std::string kind = entry.value("kind", "");
  double time_unix = entry.value("time_unix", 0.0);
  if (kind == "files") return VisitTree(repo, component, entry, visit);
  if (kind == "postgresql") {
    ASSIGN_OR_RETURN(BackupEntry e,
                     StreamEntry(component, entry.value("database", "database") + ".dump", entry, time_unix));
    return visit(e);
  }
  if (kind == "redis") {
    ASSIGN_OR_RETURN(BackupEntry e, StreamEntry(component, "dump.rdb", entry, time_unix));
    ASSIGN_OR_RETURN(bool go_on, visit(e));
    if (!go_on || !entry.contains("aof")) return go_on;
    return VisitTree(repo, component, entry["aof"], visit);
  }
  if (kind == "cockroachdb") {
    return InvalidArgument("the " + component +
                           " backup is CockroachDB's own, kept in its collection (COCKROACH_BACKUP_LOCATION); "
                           "use `restore` for it");
  }
  return Corrupt("unknown kind '" + kind + "' of component " + component);
}

// A component's entry with the snapshot's time when it has none of its own.
json WithTime(const json& entry, const json& snapshot_doc) {
  json e = entry;
  if (!e.contains("time_unix")) e["time_unix"] = snapshot_doc.value("time_unix", 0.0);
  return e;
}

}  // namespace

Status VisitSnapshotEntries(Repository& repo, const json& snapshot_doc, const std::string& only_component,
                            const EntryVisitor& visit) {
  if (!snapshot_doc.contains("components") || !snapshot_doc["components"].is_object()) return Status::Ok();
  const json& comps = snapshot_doc["components"];
  if (!only_component.empty() && !comps.contains(only_component)) {
    return NotFound("the backup has no component '" + only_component + "'");
  }
  for (const auto& [name, entry] : comps.items()) {
    if (!only_component.empty() && name != only_component) continue;
    if (!entry.is_object()) continue;
    // CockroachDB's backups are not in the repository: skipped unless asked for by name.
    if (only_component.empty() && entry.value("kind", "") == "cockroachdb") continue;
    ASSIGN_OR_RETURN(bool go_on, VisitComponent(repo, name, WithTime(entry, snapshot_doc), visit));
    if (!go_on) break;
  }
  return Status::Ok();
}

namespace {

// One name at the top of a component: a stream file, or a root of a stored tree.
struct TopName {
  std::string name;
  const json* tree = nullptr;  // the tree's entry, for a root
  BackupEntry stream;          // the entry, for a stream file
};

// TreeOrderEntries: components by name, each one's top names by name (for names without '/'
// that is tree order, and so is a concatenation of their subtrees), each root's nodes as stored.
// One tree cursor at a time; it goes on from one root to the next only when that root's first
// node is the next one stored, else the tree is opened again and read up to the root.
class TreeOrderStream final : public EntryStream {
 public:
  TreeOrderStream(Repository& repo, const json& snapshot_doc) : repo_(repo) {
    if (!snapshot_doc.contains("components") || !snapshot_doc["components"].is_object()) return;
    for (const auto& [name, entry] : snapshot_doc["components"].items()) {
      if (!entry.is_object() || entry.value("kind", "") == "cockroachdb") continue;
      comps_.push_back({name, WithTime(entry, snapshot_doc)});
    }
  }

  StatusOr<bool> Next(BackupEntry& e) override {
    for (;;) {
      if (top_ == tops_.size()) {
        if (comp_ == comps_.size()) return false;
        RETURN_IF_ERROR(StartComponent(comps_[comp_].first, comps_[comp_].second));
        ++comp_;
        continue;
      }
      TopName& t = tops_[top_];
      if (!t.tree) {
        e = std::move(t.stream);
        ++top_;
        return true;
      }
      ASSIGN_OR_RETURN(bool more, NextOfRoot(t, e));
      if (more) return true;
      ++top_;
      started_ = false;
    }
  }

 private:
  Status StartComponent(const std::string& name, const json& entry) {
    component_ = name;
    tops_.clear();
    top_ = 0;
    std::string kind = entry.value("kind", "");
    double time_unix = entry.value("time_unix", 0.0);
    if (kind == "files") {
      RETURN_IF_ERROR(AddRoots(entry));
    } else if (kind == "postgresql") {
      ASSIGN_OR_RETURN(BackupEntry e,
                       StreamEntry(name, entry.value("database", "database") + ".dump", entry, time_unix));
      tops_.push_back({e.path.substr(name.size() + 1), nullptr, std::move(e)});
    } else if (kind == "redis") {
      ASSIGN_OR_RETURN(BackupEntry e, StreamEntry(name, "dump.rdb", entry, time_unix));
      tops_.push_back({"dump.rdb", nullptr, std::move(e)});
      if (entry.contains("aof")) RETURN_IF_ERROR(AddRoots(entry["aof"]));
    } else {
      return Corrupt("unknown kind '" + kind + "' of component " + name);
    }
    std::stable_sort(tops_.begin(), tops_.end(),
                     [](const TopName& a, const TopName& b) { return CompareTreePaths(a.name, b.name) < 0; });
    return Status::Ok();
  }

  Status AddRoots(const json& tree_entry) {
    ASSIGN_OR_RETURN(cursor_, TreeCursor::Open(repo_, tree_entry));
    tree_ = &tree_entry;
    ahead_.reset();
    read_any_ = false;
    for (const auto& r : cursor_->roots()) tops_.push_back({r.name, &tree_entry, {}});
    return Status::Ok();
  }

  StatusOr<bool> Pull(FileNode& n) {
    if (ahead_) {
      n = std::move(*ahead_);
      ahead_.reset();
      return true;
    }
    return cursor_->Next(n);
  }

  StatusOr<bool> NextOfRoot(const TopName& t, BackupEntry& e) {
    FileNode n;
    if (!started_) {
      started_ = true;
      bool at_start = tree_ == t.tree && cursor_ && !read_any_;
      bool follows = tree_ == t.tree && ahead_ && IsUnder(ahead_->path, t.name);
      if (!at_start && !follows) {
        ASSIGN_OR_RETURN(cursor_, TreeCursor::Open(repo_, *t.tree));
        tree_ = t.tree;
        ahead_.reset();
        read_any_ = false;
      }
      // Skips the nodes of the roots stored before this one (read on their own turn).
      for (;;) {
        ASSIGN_OR_RETURN(bool more, Pull(n));
        if (!more) return false;
        read_any_ = true;
        if (IsUnder(n.path, t.name)) break;
      }
    } else {
      ASSIGN_OR_RETURN(bool more, Pull(n));
      if (!more) return false;
      if (!IsUnder(n.path, t.name)) {
        ahead_ = std::move(n);
        return false;
      }
    }
    e = FromNode(component_, n);
    return true;
  }

  Repository& repo_;
  std::vector<std::pair<std::string, json>> comps_;
  size_t comp_ = 0;
  std::string component_;
  std::vector<TopName> tops_;
  size_t top_ = 0;
  bool started_ = false;  // tops_[top_]'s first node was read
  const json* tree_ = nullptr;
  std::unique_ptr<TreeCursor> cursor_;
  bool read_any_ = false;          // cursor_ is past its first node
  std::optional<FileNode> ahead_;  // read past the end of the previous root
};

// One side of a diff: the stream and its current entry, checked to come in tree order.
struct DiffSide {
  EntryStream& stream;
  const char* name;
  BackupEntry e;
  bool has = false;
  std::string last;

  Status Pull() {
    ASSIGN_OR_RETURN(has, stream.Next(e));
    if (!has) return Status::Ok();
    if (!last.empty() && CompareTreePaths(last, e.path) >= 0) {
      return Corrupt("diff: the " + std::string(name) + " backup's entries are not in tree order ('" + last +
                     "', then '" + e.path + "')");
    }
    last = e.path;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<EntryStream> TreeOrderEntries(Repository& repo, const json& snapshot_doc) {
  return std::make_unique<TreeOrderStream>(repo, snapshot_doc);
}

bool IsUnder(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  return path == prefix ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '/');
}

Status DiffStreams(EntryStream& before, EntryStream& after, const std::function<Status(const EntryChange&)>& emit) {
  DiffSide a{before, "first"}, b{after, "second"};
  RETURN_IF_ERROR(a.Pull());
  RETURN_IF_ERROR(b.Pull());
  while (a.has || b.has) {
    int c = !a.has ? 1 : !b.has ? -1 : CompareTreePaths(a.e.path, b.e.path);
    if (c < 0) {
      RETURN_IF_ERROR(emit({'-', a.e.path}));
      RETURN_IF_ERROR(a.Pull());
      continue;
    }
    if (c > 0) {
      RETURN_IF_ERROR(emit({'+', b.e.path}));
      RETURN_IF_ERROR(b.Pull());
      continue;
    }
    const BackupEntry &o = a.e, &e = b.e;
    if (o.type != e.type) {
      RETURN_IF_ERROR(emit({'T', e.path}));
    } else if (o.content != e.content || o.size != e.size || o.target != e.target) {
      RETURN_IF_ERROR(emit({'M', e.path}));
    } else if (!SameMeta(o, e)) {
      RETURN_IF_ERROR(emit({'m', e.path}));
    }
    RETURN_IF_ERROR(a.Pull());
    RETURN_IF_ERROR(b.Pull());
  }
  return Status::Ok();
}

Status WriteContent(Repository& repo, const BackupEntry& e, int fd) {
  if (e.type != FileNode::Type::kFile)
    return InvalidArgument(e.path + " is a " + EntryTypeName(e.type) + ", not a file");
  uint64_t written = 0;
  RETURN_IF_ERROR(StreamBlobs(repo, e.content, [&](const Bytes& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t w = ::write(fd, data.data() + done, data.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoStatus("writing " + e.path, errno);
      done += static_cast<size_t>(w);
    }
    written += data.size();
    return Status::Ok();
  }));
  if (written != e.size) {
    return Corrupt(e.path + ": its blobs hold " + std::to_string(written) + " bytes, the backup recorded " +
                   std::to_string(e.size));
  }
  return Status::Ok();
}

}  // namespace stb
