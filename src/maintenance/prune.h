// Prune: removes the data no backup references any more and repacks packs that are mostly
// unused, so that forgetting backups gives the space back. The caller holds an exclusive lock.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/progress.h"
#include "repository/lock.h"
#include "repository/repository.h"

namespace stb {

struct PruneOptions {
  bool dry_run = false;
  // A pack whose unused share exceeds this is rewritten with its used blobs only; below it, the
  // unused bytes stay (rewriting a pack to free a little costs more than the space is worth).
  double repack_unused_percent = 20;
  // The exclusive lock the caller holds: checked before anything is deleted, so that a prune
  // whose lock lapsed (refresh failed, taken over) never deletes what a newer backup uses.
  RepoLock* lock = nullptr;
  // Backups a `forget --dry-run` would remove: the WAL and Redis stream steps plan as if they
  // were gone (a real forget has removed them before prune runs).
  std::vector<std::string> forgotten;
};

// The report: packs and bytes before, deleted, repacked, after; blobs kept and dropped. Refuses
// (an error, nothing changed) when an index or snapshot is unreadable or a needed blob is
// missing: deleting on incomplete knowledge could lose data. Run `check` then.
StatusOr<nlohmann::json> Prune(Repository& repo, const PruneOptions& opt, Progress& progress);

}  // namespace stb
