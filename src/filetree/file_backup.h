// Backs up directories as one tree (the file components' roots, Redis's AOF directory): walks
// the roots, reuses unchanged files of the parent tree without reading them, chunks and stores
// the rest with a pool of workers, and stores the resulting tree. Returns the snapshot entry.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "repository/blob_saver.h"
#include "repository/tree.h"

namespace stb {

struct FileBackupOptions {
  std::vector<TreeRoot> roots;
  std::vector<std::string> excludes;
  const Tree* parent = nullptr;  // incremental: files with the same size, mtime and inode are reused
  int workers = 2;
};

struct FileBackupResult {
  nlohmann::json entry;   // stored in the snapshot: kind, roots, tree blob ids, stats
  nlohmann::json report;  // the guide's component report
  bool success = false;
  // The report's "error", or its first entry of "errors".
  std::string FirstError() const;
};

FileBackupResult BackupFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                             const FileBackupOptions& opt, Progress& progress);

// The second stage of BackupFiles, after WalkRoots (tests change the files in between): reads
// each file relative to its directory's descriptor (no symlink followed beneath a root) and
// checks it against the walk's type, device and inode before reading. One that changed type is
// skipped with a warning naming it, never read. problems: the walk's warnings.
FileBackupResult BackupWalkedFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                                   const FileBackupOptions& opt, Tree tree, std::vector<std::string> problems,
                                   Progress& progress);

}  // namespace stb
