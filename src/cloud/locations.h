// The locations a repository lives in: the local directory (primary) and the configured cloud
// copies (s3, azure, gcs). One table says, per location, its name, metric label, prefix setting,
// how to open it, its secrets and the CockroachDB collection it maps to; everything else reads it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"
#include "storage/storage.h"

namespace stb {

// Where CockroachDB's own BACKUP writes for one location ("collection"), as its URI parameters
// want it; components/database turns it into the URI.
struct CockroachCollection {
  std::string kind = "nodelocal";  // nodelocal | s3 | azure | gcs | uri
  std::string bucket;              // s3 bucket, azure container, gcs bucket
  std::string path;                // prefix inside it ("<location prefix>database"); nodelocal: under extern dir
  std::string uri;                 // kind "uri": COCKROACH_BACKUP_URI as given
  std::map<std::string, std::string> params;  // AWS_ACCESS_KEY_ID, AZURE_ACCOUNT_KEY, AUTH/CREDENTIALS, ...
  std::vector<std::string> secrets;           // the values above that must never be shown
};

struct LocationSpec {
  std::string_view name;            // "local", "s3", "azure", "gcs": what commands take
  std::string_view label;           // the guide's metric label: "local", "s3_primary", ...
  std::string_view bucket_setting;  // the setting that configures it ("" = always configured)
  std::string_view prefix_setting;  // BACKUP_S3_PREFIX, ...; "" = none
  std::string_view default_prefix;  // the prefix when that setting is unset
  // The configured prefix ("" for local), with its trailing '/'.
  std::string (*prefix)(const Settings&);
  bool (*configured)(const Settings&);
  // Opens it behind retries and a request limit; never contacts the service.
  StatusOr<std::unique_ptr<Storage>> (*open)(const Settings&, bool create);
  // The values of its secret settings (keys, tokens, the connection string): what no message,
  // log or report may contain.
  std::vector<std::string> (*secrets)(const Settings&);
  // Its CockroachDB collection (COCKROACH_BACKUP_LOCATION=<name>; local maps to nodelocal).
  StatusOr<CockroachCollection> (*cockroach)(const Settings&);
};

// local, s3, azure, gcs: the guide's order.
const std::vector<LocationSpec>& Locations();
// The spec of a location name, nullptr if there is none.
const LocationSpec* FindLocation(std::string_view name);
// The names, for command-line checks and help: {"local", "s3", "azure", "gcs"}.
std::vector<std::string> LocationNames();

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

// Every secret of every location's settings, for redacting text that may quote any of them.
std::vector<std::string> LocationSecrets(const Settings& s);

// Where CockroachDB backs up: COCKROACH_BACKUP_URI as given, else the collection of the location
// COCKROACH_BACKUP_LOCATION names ("nodelocal", "s3", "azure", "gcs"), with that location's prefix
// and credentials as the location itself reads them. An unknown name is left for the URI builder
// to report (it names COCKROACH_BACKUP_LOCATION).
StatusOr<CockroachCollection> CockroachCollectionOf(const Settings& s);

}  // namespace stb
