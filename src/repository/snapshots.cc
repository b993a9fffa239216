#include "repository/snapshots.h"

#include <algorithm>

#include "repository/lock.h"

namespace stb {

using json = nlohmann::json;

json Snapshot::ToJson() const {
  json j = extra.is_object() ? extra : json::object();
  json comps = json::object();
  for (const auto& [name, entry] : components) comps[name] = entry;
  j.update({{"version", version},
            {"backup_id", backup_id},
            {"type", type},
            {"parent", parent ? json(*parent) : json(nullptr)},
            {"hostname", hostname},
            {"start_time", start_time},
            {"time_unix", time_unix},
            {"end_time", end_time},
            {"components", comps},
            {"report", report.ToJson()}});
  return j;
}

StatusOr<Snapshot> Snapshot::FromJson(const json& doc) {
  if (!doc.is_object() || !doc.contains("backup_id") || !doc["backup_id"].is_string()) {
    return Corrupt("snapshot: no backup_id");
  }
  Snapshot s;
  json j = doc;
  auto take = [&](const char* key) {
    json v;
    if (auto it = j.find(key); it != j.end()) {
      v = std::move(*it);
      j.erase(it);
    }
    return v;
  };
  auto str = [](const json& v) { return v.is_string() ? v.get<std::string>() : std::string(); };
  json v = take("version");
  s.version = v.is_number_integer() ? v.get<int>() : 1;
  s.backup_id = str(take("backup_id"));
  s.type = str(take("type"));
  if (json p = take("parent"); p.is_string()) s.parent = p.get<std::string>();
  s.hostname = str(take("hostname"));
  s.start_time = str(take("start_time"));
  json t = take("time_unix");
  s.time_unix = t.is_number() ? t.get<double>() : 0.0;
  s.end_time = str(take("end_time"));
  if (json c = take("components"); c.is_object()) {
    for (auto& [name, entry] : c.items()) s.components[name] = entry;
  }
  s.report = BackupReport::FromJson(take("report"));
  s.extra = std::move(j);
  return s;
}

StatusOr<std::string> WriteSnapshot(Repository& repo, RepoLock& lock, const Snapshot& snapshot) {
  return WriteSnapshot(repo, lock, snapshot.ToJson());
}

StatusOr<std::string> WriteSnapshot(Repository& repo, RepoLock& lock, const nlohmann::json& doc) {
  if (Status held = lock.Check(); !held.ok()) {
    return held.Context("not writing the snapshot (its data may have been pruned meanwhile)");
  }
  return repo.SaveObject("snapshots", kKindSnapshot, doc);
}

StatusOr<std::vector<SnapshotRef>> ListSnapshots(Repository& repo, std::vector<std::string>* problems) {
  ASSIGN_OR_RETURN(auto objs, repo.storage().List("snapshots/"));
  std::vector<SnapshotRef> out;
  for (const auto& o : objs) {
    auto doc = repo.LoadObject(o.name, kKindSnapshot);
    // A sealed object is trusted to be ours, not to be well-formed: a wrong type is a damaged
    // snapshot to report, not an exception.
    if (!doc.ok() || !doc->is_object() || !doc->contains("backup_id") || !(*doc)["backup_id"].is_string()) {
      if (problems) problems->push_back(doc.ok() ? o.name + ": no backup_id" : doc.status().message());
      continue;
    }
    out.push_back({o.name, (*doc)["backup_id"].get<std::string>(), std::move(*doc)});
  }
  // Ids are local time and repeat after a DST fall-back: order by the recorded Unix time first.
  auto key = [](const SnapshotRef& s) {
    auto t = s.doc.find("time_unix");
    return std::make_pair(t != s.doc.end() && t->is_number() ? t->get<double>() : 0.0, s.backup_id);
  };
  std::sort(out.begin(), out.end(), [&](const SnapshotRef& a, const SnapshotRef& b) { return key(a) < key(b); });
  return out;
}

StatusOr<SnapshotRef> FindSnapshot(Repository& repo, const std::string& backup_id) {
  std::vector<std::string> problems;
  ASSIGN_OR_RETURN(auto all, ListSnapshots(repo, &problems));
  if (backup_id == "latest" && !all.empty()) return all.back();
  for (auto& s : all) {
    if (s.backup_id == backup_id) return s;
  }
  std::string msg = backup_id == "latest" ? "no backups in " + repo.storage().Describe()
                                          : "no backup " + backup_id + " in " + repo.storage().Describe() +
                                                " (see `spacetime-backup snapshots`)";
  for (const auto& p : problems) msg += "; damaged snapshot " + p;
  return NotFound(msg);
}

}  // namespace stb
