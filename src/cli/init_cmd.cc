// `init`: creates the repository (config and first key) in the local location.
#include "cli/commands.h"
#include "cli/common.h"
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
  PrintJson({{"locations", {{"local", {{"path", s.backup_root}, {"status", "created"}}}}}, {"overall_success", true}});
  return 0;
}

}  // namespace stb
