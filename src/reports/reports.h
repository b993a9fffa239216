// The reports that `backup` and `restore` print and that the catalog, the alerts and the drill
// consume: typed here, serialised only here, with the guide's stable field names.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace stb {

// One component's part of a backup or restore report. The typed fields are the ones the guide
// and the catalog rely on; what only one component reports (a file count, table counts, the
// Redis keyspace, where it was restored to) travels in `details`, merged into the same object.
struct ComponentReport {
  // Backup reports: "success", "failed" or "skipped" (then `reason` says why); restore reports
  // have no status field (empty here).
  std::string status;
  bool success = false;
  std::optional<std::string> reason;  // skipped: "not configured (DB_HOST)"
  std::optional<std::string> error;
  std::optional<std::string> type;  // "full"/"incremental" (database), the component name (files)
  std::optional<double> duration_seconds;
  std::optional<uint64_t> size_bytes;
  nlohmann::json details = nlohmann::json::object();

  static ComponentReport Skipped(std::string reason);
  // The first problem: `error`, else the first of details["errors"], else "failed".
  std::string FirstError() const;
  nlohmann::json ToJson() const;
  // Lenient: a report written by an older version (or hand-edited) yields what it holds.
  static ComponentReport FromJson(const nlohmann::json& j);
};

struct RepositoryStats {
  uint64_t new_bytes = 0, reused_bytes = 0, stored_bytes = 0, new_blobs = 0;
  double dedup_ratio = 0;
};

// The guide's "Backup Reports" object (also stored in the snapshot as "report").
struct BackupReport {
  std::string backup_id;
  std::string type;                   // full, incremental
  std::optional<std::string> parent;  // null in JSON when absent
  std::string start_time, end_time;   // ISO 8601, local time with microseconds
  double duration_seconds = 0;
  std::map<std::string, ComponentReport> components;
  std::optional<RepositoryStats> repository;
  std::vector<std::string> warnings;  // omitted when empty
  std::optional<std::string> error;
  // Per location ("local", "s3", ...): {"status": "ok"|"failed"|..., "path"/"error"/...}.
  nlohmann::json locations;  // omitted when null
  bool overall_success = false;

  // The snapshot was written: the catalog counts a component as backed up only then.
  bool Stored() const;
  nlohmann::json ToJson() const;
  static BackupReport FromJson(const nlohmann::json& j);
};

// The guide's restore report.
struct RestoreReport {
  std::string backup_id;
  std::string start_time, end_time;
  std::string restore_location = "local";
  double rto_seconds = 0;
  std::map<std::string, ComponentReport> components;
  std::vector<std::string> restore_order;
  std::optional<std::string> target;  // --target DIR
  std::vector<std::string> errors;    // damaged index entries; omitted when empty
  std::optional<std::string> error;
  bool overall_success = false;

  // error, else the first failed component by name, "<component>: <error>"; "" when none.
  std::string FirstError() const;
  nlohmann::json ToJson() const;
  static RestoreReport FromJson(const nlohmann::json& j);
};

}  // namespace stb
