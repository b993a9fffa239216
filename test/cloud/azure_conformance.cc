// The storage conformance suite against Azure Blob (Azurite, which test/services/azurite.sh starts):
// AZURE_STORAGE_CONNECTION_STRING and BACKUP_AZURE_CONTAINER must be set, else every test fails.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "cloud/azure_storage.h"
#include "core/encoding.h"
#include "core/file_util.h"
#include "storage_conformance.h"

namespace stb {
namespace {

// The options from the environment, as the tool reads them; a failure here fails the test.
StatusOr<AzureOptions> EnvOptions() {
  const char* cs = std::getenv("AZURE_STORAGE_CONNECTION_STRING");
  const char* container = std::getenv("BACKUP_AZURE_CONTAINER");
  if (cs == nullptr || *cs == '\0' || container == nullptr || *container == '\0') {
    return InvalidArgument(
        "AZURE_STORAGE_CONNECTION_STRING and BACKUP_AZURE_CONTAINER must be set: run this test through "
        "test/services/run.sh azure");
  }
  AzureOptions base;
  base.container = container;
  base.prefix = "conformance/" + RandomHex(8) + "/";  // each test in its own prefix
  base.http.total_timeout_seconds = 120;
  return ParseAzureConnectionString(cs, base);
}

// Create Container (PUT ?restype=container), signed with the exposed Shared Key pieces; 409 means
// it exists already. The driver itself never creates containers.
Status CreateContainer(const AzureOptions& o) {
  std::string endpoint = o.blob_endpoint;
  size_t slash = endpoint.find('/', endpoint.find("://") + 3);
  std::string origin = endpoint.substr(0, slash);
  std::string path = (slash == std::string::npos ? "" : endpoint.substr(slash)) + "/" + o.container;
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  HttpHeaders headers = {{"x-ms-date", date}, {"x-ms-version", "2021-08-06"}};
  HttpHeaders query = {{"restype", "container"}};
  ASSIGN_OR_RETURN(Bytes key, Base64Decode(o.account_key));
  HttpHeaders signed_headers = headers;
  signed_headers.emplace_back("Content-Length", "0");
  std::string auth =
      AzureSharedKeyAuthorization(o.account, key, AzureStringToSign("PUT", signed_headers, o.account, path, query));
  headers.emplace_back("Authorization", auth);
  HttpClient http(o.http);
  ASSIGN_OR_RETURN(HttpResponse r, http.Send({"PUT", origin + path + "?restype=container", headers}));
  if (r.status == 201 || r.status == 409) return Status::Ok();
  return HttpError(r, "create container " + o.container, "AZURE_STORAGE_CONNECTION_STRING");
}

StatusOr<std::unique_ptr<Storage>> OpenAzurite(uint64_t block_limit) {
  ASSIGN_OR_RETURN(AzureOptions o, EnvOptions());
  static const Status created = CreateContainer(o);
  RETURN_IF_ERROR(created);
  if (block_limit != 0) {
    o.single_put_limit = block_limit;
    o.block_size = block_limit;
  }
  return OpenAzureStorage(o);
}

std::unique_ptr<Storage> OrFail(StatusOr<std::unique_ptr<Storage>> s) {
  if (!s.ok()) {
    ADD_FAILURE() << s.status().message();
    return NewMemStorage();  // keeps the test body from crashing; the failure above stands
  }
  return std::move(*s);
}

std::unique_ptr<Storage> OpenSingle() { return OrFail(OpenAzurite(0)); }
// Objects above 4 MiB go up as 4 MiB blocks: the suite's 20 MiB object takes five.
std::unique_ptr<Storage> OpenBlocks() { return OrFail(OpenAzurite(4u << 20)); }

INSTANTIATE_TEST_SUITE_P(Azurite, StorageConformance, ::testing::Values(StorageFactory(&OpenSingle)));
INSTANTIATE_TEST_SUITE_P(AzuriteBlocks, StorageConformance, ::testing::Values(StorageFactory(&OpenBlocks)));

// Bytes that differ between seeds at every offset, so that a mix of two writers' blocks shows.
Bytes Pattern(size_t n, uint8_t seed = 0) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(((i * 2654435761u) >> 13) ^ seed);
  return b;
}

TEST(AzuriteTest, TwelveMiBInBlocks) {
  auto s = OrFail(OpenAzurite(4u << 20));
  Bytes big = Pattern(12u << 20);
  ASSERT_TRUE(s->Put("data/12m", big, PutMode::kCreateOnly).ok());
  EXPECT_EQ(*s->Stat("data/12m"), big.size());
  EXPECT_EQ(*s->Get("data/12m"), big);
  // A range across the boundary of the first and second block.
  auto part = s->Get("data/12m", (4u << 20) - 10, 20);
  ASSERT_TRUE(part.ok()) << part.status().message();
  EXPECT_TRUE(std::equal(part->begin(), part->end(), big.begin() + (4 << 20) - 10));
  // The commit (Put Block List) is what create-only guards.
  EXPECT_EQ(s->Put("data/12m", big, PutMode::kCreateOnly).code(), Code::kAlreadyExists);
  EXPECT_EQ(*s->Get("data/12m"), big);
}

// Create-only through Put Block List is exclusive too: of four writers racing, one wins.
TEST(AzuriteTest, CreateOnlyInBlocksIsExclusiveUnderConcurrency) {
  auto s = OrFail(OpenAzurite(4u << 20));
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      Bytes b = Pattern((5u << 20) + static_cast<size_t>(i), static_cast<uint8_t>(i + 1));
      Status st = s->Put("ids/big", b, PutMode::kCreateOnly);
      (st.ok() ? won : lost)++;
      if (!st.ok()) {
        EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.message();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(lost, 3);
  auto size = s->Stat("ids/big");
  ASSERT_TRUE(size.ok());
  // The winner's blocks only: the object is one writer's bytes, whole (its size tells which).
  size_t winner = *size - (5u << 20);
  ASSERT_LT(winner, 4u);
  EXPECT_TRUE(*s->Get("ids/big") == Pattern(*size, static_cast<uint8_t>(winner + 1)));
}

TEST(AzuriteTest, WrongKeyIsPermissionNamingTheVariable) {
  auto good = EnvOptions();
  ASSERT_TRUE(good.ok()) << good.status().message();
  AzureOptions o = *good;
  const std::string wrong = Base64Encode("this is not the account key, 64 bytes long.....................");
  o.account_key = wrong;
  auto s = OrFail(OpenAzureStorage(o));
  Status st = s->Put("config", ToBytes("x"));
  EXPECT_EQ(st.code(), Code::kPermission) << st.message();
  EXPECT_NE(st.message().find("(check AZURE_STORAGE_CONNECTION_STRING)"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(wrong), std::string::npos);
  EXPECT_EQ(st.message().find(good->account_key), std::string::npos);
  EXPECT_EQ(s->Get("config").status().code(), Code::kPermission);
}

TEST(AzuriteTest, MissingContainerSaysSo) {
  auto o = EnvOptions();
  ASSERT_TRUE(o.ok()) << o.status().message();
  o->container = "no-such-container-" + RandomHex(4);
  auto s = OrFail(OpenAzureStorage(*o));
  auto st = s->Stat("config").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("check BACKUP_AZURE_CONTAINER"), std::string::npos) << st.message();
}

// Azurite closes a keep-alive connection after 5 idle seconds: the next requests, a body-carrying
// one included, must go through on a new connection without an error.
TEST(AzuriteTest, RequestAfterIdleConnectionClosed) {
  auto s = OrFail(OpenAzurite(0));
  ASSERT_TRUE(s->Put("idle/a", ToBytes("before")).ok());
  // Azurite's 5 s keep-alive timeout is checked on a timer: connections were seen closing at ~6 s.
  std::this_thread::sleep_for(std::chrono::seconds(7));
  Status put = s->Put("idle/b", ToBytes("after"));
  EXPECT_TRUE(put.ok()) << put.message();
  auto got = s->Get("idle/a");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(AsString(*got), "before");
}

}  // namespace
}  // namespace stb
