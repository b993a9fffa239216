// The archiver: one backup of every configured component of a registry, in its backup order, into
// one snapshot. Write order: packs, then the index, then the snapshot (doc/design.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "components/component.h"
#include "config/settings.h"
#include "reports/reports.h"
#include "repository/lock.h"
#include "repository/repository.h"

namespace stb {

struct ArchiveOptions {
  std::string type;    // "full" or "incremental"
  std::string parent;  // incremental: a backup id or a path ending in one; "" = the latest
  bool progress = true;
  double start_unix = 0;  // when the run started (report, backup id, latest); 0: now
  std::chrono::seconds lock_wait{60};
};

struct ArchiveResult {
  // overall_success; Stored() when the snapshot was written; `error` when it was not.
  BackupReport report;
  // Still held: copies of the new backup are made under it, so a prune cannot remove its packs.
  std::unique_ptr<RepoLock> lock;
};

// An error: the backup did not start (lock, parent, backup id), and nothing was reported.
StatusOr<ArchiveResult> ArchiveBackup(Repository& repo, const Settings& s, const ComponentRegistry& registry,
                                      const ArchiveOptions& opt);

}  // namespace stb
