#include "cli/common.h"

#include <openssl/evp.h>

#include <cstdio>
#include <iostream>

#include "cloud/locations.h"
#include "core/file_util.h"
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

RedisOptions RedisOptionsOf(const Settings& s) {
  RedisOptions o;
  o.endpoint.host = s.redis_host.empty() ? "localhost" : s.redis_host;
  o.endpoint.port = s.redis_port;
  o.endpoint.username = s.redis_username;
  o.endpoint.password = s.redis_password;
  o.data_dir = s.redis_data_dir;
  o.restart_command = s.redis_restart_command;
  o.digest = s.redis_digest;
  o.live_port = s.redis_live_restore_port;
  o.endpoint.tls = s.redis_tls;
  o.endpoint.tls_ca = s.redis_tls_ca_cert;
  o.endpoint.tls_cert = s.redis_tls_cert;
  o.endpoint.tls_key = s.redis_tls_key;
  o.endpoint.tls_server_name = s.redis_tls_server_name;
  return o;
}

namespace {

// AccountName=...;AccountKey=...;BlobEndpoint=... -> the value of one field.
std::string ConnectionStringField(const std::string& cs, const std::string& field) {
  for (const auto& part : SplitList(cs, ';')) {
    size_t eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == field) return part.substr(eq + 1);
  }
  return "";
}

StatusOr<CrdbStorage> CockroachStorageOf(const Settings& s) {
  CrdbStorage st;
  if (!s.cockroach_backup_uri.empty()) {
    st.kind = "uri";
    st.uri = s.cockroach_backup_uri;
    return st;
  }
  st.kind = s.cockroach_backup_location;
  if (st.kind == "nodelocal") {
    st.path = "spacetime-backup/database";
  } else if (st.kind == "s3") {
    st.bucket = s.s3_bucket;
    st.path = "backups/primary/database";
    st.params = {{"AWS_ACCESS_KEY_ID", s.aws_access_key_id},
                 {"AWS_SECRET_ACCESS_KEY", s.aws_secret_access_key},
                 {"AWS_SESSION_TOKEN", s.aws_session_token},
                 {"AWS_REGION", s.s3_region},
                 {"AWS_ENDPOINT", s.s3_endpoint}};
    if (s.aws_access_key_id.empty()) st.params["AUTH"] = "implicit";
  } else if (st.kind == "azure") {
    st.bucket = s.azure_container;
    st.path = "backups/secondary/database";
    std::string account =
        s.azure_account.empty() ? ConnectionStringField(s.azure_connection_string, "AccountName") : s.azure_account;
    st.params = {{"AZURE_ACCOUNT_NAME", account},
                 {"AZURE_ACCOUNT_KEY", ConnectionStringField(s.azure_connection_string, "AccountKey")}};
  } else if (st.kind == "gcs") {
    st.bucket = s.gcs_bucket;
    st.path = "backups/tertiary/database";
    if (s.google_credentials.empty()) {
      st.params["AUTH"] = "implicit";
    } else {
      auto key = ReadWholeFile(s.google_credentials);
      if (!key.ok()) return key.status().Context("GOOGLE_APPLICATION_CREDENTIALS");
      std::string b64(4 * ((key->size() + 2) / 3) + 1, '\0');
      int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), key->data(), static_cast<int>(key->size()));
      b64.resize(static_cast<size_t>(n));
      st.params = {{"AUTH", "specified"}, {"CREDENTIALS", b64}};
    }
  }
  return st;  // an unknown kind is reported by CrdbCollectionUri, naming COCKROACH_BACKUP_LOCATION
}

}  // namespace

StatusOr<DatabaseOptions> DatabaseOptionsOf(const Settings& s, const Repository& repo) {
  DatabaseOptions o;
  o.endpoint = {s.db_host, s.db_port, s.db_name, s.db_user, s.db_password, s.db_sslmode};
  o.engine = s.db_engine;
  o.pg_bin_dir = s.db_pg_bin_dir;
  o.restore_jobs = s.db_restore_jobs;
  o.checksums = s.db_checksums;
  if (const char* tmp = std::getenv("TMPDIR")) o.staging_dir = tmp;
  ASSIGN_OR_RETURN(o.crdb, CockroachStorageOf(s));
  o.crdb_passphrase = repo.DeriveSecretHex("cockroach backup passphrase");
  return o;
}

void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace stb
