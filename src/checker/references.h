// Which blobs a backup needs, component by component, for check and prune: each entry of a
// snapshot is handed to the registered component of its key, the one code that knows its shape.
#pragma once

#include <string>
#include <vector>

#include "components/component.h"
#include "repository/snapshots.h"

namespace stb {

// Visits the snapshot's blobs; trees are read through the index to find file contents. Each
// problem (a malformed entry, an unknown component, an unreadable tree) is appended to errors
// naming the backup.
void ForEachBlobOf(Repository& repo, const SnapshotRef& snap, const BlobVisitor& visit,
                   std::vector<std::string>& errors, const ComponentRegistry& registry = Components());

}  // namespace stb
