// GCS driver against a scripted local server that plays both the OAuth token endpoint and the JSON
// API: JWT signing, token caching and refresh, error classes, chunked resumable uploads, paging.
#include "cloud/gcs_storage.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "core/file_util.h"
#include "http_test_server.h"
#include "ranged_get_checks.h"

namespace stb {
namespace {

using Json = nlohmann::json;
constexpr const char* kEmail = "backup@stb-test.iam.gserviceaccount.com";

// One RSA key for the whole binary: generating it is the slowest step here.
EVP_PKEY* TestKey() {
  static EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  return key;
}

std::string PrivatePem() {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, TestKey(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string DecodeJwtPart(const std::string& s) {
  auto b = Base64UrlDecode(s);
  EXPECT_TRUE(b.ok()) << s;
  return b.ok() ? std::string(AsString(*b)) : "";
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool VerifyRs256(const std::string& input, const std::string& sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, TestKey()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const uint8_t*>(sig.data()), sig.size(),
                             reinterpret_cast<const uint8_t*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string TokenReply(const std::string& token, int64_t expires_in = 3600) {
  return Json{{"access_token", token}, {"expires_in", expires_in}, {"token_type", "Bearer"}}.dump();
}

class GcsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ::testing::TempDir() + "/gcs_test_" + RandomHex(6); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A service-account key file whose token_uri is the scripted server's /token.
  std::string WriteKeyFile(const TestServer& server, Json overrides = Json::object()) {
    Json key = {{"type", "service_account"},   {"project_id", "stb-test"}, {"private_key_id", "0123abcd"},
                {"private_key", PrivatePem()}, {"client_email", kEmail},   {"token_uri", server.Url("/token")}};
    key.update(overrides);
    return WriteFile(key.dump(2));
  }

  std::string WriteFile(const std::string& text) {
    EXPECT_TRUE(MakeDirs(dir_).ok());
    std::string path = dir_ + "/key" + std::to_string(files_++) + ".json";
    std::ofstream(path) << text;
    return path;
  }

  GcsOptions Options(const TestServer& server) {
    GcsOptions o;
    o.bucket = "bkt";
    o.prefix = "pre/";
    o.endpoint = server.Url("");
    o.http.total_timeout_seconds = 10;
    return o;
  }

  std::unique_ptr<Storage> OpenWithKey(const TestServer& server) {
    GcsOptions o = Options(server);
    o.credentials_file = WriteKeyFile(server);
    auto s = OpenGcsStorage(o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // The emulator form: no credentials, the host without a scheme.
  std::unique_ptr<Storage> OpenAnonymous(const TestServer& server, GcsOptions o = {}) {
    o.bucket = "bkt";
    o.prefix = "pre/";
    o.emulator_host = "127.0.0.1:" + std::to_string(server.port());
    o.http.total_timeout_seconds = 10;
    auto s = OpenGcsStorage(o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string dir_;
  int files_ = 0;
};

// Token endpoint answers tok-1, tok-2, ... (each valid expires_in seconds); the API answers api().
struct TokenAndApi {
  int64_t expires_in = 3600;
  std::function<Reply(const Request&)> api;
  std::atomic<int> tokens{0};
  Reply operator()(int, const Request& r) {
    if (r.path == "/token") return {200, TokenReply("tok-" + std::to_string(++tokens), expires_in)};
    return api(r);
  }
};

TestServer::RequestScript Script(TokenAndApi* t) {
  return [t](int i, const Request& r) { return (*t)(i, r); };
}

TEST_F(GcsTest, JwtIsSignedRs256AndTheTokenIsSent) {
  TokenAndApi t;
  t.api = [](const Request&) { return Reply{200, R"({"size":"5"})"}; };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  auto size = s->Stat("a/b c");
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, 5u);

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].headers["content-type"], "application/x-www-form-urlencoded");
  const std::string form_start = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  ASSERT_TRUE(reqs[0].body.starts_with(form_start)) << reqs[0].body;
  std::vector<std::string> jwt = Split(reqs[0].body.substr(form_start.size()), '.');
  ASSERT_EQ(jwt.size(), 3u);
  EXPECT_EQ(Json::parse(DecodeJwtPart(jwt[0])), Json::parse(R"({"alg":"RS256","typ":"JWT"})"));
  Json claims = Json::parse(DecodeJwtPart(jwt[1]));
  EXPECT_EQ(claims["iss"], kEmail);
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_write");
  EXPECT_EQ(claims["aud"], server.Url("/token"));
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(claims["iat"].get<int64_t>(), now, 60);
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 3600);
  std::string sig = DecodeJwtPart(jwt[2]);
  EXPECT_TRUE(VerifyRs256(jwt[0] + "." + jwt[1], sig));
  std::string forged = Base64UrlEncode(reinterpret_cast<const uint8_t*>("{\"iss\":\"x\"}"), 11);
  EXPECT_FALSE(VerifyRs256(jwt[0] + "." + forged, sig));  // the check above can fail

  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].path, "/storage/v1/b/bkt/o/pre%2Fa%2Fb%20c?fields=size");
  EXPECT_EQ(reqs[1].headers["authorization"], "Bearer tok-1");
}

TEST_F(GcsTest, TokenIsCachedAcrossRequests) {
  TokenAndApi t;
  t.api = [](const Request&) { return Reply{200, R"({"size":"5"})"}; };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->Stat("x").ok());
  EXPECT_EQ(t.tokens, 1);
  EXPECT_EQ(server.count(), 4u);
}

TEST_F(GcsTest, TokenNearExpiryIsReplaced) {
  TokenAndApi t;
  t.expires_in = 60;  // under the 5-minute margin: stale at the next request
  t.api = [](const Request&) { return Reply{200, R"({"size":"5"})"}; };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  ASSERT_TRUE(s->Stat("x").ok());
  ASSERT_TRUE(s->Stat("x").ok());
  EXPECT_EQ(t.tokens, 2);
  EXPECT_EQ(server.requests().back().headers["authorization"], "Bearer tok-2");
}

// An absurd lifetime used to overflow the expiry time (signed overflow in std::chrono), so the
// token looked expired at once and was fetched again for every request.
TEST_F(GcsTest, AbsurdTokenLifetimeIsCapped) {
  TokenAndApi t;
  t.expires_in = INT64_MAX;
  t.api = [](const Request&) { return Reply{200, R"({"size":"5"})"}; };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->Stat("x").ok());
  EXPECT_EQ(t.tokens, 1);
}

TEST_F(GcsTest, Api401GetsOneFreshToken) {
  TokenAndApi t;
  // tok-1 was revoked before its time; tok-2 works.
  t.api = [](const Request& r) {
    if (r.headers.at("authorization") == "Bearer tok-1") return Reply{401, R"({"error":{"message":"Invalid"}})"};
    return Reply{200, R"({"size":"7"})"};
  };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  auto size = s->Stat("x");
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, 7u);
  EXPECT_EQ(t.tokens, 2);
}

