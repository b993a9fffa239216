// What a backup holds, without restoring it: its entries (tree nodes of the file components, one
// file for a stream component), lookups by path and glob, the changes between two backups, one
// entry's verified content, and a component as a plain tar archive (libarchive).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "repository/tree.h"
#include "repository/tree_select.h"  // GlobMatches, SelectNodes (restore --include)
#include "core/status.h"
#include "repository/repository.h"

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

// The entries of one component of a snapshot document, parents before children.
StatusOr<std::vector<BackupEntry>> ComponentEntries(Repository& repo, const std::string& component,
                                                    const nlohmann::json& component_entry);
// The entries of every component of a snapshot document (or of the one named), in backup order.
StatusOr<std::vector<BackupEntry>> SnapshotEntries(Repository& repo, const nlohmann::json& snapshot_doc,
                                                   const std::string& only_component = "");

// True for the entry at prefix and those below it ("player_saves/saves/00"); "" matches all.
bool IsUnder(const std::string& path, const std::string& prefix);

struct EntryChange {
  char kind;  // '+' added, '-' removed, 'M' content changed, 'T' type changed, 'm' metadata only
  std::string path;
};
// What changed from `before` to `after`, sorted by path.
std::vector<EntryChange> DiffEntries(const std::vector<BackupEntry>& before, const std::vector<BackupEntry>& after);

// Writes a file entry's content to fd, blob by blob, each verified by its id.
Status WriteContent(Repository& repo, const BackupEntry& e, int fd);

// A tar archive of the entries below prefix (their paths made relative to it), compressed with
// format "tar.gz" or "tar.zst", streamed to fd.
Status ExportArchive(Repository& repo, const std::vector<BackupEntry>& entries, const std::string& prefix,
                     const std::string& format, int fd);

std::string EntryTypeName(FileNode::Type t);

}  // namespace stb
