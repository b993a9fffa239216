// What a backup holds, without restoring it: its entries (tree nodes of the file components, one
// file for a stream component), lookups by path and glob, the changes between two backups, one
// entry's verified content, and a component as a plain tar archive (libarchive). Entries are read
// one at a time (trees through a TreeCursor): nothing holds all of a backup's entries (issue 17).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "repository/repository.h"
#include "repository/tree.h"
#include "repository/tree_select.h"  // GlobMatches, SelectNodes (restore --include)

namespace stb {

// One entry of a backup. path is "<component>/<root name>/a/b" for file components, and
// "database/<name>.dump" or "redis/dump.rdb" for the streams of the database and redis.
struct BackupEntry {
  std::string path;
  FileNode::Type type = FileNode::Type::kFile;
  uint32_t mode = 0644;
  uint32_t uid = 0, gid = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  std::string target;       // symlink target
  std::vector<Id> content;  // content blobs, in order
};

// Called with each entry in turn; returns false to stop early.
using EntryVisitor = std::function<StatusOr<bool>(const BackupEntry&)>;

// The entries of every component of a snapshot document (or of the one named), in backup order
// (each component's as stored: parents before children).
Status VisitSnapshotEntries(Repository& repo, const nlohmann::json& snapshot_doc, const std::string& only_component,
                            const EntryVisitor& visit);

// Entries pulled one at a time.
class EntryStream {
 public:
  virtual ~EntryStream() = default;
  // The next entry into e; false after the last one.
  virtual StatusOr<bool> Next(BackupEntry& e) = 0;
};
// A snapshot's entries in tree order of their paths (CompareTreePaths): components by name, each
// one's top names (tree roots, stream files) by name, each root's nodes as stored. A tree whose
// roots are not stored in name order is read once per root.
std::unique_ptr<EntryStream> TreeOrderEntries(Repository& repo, const nlohmann::json& snapshot_doc);

// True for the entry at prefix and those below it ("player_saves/saves/00"); "" matches all.
bool IsUnder(const std::string& path, const std::string& prefix);

struct EntryChange {
  char kind;  // '+' added, '-' removed, 'M' content changed, 'T' type changed, 'm' metadata only
  std::string path;
};
// What changed from `before` to `after`, in tree order: a merge of the two streams, each of which
// must be in tree order (one that is not is an error, never a wrong diff).
Status DiffStreams(EntryStream& before, EntryStream& after, const std::function<Status(const EntryChange&)>& emit);

// Writes a file entry's content to fd, blob by blob, each verified by its id.
Status WriteContent(Repository& repo, const BackupEntry& e, int fd);

// A tar archive of the snapshot's entries below prefix (their paths made relative to it; prefix
// starts with a component name), compressed with format "tar.gz" or "tar.zst", streamed to fd.
Status ExportArchive(Repository& repo, const nlohmann::json& snapshot_doc, const std::string& prefix,
                     const std::string& format, int fd);

std::string EntryTypeName(FileNode::Type t);

}  // namespace stb
