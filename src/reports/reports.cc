#include "reports/reports.h"

namespace stb {

using json = nlohmann::json;

namespace {

template <typename T>
std::optional<T> Take(json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  std::optional<T> out;
  if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) out = it->template get<std::string>();
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    if (it->is_number_unsigned()) {
      out = it->template get<uint64_t>();
    } else if (it->is_number_integer()) {
      out = static_cast<uint64_t>(std::max<int64_t>(0, it->template get<int64_t>()));
    }
  } else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, bool>) {
    if ((std::is_same_v<T, bool> && it->is_boolean()) || (std::is_same_v<T, double> && it->is_number())) {
      out = it->template get<T>();
    }
  }
  if (out) j.erase(it);  // a field of the wrong type stays in details, as it came
  return out;
}

std::string TakeString(json& j, const char* key) { return Take<std::string>(j, key).value_or(""); }

std::vector<std::string> TakeStrings(json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  j.erase(it);
  return out;
}

std::map<std::string, ComponentReport> TakeComponents(json& j) {
  std::map<std::string, ComponentReport> out;
  auto it = j.find("components");
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [name, r] : it->items()) out[name] = ComponentReport::FromJson(r);
  j.erase(it);
  return out;
}

json ComponentsJson(const std::map<std::string, ComponentReport>& components) {
  json out = json::object();
  for (const auto& [name, r] : components) out[name] = r.ToJson();
  return out;
}

}  // namespace

ComponentReport ComponentReport::Skipped(std::string why) {
  ComponentReport r;
  r.status = "skipped";
  r.reason = std::move(why);
  return r;
}

std::string ComponentReport::FirstError() const {
  if (error) return *error;
  auto it = details.find("errors");
  if (it != details.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) return (*it)[0];
  return "failed";
}

json ComponentReport::ToJson() const {
  json j = details.is_object() ? details : json::object();
  if (!status.empty()) j["status"] = status;
  if (status != "skipped") j["success"] = success;
  if (reason) j["reason"] = *reason;
  if (error) j["error"] = *error;
  if (type) j["type"] = *type;
  if (duration_seconds) j["duration_seconds"] = *duration_seconds;
  if (size_bytes) j["size_bytes"] = *size_bytes;
  return j;
}

ComponentReport ComponentReport::FromJson(const json& in) {
  ComponentReport r;
  if (!in.is_object()) return r;
  json j = in;
  r.status = TakeString(j, "status");
  r.success = Take<bool>(j, "success").value_or(false);
  r.reason = Take<std::string>(j, "reason");
  r.error = Take<std::string>(j, "error");
  r.type = Take<std::string>(j, "type");
  r.duration_seconds = Take<double>(j, "duration_seconds");
  r.size_bytes = Take<uint64_t>(j, "size_bytes");
  r.details = std::move(j);
  return r;
}

bool BackupReport::Stored() const {
  return locations.is_object() && locations.contains("local") && locations["local"].is_object() &&
         locations["local"].value("status", "") == "ok";
}

json BackupReport::ToJson() const {
  json j = {{"backup_id", backup_id},
            {"type", type},
            {"parent", parent ? json(*parent) : json(nullptr)},
            {"start_time", start_time},
            {"end_time", end_time},
            {"duration_seconds", duration_seconds},
            {"components", ComponentsJson(components)},
            {"overall_success", overall_success}};
  if (repository) {
    j["repository"] = {{"new_bytes", repository->new_bytes},
                       {"reused_bytes", repository->reused_bytes},
                       {"stored_bytes", repository->stored_bytes},
                       {"new_blobs", repository->new_blobs},
                       {"dedup_ratio", repository->dedup_ratio}};
  }
  if (!warnings.empty()) j["warnings"] = warnings;
  if (error) j["error"] = *error;
  if (!locations.is_null()) j["locations"] = locations;
  return j;
}

BackupReport BackupReport::FromJson(const json& in) {
  BackupReport r;
  if (!in.is_object()) return r;
  json j = in;
  r.backup_id = TakeString(j, "backup_id");
  r.type = TakeString(j, "type");
  r.parent = Take<std::string>(j, "parent");
  r.start_time = TakeString(j, "start_time");
  r.end_time = TakeString(j, "end_time");
  r.duration_seconds = Take<double>(j, "duration_seconds").value_or(0);
  r.components = TakeComponents(j);
  if (auto it = j.find("repository"); it != j.end() && it->is_object()) {
    json repo = *it;
    RepositoryStats s;
    s.new_bytes = Take<uint64_t>(repo, "new_bytes").value_or(0);
    s.reused_bytes = Take<uint64_t>(repo, "reused_bytes").value_or(0);
    s.stored_bytes = Take<uint64_t>(repo, "stored_bytes").value_or(0);
    s.new_blobs = Take<uint64_t>(repo, "new_blobs").value_or(0);
    s.dedup_ratio = Take<double>(repo, "dedup_ratio").value_or(0);
    r.repository = s;
  }
  r.warnings = TakeStrings(j, "warnings");
  r.error = Take<std::string>(j, "error");
  if (auto it = j.find("locations"); it != j.end()) r.locations = *it;
  r.overall_success = Take<bool>(j, "overall_success").value_or(false);
  return r;
}

std::string RestoreReport::FirstError() const {
  if (error) return *error;
  // By name, not in restore order: the restore alert and the drill's errors have always taken the
  // first failure of the report's components object, whose keys are sorted.
  for (const auto& [name, r] : components) {
    if (!r.success) return name + ": " + r.error.value_or("failed");
  }
  return "";
}

json RestoreReport::ToJson() const {
  json j = {{"backup_id", backup_id},         {"start_time", start_time},
            {"end_time", end_time},           {"restore_location", restore_location},
            {"rto_seconds", rto_seconds},     {"components", ComponentsJson(components)},
            {"restore_order", restore_order}, {"overall_success", overall_success}};
  if (target) j["target"] = *target;
  if (!errors.empty()) j["errors"] = errors;
  if (error) j["error"] = *error;
  return j;
}

RestoreReport RestoreReport::FromJson(const json& in) {
  RestoreReport r;
  if (!in.is_object()) return r;
  json j = in;
  r.backup_id = TakeString(j, "backup_id");
  r.start_time = TakeString(j, "start_time");
  r.end_time = TakeString(j, "end_time");
  r.restore_location = Take<std::string>(j, "restore_location").value_or("local");
  r.rto_seconds = Take<double>(j, "rto_seconds").value_or(0);
  r.components = TakeComponents(j);
  r.restore_order = TakeStrings(j, "restore_order");
  r.target = Take<std::string>(j, "target");
  r.errors = TakeStrings(j, "errors");
  r.error = Take<std::string>(j, "error");
  r.overall_success = Take<bool>(j, "overall_success").value_or(false);
  return r;
}

}  // namespace stb
