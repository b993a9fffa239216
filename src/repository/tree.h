// The metadata of a file component: every directory, file and symlink under its roots, in walk
// order (parents first), with the blob ids of each file's content. Stored as tree blobs, written
// and read node by node (TreeWriter, TreeCursor) so no whole tree of a large component is held.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
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

// Whole trees, for small ones (a PostgreSQL data directory, Redis's AOF directory) and tests.
Bytes SerializeTree(const Tree& tree);
StatusOr<Tree> ParseTree(const Bytes& data);

class BlobSaver;
class BlobStream;
class Repository;

// Tree order: depth first, siblings by byte value, each directory right before its contents.
// As a comparison of paths that is a byte comparison in which '/' sorts before every other byte.
int CompareTreePaths(std::string_view a, std::string_view b);

// Encodes nodes in tree order and stores the encoding as tree blobs as it grows: it holds at most
// one chunker window (8 MiB) of encoding, whatever the number of nodes. Not thread-safe.
class TreeWriter {
 public:
  TreeWriter(Repository& repo, BlobSaver& saver, const std::vector<TreeRoot>& roots);
  Status Add(const FileNode& node);
  // Ends the encoding and returns the tree blob ids, in order (the snapshot entry's "tree").
  StatusOr<std::vector<Id>> Finish();

 private:
  Status Cut(bool eof);
  Repository& repo_;
  BlobSaver& saver_;
  Bytes buf_;
  size_t pos_ = 0;  // buf_[0:pos_] is stored already
  std::string prev_;
  std::vector<Id> ids_;
};

// A pull source of nodes in tree order: fills `node` and returns true, false after the last one
// (TreeCursor::Next, a selection of its nodes).
using NodeSource = std::function<StatusOr<bool>(FileNode& node)>;

// Reads a stored tree node by node, fetching its blobs as it goes (and a few ahead): it holds two
// tree blobs and one node at most. Reads both encodings (version 1 counted its nodes up front,
// version 2 ends them with a marker). Every outside number is checked; bad data is kCorrupt.
class TreeCursor {
 public:
  // The tree of a snapshot entry ("tree": its blob ids).
  static StatusOr<std::unique_ptr<TreeCursor>> Open(Repository& repo, const nlohmann::json& component_entry);
  // An encoding already in memory (tests, fuzzing, ParseTree).
  static StatusOr<std::unique_ptr<TreeCursor>> FromBytes(Bytes data);
  ~TreeCursor();

  const std::vector<TreeRoot>& roots() const { return roots_; }
  // The next node into node; false after the last one.
  StatusOr<bool> Next(FileNode& node);

 private:
  TreeCursor();
  Status Fill();  // appends the next blob; kCorrupt "truncated" when there is none
  Status Header();
  std::unique_ptr<BlobStream> stream_;
  Bytes buf_;
  size_t pos_ = 0;
  std::vector<TreeRoot> roots_;
  std::string prev_;
  int version_ = 0;
  uint64_t remaining_ = 0;  // version 1: nodes still to read
  bool done_ = false;
  Status error_;
};

// Stores a whole tree as tree blobs (through TreeWriter) / loads the tree of a snapshot entry (its
// "tree" list of blob ids) back whole: only for trees known to be small.
StatusOr<std::vector<Id>> SaveTree(Repository& repo, BlobSaver& saver, const Tree& tree);
StatusOr<Tree> LoadTree(Repository& repo, const nlohmann::json& component_entry);

// Restore safety: a relative path of plain names (no "", ".", "..", no leading '/', no NUL).
bool IsSafeRelativePath(const std::string& path);

}  // namespace stb
