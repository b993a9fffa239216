// `key generate|list|add|remove|rotate`: the keys that unlock the repository. Rotation adds a
// key wrapping the same master key and removes the old one: no data is rewritten.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
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
  Status st = (*repo)->RemoveKey(key_id);
  if (!st.ok()) return Fail(st);
  LogInfo("removed key " + key_id);
  PrintJson({{"removed", key_id}});
  return 0;
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
  Status st = (*repo)->RemoveKey(old);
  if (!st.ok()) return Fail(st.Context("the new key " + *id + " was added, but removing the old one failed"));
  LogInfo("rotated key " + old + " -> " + *id);
  PrintJson({{"added", *id},
             {"removed", old},
             {"key_file", new_key_file},
             {"next_step", "set BACKUP_ENCRYPTION_KEY=" + new_key_file}});
  return 0;
}

}  // namespace stb
