// What wal-push and wal-receive share at the command level: the cloud locations WAL is copied to,
// and the WAL alerts (wal_conflict, wal_slot_lost, ...) posted to BACKUP_ALERT_WEBHOOK.
#pragma once

#include <string>
#include <vector>

#include "config/settings.h"
#include "wal/archive.h"

namespace stb {

// Every configured cloud location, opened; one that cannot be opened is skipped with a warning.
std::vector<WalOffsite> WalOffsiteLocations(const Settings& s, std::vector<std::string>& warnings);

// Logged as an error, and posted when BACKUP_ALERT_WEBHOOK is set (best effort).
void AlertWal(const Settings& s, const std::string& event, const std::string& severity, const std::string& message);

}  // namespace stb
