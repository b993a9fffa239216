// Restores one file component from its tree into target directories, never writing outside
// them: every path is validated first, and directories are opened beneath the target without
// following symlinks. A directory the restore creates is staged (made under a temporary name,
// renamed into place when complete) and files in it are created in place; files in existing
// directories are written to a temporary name and renamed. Content is verified against the blob
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
  // Tests: runs once every file is written, before directories get their metadata and staged
  // ones are renamed into place.
  std::function<void()> before_finish;
};

struct FileRestoreResult {
  nlohmann::json report;  // success, files, size_bytes, verified_files, errors
  bool success = false;
  std::vector<uint32_t> crc32c;  // with FileRestoreOptions::crc32c: by tree node, for files restored
};

FileRestoreResult RestoreFiles(Repository& repo, const Tree& tree, const FileRestoreOptions& opt, Progress& progress);

}  // namespace stb
