#include "checker/references.h"

#include "components/files/file_backup.h"

namespace stb {

using json = nlohmann::json;

namespace {

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

void VisitFiles(Repository& repo, const json& entry, const std::string& prefix, const std::string& comp,
                const std::string& what, const BlobVisitor& visit, std::vector<std::string>& errors) {
  VisitIdList(entry.contains("tree") ? entry["tree"] : json(), prefix, comp, what, visit, errors);
  auto tree = LoadTree(repo, entry);
  if (!tree.ok()) {
    errors.push_back(prefix + comp + ": " + tree.status().message());
    return;
  }
  for (const auto& n : tree->nodes) {
    for (const auto& id : n.content) visit(id, comp, n.path);
  }
}

}  // namespace

void ForEachBlobOf(Repository& repo, const SnapshotRef& snap, const BlobVisitor& visit,
                   std::vector<std::string>& errors) {
  std::string prefix = "backup " + snap.backup_id + " (" + snap.object + "), ";
  auto comps = snap.doc.find("components");
  if (comps == snap.doc.end() || !comps->is_object()) {
    errors.push_back(prefix + "no components");
    return;
  }
  for (const auto& [comp, entry] : comps->items()) {
    if (entry.is_null()) continue;  // a component whose walk failed: nothing stored
    if (!entry.is_object()) {
      errors.push_back(prefix + comp + ": malformed component entry");
      continue;
    }
    std::string kind = entry.value("kind", "");
    if (kind == "files") {
      VisitFiles(repo, entry, prefix, comp, "tree", visit, errors);
    } else if (kind == "redis") {
      VisitIdList(entry.contains("blobs") ? entry["blobs"] : json(), prefix, comp, "snapshot", visit, errors);
      if (entry.contains("aof") && entry["aof"].is_object()) {
        VisitFiles(repo, entry["aof"], prefix, comp, "aof tree", visit, errors);
      }
    } else if (kind == "postgresql") {
      VisitIdList(entry.contains("blobs") ? entry["blobs"] : json(), prefix, comp, "dump", visit, errors);
    } else if (kind == "cockroachdb") {
      // The cluster's own backup lives in its collection, not in our packs.
    } else {
      errors.push_back(prefix + comp + ": unknown component kind '" + kind + "'");
    }
  }
}

}  // namespace stb
