#include "cloud/locations.h"

#include "cloud/azure_storage.h"
#include "cloud/gcs_storage.h"
#include "cloud/resilient_storage.h"
#include "cloud/s3_storage.h"

namespace stb {

namespace {

HttpOptions HttpOptionsOf(const Settings& s) {
  HttpOptions h;
  h.ca_file = s.ca_bundle;
  return h;
}

StatusOr<std::unique_ptr<Storage>> OpenS3(const Settings& s) {
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

StatusOr<std::unique_ptr<Storage>> OpenAzure(const Settings& s) {
  if (s.azure_container.empty()) {
    return InvalidArgument("location azure is not configured: set BACKUP_AZURE_CONTAINER");
  }
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
  ASSIGN_OR_RETURN(auto driver, OpenAzureStorage(o));
  return WithRetriesAndLimit(std::move(driver), RetryPolicy{}, s.azure_parallel_jobs);
}

StatusOr<std::unique_ptr<Storage>> OpenGcs(const Settings& s) {
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

}  // namespace

std::string LocationLabel(const std::string& name) {
  if (name == "s3") return "s3_primary";
  if (name == "azure") return "azure_secondary";
  if (name == "gcs") return "gcs_tertiary";
  return name;
}

std::vector<LocationInfo> ConfiguredLocations(const Settings& s) {
  std::vector<LocationInfo> out{{"local", "local"}};
  if (!s.s3_bucket.empty()) out.push_back({"s3", LocationLabel("s3")});
  if (!s.azure_container.empty()) out.push_back({"azure", LocationLabel("azure")});
  if (!s.gcs_bucket.empty()) out.push_back({"gcs", LocationLabel("gcs")});
  return out;
}

StatusOr<std::unique_ptr<Storage>> OpenLocation(const Settings& s, const std::string& name, bool create) {
  if (name == "local") return OpenLocalStorage(s.backup_root, create);
  if (name == "s3") return OpenS3(s);
  if (name == "azure") return OpenAzure(s);
  if (name == "gcs") return OpenGcs(s);
  return InvalidArgument("unknown location '" + name + "': use local, s3, azure or gcs");
}

}  // namespace stb
