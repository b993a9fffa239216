// The storage conformance suite against a real S3 server (radosgw from test/services/radosgw.sh,
// via run.sh): path style, multipart uploads, virtual-host style, a wrong secret, an outage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <thread>
#include <vector>

#include "cloud/s3_storage.h"
#include "crypto/digest.h"
#include "storage_conformance.h"

namespace stb {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The server's settings; the environment check below fails the run when any is missing.
S3Options BaseOptions() {
  S3Options o;
  o.endpoint = Env("BACKUP_S3_ENDPOINT");
  o.bucket = Env("BACKUP_S3_BUCKET");
  if (!Env("BACKUP_S3_REGION").empty()) o.region = Env("BACKUP_S3_REGION");
  o.access_key_id = Env("AWS_ACCESS_KEY_ID");
  o.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  o.http.total_timeout_seconds = 120;
  return o;
}

// Every storage gets a prefix of its own, so tests never see each other's objects.
std::string UniquePrefix() {
  static std::atomic<int> n{0};
  return "conformance-" + std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr)) + "-" +
         std::to_string(n++) + "/";
}

std::unique_ptr<Storage> OpenOrFail(S3Options o) {
  o.prefix = UniquePrefix();
  auto s = OpenS3Storage(o);
  if (!s.ok()) {
    ADD_FAILURE() << s.status().message();
    return nullptr;
  }
  return std::move(s).value();
}

// The bucket is made once per run with a signed "PUT /bucket" (not part of the driver: a
// backup never creates buckets). 409 BucketAlreadyOwnedByYou is fine.
Status CreateBucket(const S3Options& o) {
  std::string authority = o.endpoint.substr(o.endpoint.find("://") + 3);
  if (authority.ends_with("/")) authority.pop_back();
  char date[32];
  time_t now = time(nullptr);
  struct tm t;
  gmtime_r(&now, &t);
  strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &t);
  SigV4Request s{"PUT", authority, "/" + o.bucket, "", {}, Sha256Hex(nullptr, 0)};
  s.headers = {{"x-amz-content-sha256", s.payload_sha256_hex}, {"x-amz-date", date}};
  HttpRequest req;
  req.method = "PUT";
  req.url = o.endpoint + "/" + o.bucket;
  req.headers = s.headers;
  req.headers.emplace_back("Host", authority);
  req.headers.emplace_back("Authorization",
                           SigV4Authorization(s, o.access_key_id, o.secret_access_key, o.region, "s3", date));
  HttpClient http(o.http);
  ASSIGN_OR_RETURN(HttpResponse r, http.Send(req));
  if (r.status == 200 || r.status == 409) return Status::Ok();
  return HttpError(r, "create bucket " + o.bucket, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
}

class S3Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* v : {"BACKUP_S3_ENDPOINT", "BACKUP_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
      ASSERT_FALSE(Env(v).empty()) << v << " is not set: run through test/services/run.sh s3 (starts radosgw)";
    }
    Status st = CreateBucket(BaseOptions());
    ASSERT_TRUE(st.ok()) << st.message();
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new S3Environment);

S3Options Multipart() {
  S3Options o = BaseOptions();
  o.multipart_threshold = o.part_size = 5u << 20;  // the suite's 20 MiB object goes up in 4 parts
  return o;
}

// radosgw answers virtual-host requests for "<bucket>.localhost" (rgw_dns_name = localhost);
// libcurl resolves every "*.localhost" name to loopback itself.
S3Options VirtualHost() {
  S3Options o = BaseOptions();
  std::string ip = "127.0.0.1";
  size_t at = o.endpoint.find(ip);
  if (at != std::string::npos) o.endpoint.replace(at, ip.size(), "localhost");
  o.url_style = "virtual";
  return o;
}

INSTANTIATE_TEST_SUITE_P(S3Path, StorageConformance, ::testing::Values([] { return OpenOrFail(BaseOptions()); }));
INSTANTIATE_TEST_SUITE_P(S3Multipart, StorageConformance, ::testing::Values([] { return OpenOrFail(Multipart()); }));
INSTANTIATE_TEST_SUITE_P(S3VirtualHost, StorageConformance,
                         ::testing::Values([] { return OpenOrFail(VirtualHost()); }));

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  return b;
}

// Parts of 5, 5 and 2 MiB + 7 bytes: reads across part boundaries and a short last part.
TEST(S3Radosgw, MultipartObjectWithAShortLastPart) {
  auto s = OpenOrFail(Multipart());
  ASSERT_TRUE(s);
  Bytes big = Pattern((12u << 20) + 7);
  Status st = s->Put("data/12m", big);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(*s->Stat("data/12m"), big.size());
  auto across = s->Get("data/12m", (5u << 20) - 10, 20);
  ASSERT_TRUE(across.ok());
  EXPECT_TRUE(std::equal(across->begin(), across->end(), big.begin() + (5 << 20) - 10));
  auto tail = s->Get("data/12m", big.size() - 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size(), 3u);
  auto all = s->Get("data/12m");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == big);
  ASSERT_TRUE(s->Remove("data/12m").ok());
  EXPECT_EQ(s->Stat("data/12m").status().code(), Code::kNotFound);
}