TEST_F(GcsTest, Persistent401FailsAfterOneRefreshWithoutSecrets) {
  TokenAndApi t;
  t.api = [](const Request&) { return Reply{401, R"({"error":{"code":401,"message":"Invalid Credentials"}})"}; };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  Status st = s->Put("config", ToBytes("x"), PutMode::kReplace);
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_NE(st.message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("tok-"), std::string::npos) << st.message();
  EXPECT_EQ(t.tokens, 2);
  EXPECT_EQ(server.count(), 4u);
}

TEST_F(GcsTest, Forbidden403IsPermissionNamingTheVariableOnly) {
  TokenAndApi t;
  t.api = [](const Request&) {
    return Reply{403, R"({"error":{"code":403,"message":"backup@ does not have storage.objects.create access"}})"};
  };
  TestServer server(Script(&t));
  auto s = OpenWithKey(server);
  Status st = s->Put("config", ToBytes("x"), PutMode::kReplace);
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_EQ(st.message(),
            "gcs bkt/pre/: put config: HTTP 403 backup@ does not have storage.objects.create access "
            "(check GOOGLE_APPLICATION_CREDENTIALS)");
  std::string jwt = server.requests()[0].body.substr(server.requests()[0].body.find("assertion=") + 10);
  std::string key_line = Split(PrivatePem(), '\n')[1];
  for (const std::string& secret : {std::string("tok-1"), jwt, key_line}) {
    EXPECT_EQ(st.message().find(secret), std::string::npos);
  }
}

