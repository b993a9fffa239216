// Restores one file component from its tree into target directories, never writing outside
// them: the tree is streamed (nodes pulled in tree order, each path validated as it arrives), and
// directories are opened beneath the target without following symlinks. A directory the
// restore creates is staged (made under a temporary name, renamed into place when complete) and
// files in it are created in place; files in existing directories are written to a temporary
// name and renamed. Content is verified against the blob
// ids on the way (HMAC of every chunk).
//
// What is trusted: a destination's parent path (or the `anchor` it lies beneath) is configured by
// the operator and resolved as given, symlinks included (created if missing). The destination's
// own last element, every element between the anchor and it, and everything beneath belong to
// the account whose files are restored (the game's account owns its saves directory), which may
// swap them for symlinks at any time. So each of those is created with mkdirat and opened with
// O_NOFOLLOW|O_DIRECTORY from its parent's descriptor (kept open to the end), files with
// O_EXCL|O_NOFOLLOW, staged directories renamed with RENAME_NOREPLACE, and owner, mode and
// times are applied through descriptors. A symlink or a non-directory where a directory of the
// restore should be is an error naming the path, and nothing is written through it.
//
// Memory does not grow with the number of files: what is held is the directories open along the
// current path, at most three windows of files (two being written by the workers, the next
// being read from the tree), and the directories left whose files are still in flight. A directory gets
// its owner, mode and times when the walk has left it and its last file is written (tree order is
// depth first, so that is a stack), and a staged one is renamed into place then. A node that is
// unsafe (absolute, "..", an unknown root) or out of tree order stops the restore with an error
// naming it: nothing more is written, and directories still being staged stay under their
// temporary names, never renamed into place.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "repository/repository.h"
#include "repository/tree.h"

namespace stb {

struct FileRestoreOptions {
  // Destination per root name; roots not listed are restored to their original path.
  std::map<std::string, std::string> destinations;
  // A trusted directory the destinations lie beneath (`restore --target DIR`): the elements after
  // it are created by the restore and never followed. Empty: each destination's parent.
  std::string anchor;
  int workers = 2;
  // Files written per window: the workers write one window while the next is read from the tree.
  size_t window_files = 8192;
  bool sync = false;  // syncfs the targets before reporting success
  // Compute each file's CRC-32C from the bytes written (FileRestoreResult::crc32c), so a caller
  // holding checksums from elsewhere (PostgreSQL's backup_manifest) need not read the files back.
  bool crc32c = false;
  // Start writing each file back to disk as soon as it is complete (sync_file_range, not waiting),
  // so a caller's fsync of everything afterwards (PostgreSQL's at startup) finds little left to do.
  bool start_writeback = false;
  // At most this many directories are kept open (0: as the open-file limit allows); the others
  // are opened again beneath their root whenever used.
  size_t max_open_dirs = 0;
  // Tests: runs once every file is written, before the directories still open (those of the last
  // window) get their metadata and staged ones are renamed into place.
  std::function<void()> before_finish;
};

struct FileRestoreResult {
  nlohmann::json report;  // success, files, size_bytes, verified_files, errors
  bool success = false;
  // With FileRestoreOptions::crc32c: by node (its position in the source), for files restored. It
  // grows with the tree: only for small ones (a PostgreSQL data directory).
  std::vector<uint32_t> crc32c;
};

// `next` gives the nodes in tree order (CompareTreePaths within a root, each root's nodes
// together), as TreeCursor::Next does.
FileRestoreResult RestoreFiles(Repository& repo, const std::vector<TreeRoot>& roots, const NodeSource& next,
                               const FileRestoreOptions& opt, Progress& progress);
// A whole tree already in memory (small ones: PostgreSQL, Redis's AOF directory): its nodes need
// only list parents first, they are restored in tree order.
FileRestoreResult RestoreFiles(Repository& repo, const Tree& tree, const FileRestoreOptions& opt, Progress& progress);

}  // namespace stb
