// Restores one file component from its tree into target directories, never writing outside
// them: every path is validated first, and directories are opened beneath the target without
// following symlinks. Each file is written to a temporary name and renamed when complete;
// its content is verified against the blob ids on the way (HMAC of every chunk).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "components/files/tree.h"
#include "core/progress.h"
#include "repository/repository.h"

namespace stb {

struct FileRestoreOptions {
  // Destination per root name; roots not listed are restored to their original path.
  std::map<std::string, std::string> destinations;
  int workers = 2;
  bool sync = false;  // syncfs the targets before reporting success
};

struct FileRestoreResult {
  nlohmann::json report;  // success, files, size_bytes, verified_files, errors
  bool success = false;
};

FileRestoreResult RestoreFiles(Repository& repo, const Tree& tree, const FileRestoreOptions& opt, Progress& progress);

}  // namespace stb
