// Shared by `forget`, `prune` and the scheduled run: the configured retention policy, the
// exclusive lock they take, and forget followed by prune, at one location at a time.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "config/settings.h"
#include "repository/lock.h"
#include "retention/policy.h"

namespace stb {

StatusOr<RetentionConfig> RetentionOf(const Settings& s);
// The exclusive lock, or an error starting "<what> refuses to run:" that names the holder.
StatusOr<std::unique_ptr<RepoLock>> LockForMaintenance(Repository& repo, const std::string& what,
                                                       std::chrono::seconds wait);
// lock: the exclusive lock held on repo; prune checks it before deleting.
StatusOr<nlohmann::json> ForgetAndPrune(Repository& repo, RepoLock& lock, const RetentionConfig& policy, bool by_type,
                                        bool dry_run, bool prune);
// The configured policy applied at one location ("local", "s3", ...) to its own snapshots, then
// prune there, under that location's exclusive lock (waiting up to `wait` for it).
StatusOr<nlohmann::json> RetentionAt(const Settings& s, const std::string& location, const RetentionConfig& policy,
                                     std::chrono::seconds wait);

}  // namespace stb
