#include "cli/common.h"

#include <cstdio>
#include <iostream>

#include "cloud/locations.h"
#include "core/file_util.h"
#include "core/log.h"

namespace stb {

StatusOr<KeySource> LoadKey(const Settings& s) {
  if (!s.key_file.empty()) return LoadKeyFile(s.key_file);
  if (!s.passphrase.empty()) return FromPassphrase(s.passphrase);
  return InvalidArgument(
      "no encryption key: set BACKUP_ENCRYPTION_KEY to a key file (`spacetime-backup key generate FILE`, or "
      "`openssl rand -hex 32 > FILE && chmod 600 FILE`) or BACKUP_PASSPHRASE");
}

StatusOr<std::unique_ptr<Repository>> OpenRepository(const Settings& s, const std::string& location) {
  ASSIGN_OR_RETURN(KeySource key, LoadKey(s));
  auto st = OpenLocation(s, location);
  if (!st.ok() && st.status().code() == Code::kNotFound) {
    return NotFound("no repository at " + s.backup_root + " (BACKUP_ROOT): run `spacetime-backup init` first");
  }
  if (!st.ok()) return st.status();
  std::shared_ptr<Storage> storage(std::move(*st));
  auto repo = Repository::Open(storage, key);
  if (!repo.ok() && repo.status().code() == Code::kNotFound && location != "local") {
    return NotFound("no repository in " + storage->Describe() + ": run `spacetime-backup init` or `spacetime-backup " +
                    "replicate --to " + location + "` (" + repo.status().message() + ")");
  }
  return repo;
}

namespace {
std::string g_last_failure;
}  // namespace

std::string LastFailure() { return g_last_failure; }

int Fail(const Status& st) {
  g_last_failure = st.message();
  LogError(st.message());
  std::fprintf(stderr, "error: %s\n", st.message().c_str());
  return 1;
}

void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace stb
