// The restore: opens a repository, finds one backup and restores its components in the registry's
// restore order (the guide's), each verified before the next, measuring the recovery time (RTO).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "components/component.h"
#include "config/settings.h"
#include "core/status.h"
#include "reports/reports.h"
#include "repository/repository.h"

namespace stb {

// Opens the repository at a location ("local", "s3", ...) with the configured key.
using RepositoryOpener = std::function<StatusOr<std::unique_ptr<Repository>>(const std::string& location)>;

struct RestoreRequest {
  std::string backup_id;  // a backup id or "latest"
  std::string location = "local";
  std::vector<std::string> components;  // empty: every component the backup holds
  RestoreOptions options;
  // With backup_id "latest": the newest physical database backup that ended before this time
  // (--target-time), since PostgreSQL cannot recover to a time before a backup's end.
  std::optional<double> physical_before_unix;
  bool progress = true;  // progress lines on stderr
  // Asked before each component; true ends the restore there (a drill told to stop).
  std::function<bool()> stop_requested;
};

// An error when the restore cannot start (an unknown component, the repository, its lock, no such
// backup): nothing was restored. Otherwise the report, whether every component succeeded or not.
StatusOr<RestoreReport> RestoreBackup(const ComponentRegistry& registry, const Settings& s,
                                      const RepositoryOpener& open, const RestoreRequest& req);

}  // namespace stb
