// Snapshots: one sealed JSON object per backup (snapshots/<sha256>), found by backup id.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repository/repository.h"

namespace stb {

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
// "latest" or a backup id. The error names damaged snapshot objects, if any, as possible causes.
StatusOr<SnapshotRef> FindSnapshot(Repository& repo, const std::string& backup_id);

}  // namespace stb