TEST_F(GcsTest, RejectedKeyAtTheTokenEndpointIsPermission) {
  TestServer server([](int, const Request&) {
    return Reply{400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})"};
  });
  auto s = OpenWithKey(server);
  auto size = s->Stat("x");
  EXPECT_EQ(size.status().code(), Code::kPermission);
  EXPECT_EQ(size.status().message(),
            "gcs bkt/pre/: getting an access token: HTTP 400 invalid_grant: Invalid JWT Signature. "
            "(check GOOGLE_APPLICATION_CREDENTIALS)");
  EXPECT_EQ(server.count(), 1u);  // no API call without a token
}

TEST_F(GcsTest, ServerErrorsAreRetryable) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{500, R"({"error":{"code":500,"message":"Backend Error"}})"};
    return Reply{503, "", "Retry-After: 7\r\n"};
  });
  auto s = OpenAnonymous(server);
  Status st = s->Put("data/x", ToBytes("x"), PutMode::kReplace);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(st.message(), "gcs bkt/pre/: put data/x: HTTP 500 Backend Error");
  auto got = s->Get("data/x");
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_EQ(got.status().retry_after(), 7);
  EXPECT_EQ(server.requests()[0].headers.count("authorization"), 0u);  // the emulator form sends none
}

TEST_F(GcsTest, BodyCutShortIsRetryable) {
  TestServer server([](int, const Request&) {
    Reply r{200, std::string(1000, 'z')};
    r.cut_body_at = 100;
    return r;
  });
  auto s = OpenAnonymous(server);
  EXPECT_EQ(s->Get("data/x").status().code(), Code::kUnavailable);
}

TEST_F(GcsTest, MediaUploadAndCreateOnly) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{200, R"({"name":"pre/a"})"};
    return Reply{412, R"({"error":{"code":412,"message":"conditionNotMet"}})"};
  });
  auto s = OpenAnonymous(server);
  ASSERT_TRUE(s->Put("keys/k 1", ToBytes("body"), PutMode::kReplace).ok());
  EXPECT_EQ(s->Put("keys/k 1", ToBytes("body"), PutMode::kCreateOnly).code(), Code::kAlreadyExists);
  auto reqs = server.requests();
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/upload/storage/v1/b/bkt/o?uploadType=media&name=pre%2Fkeys%2Fk%201");
  EXPECT_EQ(reqs[0].body, "body");
  EXPECT_EQ(reqs[1].path, "/upload/storage/v1/b/bkt/o?uploadType=media&name=pre%2Fkeys%2Fk%201&ifGenerationMatch=0");
  EXPECT_FALSE(s->Caps().atomic_create);  // the emulator ignores the precondition
}

TEST_F(GcsTest, RangedGetAndPastTheEnd) {
  TestServer server([](int i, const Request& r) {
    if (i == 0) return Reply{206, "234"};
    if (r.path.find("alt=media") != std::string::npos) return Reply{416, ""};
    return Reply{200, R"({"size":"10"})"};
  });
  auto s = OpenAnonymous(server);
  EXPECT_EQ(AsString(*s->Get("obj", 2, 3)), "234");
  auto at_end = s->Get("obj", 10, 5);
  ASSERT_TRUE(at_end.ok()) << at_end.status().message();
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(s->Get("obj", 11, 1).status().code(), Code::kInvalidArgument);
  auto reqs = server.requests();
  EXPECT_EQ(reqs[0].path, "/storage/v1/b/bkt/o/pre%2Fobj?alt=media");
  EXPECT_EQ(reqs[0].headers["range"], "bytes=2-4");
  EXPECT_EQ(reqs[1].headers["range"], "bytes=10-14");
}

