// Copying the local repository to the configured cloud locations after init and every backup,
// each location in parallel and on its own: one that is down never stops the others.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/settings.h"
#include "storage/storage.h"

namespace stb {

// Replicates local to every configured cloud location, adding only: nothing is ever deleted
// from a copy here (deletions are `prune` at that location, or an explicit `replicate --delete`). Returns
// {"s3_primary": {"status": "ok"|"failed", "objects_copied", "bytes_copied", "duration_seconds", "error"}, ...};
// failures are logged. Empty when none is configured.
nlohmann::json ReplicateToCopies(const Settings& s, Storage& local);

// The same for the named locations ("s3", "local", ...), keyed by their labels. from_label: the
// source's label, whose recovery points each copy that succeeds gains in the catalog.
nlohmann::json ReplicateToLocations(const Settings& s, Storage& from, const std::vector<std::string>& names,
                                    bool mirror_deletions, bool force = false, const std::string& from_label = "local");

}  // namespace stb
