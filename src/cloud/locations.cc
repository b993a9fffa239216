#include "cloud/locations.h"

#include "cloud/azure_storage.h"
#include "cloud/gcs_storage.h"
#include "cloud/resilient_storage.h"
#include "cloud/s3_storage.h"
#include "core/encoding.h"
#include "core/file_util.h"

namespace stb {

namespace {

// CockroachDB's collection sits beside the repository, under the location's prefix.
constexpr const char* kCockroachDir = "database";

HttpOptions HttpOptionsOf(const Settings& s) {
  HttpOptions h;
  h.ca_file = s.ca_bundle;
  return h;
}

// --- local ---

StatusOr<std::unique_ptr<Storage>> OpenLocal(const Settings& s, bool create) {
  return OpenLocalStorage(s.backup_root, create);
}

StatusOr<CockroachCollection> LocalCockroach(const Settings&) {
  CockroachCollection c;
  c.kind = "nodelocal";
  c.path = std::string("spacetime-backup/") + kCockroachDir;
  return c;
}

// --- s3 ---

StatusOr<std::unique_ptr<Storage>> OpenS3(const Settings& s, bool) {
  if (s.s3_bucket.empty()) return InvalidArgument("location s3 is not configured: set BACKUP_S3_BUCKET");
  S3Options o;
  o.bucket = s.s3_bucket;
  o.region = s.s3_region;
  o.endpoint = s.s3_endpoint;
  o.prefix = s.s3_prefix;
  o.url_style = s.s3_url_style;
  o.access_key_id = s.aws_access_key_id;
  o.secret_access_key = s.aws_secret_access_key;
  o.session_token = s.aws_session_token;
  o.http = HttpOptionsOf(s);
  ASSIGN_OR_RETURN(auto driver, OpenS3Storage(o));
  return WithRetriesAndLimit(std::move(driver), RetryPolicy{}, s.aws_parallel_jobs);
}

std::vector<std::string> S3Secrets(const Settings& s) { return {s.aws_secret_access_key, s.aws_session_token}; }

StatusOr<CockroachCollection> S3Cockroach(const Settings& s) {
  CockroachCollection c;
  c.kind = "s3";
  c.bucket = s.s3_bucket;
  c.path = s.s3_prefix + kCockroachDir;
  c.params = {{"AWS_ACCESS_KEY_ID", s.aws_access_key_id},
              {"AWS_SECRET_ACCESS_KEY", s.aws_secret_access_key},
              {"AWS_SESSION_TOKEN", s.aws_session_token},
              {"AWS_REGION", s.s3_region},
              {"AWS_ENDPOINT", s.s3_endpoint}};
  if (s.aws_access_key_id.empty()) c.params["AUTH"] = "implicit";
  c.secrets = S3Secrets(s);
  return c;
}

// --- azure ---

// The options the Azure location runs with: BACKUP_AZURE_ACCOUNT and AZURE_STORAGE_KEY or
// AZURE_STORAGE_SAS_TOKEN, replaced by what AZURE_STORAGE_CONNECTION_STRING holds.
StatusOr<AzureOptions> AzureOptionsOf(const Settings& s) {
  AzureOptions o;
  o.container = s.azure_container;
  o.prefix = s.azure_prefix;
  o.account = s.azure_account;
  o.account_key = s.azure_key;
  o.sas_token = s.azure_sas_token;
  o.http = HttpOptionsOf(s);
  if (!s.azure_connection_string.empty()) {
    ASSIGN_OR_RETURN(o, ParseAzureConnectionString(s.azure_connection_string, o));
  }
  return o;
}

StatusOr<std::unique_ptr<Storage>> OpenAzure(const Settings& s, bool) {
  if (s.azure_container.empty()) {
    return InvalidArgument("location azure is not configured: set BACKUP_AZURE_CONTAINER");
  }
  ASSIGN_OR_RETURN(AzureOptions o, AzureOptionsOf(s));
  ASSIGN_OR_RETURN(auto driver, OpenAzureStorage(o));
  return WithRetriesAndLimit(std::move(driver), RetryPolicy{}, s.azure_parallel_jobs);
}

std::vector<std::string> AzureSecrets(const Settings& s) {
  std::vector<std::string> out{s.azure_key, s.azure_sas_token, s.azure_connection_string};
  if (auto o = AzureOptionsOf(s); o.ok()) {
    out.push_back(o->account_key);
    out.push_back(o->sas_token);
  }
  return out;
}

StatusOr<CockroachCollection> AzureCockroach(const Settings& s) {
  ASSIGN_OR_RETURN(AzureOptions o, AzureOptionsOf(s));
  CockroachCollection c;
  c.kind = "azure";
  c.bucket = s.azure_container;
  c.path = s.azure_prefix + kCockroachDir;
  c.params = {{"AZURE_ACCOUNT_NAME", o.account}, {"AZURE_ACCOUNT_KEY", o.account_key}};
  c.secrets = AzureSecrets(s);
  return c;
}

// --- gcs ---

StatusOr<std::unique_ptr<Storage>> OpenGcs(const Settings& s, bool) {
  if (s.gcs_bucket.empty()) return InvalidArgument("location gcs is not configured: set BACKUP_GCS_BUCKET");
  GcsOptions o;
  o.bucket = s.gcs_bucket;
  o.prefix = s.gcs_prefix;
  o.project = s.gcs_project;
  o.credentials_file = s.google_credentials;
  o.emulator_host = s.storage_emulator_host;
  o.http = HttpOptionsOf(s);
  ASSIGN_OR_RETURN(auto driver, OpenGcsStorage(o));
  return WithRetriesAndLimit(std::move(driver), RetryPolicy{}, s.gcs_parallel_jobs);
}

// The service-account key is a file, read when it is used; nothing secret sits in the settings.
std::vector<std::string> GcsSecrets(const Settings&) { return {}; }

StatusOr<CockroachCollection> GcsCockroach(const Settings& s) {
  CockroachCollection c;
  c.kind = "gcs";
  c.bucket = s.gcs_bucket;
  c.path = s.gcs_prefix + kCockroachDir;
  if (s.google_credentials.empty()) {
    c.params["AUTH"] = "implicit";
  } else {
    auto key = ReadWholeFile(s.google_credentials);
    if (!key.ok()) return key.status().Context("GOOGLE_APPLICATION_CREDENTIALS");
    std::string b64 = Base64Encode(key->data(), key->size());
    c.params = {{"AUTH", "specified"}, {"CREDENTIALS", b64}};
    c.secrets = {b64};
  }
  return c;
}

std::string NoPrefix(const Settings&) { return ""; }
bool Always(const Settings&) { return true; }
std::vector<std::string> NoSecrets(const Settings&) { return {}; }

}  // namespace

const std::vector<LocationSpec>& Locations() {
  static const std::vector<LocationSpec> kTable = {
      {"local", "local", "", "", "", &NoPrefix, &Always, &OpenLocal, &NoSecrets, &LocalCockroach},
      {"s3", "s3_primary", "BACKUP_S3_BUCKET", "BACKUP_S3_PREFIX", "backups/primary/",
       [](const Settings& s) { return s.s3_prefix; }, [](const Settings& s) { return !s.s3_bucket.empty(); }, &OpenS3,
       &S3Secrets, &S3Cockroach},
      {"azure", "azure_secondary", "BACKUP_AZURE_CONTAINER", "BACKUP_AZURE_PREFIX", "backups/secondary/",
       [](const Settings& s) { return s.azure_prefix; }, [](const Settings& s) { return !s.azure_container.empty(); },
       &OpenAzure, &AzureSecrets, &AzureCockroach},
      {"gcs", "gcs_tertiary", "BACKUP_GCS_BUCKET", "BACKUP_GCS_PREFIX", "backups/tertiary/",
       [](const Settings& s) { return s.gcs_prefix; }, [](const Settings& s) { return !s.gcs_bucket.empty(); },
       &OpenGcs, &GcsSecrets, &GcsCockroach},
  };
  return kTable;
}

const LocationSpec* FindLocation(std::string_view name) {
  for (const auto& l : Locations()) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

std::vector<std::string> LocationNames() {
  std::vector<std::string> out;
  for (const auto& l : Locations()) out.emplace_back(l.name);
  return out;
}

std::string LocationLabel(const std::string& name) {
  const LocationSpec* l = FindLocation(name);
  return l == nullptr ? name : std::string(l->label);
}

std::vector<LocationInfo> ConfiguredLocations(const Settings& s) {
  std::vector<LocationInfo> out;
  for (const auto& l : Locations()) {
    if (l.configured(s)) out.push_back({std::string(l.name), std::string(l.label)});
  }
  return out;
}

StatusOr<std::unique_ptr<Storage>> OpenLocation(const Settings& s, const std::string& name, bool create) {
  const LocationSpec* l = FindLocation(name);
  if (l == nullptr) return InvalidArgument("unknown location '" + name + "': use local, s3, azure or gcs");
  return l->open(s, create);
}

std::vector<std::string> LocationSecrets(const Settings& s) {
  std::vector<std::string> out;
  for (const auto& l : Locations()) {
    for (auto& v : l.secrets(s)) {
      if (!v.empty()) out.push_back(std::move(v));
    }
  }
  return out;
}

StatusOr<CockroachCollection> CockroachCollectionOf(const Settings& s) {
  if (!s.cockroach_backup_uri.empty()) {
    CockroachCollection c;
    c.kind = "uri";
    c.uri = s.cockroach_backup_uri;
    return c;
  }
  const std::string& kind = s.cockroach_backup_location;
  const LocationSpec* l = FindLocation(kind == "nodelocal" ? "local" : kind);
  if (l == nullptr || kind == "local") {
    CockroachCollection c;
    c.kind = kind;  // reported by CrdbCollectionUri, naming COCKROACH_BACKUP_LOCATION
    return c;
  }
  return l->cockroach(s);
}

}  // namespace stb
