// Alerts to a chat webhook (BACKUP_ALERT_WEBHOOK): a Slack-compatible JSON POST, retried on transient
// failures. Best effort: an alert that cannot be sent is logged and never changes a backup's result.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/redact.h"  // RedactUrl, for messages naming the webhook
#include "core/status.h"

namespace stb {

struct Alert {
  // "backup_failed", "backup_succeeded", "location_behind", "rpo_exceeded", "drill_failed".
  std::string event;
  std::string severity;  // "critical", "warning" or "info"; picks the emoji of the text
  std::string backup_id;
  std::vector<std::string> components;
  std::string error;
  // Human one-liner for Slack, without emoji or tool name (AlertPayload adds them). "" = one built
  // from event, backup_id, hostname and error.
  std::string text;
  nlohmann::json details;  // extra structured fields; null or empty = left out
};

// The request body: Slack's "text" (always present) plus the alert as structured fields for other
// receivers. Empty fields are left out; "time" is now, ISO 8601 UTC.
nlohmann::json AlertPayload(const Alert& alert, const std::string& hostname);

struct WebhookOptions {
  std::string url;              // BACKUP_ALERT_WEBHOOK; "" = alerts off. Holds a token: never log it, see RedactUrl.
  double timeout_seconds = 10;  // per attempt, connecting included
  int attempts = 3;             // tries in all, >= 1
  double backoff_seconds = 1;   // before the 2nd attempt, doubled before each next one
  std::string ca_file;          // PEM CA bundle for https; "" = the system store
};

// Sends the alert. Retries connection failures, timeouts, 5xx and 429; other answers are final.
// Errors name BACKUP_ALERT_WEBHOOK and the redacted URL, never the URL itself. Thread-safe.
Status SendAlert(const WebhookOptions& options, const Alert& alert);

// SendAlert for callers that must go on whatever happens: a failure is logged as a warning.
// Never throws.
void NotifyBestEffort(const WebhookOptions& options, const Alert& alert) noexcept;

}  // namespace stb
