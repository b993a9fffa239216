// `key generate|list|add|remove|rotate`: the keys that unlock the repository. Rotation adds a
// key wrapping the same master key and removes the old one: no data is rewritten. Removals are
// made at every configured location too (under each one's exclusive lock): replication only
// adds, so a removed key would otherwise keep opening the copies.
#include <unistd.h>

#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cloud/locations.h"
#include "core/log.h"
#include "repository/lock.h"

namespace stb {

int RunKeyGenerate(const std::string& path) {
  Status st = GenerateKeyFile(path);
  if (!st.ok()) return Fail(st);
  std::cerr << "wrote a new key to " << path << " (mode 0600); keep a copy somewhere safe\n";
  return 0;
}

int RunKeyList(const Settings& s) {
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  auto keys = (*repo)->ListKeys();
  if (!keys.ok()) return Fail(keys.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : *keys) {
    out.push_back({{"id", k.id}, {"kind", k.kdf}, {"created", k.created}, {"host", k.host}, {"current", k.current}});
  }
  PrintJson(out);
  return 0;
}

namespace {

// Runs fn at every configured cloud location, opened with the current key, under its exclusive
// lock. Returns {"s3_primary": {"status": "ok"|"failed", "error"}, ...}; *all_ok is cleared on
// a failure.
nlohmann::json AtEveryCopy(const Settings& s, const std::function<Status(Repository&)>& fn, bool* all_ok) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& loc : ConfiguredLocations(s)) {
    if (loc.name == "local") continue;
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(auto repo, OpenRepository(s, loc.name));
      ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(*repo, true));
      return fn(*repo);
    }();
    if (st.ok()) {
      out[loc.label] = {{"status", "ok"}};
      continue;
    }
    *all_ok = false;
    LogError("key change at " + loc.label + " failed: " + st.message());
    out[loc.label] = {{"status", "failed"}, {"error", st.message()}};
  }
  return out;
}

// Removes key_id where it exists; a location without it is fine.
Status RemoveIfPresent(Repository& repo, const std::string& key_id) {
  Status st = repo.RemoveKey(key_id);
  return st.code() == Code::kNotFound ? Status::Ok() : st;
}

}  // namespace

// Loads the key to add: a key file, created first when it does not exist.
static StatusOr<KeySource> NewKey(const std::string& path) {
  if (path.empty()) return InvalidArgument("--new-key-file is required");
  if (::access(path.c_str(), F_OK) != 0) RETURN_IF_ERROR(GenerateKeyFile(path));
  return LoadKeyFile(path);
}

int RunKeyAdd(const Settings& s, const std::string& new_key_file) {
  InitLog(s.log_dir, "backup.log");
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  auto key = NewKey(new_key_file);
  if (!key.ok()) return Fail(key.status());
  auto id = (*repo)->AddKey(*key);
  if (!id.ok()) return Fail(id.status());
  LogInfo("added key " + *id);
  PrintJson({{"added", *id}, {"key_file", new_key_file}});
  return 0;
}

int RunKeyRemove(const Settings& s, const std::string& key_id) {
  InitLog(s.log_dir, "backup.log");
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  if (key_id == (*repo)->current_key_id()) {
    return Fail(
        InvalidArgument("key " + key_id + " is the one in use; open the repository with another key to remove it"));
  }
  auto lock = RepoLock::Acquire(**repo, true);
  if (!lock.ok()) return Fail(lock.status());
  // Not found locally is fine when a copy still has it (an earlier run that reached only some).
  auto keys = (*repo)->ListKeys();
  if (!keys.ok()) return Fail(keys.status());
  bool local_has = false;
  for (const auto& k : *keys) local_has |= k.id == key_id;
  if (local_has) {
    Status st = (*repo)->RemoveKey(key_id);
    if (!st.ok()) return Fail(st);
  }
  bool all = true;
  bool found = local_has;
  nlohmann::json copies = AtEveryCopy(
      s,
      [&](Repository& r) -> Status {
        Status st = r.RemoveKey(key_id);
        found |= st.ok();
        return st.code() == Code::kNotFound ? Status::Ok() : st;
      },
      &all);
  if (!found && all) return Fail(NotFound("no key " + key_id + " in any location"));
  LogInfo("removed key " + key_id);
  PrintJson({{"removed", key_id}, {"locations", copies}, {"overall_success", all}});
  if (!all) {
    std::fprintf(stderr, "error: key %s is still at the failed locations: run `key remove %s` again\n", key_id.c_str(),
                 key_id.c_str());
  }
  return all ? 0 : 1;
}

int RunKeyRotate(const Settings& s, const std::string& new_key_file) {
  InitLog(s.log_dir, "backup.log");
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  auto key = NewKey(new_key_file);
  if (!key.ok()) return Fail(key.status());
  auto lock = RepoLock::Acquire(**repo, true);
  if (!lock.ok()) return Fail(lock.status());
  auto id = (*repo)->AddKey(*key);
  if (!id.ok()) return Fail(id.status());
  std::string old = (*repo)->current_key_id();
  // Each copy gets the new key object first (the same bytes, as replication would copy them),
  // so that no copy is ever left without a key that opens it; then the old one goes there.
  auto new_key = (*repo)->storage().Get("keys/" + *id);
  if (!new_key.ok()) return Fail(new_key.status().Context("reading back the new key " + *id));
  bool all = true;
  nlohmann::json copies = AtEveryCopy(
      s,
      [&](Repository& r) -> Status {
        Status put = r.storage().Put("keys/" + *id, *new_key, PutMode::kCreateOnly);
        if (!put.ok() && put.code() != Code::kAlreadyExists) return put;
        return RemoveIfPresent(r, old);
      },
      &all);
  Status st = (*repo)->RemoveKey(old);
  if (!st.ok()) return Fail(st.Context("the new key " + *id + " was added, but removing the old one failed"));
  LogInfo("rotated key " + old + " -> " + *id);
  PrintJson({{"added", *id},
             {"removed", old},
             {"key_file", new_key_file},
             {"locations", copies},
             {"overall_success", all},
             {"next_step", "set BACKUP_ENCRYPTION_KEY=" + new_key_file}});
  if (!all) {
    std::fprintf(stderr, "error: the old key %s is still at the failed locations: run `key remove %s` again\n",
                 old.c_str(), old.c_str());
  }
  return all ? 0 : 1;
}

}  // namespace stb
