#include "checker/references.h"

namespace stb {

void ForEachBlobOf(Repository& repo, const SnapshotRef& snap, const BlobVisitor& visit,
                   std::vector<std::string>& errors, const ComponentRegistry& registry) {
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
    Component* c = registry.Find(comp);
    if (!c) {
      errors.push_back(prefix + comp + ": unknown component kind '" + entry.value("kind", "") + "'");
      continue;
    }
    c->VisitBlobs(repo, entry, prefix, visit, errors);
  }
}

}  // namespace stb
