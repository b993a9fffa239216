#include "components/database/database.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "core/file_util.h"
#include "repository/repository.h"

namespace stb {

using json = nlohmann::json;

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

class DatabaseComponent : public Component {
 public:
  std::string_view name() const override { return "database"; }

  std::string NotConfigured(const Settings& s) const override {
    return s.db_host.empty() ? "not configured (DB_HOST)" : "";
  }

  ComponentBackup Backup(BackupContext& ctx) override {
    DatabaseBackupResult r;
    auto opt = DatabaseOptionsOf(ctx.settings, ctx.repo);
    if (opt.ok()) {
      r = BackupDatabase(ctx.repo, ctx.saver, *opt, ctx.type, ctx.progress);
    } else {
      r.report = {{"type", ctx.type}, {"success", false}, {"error", opt.status().message()}};
    }
    ComponentBackup b{std::move(r.entry), ComponentReport::FromJson(r.report)};
    b.report.success = r.success;
    return b;
  }

  ComponentReport Restore(const json& entry, RestoreContext& ctx) override {
    auto opt = DatabaseOptionsOf(ctx.settings, ctx.repo);
    json r = opt.ok() ? RestoreDatabase(ctx.repo, entry, *opt, ctx.options.target_db, ctx.progress)
                      : json{{"success", false}, {"error", opt.status().message()}};
    return ComponentReport::FromJson(r);
  }

  void VisitBlobs(Repository&, const json& entry, const std::string& prefix, const BlobVisitor& visit,
                  std::vector<std::string>& errors) override {
    std::string kind = entry.value("kind", "");
    if (kind == "postgresql") {
      VisitIdList(entry.contains("blobs") ? entry["blobs"] : json(), prefix, "database", "dump", visit, errors);
    } else if (kind != "cockroachdb") {  // the cluster's own backup lives in its collection, not in our packs
      errors.push_back(prefix + "database: unknown component kind '" + kind + "'");
    }
  }
};

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

std::unique_ptr<Component> NewDatabaseComponent() { return std::make_unique<DatabaseComponent>(); }

}  // namespace stb
