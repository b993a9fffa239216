// Forget: applies the retention policy to the repository's backups and removes the snapshots it
// does not keep (their data goes with the next prune). The caller holds an exclusive lock.
#pragma once

#include <nlohmann/json.hpp>

#include "repository/repository.h"
#include "retention/policy.h"

namespace stb {

// The report lists every backup kept, with the rules that kept it, and every one removed.
// by_type: full and incremental backups each under their own policy (the guide's defaults);
// otherwise policy.full applies to all backups together (explicit --keep-* options).
StatusOr<nlohmann::json> Forget(Repository& repo, const RetentionConfig& policy, bool by_type, bool dry_run);

}  // namespace stb
