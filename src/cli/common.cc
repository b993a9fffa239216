#include "cli/common.h"

#include <cstdio>
#include <iostream>

#include "core/log.h"

namespace stb {

const std::vector<std::string> kBackupOrder = {"database", "redis", "player_saves", "configuration", "application"};
const std::vector<std::string> kRestoreOrder = {"configuration", "database", "redis", "player_saves", "application"};

StatusOr<KeySource> LoadKey(const Settings& s) {
  if (!s.key_file.empty()) return LoadKeyFile(s.key_file);
  if (!s.passphrase.empty()) return FromPassphrase(s.passphrase);
  return InvalidArgument(
      "no encryption key: set BACKUP_ENCRYPTION_KEY to a key file (`spacetime-backup key generate FILE`, or "
      "`openssl rand -hex 32 > FILE && chmod 600 FILE`) or BACKUP_PASSPHRASE");
}

StatusOr<std::unique_ptr<Repository>> OpenRepository(const Settings& s, const std::string& location) {
  if (location != "local") {
    return InvalidArgument("location '" + location +
                           "': only the local repository (BACKUP_ROOT) is available in this build; "
                           "S3, Azure and GCS locations are not implemented yet");
  }
  ASSIGN_OR_RETURN(KeySource key, LoadKey(s));
  auto st = OpenLocalStorage(s.backup_root, false);
  if (!st.ok() && st.status().code() == Code::kNotFound) {
    return NotFound("no repository at " + s.backup_root + " (BACKUP_ROOT): run `spacetime-backup init` first");
  }
  if (!st.ok()) return st.status();
  return Repository::Open(std::shared_ptr<Storage>(std::move(*st)), key);
}

int Fail(const Status& st) {
  LogError(st.message());
  std::fprintf(stderr, "error: %s\n", st.message().c_str());
  return 1;
}

RedisOptions RedisOptionsOf(const Settings& s) {
  RedisOptions o;
  o.endpoint.host = s.redis_host.empty() ? "localhost" : s.redis_host;
  o.endpoint.port = s.redis_port;
  o.endpoint.username = s.redis_username;
  o.endpoint.password = s.redis_password;
  o.data_dir = s.redis_data_dir;
  o.restart_command = s.redis_restart_command;
  o.digest = s.redis_digest;
  o.endpoint.tls = s.redis_tls;
  o.endpoint.tls_ca = s.redis_tls_ca_cert;
  o.endpoint.tls_cert = s.redis_tls_cert;
  o.endpoint.tls_key = s.redis_tls_key;
  o.endpoint.tls_server_name = s.redis_tls_server_name;
  return o;
}

void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace stb
