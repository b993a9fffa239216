// Shared by `forget`, `prune` and the scheduled run: the configured retention policy, the
// exclusive lock they take, and forget followed by prune.
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
StatusOr<nlohmann::json> ForgetAndPrune(Repository& repo, const RetentionConfig& policy, bool by_type, bool dry_run,
                                        bool prune);

}  // namespace stb
