// Alerts from every run, not only scheduled ones: each command that can fail on its own (backup,
// restore, replicate, forget/prune, dr-test) posts its outcome to BACKUP_ALERT_WEBHOOK, failures
// always and successes when BACKUP_ALERT_ON_SUCCESS is set. Best effort: never changes a result.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "alerts/webhook.h"
#include "config/settings.h"
#include "reports/reports.h"

namespace stb {

WebhookOptions WebhookOf(const Settings& s);

// A backup's report: backup_failed (the failed components and the first error) or
// backup_succeeded, then location_behind for each copy that could not be written.
void AlertBackupOutcome(const Settings& s, const std::string& type, const BackupReport& report, bool ok);

// Another command's outcome: "<command>_failed" (critical) or "<command>_succeeded" (info, when
// asked). details: structured fields for receivers (report figures).
void AlertCommandOutcome(const Settings& s, const std::string& command, bool ok, const std::string& error,
                         const std::string& backup_id = "", const nlohmann::json& details = nullptr);

// A restore's outcome: restore_failed with the report's first error (or why it could not start)
// or restore_succeeded, with the location and rto_seconds.
void AlertRestoreOutcome(const Settings& s, const std::string& location, const std::string& backup_id,
                         const StatusOr<RestoreReport>& outcome);

}  // namespace stb
