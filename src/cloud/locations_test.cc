#include "cloud/locations.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/encoding.h"
#include "core/redact.h"

namespace stb {
namespace {

const std::string kAwsSecret = "aws-secret-0123456789abcdef";
const std::string kAzureKey = Base64Encode("azure-key-0123456789abcdef");
const std::string kConnKey = Base64Encode("conn-key-0123456789abcdef");

Settings Cloud() {
  Settings s;
  s.backup_root = "/nonexistent/backups";
  s.s3_bucket = "b3";
  s.aws_access_key_id = "AKIDEXAMPLE";
  s.aws_secret_access_key = kAwsSecret;
  s.azure_container = "cont";
  s.azure_account = "acct";
  s.azure_key = kAzureKey;
  s.gcs_bucket = "bg";
  return s;
}

TEST(Locations, OneTableInTheGuidesOrder) {
  EXPECT_EQ(LocationNames(), (std::vector<std::string>{"local", "s3", "azure", "gcs"}));
  EXPECT_EQ(LocationLabel("s3"), "s3_primary");
  EXPECT_EQ(LocationLabel("azure"), "azure_secondary");
  EXPECT_EQ(LocationLabel("gcs"), "gcs_tertiary");
  EXPECT_EQ(LocationLabel("local"), "local");
  EXPECT_EQ(LocationLabel("ftp"), "ftp");
  EXPECT_EQ(FindLocation("ftp"), nullptr);
  // The table's default prefixes are the settings' defaults.
  Settings defaults;
  for (const auto& l : Locations()) EXPECT_EQ(l.prefix(defaults), l.default_prefix) << l.name;

  Settings local_only;
  ASSERT_EQ(ConfiguredLocations(local_only).size(), 1u);
  EXPECT_EQ(ConfiguredLocations(local_only)[0].name, "local");
  auto all = ConfiguredLocations(Cloud());
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].name, "gcs");
  EXPECT_EQ(all[3].label, "gcs_tertiary");
}

TEST(Locations, UnconfiguredOrUnknownNamesTheSetting) {
  Settings s;
  for (const auto& [name, setting] : std::vector<std::pair<std::string, std::string>>{
           {"s3", "BACKUP_S3_BUCKET"}, {"azure", "BACKUP_AZURE_CONTAINER"}, {"gcs", "BACKUP_GCS_BUCKET"}}) {
    auto st = OpenLocation(s, name);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.status().message().find(setting), std::string::npos) << st.status().message();
  }
  EXPECT_EQ(OpenLocation(s, "ftp").status().code(), Code::kInvalidArgument);
}

TEST(CockroachCollection, DefaultPrefixes) {
  Settings s = Cloud();
  s.cockroach_backup_location = "s3";
  EXPECT_EQ(CockroachCollectionOf(s)->path, "backups/primary/database");
  s.cockroach_backup_location = "azure";
  EXPECT_EQ(CockroachCollectionOf(s)->path, "backups/secondary/database");
  s.cockroach_backup_location = "gcs";
  EXPECT_EQ(CockroachCollectionOf(s)->path, "backups/tertiary/database");
  s.cockroach_backup_location = "nodelocal";
  auto local = CockroachCollectionOf(s);
  EXPECT_EQ(local->kind, "nodelocal");
  EXPECT_EQ(local->path, "spacetime-backup/database");
}

// The mapping used to write under backups/<label>/database whatever BACKUP_*_PREFIX said, so the
// database backup landed outside the repository's prefix.
TEST(CockroachCollection, HonoursTheLocationPrefix) {
  Settings s = Cloud();
  s.s3_prefix = "team-a/prod/";
  s.azure_prefix = "";
  s.gcs_prefix = "g/";
  s.cockroach_backup_location = "s3";
  auto c = CockroachCollectionOf(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, "s3");
  EXPECT_EQ(c->bucket, "b3");
  EXPECT_EQ(c->path, "team-a/prod/database");
  s.cockroach_backup_location = "azure";
  EXPECT_EQ(CockroachCollectionOf(s)->path, "database");
  s.cockroach_backup_location = "gcs";
  EXPECT_EQ(CockroachCollectionOf(s)->path, "g/database");
}