TEST_F(GcsTest, MissingObjectAndMissingBucket) {
  TestServer server([](int, const Request& r) {
    if (r.path.starts_with("/storage/v1/b/bkt/o/pre%2Fgone")) {
      return Reply{404, R"({"error":{"code":404,"message":"No such object: bkt/pre/gone"}})"};
    }
    return Reply{404, R"({"error":{"code":404,"message":"The specified bucket does not exist."}})"};
  });
  auto s = OpenAnonymous(server);
  EXPECT_EQ(s->Stat("gone").status().code(), Code::kNotFound);
  EXPECT_TRUE(s->Remove("gone").ok());
  auto l = s->List("data/");
  EXPECT_EQ(l.status().code(), Code::kInvalidArgument);
  EXPECT_NE(l.status().message().find("BACKUP_GCS_BUCKET"), std::string::npos) << l.status().message();
  EXPECT_EQ(s->Put("x", ToBytes("1"), PutMode::kReplace).code(), Code::kInvalidArgument);
}

TEST_F(GcsTest, ListFollowsPageTokens) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{200, R"({"items":[{"name":"pre/data/a","size":"1"}],"nextPageToken":"tok/A="})"};
    return Reply{200, R"({"items":[{"name":"pre/data/b","size":"22"}]})"};
  });
  auto s = OpenAnonymous(server);
  auto l = s->List("data/");
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].name, "data/a");
  EXPECT_EQ((*l)[0].size, 1u);
  EXPECT_EQ((*l)[1].name, "data/b");
  EXPECT_EQ((*l)[1].size, 22u);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_TRUE(reqs[0].path.starts_with("/storage/v1/b/bkt/o?prefix=pre%2Fdata%2F&")) << reqs[0].path;
  EXPECT_EQ(reqs[0].path.find("pageToken"), std::string::npos);
  EXPECT_NE(reqs[1].path.find("&pageToken=tok%2FA%3D"), std::string::npos) << reqs[1].path;
}

// The answer to POST uploadType=resumable: the session URI (on the same server) in Location.
Reply SessionOpened(const Request& r) {
  return {200, "", "Location: http://" + r.headers.at("host") + "/upload/session/abc?upload_id=secret-session\r\n"};
}

// A resumable session on the scripted server: it keeps what each chunk brings, except that it
// "loses" the tail of one chunk, and it checks that every chunk starts where it stands.
struct Session {
  std::string held;
  int chunks = 0;
  int fail_chunk = -1;   // answer this chunk 503 without keeping it
  int short_chunk = -1;  // keep all but the last 1000 bytes of this chunk
  std::vector<std::string> ranges;
  Reply operator()(const Request& r) {
    if (r.method == "POST") {
      EXPECT_NE(r.path.find("uploadType=resumable&name=pre%2Fdata%2Fbig"), std::string::npos) << r.path;
      return SessionOpened(r);
    }
    std::string range = r.headers.at("content-range");
    ranges.push_back(range);
    std::string spec = range.substr(6);  // after "bytes "
    size_t slash = spec.find('/');
    std::string total = spec.substr(slash + 1);
    if (spec[0] != '*') {
      int index = chunks++;
      if (index == fail_chunk) return {503, ""};
      uint64_t start = std::stoull(spec.substr(0, spec.find('-')));
      if (start != held.size()) return {400, "chunk does not start where the session stands"};
      held += r.body;
      if (index == short_chunk) held.resize(held.size() - 1000);
    }
    if (total != "*" && held.size() == std::stoull(total)) return {200, R"({"name":"pre/data/big"})"};
    return {308, "", held.empty() ? "" : "Range: bytes=0-" + std::to_string(held.size() - 1) + "\r\n"};
  }
};

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  return b;
}

