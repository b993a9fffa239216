// The point-in-time recovery state every command that looks at the local repository keeps fresh:
// the recovery windows (backup_recovery_window_seconds, via the catalog) and the WAL losses
// wal-receive recorded that no base backup has healed yet.
#pragma once

#include <string>
#include <vector>

#include "checker/recovery_window.h"
#include "config/settings.h"
#include "repository/repository.h"
#include "repository/snapshots.h"
#include "wal/slot_loss.h"

namespace stb {

// The windows of snaps in repo; at the local location they are also recorded in the catalog.
std::vector<RecoveryWindow> RefreshRecoveryWindows(const Settings& s, Repository& repo,
                                                   const std::vector<SnapshotRef>& snaps, const std::string& location,
                                                   std::vector<std::string>& errors);

// The recorded losses (wal-slot-lost.json) that no window starts after.
StatusOr<std::vector<WalLoss>> UnhealedLosses(const Settings& s, const std::vector<RecoveryWindow>& windows);

// Both, for `schedule`: does the local repository need a physical full backup now?
StatusOr<std::vector<WalLoss>> UnhealedLosses(const Settings& s);

}  // namespace stb
