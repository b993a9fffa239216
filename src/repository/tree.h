// The metadata of a file component: every directory, file and symlink under its roots, in walk
// order (parents first), with the blob ids of each file's content. Stored as tree blobs.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

struct TreeRoot {
  std::string name;  // first path element of its nodes
  std::string path;  // absolute source path
};

struct FileNode {
  enum class Type { kDir, kFile, kSymlink };
  std::string path;  // "<root name>/a/b": relative, '/'-separated
  Type type = Type::kFile;
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t inode = 0;       // stored for files; the walk sets it for directories too
  uint64_t dev = 0;         // set by the walk, not stored: backup checks each file it opens against it
  std::string target;       // symlink target
  std::vector<Id> content;  // file content blobs, in order
};

struct Tree {
  std::vector<TreeRoot> roots;
  std::vector<FileNode> nodes;
};

Bytes SerializeTree(const Tree& tree);
StatusOr<Tree> ParseTree(const Bytes& data);

class BlobSaver;
class Repository;

// Stores a tree as tree blobs (content-defined chunks of its serialization) / loads the tree of a
// snapshot entry (its "tree" list of blob ids) back.
StatusOr<std::vector<Id>> SaveTree(Repository& repo, BlobSaver& saver, const Tree& tree);
StatusOr<Tree> LoadTree(Repository& repo, const nlohmann::json& component_entry);

// Restore safety: a relative path of plain names (no "", ".", "..", no leading '/', no NUL).
bool IsSafeRelativePath(const std::string& path);

}  // namespace stb
