#include "cli/wal_locations.h"

#include "cli/run_alerts.h"
#include "cloud/locations.h"
#include "core/log.h"

namespace stb {

std::vector<WalOffsite> WalOffsiteLocations(const Settings& s, std::vector<std::string>& warnings) {
  std::vector<WalOffsite> out;
  for (const auto& loc : ConfiguredLocations(s)) {
    if (loc.name == "local") continue;
    auto st = OpenLocation(s, loc.name);
    if (!st.ok()) {
      warnings.push_back(loc.name + ": " + st.status().message());
      continue;
    }
    out.push_back({loc.name, std::shared_ptr<Storage>(std::move(*st))});
  }
  return out;
}

void AlertWal(const Settings& s, const std::string& event, const std::string& severity, const std::string& message) {
  LogError(event + ": " + message);
  if (s.alert_webhook.empty()) return;
  Alert a;
  a.event = event;
  a.severity = severity;
  a.error = message;
  NotifyBestEffort(WebhookOf(s), a);
}

}  // namespace stb
