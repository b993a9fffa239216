// Snapshots: one sealed JSON object per backup (snapshots/<sha256>), found by backup id.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reports/reports.h"
#include "repository/repository.h"

namespace stb {

// The snapshot document (doc/design.md, "Snapshot"): what one backup stored.
struct Snapshot {
  int version = 1;
  std::string backup_id;
  std::string type;                   // full, incremental
  std::optional<std::string> parent;  // null in JSON when absent
  std::string hostname;
  std::string start_time;  // ISO 8601, local time
  double time_unix = 0;    // the start as Unix seconds: orders snapshots ("latest")
  std::string end_time;
  // Per component that stored something, its entry (an object with "kind"; null when its walk
  // failed). Only the component of that key reads it.
  std::map<std::string, nlohmann::json> components;
  BackupReport report;  // as printed, without "locations"
  // Fields this version does not know, kept so that reading and writing loses nothing.
  nlohmann::json extra = nlohmann::json::object();

  nlohmann::json ToJson() const;
  // Lenient, as readers of older snapshots must be; only a missing backup_id is an error.
  static StatusOr<Snapshot> FromJson(const nlohmann::json& doc);
};

struct SnapshotRef {
  std::string object;  // snapshots/<id>
  std::string backup_id;
  nlohmann::json doc;
};

// Every readable snapshot, oldest first; unreadable ones are named in problems.
StatusOr<std::vector<SnapshotRef>> ListSnapshots(Repository& repo, std::vector<std::string>* problems);
class RepoLock;
// Writes a backup's snapshot, but only while lock is still held (RepoLock::Check): a lapsed lock
// means a prune may have deleted packs this snapshot references. Returns the object name.
StatusOr<std::string> WriteSnapshot(Repository& repo, RepoLock& lock, const nlohmann::json& doc);
StatusOr<std::string> WriteSnapshot(Repository& repo, RepoLock& lock, const Snapshot& snapshot);
// "latest" or a backup id. The error names damaged snapshot objects, if any, as possible causes.
StatusOr<SnapshotRef> FindSnapshot(Repository& repo, const std::string& backup_id);

}  // namespace stb
