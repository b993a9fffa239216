// `init`: creates the repository (config and first key) in the local location and copies it to
// every configured cloud location.
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/replication.h"
#include "core/log.h"

namespace stb {

int RunInit(const Settings& s) {
  InitLog(s.log_dir, "backup.log");
  auto key = LoadKey(s);
  if (!key.ok()) return Fail(key.status());
  auto storage = OpenLocalStorage(s.backup_root, true);
  if (!storage.ok()) return Fail(storage.status());
  Status st = Repository::Init(**storage, *key);
  if (!st.ok()) return Fail(st.Context("init"));
  LogInfo("initialised repository at " + s.backup_root);
  // The cloud copies get the same config and key, so that any of them can be restored from alone.
  nlohmann::json locations = ReplicateToCopies(s, **storage);
  locations["local"] = {{"path", s.backup_root}, {"status", "created"}};
  bool all = true;
  for (const auto& [name, l] : locations.items()) all &= l.value("status", "") != "failed";
  PrintJson({{"locations", locations}, {"overall_success", all}});
  return all ? 0 : 1;
}

}  // namespace stb
