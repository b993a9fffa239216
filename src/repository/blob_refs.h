// The blobs a snapshot's component entry references, for check and prune: the walking that the
// components' VisitBlobs share (a list of blob ids, a stored file tree and its files' contents).
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/bytes.h"

namespace stb {

class Repository;

// Called for every blob an entry needs: comp is the component, what says where it is used
// ("tree", a file's path, "dump", "snapshot", "aof tree"...).
using BlobVisitor = std::function<void(const Id& id, const std::string& comp, const std::string& what)>;

// Visits each id of a JSON list of hex blob ids; a list that is missing or malformed, or a bad
// id, is appended to errors as "<prefix><comp>: ...".
void VisitIdList(const nlohmann::json& list, const std::string& prefix, const std::string& comp,
                 const std::string& what, const BlobVisitor& visit, std::vector<std::string>& errors);

// Visits the tree blobs of a file tree entry (its "tree" list, as `what`), then, read through the
// index, every blob of its files' contents (as the file's path).
void VisitTreeBlobs(Repository& repo, const nlohmann::json& entry, const std::string& prefix, const std::string& comp,
                    const std::string& what, const BlobVisitor& visit, std::vector<std::string>& errors);

}  // namespace stb
