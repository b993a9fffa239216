// Which blobs a backup needs, component by component: the one place that knows the shape of each
// component entry (file trees, redis and database blob lists), for check and prune.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "repository/snapshots.h"

namespace stb {

// Called for every blob a snapshot needs: comp is the component, what says where it is used
// ("tree", a file's path, "dump", "snapshot", "aof tree"...).
using BlobVisitor = std::function<void(const Id& id, const std::string& comp, const std::string& what)>;

// Visits the snapshot's blobs; trees are read through the index to find file contents. Each
// problem (a malformed entry, an unreadable tree) is appended to errors naming the backup.
void ForEachBlobOf(Repository& repo, const SnapshotRef& snap, const BlobVisitor& visit,
                   std::vector<std::string>& errors);

}  // namespace stb
