// Prune of WAL objects: per cluster, what lies wholly below the oldest start of its kept physical
// base backups. History files always stay; a cluster with no kept physical backup keeps everything.
#pragma once

#include <string>
#include <vector>

#include "checker/wal_check.h"
#include "repository/repository.h"
#include "storage/storage.h"

namespace stb {

struct WalPruneResult {
  size_t objects_deleted = 0;  // or, in a dry run, that would be
  uint64_t bytes_deleted = 0;
  std::vector<std::string> warnings;
};

StatusOr<WalPruneResult> PruneWal(const Repository& repo, Storage& where, const std::vector<WalBackupStart>& kept,
                                  bool dry_run);

}  // namespace stb
