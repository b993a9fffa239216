#include "repository/blob_refs.h"

#include <nlohmann/json.hpp>

#include "repository/tree.h"

namespace stb {

using json = nlohmann::json;

void VisitIdList(const json& list, const std::string& prefix, const std::string& comp, const std::string& what,
                 const BlobVisitor& visit, std::vector<std::string>& errors) {
  if (!list.is_array()) {
    errors.push_back(prefix + comp + ": no " + what + " blob list");
    return;
  }
  for (const auto& h : list) {
    auto id = h.is_string() ? Id::FromHex(h.get<std::string>()) : std::nullopt;
    if (!id) {
      errors.push_back(prefix + comp + ": bad " + what + " blob id " + h.dump());
      continue;
    }
    visit(*id, comp, what);
  }
}

void VisitTreeBlobs(Repository& repo, const json& entry, const std::string& prefix, const std::string& comp,
                    const std::string& what, const BlobVisitor& visit, std::vector<std::string>& errors) {
  VisitIdList(entry.contains("tree") ? entry["tree"] : json(), prefix, comp, what, visit, errors);
  // Node by node: a component of millions of files is never held whole (issue 17).
  auto cursor = TreeCursor::Open(repo, entry);
  if (!cursor.ok()) {
    errors.push_back(prefix + comp + ": " + cursor.status().message());
    return;
  }
  FileNode n;
  for (;;) {
    auto more = (*cursor)->Next(n);
    if (!more.ok()) {
      errors.push_back(prefix + comp + ": " + more.status().message());
      return;
    }
    if (!*more) return;
    for (const auto& id : n.content) visit(id, comp, n.path);
  }
}

}  // namespace stb