// The mapping used to read the Azure key only from AZURE_STORAGE_CONNECTION_STRING.
TEST(CockroachCollection, AzureCredentialsAsTheLocationReadsThem) {
  Settings s = Cloud();
  s.cockroach_backup_location = "azure";
  auto c = CockroachCollectionOf(s);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->bucket, "cont");
  EXPECT_EQ(c->params["AZURE_ACCOUNT_NAME"], "acct");
  EXPECT_EQ(c->params["AZURE_ACCOUNT_KEY"], kAzureKey);
  EXPECT_NE(std::find(c->secrets.begin(), c->secrets.end(), kAzureKey), c->secrets.end());

  s.azure_account.clear();
  s.azure_key.clear();
  s.azure_connection_string = "AccountName=fromconn;AccountKey=" + kConnKey;
  c = CockroachCollectionOf(s);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->params["AZURE_ACCOUNT_NAME"], "fromconn");
  EXPECT_EQ(c->params["AZURE_ACCOUNT_KEY"], kConnKey);
}

TEST(CockroachCollection, S3AndGcsCredentials) {
  Settings s = Cloud();
  s.cockroach_backup_location = "s3";
  auto c = CockroachCollectionOf(s);
  EXPECT_EQ(c->params["AWS_ACCESS_KEY_ID"], "AKIDEXAMPLE");
  EXPECT_EQ(c->params["AWS_SECRET_ACCESS_KEY"], kAwsSecret);
  EXPECT_EQ(c->params.count("AUTH"), 0u);
  s.aws_access_key_id.clear();
  EXPECT_EQ(CockroachCollectionOf(s)->params["AUTH"], "implicit");

  s.cockroach_backup_location = "gcs";
  EXPECT_EQ(CockroachCollectionOf(s)->params["AUTH"], "implicit");
  std::string path = (std::filesystem::temp_directory_path() / ("stb-gcs-key-" + std::to_string(getpid()))).string();
  std::ofstream(path) << "{\"type\":\"service_account\"}";
  s.google_credentials = path;
  c = CockroachCollectionOf(s);
  std::filesystem::remove(path);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->params["AUTH"], "specified");
  EXPECT_EQ(c->params["CREDENTIALS"], Base64Encode("{\"type\":\"service_account\"}"));
  EXPECT_EQ(c->secrets, std::vector<std::string>{c->params["CREDENTIALS"]});
  s.google_credentials = path + ".missing";
  auto missing = CockroachCollectionOf(s);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
}

TEST(CockroachCollection, UriAndUnknownKinds) {
  Settings s;
  s.cockroach_backup_uri = "s3://x/y?AWS_SECRET_ACCESS_KEY=k";
  EXPECT_EQ(CockroachCollectionOf(s)->kind, "uri");
  EXPECT_EQ(CockroachCollectionOf(s)->uri, s.cockroach_backup_uri);
  s.cockroach_backup_uri.clear();
  s.cockroach_backup_location = "ftp";
  EXPECT_EQ(CockroachCollectionOf(s)->kind, "ftp");  // CrdbCollectionUri names COCKROACH_BACKUP_LOCATION
  s.cockroach_backup_location = "local";
  EXPECT_EQ(CockroachCollectionOf(s)->kind, "local");
}

TEST(LocationSecrets, NeverInDescribeOrErrors) {
  Settings s = Cloud();
  s.azure_sas_token = "sv=2021&sig=SASSIGNATURE0123456789";
  std::vector<std::string> secrets = LocationSecrets(s);
  for (const std::string& v : {kAwsSecret, kAzureKey, s.azure_sas_token}) {
    EXPECT_NE(std::find(secrets.begin(), secrets.end(), v), secrets.end()) << v;
  }
  for (const char* name : {"s3", "azure", "gcs"}) {
    auto st = OpenLocation(s, name);
    std::string text = st.ok() ? (*st)->Describe() : st.status().message();
    for (const auto& v : secrets) EXPECT_EQ(text.find(v), std::string::npos) << name << ": " << text;
  }
  // A connection string that does not parse: its error quotes no part of it.
  s.azure_connection_string = "AccountName=a;" + kConnKey;
  auto bad = OpenLocation(s, "azure");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find(kConnKey), std::string::npos) << bad.status().message();
  std::string quoted = "upload failed: key " + kAwsSecret + " rejected, sas " + s.azure_sas_token;
  std::string shown = RedactSecrets(quoted, LocationSecrets(s));
  for (const auto& v : LocationSecrets(s)) EXPECT_EQ(shown.find(v), std::string::npos) << shown;
}

}  // namespace
}  // namespace stb
