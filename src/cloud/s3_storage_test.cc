// The S3 driver without a server: Signature V4 against AWS's published examples, and requests,
// faults and multipart uploads against the scripted local HTTP server.
#include "cloud/s3_storage.h"

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "http_test_server.h"
#include "ranged_get_checks.h"

namespace stb {
namespace {

constexpr const char* kAk = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSk = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Auth(const SigV4Request& r) {
  return SigV4Authorization(r, kAk, kSk, "us-east-1", "s3", "20130524T000000Z");
}
std::string Expected(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
         signed_headers + ",Signature=" + signature;
}

// The four examples of AWS's "Signature Calculations for the Authorization Header" page.
TEST(SigV4, AwsGetObjectExample) {
  SigV4Request r{"GET",
                 "examplebucket.s3.amazonaws.com",
                 "/test.txt",
                 "",
                 {{"Range", "bytes=0-9"}, {"x-amz-content-sha256", kEmptySha}, {"x-amz-date", "20130524T000000Z"}},
                 kEmptySha};
  EXPECT_EQ(Auth(r), Expected("host;range;x-amz-content-sha256;x-amz-date",
                              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
}

TEST(SigV4, AwsPutObjectExample) {
  std::string body = "Welcome to Amazon S3.";
  std::string sha = Sha256Hex(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  ASSERT_EQ(sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r{"PUT",
                 "examplebucket.s3.amazonaws.com",
                 "/" + UriEncode("test$file.text", true),
                 "",
                 {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                  {"x-amz-date", "20130524T000000Z"},
                  {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                  {"x-amz-content-sha256", sha}},
                 sha};
  EXPECT_EQ(r.path, "/test%24file.text");
  EXPECT_EQ(Auth(r), Expected("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

TEST(SigV4, AwsBucketLifecycleAndListExamples) {
  HttpHeaders h{{"x-amz-date", "20130524T000000Z"}, {"x-amz-content-sha256", kEmptySha}};
  SigV4Request lifecycle{"GET", "examplebucket.s3.amazonaws.com", "/", "lifecycle=", h, kEmptySha};
  EXPECT_EQ(Auth(lifecycle), Expected("host;x-amz-content-sha256;x-amz-date",
                                      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
  SigV4Request list{"GET", "examplebucket.s3.amazonaws.com", "/", "max-keys=2&prefix=J", h, kEmptySha};
  EXPECT_EQ(Auth(list), Expected("host;x-amz-content-sha256;x-amz-date",
                                 "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

TEST(SigV4, HeaderValuesAreTrimmedAndNamesCaseFolded) {
  SigV4Request a{"GET", "h", "/", "", {{"X-Amz-Date", "  20130524T000000Z "}, {"X-Custom", "a   b"}}, kEmptySha};
  SigV4Request b{"GET", "h", "/", "", {{"x-amz-date", "20130524T000000Z"}, {"x-custom", "a b"}}, kEmptySha};
  EXPECT_EQ(Auth(a), Auth(b));
  b.headers[1].second = "a c";
  EXPECT_NE(Auth(a), Auth(b));
}

// --- Against the scripted server ---

S3Options OptionsFor(const TestServer& server, const std::string& host = "127.0.0.1") {
  S3Options o;
  o.bucket = "bkt";
  o.prefix = "pre/";
  o.endpoint = "http://" + host + ":" + std::to_string(server.port());
  o.access_key_id = "AKIDTEST";
  o.secret_access_key = "the-secret-key-value";
  o.http.total_timeout_seconds = 20;
  return o;
}

std::unique_ptr<Storage> Open(const S3Options& o) {
  auto s = OpenS3Storage(o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::string Sha(const std::string& s) { return Sha256Hex(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// Recomputes the signature of a request the server received, from its own headers.
void ExpectSignedBy(const Request& req, const S3Options& o) {
  ASSERT_TRUE(req.headers.count("authorization")) << req.method << " " << req.path;
  const std::string& auth = req.headers.at("authorization");
  size_t sh = auth.find("SignedHeaders=") + 14;
  std::string names = auth.substr(sh, auth.find(',', sh) - sh);
  SigV4Request s;
  s.method = req.method;
  size_t q = req.path.find('?');
  s.path = req.path.substr(0, q);
  s.query = q == std::string::npos ? "" : req.path.substr(q + 1);
  s.host = req.headers.at("host");
  for (size_t start = 0; start <= names.size();) {
    size_t end = std::min(names.find(';', start), names.size());
    std::string name = names.substr(start, end - start);
    if (name != "host") s.headers.emplace_back(name, req.headers.at(name));
    start = end + 1;
  }
  s.payload_sha256_hex = Sha(req.body);
  EXPECT_EQ(req.headers.at("x-amz-content-sha256"), s.payload_sha256_hex);
  EXPECT_NE(names.find("x-amz-content-sha256"), std::string::npos);
  EXPECT_NE(names.find("x-amz-date"), std::string::npos);
  EXPECT_EQ(auth,
            SigV4Authorization(s, o.access_key_id, o.secret_access_key, o.region, "s3", req.headers.at("x-amz-date")));
  EXPECT_TRUE(auth.starts_with("AWS4-HMAC-SHA256 Credential=" + o.access_key_id + "/"));
  EXPECT_NE(auth.find("/us-east-1/s3/aws4_request,"), std::string::npos);
}

TEST(S3Storage, PathStylePutIsSignedWithThePayloadHash) {
  TestServer server([](int, const Request&) { return Reply{200, ""}; });
  S3Options o = OptionsFor(server);
  o.session_token = "session-token-value";
  auto s = Open(o);
  ASSERT_TRUE(s->Put("data/a b+c", ToBytes("payload")).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].path, "/bkt/pre/data/a%20b%2Bc");
  EXPECT_EQ(reqs[0].body, "payload");
  EXPECT_EQ(reqs[0].headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(reqs[0].headers.at("x-amz-security-token"), "session-token-value");
  EXPECT_NE(reqs[0].headers.at("authorization").find("x-amz-security-token"), std::string::npos);
  EXPECT_EQ(reqs[0].headers.count("if-none-match"), 0u);
  ExpectSignedBy(reqs[0], o);
  EXPECT_EQ(s->Describe(), "s3 bkt/pre/");
}

// curl resolves "*.localhost" to loopback itself, so virtual-host requests reach the server.
TEST(S3Storage, VirtualHostStylePutsTheBucketInTheHost) {
  TestServer server([](int, const Request&) { return Reply{206, "234"}; });
  S3Options o = OptionsFor(server, "localhost");
  o.url_style = "virtual";
  auto s = Open(o);
  auto got = s->Get("data/x", 2, 3);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(AsString(*got), "234");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/pre/data/x");
  EXPECT_EQ(reqs[0].headers.at("host"), "bkt.localhost:" + std::to_string(server.port()));
  EXPECT_EQ(reqs[0].headers.at("range"), "bytes=2-4");
  ExpectSignedBy(reqs[0], o);
}

TEST(S3Storage, AutoStyleIsPathOnACustomEndpoint) {
  TestServer server([](int, const Request&) { return Reply{200, "<ListBucketResult></ListBucketResult>"}; });
  S3Options o = OptionsFor(server);
  ASSERT_EQ(o.url_style, "auto");
  auto l = Open(o)->List("x/");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(server.requests().at(0).path, "/bkt?list-type=2&prefix=pre%2Fx%2F");
}

TEST(S3Storage, RangedGets) {
  TestServer server([](int, const Request& r) {
    if (r.method == "HEAD") return Reply{200, "0123456789"};
    auto range = r.headers.find("range");
    if (range == r.headers.end()) return Reply{200, "0123456789"};
    if (range->second == "bytes=10-14" || range->second == "bytes=11-11")
      return Reply{416, "<Error><Code>InvalidRange</Code></Error>"};
    return Reply{206, "789"};
  });
  auto s = Open(OptionsFor(server));
  EXPECT_EQ(AsString(*s->Get("obj")), "0123456789");
  EXPECT_EQ(AsString(*s->Get("obj", 7)), "789");
  EXPECT_EQ(server.requests().back().headers.at("range"), "bytes=7-");
  EXPECT_EQ(s->Get("obj", 10, 5)->size(), 0u);  // at the end: 416, then HEAD says 10 bytes
  EXPECT_EQ(server.requests().back().method, "HEAD");
  EXPECT_EQ(s->Get("obj", 11, 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s->Get("obj", 3, 0)->size(), 0u);
  EXPECT_EQ(server.requests().back().method, "HEAD");
  EXPECT_EQ(s->Get("obj", 0, Storage::kToEnd - 1).status().code(), Code::kOk);
  EXPECT_EQ(server.requests().back().headers.at("range"), "bytes=0-18446744073709551613");
}

TEST(S3Storage, StatRemoveAndMissingObjects) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{200, "12345"};  // HEAD: the body is not sent, its length is
    return Reply{404, "<Error><Code>NoSuchKey</Code></Error>"};
  });
  auto s = Open(OptionsFor(server));
  EXPECT_EQ(*s->Stat("a"), 5u);
  EXPECT_EQ(s->Stat("b").status().code(), Code::kNotFound);
  EXPECT_EQ(s->Get("c").status().code(), Code::kNotFound);
  EXPECT_TRUE(s->Remove("d").ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].method, "HEAD");
  EXPECT_EQ(reqs[3].method, "DELETE");
  EXPECT_EQ(reqs[3].path, "/bkt/pre/d");
  EXPECT_FALSE(s->Put("../x", ToBytes("x")).ok());
  EXPECT_EQ(server.count(), 4u);  // refused before any request
}

TEST(S3Storage, ForbiddenNamesTheVariablesNotTheSecret) {
  TestServer server([](int, const Request&) {
    return Reply{403, "<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>"};
  });
  S3Options o = OptionsFor(server);
  auto st = Open(o)->Put("config", ToBytes("x"));
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_EQ(st.message(),
            "s3 bkt/pre/: put config: HTTP 403 SignatureDoesNotMatch (check AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)");
  EXPECT_EQ(st.message().find(o.secret_access_key), std::string::npos);
}

TEST(S3Storage, ServerErrorsAreRetryable) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{500, "<Error><Code>InternalError</Code></Error>"};
    return Reply{503, "<Error><Code>SlowDown</Code></Error>", "Retry-After: 2\r\n"};
  });
  auto s = Open(OptionsFor(server));
  auto a = s->Get("x");
  EXPECT_EQ(a.status().code(), Code::kUnavailable);
  EXPECT_NE(a.status().message().find("InternalError"), std::string::npos);
  Status b = s->Put("x", ToBytes("1"));
  EXPECT_EQ(b.code(), Code::kUnavailable);
  EXPECT_EQ(b.retry_after(), 2);
}

TEST(S3Storage, BodyCutShortIsRetryable) {
  TestServer server([](int, const Request&) {
    Reply r{200, std::string(1000, 'x')};
    r.cut_body_at = 100;
    return r;
  });
  EXPECT_EQ(Open(OptionsFor(server))->Get("x").status().code(), Code::kUnavailable);
}

TEST(S3Storage, MissingBucketSaysWhatToDo) {
  TestServer server([](int, const Request&) {
    return Reply{404, "<Error><Code>NoSuchBucket</Code><BucketName>bkt</BucketName></Error>"};
  });
  auto l = Open(OptionsFor(server))->List("data/");
  EXPECT_EQ(l.status().code(), Code::kInvalidArgument);  // not kNotFound: that would read as "no object"
  EXPECT_NE(l.status().message().find("NoSuchBucket"), std::string::npos);
  EXPECT_NE(l.status().message().find("BACKUP_S3_BUCKET"), std::string::npos);
}

TEST(S3Storage, CreateOnlySendsIfNoneMatch) {
  TestServer server([](int i, const Request&) {
    return i == 0 ? Reply{200, ""} : Reply{412, "<Error><Code>PreconditionFailed</Code></Error>"};
  });
  auto s = Open(OptionsFor(server));
  EXPECT_TRUE(s->Put("config", ToBytes("a"), PutMode::kCreateOnly).ok());
  EXPECT_EQ(s->Put("config", ToBytes("b"), PutMode::kCreateOnly).code(), Code::kAlreadyExists);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].headers.at("if-none-match"), "*");
  EXPECT_NE(reqs[1].headers.at("authorization").find("if-none-match"), std::string::npos);
}

TEST(S3Storage, ListFollowsContinuationTokens) {
  TestServer server([](int i, const Request&) {
    if (i == 0) {
      return Reply{200,
                   "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
                   "<Contents><Key>pre/data/a&amp;b</Key><Size>3</Size></Contents>"
                   "<Contents><Key>pre/data/c</Key><Size>40</Size></Contents>"
                   "<NextContinuationToken>tok/1+=</NextContinuationToken></ListBucketResult>"};
    }
    return Reply{200,
                 "<ListBucketResult><IsTruncated>false</IsTruncated>"
                 "<Contents><Key>pre/data/d</Key><Size>5</Size></Contents></ListBucketResult>"};
  });
  S3Options o = OptionsFor(server);
  auto l = Open(o)->List("data/");
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].name, "data/a&b");
  EXPECT_EQ((*l)[0].size, 3u);
  EXPECT_EQ((*l)[1].size, 40u);
  EXPECT_EQ((*l)[2].name, "data/d");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/bkt?list-type=2&prefix=pre%2Fdata%2F");
  EXPECT_EQ(reqs[1].path, "/bkt?continuation-token=tok%2F1%2B%3D&list-type=2&prefix=pre%2Fdata%2F");
  ExpectSignedBy(reqs[1], o);
}

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + i / 1000);
  return b;
}

S3Options MultipartOptions(const TestServer& server) {
  S3Options o = OptionsFor(server);
  o.multipart_threshold = o.part_size = 5u << 20;
  return o;
}

// Replies as S3 does to a multipart upload; fail_part (if > 0) answers 500 for that part.
TestServer::RequestScript MultipartScript(int fail_part, std::string complete_body = "") {
  return [=](int, const Request& r) {
    if (r.method == "POST" && r.path.ends_with("?uploads=")) {
      return Reply{200, "<InitiateMultipartUploadResult><UploadId>up/1</UploadId></InitiateMultipartUploadResult>"};
    }
    if (r.method == "PUT") {
      size_t k = r.path.find("partNumber=");
      if (k == std::string::npos) return Reply{200, ""};  // a single PUT
      int part = std::stoi(r.path.substr(k + 11));
      if (part == fail_part) return Reply{500, "<Error><Code>InternalError</Code></Error>"};
      return Reply{200, "", "ETag: \"etag-" + std::to_string(part) + "\"\r\n"};
    }
    if (r.method == "POST") {
      return Reply{200, complete_body.empty()
                            ? "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>"
                            : complete_body};
    }
    return Reply{204, ""};
  };
}

TEST(S3Storage, MultipartUploadSendsPartsInOrderAndCompletes) {
  TestServer server(MultipartScript(0));
  S3Options o = MultipartOptions(server);
  Bytes data = Pattern((12u << 20) + 7);
  ASSERT_TRUE(Open(o)->Put("data/big", data).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].path, "/bkt/pre/data/big?uploads=");
  std::string joined;
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(reqs[i].method, "PUT");
    EXPECT_EQ(reqs[i].path, "/bkt/pre/data/big?partNumber=" + std::to_string(i) + "&uploadId=up%2F1");
    EXPECT_EQ(reqs[i].body.size(), i < 3 ? 5u << 20 : (2u << 20) + 7);
    ExpectSignedBy(reqs[i], o);
    joined += reqs[i].body;
  }
  EXPECT_EQ(joined, std::string(AsString(data)));
  EXPECT_EQ(reqs[4].method, "POST");
  EXPECT_EQ(reqs[4].path, "/bkt/pre/data/big?uploadId=up%2F1");
  EXPECT_EQ(reqs[4].body,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"etag-1\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"etag-2\"</ETag></Part>"
            "<Part><PartNumber>3</PartNumber><ETag>\"etag-3\"</ETag></Part></CompleteMultipartUpload>");
  ExpectSignedBy(reqs[4], o);
}

TEST(S3Storage, BelowTheThresholdIsOnePut) {
  TestServer server(MultipartScript(0));
  ASSERT_TRUE(Open(MultipartOptions(server))->Put("data/small", Pattern((5u << 20) - 1)).ok());
  ASSERT_EQ(server.count(), 1u);
  EXPECT_EQ(server.requests()[0].path, "/bkt/pre/data/small");
}

TEST(S3Storage, FailedPartAbortsTheUpload) {
  TestServer server(MultipartScript(2));
  Status st = Open(MultipartOptions(server))->Put("data/big", Pattern(11u << 20));
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("part 2"), std::string::npos);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 4u);  // create, part 1, part 2, abort: part 3 is never sent
  EXPECT_EQ(reqs[3].method, "DELETE");
  EXPECT_EQ(reqs[3].path, "/bkt/pre/data/big?uploadId=up%2F1");
}

TEST(S3Storage, ErrorInsideA200CompleteAnswerFailsAndAborts) {
  TestServer server(MultipartScript(0, "\n\n<Error><Code>InternalError</Code><Message>x</Message></Error>"));
  Status st = Open(MultipartOptions(server))->Put("data/big", Pattern(6u << 20));
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("InternalError"), std::string::npos);
  EXPECT_EQ(server.requests().back().method, "DELETE");

  TestServer server2(MultipartScript(0, "<Error><Code>InvalidPart</Code></Error>"));
  EXPECT_EQ(Open(MultipartOptions(server2))->Put("data/big", Pattern(6u << 20)).code(), Code::kIo);
}

TEST(S3Storage, OpenChecksItsSettings) {
  S3Options o;
  o.bucket = "b";
  o.secret_access_key = "s3cr3t";
  auto a = OpenS3Storage(o);
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  o.access_key_id = "ak";
  o.secret_access_key = "";
  EXPECT_NE(OpenS3Storage(o).status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  o.secret_access_key = "s3cr3t";
  EXPECT_TRUE(OpenS3Storage(o).ok());
  o.bucket = "";
  EXPECT_NE(OpenS3Storage(o).status().message().find("BACKUP_S3_BUCKET"), std::string::npos);
  o.bucket = "b";
  o.endpoint = "ftp://x";
  EXPECT_NE(OpenS3Storage(o).status().message().find("BACKUP_S3_ENDPOINT"), std::string::npos);
  o.endpoint = "http://x:1/path";
  EXPECT_FALSE(OpenS3Storage(o).ok());
  o.endpoint = "http://x:1/";
  EXPECT_TRUE(OpenS3Storage(o).ok());
  o.url_style = "sideways";
  EXPECT_NE(OpenS3Storage(o).status().message().find("BACKUP_S3_URL_STYLE"), std::string::npos);
  o.url_style = "path";
  o.part_size = 1 << 20;
  EXPECT_FALSE(OpenS3Storage(o).ok());
}

// An endpoint that ignores the Range and answers with a huge object, or sends more than asked in a
// 206, is cut off: a bounded read never holds more than offset + length bytes.
TEST(S3Storage, RangedGetRefusesOversizedAnswers) {
  TestServer server(OversizedRangeReply);
  auto s = Open(OptionsFor(server));
  ExpectRangedGetRefusesOversizedAnswers(*s);
}

}  // namespace
}  // namespace stb
