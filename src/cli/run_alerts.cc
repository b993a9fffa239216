#include "cli/run_alerts.h"

namespace stb {

using json = nlohmann::json;

WebhookOptions WebhookOf(const Settings& s) {
  WebhookOptions w;
  w.url = s.alert_webhook;
  w.timeout_seconds = s.alert_timeout_seconds;
  return w;
}

void AlertBackupOutcome(const Settings& s, const std::string& type, const BackupReport& report, bool ok) {
  if (s.alert_webhook.empty()) return;
  Alert a;
  a.backup_id = report.backup_id;
  a.details = {{"type", type}};
  if (!ok) {
    a.event = "backup_failed";
    a.severity = "critical";
    for (const auto& [comp, r] : report.components) {
      if (r.status != "failed") continue;
      a.components.push_back(comp);
      if (a.error.empty()) a.error = comp + ": " + r.error.value_or("failed");
    }
    if (a.error.empty()) a.error = report.error.value_or("the " + type + " backup did not run; see backup.log");
    NotifyBestEffort(WebhookOf(s), a);
  } else if (s.alert_on_success) {
    a.event = "backup_succeeded";
    a.severity = "info";
    for (const auto& [comp, r] : report.components) {
      if (r.status == "success") a.components.push_back(comp);
    }
    a.details["duration_seconds"] = report.duration_seconds;
    NotifyBestEffort(WebhookOf(s), a);
  }
  // A copy that could not be written leaves the backup a success but the location behind.
  if (report.locations.is_object()) {
    for (const auto& [label, l] : report.locations.items()) {
      if (!l.is_object() || l.value("status", "") != "failed") continue;
      Alert b;
      b.event = "location_behind";
      b.severity = "warning";
      b.backup_id = report.backup_id;
      b.error = label + ": " + l.value("error", "replication failed");
      b.details = {{"location", label}};
      NotifyBestEffort(WebhookOf(s), b);
    }
  }
}

void AlertCommandOutcome(const Settings& s, const std::string& command, bool ok, const std::string& error,
                         const std::string& backup_id, const json& details) {
  if (s.alert_webhook.empty() || (ok && !s.alert_on_success)) return;
  Alert a;
  a.event = command + (ok ? "_succeeded" : "_failed");
  a.severity = ok ? "info" : "critical";
  a.backup_id = backup_id;
  a.error = ok ? "" : (error.empty() ? command + " failed; see its log" : error);
  a.details = details;
  NotifyBestEffort(WebhookOf(s), a);
}

void AlertRestoreOutcome(const Settings& s, const std::string& location, const std::string& backup_id,
                         const StatusOr<RestoreReport>& outcome) {
  if (!outcome.ok()) {
    AlertCommandOutcome(s, "restore", false, outcome.status().message(), backup_id,
                        {{"location", location}, {"rto_seconds", 0.0}});
    return;
  }
  AlertCommandOutcome(s, "restore", outcome->overall_success, outcome->FirstError(), outcome->backup_id,
                      {{"location", location}, {"rto_seconds", outcome->rto_seconds}});
}

}  // namespace stb