TEST_F(GcsTest, ChunkedResumableUploadResendsWhatTheServerLacks) {
  Session session;
  session.short_chunk = 1;
  TestServer server([&](int, const Request& r) { return session(r); });
  GcsOptions o;
  o.resumable_threshold = 256 * 1024;
  o.chunk_size = 256 * 1024;
  auto s = OpenAnonymous(server, o);
  Bytes big = Pattern(4 * 256 * 1024 + 5000);
  Status st = s->Put("data/big", big, PutMode::kReplace);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(session.held, std::string(AsString(big)));
  // The 308 after the second chunk admits 1000 bytes less than sent: the third starts there.
  ASSERT_EQ(session.ranges.size(), 5u);
  EXPECT_EQ(session.ranges[0], "bytes 0-262143/*");
  EXPECT_EQ(session.ranges[1], "bytes 262144-524287/*");
  EXPECT_EQ(session.ranges[2], "bytes 523288-785431/*");
  EXPECT_EQ(session.ranges[3], "bytes 785432-1047575/*");
  EXPECT_EQ(session.ranges[4], "bytes 1047576-1053575/1053576");
  for (const auto& req : server.requests()) {
    if (req.method == "PUT" && req.headers.at("content-range").ends_with("/*")) {
      EXPECT_EQ(req.body.size() % (256 * 1024), 0u);  // GCS's rule for all but the last chunk
    }
  }
}

TEST_F(GcsTest, FailedChunkResumesFromWhatTheSessionHolds) {
  Session session;
  session.fail_chunk = 2;
  TestServer server([&](int, const Request& r) { return session(r); });
  GcsOptions o;
  o.resumable_threshold = 0;
  o.chunk_size = 256 * 1024;
  auto s = OpenAnonymous(server, o);
  Bytes big = Pattern(3 * 256 * 1024 + 1);
  Status st = s->Put("data/big", big, PutMode::kReplace);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(session.held, std::string(AsString(big)));
  ASSERT_EQ(session.ranges.size(), 6u);
  EXPECT_EQ(session.ranges[2], "bytes 524288-786431/*");  // answered 503
  EXPECT_EQ(session.ranges[3], "bytes */786433");         // "what do you hold?"
  EXPECT_EQ(session.ranges[4], "bytes 524288-786431/*");
  EXPECT_EQ(session.ranges[5], "bytes 786432-786432/786433");
}

TEST_F(GcsTest, ExpiredSessionIsRetryableWithoutTheSessionUri) {
  TestServer server([&](int, const Request& r) {
    if (r.method == "POST") return SessionOpened(r);
    return Reply{410, R"({"error":{"code":410,"message":"gone"}})"};
  });
  GcsOptions o;
  o.resumable_threshold = 0;
  o.chunk_size = 256 * 1024;
  auto s = OpenAnonymous(server, o);
  Status st = s->Put("data/big", Pattern(1000), PutMode::kReplace);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(st.message().find("secret-session"), std::string::npos) << st.message();
}

TEST_F(GcsTest, BadKeyFilesFailAtOpenNamingTheVariable) {
  TestServer server([](int, const Request&) { return Reply{500, ""}; });
  GcsOptions o = Options(server);
  std::string pem = PrivatePem();
  std::string key_line = Split(pem, '\n')[1];
  std::vector<std::string> files = {
      "",  // no such file
      WriteFile("not json {"),
      WriteKeyFile(server, {{"type", "authorized_user"}}),
      WriteKeyFile(server, {{"client_email", ""}}),
      WriteKeyFile(server, {{"private_key", pem.substr(0, pem.size() / 2)}}),
  };
  files[0] = dir_ + "/missing.json";
  for (const std::string& f : files) {
    o.credentials_file = f;
    auto s = OpenGcsStorage(o);
    ASSERT_FALSE(s.ok()) << f;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_NE(s.status().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos) << s.status().message();
    EXPECT_EQ(s.status().message().find(key_line), std::string::npos) << s.status().message();
  }
  o.credentials_file.clear();
  EXPECT_EQ(OpenGcsStorage(o).status().code(), Code::kInvalidArgument);  // neither key nor emulator
  EXPECT_EQ(server.count(), 0u);
}

TEST_F(GcsTest, RangedGetRefusesOversizedAnswers) {
  TestServer server(OversizedRangeReply);
  auto s = OpenAnonymous(server);
  ExpectRangedGetRefusesOversizedAnswers(*s);
}

}  // namespace
}  // namespace stb
