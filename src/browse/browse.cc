#include "browse/browse.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>

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

StatusOr<std::vector<BackupEntry>> ComponentEntries(Repository& repo, const std::string& component, const json& entry) {
  std::vector<BackupEntry> out;
  std::string kind = entry.value("kind", "");
  double time_unix = entry.value("time_unix", 0.0);
  if (kind == "files") {
    ASSIGN_OR_RETURN(Tree tree, LoadTree(repo, entry));
    out.reserve(tree.nodes.size());
    for (const auto& n : tree.nodes) out.push_back(FromNode(component, n));
  } else if (kind == "postgresql") {
    ASSIGN_OR_RETURN(BackupEntry e,
                     StreamEntry(component, entry.value("database", "database") + ".dump", entry, time_unix));
    out.push_back(std::move(e));
  } else if (kind == "redis") {
    ASSIGN_OR_RETURN(BackupEntry e, StreamEntry(component, "dump.rdb", entry, time_unix));
    out.push_back(std::move(e));
    if (entry.contains("aof")) {
      ASSIGN_OR_RETURN(Tree tree, LoadTree(repo, entry["aof"]));
      for (const auto& n : tree.nodes) out.push_back(FromNode(component, n));
    }
  } else if (kind == "cockroachdb") {
    return InvalidArgument("the " + component +
                           " backup is CockroachDB's own, kept in its collection (COCKROACH_BACKUP_LOCATION); "
                           "use `restore` for it");
  } else {
    return Corrupt("unknown kind '" + kind + "' of component " + component);
  }
  return out;
}

StatusOr<std::vector<BackupEntry>> SnapshotEntries(Repository& repo, const json& snapshot_doc,
                                                   const std::string& only_component) {
  std::vector<BackupEntry> out;
  if (!snapshot_doc.contains("components") || !snapshot_doc["components"].is_object()) return out;
  const json& comps = snapshot_doc["components"];
  if (!only_component.empty() && !comps.contains(only_component)) {
    return NotFound("the backup has no component '" + only_component + "'");
  }
  for (const auto& [name, entry] : comps.items()) {
    if (!only_component.empty() && name != only_component) continue;
    if (!entry.is_object()) continue;
    json e = entry;
    if (!e.contains("time_unix")) e["time_unix"] = snapshot_doc.value("time_unix", 0.0);
    auto entries = ComponentEntries(repo, name, e);
    if (!entries.ok()) {
      if (only_component.empty() && entry.value("kind", "") == "cockroachdb") continue;
      return entries.status();
    }
    for (auto& x : *entries) out.push_back(std::move(x));
  }
  return out;
}

bool IsUnder(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  return path == prefix ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '/');
}

std::vector<EntryChange> DiffEntries(const std::vector<BackupEntry>& before, const std::vector<BackupEntry>& after) {
  std::map<std::string, const BackupEntry*> old;
  for (const auto& e : before) old[e.path] = &e;
  std::vector<EntryChange> out;
  for (const auto& e : after) {
    auto it = old.find(e.path);
    if (it == old.end()) {
      out.push_back({'+', e.path});
      continue;
    }
    const BackupEntry& o = *it->second;
    if (o.type != e.type) {
      out.push_back({'T', e.path});
    } else if (o.content != e.content || o.size != e.size || o.target != e.target) {
      out.push_back({'M', e.path});
    } else if (!SameMeta(o, e)) {
      out.push_back({'m', e.path});
    }
    old.erase(it);
  }
  for (const auto& [path, e] : old) out.push_back({'-', path});
  std::sort(out.begin(), out.end(), [](const EntryChange& a, const EntryChange& b) { return a.path < b.path; });
  return out;
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
