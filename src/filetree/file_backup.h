// Backs up directories as one tree (the file components' roots, Redis's AOF directory), streaming:
// the walk, the comparison with the parent's tree, the reads by a pool of workers and the stored
// tree all advance together through a bounded window of entries, so memory does not grow with the
// number of files. Unchanged files of the parent tree are reused without being read.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "repository/blob_saver.h"
#include "repository/tree.h"

namespace stb {

class WalkSource;

struct FileBackupOptions {
  std::vector<TreeRoot> roots;
  std::vector<std::string> excludes;
  // Incremental: the parent's snapshot entry; its files with the same path, size, mtime and inode
  // are reused. An unreadable parent tree only costs reading the files again (a warning is logged).
  const nlohmann::json* parent = nullptr;
  int workers = 2;
  // Entries walked but not yet stored, at most (the memory bound); tests make it small.
  size_t window = 4096;
};

struct FileBackupResult {
  nlohmann::json entry;   // stored in the snapshot: kind, roots, tree blob ids, stats
  nlohmann::json report;  // the guide's component report
  bool success = false;
  // The report's "error", or its first entry of "errors".
  std::string FirstError() const;
};

// Walks opt.roots (FsWalk) and backs them up.
FileBackupResult BackupFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                             const FileBackupOptions& opt, Progress& progress);

// Backs up what a source yields (opt.roots and opt.excludes are the source's business). Each file
// is read through the source, checked against what the walk saw before a byte is read: one that
// changed type is skipped with a warning naming it, never read. problems: the source's list of
// skipped entries, reported as warnings.
FileBackupResult BackupSource(Repository& repo, BlobSaver& saver, const std::string& component, WalkSource& source,
                              const FileBackupOptions& opt, std::vector<std::string>& problems, Progress& progress);

}  // namespace stb