TEST(S3Radosgw, WrongSecretIsPermissionNamingTheVariables) {
  S3Options o = BaseOptions();
  o.secret_access_key = "wrong-secret-1234567890abcdefghijklmnop";
  auto s = OpenOrFail(o);
  ASSERT_TRUE(s);
  Status put = s->Put("config", ToBytes("x"));
  auto list = s->List("");
  for (const Status& st : {put, list.status()}) {
    EXPECT_EQ(st.code(), Code::kPermission) << st.message();
    EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
    EXPECT_NE(st.message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
    EXPECT_EQ(st.message().find(o.secret_access_key), std::string::npos);
    EXPECT_EQ(st.message().find(BaseOptions().secret_access_key), std::string::npos);
  }
}

TEST(S3Radosgw, MissingBucketNamesTheSetting) {
  S3Options o = BaseOptions();
  o.bucket = "stb-no-such-bucket";
  auto s = OpenOrFail(o);
  ASSERT_TRUE(s);
  Status st = s->Put("config", ToBytes("x"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("BACKUP_S3_BUCKET"), std::string::npos) << st.message();
}

// radosgw honours "If-None-Match: *" on PUT, checked in the same RADOS operation that writes the
// object: the driver declares atomic_create and the suite's 8-thread race checks it each run.
TEST(S3Radosgw, CreateOnlyRefusesAnExistingObject) {
  auto s = OpenOrFail(BaseOptions());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Caps().atomic_create);
  ASSERT_TRUE(s->Put("keys/a", ToBytes("first"), PutMode::kCreateOnly).ok());
  EXPECT_EQ(s->Put("keys/a", ToBytes("second"), PutMode::kCreateOnly).code(), Code::kAlreadyExists);
  EXPECT_EQ(AsString(*s->Get("keys/a")), "first");
}

// The suite's race has its threads start one after another; here they wait at a barrier and send
// 256 KiB each, so that writes overlap: exactly one wins per key and its bytes are what stays.
TEST(S3Radosgw, CreateOnlyRaceHasOneWinnerWhoseBytesStay) {
  auto s = OpenOrFail(BaseOptions());
  ASSERT_TRUE(s);
  for (int round = 0; round < 10; ++round) {
    std::string name = "locks/race-" + std::to_string(round);
    std::atomic<int> ready{0}, won{0}, winner{-1};
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i) {
      ts.emplace_back([&, i] {
        Bytes body(256u << 10, static_cast<uint8_t>('a' + i));
        ready++;
        while (ready < 8) std::this_thread::yield();
        Status st = s->Put(name, body, PutMode::kCreateOnly);
        if (st.ok()) {
          won++;
          winner = i;
        } else {
          EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.message();
        }
      });
    }
    for (auto& t : ts) t.join();
    ASSERT_EQ(won, 1) << "round " << round;
    auto got = s->Get(name);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Bytes(256u << 10, static_cast<uint8_t>('a' + winner))) << "round " << round;
  }
}

// The gateway stopped (the cluster kept) is kUnavailable, which the retry wrapper retries; once
// it is back, the same storage works again with the data intact.
TEST(S3Radosgw, GatewayOutageIsUnavailableThenRecovers) {
  std::string dir = Env("S3_SERVICE_DIR");
  ASSERT_FALSE(dir.empty()) << "S3_SERVICE_DIR is not set: run through test/services/run.sh s3";
  // run.sh names its own folder: __FILE__ is relative when ccache rewrites paths to the checkout.
  std::string services = Env("STB_SERVICES_DIR");
  ASSERT_FALSE(services.empty()) << "STB_SERVICES_DIR is not set: run through test/services/run.sh s3";
  auto gateway = [&](const std::string& fn) {
    std::string cmd = "bash -c 'source \"" + services + "/lib.sh\" && source \"" + services + "/radosgw.sh\" && " + fn +
                      " \"" + dir + "\"'";
    return std::system(cmd.c_str());
  };
  S3Options o = BaseOptions();
  o.http.connect_timeout_seconds = 2;
  auto s = OpenOrFail(o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Put("data/kept", ToBytes("kept")).ok());
  ASSERT_EQ(gateway("radosgw_stop_gateway"), 0);
  auto down = s->Get("data/kept");
  Status put = s->Put("data/other", ToBytes("x"));
  ASSERT_EQ(gateway("radosgw_start_gateway"), 0);
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().message();
  EXPECT_EQ(put.code(), Code::kUnavailable) << put.message();
  auto up = s->Get("data/kept");
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_EQ(AsString(*up), "kept");
}

}  // namespace
}  // namespace stb
