// The locations a repository lives in: the local directory (primary) and the configured cloud
// copies (s3, azure, gcs), each opened from the settings behind retries and a request limit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/settings.h"
#include "storage/storage.h"

namespace stb {

struct LocationInfo {
  std::string name;   // "local", "s3", "azure", "gcs": what commands take
  std::string label;  // the metric label of the guide: "local", "s3_primary", "azure_secondary", "gcs_tertiary"
};

// "local" first, then each cloud location whose bucket/container is set, in the guide's order.
std::vector<LocationInfo> ConfiguredLocations(const Settings& s);
// The metric label of a location name ("s3" -> "s3_primary"); the name itself if unknown.
std::string LocationLabel(const std::string& name);

// Opens one location. "local" is BACKUP_ROOT (created when create is set); a cloud location must be
// configured, or the error names the variable to set. Never contacts the service to open it.
StatusOr<std::unique_ptr<Storage>> OpenLocation(const Settings& s, const std::string& name, bool create = false);

}  // namespace stb
